"""x-tif authentication (interface.md 1.4 A): SHA-256 of timestamp + secret + nonce + timestamp."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yibao.errors import Refusal
from yibao.store.models import Institution, Nonce
from yibao.store.reference import reference
from yibao.xtif import signature

MAX_SKEW_SECONDS = 300


def _refuse(text: str) -> Refusal:
    return Refusal(text, http_status=401)


def verify_headers(session: Session, headers: Mapping[str, str], now_epoch: int) -> Institution:
    """The institution the headers prove to be; refuses a bad signature, a stale timestamp or a used nonce."""
    paasid = headers.get("x-tif-paasid", "").strip()
    timestamp = headers.get("x-tif-timestamp", "").strip()
    nonce = headers.get("x-tif-nonce", "").strip()
    given = headers.get("x-tif-signature", "").strip().lower()
    for name, value in (("x-tif-paasid", paasid), ("x-tif-timestamp", timestamp),
                        ("x-tif-nonce", nonce), ("x-tif-signature", given)):
        if not value:
            raise _refuse(f"header {name}: is required (every request is signed)")
    if not timestamp.isdigit():
        raise _refuse("header x-tif-timestamp: must be Unix time in seconds")
    if len(nonce) > 64:
        raise _refuse("header x-tif-nonce: must have at most 64 characters")
    institution = reference(session).institution(session, paasid)
    if institution is None:
        raise _refuse(f"header x-tif-paasid: {paasid} is not a designated institution of this platform")
    skew = abs(now_epoch - int(timestamp))
    if skew > MAX_SKEW_SECONDS:
        raise _refuse(f"header x-tif-timestamp: differs from the platform's clock by {skew} s; "
                      f"at most {MAX_SKEW_SECONDS} s is allowed")
    if not hmac.compare_digest(given, signature(timestamp, institution.secret, nonce)):
        raise _refuse("header x-tif-signature: does not match SHA-256(timestamp + secret + nonce + timestamp) "
                      "for this institution's secret")
    if not remember_nonce(session, institution.code, nonce, int(timestamp)):
        raise _refuse("header x-tif-nonce: was already used; a request is accepted once")
    return institution


def remember_nonce(session: Session, code: str, nonce: str, seen_at: int) -> bool:
    """Record a nonce; False when the institution had used it already."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return session.execute(insert(Nonce).values(fixmedins_code=code, nonce=nonce, seen_at=seen_at)
                           .on_conflict_do_nothing().returning(Nonce.nonce)).first() is not None


def forget_old_nonces(session: Session, now_epoch: int) -> None:
    """A nonce older than twice the allowed skew can no longer pass the timestamp check."""
    session.execute(delete(Nonce).where(Nonce.seen_at < now_epoch - 2 * MAX_SKEW_SECONDS))
