"""Make pydantic's JSON Schema compact: what a model reads should be short and plain.

Titles go, ``Optional[X]`` and unions of bare types become a ``type`` list instead of an
``anyOf``, and ``$defs`` stay only for definitions that are reused or recursive (enums are
always written out: they are short).
"""

from __future__ import annotations

from typing import Any

__all__ = ["compact_schema"]

_SCHEMA_MAP_KEYS = frozenset({"properties", "$defs", "patternProperties", "dependentSchemas"})
_SCHEMA_KEYS = frozenset(
    {"items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
     "unevaluatedItems", "unevaluatedProperties"}
)
_SCHEMA_LIST_KEYS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_DEF_PREFIX = "#/$defs/"


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a compact equivalent of a pydantic JSON Schema.

    Drops ``title`` keywords, inlines definitions used once and not recursive, and writes
    unions of plain types (``Optional[int]``, ``int | str``) as a ``type`` list.
    """
    defs: dict[str, Any] = schema.get("$defs", {})
    counts: dict[str, int] = {}
    _count_refs(schema, counts)
    recursive = _recursive_defs(defs)
    # Enums are short, so repeating them reads better than a reference; models are not.
    inline = {
        name
        for name, definition in defs.items()
        if name not in recursive and (counts.get(name, 0) <= 1 or "enum" in definition)
    }
    body = {key: value for key, value in schema.items() if key != "$defs"}
    result: dict[str, Any] = _rewrite(body, defs, inline)
    kept = {name: _rewrite(defs[name], defs, inline) for name in sorted(defs) if name not in inline}
    if kept:
        result["$defs"] = kept
    return result


def _children(node: dict[str, Any]) -> list[Any]:
    children: list[Any] = []
    for key, value in node.items():
        if key in _SCHEMA_MAP_KEYS and isinstance(value, dict):
            children.extend(value.values())
        elif key in _SCHEMA_KEYS and isinstance(value, dict):
            children.append(value)
        elif key in _SCHEMA_LIST_KEYS and isinstance(value, list):
            children.extend(value)
    return children


def _ref_name(node: dict[str, Any]) -> str | None:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEF_PREFIX):
        return ref[len(_DEF_PREFIX) :]
    return None


def _count_refs(node: Any, counts: dict[str, int]) -> None:
    if not isinstance(node, dict):
        return
    name = _ref_name(node)
    if name is not None:
        counts[name] = counts.get(name, 0) + 1
    for child in _children(node):
        _count_refs(child, counts)


def _recursive_defs(defs: dict[str, Any]) -> set[str]:
    edges: dict[str, set[str]] = {}
    for name, definition in defs.items():
        found: dict[str, int] = {}
        _count_refs(definition, found)
        edges[name] = set(found)
    recursive: set[str] = set()
    for start in defs:
        stack = list(edges[start])
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            if current == start:
                recursive.add(start)
                break
            if current in seen or current not in edges:
                continue
            seen.add(current)
            stack.extend(edges[current])
    return recursive


def _rewrite(node: Any, defs: dict[str, Any], inline: set[str]) -> Any:
    if not isinstance(node, dict):
        return node
    name = _ref_name(node)
    if name is not None and name in inline:
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        node = {**defs[name], **siblings}
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key in _SCHEMA_MAP_KEYS and isinstance(value, dict):
            result[key] = {sub: _rewrite(item, defs, inline) for sub, item in value.items()}
        elif key in _SCHEMA_KEYS and isinstance(value, dict):
            result[key] = _rewrite(value, defs, inline)
        elif key in _SCHEMA_LIST_KEYS and isinstance(value, list):
            result[key] = [_rewrite(item, defs, inline) for item in value]
        else:
            result[key] = value
    return _merge_plain_union(result)


def _merge_plain_union(node: dict[str, Any]) -> dict[str, Any]:
    """Write ``anyOf`` over plain types as one schema with a ``type`` list.

    ``{"anyOf": [X, {"type": "null"}]}`` becomes X with ``"null"`` added to its type (and to
    its ``enum``), which validates the same values; so does ``anyOf`` over bare types.
    """
    branches = node.get("anyOf")
    if not isinstance(branches, list) or len(branches) < 2:
        return node
    rest = {key: value for key, value in node.items() if key != "anyOf"}
    if all(set(branch) == {"type"} and isinstance(branch["type"], str) for branch in branches):
        return {"type": [branch["type"] for branch in branches], **rest}
    nulls = [branch for branch in branches if branch == {"type": "null"}]
    others = [branch for branch in branches if branch != {"type": "null"}]
    if len(nulls) != 1 or len(others) != 1:
        return node
    other = dict(others[0])
    if not isinstance(other.get("type"), str) or "$ref" in other or "anyOf" in other:
        return node
    other["type"] = [other["type"], "null"]
    if "const" in other:
        other["enum"] = [other.pop("const")]
    if isinstance(other.get("enum"), list) and None not in other["enum"]:
        other["enum"] = [*other["enum"], None]
    return {**other, **rest}
