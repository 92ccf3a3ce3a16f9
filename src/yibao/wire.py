"""JSON on the wire: decimals stay decimals both ways (simplejson), never floats."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import simplejson


def decode(raw: bytes) -> Any:
    return simplejson.loads(raw.decode("utf-8"), use_decimal=True)


def encode(obj: Any) -> bytes:
    return simplejson.dumps(obj, use_decimal=True, ensure_ascii=False, default=_default).encode("utf-8")


def canonical_sha256(obj: Any) -> str:
    """The fingerprint of a message's content, whatever the key order or spacing of its text."""
    text = simplejson.dumps(obj, use_decimal=True, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def unstorable(text: str) -> str | None:
    """Why no database column can take this text, or None: a NUL character, or a lone surrogate (a JSON escape
    such as \\ud800 that names half a character, which has no UTF-8 form)."""
    if "\x00" in text:
        return "must not contain a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain a lone surrogate (half of a UTF-16 pair, such as \\ud800)"
    return None


def first_unstorable(obj: Any) -> tuple[str, str] | None:
    """(path, rule) of the first key or string of a message no database column can take (input.data.psn_no,
    feedetail[2]), or None. Walked without recursion: the depth of a message is the sender's choice."""
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            rule = unstorable(value)
            if rule:
                return path, rule
        elif isinstance(value, dict):
            for key, item in value.items():
                rule = unstorable(str(key))
                if rule:
                    return path, rule
                stack.append((f"{path}.{key}" if path else str(key), item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None


def stamp_ms(moment: datetime) -> str:
    """yyyyMMddHHmmssSSS (refmsg_time, respond_time)."""
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
