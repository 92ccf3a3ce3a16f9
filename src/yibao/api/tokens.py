"""Bearer tokens bound to a person (psn_no), an agency (its region), an institution (its code) or a provincial
centre (the province's code, e.g. 440000): signed and expiring (`yibao.tokens`, the family `yb1`).

The signing key lives in the database (settings `api_token_key`, made on first use), so every process
serving the same database accepts the same tokens; YIBAO_TOKEN_KEY overrides it.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from yibao.sqlkit import insert_or_ignore
from yibao.store.db import Store
from yibao.store.models import Setting
from yibao.tokens import BadToken, TokenFamily

KINDS = ("person", "agency", "institution", "centre")
TOKENS = TokenFamily("yb1", KINDS, salt="yibao.api.tokens", names="person, agency, institution or centre")

__all__ = ["KINDS", "BadToken", "Principal", "issue", "signing_key", "verify"]


@dataclass(frozen=True)
class Principal:
    kind: str  # person | agency | institution | centre
    subject: str  # psn_no, the agency's region, the institution's code, the province


def signing_key(store: Store) -> bytes:
    env = os.environ.get("YIBAO_TOKEN_KEY")
    if env:
        return env.encode()
    with store.unit_of_work() as s:
        insert_or_ignore(s, Setting, key="api_token_key", value=secrets.token_hex(32))
        value = s.get(Setting, "api_token_key")
        assert value is not None
        return value.value.encode()


def issue(key: bytes, kind: str, subject: str, days: float = 30) -> str:  # float-ok: a duration in days
    return TOKENS.issue(key, kind, subject, days)


def verify(key: bytes, token: str) -> Principal:
    return Principal(*TOKENS.verify(key, token))
