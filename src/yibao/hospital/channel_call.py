"""The one way the hospital asks a payment channel something while a caller waits: in a worker thread, answered
within the time box (`answer_within`, seed 003: 5 s, less MARGIN to write the answer), the late answer applied
when it comes. The cashier's cash leg and the deposit's top-ups both go through it.

An order whose outcome is unknown is never guessed: a lost answer is learned by query, and an order the channel
does not know is closed, so that a late request can no longer pay it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from yibao.hospital.channels.base import CashOrder, ChannelRejected, ChannelResult, ChannelTimeout, Status

if TYPE_CHECKING:
    from yibao.hospital.context import Context

log = logging.getLogger("yibao.hospital.channel_call")
MARGIN = 0.5  # float-ok: seconds kept for writing the answer after the channel's time box


class Late(Exception):
    """The channel has not answered within the time box. The caller records that, then hands the answer still
    to come to a handler (`late_answer`), in that order, so that the answer never lands before the record."""

    def __init__(self, h: Context, future: Future[ChannelResult]):
        super().__init__("no answer within the time box")
        self.h, self.future = h, future

    def hand_over(self, then: Callable[[Future[ChannelResult]], None]) -> None:
        self.h.clock.later(self.future, then)


def status_of(value: Any) -> Status:
    return value if isinstance(value, Status) else Status(str(value))


def box(h: Context) -> float:  # float-ok: monotonic seconds
    """The deadline of a time box starting now (the hospital's clock: production's monotonic one)."""
    return h.clock.deadline(h.config.answer_within - MARGIN)


def pay(ch: Any, order: CashOrder) -> ChannelResult:
    """pay(); when its answer is lost, the order's state as the channel knows it (`known`)."""
    try:
        return ch.pay(order)
    except ChannelTimeout:
        return known(ch, order.out_trade_no)


def known(ch: Any, out_trade_no: str) -> ChannelResult:
    """The order's state by query; an order the channel does not know is closed, so it can never be paid later."""
    result = ch.query(out_trade_no)
    if status_of(result.status) != Status.NOT_FOUND:
        return result
    return close(ch, out_trade_no)


def close(ch: Any, out_trade_no: str) -> ChannelResult:
    """Close an unpaid order; one paid meanwhile cannot be closed, and its state is answered instead."""
    try:
        return ch.close(out_trade_no)
    except ChannelRejected:
        return ch.query(out_trade_no)


def within(h: Context, deadline: float,  # float-ok: monotonic seconds
           call: Callable[..., ChannelResult], *args: Any) -> ChannelResult:
    """`call(*args)` in the hospital's executor: its answer by `deadline`, or Late (whose answer the caller
    hands over). ChannelRejected and ChannelTimeout pass through as `call` raised them."""
    future = h.executor.submit(call, *args)
    try:
        return h.clock.wait(future, deadline)
    except FutureTimeout:
        raise Late(h, future) from None


def late_answer(what: str, apply: Callable[[ChannelResult], None], refused: Callable[[ChannelRejected], None],
                unknown: Callable[[ChannelTimeout], None]) -> Callable[[Future[ChannelResult]], None]:
    """The handler of an answer that came after the time box (it runs in the thread that answered): `apply` the
    result, or say the order was `refused`, or that its outcome is still `unknown`. Anything else is logged: the
    record stays open for a callback, a query or the sweep."""

    def handle(future: Future[ChannelResult]) -> None:
        try:
            result = future.result()
        except ChannelRejected as exc:
            refused(exc)
            return
        except ChannelTimeout as exc:
            unknown(exc)
            return
        except Exception:  # noqa: BLE001 - a background thread: log it, the record stays to be resolved
            log.exception("%s: the channel's late answer could not be read", what)
            return
        try:
            apply(result)
        except Exception:  # noqa: BLE001
            log.exception("%s: the channel's late answer could not be applied", what)

    return handle
