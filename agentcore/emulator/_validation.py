"""The request rules the Messages API enforces, checked the way it checks them.

Each broken rule raises :class:`RequestRejected` with the status, ``error.type`` and a
message worded like the API's (``"messages.2.content.0: unexpected `tool_use_id` …"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_CACHE_BREAKPOINTS", "RequestRejected", "validate_message_request"]

MAX_CACHE_BREAKPOINTS = 4

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = ("user", "assistant")
_TOOL_CHOICE_TYPES = ("auto", "any", "tool", "none")


class RequestRejected(Exception):
    """An error response to send instead of a result."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        injected: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = dict(headers or {})
        self.injected = injected
        """The injected fault this error is (``429``), for the request log; None otherwise."""


def _invalid(message: str) -> RequestRejected:
    return RequestRejected(400, "invalid_request_error", message)


def _blocks(content: Any) -> list[Any]:
    return content if isinstance(content, list) else []


def _check_number(body: Mapping[str, Any], name: str, low: float, high: float | None) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"{name}: Input should be a valid number")
    if value < low or (high is not None and value > high):
        bound = f"{low:g}..{high:g}" if high is not None else f">= {low:g}"
        raise _invalid(f"{name}: range: {bound}")


def _check_max_tokens(body: Mapping[str, Any], *, required: bool) -> None:
    if "max_tokens" not in body:
        if required:
            raise _invalid("max_tokens: Field required")
        return
    value = body["max_tokens"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("max_tokens: Input should be a valid integer")
    if value < 1:
        raise _invalid("max_tokens: Input should be greater than or equal to 1")


def _check_tools(body: Mapping[str, Any]) -> set[str]:
    tools = body.get("tools")
    if tools is None:
        return set()
    if not isinstance(tools, list):
        raise _invalid("tools: Input should be a valid list")
    names: set[str] = set()
    for index, definition in enumerate(tools):
        if not isinstance(definition, dict):
            raise _invalid(f"tools.{index}: Input should be a valid dictionary")
        name = definition.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            raise _invalid(f"tools.{index}.custom.name: String should match pattern "
                           f"'{_TOOL_NAME.pattern}'")
        if name in names:
            raise _invalid(f"tools: Tool names must be unique. Duplicate name: {name!r}")
        names.add(name)
        if "type" not in definition or definition.get("type") == "custom":
            schema = definition.get("input_schema")
            if not isinstance(schema, dict):
                raise _invalid(f"tools.{index}.custom.input_schema: Field required")
            if schema.get("type") != "object":
                raise _invalid(f"tools.{index}.custom.input_schema.type: Input should be "
                               "'object'")
    return names


def _check_tool_choice(body: Mapping[str, Any], tool_names: set[str]) -> None:
    choice = body.get("tool_choice")
    if choice is None:
        return
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind not in _TOOL_CHOICE_TYPES:
        raise _invalid("tool_choice: Input tag does not match any of the expected tags: "
                       "'auto', 'any', 'tool', 'none'")
    if kind == "tool" and choice.get("name") not in tool_names:
        raise _invalid(f"tool_choice.tool.name: Tool '{choice.get('name')}' not found in "
                       "the provided tools")


def _check_thinking_kept(body: Mapping[str, Any]) -> None:
    # With thinking on, the assistant turn whose tool calls are being answered must come
    # back with its thinking blocks first, unchanged: the classic bug of a loop that drops
    # them is rejected by the API, so it is here too.
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return
    messages = body.get("messages") or []
    if len(messages) < 2 or messages[-1].get("role") != "user":
        return
    if not any(block.get("type") == "tool_result" for block in _blocks(messages[-1]["content"])):
        return
    index = len(messages) - 2
    blocks = _blocks(messages[index].get("content"))
    if blocks and blocks[0].get("type") not in ("thinking", "redacted_thinking"):
        raise _invalid(
            f"messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
            f"found `{blocks[0].get('type')}`. When `thinking` is enabled, a final `assistant` "
            "message must start with a thinking block (preceeding the lastmost set of "
            "`tool_use` and `tool_result` blocks). To avoid this requirement, disable "
            "`thinking`."
        )


def _check_thinking(body: Mapping[str, Any]) -> None:
    _check_thinking_kept(body)
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return
    budget = thinking.get("budget_tokens")
    if isinstance(budget, bool) or not isinstance(budget, int):
        raise _invalid("thinking.enabled.budget_tokens: Field required")
    if budget < 1024:
        raise _invalid("thinking.enabled.budget_tokens: Input should be greater than or "
                       "equal to 1024")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and max_tokens <= budget:
        raise _invalid("`max_tokens` must be greater than `thinking.budget_tokens`. Please "
                       "consult our documentation at https://docs.claude.com/en/docs/"
                       "build-with-claude/extended-thinking#max-tokens-and-context-window-size")


def _check_messages(messages: Any) -> None:
    if not isinstance(messages, list):
        raise _invalid("messages: Input should be a valid list")
    if not messages:
        raise _invalid("messages: at least one message is required")
    previous_tool_uses: list[str] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _invalid(f"messages.{index}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in _ROLES:
            raise _invalid(f"messages.{index}.role: Input should be 'user' or 'assistant'")
        if index == 0 and role != "user":
            raise _invalid('messages: first message must use the "user" role')
        content = message.get("content")
        if not isinstance(content, str | list):
            raise _invalid(f"messages.{index}.content: Field required")
        if isinstance(content, list) and not content and index != len(messages) - 1:
            raise _invalid(f"messages.{index}: all messages must have non-empty content except "
                           "for the optional final assistant message")
        blocks = _blocks(content)
        for position, block in enumerate(blocks):
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                raise _invalid(f"messages.{index}.content.{position}: Input should be a valid "
                               "content block with a 'type'")
        for position, block in enumerate(blocks):
            if block["type"] == "tool_use" and not isinstance(block.get("input"), dict):
                raise _invalid(f"messages.{index}.content.{position}.tool_use.input: Input "
                               "should be a valid dictionary")
        results = [block for block in blocks if block["type"] == "tool_result"]
        if results and role != "user":
            raise _invalid(f"messages.{index}.content: `tool_result` blocks can only be in "
                           "`user` messages")
        result_ids = [str(block.get("tool_use_id")) for block in results]
        unexpected = [tool_id for tool_id in result_ids if tool_id not in previous_tool_uses]
        if unexpected:
            position = next(i for i, block in enumerate(blocks)
                            if block["type"] == "tool_result"
                            and str(block.get("tool_use_id")) in unexpected)
            raise _invalid(
                f"messages.{index}.content.{position}: unexpected `tool_use_id` found in "
                f"`tool_result` blocks: {', '.join(unexpected)}. Each `tool_result` block must "
                "have a corresponding `tool_use` block in the previous message."
            )
        if previous_tool_uses:
            unanswered = [tool_id for tool_id in previous_tool_uses if tool_id not in result_ids]
            if unanswered:
                raise _invalid(
                    f"messages.{index - 1}: `tool_use` ids were found without `tool_result` "
                    f"blocks immediately after: {', '.join(unanswered)}. Each `tool_use` block "
                    "must have a corresponding `tool_result` block in the next message."
                )
            leading = blocks[: len(results)]
            if any(block["type"] != "tool_result" for block in leading):
                raise _invalid(
                    f"messages.{index}.content: `tool_result` blocks must come first in the "
                    "user message that answers tool calls, before any other content."
                )
        previous_tool_uses = [
            str(block.get("id")) for block in blocks
            if role == "assistant" and block["type"] == "tool_use"
        ]
    if previous_tool_uses and messages[-1].get("role") == "assistant":
        raise _invalid(
            f"messages.{len(messages) - 1}: `tool_use` ids were found without `tool_result` "
            f"blocks immediately after: {', '.join(previous_tool_uses)}. Each `tool_use` block "
            "must have a corresponding `tool_result` block in the next message."
        )


def _count_breakpoints(body: Mapping[str, Any]) -> int:
    count = 1 if body.get("cache_control") else 0
    for definition in body.get("tools") or []:
        count += 1 if isinstance(definition, dict) and definition.get("cache_control") else 0
    system = body.get("system")
    for block in system if isinstance(system, list) else []:
        count += 1 if isinstance(block, dict) and block.get("cache_control") else 0
    for message in body.get("messages") or []:
        for block in _blocks(message.get("content") if isinstance(message, dict) else None):
            count += 1 if isinstance(block, dict) and block.get("cache_control") else 0
    return count


def validate_message_request(body: Any, *, known_models: set[str], for_count: bool = False) -> str:
    """Check a MessageCreate body the way the API does; returns the model id.

    Raises:
        RequestRejected: 400 ``invalid_request_error`` for a broken rule, 404
            ``not_found_error`` for an unknown model.
    """
    if not isinstance(body, dict):
        raise _invalid("Request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("model: Field required")
    _check_max_tokens(body, required=not for_count)
    _check_messages(body.get("messages"))
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise _invalid("system: Input should be a valid string or a list of text blocks")
    _check_number(body, "temperature", 0, 1)
    _check_number(body, "top_p", 0, 1)
    _check_number(body, "top_k", 0, None)
    tool_names = _check_tools(body)
    _check_tool_choice(body, tool_names)
    _check_thinking(body)
    breakpoints = _count_breakpoints(body)
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        raise _invalid(f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may "
                       f"be provided. Found {breakpoints}.")
    if model not in known_models:
        raise RequestRejected(404, "not_found_error", f"model: {model}")
    return model
