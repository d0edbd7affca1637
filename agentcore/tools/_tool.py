"""Tools: Python functions the model may call, with a schema, validation and safe execution.

``@tool`` turns a function (sync or async, plain or a method) into a :class:`Tool`: its
signature and docstring become the API definition, the model's arguments are validated
against that schema and converted to the declared types before the function runs, and
whatever it returns (or raises) becomes a :class:`ToolOutput` for the ``tool_result``.
A :class:`Toolset` groups the tools of an agent and finds them by name. There is no global
registry: pass the tools you want to the agent.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any, Literal, TypeAlias, TypeGuard, overload

from agentcore.errors import ConfigurationError, ToolDefinitionError
from agentcore.log import get_logger
from agentcore.tools._arguments import ArgumentsValidator
from agentcore.tools._arguments import non_finite_number as non_finite_number
from agentcore.tools._content import NO_OUTPUT
from agentcore.tools._run import ToolOutput, run_async, run_blocking
from agentcore.tools._schema import callable_name, function_schema, unwrapped, validate_tool_name
from agentcore.tools._secrets import REDACTED, checked_secret_fields, redact_secrets
from agentcore.tools._server_tools import ServerTool

__all__ = [
    "NO_OUTPUT",
    "REDACTED",
    "ApprovalAnswer",
    "Tool",
    "ToolApprovalPolicy",
    "ToolOutput",
    "Toolset",
    "tool",
]

ApprovalAnswer: TypeAlias = bool | str | None
"""A policy's answer: ``True`` or a non-empty reason (``"refunds above $20.00 need a
supervisor"``) asks for approval; ``False``, ``None`` or ``""`` lets the call run."""

ToolApprovalPolicy: TypeAlias = Callable[
    [dict[str, Any]], ApprovalAnswer | Awaitable[ApprovalAnswer]
]
"""A tool's own ``requires_approval`` policy: decides from a call's validated arguments whether
a human must approve it, and may say why (see :data:`ApprovalAnswer`)."""

_log = get_logger("agentcore.tools")


class Tool:
    """A function the model can call; build one with :func:`tool`.

    The tool is still callable like the original function. Decorating a method works:
    ``obj.method`` is then a tool bound to ``obj`` (``self`` is not part of the schema).
    """

    name: str
    description: str
    input_schema: dict[str, Any]
    sensitive: bool
    """Every call needs a human's approval."""
    requires_approval: ToolApprovalPolicy | None
    """Decides per call (from the validated arguments) whether approval is needed."""
    secret_fields: frozenset[str]
    """Arguments whose values are masked wherever calls are shown or logged."""
    cache_control: dict[str, Any] | None
    is_async: bool
    function: Callable[..., Any]
    """The decorated function, unbound."""
    parameter_names: tuple[str, ...]

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        sensitive: bool = False,
        requires_approval: bool | ToolApprovalPolicy | None = None,
        secret_fields: Iterable[str] = (),
        cache_control: Mapping[str, Any] | None = None,
    ) -> None:
        receiver: Literal["instance", "class", "none"] = "instance"
        if isinstance(fn, staticmethod):
            fn, receiver = fn.__func__, "none"
        elif isinstance(fn, classmethod):
            fn, receiver = fn.__func__, "class"
        if not callable(fn):
            raise ToolDefinitionError(f"@tool needs a function, got {type(fn).__name__}")
        function_name = callable_name(fn)
        self.name = name if name is not None else function_name
        validate_tool_name(self.name, function_name=function_name)
        schema = function_schema(fn, tool_name=self.name, description=description)
        if not schema.takes_receiver:
            receiver = "none"
        self.description = schema.description
        if not self.description:
            # Allowed (quick scripts and tests skip docstrings), but the description is much
            # of what the model knows about when and how to call a tool.
            _log.warning(
                "tool.no_description",
                tool=self.name,
                function=_where_defined(fn, function_name),
                fix="give the function a docstring, or pass @tool(description=...)",
            )
        self.input_schema = schema.input_schema
        self.parameter_names = schema.parameter_names
        self.function = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        self.cache_control = dict(cache_control) if cache_control is not None else None
        if not (requires_approval is None or isinstance(requires_approval, bool)) and not (
            callable(requires_approval)
        ):
            raise ToolDefinitionError(
                f"tool {self.name!r}: requires_approval must be a bool or a function of the "
                f"arguments, got {type(requires_approval).__name__}"
            )
        self.sensitive = sensitive or requires_approval is True
        self.requires_approval = (
            None if requires_approval is None or isinstance(requires_approval, bool)
            else requires_approval
        )
        self.secret_fields = checked_secret_fields(self.name, secret_fields, self.input_schema)
        self._validator = ArgumentsValidator(self.name, schema, self.secret_fields)
        self._receiver = receiver
        self._target: Callable[..., Any] | None = fn if receiver == "none" else None
        self._attribute: str | None = None
        definition: dict[str, Any] = {"name": self.name}
        if self.description:
            definition["description"] = self.description
        definition["input_schema"] = self.input_schema
        if self.cache_control is not None:
            definition["cache_control"] = self.cache_control
        self._definition = definition
        # Name, docstring and module only: a callable object's own attributes (say, a `name`)
        # must not overwrite the tool's.
        functools.update_wrapper(self, fn, updated=())

    def __repr__(self) -> str:
        return f"<Tool {self.name!r}>"

    # --- use as a function and as a method ----------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly, bypassing validation."""
        target = self._target if self._target is not None else self.function
        return target(*args, **kwargs)

    def __set_name__(self, owner: type, name: str) -> None:
        self._attribute = name

    def __get__(self, instance: object | None, owner: type | None = None) -> Tool:
        if self._receiver == "class":
            return self._bound(owner if owner is not None else type(instance))
        if self._receiver == "none" or instance is None:
            return self
        bound = self._bound(instance)
        cache = getattr(instance, "__dict__", None)
        if self._attribute is not None and isinstance(cache, dict):
            # Like functools.cached_property: later lookups find the bound tool directly.
            cache[self._attribute] = bound
        return bound

    def _bound(self, receiver: object) -> Tool:
        bound = copy.copy(self)
        bound._target = self.function.__get__(receiver, type(receiver))
        return bound

    def _callable(self) -> Callable[..., Any]:
        if self._target is None:
            raise ConfigurationError(
                f"tool {self.name!r} is a method: use it through an instance (for example "
                f"`obj.{self._attribute or self.name}`), not through the class"
            )
        return self._target

    # --- the API definition, validation, approval -----------------------------------------

    def definition(self) -> dict[str, Any]:
        """The tool as the API receives it: name, description, input_schema[, cache_control]."""
        return dict(self._definition)

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Check the model's arguments against the schema and convert them to Python types.

        Returns:
            The keyword arguments for the function (arguments left out are not included,
            so the function's own defaults apply).

        Raises:
            ToolArgumentsError: with ``model_message`` explaining every problem. NaN and
                Infinity are refused wherever they appear: they are not JSON numbers.
        """
        return self._validator.validate(arguments)

    def redact(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``arguments`` with every secret field's value replaced by ``[REDACTED]``.

        A secret name masks that key at any depth, so a secret inside a nested object or a
        list of objects is masked too.
        """
        if not self.secret_fields:
            return dict(arguments)
        return redact_secrets(arguments, self.secret_fields)

    # --- running --------------------------------------------------------------------------

    def run(self, kwargs: dict[str, Any]) -> ToolOutput:
        """Run the tool with validated ``kwargs`` and return its output.

        An async tool is run to completion on a fresh event loop. Inside a running event loop
        that is impossible without blocking it, so an async tool raises ConfigurationError
        there: use :meth:`arun`.
        """
        return run_blocking(
            self.name,
            self._callable(),
            kwargs,
            is_async=self.is_async,
            secret_fields=self.secret_fields,
        )

    async def arun(self, kwargs: dict[str, Any]) -> ToolOutput:
        """Run the tool with validated ``kwargs``; a sync tool runs in a worker thread."""
        return await run_async(
            self.name,
            self._callable(),
            kwargs,
            is_async=self.is_async,
            secret_fields=self.secret_fields,
        )


def _where_defined(fn: Callable[..., Any], name: str) -> str:
    fn = unwrapped(fn)
    module = getattr(fn, "__module__", None)
    qualified = getattr(fn, "__qualname__", name)
    return f"{module}.{qualified}" if isinstance(module, str) else str(qualified)


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    sensitive: bool = False,
    requires_approval: bool | ToolApprovalPolicy | None = None,
    secret_fields: Iterable[str] = (),
    cache_control: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    sensitive: bool = False,
    requires_approval: bool | ToolApprovalPolicy | None = None,
    secret_fields: Iterable[str] = (),
    cache_control: Mapping[str, Any] | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a function into a :class:`Tool`; use as ``@tool`` or ``@tool(...)``.

    Args:
        name: The tool's name for the model (default: the function's name).
        description: Overrides the docstring's summary as the tool's description.
        sensitive: Every call needs a human's approval.
        requires_approval: ``True`` (same as ``sensitive``) or a policy: a function of the
            validated arguments, sync or async, returning whether this call needs approval.
            Returning a non-empty text instead of ``True`` asks and says why (the approver
            shows it, the run store keeps it); ``False``, ``None`` or ``""`` does not ask.
        secret_fields: Arguments whose values are masked in logs and approval displays.
        cache_control: A prompt-cache breakpoint to put on the definition.

    Raises:
        ToolDefinitionError: the function cannot be described as a tool; the message says why.
    """

    def decorate(function: Callable[..., Any]) -> Tool:
        return Tool(
            function,
            name=name,
            description=description,
            sensitive=sensitive,
            requires_approval=requires_approval,
            secret_fields=secret_fields,
            cache_control=cache_control,
        )

    if fn is not None:
        return decorate(fn)
    return decorate


def _require_tool_list(tools: object) -> None:
    # A lone tool or function, a string (iterable, one character at a time) or a mapping
    # (iterable, by key) would otherwise fail deep inside, or not at all.
    if not isinstance(tools, Tool | str | bytes | Mapping) and isinstance(tools, Iterable):
        return
    if isinstance(tools, Tool | ServerTool) or callable(tools):
        name = (
            tools.name if isinstance(tools, Tool)
            else f"{type(tools).__name__}(...)" if isinstance(tools, ServerTool)
            else f"{tools.__name__}()" if _is_server_tool_class(tools)
            else callable_name(tools)
        )
        raise ConfigurationError(
            f"tools must be a list of tools, not a single tool: tools=[{name}]"
        )
    if tools is None or isinstance(tools, str):
        given = "None" if tools is None else f"the string {tools!r} (give the tools, not names)"
    else:
        given = f"a value of type {type(tools).__name__}"
    raise ConfigurationError(
        f"tools must be a list of tools, e.g. tools=[lookup_order], not {given}"
    )


class Toolset:
    """The tools of one agent, by name; duplicate names are refused.

    Plain functions are accepted and made into tools with the default options. Server tools
    (:class:`~agentcore.tools.WebSearch`…) are kept apart: iterating, ``get`` and ``len`` see
    the client tools only, while :meth:`definitions` sends both, in the order given.

    Raises:
        ConfigurationError: ``tools`` is not a list (or other iterable) of tools.
        ToolDefinitionError: two tools share a name (a client tool may not take a name the
            API uses for a server tool's blocks either), or a function cannot be a tool.
    """

    def __init__(self, tools: Iterable[Tool | ServerTool | Callable[..., Any]] = ()) -> None:
        _require_tool_list(tools)
        by_name: dict[str, Tool] = {}
        server_tools: list[ServerTool] = []
        definitions: list[dict[str, Any]] = []
        for item in tools:
            if isinstance(item, ServerTool):
                server_tools.append(item)
                definitions.append(item.definition())
                continue
            if _is_server_tool_class(item):
                name = item.__name__
                raise ToolDefinitionError(
                    f"{name} is the class of a server tool, not a tool: declare it as "
                    f"{name}() (options go in the parentheses)"
                )
            if isinstance(item, Mapping):
                raise ToolDefinitionError(
                    f"a tool definition dict ({dict(item).get('type') or dict(item).get('name')!r})"
                    " is not a tool: declare server tools with WebSearch(), WebFetch() or "
                    "CodeExecution(), and client tools with @tool"
                )
            candidate = item if isinstance(item, Tool) else Tool(item)
            if candidate._receiver != "none" and candidate._target is None:
                raise ToolDefinitionError(
                    f"tool {candidate.name!r} is a method taken from the class; pass the bound "
                    f"tool from an instance instead (for example `obj.{candidate.name}`)"
                )
            if candidate.name in by_name:
                raise ToolDefinitionError(
                    f"two tools are named {candidate.name!r}; tool names must be unique within "
                    "an agent, so rename one with @tool(name='...')"
                )
            by_name[candidate.name] = candidate
            definitions.append(candidate.definition())
        _check_server_tool_names(server_tools, by_name)
        self._tools = by_name
        self._server_tools = tuple(server_tools)
        self._definitions = definitions

    def get(self, name: str) -> Tool | None:
        """The client tool called ``name``, or None."""
        return self._tools.get(name)

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        names = [*self._tools, *(tool.version for tool in self._server_tools)]
        return f"Toolset({names!r})"

    @property
    def names(self) -> list[str]:
        """The client tool names, in the order the tools were given."""
        return list(self._tools)

    @property
    def server_tools(self) -> tuple[ServerTool, ...]:
        """The server tools, in the order they were given."""
        return self._server_tools

    @property
    def betas(self) -> list[str]:
        """The ``anthropic-beta`` names the server tools need, each once, in order."""
        betas: list[str] = []
        for server_tool in self._server_tools:
            if server_tool.beta is not None and server_tool.beta not in betas:
                betas.append(server_tool.beta)
        return betas

    def definitions(self) -> list[dict[str, Any]]:
        """The API definitions of all tools, in the order the tools were given."""
        return [dict(definition) for definition in self._definitions]


def _is_server_tool_class(value: object) -> TypeGuard[type[ServerTool]]:
    """Whether ``value`` is :class:`ServerTool` or one of its classes, given where an instance
    (``WebSearch()``) belongs."""
    return isinstance(value, type) and issubclass(value, ServerTool)


def _check_server_tool_names(server_tools: list[ServerTool], tools: Mapping[str, Tool]) -> None:
    """Refuse two server tools of one name, and a client tool named like a server tool's
    blocks: the model's ``server_tool_use`` and ``tool_use`` blocks must never be confused."""
    seen: dict[str, ServerTool] = {}
    for server_tool in server_tools:
        if server_tool.name in seen:
            raise ToolDefinitionError(
                f"two server tools are named {server_tool.name!r} ({seen[server_tool.name].version}"
                f" and {server_tool.version}); give each server tool once"
            )
        seen[server_tool.name] = server_tool
        for name in sorted(server_tool.block_names & tools.keys()):
            raise ToolDefinitionError(
                f"tool {name!r} has a name the API uses for the server tool "
                f"{server_tool.version}; rename it with @tool(name='...')"
            )
