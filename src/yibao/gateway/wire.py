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


def stamp_ms(moment: datetime) -> str:
    """yyyyMMddHHmmssSSS (refmsg_time, respond_time)."""
    return moment.strftime("%Y%m%d%H%M%S") + f"{moment.microsecond // 1000:03d}"


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
