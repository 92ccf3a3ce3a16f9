"""Inpatient stays through the platform: admission (2401), fee lines (2301), discharge (2402), pre-settlement
(2303) and settlement (2304, acct_used_flag so the account and family mutual aid apply), cancellation (2305).

The 2301 and 2304 outputs are kept verbatim on the stay (db.KindSettlement) like the outpatient 2204/2207: the
slip is made from them. The cash remainder (psn_cash_pay) is recorded as paid at the desk; no channel order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from yibao.client import PlatformError
from yibao.hospital.db import KindSettlement, Patient
from yibao.hospital.errors import HospitalError, conflict, invalid, not_found, upstream
from yibao.hospital.insurance import OutcomeUnknown, dumps, loads
from yibao.money import ZERO, round2, to_decimal

if TYPE_CHECKING:
    from yibao.hospital.service import Hospital

TIME = "%Y-%m-%d %H:%M:%S"
SPLIT = ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")


def call(h: Hospital, infno: str, input_: dict[str, Any], insuplc: str, commits: bool = True) -> dict[str, Any]:
    """One message to the platform: a refusal is 502 with its err_msg, a lost answer of a committing one 504."""
    try:
        if commits:
            return h.insurance.committed(infno, input_, insuplc)
        return h.insurance.ok(infno, input_, insuplc)
    except PlatformError as exc:
        raise upstream(f"{infno}: {exc.err_msg}") from None
    except OutcomeUnknown as exc:
        raise HospitalError(504, f"{infno}: outcome unknown, reverse it by 2601 or ask again ({exc})") from None


def insured_patient(h: Hospital, patient_id: int) -> Patient:
    with h.db.session() as s:
        patient = s.get(Patient, patient_id)
    if patient is None:
        raise not_found(f"patient {patient_id} is not known")
    if not patient.psn_no:
        raise invalid(f"patient {patient_id}: not insured (no psn_no from 1101); settle him as self-paying")
    return patient


def cert_of(patient: Patient) -> dict[str, str]:
    return {"mdtrt_cert_type": patient.mdtrt_cert_type or "02",
            "mdtrt_cert_no": patient.mdtrt_cert_no or patient.certno}


def load(h: Hospital, kind: str, no: str) -> KindSettlement:
    with h.db.session() as s:
        row = s.scalar(select(KindSettlement).where(KindSettlement.no == no, KindSettlement.kind == kind))
    if row is None:
        raise not_found(f"{'stay' if kind == 'inpatient' else 'sale'} {no} is not known")
    return row


def save(h: Hospital, no: str, **values: Any) -> KindSettlement:
    with h.db.session() as s:
        row = s.scalar(select(KindSettlement).where(KindSettlement.no == no))
        assert row is not None
        for k, v in values.items():
            setattr(row, k, v)
        row.updated_at = h.now()
        s.flush()
        return row


def line_amount(pric: Any, cnt: Any) -> Decimal:
    return round2(to_decimal(pric) * to_decimal(cnt))


def view(row: KindSettlement) -> dict[str, Any]:
    """A stay or a sale: its state, lines and, once settled, the platform's figures (from the kept output)."""
    settle = loads(row.out_settle) if row.out_settle else None
    info = (settle or {}).get("setlinfo") or {}
    return {"no": row.no, "kind": row.kind, "patient_id": row.patient_id, "psn_no": row.psn_no,
            "mdtrt_id": row.mdtrt_id, "status": row.status, "total": row.total, "lines": row.lines,
            "setl_id": row.setl_id, "acct_used_flag": row.acct_used_flag,
            "insurance": {k: info.get(k) for k in ("setl_id", "medfee_sumamt", "fund_pay_sumamt", "hifp_pay",
                                                   "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc")}
            if info else None,
            "cash": {"amount": row.cash_amount, "channel": row.channel,
                     "status": "paid at the desk" if row.cash_amount is not None else "none"},
            "slip": {"html": f"/slips/{row.setl_id}.html", "pdf": f"/slips/{row.setl_id}.pdf"}
            if row.setl_id else None}


class Inpatient:
    def __init__(self, hospital: Hospital):
        self.h = hospital

    def admit(self, patient_id: int, begntime: datetime | None = None, adm_dept_codg: str = "",
              adm_dept_name: str = "", med_type: str = "21", diag_name: str = "") -> dict[str, Any]:
        """2401: the stay's ipt_no is made here; the platform answers its mdtrt_id."""
        from yibao.hospital.service import new_no

        patient = insured_patient(self.h, patient_id)
        now = self.h.now()
        no = new_no("ZY", now)
        begin = begntime or now
        out = call(self.h, "2401", {"mdtrtinfo": {
            "psn_no": patient.psn_no, "insutype": patient.insutype, "begntime": f"{begin:{TIME}}", **cert_of(patient),
            "med_type": med_type, "ipt_no": no, "adm_dept_codg": adm_dept_codg, "adm_dept_name": adm_dept_name,
            "adm_diag_dscr": diag_name}, "diseinfo": []}, patient.insuplc_admdvs or "")
        mdtrt_id = str(out["result"]["mdtrt_id"])
        with self.h.db.session() as s:
            row = KindSettlement(no=no, kind="inpatient", patient_id=patient_id, psn_no=patient.psn_no,
                                 insutype=patient.insutype, insuplc_admdvs=patient.insuplc_admdvs,
                                 mdtrt_id=mdtrt_id, status="admitted", lines=[], outs_2301=[], total=ZERO,
                                 created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            return view(row)

    def upload(self, no: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """2301: fee lines of the stay (a negative cnt with init_feedetl_sn returns a line); output kept."""
        row = load(self.h, "inpatient", no)
        if row.status != "admitted":
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
        out = call(self.h, "2301", {"feedetail": feedetail}, row.insuplc_admdvs or "")
        split = {str(r["feedetl_sn"]): r for r in out.get("result") or []}
        kept = [{**f, "name": x.get("name") or "", **{k: str(split.get(f["feedetl_sn"], {}).get(k, "")) for k in SPLIT}}
                for f, x in zip(feedetail, lines, strict=True)]
        total = row.total + sum((Decimal(f["det_item_fee_sumamt"]) for f in feedetail), ZERO)
        return view(save(self.h, no, lines=[*row.lines, *kept], outs_2301=[*row.outs_2301, dumps(out)],
                         total=total))

    def settle(self, no: str, endtime: datetime | None = None, dscg_way: str = "1",
               acct_used_flag: str = "1") -> dict[str, Any]:
        """2402 (when still admitted), 2303 then 2304 with the sums of the kept 2301 split; cash at the desk."""
        row = load(self.h, "inpatient", no)
        if row.status in ("settled", "cancelled"):
            raise conflict(f"stay {no} is {row.status}")
        if not row.lines:
            raise conflict(f"stay {no}: no fee lines uploaded")
        insuplc = row.insuplc_admdvs or ""
        if row.status == "admitted":
            call(self.h, "2402", {"dscginfo": {"mdtrt_id": row.mdtrt_id, "psn_no": row.psn_no,
                                               "insutype": row.insutype,
                                               "endtime": f"{endtime or self.h.now():{TIME}}", "dscg_way": dscg_way},
                                  "diseinfo": []}, insuplc)
            row = save(self.h, no, status="discharged")
        patient = insured_patient(self.h, row.patient_id)
        sums = {k: sum((Decimal(x[k]) for x in row.lines if x.get(k) not in (None, "")), ZERO) for k in SPLIT}
        data = {"psn_no": row.psn_no, **cert_of(patient), "medfee_sumamt": str(row.total), "psn_setlway": "01",
                "mdtrt_id": row.mdtrt_id, "insutype": row.insutype, "acct_used_flag": acct_used_flag,
                "invono": "", "mid_setl_flag": "0", "fulamt_ownpay_amt": str(sums["fulamt_ownpay_amt"]),
                "overlmt_selfpay": str(sums["overlmt_amt"]), "preselfpay_amt": str(sums["preselfpay_amt"]),
                "inscp_scp_amt": str(sums["inscp_scp_amt"])}
        pre = call(self.h, "2303", {"data": data}, insuplc, commits=False)
        save(self.h, no, out_pre=dumps(pre), acct_used_flag=acct_used_flag)
        out = call(self.h, "2304", {"data": data}, insuplc)
        info = out["setlinfo"]
        return view(save(self.h, no, out_settle=dumps(out), setl_id=str(info["setl_id"]), status="settled",
                         setl_time=datetime.strptime(str(info["setl_time"]), TIME),
                         cash_amount=Decimal(str(info["psn_cash_pay"])), channel="desk"))

    def cancel(self, no: str) -> dict[str, Any]:
        """2305: the settlement undone (the account and mutual aid given back); the cash is the desk's to return."""
        row = load(self.h, "inpatient", no)
        if row.status != "settled":
            raise conflict(f"stay {no} is {row.status}: only a settled stay is cancelled")
        out = call(self.h, "2305", {"data": {"mdtrt_id": row.mdtrt_id, "setl_id": row.setl_id,
                                             "psn_no": row.psn_no}}, row.insuplc_admdvs or "")
        return view(save(self.h, no, out_cancel=dumps(out), status="cancelled"))

    def get(self, no: str) -> dict[str, Any]:
        return view(load(self.h, "inpatient", no))
