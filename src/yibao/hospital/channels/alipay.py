"""Alipay, reduced to its essentials: one gateway taking form fields, amounts as yuan strings ("12.30"), and a
signature over the fields sorted by name.

    sign = b64 HMAC-SHA256(key, "k1=v1&k2=v2&..."): every field but `sign`, empty ones left out, sorted by name

    POST /gateway.do  method=alipay.trade.precreate  out_trade_no, total_amount, subject, notify_url?, buyer_id?
                      method=alipay.trade.query      out_trade_no
                      method=alipay.trade.refund     out_trade_no, refund_amount, out_request_no
                      method=alipay.trade.close      out_trade_no
                      (and charset, sign_type=HMAC-SHA256, timestamp, version, sign)
    answer: JSON {"response": {code, msg, sub_code?, out_trade_no, trade_no, trade_status, total_amount, refund_fee,
                  send_pay_date, qr_code}, "sign": over the response's fields as above}
    code 10000 success; 40004 refused (sub_code ACQ.TRADE_NOT_EXIST: not found); 20000 unavailable (unknown)
    trade_status: WAIT_BUYER_PAY | TRADE_SUCCESS (refund_fee > 0: refunded in part) |
                  TRADE_CLOSED (closed unpaid, or refunded in full when refund_fee = total_amount)
    callback: form fields notify_id, notify_seq, out_trade_no, trade_no, trade_status, total_amount, refund_fee,
              gmt_payment, sign_type, sign; the hospital answers the text "success".

Alipay has no failed state: a payment that fails leaves the trade to be closed, so it reads CLOSED, never FAILED.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qsl

from yibao.hospital.channels.base import (
    BadCallback,
    CallbackEvent,
    CashOrder,
    ChannelResult,
    Status,
    check_number,
)
from yibao.hospital.channels.transport import HttpChannel, amount_text, hmac_b64, parse_time, same
from yibao.money import ZERO, to_decimal

GATEWAY = "/gateway.do"
SUCCESS, REFUSED, UNAVAILABLE = "10000", "40004", "20000"
NOT_FOUND = "ACQ.TRADE_NOT_EXIST"
PRECREATE, QUERY, REFUND, CLOSE = ("alipay.trade.precreate", "alipay.trade.query", "alipay.trade.refund",
                                   "alipay.trade.close")

#: the trade_status of each status
STATES = {Status.PENDING: "WAIT_BUYER_PAY", Status.PAID: "TRADE_SUCCESS", Status.FAILED: "TRADE_CLOSED",
          Status.CLOSED: "TRADE_CLOSED", Status.REFUNDED: "TRADE_CLOSED", Status.PARTIALLY_REFUNDED: "TRADE_SUCCESS"}


# -- signatures (both ends) -----------------------------------------------------------------------------------------
def content(fields: Mapping[str, str]) -> str:
    return "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k] not in ("", None))


def sign(key: str, fields: Mapping[str, str]) -> str:
    return hmac_b64(key, content(fields))


def signed(key: str, fields: Mapping[str, str]) -> bool:
    return same(fields.get("sign"), sign(key, fields))


def with_sign(key: str, fields: Mapping[str, str]) -> dict[str, str]:
    return {**fields, "sign": sign(key, fields)}


def now_text() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


# -- the trade on the wire ------------------------------------------------------------------------------------------
def status_of(fields: Mapping[str, str]) -> Status:
    state, refunded = fields["trade_status"], _amount(fields.get("refund_fee"))
    if state == "WAIT_BUYER_PAY":
        return Status.PENDING
    if state in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        return Status.PARTIALLY_REFUNDED if refunded > 0 else Status.PAID
    if state == "TRADE_CLOSED":
        return Status.REFUNDED if refunded > 0 else Status.CLOSED
    raise ValueError(f"unknown trade_status {state!r}")


def result_of(fields: Mapping[str, str]) -> ChannelResult:
    status = status_of(fields)
    return ChannelResult(out_trade_no=fields["out_trade_no"], status=status,
                         amount=_amount(fields.get("total_amount")), channel_trade_no=fields.get("trade_no") or None,
                         paid_at=parse_time(fields.get("send_pay_date") or fields.get("gmt_payment")),
                         refunded=_amount(fields.get("refund_fee")),
                         pay_url=(fields.get("qr_code") or None) if status is Status.PENDING else None)


def _amount(text: str | None) -> Decimal:
    return to_decimal(text) if text else ZERO


class AlipayChannel(HttpChannel):
    name = "alipay"

    def pay(self, order: CashOrder) -> ChannelResult:
        fields = {"out_trade_no": order.out_trade_no, "total_amount": amount_text(order.amount),
                  "subject": order.description, "notify_url": order.notify_url or "",
                  "buyer_id": order.payer_ref or ""}
        return self._call(PRECREATE, fields, "pay " + order.out_trade_no)

    def query(self, out_trade_no: str) -> ChannelResult:
        check_number(out_trade_no)
        return self._call(QUERY, {"out_trade_no": out_trade_no}, "query " + out_trade_no, missing_ok=True)

    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> ChannelResult:
        check_number(out_trade_no)
        check_number(refund_no)
        fields = {"out_trade_no": out_trade_no, "refund_amount": amount_text(amount), "out_request_no": refund_no}
        return self._call(REFUND, fields, f"refund {refund_no} of {out_trade_no}")

    def close(self, out_trade_no: str) -> ChannelResult:
        check_number(out_trade_no)
        return self._call(CLOSE, {"out_trade_no": out_trade_no}, "close " + out_trade_no)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CallbackEvent:
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise BadCallback("alipay: the callback is not a form") from None
        if not signed(self.key, fields):
            raise BadCallback("alipay: the callback's signature does not check")
        try:
            result = result_of(fields)
            refund = result.status in (Status.REFUNDED, Status.PARTIALLY_REFUNDED)
            return CallbackEvent(event_id=fields["notify_id"], out_trade_no=result.out_trade_no, status=result.status,
                                 amount=result.refunded if refund else result.amount,
                                 channel_trade_no=result.channel_trade_no, sequence=int(fields["notify_seq"]))
        except (ValueError, KeyError) as exc:
            raise BadCallback(f"alipay: the callback is not readable: {exc!r}") from None

    def callback_answer(self) -> tuple[int, str]:
        return 200, "success"

    def _call(self, method: str, biz: Mapping[str, str], what: str, missing_ok: bool = False) -> ChannelResult:
        fields = with_sign(self.key, {**biz, "method": method, "charset": "utf-8", "sign_type": "HMAC-SHA256",
                                      "timestamp": now_text(), "version": "1.0"})
        reply = self.send("POST", GATEWAY, data={k: v for k, v in fields.items() if v != ""})
        try:
            data = json.loads(reply.content)
            answer = {str(k): str(v) for k, v in data["response"].items()}
            answer["sign"] = str(data["sign"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self.unverified(what, f"it is not readable: {exc!r}") from None
        if not signed(self.key, answer):
            raise self.unverified(what)
        code, sub_code = answer.get("code"), answer.get("sub_code")
        if code == SUCCESS:
            try:
                return result_of(answer)
            except (ValueError, KeyError) as exc:
                raise self.unverified(what, f"it is not readable: {exc!r}") from None
        if code == UNAVAILABLE:
            raise self.unverified(what, f"the provider is unavailable: {answer.get('msg')}")
        if missing_ok and sub_code == NOT_FOUND:
            return ChannelResult.not_found(biz["out_trade_no"])
        raise self.rejected(what, sub_code or code, answer.get("sub_msg") or answer.get("msg"))
