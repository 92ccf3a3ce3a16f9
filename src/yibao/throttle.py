"""Throttling failed sign-ins, per credential and per client address (the `limits` package's moving window).

A sign-in asks `check()` first: when either the credential (what is being guessed: a code, an account) or the
client's address has failed `per_credential` / `per_address` times within the window, it is refused with
`Throttled`, which says when to try again; nothing is verified then, so a locked-out credential cannot be
probed further. A failure is counted on both by `failed()`; a success clears the credential's own count by
`succeeded()` (not the address's: one good credential must not reset a guesser's count). So someone guessing
another's code locks out that code and his own address, never a third person signing in with his own
credential from elsewhere, nor from the same address before the address's (higher) limit.

The counts live in `storage`: `memory://` (one process, the default) or `redis://host:port/db` to share them
between the processes and machines serving one API (any URI of the `limits` package). Without an explicit one,
YIBAO_THROTTLE_STORAGE names it. Credentials are kept only as a hash.

Neutral on purpose: nothing here knows the hospital or the platform; each sign-in names its own `scope`.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

ENV = "YIBAO_THROTTLE_STORAGE"
DEFAULT_STORAGE = "memory://"
PER_CREDENTIAL = "5 per 15 minutes"  # a 6-character secret: 5 guesses in 15 minutes, 480 a day at most
PER_ADDRESS = "30 per 15 minutes"  # a desk behind one address may mistype often; a guesser does not get far


class Throttled(Exception):
    """Too many failures: retry after `retry_after` seconds (the oldest failure leaves the window then)."""

    def __init__(self, scope: str, by: str, retry_after: int):
        self.scope, self.by, self.retry_after = scope, by, retry_after
        super().__init__(f"{scope}: too many failed attempts for this {by}; retry after {retry_after} s")


@dataclass(frozen=True)
class Limits:
    per_credential: str = PER_CREDENTIAL
    per_address: str = PER_ADDRESS


def storage_uri(uri: str | None = None) -> str:
    """The storage named, else YIBAO_THROTTLE_STORAGE, else memory."""
    return (uri or "").strip() or os.environ.get(ENV, "").strip() or DEFAULT_STORAGE


class SignInThrottle:
    """The failures of one kind of sign-in (`scope`: e.g. "hospital H44030000001 patient")."""

    def __init__(self, scope: str, storage: str | None = None, limits: Limits = Limits(),
                 clock: Callable[[], float] = time.time):  # float-ok: seconds since the epoch
        self.scope = scope
        self.uri = storage_uri(storage)
        self.storage: Storage = storage_from_string(self.uri)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.per_credential: RateLimitItem = parse(limits.per_credential)
        self.per_address: RateLimitItem = parse(limits.per_address)
        self._clock = clock  # what "now" is for Retry-After; the window itself is the storage's

    def _ids(self, credential: str, address: str) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
        digest = hashlib.sha256(f"{self.scope}\0{credential}".encode()).hexdigest()[:32]
        return (self.scope, "credential", digest), (self.scope, "address", address or "unknown")

    def check(self, credential: str, address: str) -> None:
        """Raises Throttled while the credential or the address is locked out."""
        by_credential, by_address = self._ids(credential, address)
        for item, ids, by in ((self.per_credential, by_credential, "credential"),
                              (self.per_address, by_address, "address")):
            if not self.limiter.test(item, *ids):
                reset = self.limiter.get_window_stats(item, *ids).reset_time
                raise Throttled(self.scope, by, max(1, math.ceil(reset - self._clock())))

    def failed(self, credential: str, address: str) -> None:
        by_credential, by_address = self._ids(credential, address)
        self.limiter.hit(self.per_credential, *by_credential)
        self.limiter.hit(self.per_address, *by_address)

    def succeeded(self, credential: str, address: str) -> None:
        by_credential, _ = self._ids(credential, address)
        self.limiter.clear(self.per_credential, *by_credential)

    def remaining(self, credential: str, address: str) -> tuple[int, int]:
        """(attempts left for the credential, for the address)."""
        by_credential, by_address = self._ids(credential, address)
        return (self.limiter.get_window_stats(self.per_credential, *by_credential).remaining,
                self.limiter.get_window_stats(self.per_address, *by_address).remaining)
