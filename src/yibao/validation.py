"""Turning pydantic's validation errors into `path: rule` lines, for the loader and the gateway alike."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known key",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "too_short": "must not be empty",
    "decimal_type": "must be a decimal number",
    "decimal_parsing": "must be a decimal number",
}

_BOUNDS = {"greater_than_equal": "must be at least", "less_than_equal": "must be at most",
           "greater_than": "must be above", "less_than": "must be below"}


def path_of(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def rule_of(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "string_too_short":
        return f"must have at least {ctx['min_length']} characters"
    if kind == "string_too_long":
        return f"must have at most {ctx['max_length']} characters"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx['pattern']}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), "")
        return f"{_BOUNDS[kind]} {bound}"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    return _MESSAGES.get(kind, error["msg"])


def _clean(loc: Iterable[Any]) -> list[Any]:
    """Drop pydantic's union-branch labels (`function-before[...]`, `str`, `none`) from a location."""
    return [p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("str", "none")))]


def problems_of(exc: ValidationError, prefix: Iterable[Any] = ()) -> list[tuple[str, str]]:
    """(path, rule) for each distinct problem; a union reports once per branch, so duplicates are dropped."""
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        item = (path_of([*prefix, *_clean(error["loc"])]).replace("from_", "from"), rule_of(error))
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
