"""What a tool's return value becomes in a ``tool_result``."""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic import BaseModel

__all__ = ["NO_OUTPUT", "to_content"]

NO_OUTPUT = "(no output)"
"""The tool_result text for a tool that returned ``None``: an empty result reads to a model
like a failure, and ``null`` like a missing value."""

_CONTENT_BLOCK_TYPES = frozenset({"text", "image", "document", "search_result"})


def to_content(result: Any) -> str | list[dict[str, Any]]:
    """Turn a tool's return value into ``tool_result`` content.

    ``str`` is sent as is; ``None`` as ``"(no output)"``; a list of content blocks (dicts or
    pydantic wire models with a ``type`` such as ``text`` or ``image``) as blocks; anything
    else (pydantic models, dataclasses, dicts, lists, numbers, datetimes, UUIDs, Decimals,
    Enums) as compact JSON.

    Raises:
        pydantic_core.PydanticSerializationError: the value has no JSON form.
    """
    if isinstance(result, str):
        return result
    if result is None:
        return NO_OUTPUT
    if isinstance(result, list) and result and all(_is_content_block(item) for item in result):
        return [
            item.model_dump(mode="json", exclude_none=True, by_alias=True)
            if isinstance(item, BaseModel)
            else item
            for item in result
        ]
    return pydantic_core.to_json(result).decode("utf-8")


def _is_content_block(item: Any) -> bool:
    if isinstance(item, dict):
        return item.get("type") in _CONTENT_BLOCK_TYPES
    return isinstance(item, BaseModel) and getattr(item, "type", None) in _CONTENT_BLOCK_TYPES
