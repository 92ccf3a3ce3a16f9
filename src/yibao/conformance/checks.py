"""What a scenario says in its text: `${...}` substitutions (a variable, a path into an earlier answer, a sum or
difference of amounts) and the expectations an answer must meet. Pure functions over plain values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from yibao.money import round2

PLACE = re.compile(r"\$\{([^}]*)\}")
#: path segments: names, [n] list positions, [*] every element
SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+|\*)\]")
MONEY = re.compile(r"^-?\d+\.\d+$")
TERM = re.compile(r"\s*([+-])?\s*(sum\(([^)]*)\)|[^\s+]+)\s*")


class Unresolved(Exception):
    """A `${...}` names nothing known, or a path leads nowhere."""


def lookup(root: Any, path: str) -> Any:
    """The value at `path` (output.setlinfo.hifp_pay, output.result[0].cnt); a list for a path through [*]."""
    parts = SEGMENT.findall(path.strip())
    if not parts:
        raise Unresolved(f"{path!r} is not a path")
    values, fanned = [root], False
    for name, index in parts:
        nxt = []
        for value in values:
            if name:
                if not isinstance(value, Mapping) or name not in value:
                    raise Unresolved(f"{path}: no {name!r} there")
                nxt.append(value[name])
            elif index == "*":
                if not isinstance(value, list):
                    raise Unresolved(f"{path}: [*] of something that is not a list")
                nxt.extend(value)
                fanned = True
            else:
                if not isinstance(value, list) or int(index) >= len(value):
                    raise Unresolved(f"{path}: no element [{index}] there")
                nxt.append(value[int(index)])
        values = nxt
    return values if fanned else values[0]


def amount(value: Any, what: str) -> Decimal:
    """An amount to the cent from an answer's number or text."""
    if isinstance(value, bool) or value is None:
        raise Unresolved(f"{what}: {value!r} is not an amount")
    try:
        return round2(Decimal(str(value).strip() or "0"))
    except InvalidOperation:
        raise Unresolved(f"{what}: {value!r} is not an amount") from None


def evaluate(expression: str, names: Mapping[str, Any]) -> Any:
    """One `${...}`: a name or path (`run`, `reg.output.data.mdtrt_id`), or amounts added and subtracted
    (`base.medfee + 30.00`, `sum(fees.output.result[*].fulamt_ownpay_amt)`), giving an amount to the cent, or a
    whole number when every term is one (`base.cnt + 1`)."""
    text = expression.strip()
    terms = [m for m in TERM.finditer(text) if m.group(0).strip()]
    if len(terms) == 1 and not terms[0].group(1) and not terms[0].group(3):
        return lookup(names, text)
    total, whole = Decimal("0.00"), True
    for term in terms:
        sign, inner, word = term.group(1), term.group(3), term.group(2)
        if inner is not None:
            value, whole = sum((amount(v, inner) for v in _as_list(lookup(names, inner))), Decimal("0.00")), False
        elif MONEY.match(word) or word.isdigit():
            value, whole = Decimal(word), whole and word.isdigit()
        else:
            found = lookup(names, word)
            whole = whole and isinstance(found, int) and not isinstance(found, bool)
            value = amount(found, word)
        total += -value if sign == "-" else value
    return int(total) if whole else round2(total)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def substitute(value: Any, names: Mapping[str, Any]) -> Any:
    """`value` with every `${...}` replaced; a string that is one `${...}` whole takes the value's own type."""
    if isinstance(value, str):
        whole = PLACE.fullmatch(value)
        if whole:
            return _plain(evaluate(whole.group(1), names))
        return PLACE.sub(lambda m: _text(evaluate(m.group(1), names)), value)
    if isinstance(value, Mapping):
        return {substitute(k, names): substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, names) for v in value]
    return value


def _plain(value: Any) -> Any:
    return f"{value:.2f}" if isinstance(value, Decimal) else value


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return "" if value is None else str(value)


# -- expectations ---------------------------------------------------------------------------------------------

def check(path: str, expected: Any, answer: Mapping[str, Any]) -> str | None:
    """None when the answer meets the expectation at `path`, else `path: expected X, got Y`.

    expected: "55.00" (an amount: equal to the cent), "310" or 0 (equal as text), null (absent or empty), or
    one of {contains: text}, {startswith: text}, {present: true|false}, {count: n}, {not: value}."""
    try:
        got = lookup(answer, path)
        found = True
    except Unresolved:
        got, found = None, False
    if isinstance(expected, Mapping):
        return _check_rule(path, expected, got, found)
    if expected is None:
        return None if got in (None, "", [], {}) else f"{path}: expected nothing, got {_show(got)}"
    if not found:
        return f"{path}: expected {_show(expected)}, got nothing (the answer has no {path})"
    return None if same(expected, got) else f"{path}: expected {_show(expected)}, got {_show(got)}"


def same(expected: Any, got: Any) -> bool:
    if isinstance(expected, str) and MONEY.match(expected.strip()):
        try:
            return amount(got, "") == round2(Decimal(expected))
        except Unresolved:
            return False
    if isinstance(expected, bool):
        return got is expected
    if isinstance(got, list) or isinstance(got, Mapping):
        return bool(got == expected)
    return str(expected) == ("" if got is None else str(got))


def _check_rule(path: str, rule: Mapping[str, Any], got: Any, found: bool) -> str | None:
    [(kind, want)] = rule.items() if len(rule) == 1 else [("?", rule)]
    if kind == "present":
        return None if found == bool(want) else f"{path}: expected {'an' if want else 'no'} answer there, " \
                                                  f"got {_show(got) if found else 'nothing'}"
    if not found:
        return f"{path}: expected {kind} {_show(want)}, got nothing (the answer has no {path})"
    text = "" if got is None else str(got)
    if kind == "contains":
        return None if str(want) in text else f"{path}: expected text containing {_show(want)}, got {_show(got)}"
    if kind == "startswith":
        return None if text.startswith(str(want)) else f"{path}: expected text starting {_show(want)}, got {_show(got)}"
    if kind == "count":
        n = len(got) if isinstance(got, list) else -1
        return None if n == int(want) else f"{path}: expected {want} entries, got {n if n >= 0 else _show(got)}"
    if kind == "not":
        return None if not same(want, got) else f"{path}: expected anything but {_show(want)}, got {_show(got)}"
    return f"{path}: the scenario's expectation {_show(dict(rule))} is not one the kit knows"


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    text = str(value) if not isinstance(value, str) or value else '""'
    return text if len(text) <= 200 else text[:200] + "..."
