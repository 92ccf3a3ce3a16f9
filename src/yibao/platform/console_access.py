"""Who may use the web console (网上服务大厅): staff accounts with a role and a scope, one-time sign-in codes for
insured persons, and signed-in sessions (docs/console.md).

Secrets are kept only as hashes: staff passwords with argon2, codes and session tokens with SHA-256 (a code is
salted; a session token is 32 random bytes and needs no salt). Times here are wall-clock seconds (`now_s`), not the
business clock: a code's or a session's life is real time even on a simulated business date.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.rules.identity import id_card_problem
from yibao.store.models import ConsoleCode, ConsoleSession, ConsoleStaff, Institution, Person, Region

#: role -> what its scope names
ROLES = {"agency_clerk": "region", "agency_admin": "region", "institution": "institution", "centre": "province"}
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,39}$")
MIN_PASSWORD = 10
CODE_DIGITS = 6
CODE_LIFE_S = 5 * 60
CODE_MAX_ATTEMPTS = 5
SESSION_IDLE_S = 30 * 60
SESSION_MAX_S = 12 * 60 * 60



@cache
def _hasher() -> Any:
    """argon2's hasher, imported when first used: the `yibao` command stays quick to start."""
    from argon2 import PasswordHasher

    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown: a wrong name costs the time of a wrong password."""
    return str(_hasher().hash("not a password of anyone"))


# -- staff ---------------------------------------------------------------------------------------------------

def check_scope(session: Session, role: str, scope: str) -> None:
    kind = ROLES.get(role)
    if kind is None:
        raise refuse("role", f"must be one of {', '.join(ROLES)}")
    if kind == "region" and session.get(Region, scope) is None:
        raise refuse("scope", f"no region {scope!r}: an agency role is scoped to a region's admdvs")
    if kind == "institution" and session.get(Institution, scope) is None:
        raise refuse("scope", f"no institution {scope!r}: the institution role is scoped to its fixmedins_code")
    if kind == "province" and not re.fullmatch(r"\d{2}0000", scope):
        raise refuse("scope", f"{scope!r} is not a province code (two digits then 0000, e.g. 440000)")


def add_staff(session: Session, username: str, role: str, scope: str, password: str, *, now: datetime,
              created_by: str, replace: bool = False) -> ConsoleStaff:
    """A new staff account; `replace` sets the role, scope and password of an existing one instead of refusing."""
    if not USERNAME.match(username):
        raise refuse("username", "3-40 letters, digits, dot, dash or underscore, starting with a letter or digit")
    check_scope(session, role, scope)
    if len(password) < MIN_PASSWORD:
        raise refuse("password", f"must be at least {MIN_PASSWORD} characters")
    row = session.get(ConsoleStaff, username)
    if row is not None and not replace:
        raise refuse("username", f"{username} already exists")
    if row is None:
        row = ConsoleStaff(username=username, created_by=created_by, created_at=now)
        session.add(row)
    row.role, row.scope, row.password_hash, row.active = role, scope, _hasher().hash(password), True
    session.execute(delete(ConsoleSession).where(ConsoleSession.kind == "staff",
                                                 ConsoleSession.subject == username))
    return row


def staff_of_scope(session: Session, roles: tuple[str, ...], scope: str) -> list[ConsoleStaff]:
    return list(session.scalars(select(ConsoleStaff).where(ConsoleStaff.role.in_(roles), ConsoleStaff.scope == scope)
                                .order_by(ConsoleStaff.username)))


def set_active(session: Session, row: ConsoleStaff, active: bool) -> ConsoleStaff:
    """Disabling an account ends its sessions at once."""
    row.active = active
    if not active:
        session.execute(delete(ConsoleSession).where(ConsoleSession.kind == "staff",
                                                     ConsoleSession.subject == row.username))
    return row


def verify_staff(session: Session, username: str, password: str) -> ConsoleStaff | None:
    """The active account whose password this is, or None (unknown, disabled and wrong look the same)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    row = session.get(ConsoleStaff, username)
    try:
        _hasher().verify(row.password_hash if row is not None else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return row if row is not None and row.active else None


# -- one-time codes for insured persons ------------------------------------------------------------------------

def _code_hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


@dataclass(frozen=True)
class IssuedCode:
    challenge: str  # what the code form carries
    person: Person | None  # None: no such person (the page says the same either way)
    code: str  # "" when no one is to be sent anything


def person_by_certno(session: Session, certno: str) -> Person | None:
    """The insured person with this ID number; refuses a malformed number."""
    why = id_card_problem(certno)
    if why:
        raise refuse("certno", f"not a valid ID number: {why}")
    return session.scalars(select(Person).where(Person.certno == certno.strip().upper())).first()


def issue_code(session: Session, certno: str, *, now_s: int) -> IssuedCode:
    """A new code for the person with this ID number (his earlier, unused ones end). For an unknown number a
    challenge is made all the same and nothing is stored: no one learns whether a number is insured here."""
    person = person_by_certno(session, certno)
    challenge = secrets.token_urlsafe(24)
    if person is None:
        return IssuedCode(challenge, None, "")
    session.execute(delete(ConsoleCode).where(ConsoleCode.psn_no == person.psn_no))
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_hex(8)
    session.add(ConsoleCode(id=challenge, psn_no=person.psn_no, code_hash=_code_hash(salt, code), salt=salt,
                            expires_at=now_s + CODE_LIFE_S, attempts=0))
    return IssuedCode(challenge, person, code)


def redeem_code(session: Session, challenge: str, code: str, *, now_s: int) -> str | None:
    """The psn_no the code signs in, or None: wrong, expired, used up or unknown. A right code is used once; a
    wrong one counts, and the code ends after CODE_MAX_ATTEMPTS wrong entries."""
    row = session.get(ConsoleCode, challenge, with_for_update=True) if challenge else None
    if row is None:
        return None
    if row.expires_at <= now_s or row.attempts >= CODE_MAX_ATTEMPTS:
        session.delete(row)
        return None
    if not hmac.compare_digest(row.code_hash, _code_hash(row.salt, code.strip())):
        row.attempts += 1
        return None
    session.delete(row)
    return row.psn_no


# -- sessions --------------------------------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, kind: str, subject: str, *, now_s: int) -> str:
    """A new session; the token returned goes into the cookie, only its hash is kept."""
    token = secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=_token_hash(token), kind=kind, subject=subject,
                               csrf=secrets.token_urlsafe(24), created_at=now_s, last_seen=now_s))
    return token


def find_session(session: Session, token: str, *, now_s: int) -> ConsoleSession | None:
    """The live session of the token, its idle time restarted; an expired one is ended and not found."""
    row = session.get(ConsoleSession, _token_hash(token)) if token else None
    if row is None:
        return None
    if now_s - row.last_seen > SESSION_IDLE_S or now_s - row.created_at > SESSION_MAX_S:
        session.delete(row)
        return None
    row.last_seen = now_s
    return row


def end_session(session: Session, token: str) -> None:
    if token:
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token)))


def prune(session: Session, *, now_s: int) -> None:
    """Forget expired codes and sessions (run on sign-in, so the tables stay small)."""
    session.execute(delete(ConsoleCode).where(ConsoleCode.expires_at <= now_s))
    session.execute(delete(ConsoleSession).where(ConsoleSession.last_seen < now_s - SESSION_IDLE_S))
