"""The mobile-payment centre's HTTP face: five POST routes under /org/local/api/hos (interface.md 6.1).

Every request is a sealed envelope (envelope.py) naming the institution by its appId and signed with its SM2
key; the answer is sealed for the same appId with the platform's key, `code` 0 and `message` signed with it,
its amounts as decimal strings. Otherwise a bare object, nothing written:

- HTTP 200 `{code: -1, message}`: a business refusal, `data.field: rule` (6203 adds refStatus FAIL);
- HTTP 401 `{code: 401, message}`: the envelope could not be authenticated: unknown or suspended appId, a
  missing field, encData that does not decrypt, signData that does not verify, a timestamp further than
  300 s from the platform's clock;
- HTTP 413 `{code: 413, message}`: a body over YIBAO_MAX_BODY (1 MiB).

Each request is one unit of work; every request, whatever its outcome, leaves an audit row (message_log,
infno 6201...6401, msgid = the pay order's id) with the plaintext masked.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from yibao import wire
from yibao.clock import business_date, business_now
from yibao.errors import Refusal
from yibao.gateway.audit import mask_payload
from yibao.mobilepay import fields, keys, orders
from yibao.mobilepay.envelope import EnvelopeError, open_sealed, seal
from yibao.platform.work import Caller, Work
from yibao.rules.identity import mask_certno, mask_id_numbers
from yibao.store.db import Store
from yibao.store.models import Institution, MessageLog
from yibao.web import read_limited

log = logging.getLogger("yibao.mobilepay")

BASE = "/org/local/api/hos"
#: how far an envelope's timestamp may be from the platform's clock (seconds), as for the x-tif headers
TIMESTAMP_WINDOW = 300
DEFAULT_MAX_BODY = 1024 * 1024
OK_MESSAGE = "成功"
ROUTES: tuple[tuple[str, str, str, Callable[[orders.Ctx, dict[str, Any]], dict[str, Any]]], ...] = (
    ("uldFeeInfo", "6201", "费用明细上传 (upload the fee lines: a pay order)", orders.upload),
    ("pay_order", "6202", "支付下单 (settle the pay order)", orders.pay),
    ("refund_Order", "6203", "医保退费 (refund: ALL, CASH or HI)", orders.refund),
    ("query_order_info", "6301", "医保订单结算结果查询 (query the pay order)", orders.query),
    ("revoke_order", "6401", "费用明细上传撤销 (revoke an unsettled pay order)", orders.revoke),
)
#: credentials masked in the audit log beyond the gateway's own list
_MASKED = frozenset({"revsToken", "signData", "encData"})

_SEALED_SCHEMA = {
    "type": "object", "required": ["appId", "encType", "signType", "version", "timestamp", "encData", "signData"],
    "properties": {"appId": {"type": "string"}, "encType": {"type": "string", "enum": ["SM4"]},
                   "signType": {"type": "string", "enum": ["SM2"]}, "version": {"type": "string"},
                   "timestamp": {"type": "string"}, "encData": {"type": "string"}, "signData": {"type": "string"}},
}


@dataclass
class _Exchange:
    """What the audit row of one request records, filled in as the pipeline learns it."""

    received: datetime
    infno: str
    body: bytes
    envelope: Any = None
    data: dict[str, Any] | None = None
    institution: str | None = None
    order: str | None = None
    outcome: str = "refused"
    audited: bool = False


def _failure(code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": mask_id_numbers(message), **extra}


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (mask_certno(v) if k in _MASKED and isinstance(v, str) else _mask(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


class MobilePay:
    """The pipeline, independent of the web framework: (infno, body bytes) in, (HTTP status, answer) out."""

    def __init__(self, store: Store, max_body: int | None = None):
        self.store = store
        self.max_body = max_body or int(os.environ.get("YIBAO_MAX_BODY", DEFAULT_MAX_BODY))

    def handle(self, infno: str, fn: Callable[[orders.Ctx, dict[str, Any]], dict[str, Any]],
               body: bytes) -> tuple[int, dict[str, Any]]:
        ex = _Exchange(received=datetime.now(), infno=infno, body=body)
        try:
            status, answer = self._pipeline(ex, fn, body)
        except Exception:  # a fault of ours: logged in full here, never shown to the caller
            log.exception("internal error handling %s (order %s)", infno, ex.order)
            ex.outcome = "error"
            status, answer = 200, _failure(-1, "platform internal error; the request changed nothing, retry later")
        if not ex.audited:
            self._audit(ex, answer)
        return status, answer

    def _pipeline(self, ex: _Exchange, fn: Callable[[orders.Ctx, dict[str, Any]], dict[str, Any]],
                  body: bytes) -> tuple[int, dict[str, Any]]:
        if len(body) > self.max_body:
            return 413, _failure(413, f"body: is {len(body)} bytes; at most {self.max_body} are accepted")
        try:
            ex.envelope = wire.decode(body)
        except (UnicodeDecodeError, ValueError) as exc:
            return 401, _failure(401, f"body: is not UTF-8 JSON ({str(exc)[:80]})")
        if not isinstance(ex.envelope, dict):
            return 401, _failure(401, "body: must be a JSON object (the sealed envelope)")
        app_id = ex.envelope.get("appId")
        with self.store.unit_of_work() as s:
            found = keys.app_by_id(s, app_id)
            platform_private, _public = keys.platform_keypair_in(s)
        if found is None:
            what = "is missing" if not app_id else f"{app_id!r} is not a mobile-payment app of this platform"
            return 401, _failure(401, f"appId: {what}")
        app, inst = found
        ex.institution = inst.code
        if not app.enabled:
            return 401, _failure(401, f"appId: the mobile-payment channel of {inst.code} is suspended")
        try:
            ex.data = open_sealed(ex.envelope, inst.secret, app.public_key, max_age_seconds=TIMESTAMP_WINDOW)
        except EnvelopeError as exc:
            return 401, _failure(401, str(exc))
        bad = wire.first_unstorable(ex.data)
        if bad is not None:
            return 200, _failure(-1, f"data.{bad[0]}: {bad[1]}")

        for attempt in (1, 2):
            ctx: orders.Ctx | None = None
            try:
                with self.store.unit_of_work() as s:
                    stored = self.store.stored_today(s)
                    institution = s.get(Institution, inst.code)
                    assert institution is not None
                    ctx = orders.Ctx(Work(s, business_date(stored), business_now(stored),
                                          Caller("institution", institution.code), institution=institution))
                    answer = fn(ctx, ex.data)
                    sealed = seal(fields.decimals_as_text(answer), app.app_id, inst.secret, platform_private,
                                  fields={"code": 0, "message": OK_MESSAGE})
                    ex.outcome, ex.order = ("replayed" if ctx.replayed else "ok"), ctx.order_id
                    s.add(self._audit_row(ex, 0, answer, ""))
                ex.audited = True
                return 200, sealed
            except Refusal as r:
                ex.outcome, ex.order = "refused", ctx.order_id if ctx else None
                extra = {"refStatus": "FAIL"} if ex.infno == "6203" else {}
                return 200, _failure(-1, fields.to_camel_paths(r.err_msg), **extra)
            except IntegrityError:
                # a concurrent request made the same order or refund meanwhile: run again, it is found now
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _audit_row(self, ex: _Exchange, code: int, answer: dict[str, Any], err_msg: str) -> MessageLog:
        responded = datetime.now()
        if ex.data is not None:
            request_text = wire.encode(mask_payload(_mask(ex.data))).decode("utf-8")
        elif isinstance(ex.envelope, dict):
            request_text = wire.encode(mask_payload(_mask(ex.envelope))).decode("utf-8")
        else:
            request_text = mask_id_numbers(ex.body[:8192].decode("utf-8", errors="replace"))
        fingerprint = (wire.canonical_sha256(ex.envelope) if ex.envelope is not None
                       else hashlib.sha256(ex.body).hexdigest())
        return MessageLog(
            received_at=ex.received, responded_at=responded,
            duration_ms=int((responded - ex.received).total_seconds() * 1000), fixmedins_code=ex.institution,
            infno=ex.infno, msgid=(ex.order or "")[:30] or None, body_sha256=fingerprint, infcode=code,
            outcome=ex.outcome, err_msg=err_msg or None, request=request_text,
            response=wire.encode(mask_payload(_mask(answer))).decode("utf-8"))

    def _audit(self, ex: _Exchange, answer: dict[str, Any]) -> None:
        try:
            with self.store.unit_of_work(durable=ex.outcome != "refused") as s:
                s.add(self._audit_row(ex, int(answer.get("code", -1)), answer, str(answer.get("message", ""))))
        except Exception:  # the answer still goes out; the loss of an audit row is itself logged
            log.exception("could not write the audit row of %s (order %s)", ex.infno, ex.order)


def _service(app: FastAPI) -> MobilePay:
    service = getattr(app.state, "mobilepay", None)
    if service is None:
        service = app.state.mobilepay = MobilePay(app.state.store)
    return service


def _endpoint(infno: str, fn: Callable[[orders.Ctx, dict[str, Any]], dict[str, Any]]):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        service = _service(request.app)
        body = await read_limited(request, service.max_body)
        status, answer = await run_in_threadpool(service.handle, infno, fn, body)
        return Response(wire.encode(answer), status_code=status, media_type="application/json; charset=utf-8")

    return endpoint


router = APIRouter(prefix=BASE, tags=["mobile payment (医保移动支付)"])
for _path, _infno, _name, _fn in ROUTES:
    router.add_api_route(f"/{_path}", _endpoint(_infno, _fn), methods=["POST"], summary=f"{_infno} {_name}",
                         response_model=None, description="A sealed envelope in, a sealed envelope out: "
                                                          "docs/mobilepay.md.",
                         openapi_extra={"requestBody": {"required": True, "content": {
                             "application/json": {"schema": _SEALED_SCHEMA}}}})
