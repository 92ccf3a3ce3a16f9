"""Inpatient stays through the platform: admission (2401), fee lines (2301), discharge (2402); the stay is then
paid like bills (cashier/paying.py, pay_stay: 2303 pre-settlement, 2304 settlement with acct_used_flag so the
account and family mutual aid apply, the cash part through any channel at the desk or the bedside, a failed cash
leg undone by 2305). Cancelling a paid stay refunds it: 2305 and the cash back through its channel.

Every 2301 output is kept verbatim on the stay, the settlement and its cancellation on the payment: the slip and
the reconciliation are made from them. A lost answer is never guessed: a 2401 is reversed by 2601 (nothing
stands, admit again); a 2301 or 2402 is kept (`pending`) and sent again, the same bytes, before the stay's next
step (the platform answers a committed msgid with its stored answer)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn

from sqlalchemy import select, text

from yibao.client import PlatformError
from yibao.hospital.cashier import paying, refunds, views
from yibao.hospital.context import new_no
from yibao.hospital.db import KindSettlement, Patient
from yibao.hospital.errors import HospitalError, conflict, upstream
from yibao.hospital.insurance import OutcomeUnknown, dumps
from yibao.hospital.kinds import SETTLED, SPLIT, TIME, cert_of, insured_patient, line_amount, load, save
from yibao.hospital.states import STAYS, StayStatus
from yibao.money import ZERO

if TYPE_CHECKING:
    from yibao.hospital.context import Context
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@contextmanager
def one_at_a_time(h: Context, no: str) -> Iterator[None]:
    """A stay's steps one after another, in every process on the database: its fee lines are numbered from the
    lines kept, and a kept message is resent before the next step (two requests on one stay must not interleave).

    The threads of this process queue on a lock of this process. Across processes, on PostgreSQL, the step then
    holds a transaction-scoped advisory lock on the stay's number, on a connection of its own (HospitalDB.locks,
    outside the pool the step's work uses) for the whole step: the step commits in several transactions of its
    own, around the platform's answers, so it can neither run inside the lock's transaction nor lock the stay's
    row it updates. A process that dies releases the lock with its connection. On SQLite the lock of this
    process is all there is: a hospital on SQLite is served by one process; several need PostgreSQL."""
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(no, threading.Lock())
    with lock:
        if h.db.engine.dialect.name != "postgresql":
            yield
            return
        with h.db.locks.connect() as conn, conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('yibao.hospital.stay'), hashtext(:no))"),
                         {"no": no})
            yield


def call(h: Context, infno: str, input_: dict[str, Any], insuplc: str) -> dict[str, Any]:
    """A message that commits nothing (or nothing that cannot be asked again): a refusal is 422, no answer 502."""
    try:
        return h.insurance.ok(infno, input_, insuplc)
    except PlatformError as exc:
        raise upstream(f"{infno}: {exc.err_msg}", refused=bool(exc.response)) from None


def envelope_of(h: Context, infno: str, input_: dict[str, Any], insuplc: str) -> dict[str, Any]:
    """A committing message, signed in for (9001 when needed), to be sent and kept."""
    try:
        return h.insurance.envelope(infno, input_, insuplc)
    except PlatformError as exc:
        raise upstream(f"{exc.infno}: {exc.err_msg}", refused=bool(exc.response)) from None


def send(h: Context, envelope: dict[str, Any], insuplc: str) -> dict[str, Any]:
    """A committing message (resent as-is on a lost answer: OutcomeUnknown when it never came). A refusal for
    a stale sign-in (the message never committed) is made again with a fresh one; another refusal is 422."""
    try:
        return h.insurance.send_kept(envelope)
    except PlatformError as exc:
        if not exc.err_msg.startswith("sign_no:"):
            raise upstream(f"{envelope['infno']}: {exc.err_msg}", refused=bool(exc.response)) from None
    h.insurance.client.sign_no(renew=True)
    fresh = envelope_of(h, str(envelope["infno"]), envelope["input"], insuplc)
    try:
        return h.insurance.send_kept(fresh)
    except PlatformError as exc:
        raise upstream(f"{envelope['infno']}: {exc.err_msg}", refused=bool(exc.response)) from None


def view(h: Context, row: KindSettlement) -> dict[str, Any]:
    """A stay or a sale: its state, lines and the payment that settles it (insurance figures, cash, slip)."""
    payment = views.view(h, row.payment_no) if row.payment_no else None
    insurance = (payment or {}).get("insurance") or {}
    return {"no": row.no, "kind": row.kind, "patient_id": row.patient_id, "psn_no": row.psn_no,
            "mdtrt_id": row.mdtrt_id, "status": row.status, "total": row.total, "lines": row.lines,
            "acct_used_flag": row.acct_used_flag, "pending": (row.pending or {}).get("infno"),
            "setl_id": insurance.get("setl_id") if row.status == SETTLED[row.kind] else None, "payment": payment}


class Inpatient:
    def __init__(self, hospital: Context):
        self.h = hospital

    def admit(self, patient_id: int, begntime: datetime | None = None, adm_dept_codg: str = "",
              adm_dept_name: str = "", med_type: str = "21", diag_name: str = "") -> dict[str, Any]:
        """2401: the stay's ipt_no is made here; the platform answers its mdtrt_id. An answer lost is reversed
        by 2601, so that no admission the hospital does not know of stands."""
        patient = insured_patient(self.h, patient_id)
        self._reverse_orphans(patient)
        now = self.h.now()
        no = new_no("ZY", now)
        begin = begntime or now
        insuplc = patient.insuplc_admdvs or ""
        envelope = envelope_of(self.h, "2401", {"mdtrtinfo": {
            "psn_no": patient.psn_no, "insutype": patient.insutype, "begntime": f"{begin:{TIME}}", **cert_of(patient),
            "med_type": med_type, "ipt_no": no, "adm_dept_codg": adm_dept_codg, "adm_dept_name": adm_dept_name,
            "adm_diag_dscr": diag_name}, "diseinfo": []}, insuplc)
        try:
            out = send(self.h, envelope, insuplc)
        except OutcomeUnknown:
            self._reverse_admission(patient, no, envelope)
        mdtrt_id = str(out["result"]["mdtrt_id"])
        with self.h.db.session() as s:
            row = KindSettlement(no=no, kind="inpatient", patient_id=patient_id, psn_no=patient.psn_no,
                                 insutype=patient.insutype, insuplc_admdvs=patient.insuplc_admdvs,
                                 mdtrt_id=mdtrt_id, status=StayStatus.ADMITTED, lines=[], outs_2301=[], total=ZERO,
                                 created_at=now, updated_at=now)
            s.add(row)
            s.flush()
        return view(self.h, row)

    def _reverse(self, patient: Patient, envelope: dict[str, Any]) -> str:
        """2601 of a 2401 whose answer was lost (idempotent: a repeated one changes nothing): its rvs_rslt."""
        out = self.h.insurance.ok("2601", {"data": {"psn_no": patient.psn_no, "omsgid": str(envelope["msgid"]),
                                                    "oinfno": "2401"}}, patient.insuplc_admdvs or "")
        return str(out["data"]["rvs_rslt"])

    def _reverse_admission(self, patient: Patient, no: str, envelope: dict[str, Any]) -> NoReturn:
        msgid = str(envelope["msgid"])
        try:
            result = self._reverse(patient, envelope)
        except PlatformError as exc:
            # kept, and reversed again before this patient's next admission
            now = self.h.now()
            with self.h.db.session() as s:
                s.add(KindSettlement(no=no, kind="inpatient", patient_id=patient.id, psn_no=patient.psn_no,
                                     insutype=patient.insutype, insuplc_admdvs=patient.insuplc_admdvs,
                                     status=StayStatus.REVERSING, lines=[], outs_2301=[], total=ZERO,
                                     pending={"infno": "2401", "envelope": envelope, "lines": None},
                                     created_at=now, updated_at=now))
            raise HospitalError(504, f"2401: no answer from the platform (msgid {msgid}), and its reversal 2601 "
                                     f"failed too ({exc.err_msg}): it is reversed before the next admission") from None
        raise HospitalError(503, f"2401: no answer from the platform; reversed by 2601 ({result}), nothing stands: "
                                 "admit again")

    def _reverse_orphans(self, patient: Patient) -> None:
        """An earlier admission of this patient whose answer and reversal were both lost: reversed first."""
        with self.h.db.session() as s:
            orphans = list(s.scalars(select(KindSettlement).where(KindSettlement.patient_id == patient.id,
                                                                  KindSettlement.status == StayStatus.REVERSING)))
        for row in orphans:
            assert row.pending is not None
            try:
                self._reverse(patient, row.pending["envelope"])
            except PlatformError as exc:
                raise HospitalError(504, f"an earlier admission {row.no} of patient {patient.id} is still being "
                                         f"reversed (2601: {exc.err_msg}); try again later") from None
            with self.h.db.session() as s:
                STAYS.move(s, KindSettlement.no == row.no, StayStatus.REVERSED, (StayStatus.REVERSING,),
                           pending=None, updated_at=self.h.now())

    def _committing(self, row: KindSettlement, infno: str, input_: dict[str, Any],
                    lines: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A 2301 / 2402 of the stay: kept as `pending` when its answer is lost, and sent again first."""
        return self._send_or_keep(row, envelope_of(self.h, infno, input_, row.insuplc_admdvs or ""), lines)

    def _send_or_keep(self, row: KindSettlement, envelope: dict[str, Any],
                      lines: list[dict[str, Any]] | None) -> dict[str, Any]:
        infno = str(envelope["infno"])
        try:
            return send(self.h, envelope, row.insuplc_admdvs or "")
        except OutcomeUnknown as exc:
            save(self.h, row.no, pending={"infno": infno, "envelope": envelope, "lines": lines})
            raise HospitalError(504, f"{infno}: no answer from the platform ({exc}); it is kept and sent again, "
                                     "the same message, before the stay's next step") from None

    def _resume(self, no: str) -> KindSettlement:
        """The stay, after its pending message (if any) was answered and applied."""
        row = load(self.h, "inpatient", no)
        pending = row.pending
        if not pending:
            return row
        try:
            out = self._send_or_keep(row, pending["envelope"], pending["lines"])
        except HospitalError as exc:
            if exc.status not in (422, 502):  # refused, or not answered with an envelope: not committed
                raise
            # refused: nothing of it was committed, and the stay's record says so
            save(self.h, no, pending=None)
            what = (f"its {len(pending['lines'] or [])} fee line(s) were not recorded: upload them again"
                    if pending["infno"] == "2301" else "the stay was not discharged: discharge it again")
            raise upstream(f"{pending['infno']} of stay {no}, kept when its answer was lost, was refused when sent "
                           f"again ({exc.message}); {what}", refused=exc.status == 422) from None
        if pending["infno"] == "2301":
            return self._apply_2301(row, pending["envelope"]["input"]["feedetail"], pending["lines"], out)
        return self._discharged(no)

    def upload(self, no: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """2301: fee lines of the stay (a negative cnt with init_feedetl_sn returns a line); output kept."""
        with one_at_a_time(self.h, no):
            return self._upload(no, lines)

    def _upload(self, no: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        row = self._resume(no)
        if row.status != StayStatus.ADMITTED:
            raise conflict(f"stay {no} is {row.status}: fee lines are uploaded while admitted")
        now = self.h.now()
        start = len(row.lines)
        feedetail = []
        for i, x in enumerate(lines, start + 1):
            feedetail.append({
                "feedetl_sn": f"{no}-{i:04d}", "init_feedetl_sn": x.get("init_feedetl_sn") or "",
                "mdtrt_id": row.mdtrt_id, "psn_no": row.psn_no, "med_type": "21",
                "fee_ocur_time": f"{x.get('fee_ocur_time') or now:{TIME}}",
                "med_list_codg": x["med_list_codg"], "medins_list_codg": x.get("medins_list_codg") or "",
                "det_item_fee_sumamt": str(line_amount(x["pric"], x["cnt"])), "cnt": str(x["cnt"]),
                "pric": str(x["pric"])})
        names = [{"name": x.get("name") or ""} for x in lines]
        out = self._committing(row, "2301", {"feedetail": feedetail}, names)
        return view(self.h, self._apply_2301(row, feedetail, names, out))

    def _apply_2301(self, row: KindSettlement, feedetail: list[dict[str, Any]], names: list[dict[str, Any]],
                    out: dict[str, Any]) -> KindSettlement:
        split = {str(r["feedetl_sn"]): r for r in out.get("result") or []}
        kept = [{**f, "name": x.get("name") or "", **{k: str(split.get(f["feedetl_sn"], {}).get(k, "")) for k in SPLIT}}
                for f, x in zip(feedetail, names, strict=True)]
        with self.h.db.session() as s:  # appended to the lines as they are now, not as they were read
            fresh = s.scalar(select(KindSettlement).where(KindSettlement.no == row.no))
            assert fresh is not None
            fresh.lines = [*fresh.lines, *kept]
            fresh.outs_2301 = [*fresh.outs_2301, dumps(out)]
            fresh.total = fresh.total + sum((Decimal(str(f["det_item_fee_sumamt"])) for f in feedetail), ZERO)
            fresh.pending, fresh.updated_at = None, self.h.now()
            s.flush()
            return fresh

    def discharge(self, no: str, endtime: datetime | None = None, dscg_way: str = "1") -> dict[str, Any]:
        """2402: the stay ends; it can then be paid."""
        with one_at_a_time(self.h, no):
            return self._discharge(no, endtime, dscg_way)

    def _discharge(self, no: str, endtime: datetime | None, dscg_way: str) -> dict[str, Any]:
        kept = load(self.h, "inpatient", no).pending
        row = self._resume(no)
        if kept and kept["infno"] == "2402" and row.status == StayStatus.DISCHARGED:  # the lost 2402 was this discharge
            return view(self.h, row)
        if row.status != StayStatus.ADMITTED:
            raise conflict(f"stay {no} is {row.status}: only an admitted stay is discharged")
        self._committing(row, "2402", {"dscginfo": {
            "mdtrt_id": row.mdtrt_id, "psn_no": row.psn_no, "insutype": row.insutype,
            "endtime": f"{endtime or self.h.now():{TIME}}", "dscg_way": dscg_way}, "diseinfo": []})
        return view(self.h, self._discharged(no))

    def _discharged(self, no: str) -> KindSettlement:
        """admitted -> discharged: its 2402 was answered (a kept one included, which leaves `pending`)."""
        with self.h.db.session() as s:
            STAYS.move(s, KindSettlement.no == no, StayStatus.DISCHARGED, (StayStatus.ADMITTED,), pending=None,
                       updated_at=self.h.now())
        return load(self.h, "inpatient", no)

    def settle(self, no: str, endtime: datetime | None = None, dscg_way: str = "1", acct_used_flag: str = "1",
               channel: str | None = None, terminal: str = "desk", device: str | None = None,
               idempotency_key: str | None = None, payer_ref: str | None = None) -> dict[str, Any]:
        """Discharge (when still admitted), then pay: 2303, 2304 and the cash part through `channel`."""
        # the payment's fields and key are checked before the discharge commits anything
        paying.check(self.h, channel, terminal, acct_used_flag, device)
        if idempotency_key:
            paying.key_of(self.h, idempotency_key, f"stay:{no}")
        with one_at_a_time(self.h, no):
            row = self._resume(no)
            if row.status == StayStatus.ADMITTED:
                if not row.lines:
                    raise conflict(f"stay {no}: no fee lines uploaded")
                self._discharge(no, endtime, dscg_way)
            elif row.status == StayStatus.DISCHARGED and not row.lines:
                raise conflict(f"stay {no}: no fee lines uploaded")
            paying.pay_stay(self.h, no, channel, terminal, idempotency_key, acct_used_flag, payer_ref, device)
        return self.get(no)

    def cancel(self, no: str, reason: str = "") -> dict[str, Any]:
        """2305 and the cash back through its channel; the stay is discharged again (it may be settled again)."""
        row = load(self.h, "inpatient", no)
        if row.status != StayStatus.SETTLED or not row.payment_no:
            raise conflict(f"stay {no} is {row.status}: only a settled stay is cancelled")
        refunds.refund_payment(self.h, row.payment_no, reason or "cancelled at the desk")
        return self.get(no)

    def get(self, no: str) -> dict[str, Any]:
        return view(self.h, load(self.h, "inpatient", no))

