"""Ready-made approvers for tests, demos and apps that decide in code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, TypeVar

from agentcore.approval.requests import ApprovalRequest, Decision, Deny

__all__ = ["CallbackApprover", "ScriptedApprover"]

_Answer = TypeVar("_Answer", bound="Decision | Awaitable[Decision]")


class ScriptedApprover:
    """An approver that answers from a script, for tests and demos.

    ``decisions`` is either a sequence answered in order, or a mapping from tool name to the
    decision for every call of that tool. When the script has no answer the call is denied.
    Every request seen is kept in :attr:`requests`.
    """

    def __init__(self, decisions: Sequence[Decision] | Mapping[str, Decision]) -> None:
        self._by_tool: dict[str, Decision] | None = None
        self._queue: list[Decision] = []
        if isinstance(decisions, Mapping):
            self._by_tool = dict(decisions)
        else:
            self._queue = list(decisions)
        self.requests: list[ApprovalRequest] = []

    def decide(self, request: ApprovalRequest) -> Decision:
        """Return the scripted decision for ``request`` (a Deny when there is none)."""
        self.requests.append(request)
        if self._by_tool is not None:
            decision = self._by_tool.get(request.tool_name)
            if decision is None:
                return Deny(f"no scripted decision for tool {request.tool_name!r}")
            return decision
        if not self._queue:
            return Deny("the scripted approver has no decisions left")
        return self._queue.pop(0)


class CallbackApprover(Generic[_Answer]):
    """Adapts a plain function ``(request) -> Decision`` (sync or async) into an approver.

    With a plain function it is an :class:`~agentcore.approval.Approver`; with a coroutine
    function, an :class:`~agentcore.approval.AsyncApprover`.
    """

    def __init__(self, callback: Callable[[ApprovalRequest], _Answer]) -> None:
        self._callback = callback

    def decide(self, request: ApprovalRequest) -> _Answer:
        """Call the callback; an async callback's awaitable is returned for the driver."""
        return self._callback(request)
