"""The x-tif signature of the two-designated interface (interface.md 1.4 A), as a caller computes it: SHA-256 of
timestamp + secret + nonce + timestamp, in hex. A module of its own, without the platform's tables, so that a
caller (the HIS-side client, the hospital service) signs without loading the gateway that checks it."""

from __future__ import annotations

import hashlib


def signature(timestamp: str, secret: str, nonce: str) -> str:
    return hashlib.sha256((timestamp + secret + nonce + timestamp).encode("utf-8")).hexdigest()
