"""2560 零星报销协办资料上传 (upload of the records of a reimbursement coordination request, seed 004 art. 17).

This interface is yibao's own: the national platform's code for it is not public. The institution named in
a request, once the treatment region's agency has dispatched it, uploads the fee lines of the request's days;
the claim is computed by the cross-region rules with the policy in force today (art. 18) and recorded as a
settlement (kind "coordination", not cancellable by 2208). docs/crossregion.md describes the fields.
"""

from __future__ import annotations

from pydantic import Field

from yibao.errors import refuse
from yibao.gateway import render
from yibao.gateway.fields import Id, MedType
from yibao.gateway.lines import FeeLineBase, line_in
from yibao.gateway.registry import Node, interface
from yibao.platform import coordination, fees, settlement
from yibao.platform.work import Work


class Data2560(Node):
    coord_id: int = Field(description="the coordination request's id")
    psn_no: Id = Field(min_length=1)
    med_type: MedType
    dise_codg: Id = ""


class CoordinationLine(FeeLineBase):
    """A 2204 fee line without mdtrt_id and chrg_bchno (the platform makes the visit)."""

    dise_codg: Id = ""


class Input2560(Node):
    data: Data2560
    feedetail: list[CoordinationLine] = Field(min_length=1)


@interface("2560", "零星报销协办资料上传", Input2560)
def upload_records(work: Work, data: Input2560) -> dict:
    d = data.data
    row = coordination.find(work.session, d.coord_id, lock=True)
    if row is None or row.fixmedins_code != work.here.code:
        raise refuse("input.data.coord_id", f"no coordination request {d.coord_id} for this institution")
    if d.psn_no != row.psn_no:
        raise refuse("input.data.psn_no", f"request {row.id} is for another person")
    person = settlement.person_for_message(work.session, d.psn_no, work.insuplc_admdvs, work.here)
    codes = {x.dise_codg for x in data.feedetail if x.dise_codg} | ({d.dise_codg} if d.dise_codg else set())
    if len(codes) > 1:
        raise refuse("input.data.dise_codg", f"the records carry {len(codes)} disease codes "
                                             f"({', '.join(sorted(codes))}): one disease per claim")
    lines = [line_in(f"input.feedetail[{i}]", x, None) for i, x in enumerate(data.feedetail)]
    done = coordination.upload(work.session, row, institution=work.here, person=person, med_type=d.med_type,
                               dise_codg=next(iter(codes), None), lines=lines, today=work.today, now=work.now,
                               msgid=work.msgid, opter=work.caller.opter,
                               opter_name=work.caller.opter_name)
    info = render.setlinfo_of_row(done.settlement, person, mdtrt_cert_type="", a_form=True)
    info["coord_id"] = row.id
    return {"setlinfo": info, "setldetail": render.setldetail(done.funds),
            "result": [fees.result_row(r.feedetl_sn, r.cnt, r.pric, fees.split_to_line(r)) for r in done.lines]}
