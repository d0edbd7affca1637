"""The string formats a tool's schema may name, with the meaning the arguments are held to.

Each format has its standard JSON Schema (RFC 3339 / RFC 4122) meaning, made stricter only
where Python cannot hold the value exactly:

* ``date``: ``YYYY-MM-DD`` (RFC 3339 ``full-date``), a real calendar date, years 0001-9999;
* ``date-time``: RFC 3339 ``date-time`` (``T`` or ``t``, then ``Z``, ``z`` or ``±HH:MM``),
  with at most 6 digits of fractions of a second and no leap second (``:60``);
* ``time``: RFC 3339 ``full-time`` (``HH:MM:SS[.ffffff]`` then an offset), same limits;
* ``uuid``: 32 hexadecimal digits grouped 8-4-4-4-12 by hyphens.

A value that passes is converted by :func:`parse_format`, the same reading the conversion to
Python types must agree with.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["FORMATS", "parse_format"]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
_FULL_TIME = re.compile(_TIME)
_DATE_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]" + _TIME)
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def _offset(groups: tuple[str | None, ...]) -> dt.timezone | None:
    zulu, sign, hours, minutes = groups
    if zulu:
        return dt.UTC
    assert sign is not None and hours is not None and minutes is not None
    if int(hours) > 23 or int(minutes) > 59:
        return None
    delta = dt.timedelta(hours=int(hours), minutes=int(minutes))
    return dt.timezone(-delta if sign == "-" else delta)


def _micro(fraction: str | None) -> int:
    return int(fraction.ljust(6, "0")) if fraction else 0


def parse_date(text: str) -> dt.date | None:
    if _DATE.fullmatch(text) is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_time(text: str) -> dt.time | None:
    found = _FULL_TIME.fullmatch(text)
    if found is None:
        return None
    hour, minute, second, fraction = found.groups()[:4]
    zone = _offset(found.groups()[4:])
    if zone is None:
        return None
    try:
        return dt.time(int(hour), int(minute), int(second), _micro(fraction), tzinfo=zone)
    except ValueError:
        return None


def parse_date_time(text: str) -> dt.datetime | None:
    found = _DATE_TIME.fullmatch(text)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction = found.groups()[:7]
    zone = _offset(found.groups()[7:])
    if zone is None:
        return None
    try:
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            _micro(fraction),
            tzinfo=zone,
        )
    except ValueError:
        return None


def parse_uuid(text: str) -> uuid.UUID | None:
    return uuid.UUID(text) if _UUID.fullmatch(text) else None


_PARSERS: dict[str, Callable[[str], Any]] = {
    "date": parse_date,
    "date-time": parse_date_time,
    "time": parse_time,
    "uuid": parse_uuid,
}


def _checker(parse: Callable[[str], Any]) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        return not isinstance(value, str) or parse(value) is not None

    return check


FORMATS: dict[str, Callable[[object], bool]] = {
    name: _checker(parse) for name, parse in _PARSERS.items()
}
"""Format name -> whether a value conforms (values that are not strings always do)."""


def parse_format(name: str, text: str) -> Any:
    """The Python value a string in format ``name`` stands for, or None if it is invalid."""
    return _PARSERS[name](text)
