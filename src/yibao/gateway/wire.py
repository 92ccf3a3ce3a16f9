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


def path_of_nul(obj: Any) -> str | None:
    """The path (input.data.psn_no, feedetail[2]) of the first key or string holding a NUL character, or None.
    Walked without recursion: the depth of a message is the sender's choice."""
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in str(key):
                    return path
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
