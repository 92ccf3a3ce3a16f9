"""A bank card read at a terminal (the cashier desk, a clinic room, a bedside), reduced to its essentials: the
acquirer answers each request synchronously, in JSON carrying a MAC, amounts as 12 digits of fen (ISO 8583 style).

    mac = hex HMAC-SHA256(key, the JSON of every other field, keys sorted, no spaces)

    POST /terminal/sale    {terminal_id, trace_no, amount, description, payer_ref?, notify_url?, mac}
    POST /terminal/query   {terminal_id, trace_no, mac}
    POST /terminal/refund  {terminal_id, trace_no, refund_no, amount, mac}
    POST /terminal/close   {terminal_id, trace_no, mac}   (cancels a sale that never happened, so it cannot happen)
    answer: {resp_code, resp_msg, trace_no, state, amount, refunded, rrn, paid_at, mac}
    resp_code 00 approved; 05 declined (the sale is recorded DECLINED); 25 trace not found; 12 refused;
              96 system malfunction (outcome unknown)
    state: APPROVED | DECLINED | CLOSED | REFUNDED | PART_REFUNDED
    callback (when a notify_url was given): {event_id, seq, trace_no, state, amount, refunded, rrn, mac};
    the hospital answers 200 {"resp_code": "00"}.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from yibao.hospital.channels.base import (
    BadCallback,
    CallbackEvent,
    CashOrder,
    ChannelResult,
    Status,
    check_number,
)
from yibao.hospital.channels.transport import (
    DEFAULT_TIMEOUT,
    HttpChannel,
    fen,
    hmac_sha256,
    parse_time,
    same,
    yuan,
)

APPROVED, DECLINED, NOT_FOUND, REFUSED, MALFUNCTION = "00", "05", "25", "12", "96"
DEFAULT_TERMINAL = "CASHIER-01"

#: the terminal state of each status (a card sale is never pending)
STATES = {Status.PAID: "APPROVED", Status.FAILED: "DECLINED", Status.CLOSED: "CLOSED", Status.REFUNDED: "REFUNDED",
          Status.PARTIALLY_REFUNDED: "PART_REFUNDED"}
STATUSES = {state: status for status, state in STATES.items()}


# -- the MAC (both ends) --------------------------------------------------------------------------------------------
def mac(key: str, fields: Mapping[str, Any]) -> str:
    canonical = json.dumps({k: v for k, v in fields.items() if k != "mac"}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hmac_sha256(key, canonical).hex()


def with_mac(key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    return {**fields, "mac": mac(key, fields)}


def mac_ok(key: str, fields: Mapping[str, Any]) -> bool:
    return isinstance(fields.get("mac"), str) and same(fields["mac"], mac(key, fields))


def amount12(amount: Decimal) -> str:
    """An amount as 12 digits of fen: 12.30 -> "000000001230"."""
    return f"{fen(amount):012d}"


# -- the sale on the wire -------------------------------------------------------------------------------------------
def result_of(fields: Mapping[str, Any]) -> ChannelResult:
    return ChannelResult(out_trade_no=str(fields["trace_no"]), status=STATUSES[fields["state"]],
                         amount=yuan(fields["amount"]), channel_trade_no=fields.get("rrn") or None,
                         paid_at=parse_time(fields.get("paid_at")), refunded=yuan(fields.get("refunded") or "0"))


class CardChannel(HttpChannel):
    """One terminal: `terminal_id` names it to the acquirer (CASHIER-01, CLINIC-305, BED-12A ...)."""

    name = "card"

    def __init__(self, base_url: str, key: str,
                 timeout: float = DEFAULT_TIMEOUT,  # float-ok: seconds
                 http: httpx.Client | None = None, terminal_id: str = DEFAULT_TERMINAL):
        super().__init__(base_url, key, timeout, http)
        self.terminal_id = terminal_id

    def at(self, terminal_id: str) -> CardChannel:
        """The same acquirer reached from another terminal (its connection shared): a sale is queried, refunded
        or closed from the terminal that made it."""
        other = copy.copy(self)
        other.terminal_id = terminal_id
        return other

    def pay(self, order: CashOrder) -> ChannelResult:
        fields = {"trace_no": order.out_trade_no, "amount": amount12(order.amount), "description": order.description,
                  "payer_ref": order.payer_ref, "notify_url": order.notify_url}
        return self._call("sale", fields, "pay " + order.out_trade_no)

    def query(self, out_trade_no: str) -> ChannelResult:
        check_number(out_trade_no)
        return self._call("query", {"trace_no": out_trade_no}, "query " + out_trade_no, missing_ok=True)

    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> ChannelResult:
        check_number(out_trade_no)
        check_number(refund_no)
        fields = {"trace_no": out_trade_no, "refund_no": refund_no, "amount": amount12(amount)}
        return self._call("refund", fields, f"refund {refund_no} of {out_trade_no}")

    def close(self, out_trade_no: str) -> ChannelResult:
        check_number(out_trade_no)
        return self._call("close", {"trace_no": out_trade_no}, "close " + out_trade_no)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CallbackEvent:
        try:
            data = json.loads(body)
        except ValueError:
            raise BadCallback("card: the callback is not JSON") from None
        if not isinstance(data, dict) or not mac_ok(self.key, data):
            raise BadCallback("card: the callback's MAC does not check")
        try:
            result = result_of(data)
            refund = result.status in (Status.REFUNDED, Status.PARTIALLY_REFUNDED)
            return CallbackEvent(event_id=str(data["event_id"]), out_trade_no=result.out_trade_no,
                                 status=result.status, amount=result.refunded if refund else result.amount,
                                 channel_trade_no=result.channel_trade_no, sequence=int(data["seq"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise BadCallback(f"card: the callback is not readable: {exc!r}") from None

    def callback_answer(self) -> tuple[int, str]:
        return 200, '{"resp_code":"00"}'

    def _call(self, op: str, fields: Mapping[str, Any], what: str, missing_ok: bool = False) -> ChannelResult:
        body = with_mac(self.key, {"terminal_id": self.terminal_id, **{k: v for k, v in fields.items() if v}})
        reply = self.send("POST", f"/terminal/{op}", json=body)
        try:
            data = reply.json()
            verified = isinstance(data, dict) and mac_ok(self.key, data)
        except ValueError as exc:
            raise self.unverified(what, f"it is not readable: {exc!r}") from None
        if not verified:
            raise self.unverified(what)
        code = data.get("resp_code")
        if code in (APPROVED, DECLINED):
            try:
                return result_of(data)
            except (ValueError, KeyError, TypeError) as exc:
                raise self.unverified(what, f"it is not readable: {exc!r}") from None
        if code == MALFUNCTION:
            raise self.unverified(what, f"the acquirer is unavailable: {data.get('resp_msg')}")
        if missing_ok and code == NOT_FOUND:
            return ChannelResult.not_found(fields["trace_no"])
        raise self.rejected(what, code, data.get("resp_msg"))
