"""Chronic/special diseases (门慢特): 2503 recognition at the institution (人员慢特病备案), 2504 its cancellation,
5301 the person's recognitions (人员慢特病备案查询). Seed 004 art. 10: a recognition made at the treatment
institution is uploaded to, and kept by, the insured region."""

from __future__ import annotations

from pydantic import Field

from yibao.errors import refuse
from yibao.gateway.fields import Id, MaybeDay, Text
from yibao.gateway.registry import Node, interface
from yibao.platform import diseases, settlement
from yibao.platform.visits import patient
from yibao.platform.work import Work


class Data2503(Node):
    psn_no: Id = Field(min_length=1)
    opsp_dise_code: Id = Field(min_length=1)
    opsp_dise_name: Text = ""
    begndate: MaybeDay
    enddate: MaybeDay = None
    memo: Text = ""


class Input2503(Node):
    data: Data2503


class Data2504(Node):
    psn_no: Id = Field(min_length=1)
    opsp_dise_code: Id = Field(min_length=1)
    memo: Text = ""


class Input2504(Node):
    data: Data2504


class Data5301(Node):
    psn_no: Id = Field(min_length=1)


class Input5301(Node):
    data: Data5301


@interface("2503", "人员慢特病备案", Input2503)
def recognize(work: Work, data: Input2503) -> dict:
    d = data.data
    inst = work.here
    if inst.kind != "hospital":
        raise refuse("fixmedins_code", "a chronic/special disease is recognised at a hospital, not a pharmacy")
    person = patient(work, d.psn_no, check_suspension=False)
    # an institution recognises for the persons it may treat: its cross-region qualification (art. 10:
    # "在就医地符合资质的定点医疗机构")
    settlement.case_for(person, inst, "outpatient")
    if d.begndate is None:
        raise refuse("input.data.begndate", "is required (yyyy-MM-dd)")
    row = diseases.recognize(work.session, person, diseases.Recognition(
        person.psn_no, d.opsp_dise_code.strip(), d.begndate, d.enddate, inst.code, d.memo),
        treatment_admdvs=inst.admdvs)
    return {"result": {"opsp_dise_code": row.code, "begndate": row.since.isoformat() if row.since else "",
                       "enddate": row.until.isoformat() if row.until else ""}}


@interface("2504", "人员慢特病备案撤销", Input2504)
def cancel(work: Work, data: Input2504) -> dict:
    d = data.data
    person = patient(work, d.psn_no, check_suspension=False)
    row = diseases.cancel(work.session, person, d.opsp_dise_code.strip(), by=work.here.code)
    return {"result": {"opsp_dise_code": row.code, "status": row.status}}


@interface("5301", "人员慢特病备案查询", Input5301)
def query(work: Work, data: Input5301) -> dict:
    person = patient(work, data.data.psn_no, check_suspension=False)
    rows = diseases.of_person(work.session, person)
    # interface.md 2: the node is probably `feedetail` (one Jilin VO); `data` carries the same list
    return {"feedetail": rows, "data": [dict(r) for r in rows]}
