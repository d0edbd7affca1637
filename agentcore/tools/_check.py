"""A JSON Schema checker compiled into Python closures, for the keywords tool schemas use.

It gives the Draft 2020-12 answer (the one ``jsonschema.Draft202012Validator`` gives with the
formats of :mod:`agentcore.tools._formats`) for every JSON value: ``dict``, ``list``,
``str``, ``int``, ``float``, ``bool`` and ``None``. It only says yes or no; explaining a no
is left to jsonschema. For anything it cannot decide exactly (a Python value that is not
plain JSON, a list whose uniqueness jsonschema judges by its own rules) it raises
:class:`Unsure`, and the caller asks jsonschema. A schema using a keyword outside the
supported set gets no compiled checker at all.

A value it accepts holds no NaN or infinite float anywhere: those are not JSON numbers, and
meeting one (where the schema checks a number, or inside a part the schema leaves free) it
raises :class:`Unsure`, so the caller can name the bad number without walking every
accepted value a second time.

The tests compare it with jsonschema on generated schemas' values
(``tests/test_validation_differential.py``).
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from agentcore.tools._formats import FORMATS

__all__ = ["Check", "Unsure", "compile_check"]

Check = Callable[[Any], bool]


class Unsure(Exception):
    """The compiled checker cannot give jsonschema's answer for this value."""


class _Unsupported(Exception):
    pass


_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "discriminator",
        "contentMediaType",
        "contentEncoding",
    }
)
_JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
_CONTAINERS = frozenset({float, dict, list})
# Checks that test the type of a scalar and nothing else, with the exact types they accept: an
# object check tests those properties inline instead of calling them.
_TYPE_ONLY: weakref.WeakKeyDictionary[Check, frozenset[type]] = weakref.WeakKeyDictionary()
_NUMBER_TYPES = (int, float)


def compile_check(root: dict[str, Any]) -> Check | None:
    """A checker for ``root``, or None when it uses a keyword this module does not support."""
    try:
        return _Compiler(root).compile(root)
    except _Unsupported:
        return None


def _always(value: Any) -> bool:
    return True


def _free(value: Any) -> bool:
    """Accept any value, as a schema that constrains nothing does; Unsure on NaN/Infinity."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            raise Unsure
    elif kind is dict:
        for item in value.values():
            if type(item) in _CONTAINERS:
                _free(item)
    elif kind is list:
        for item in value:
            if type(item) in _CONTAINERS:
                _free(item)
    return True


def _never(value: Any) -> bool:
    return False


_EXACT = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}


def _type_names(expected: Any) -> list[str]:
    names = [expected] if isinstance(expected, str) else expected
    if not isinstance(names, list) or not names or not all(name in _EXACT for name in names):
        raise _Unsupported
    return names


def _typed(expected: Any, then: Check | None) -> Check:
    """Check the ``type`` keyword, then (for a value of a fitting type) ``then``."""
    names = _type_names(expected)
    exact = frozenset(kind for name in names for kind in _EXACT[name])
    whole_floats = "integer" in names and "number" not in names
    if then is None:
        then = _free if dict in exact or list in exact else _always
    floats = float in exact
    if then is _always and not floats and not whole_floats:

        def check_type(value: Any) -> bool:
            kind = type(value)
            if kind in exact:
                return True
            if kind not in _JSON_TYPES:
                raise Unsure
            return False

        _TYPE_ONLY[check_type] = exact
        return check_type

    def check(value: Any) -> bool:
        kind = type(value)
        if kind in exact:
            if floats and kind is float and not math.isfinite(value):
                raise Unsure
            return then(value)
        if whole_floats and kind is float and value.is_integer():
            return then(value)
        if kind not in _JSON_TYPES:
            raise Unsure
        return False

    return check


def json_equal(one: Any, two: Any) -> bool:
    """Equality as JSON Schema means it: ``true`` is not ``1``, ``1`` is ``1.0``."""
    if one is two:
        return True
    kind_one, kind_two = type(one), type(two)
    if kind_one not in _JSON_TYPES or kind_two not in _JSON_TYPES:
        raise Unsure
    if kind_one is str or kind_two is str:
        return bool(one == two)
    if kind_one is list and kind_two is list:
        return len(one) == len(two) and all(
            json_equal(a, b) for a, b in zip(one, two, strict=True)
        )
    if kind_one is dict and kind_two is dict:
        return len(one) == len(two) and all(
            key in two and json_equal(item, two[key]) for key, item in one.items()
        )
    if (kind_one is bool) != (kind_two is bool):
        return False
    return bool(one == two)


def _multiple_of(divisor: Any, value: Any) -> bool:
    if isinstance(divisor, float):
        quotient = value / divisor
        try:
            return bool(int(quotient) == quotient)
        except OverflowError:
            try:
                return (Fraction(value) / Fraction(divisor)).denominator == 1
            except (OverflowError, ValueError):
                raise Unsure from None
        except ValueError:
            raise Unsure from None
    return not value % divisor


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self._root = root
        self._refs: dict[str, list[Check]] = {}

    def compile(self, node: Any) -> Check:
        if node is True:
            return _free
        if node is False:
            return _never
        if not isinstance(node, dict):
            raise _Unsupported
        checks: list[Check] = []
        known = {"type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "$defs"}
        by_kind: dict[type, Check] = {}
        string = self._string(node)
        if string is not None:
            by_kind[str] = string
        number = self._number(node)
        if number is not None:
            by_kind[int] = by_kind[float] = number
        array = self._array(node)
        if array is not None:
            by_kind[list] = array
        obj = self._object(node)
        if obj is not None:
            by_kind[dict] = obj
        if "type" in node:
            names = _type_names(node["type"])
            kinds = {kind for name in names for kind in _EXACT[name]}
            if "integer" in names:
                kinds.add(float)
            relevant = {kind: check for kind, check in by_kind.items() if kind in kinds}
            then: Check | None = None
            if set(relevant) == kinds and len(set(relevant.values())) == 1:
                then = next(iter(relevant.values()))
            elif relevant:
                then = _dispatch(relevant)
            checks.append(_typed(node["type"], then))
        elif by_kind:
            checks.append(_dispatch(by_kind))
        if "enum" in node:
            _require_finite(node["enum"])
            checks.append(_enum(node["enum"]))
        if "const" in node:
            constant = node["const"]
            _require_finite(constant)
            checks.append(lambda value: json_equal(constant, value))
        for keyword in ("anyOf", "oneOf", "allOf"):
            if keyword in node:
                branches = node[keyword]
                if not isinstance(branches, list) or not branches:
                    raise _Unsupported
                checks.append(_combined(keyword, [self.compile(item) for item in branches]))
        if "$ref" in node:
            checks.append(self._ref(node["$ref"]))
        unknown = set(node) - known - _ANNOTATIONS - _STRING_KEYS - _NUMBER_KEYS
        unknown -= _ARRAY_KEYS | _OBJECT_KEYS
        if unknown:
            raise _Unsupported
        if not checks:
            return _free
        if len(checks) == 1:
            return checks[0]
        if len(checks) == 2:
            first, second = checks
            return lambda value: first(value) and second(value)
        return lambda value: all(check(value) for check in checks)

    def _ref(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            raise _Unsupported
        cell = self._refs.get(ref)
        if cell is None:
            definition = self._root.get("$defs", {}).get(ref[len("#/$defs/") :])
            if definition is None:
                raise _Unsupported
            cell = self._refs[ref] = []
            cell.append(self.compile(definition))
        return lambda value: cell[0](value)

    def _string(self, node: dict[str, Any]) -> Check | None:
        low, high = node.get("minLength"), node.get("maxLength")
        pattern = node.get("pattern")
        fmt = node.get("format")
        search = re.compile(pattern).search if isinstance(pattern, str) else None
        if pattern is not None and search is None:
            raise _Unsupported
        conforms = FORMATS.get(fmt) if isinstance(fmt, str) else None
        if low is None and high is None and search is None and conforms is None:
            return None
        for bound in (low, high):
            if bound is not None and type(bound) is not int:
                raise _Unsupported

        def check(value: str) -> bool:
            if low is not None and len(value) < low:
                return False
            if high is not None and len(value) > high:
                return False
            if search is not None and search(value) is None:
                return False
            return conforms is None or conforms(value)

        return check

    def _number(self, node: dict[str, Any]) -> Check | None:
        bounds = [
            (keyword, node[keyword])
            for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
            if keyword in node
        ]
        divisor = node.get("multipleOf")
        if not bounds and divisor is None:
            return None
        for _, bound in [*bounds, ("multipleOf", divisor)]:
            if bound is not None and type(bound) not in _NUMBER_TYPES:
                raise _Unsupported
        minimum, maximum = node.get("minimum"), node.get("maximum")
        above, below = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")

        def check(value: Any) -> bool:
            if type(value) is float and not math.isfinite(value):
                raise Unsure
            if minimum is not None and value < minimum:
                return False
            if maximum is not None and value > maximum:
                return False
            if above is not None and value <= above:
                return False
            if below is not None and value >= below:
                return False
            return divisor is None or _multiple_of(divisor, value)

        return check

    def _array(self, node: dict[str, Any]) -> Check | None:
        if not _ARRAY_KEYS & set(node):
            return None
        prefix = [self.compile(item) for item in node.get("prefixItems", [])]
        items = self.compile(node["items"]) if "items" in node else _free
        low, high = node.get("minItems"), node.get("maxItems")
        unique = node.get("uniqueItems") is True
        start = len(prefix)

        def check(value: list[Any]) -> bool:
            if low is not None and len(value) < low:
                return False
            if high is not None and len(value) > high:
                return False
            for item_check, item in zip(prefix, value, strict=False):
                if not item_check(item):
                    return False
            for index in range(start, len(value)):
                if not items(value[index]):
                    return False
            return not unique or _unique(value)

        return check

    def _object(self, node: dict[str, Any]) -> Check | None:
        if not _OBJECT_KEYS & set(node):
            return None
        properties = {
            name: self.compile(schema) for name, schema in node.get("properties", {}).items()
        }
        required = tuple(node.get("required", ()))
        extra_schema = node.get("additionalProperties", True)
        extra = self.compile(extra_schema)
        names = self.compile(node["propertyNames"]) if "propertyNames" in node else None
        low, high = node.get("minProperties"), node.get("maxProperties")
        if names is None and low is None and high is None and _all_str(required):
            return _properties(properties, frozenset(required), extra)

        def check(value: dict[str, Any]) -> bool:
            if low is not None and len(value) < low:
                return False
            if high is not None and len(value) > high:
                return False
            for name in required:
                if name not in value:
                    return False
            for key, item in value.items():
                if type(key) is not str:
                    raise Unsure
                if names is not None and not names(key):
                    return False
                property_check = properties.get(key)
                if property_check is not None:
                    if not property_check(item):
                        return False
                elif not extra(item):
                    return False
            return True

        return check


_STRING_KEYS = frozenset({"minLength", "maxLength", "pattern", "format"})
_NUMBER_KEYS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)
_ARRAY_KEYS = frozenset({"items", "prefixItems", "minItems", "maxItems", "uniqueItems"})
_OBJECT_KEYS = frozenset(
    {
        "properties",
        "required",
        "additionalProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
    }
)


def _all_str(items: tuple[Any, ...]) -> bool:
    return all(type(item) is str for item in items)


def _properties(properties: dict[str, Check], required: frozenset[str], extra: Check) -> Check:
    """An object check with only ``properties``, ``required`` and ``additionalProperties``."""
    kinds_of = {
        name: kinds for name, check in properties.items() if (kinds := _TYPE_ONLY.get(check))
    }
    typed = kinds_of.get
    get = {name: check for name, check in properties.items() if name not in kinds_of}.get

    def check(value: dict[str, Any]) -> bool:
        if not value.keys() >= required:
            return False
        for key, item in value.items():
            if type(key) is not str:
                raise Unsure
            kinds = typed(key)
            if kinds is not None:
                kind = type(item)
                if kind in kinds:
                    continue
                if kind not in _JSON_TYPES:
                    raise Unsure
                return False
            property_check = get(key)
            if property_check is not None:
                if not property_check(item):
                    return False
            elif not extra(item):
                return False
        return True

    return check


def _dispatch(by_kind: dict[type, Check]) -> Check:
    def check(value: Any) -> bool:
        kind = type(value)
        found = by_kind.get(kind)
        if found is not None:
            return found(value)
        if kind not in _JSON_TYPES:
            raise Unsure
        return _free(value)

    return check


def _require_finite(value: Any) -> None:
    """Refuse to compile a schema whose enum or const holds a NaN or infinite float."""
    try:
        _free(value)
    except Unsure:
        raise _Unsupported from None


def _enum(allowed: Any) -> Check:
    if not isinstance(allowed, list):
        raise _Unsupported
    if all(type(item) is str for item in allowed):
        strings = frozenset(allowed)

        def in_strings(value: Any) -> bool:
            if type(value) is str:
                return value in strings
            if type(value) not in _JSON_TYPES:
                raise Unsure
            return False

        return in_strings
    return lambda value: any(json_equal(item, value) for item in allowed)


def _combined(keyword: str, branches: list[Check]) -> Check:
    if keyword == "anyOf":
        return lambda value: any(branch(value) for branch in branches)
    if keyword == "allOf":
        return lambda value: all(branch(value) for branch in branches)

    def exactly_one(value: Any) -> bool:
        return sum(1 for branch in branches if branch(value)) == 1

    return exactly_one


def _unique(items: list[Any]) -> bool:
    # jsonschema sorts and compares neighbours; for strings alone, or integers alone, that
    # is exactly "no two are equal". Other mixes follow its own rules: leave them to it.
    if all(type(item) is str for item in items) or all(type(item) is int for item in items):
        return len(set(items)) == len(items)
    raise Unsure
