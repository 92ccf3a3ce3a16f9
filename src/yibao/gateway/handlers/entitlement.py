"""2001 人员待遇享受检查 (the entitlement check a desk makes before registering) and 5302 人员定点信息查询 (a
person's designated institutions and filings). interface-integration.md sections 5 and 9; yibao's readings in
docs/entitlement.md. Both only read: they accept sign_no "" under the default sign-in policy."""

from __future__ import annotations

from pydantic import Field

from yibao.gateway.fields import Id, InsuType, MaybeTime, MedType, Text, Time, code, regional_code
from yibao.gateway.registry import Node, interface
from yibao.platform import entitlement
from yibao.platform.work import Work
from yibao.rules import entitlement as rules


class Data2001(Node):
    psn_no: Id = Field(min_length=1)
    insutype: InsuType
    fixmedins_code: Id = ""
    med_type: MedType
    begntime: Time
    endtime: MaybeTime = None
    dise_codg: Id = ""
    dise_name: Text = ""
    oprn_oprt_code: Id = ""
    oprn_oprt_name: Text = ""
    #: 生育类别: its national dictionary is not public and regions send their own codes (str 6)
    matn_type: regional_code("matn_type", 6) = ""
    birctrl_type: code("birctrl_type", empty=True) = ""


class Input2001(Node):
    data: Data2001


@interface("2001", "人员待遇享受检查", Input2001)
def entitlement_check(work: Work, data: Input2001) -> dict:
    d = data.data
    person, findings = entitlement.check(work, entitlement.Query(
        d.psn_no, d.insutype, d.fixmedins_code, d.med_type, d.begntime, d.endtime, d.dise_codg.strip()))
    return {"trtinfo": rules.rows(person.psn_no, d.insutype, findings)}


class Data5302(Node):
    psn_no: Id = Field(min_length=1)
    #: 业务申请类型: required by the spec (OpenHIS sends "03"); yibao keeps one kind of designation, its filings
    biz_appy_type: regional_code("biz_appy_type", 3, empty=False)


class Input5302(Node):
    data: Data5302


@interface("5302", "人员定点信息查询", Input5302)
def designated_institutions(work: Work, data: Input5302) -> dict:
    _person, rows = entitlement.designations(work, data.data.psn_no)
    return {"psnfixmedin": rows}
