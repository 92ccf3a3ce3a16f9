"""The hospital's payment channels for the cash part of a bill (seed 003, 其他 1-2): WeChat, Alipay and bank cards,
at the cashier desk, in the clinic room and at the bedside. One interface, three providers.

    base.py        the interface: CashOrder, Status, ChannelResult, CallbackEvent, Channel and its errors
    transport.py   the HTTP client the adapters share, HMAC-SHA256, amounts on the wire
    wechat.py      WeChat-like: JSON, fen, an HMAC signature over timestamp, nonce and body in headers
    alipay.py      Alipay-like: form fields, yuan strings, an HMAC signature over the sorted key=value string
    card.py        a card terminal: synchronous JSON with a MAC
    dedup.py       CallbackInbox (each callback once, in order) and resolve (query until final)
    simulated.py   a simulated provider of each kind, with its own ledger and fail / timeout / callback switches
    sim_faces.py   the simulated providers' wire formats

See docs/channels.md.
"""

from __future__ import annotations

import httpx

from yibao.hospital.channels.alipay import AlipayChannel
from yibao.hospital.channels.base import (
    FINAL,
    BadCallback,
    CallbackEvent,
    CashOrder,
    Channel,
    ChannelError,
    ChannelRejected,
    ChannelResult,
    ChannelTimeout,
    Status,
)
from yibao.hospital.channels.card import DEFAULT_TERMINAL, CardChannel
from yibao.hospital.channels.dedup import CallbackInbox, InboxRecord, InboxStore, MemoryInboxStore, Verdict, resolve
from yibao.hospital.channels.transport import DEFAULT_TIMEOUT, HttpChannel
from yibao.hospital.channels.wechat import WeChatChannel

CHANNELS: dict[str, type[HttpChannel]] = {"wechat": WeChatChannel, "alipay": AlipayChannel, "card": CardChannel}


def make_channel(kind: str, base_url: str, key: str,
                 timeout: float = DEFAULT_TIMEOUT,  # float-ok: seconds
                 *, http: httpx.Client | None = None, terminal_id: str = DEFAULT_TERMINAL) -> Channel:
    """The channel of `kind` (wechat | alipay | card) at `base_url`, signing with `key`. `http`: any httpx.Client
    (a TestClient around a simulated provider); `terminal_id`: the card terminal (CASHIER-01, BED-12A ...)."""
    if kind == "card":
        return CardChannel(base_url, key, timeout, http, terminal_id=terminal_id)
    if kind not in CHANNELS:
        raise ValueError(f"kind must be one of {', '.join(CHANNELS)}, not {kind!r}")
    return CHANNELS[kind](base_url, key, timeout, http)


__all__ = ["FINAL", "BadCallback", "CallbackEvent", "CallbackInbox", "CashOrder", "Channel", "ChannelError",
           "ChannelRejected", "ChannelResult", "ChannelTimeout", "InboxRecord", "InboxStore", "MemoryInboxStore",
           "Status", "Verdict", "make_channel", "resolve"]
