"""Identifiers the platform issues: region (6) + yyyyMMddHHmmss (14) + 10 random digits = 30 characters.
Random, not counted: no shared counter row for every settlement to queue on."""

from __future__ import annotations

import secrets
from datetime import datetime


def new_id(admdvs: str, now: datetime) -> str:
    return f"{admdvs}{now:%Y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"
