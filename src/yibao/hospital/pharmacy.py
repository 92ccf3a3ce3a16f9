"""Retail pharmacy sales (定点药店购药, med_type 41) through the platform: 2101 pre-settlement, 2102 settlement
(both outputs kept verbatim, the 2102 detlcutinfo is the lines' split), 2103 cancellation. Meant for an
institution the platform knows as a pharmacy; the platform refuses 2102 from another kind. The cash remainder is
recorded as paid at the desk."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from yibao.hospital.db import KindSettlement
from yibao.hospital.errors import conflict
from yibao.hospital.inpatient import TIME, call, cert_of, insured_patient, line_amount, load, save, view
from yibao.hospital.insurance import dumps
from yibao.money import ZERO

if TYPE_CHECKING:
    from yibao.hospital.service import Hospital


class Pharmacy:
    def __init__(self, hospital: Hospital):
        self.h = hospital

    def sell(self, patient_id: int, lines: list[dict[str, Any]], acct_used_flag: str = "1") -> dict[str, Any]:
        from yibao.hospital.service import new_no

        patient = insured_patient(self.h, patient_id)
        now = self.h.now()
        no = new_no("YD", now)
        drugs = [{"feedetl_sn": f"{no}-{i:03d}", "rxno": x.get("rxno") or "", "rx_circ_flag": "0",
                  "fee_ocur_time": f"{now:{TIME}}", "med_list_codg": x["med_list_codg"],
                  "medins_list_codg": x.get("medins_list_codg") or "",
                  "det_item_fee_sumamt": str(line_amount(x["pric"], x["cnt"])), "cnt": str(x["cnt"]),
                  "pric": str(x["pric"])} for i, x in enumerate(lines, 1)]
        total = sum((Decimal(d["det_item_fee_sumamt"]) for d in drugs), ZERO)
        druginfo = {"psn_no": patient.psn_no, **cert_of(patient), "begntime": f"{now:{TIME}}",
                    "medfee_sumamt": str(total), "invono": "", "insutype": patient.insutype,
                    "acct_used_flag": acct_used_flag, "med_type": "41"}
        with self.h.db.session() as s:
            s.add(KindSettlement(no=no, kind="retail", patient_id=patient_id, psn_no=patient.psn_no,
                                 insutype=patient.insutype, insuplc_admdvs=patient.insuplc_admdvs,
                                 status="settling", acct_used_flag=acct_used_flag,
                                 lines=[{**d, "name": x.get("name") or ""} for d, x in zip(drugs, lines, strict=True)],
                                 outs_2301=[], total=total, created_at=now, updated_at=now))
        insuplc = patient.insuplc_admdvs or ""
        body = {"druginfo": druginfo, "drugdetail": drugs}
        try:
            pre = call(self.h, "2101", body, insuplc, commits=False)
            save(self.h, no, out_pre=dumps(pre))
            out = call(self.h, "2102", body, insuplc)
        except Exception:
            save(self.h, no, status="failed")
            raise
        info = out["setlinfo"]
        split = {str(r["feedetl_sn"]): r for r in out.get("detlcutinfo") or []}
        row = load(self.h, "retail", no)
        kept = [{**x, **{k: str(split.get(x["feedetl_sn"], {}).get(k, "")) for k in
                         ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")}} for x in row.lines]
        return view(save(self.h, no, out_settle=dumps(out), setl_id=str(info["setl_id"]),
                         mdtrt_id=str(info["mdtrt_id"]), status="settled", lines=kept,
                         setl_time=datetime.strptime(str(info["setl_time"]), TIME),
                         cash_amount=Decimal(str(info["psn_cash_pay"])), channel="desk"))

    def cancel(self, no: str) -> dict[str, Any]:
        row = load(self.h, "retail", no)
        if row.status != "settled":
            raise conflict(f"sale {no} is {row.status}: only a settled sale is cancelled")
        out = call(self.h, "2103", {"data": {"setl_id": row.setl_id, "mdtrt_id": row.mdtrt_id,
                                             "psn_no": row.psn_no}}, row.insuplc_admdvs or "")
        return view(save(self.h, no, out_cancel=dumps(out), status="cancelled"))

    def get(self, no: str) -> dict[str, Any]:
        return view(load(self.h, "retail", no))
