"""2505 人员定点备案 (an institution files a cross-region filing for its patient) and 2506 its cancellation
(interface.md section 4; rules.md section 6; seed 004 art. 7-10). The envelope's insuplc_admdvs names the
patient's insured region; filing types are the platform's (codes.FILING_TYPES)."""

from __future__ import annotations

from pydantic import Field

from yibao.errors import refuse
from yibao.gateway.fields import Id, MaybeDay, Text
from yibao.gateway.registry import Node, interface
from yibao.platform import filing as fl
from yibao.platform.visits import patient
from yibao.platform.work import Work

FIELDS_2505 = {"psn_no": "input.data.psn_no", "type": "input.data.filing_type",
               "dest_admdvs": "input.data.dest_admdvs", "dest_fixmedins": "input.data.dest_fixmedins",
               "start": "input.data.begndate", "end": "input.data.enddate",
               "replaces_id": "input.data.trt_dcla_detl_sn", "dise_codg": "input.data.dise_codg"}


class Data2505(Node):
    psn_no: Id = Field(min_length=1)
    filing_type: Text = Field(min_length=1)
    dest_admdvs: Text = ""
    dest_fixmedins: Id = ""
    begndate: MaybeDay
    enddate: MaybeDay = None
    tel: Text = ""
    addr: Text = ""
    memo: Text = ""
    dise_codg: Id = ""  # the disease filed for: a dialysis disease is filed to one institution


class Input2505(Node):
    data: Data2505


@interface("2505", "人员定点备案", Input2505)
def file_for_patient(work: Work, data: Input2505) -> dict:
    d = data.data
    if d.begndate is None:
        raise refuse("input.data.begndate", "is required (yyyy-MM-dd)")
    person = patient(work, d.psn_no, check_suspension=False)
    dest_admdvs, dest_fixmedins = d.dest_admdvs or None, d.dest_fixmedins or None
    if dest_admdvs is None and dest_fixmedins is None:
        dest_fixmedins = work.here.code  # e.g. dialysis: filed to the institution that treats
    memo = "; ".join(x for x in (d.memo, f"tel {d.tel}" if d.tel else "", f"addr {d.addr}" if d.addr else "") if x)
    row = fl.file(work.session, person.psn_no, d.filing_type, dest_admdvs, dest_fixmedins, d.begndate, d.enddate,
                  now=work.now, today=work.today, actor=f"institution:{work.here.code}", memo=memo,
                  source="2505", fields=FIELDS_2505, dise_codg=d.dise_codg or None)
    last = fl.last_day(row, fl.referral_max(work.session, row.psn_no))
    return {"result": {"trt_dcla_detl_sn": str(row.id), "psn_no": row.psn_no, "filing_type": row.type,
                       "dest_admdvs": row.dest_admdvs or "", "dest_fixmedins": row.dest_fixmedins or "",
                       "begndate": row.start, "enddate": row.end or "", "valid_until": last or ""}}


class Data2506(Node):
    psn_no: Id = Field(min_length=1)
    trt_dcla_detl_sn: Id = Field(min_length=1)
    memo: Text = ""


class Input2506(Node):
    data: Data2506


@interface("2506", "人员定点备案撤销", Input2506)
def cancel_for_patient(work: Work, data: Input2506) -> dict:
    d = data.data
    field = "input.data.trt_dcla_detl_sn"
    person = patient(work, d.psn_no, check_suspension=False)
    row = fl.get(work.session, int(d.trt_dcla_detl_sn)) if d.trt_dcla_detl_sn.isdigit() else None
    if row is None or row.psn_no != person.psn_no:
        raise refuse(field, f"no filing {d.trt_dcla_detl_sn} of person {person.psn_no}")
    me = f"institution:{work.here.code}"
    if row.filed_by != me:
        raise refuse(field, f"filing {row.id} was not made by this institution ({row.filed_by or row.source}); an "
                            "institution cancels only the filings it made: the person or the insured region's "
                            "agency cancels the others")
    row = fl.cancel(work.session, row.id, now=work.now, actor=me, memo=d.memo, field=field)
    return {"result": {"trt_dcla_detl_sn": str(row.id), "psn_no": row.psn_no, "status": row.status}}
