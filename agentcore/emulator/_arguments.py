"""Reading a tool's arguments out of plain text, for the emulator's demo policy.

Each parameter is filled from its JSON-schema entry and its name: a ``pattern`` the text
matches, ids such as ``A-1001`` for ``*_id``/``*number``/``code`` parameters, emails, dates,
URLs, ``$25.50`` as 2550 for a ``*_cents`` parameter (25.5 for ``amount``/``price``), the
first plain number for other numbers, an enum value the text mentions, then the default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["fill_arguments"]

_ID = re.compile(r"\b[A-Z]{1,6}-?\d{2,}[A-Z0-9-]*\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_MONEY = re.compile(r"\$\s?(\d+(?:,\d{3})*(?:\.\d{1,2})?)|(\d+(?:\.\d{1,2})?)\s?(?:dollars|usd)\b",
                    re.IGNORECASE)
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_URL = re.compile(r"https?://\S+")
_NUMBER = re.compile(r"(?<![\w$.-])-?\d+(?:\.\d+)?(?![\w-])")


def _money_cents(text: str) -> int | None:
    match = _MONEY.search(text)
    if not match:
        return None
    amount = (match.group(1) or match.group(2)).replace(",", "")
    return round(float(amount) * 100)


def _money(text: str) -> float | None:
    cents = _money_cents(text)
    return None if cents is None else cents / 100


def _numbers(text: str) -> list[str]:
    masked = _ID.sub(" ", _EMAIL.sub(" ", _DATE.sub(" ", _MONEY.sub(" ", text))))
    return _NUMBER.findall(masked)


def _string_value(
    name: str, schema: Mapping[str, Any], text: str, required: bool, guess: bool
) -> Any:
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            match = re.search(pattern.strip("^$"), text)
        except re.error:
            match = None
        if match:
            return match.group(0)
    lowered = name.lower()
    finders = (
        ("email", _EMAIL), ("url", _URL), ("date", _DATE),
        ("id", _ID), ("number", _ID), ("code", _ID), ("sku", _ID), ("order", _ID),
    )
    for hint, regex in finders:
        if hint in lowered:
            found = regex.search(text)
            if found:
                return found.group(0)
    if "default" in schema:
        return schema["default"]
    if required and guess:
        return " ".join(text.split())[:200]
    return None


def _argument(
    name: str, schema: Mapping[str, Any], text: str, required: bool, guess: bool = True
) -> Any:
    """The value of one argument read from ``text``; with ``guess`` off, a required value
    the text does not hold is None rather than made up (the request text, the minimum)."""
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        lowered = text.lower()
        for option in enum:
            if str(option).lower() in lowered:
                return option
        return schema.get("default", enum[0] if required else None)
    kind = schema.get("type")
    lowered_name = name.lower()
    if kind == "integer" or kind == "number":
        value: Any = None
        if "cent" in lowered_name:
            value = _money_cents(text)
        elif any(hint in lowered_name for hint in ("amount", "price", "total", "cost")):
            value = _money(text)
        if value is None:
            numbers = _numbers(text)
            value = float(numbers[0]) if numbers else schema.get("default")
        if value is None and required and guess:
            value = schema.get("minimum", 1)
        if value is not None and kind == "integer":
            value = round(value)
        return value
    if kind == "boolean":
        return schema.get("default", False if required else None)
    if kind == "array":
        return schema.get("default", [] if required else None)
    if kind == "object":
        return schema.get("default", {} if required else None)
    return _string_value(name, schema, text, required, guess)


def fill_arguments(
    tool: Mapping[str, Any], text: str, *, guess: bool = True
) -> dict[str, Any] | None:
    """Arguments for ``tool`` read from ``text``; None when ``guess`` is off and a required
    argument is not in the text."""
    schema = tool["input_schema"]
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    arguments: dict[str, Any] = {}
    for name, property_schema in properties.items():
        if not isinstance(property_schema, dict):
            continue
        value = _argument(name, property_schema, text, name in required, guess)
        if value is not None:
            arguments[name] = value
        elif name in required and not guess:
            return None
    return arguments
