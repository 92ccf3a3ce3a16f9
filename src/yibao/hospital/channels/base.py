"""One interface for every way a patient pays the cash part of a bill (the part the insurance does not pay):
WeChat, Alipay, a bank card at a terminal. The hospital sees only this module; each provider sits behind an
adapter (wechat.py, alipay.py, card.py) that speaks its own wire format and signature.

Invariants:
- money is Decimal with two places, never a float; each adapter converts to and from its provider's wire form;
- a timeout means "outcome unknown": the caller finds out by query() (see dedup.resolve), never by guessing;
- refund() is idempotent per refund_no, pay() per out_trade_no (the same order sent again is not paid twice);
- parse_callback() returns an event only when the provider's signature over it checks.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from yibao.money import ZERO, money

#: what every provider takes as an order or refund number (WeChat allows the fewest characters)
NUMBER = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


def check_number(value: str) -> str:
    """An out_trade_no or refund_no: 1-32 of 0-9 A-Z a-z _ -; else ValueError (nothing is sent)."""
    if not isinstance(value, str) or not NUMBER.match(value):
        raise ValueError(f"{value!r} is not an order or refund number (1-32 of 0-9 A-Z a-z _ -)")
    return value


@dataclass(frozen=True)
class CashOrder:
    """What the hospital asks a patient to pay. `out_trade_no` is the hospital's own number, unique across its
    channels; `payer_ref` the payer's id at the provider when known (a WeChat openid, an Alipay buyer id)."""

    out_trade_no: str
    amount: Decimal
    description: str
    payer_ref: str | None = None
    notify_url: str | None = None  # where the provider POSTs its callbacks; None: none are sent

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or money(self.amount) != self.amount or self.amount <= 0:
            raise ValueError(f"{self.out_trade_no}: amount {self.amount!r} is not a positive Decimal of two places")
        check_number(self.out_trade_no)


class Status(StrEnum):
    PENDING = "PENDING"  # created, the payer has not paid (yet)
    PAID = "PAID"
    FAILED = "FAILED"  # the payment failed (card declined, payer's payment refused)
    CLOSED = "CLOSED"  # closed unpaid: it can no longer be paid
    REFUNDED = "REFUNDED"  # paid, then refunded in full
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    NOT_FOUND = "NOT_FOUND"  # the provider does not know the order (or does not know it yet)

    @property
    def final(self) -> bool:
        """A status that no waiting will change. PENDING and NOT_FOUND are not final: a payer may still pay, a
        request may still arrive; close() makes either final. (Refunds may later follow PAID: that is the
        hospital's own doing, not something to wait for.)"""
        return self in FINAL


FINAL = frozenset({Status.PAID, Status.FAILED, Status.CLOSED, Status.REFUNDED, Status.PARTIALLY_REFUNDED})


@dataclass(frozen=True)
class ChannelResult:
    """The provider's view of one order. `refunded` is the total refunded so far."""

    out_trade_no: str
    status: Status
    amount: Decimal
    channel_trade_no: str | None  # the provider's own number for the payment, once paid
    paid_at: datetime | None
    refunded: Decimal = ZERO
    pay_url: str | None = None  # while PENDING: what the payer scans or opens (a QR code's content)

    @classmethod
    def not_found(cls, out_trade_no: str) -> ChannelResult:
        return cls(out_trade_no, Status.NOT_FOUND, ZERO, None, None, ZERO)


@dataclass(frozen=True)
class CallbackEvent:
    """A provider's notification, its signature checked. `amount` is what the event is about: the order's amount
    for PAID / FAILED / CLOSED, the total refunded so far for REFUNDED / PARTIALLY_REFUNDED. `sequence` counts the
    order's events at the provider (1, 2, ...): a lower one than already applied is stale."""

    event_id: str
    out_trade_no: str
    status: Status
    amount: Decimal
    channel_trade_no: str | None
    sequence: int


class ChannelError(Exception):
    """Base of the channel errors."""


class ChannelTimeout(ChannelError):
    """No usable answer (timeout, refused connection, 5xx, an answer whose signature does not check): the outcome
    is unknown. The request may or may not have been applied; find out with query(), never by guessing."""


class ChannelRejected(ChannelError):
    """The provider definitely refused the request: nothing was done (an amount above what may be refunded,
    an out_trade_no reused with another amount, a paid order to close, a closed order to pay)."""


class BadCallback(ChannelError):
    """A callback whose signature or format is wrong: answer it with an error and apply nothing."""


class Channel(ABC):
    """A payment provider. Every method may raise ChannelTimeout or ChannelRejected."""

    name: str  # "wechat" | "alipay" | "card"

    @abstractmethod
    def pay(self, order: CashOrder) -> ChannelResult:
        """Create the payment. The card channel answers at once (PAID or FAILED); WeChat and Alipay answer
        PENDING with a pay_url, and the payer pays later (then a callback, and query() says PAID). Sending the same
        order again returns its current state."""

    @abstractmethod
    def query(self, out_trade_no: str) -> ChannelResult:
        """The provider's current view; NOT_FOUND for an order it does not know."""

    @abstractmethod
    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> ChannelResult:
        """Refund `amount` of a paid order, in full or in part; the same refund_no again refunds nothing more
        and returns the order's current state."""

    @abstractmethod
    def close(self, out_trade_no: str) -> ChannelResult:
        """Close an unpaid order so it can no longer be paid (CLOSED). An order the provider does not know is
        closed too, so that a late request with that number is refused. A paid order is refused: refund it."""

    @abstractmethod
    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CallbackEvent:
        """The event in a callback the provider POSTed, once its signature checks; else BadCallback."""

    def callback_answer(self) -> tuple[int, str]:
        """What the hospital answers a callback it has taken (applied, duplicate or stale alike), so that the
        provider stops sending it: (HTTP status, body)."""
        return 200, ""

    def dispose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
