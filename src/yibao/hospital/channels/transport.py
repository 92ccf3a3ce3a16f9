"""What the three HTTP adapters share: the client (its answers read by yibao.httpcall, as the bank adapter's),
HMAC-SHA256, amounts on the wire."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from yibao import httpcall
from yibao.hospital.channels.base import Channel, ChannelRejected, ChannelTimeout
from yibao.money import from_fen, to_decimal, to_fen

DEFAULT_TIMEOUT = 10.0  # float-ok: seconds


def hmac_sha256(key: str, message: str) -> bytes:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()


def hmac_b64(key: str, message: str) -> str:
    return base64.b64encode(hmac_sha256(key, message)).decode("ascii")


def same(a: str | None, b: str) -> bool:
    """Constant-time comparison of a received signature with the expected one."""
    return a is not None and hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def fen(amount: Decimal) -> int:
    """An amount as integer fen (WeChat, card); a float or more than two places is an error."""
    return to_fen(to_decimal(amount))


def amount_text(amount: Decimal) -> str:
    """An amount as a decimal string with two places (Alipay): "12.30"."""
    return str(from_fen(fen(amount)))


def yuan(fen_value: object) -> Decimal:
    """Integer fen from the wire (an int, or a string of digits) as an amount; anything else is refused."""
    if isinstance(fen_value, bool) or not isinstance(fen_value, int | str) or not str(fen_value).isdigit():
        raise ValueError(f"{fen_value!r} is not an amount in fen")
    return from_fen(int(fen_value))


def parse_time(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


class HttpChannel(Channel):
    """A provider reached over HTTP at `base_url`, sharing `key` with the hospital. `http` may be any
    httpx.Client, e.g. Starlette's TestClient around a simulated provider; `timeout` is that of the client made
    here when none is given (a given client keeps its own)."""

    def __init__(self, base_url: str, key: str,
                 timeout: float = DEFAULT_TIMEOUT,  # float-ok: seconds
                 http: httpx.Client | None = None):
        if not key:
            raise ValueError(f"{self.name}: a signing key is required")
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=timeout)

    def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One request; no answer (timeout, refused connection) or a 5xx / 429 raises ChannelTimeout. Other statuses
        are the adapter's to read."""
        try:
            return httpcall.request(self.http, method, self.base_url, path, self.timeout, **kw)
        except httpcall.NoAnswer as exc:
            raise ChannelTimeout(f"{self.name}: {exc}") from None

    def unverified(self, what: str, why: str = "its signature does not check") -> ChannelTimeout:
        """An answer that is unsigned or unreadable is as good as none: the outcome stays unknown."""
        return ChannelTimeout(f"{self.name}: no usable answer to {what}: {why}")

    def rejected(self, what: str, code: object, message: object) -> ChannelRejected:
        return ChannelRejected(f"{self.name}: {what} refused: {code} {message}")

    def dispose(self) -> None:
        if self._own_http:
            self.http.close()
