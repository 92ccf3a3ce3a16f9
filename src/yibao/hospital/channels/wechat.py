"""WeChat Pay, reduced to its essentials (APIv3-like): JSON bodies, amounts in integer fen, and an HMAC-SHA256
signature in headers both ways.

    request:            Wechatpay-Signature = b64 HMAC(key, "METHOD\\npath\\ntimestamp\\nnonce\\nbody\\n")
    answer, callback:   Wechatpay-Signature = b64 HMAC(key, "timestamp\\nnonce\\nbody\\n")
    (with Wechatpay-Timestamp and Wechatpay-Nonce; an unsigned answer is no answer: ChannelTimeout)

    POST /v3/pay/transactions/native                      {out_trade_no, description, amount: {total, currency},
                                                           notify_url?, payer: {openid}?}  -> the order
    GET  /v3/pay/transactions/out-trade-no/{no}           -> the order; 404 {"code": "ORDER_NOT_EXIST"}
    POST /v3/pay/transactions/out-trade-no/{no}/close     -> the order
    POST /v3/refund/domestic/refunds                      {out_trade_no, out_refund_no, amount: {refund, currency}}

    the order: {out_trade_no, transaction_id, trade_state, amount: {total, refund}, success_time, code_url}
    trade_state: NOTPAY | SUCCESS | PAYERROR | CLOSED | REFUND (refunded in full or in part: see amount.refund)
    callback: {id, event_type, sequence, resource: the order}; the hospital answers 200 {"code": "SUCCESS"}.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from yibao.hospital.channels.base import (
    BadCallback,
    CallbackEvent,
    CashOrder,
    ChannelResult,
    Status,
    check_number,
)
from yibao.hospital.channels.transport import HttpChannel, fen, hmac_b64, parse_time, same, yuan

TIMESTAMP, NONCE, SIGNATURE = "Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature"
PAY = "/v3/pay/transactions/native"
REFUND = "/v3/refund/domestic/refunds"
NOT_FOUND = "ORDER_NOT_EXIST"

#: the trade_state of each status (REFUND covers both kinds of refund)
STATES = {Status.PENDING: "NOTPAY", Status.PAID: "SUCCESS", Status.FAILED: "PAYERROR", Status.CLOSED: "CLOSED",
          Status.REFUNDED: "REFUND", Status.PARTIALLY_REFUNDED: "REFUND"}
EVENT_TYPES = {Status.PAID: "TRANSACTION.SUCCESS", Status.FAILED: "TRANSACTION.PAYERROR",
               Status.CLOSED: "TRANSACTION.CLOSED", Status.REFUNDED: "REFUND.SUCCESS",
               Status.PARTIALLY_REFUNDED: "REFUND.SUCCESS"}


def order_path(out_trade_no: str) -> str:
    return f"/v3/pay/transactions/out-trade-no/{out_trade_no}"


# -- signatures (both ends) -----------------------------------------------------------------------------------------
def request_headers(key: str, method: str, path: str, body: bytes) -> dict[str, str]:
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    return {TIMESTAMP: ts, NONCE: nonce, "Content-Type": "application/json",
            SIGNATURE: hmac_b64(key, f"{method}\n{path}\n{ts}\n{nonce}\n{body.decode('utf-8')}\n")}


def request_signed(key: str, method: str, path: str, headers: Mapping[str, str], body: bytes) -> bool:
    ts, nonce = headers.get(TIMESTAMP, ""), headers.get(NONCE, "")
    return same(headers.get(SIGNATURE), hmac_b64(key, f"{method}\n{path}\n{ts}\n{nonce}\n{_text(body)}\n"))


def answer_headers(key: str, body: bytes) -> dict[str, str]:
    """For an answer and for a callback."""
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    return {TIMESTAMP: ts, NONCE: nonce, "Content-Type": "application/json",
            SIGNATURE: hmac_b64(key, f"{ts}\n{nonce}\n{body.decode('utf-8')}\n")}


def answer_signed(key: str, headers: Mapping[str, str], body: bytes) -> bool:
    ts, nonce = headers.get(TIMESTAMP, ""), headers.get(NONCE, "")
    return same(headers.get(SIGNATURE), hmac_b64(key, f"{ts}\n{nonce}\n{_text(body)}\n"))


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- the order on the wire ------------------------------------------------------------------------------------------
def status_of(view: Mapping[str, Any]) -> Status:
    state = view["trade_state"]
    if state == "REFUND":
        total, refund = yuan(view["amount"]["total"]), yuan(view["amount"].get("refund", 0))
        return Status.REFUNDED if refund >= total else Status.PARTIALLY_REFUNDED
    return {"NOTPAY": Status.PENDING, "USERPAYING": Status.PENDING, "SUCCESS": Status.PAID,
            "PAYERROR": Status.FAILED, "CLOSED": Status.CLOSED, "REVOKED": Status.CLOSED}[state]


def result_of(view: Mapping[str, Any]) -> ChannelResult:
    status = status_of(view)
    return ChannelResult(out_trade_no=str(view["out_trade_no"]), status=status, amount=yuan(view["amount"]["total"]),
                         channel_trade_no=view.get("transaction_id") or None,
                         paid_at=parse_time(view.get("success_time")),
                         refunded=yuan(view["amount"].get("refund", 0)),
                         pay_url=view.get("code_url") if status is Status.PENDING else None)


class WeChatChannel(HttpChannel):
    name = "wechat"

    def pay(self, order: CashOrder) -> ChannelResult:
        payload: dict[str, Any] = {"out_trade_no": order.out_trade_no, "description": order.description,
                                   "amount": {"total": fen(order.amount), "currency": "CNY"}}
        if order.notify_url:
            payload["notify_url"] = order.notify_url
        if order.payer_ref:
            payload["payer"] = {"openid": order.payer_ref}
        return self._call("POST", PAY, payload, "pay " + order.out_trade_no)

    def query(self, out_trade_no: str) -> ChannelResult:
        check_number(out_trade_no)
        return self._call("GET", order_path(out_trade_no), None, "query " + out_trade_no, missing_ok=True)

    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> ChannelResult:
        check_number(out_trade_no)
        check_number(refund_no)
        payload = {"out_trade_no": out_trade_no, "out_refund_no": refund_no,
                   "amount": {"refund": fen(amount), "currency": "CNY"}}
        return self._call("POST", REFUND, payload, f"refund {refund_no} of {out_trade_no}")

    def close(self, out_trade_no: str) -> ChannelResult:
        check_number(out_trade_no)
        return self._call("POST", order_path(out_trade_no) + "/close", {}, "close " + out_trade_no)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CallbackEvent:
        if not answer_signed(self.key, _lower(headers), body):
            raise BadCallback("wechat: the callback's signature does not check")
        try:
            data = json.loads(body)
            result = result_of(data["resource"])
            refund = result.status in (Status.REFUNDED, Status.PARTIALLY_REFUNDED)
            return CallbackEvent(event_id=str(data["id"]), out_trade_no=result.out_trade_no, status=result.status,
                                 amount=result.refunded if refund else result.amount,
                                 channel_trade_no=result.channel_trade_no, sequence=int(data["sequence"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise BadCallback(f"wechat: the callback is not readable: {exc!r}") from None

    def callback_answer(self) -> tuple[int, str]:
        return 200, '{"code":"SUCCESS","message":"OK"}'

    def _call(self, method: str, path: str, payload: Any, what: str, missing_ok: bool = False) -> ChannelResult:
        body = b"" if payload is None else dumps(payload)
        full_path = urlsplit(self.base_url + path).path
        reply = self.send(method, path, content=body, headers=request_headers(self.key, method, full_path, body))
        if not answer_signed(self.key, _lower(reply.headers), reply.content):
            raise self.unverified(what)
        try:
            data = reply.json()
            if reply.is_success:
                return result_of(data)
            code, message = data.get("code"), data.get("message")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise self.unverified(what, f"it is not readable: {exc!r}") from None
        if missing_ok and reply.status_code == 404 and code == NOT_FOUND:
            return ChannelResult.not_found(path.rsplit("/", 1)[-1])
        raise self.rejected(what, code, message)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names are case-insensitive: look them up in one spelling."""
    canon = {name.lower(): name for name in (TIMESTAMP, NONCE, SIGNATURE)}
    return {canon.get(k.lower(), k): v for k, v in headers.items()}
