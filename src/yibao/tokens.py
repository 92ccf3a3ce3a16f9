"""Signed, expiring bearer tokens, for every API of yibao: the platform's (`yibao.api.tokens`: a person, an agency,
an institution, a provincial centre) and the hospital's (`yibao.hospital.auth`: a patient, staff).

A token is `<version>.<claims>.<signature>`: the claims `{"k": kind, "s": subject, "e": expiry in Unix seconds}`
are signed by itsdangerous (URL-safe JSON, HMAC-SHA256 under a key derived from the service's key and the
family's salt), so a token of one family never verifies in another even under the same key. Each service keeps
its own key; changing it revokes every token it issued.

What a caller is told when a token does not verify is one of four sentences, the same in every family:
"malformed token", "token signature does not match", "token expired", "token names no <what the family names>".
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from itsdangerous import BadData, BadSignature, URLSafeSerializer


class BadToken(Exception):
    """A token that names no one: the sentence says why."""


def any_subject(_kind: str, subject: str) -> bool:
    return bool(subject)


class TokenFamily:
    """The tokens of one API: their version prefix, the kinds of principal they name and the family's salt.
    `names` says what a token must name ("person, agency, institution or centre"); `subject_ok` checks a
    subject for its kind (a patient token names a patient_id, all digits)."""

    def __init__(self, version: str, kinds: tuple[str, ...], salt: str, names: str,
                 subject_ok: Callable[[str, str], bool] = any_subject):
        self.version, self.kinds, self.salt, self.names = version, kinds, salt, names
        self.subject_ok = subject_ok

    def _serializer(self, key: bytes) -> URLSafeSerializer:
        return URLSafeSerializer(key, salt=self.salt, signer_kwargs={"digest_method": hashlib.sha256})

    def issue(self, key: bytes, kind: str, subject: str, days: float) -> str:  # float-ok: a duration in days
        """A token naming `subject` of `kind`, valid for `days` (a negative count makes one already expired)."""
        if kind not in self.kinds:
            raise ValueError(f"kind must be one of {self.kinds}")
        claims = {"k": kind, "s": subject, "e": int(time.time() + days * 86400)}
        return f"{self.version}.{self._serializer(key).dumps(claims)}"

    def verify(self, key: bytes, token: str) -> tuple[str, str]:
        """(kind, subject) of a token this family issued under `key`, still valid; BadToken otherwise."""
        if not token.isascii():  # a header beyond ASCII is no token of ours, whatever it claims
            raise BadToken("malformed token")
        version, dot, signed = token.partition(".")
        if not dot or "." not in signed:
            raise BadToken("malformed token")
        if version != self.version:
            raise BadToken("token signature does not match")
        try:
            claims = self._serializer(key).loads(signed)
        except BadSignature:
            raise BadToken("token signature does not match") from None
        except BadData:  # signed by us, yet unreadable
            raise BadToken("malformed token") from None
        try:
            expires = int(claims.get("e", 0))
        except (ValueError, TypeError, AttributeError):
            raise BadToken("malformed token") from None
        if expires < time.time():
            raise BadToken("token expired")
        kind, subject = claims.get("k"), str(claims.get("s") or "")
        if kind not in self.kinds or not self.subject_ok(kind, subject):
            raise BadToken(f"token names no {self.names}")
        return kind, subject
