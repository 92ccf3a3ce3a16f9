"""The simulated provider's wire faces: each reads its provider's requests (checking the hospital's signature
with the same functions the adapter signs with), does them on the kind-neutral ledger (simulated.py), and
answers and notifies in its provider's format, signed."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from yibao.hospital.channels import alipay, card, wechat
from yibao.hospital.channels.base import Status
from yibao.hospital.channels.transport import amount_text, fen, yuan
from yibao.money import to_decimal

PAY_URLS = {"wechat": "weixin://wxpay/bizpayurl?pr=SIM{}", "alipay": "https://qr.alipay.com/sim{}"}


@dataclass(frozen=True)
class Order:
    """An order as the provider's ledger has it (or had it, when an event happened)."""

    out_trade_no: str
    amount: Decimal
    status: Status
    refunded: Decimal
    channel_trade_no: str | None
    paid_at: str | None
    pay_url: str | None = None

    @classmethod
    def of(cls, row: Mapping[Any, Any], kind: str) -> Order:
        status = Status(row["status"])
        pay_url = PAY_URLS[kind].format(row["out_trade_no"]) if status is Status.PENDING and kind in PAY_URLS else None
        return cls(out_trade_no=row["out_trade_no"], amount=to_decimal(row["amount"]), status=status,
                   refunded=to_decimal(row["refunded"]), channel_trade_no=row["channel_trade_no"],
                   paid_at=row["paid_at"], pay_url=pay_url)


@dataclass(frozen=True)
class Event:
    event_id: str
    sequence: int
    order: Order  # as it was when the event happened
    notify_url: str


@dataclass(frozen=True)
class Ask:
    """A provider request, read off the wire."""

    op: str  # pay | query | refund | close
    out_trade_no: str
    amount: Decimal | None = None
    description: str = ""
    payer_ref: str | None = None
    notify_url: str | None = None
    refund_no: str | None = None


class Refused(Exception):
    """A definite refusal; `reason` is neutral, each face spells it in its own codes."""

    NOT_FOUND, CLOSED, CONFLICT, NOT_PAID, TOO_MUCH, PAID, REFUSED, BAD_SIGNATURE, BAD_REQUEST = (
        "NOT_FOUND", "CLOSED", "CONFLICT", "NOT_PAID", "TOO_MUCH", "PAID", "REFUSED", "BAD_SIGNATURE", "BAD_REQUEST")

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


class Unavailable(Exception):
    """The provider did not do the request (simulated outage)."""


T = TypeVar("T")


class Ledger(Protocol):
    """What a face asks of its provider (simulated.SimulatedProvider): the key it signs with, the ledger's
    operations, and `handle`, which does one of them under the provider's current mode."""

    key: str

    def handle(self, work: Callable[[], T]) -> T: ...

    def pay(self, out_trade_no: str, amount: Decimal, description: str, payer_ref: str | None = None,
            notify_url: str | None = None) -> Order: ...

    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> Order: ...

    def close(self, out_trade_no: str) -> Order: ...

    def get(self, out_trade_no: str) -> Order | None: ...


class Face:
    """What every face shares: the request cycle, and the request done on the ledger."""

    def __init__(self, sim: Ledger):
        self.sim, self.key = sim, sim.key

    def register(self, app: FastAPI) -> None:
        raise NotImplementedError

    def read(self, method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str],
             body: bytes) -> Ask:
        """The request, its signature checked (else Refused BAD_SIGNATURE)."""
        raise NotImplementedError

    def answer(self, ask: Ask, order: Order) -> Response:
        raise NotImplementedError

    def refusal(self, exc: Refused) -> Response:
        raise NotImplementedError

    def unavailable(self) -> Response:
        raise NotImplementedError

    def notification(self, event: Event) -> tuple[dict[str, str], bytes]:
        """The headers and body of the callback of an event, signed."""
        raise NotImplementedError

    def route(self, app: FastAPI, method: str, path: str, summary: str) -> None:
        async def endpoint(request: Request) -> Response:
            body = await request.body()  # the signature is over the raw bytes
            return await run_in_threadpool(self.respond, request.method, request.url.path,
                                           dict(request.path_params), request.headers, body)

        app.add_api_route(path, endpoint, methods=[method], summary=summary)

    def respond(self, method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str],
                body: bytes) -> Response:
        try:
            ask = self.read(method, path, params, headers, body)
        except Refused as exc:
            return self.refusal(exc)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            return self.refusal(Refused(Refused.BAD_REQUEST, f"unreadable request: {exc!r}"))
        try:
            return self.answer(ask, self.sim.handle(lambda: self.perform(ask)))
        except Refused as exc:
            return self.refusal(exc)
        except Unavailable:
            return self.unavailable()

    def perform(self, ask: Ask) -> Order:
        sim = self.sim
        if ask.op == "pay":
            assert ask.amount is not None
            return sim.pay(ask.out_trade_no, ask.amount, ask.description, ask.payer_ref, ask.notify_url)
        if ask.op == "refund":
            assert ask.amount is not None and ask.refund_no is not None
            return sim.refund(ask.out_trade_no, ask.refund_no, ask.amount)
        if ask.op == "close":
            return sim.close(ask.out_trade_no)
        order = sim.get(ask.out_trade_no)
        if order is None:
            raise Refused(Refused.NOT_FOUND, f"no order {ask.out_trade_no}")
        return order


def _paid_at(order: Order) -> str | None:
    return order.paid_at and datetime.fromisoformat(order.paid_at).isoformat()


# -- WeChat -------------------------------------------------------------------------------------------------------
class WeChatFace(Face):
    CODES = {Refused.NOT_FOUND: (404, wechat.NOT_FOUND), Refused.CLOSED: (400, "ORDER_CLOSED"),
             Refused.CONFLICT: (400, "INVALID_REQUEST"), Refused.NOT_PAID: (400, "TRADE_STATE_ERROR"),
             Refused.TOO_MUCH: (400, "NOT_ENOUGH"), Refused.PAID: (400, "ORDER_PAID"),
             Refused.REFUSED: (403, "NO_AUTH"), Refused.BAD_SIGNATURE: (401, "SIGN_ERROR"),
             Refused.BAD_REQUEST: (400, "PARAM_ERROR")}

    def register(self, app: FastAPI) -> None:
        self.route(app, "POST", wechat.PAY, "Create a native (QR code) order")
        self.route(app, "GET", wechat.order_path("{out_trade_no}"), "Query an order")
        self.route(app, "POST", wechat.order_path("{out_trade_no}") + "/close", "Close an unpaid order")
        self.route(app, "POST", wechat.REFUND, "Refund an order, in full or in part")

    def read(self, method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str],
             body: bytes) -> Ask:
        if not wechat.request_signed(self.key, method, path, headers, body):
            raise Refused(Refused.BAD_SIGNATURE, "the request's signature does not check")
        data = json.loads(body) if body else {}
        if path == wechat.PAY:
            return Ask("pay", data["out_trade_no"], yuan(data["amount"]["total"]), str(data["description"]),
                       (data.get("payer") or {}).get("openid"), data.get("notify_url"))
        if path == wechat.REFUND:
            return Ask("refund", data["out_trade_no"], yuan(data["amount"]["refund"]),
                       refund_no=data["out_refund_no"])
        return Ask("close" if path.endswith("/close") else "query", params["out_trade_no"])

    def view(self, order: Order) -> dict[str, Any]:
        return {"out_trade_no": order.out_trade_no, "transaction_id": order.channel_trade_no,
                "trade_state": wechat.STATES[order.status],
                "amount": {"total": fen(order.amount), "refund": fen(order.refunded), "currency": "CNY"},
                "success_time": _paid_at(order), "code_url": order.pay_url}

    def signed(self, status: int, payload: Any) -> Response:
        body = wechat.dumps(payload)
        return Response(body, status, headers=wechat.answer_headers(self.key, body))

    def answer(self, ask: Ask, order: Order) -> Response:
        return self.signed(200, self.view(order))

    def refusal(self, exc: Refused) -> Response:
        status, code = self.CODES[exc.reason]
        return self.signed(status, {"code": code, "message": exc.message})

    def unavailable(self) -> Response:
        return self.signed(503, {"code": "SYSTEM_ERROR", "message": "system error (simulated)"})

    def notification(self, event: Event) -> tuple[dict[str, str], bytes]:
        body = wechat.dumps({"id": event.event_id, "event_type": wechat.EVENT_TYPES[event.order.status],
                             "sequence": event.sequence, "resource": self.view(event.order)})
        return wechat.answer_headers(self.key, body), body


# -- Alipay -------------------------------------------------------------------------------------------------------
class AlipayFace(Face):
    SUB_CODES = {Refused.NOT_FOUND: alipay.NOT_FOUND, Refused.CLOSED: "ACQ.TRADE_HAS_CLOSE",
                 Refused.CONFLICT: "ACQ.CONTEXT_INCONSISTENT", Refused.NOT_PAID: "ACQ.TRADE_STATUS_ERROR",
                 Refused.TOO_MUCH: "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", Refused.PAID: "ACQ.TRADE_HAS_SUCCESS",
                 Refused.REFUSED: "ACQ.ACCESS_FORBIDDEN", Refused.BAD_SIGNATURE: "isv.invalid-signature",
                 Refused.BAD_REQUEST: "isv.invalid-parameter"}
    OPS = {alipay.PRECREATE: "pay", alipay.QUERY: "query", alipay.REFUND: "refund", alipay.CLOSE: "close"}

    def register(self, app: FastAPI) -> None:
        self.route(app, "POST", alipay.GATEWAY, "The gateway: precreate, query, refund, close")

    def read(self, method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str],
             body: bytes) -> Ask:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        if not alipay.signed(self.key, fields):
            raise Refused(Refused.BAD_SIGNATURE, "the request's signature does not check")
        op, no = self.OPS[fields["method"]], fields["out_trade_no"]
        if op == "pay":
            return Ask(op, no, to_decimal(fields["total_amount"]), fields.get("subject", ""),
                       fields.get("buyer_id") or None, fields.get("notify_url") or None)
        if op == "refund":
            return Ask(op, no, to_decimal(fields["refund_amount"]), refund_no=fields["out_request_no"])
        return Ask(op, no)

    def fields(self, order: Order) -> dict[str, str]:
        return {"out_trade_no": order.out_trade_no, "trade_no": order.channel_trade_no or "",
                "trade_status": alipay.STATES[order.status], "total_amount": amount_text(order.amount),
                "refund_fee": amount_text(order.refunded) if order.refunded else "",
                "send_pay_date": order.paid_at or "", "qr_code": order.pay_url or ""}

    def signed(self, response: dict[str, str]) -> Response:
        body = json.dumps({"response": response, "sign": alipay.sign(self.key, response)}, ensure_ascii=False)
        return Response(body.encode("utf-8"), 200, media_type="application/json")

    def answer(self, ask: Ask, order: Order) -> Response:
        return self.signed({"code": alipay.SUCCESS, "msg": "Success", **self.fields(order)})

    def refusal(self, exc: Refused) -> Response:
        code = "40002" if exc.reason in (Refused.BAD_SIGNATURE, Refused.BAD_REQUEST) else alipay.REFUSED
        return self.signed({"code": code, "msg": "Business Failed", "sub_code": self.SUB_CODES[exc.reason],
                            "sub_msg": exc.message})

    def unavailable(self) -> Response:
        return self.signed({"code": alipay.UNAVAILABLE, "msg": "Service Currently Unavailable"})

    def notification(self, event: Event) -> tuple[dict[str, str], bytes]:
        fields = alipay.with_sign(self.key, {
            "notify_id": event.event_id, "notify_seq": str(event.sequence), "notify_type": "trade_status_sync",
            "notify_time": alipay.now_text(), "sign_type": "HMAC-SHA256", **self.fields(event.order),
            "gmt_payment": event.order.paid_at or "", "send_pay_date": "", "qr_code": ""})
        body = urlencode({k: v for k, v in fields.items() if v != ""}).encode("ascii")
        return {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, body


# -- card ---------------------------------------------------------------------------------------------------------
class CardFace(Face):
    def register(self, app: FastAPI) -> None:
        self.route(app, "POST", "/terminal/{op}", "A terminal request: sale, query, refund, close")

    def read(self, method: str, path: str, params: Mapping[str, str], headers: Mapping[str, str],
             body: bytes) -> Ask:
        data = json.loads(body)
        if not isinstance(data, dict) or not card.mac_ok(self.key, data):
            raise Refused(Refused.BAD_SIGNATURE, "MAC error")
        op, no = {"sale": "pay", "query": "query", "refund": "refund", "close": "close"}[params["op"]], data["trace_no"]
        if op == "pay":
            return Ask(op, no, yuan(data["amount"]), str(data.get("description", "")), data.get("payer_ref"),
                       data.get("notify_url"))
        if op == "refund":
            return Ask(op, no, yuan(data["amount"]), refund_no=data["refund_no"])
        return Ask(op, no)

    def fields(self, order: Order) -> dict[str, Any]:
        return {"trace_no": order.out_trade_no, "state": card.STATES[order.status],
                "amount": card.amount12(order.amount), "refunded": card.amount12(order.refunded),
                "rrn": order.channel_trade_no, "paid_at": _paid_at(order)}

    def signed(self, fields: dict[str, Any]) -> Response:
        return Response(json.dumps(card.with_mac(self.key, fields)), 200, media_type="application/json")

    def answer(self, ask: Ask, order: Order) -> Response:
        declined = ask.op == "pay" and order.status is Status.FAILED
        return self.signed({"resp_code": card.DECLINED if declined else card.APPROVED,
                            "resp_msg": "declined" if declined else "approved", **self.fields(order)})

    def refusal(self, exc: Refused) -> Response:
        code = {Refused.NOT_FOUND: card.NOT_FOUND, Refused.BAD_SIGNATURE: "A0"}.get(exc.reason, card.REFUSED)
        return self.signed({"resp_code": code, "resp_msg": f"{exc.reason}: {exc.message}"})

    def unavailable(self) -> Response:
        return self.signed({"resp_code": card.MALFUNCTION, "resp_msg": "system malfunction (simulated)"})

    def notification(self, event: Event) -> tuple[dict[str, str], bytes]:
        body = json.dumps(card.with_mac(self.key, {"event_id": event.event_id, "seq": event.sequence,
                                                   **self.fields(event.order)}))
        return {"Content-Type": "application/json"}, body.encode("utf-8")


FACES: dict[str, type[Face]] = {"wechat": WeChatFace, "alipay": AlipayFace, "card": CardFace}
