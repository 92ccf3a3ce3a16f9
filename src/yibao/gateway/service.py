"""The gateway's pipeline, independent of the web framework: bytes in, (HTTP status, envelope) out.

Order of checks: size, signature, JSON, envelope, institution, msgid replay, infno, typed input,
sign-in (as the policy requires it, or whenever a sign_no is sent), then the handler in one unit of work
whose commit also records the answer for replays.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from yibao import wire
from yibao.clock import business_date, business_now
from yibao.errors import Refusal, refuse
from yibao.gateway import auth
from yibao.gateway.audit import mask_payload
from yibao.gateway.envelope import RequestEnvelope
from yibao.gateway.registry import INTERFACES
from yibao.observe import metrics
from yibao.observe.logs import note
from yibao.platform import replay, signin
from yibao.platform.work import Caller, Work
from yibao.rules.identity import mask_id_numbers
from yibao.store.conflicts import conflict_rule
from yibao.store.db import Store
from yibao.store.models import Institution, MessageLog, MessageReplay
from yibao.store.vault import vault_for
from yibao.validation import problems_of

log = logging.getLogger("yibao.gateway")

DEFAULT_MAX_BODY = 1024 * 1024
_serial = itertools.count(random.randrange(10**8))


@dataclass
class _Exchange:
    """What the audit row of one message records, filled in as the pipeline learns it."""

    received: datetime
    body: bytes
    parsed: Any = None
    institution: str | None = None
    infno: str | None = None
    msgid: str | None = None
    outcome: str = "refused"
    area: str = "000000"
    audited: bool = False
    nonce: tuple[str, str, int] | None = None
    #: the check under way: what a refusal is counted as (yibao_refusals_total{reason})
    stage: str = "size"
    extra: dict[str, Any] = field(default_factory=dict)


class Gateway:
    def __init__(self, store: Store, max_body: int | None = None):
        self.store = store
        self.vault = vault_for(store.url)
        self.max_body = max_body or int(os.environ.get("YIBAO_MAX_BODY", DEFAULT_MAX_BODY))
        #: which messages need a sign-in where the institution's region does not say (docs/gateway.md)
        self.sign_in_policy = signin.deployment_policy()
        self._calls = 0

    def handle(self, headers: Mapping[str, str], body: bytes, path_infno: str | None = None) -> tuple[int, dict]:
        ex = _Exchange(received=datetime.now(), body=body)
        started = time.perf_counter()
        status = 200
        try:
            response = self._pipeline(ex, headers, body, path_infno)
        except Refusal as r:
            status, response = r.http_status, self._answer(ex, -1, err_msg=r.err_msg)
        except Exception:  # a fault of ours: logged in full here, never shown to the client
            log.exception("internal error handling %s %s", ex.infno, ex.msgid)
            ex.outcome = "error"
            response = self._answer(ex, -1, err_msg="platform internal error; the message changed nothing, "
                                                    "retry later or quote inf_refmsgid to support")
        self._audit(ex, response)
        self._observe(ex, response, time.perf_counter() - started)
        return status, response

    @staticmethod
    def _observe(ex: _Exchange, response: dict, took: float) -> None:  # float-ok: seconds of latency for the histogram
        """The message's metrics and its log line (the settlement it made is counted on commit: store/metered.py)."""
        infno = ex.infno if ex.infno in INTERFACES else "other"
        infcode = int(response["infcode"])
        metrics.MESSAGES.labels(infno, str(infcode), ex.outcome).inc()
        metrics.MESSAGE_SECONDS.labels(infno).observe(took)
        reason = ex.stage if ex.outcome == "refused" else None
        if reason:
            metrics.REFUSALS.labels(reason).inc()
        log.info("%s %s infcode %d", infno, ex.outcome, infcode,
                 extra={"infno": ex.infno, "msgid": ex.msgid, "fixmedins_code": ex.institution, "infcode": infcode,
                        "outcome": ex.outcome, "reason": reason, "duration_ms": round(took * 1000, 1),
                        "err_msg": response.get("err_msg") or None})

    def _pipeline(self, ex: _Exchange, headers: Mapping[str, str], body: bytes, path_infno: str | None) -> dict:
        if len(body) > self.max_body:
            raise Refusal(f"body: is {len(body)} bytes; at most {self.max_body} are accepted", http_status=413)
        now_epoch = int(time.time())
        ex.stage = "envelope"
        envelope, bad_envelope = None, None
        try:
            envelope = self._envelope(ex, body)
        except Refusal as r:
            bad_envelope = r  # reported once the sender is authenticated
        note(infno=ex.infno, msgid=ex.msgid)  # for the access line and every line logged while it is answered
        fingerprint = wire.canonical_sha256(ex.parsed) if envelope is not None else ""
        if self._calls % 200 == 0:
            with self.store.unit_of_work(durable=False) as s:
                auth.forget_old_nonces(s, now_epoch)
        self._calls += 1
        institution = None
        try:
            # one transaction: the signature and its nonce, the replay lookup, the business, its kept answer and
            # its audit row; a refusal rolls it all back (the nonce is then recorded with the audit row)
            with self.store.unit_of_work() as s:
                ex.stage = "signature"
                institution = auth.verify_headers(s, headers, now_epoch)
                ex.institution, ex.area = institution.code, institution.admdvs
                note(fixmedins_code=institution.code)
                ex.stage = "envelope"
                ex.nonce = (institution.code, headers.get("x-tif-nonce", "").strip(),
                            int(headers.get("x-tif-timestamp", "0").strip()))
                if bad_envelope is not None or envelope is None:
                    raise bad_envelope or Refusal("body: no envelope")
                ex.stage = "sender"
                self._check_sender(envelope, institution, path_infno)
                ex.stage = "replay"
                stored = replay.kept(s, institution.code, envelope.msgid)
                if stored is not None:
                    return self._replay(ex, stored, envelope.msgid, fingerprint)
                ex.stage = "infno"
                spec = INTERFACES.get(envelope.infno)
                if spec is None:
                    raise refuse("infno", f"{envelope.infno} is not an interface of this platform")
                ex.stage = "input"
                try:
                    data = spec.input_model.model_validate(envelope.input)
                except ValidationError as exc:
                    raise Refusal("; ".join(f"{p}: {r}" for p, r in problems_of(exc, ["input"]))) from None
                stored_today = self.store.stored_today(s)
                work = Work(s, business_date(stored_today), business_now(stored_today),
                            Caller("institution", institution.code, envelope.opter, envelope.opter_name),
                            institution=institution, msgid=envelope.msgid, insuplc_admdvs=envelope.insuplc_admdvs)
                ex.stage = "sign_in"
                signin.check_for(work, envelope.sign_no, needs_sign_in=spec.needs_sign_in, writes=spec.writes,
                                 default_policy=self.sign_in_policy)
                ex.stage = "rule"
                output = spec.run(work, data)
                response = self._answer(ex, 0, output=output, warn_msg="; ".join(work.warnings))
                replay.keep(s, self.vault, fixmedins_code=institution.code, msgid=envelope.msgid,
                            infno=envelope.infno, fingerprint=fingerprint, answer=response)
                ex.outcome = "ok"
                s.add(self._audit_row(ex, response))
        except Refusal:
            if institution is None or envelope is None:
                raise
            # a copy of this message still in flight may have committed meanwhile: then its answer stands
            with self.store.unit_of_work(durable=False) as s:
                stored = replay.kept(s, institution.code, envelope.msgid)
            if stored is None:
                raise
            return self._replay(ex, stored, envelope.msgid, fingerprint)
        except IntegrityError as exc:
            if institution is None or envelope is None:
                raise
            # the same msgid committed meanwhile by a concurrent request: answer as a replay; a twin under
            # another msgid that won the race: refused by the unique index it met
            ex.outcome, ex.stage = "refused", "conflict"
            with self.store.unit_of_work() as s:
                stored = replay.kept(s, institution.code, envelope.msgid)
            if stored is None:
                rule = conflict_rule(exc)
                if rule is None:
                    raise
                raise Refusal(rule) from None
            return self._replay(ex, stored, envelope.msgid, fingerprint)
        ex.audited = True
        return response

    @staticmethod
    def _check_sender(envelope: RequestEnvelope, institution: Institution, path_infno: str | None) -> None:
        if envelope.fixmedins_code != institution.code:
            raise refuse("fixmedins_code", f"{envelope.fixmedins_code} is not the authenticated institution "
                                           f"(x-tif-paasid {institution.code})")
        if path_infno and path_infno != envelope.infno:
            raise refuse("infno", f"the URL names {path_infno} but the message says {envelope.infno}")
        if envelope.mdtrtarea_admvs != institution.admdvs:
            raise refuse("mdtrtarea_admvs", f"must be the institution's region {institution.admdvs}, "
                                            f"not {envelope.mdtrtarea_admvs}")

    def _replay(self, ex: _Exchange, stored: MessageReplay, msgid: str, fingerprint: str) -> dict:
        if stored.body_sha256 != fingerprint:
            ex.stage = "replay"
            raise refuse("msgid", f"{msgid} was already used by this institution for a different message "
                                  f"({stored.infno}); every message needs its own msgid")
        ex.outcome = "replayed"
        return replay.answer_of(self.vault, stored)

    def _envelope(self, ex: _Exchange, body: bytes) -> RequestEnvelope:
        try:
            ex.parsed = wire.decode(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise Refusal(f"body: is not valid UTF-8 JSON ({str(exc)[:80]})") from None
        except RecursionError:
            raise Refusal("body: is nested too deeply to be a message") from None
        if not isinstance(ex.parsed, dict):
            raise Refusal("body: must be a JSON object (the message envelope)")
        bad = wire.first_unstorable(ex.parsed)
        if bad is not None:  # no field of the interface has one, and no database column would take it
            raise Refusal(f"{bad[0] or 'body'}: {bad[1]}")
        ex.infno = ex.parsed.get("infno") if isinstance(ex.parsed.get("infno"), str) else None
        ex.msgid = ex.parsed.get("msgid") if isinstance(ex.parsed.get("msgid"), str) else None
        try:
            return RequestEnvelope.model_validate(ex.parsed)
        except ValidationError as exc:
            raise Refusal("; ".join(f"{p}: {r}" for p, r in problems_of(exc))) from None

    def _answer(self, ex: _Exchange, infcode: int, *, output: dict | None = None, err_msg: str = "",
                warn_msg: str = "") -> dict:
        now = datetime.now()
        return {
            "infcode": infcode,
            "inf_refmsgid": ex.area + now.strftime("%Y%m%d%H%M%S") + f"{next(_serial) % 10**10:010d}",
            "refmsg_time": wire.stamp_ms(ex.received),
            "respond_time": wire.stamp_ms(now),
            "err_msg": mask_id_numbers(err_msg),
            "warn_msg": warn_msg,
            "output": output if output is not None else {},
            "cainfo": "",
            "signtype": "",
            "enctype": "",
        }

    def _audit_row(self, ex: _Exchange, response: dict) -> MessageLog:
        responded = datetime.now()
        if ex.parsed is not None and wire.first_unstorable(ex.parsed) is None:
            request_text = wire.encode(mask_payload(ex.parsed)).decode("utf-8")
        else:  # the text as received, what no column could take replaced
            request_text = mask_id_numbers(ex.body[:8192].decode("utf-8", errors="replace").replace("\x00", "\ufffd"))
        return MessageLog(
            received_at=ex.received, responded_at=responded,
            duration_ms=int((responded - ex.received).total_seconds() * 1000),
            fixmedins_code=ex.institution, infno=(ex.infno or "")[:10] or None, msgid=(ex.msgid or "")[:30] or None,
            body_sha256=wire.canonical_sha256(ex.parsed) if ex.parsed is not None
            else wire.canonical_sha256(ex.body.hex()),
            infcode=int(response["infcode"]), outcome=ex.outcome, err_msg=response.get("err_msg") or None,
            request=request_text, response=wire.encode(mask_payload(response)).decode("utf-8"))

    def _audit(self, ex: _Exchange, response: dict) -> None:
        if ex.audited:
            return
        try:
            with self.store.unit_of_work(durable=ex.outcome != "refused") as s:
                if ex.nonce is not None:  # the business rolled back with its nonce: a request is still accepted once
                    auth.remember_nonce(s, *ex.nonce)
                s.add(self._audit_row(ex, response))
        except Exception:  # the answer still goes out; the loss of an audit row is itself logged
            log.exception("could not write the audit row of %s %s", ex.infno, ex.msgid)
