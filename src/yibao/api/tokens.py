"""Bearer tokens bound to a person (psn_no), an agency (its region), an institution (its code) or a provincial
centre (the province's code, e.g. 440000): HMAC-SHA256 signed, expiring.

The signing key lives in the database (settings `api_token_key`, made on first use), so every process
serving the same database accepts the same tokens; YIBAO_TOKEN_KEY overrides it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from yibao.store.db import Store
from yibao.store.models import Setting

KINDS = ("person", "agency", "institution", "centre")


@dataclass(frozen=True)
class Principal:
    kind: str  # person | agency | institution | centre
    subject: str  # psn_no, the agency's region, the institution's code, the province


class BadToken(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(store: Store) -> bytes:
    env = os.environ.get("YIBAO_TOKEN_KEY")
    if env:
        return env.encode()
    with store.unit_of_work() as s:
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        s.execute(insert(Setting).values(key="api_token_key", value=secrets.token_hex(32)).on_conflict_do_nothing())
        value = s.get(Setting, "api_token_key")
        assert value is not None
        return value.value.encode()


def issue(key: bytes, kind: str, subject: str, days: float = 30) -> str:  # float-ok: a duration in days
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    payload = _b64(json.dumps({"k": kind, "s": subject, "e": int(time.time() + days * 86400)}).encode())
    mac = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"yb1.{payload}.{mac}"


def verify(key: bytes, token: str) -> Principal:
    if not token.isascii():  # compare_digest refuses (TypeError) to compare text beyond ASCII
        raise BadToken("malformed token")
    try:
        version, payload, mac = token.split(".")
    except ValueError:
        raise BadToken("malformed token") from None
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if version != "yb1" or not hmac.compare_digest(mac, expected):
        raise BadToken("token signature does not match")
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        raise BadToken("malformed token") from None
    if int(claims.get("e", 0)) < time.time():
        raise BadToken("token expired")
    if claims.get("k") not in KINDS or not claims.get("s"):
        raise BadToken("token names no person, agency, institution or centre")
    return Principal(claims["k"], str(claims["s"]))
