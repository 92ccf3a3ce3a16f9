"""1101 person lookup, 90991 card password check and 90100 contribution query."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import StrictStr

from yibao.codes import province
from yibao.errors import refuse
from yibao.gateway.fields import CertType, code
from yibao.gateway.registry import Node, interface
from yibao.platform import ecredential, persons
from yibao.platform.records import Person
from yibao.platform.work import Work


class Data1101(Node):
    mdtrt_cert_type: Literal["01", "02", "03"]
    mdtrt_cert_no: StrictStr
    card_sn: StrictStr = ""
    begntime: StrictStr = ""
    psn_cert_type: code("psn_cert_type", empty=True) = ""
    certno: StrictStr = ""
    psn_name: StrictStr = ""


class Input1101(Node):
    data: Data1101


class Data90991(Node):
    mdtrt_cert_type: CertType = "03"
    mdtrt_cert_no: StrictStr
    card_sn: StrictStr = ""
    pwd: StrictStr = ""


class Input90991(Node):
    data: Data90991


class Data90100(Node):
    psn_no: StrictStr


class Input90100(Node):
    data: Data90100


def _insu_stas(person: Person) -> str:
    return "2" if person.suspended else "1"


@interface("1101", "人员信息获取", Input1101)
def person_info(work: Work, data: Input1101) -> dict:
    d = data.data
    _check_xprov_cert_type(work, d.mdtrt_cert_type)
    cred = persons.Credential(d.mdtrt_cert_type, d.mdtrt_cert_no.strip(), d.card_sn.strip())
    # 01 may carry a mobile-payment authorization (payAuthNo): it names its holder (docs/mobilepay.md)
    authorized = ecredential.holder_for_lookup(work.session, cred.number, work.here.code, work.now,
                                               work.insuplc_admdvs) if cred.kind == "01" else None
    person = authorized[0] if authorized else persons.find_person(work.session, work.here,
                                                                   work.insuplc_admdvs, cred)
    persons.check_claimed_identity(person, d.certno.strip() or None, d.psn_name.strip() or None)
    return {
        "baseinfo": {
            "psn_no": person.psn_no, "psn_cert_type": person.psn_cert_type, "certno": person.certno,
            "psn_name": person.name, "gend": person.gend, "naty": person.naty,
            "brdy": person.brdy.isoformat(), "age": Decimal(persons.age_on(person.brdy, work.today)).quantize(
                Decimal("0.1")), "exp_content": {"business_token": authorized[1].ec_token} if authorized else {},
        },
        "insuinfo": [{
            "balc": persons.account_balance(work.session, person.psn_no), "insutype": person.insutype,
            "psn_type": person.psn_type, "psn_insu_stas": _insu_stas(person),
            "psn_insu_date": person.insu_date.isoformat() if person.insu_date else "",
            "paus_insu_date": "", "cvlserv_flag": "0", "insuplc_admdvs": person.admdvs,
            "insu_admdvs": person.admdvs, "emp_name": person.emp_name or "",
        }],
        "idetinfo": [],
    }


def _check_xprov_cert_type(work: Work, cert_type: str) -> None:
    """A person insured in another province presents only the credential types the treatment region's setting
    `xprov_cert_types` lists (seed 003 社保卡跨省读取)."""
    local = work.here.admdvs
    insured = persons.searched_region(work.session, work.here, work.insuplc_admdvs)
    if province(insured) == province(local):
        return
    allowed = persons.xprov_cert_types(work.session, local)
    if cert_type not in allowed:
        raise refuse("input.data.mdtrt_cert_type", f"credential type {cert_type} is not accepted in region {local} "
                                                   f"for a person insured in another province ({insured}); region "
                                                   f"setting xprov_cert_types allows {', '.join(allowed) or 'none'}")


@interface("90991", "社保卡密码校验", Input90991)
def card_password(work: Work, data: Input90991) -> dict:
    """Seed 003 社保卡读取: a cross-region card user needs no password check; the platform answers that it was
    not required. For a local card user, the card (number and card_sn) is checked; the dataset holds no PINs,
    so `pwd` is required but not compared (docs/crossregion.md)."""
    d = data.data
    if d.mdtrt_cert_type != "03":
        raise refuse("input.data.mdtrt_cert_type", "90991 checks a social-security card's password: must be 03")
    local = work.here.admdvs
    insured = persons.searched_region(work.session, work.here, work.insuplc_admdvs)
    if insured != local:
        return {"result": {"checked": "0", "reason": "not required of cross-region card users (seed 003)"}}
    if not d.card_sn.strip():
        raise refuse("input.data.card_sn", "is required to check a social-security card")
    if not d.pwd:
        raise refuse("input.data.pwd", "is required for a local card user")
    person = persons.find_person(work.session, work.here, work.insuplc_admdvs,
                                 persons.Credential("03", d.mdtrt_cert_no.strip(), d.card_sn.strip()))
    if not person.card_sn:
        raise refuse("input.data.card_sn", "the card's identification code is not on record; the card cannot "
                                           "be checked")
    return {"result": {"checked": "1", "psn_no": person.psn_no,
                       "reason": "card number and card_sn verified; PINs are not held by this platform, the "
                                 "password itself is not compared"}}


@interface("90100", "缴费信息查询", Input90100)
def contributions(work: Work, data: Input90100) -> dict:
    person, rows = persons.local_contributions(work, data.data.psn_no)
    return {
        "baseinfo": {"psn_no": person.psn_no, "psn_name": person.name, "insutype": person.insutype,
                     "psn_insu_stas": _insu_stas(person), "arrears_flag": "1" if person.arrears else "0"},
        "data": [{"accrym": r.ym.replace("-", ""), "insutype": r.insutype, "clct_sumamt": r.amount,
                  "clct_flag": "1" if r.paid else "0"} for r in rows],
    }
