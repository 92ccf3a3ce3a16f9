"""One request to a party yibao depends on over HTTP (a bank, a payment provider), and what counts as no answer.

No answer within the timeout, a connection refused, or an answer of 5xx / 429 all mean the same: the party may
or may not have done the request, so the caller asks again later (or asks what happened) and never guesses.
`NoAnswer` says which; each adapter turns it into its own error (`BankUnavailable`, `ChannelTimeout`). Any
other status is the adapter's to read."""

from __future__ import annotations

from typing import Any

import httpx


class NoAnswer(Exception):
    """No usable answer: the outcome of the request is unknown."""


def request(http: httpx.Client, method: str, base_url: str, path: str,
            timeout: float,  # float-ok: seconds, as the client was made with
            **kw: Any) -> httpx.Response:
    """`method base_url+path` through `http`; NoAnswer when nothing usable came back."""
    try:
        reply = http.request(method, base_url + path, **kw)
    except httpx.TimeoutException:
        raise NoAnswer(f"no answer from {base_url} within {timeout} s") from None
    except httpx.TransportError as exc:
        raise NoAnswer(f"{base_url} unreachable: {exc}") from None
    if reply.status_code >= 500 or reply.status_code == 429:
        raise NoAnswer(f"HTTP {reply.status_code} from {base_url}: {reply.text[:200]}")
    return reply
