"""Pay orders of the mobile-payment centre: 6201 upload, 6202 pay, 6203 refund, 6301 query, 6401 revoke.

Each function runs in the caller's unit of work on the opened (plaintext, camelCase) `data` and returns the
plaintext answer. The business itself is the platform's own use cases, as the desk's messages would run them:
the visit is registered (2201), described (2203), its lines uploaded and split (2204), settled as a 2207A,
cancelled as a 2208, revoked as a 2202 / 2205 -- so a mobile payment is checked, settled, booked and cancelled
exactly as the desk's would be (rules.md 4-5). Refusals keep the use cases' `path: rule` texts, with the paths
rewritten to the camelCase fields sent (fields.to_camel_paths).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from yibao import wire
from yibao.errors import Refusal, refuse
from yibao.gateway.lines import FeeLine, line_in
from yibao.gateway.render import cancel_output, settled_output
from yibao.mobilepay.fields import (
    CENTS,
    Data6201,
    Data6202,
    Data6203,
    Data6301,
    Data6401,
    camel_keys,
    decimals_as_text,
    fingerprint,
    snake_keys,
    validate,
)
from yibao.platform import checkout, ecredential, fees, uploads, visits
from yibao.platform.ids import new_id
from yibao.platform.persons import pooling_region
from yibao.platform.work import Caller, Work
from yibao.store.models import PayAuth, PayOrder, PayRefund, Person
from yibao.validation import problems_of

# ordStas (yibao's codes, within the groups integrations use: 0-2 in progress, 3-6 settled, 7-13 ended)
UPLOADED, SETTLED, REVOKED, REFUNDED, HI_REFUNDED = "0", "6", "7", "8", "9"
STATES = {UPLOADED: "uploaded, awaiting payment", SETTLED: "settled", REVOKED: "revoked",
          REFUNDED: "refunded in full", HI_REFUNDED: "insurance part refunded, cash not yet"}
#: who the platform records as the operator of what it does for the mobile-payment centre
CALLER = Caller("institution", "", "MOBILEPAY", "医保移动支付")


@dataclass
class Ctx:
    """One request of the mobile-payment centre: its Work, and what its audit row records besides."""

    work: Work
    replayed: bool = False
    order_id: str | None = None

    def as_desk(self, insuplc: str, msgid: str) -> Work:
        """The Work of what a desk's message would be: the platform acting for the centre, for one person."""
        w = self.work
        return replace(w, caller=replace(CALLER, subject=w.here.code), msgid=msgid, insuplc_admdvs=insuplc)


def _same(sent: str, known: str, path: str, what: str) -> None:
    if sent and sent != known:
        raise refuse(path, f"must be {what} {known}, not {sent}")


def _check_identity(person: Person, *, id_no: str = "", user_name: str = "", id_type: str = "") -> None:
    if id_no and id_no.upper() != person.certno:
        raise refuse("data.idNo", "does not belong to the person of the authorization or order")
    if user_name and user_name != person.name:
        raise refuse("data.userName", "does not match the name of the person of the authorization or order")
    if id_type and id_type != person.psn_cert_type:
        raise refuse("data.idType", f"the person's document type is {person.psn_cert_type}, not {id_type}")


def _order(ctx: Ctx, pay_ord_id: str, pay_token: str | None, *, lock: bool) -> PayOrder:
    order = ctx.work.session.get(PayOrder, pay_ord_id, with_for_update=True if lock else None)
    if order is None or order.fixmedins_code != ctx.work.here.code:
        raise refuse("data.payOrdId", f"no pay order {pay_ord_id} of this institution")
    if pay_token is not None and pay_token != order.pay_token:
        raise refuse("data.payToken", f"is not the payToken of pay order {pay_ord_id}")
    ctx.order_id = order.pay_ord_id
    return order


def _person(ctx: Ctx, psn_no: str) -> Person:
    person = ctx.work.session.get(Person, psn_no)
    if person is None:
        raise refuse("data.psnNo", f"no insured person {psn_no}")
    return person


def _authorization(ctx: Ctx, order: PayOrder, pay_auth_no: str, ec_token: str) -> PayAuth:
    w = ctx.work
    auth = ecredential.live(w.session, w.here.code, w.now, pay_auth_no=pay_auth_no, ec_token=ec_token)
    if auth.psn_no != order.psn_no:
        raise refuse("data.payAuthNo" if pay_auth_no else "data.ecToken",
                     f"authorizes another person than the one of pay order {order.pay_ord_id}")
    return auth


def _decode(text: str) -> dict[str, Any]:
    return dict(wire.decode(text.encode("utf-8")))


def _encode(answer: dict[str, Any]) -> str:
    """An answer kept for replays, in the text form it is sent in (decimals as strings): the same bytes again."""
    return wire.encode(decimals_as_text(answer)).decode("utf-8")


def _fee_line(i: int, line: dict[str, Any]) -> fees.LineIn:
    """A feedetailList line as the 2204 line it is, checked like one."""
    try:
        return line_in(f"input.feedetail[{i}]", FeeLine.model_validate(line), line["chrg_bchno"])
    except ValidationError as exc:
        raise Refusal("; ".join(f"{p}: {r}" for p, r in problems_of(exc, ["input", "feedetail", i]))) from None


# -- 6201 ------------------------------------------------------------------------------------------------

def _not_outpatient(med_type: str) -> bool:
    """Inpatient (2x), maternity inpatient (52) and pharmacy (41) are not outpatient visits."""
    return med_type.startswith("2") or med_type in ("41", "52")


#: 6201's optional split amounts and the 2204 result column each must equal
SPLIT_CLAIMS = (("fulamtOwnpayAmt", "fulamt_ownpay_amt"), ("overlmtSelfpay", "overlmt_amt"),
                ("preselfpayAmt", "preselfpay_amt"), ("inscpScpAmt", "inscp_scp_amt"))


def upload(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    """6201: the visit (registered, or the HIS's own mdtrtId) and its lines; a pay order with its payToken."""
    d: Data6201 = validate(Data6201, raw)
    s, inst = ctx.work.session, ctx.work.here
    _same(d.orgCodg, inst.code, "data.orgCodg", "this institution's code (the appId's)")
    digest = fingerprint(raw)
    existing = s.scalar(select(PayOrder).where(PayOrder.fixmedins_code == inst.code,
                                               PayOrder.med_org_ord == d.medOrgOrd))
    if existing is not None:
        ctx.order_id = existing.pay_ord_id
        if existing.upload_sha256 != digest:
            raise refuse("data.medOrgOrd", f"{d.medOrgOrd} already names pay order {existing.pay_ord_id}, uploaded "
                                           "with other content; a new order needs a new medOrgOrd")
        ctx.replayed = True
        return _decode(existing.upload_answer)

    auth = ecredential.live(s, inst.code, ctx.work.now, pay_auth_no=d.payAuthNo, ec_token=d.ecToken)
    person = _person(ctx, auth.psn_no)
    if d.psnNo != person.psn_no:
        raise refuse("data.psnNo", f"{d.psnNo} is not the person the e-credential authorization names")
    _check_identity(person, id_no=d.idNo, user_name=d.userName, id_type=d.idType)
    if pooling_region(s, d.insuCode) != person.admdvs:
        raise refuse("data.insuCode", f"the person is insured in {person.admdvs}, not {d.insuCode}")
    if d.insutype != person.insutype:
        raise refuse("data.insutype", f"the person is insured under {person.insutype}, not {d.insutype}")
    if _not_outpatient(d.medType):
        raise refuse("data.medType", f"{d.medType} is not an outpatient category; the mobile-payment centre "
                                     "settles outpatient visits (inpatient and pharmacy use 2304 / 2102)")
    total = sum((x.detItemFeeSumamt for x in d.feedetailList), CENTS)
    if d.medfeeSumamt != total:
        raise refuse("data.medfeeSumamt", f"{d.medfeeSumamt} sent, but the feedetailList lines sum to {total}")
    if d.fulamtOwnpayAmt is not None and d.preselfpayAmt is not None and d.inscpScpAmt is not None:
        parts = d.fulamtOwnpayAmt + (d.overlmtSelfpay or CENTS) + d.preselfpayAmt + d.inscpScpAmt
        if parts != d.medfeeSumamt:
            raise refuse("data.medfeeSumamt", f"{d.medfeeSumamt} sent, but fulamtOwnpayAmt + overlmtSelfpay + "
                                              f"preselfpayAmt + inscpScpAmt = {parts}")
    for i, line in enumerate(d.feedetailList):
        _same(line.chrgBchno, d.chrgBchno, f"data.feedetailList[{i}].chrgBchno", "the order's chrgBchno")

    pay_ord_id = new_id(inst.admdvs, ctx.work.now)
    ctx.order_id = pay_ord_id
    insuplc = person.admdvs
    desk = ctx.as_desk(insuplc, pay_ord_id)
    if d.mdtrtId:  # the HIS registered the visit itself (2201): the order is a batch of its own on it
        visit = visits.visit_of(desk, d.mdtrtId, person.psn_no, "outpatient")
        if fees.unsettled(s, visit.mdtrt_id, d.chrgBchno):
            raise refuse("data.chrgBchno", f"batch {d.chrgBchno} of visit {visit.mdtrt_id} already has unsettled "
                                           "lines; a pay order needs a batch of its own")
        registered = False
    else:
        visit = visits.open_visit(desk, visits.Opening(
            "outpatient", person.psn_no, d.insutype, d.begntime, "01", d.iptOtpNo,
            info={"atddr_no": d.atddrNo, "dr_name": d.drName, "dept_code": d.deptCode, "dept_name": d.deptName,
                  "caty": d.caty}), at="input.data")
        registered = True
    mdtrt_id = visit.mdtrt_id
    visits.describe(desk, visit, med_type=d.medType, dise_codg=d.diseCodg, dise_name=d.diseName,
                    replace_disease=True, info={"main_cond_dscr": d.mainCondDscr,
                                                "diseinfo": [snake_keys(x) for x in d.diseinfoList]})
    s.flush()  # the upload locks and reads the visit again, as the desk's next message would
    lines = [_fee_line(i, {**snake_keys(line), "mdtrt_id": mdtrt_id, "psn_no": person.psn_no,
                           "chrg_bchno": d.chrgBchno}) for i, line in enumerate(raw["feedetailList"])]
    rows = uploads.upload(desk, "outpatient", mdtrt_id, person.psn_no, lines)
    result = [fees.result_row(r.feedetl_sn, r.cnt, r.pric, fees.split_to_line(r)) for r in rows]
    for name, column in SPLIT_CLAIMS:
        sent = getattr(d, name)
        computed = sum((r[column] for r in result), CENTS)
        if sent is not None and sent != computed:
            raise refuse(f"data.{name}", f"{sent} sent, but the platform's split of the lines gives {computed}")

    pay_token = secrets.token_hex(16)
    answer = {"payOrdId": pay_ord_id, "payToken": pay_token, "mdtrtId": mdtrt_id, "medOrgOrd": d.medOrgOrd,
              "chrgBchno": d.chrgBchno, "ordStas": UPLOADED, "feeSumamt": d.medfeeSumamt,
              "extData": {"result": [camel_keys(r) for r in result]}}
    s.add(PayOrder(pay_ord_id=pay_ord_id, pay_token=pay_token, fixmedins_code=inst.code, med_org_ord=d.medOrgOrd,
                   psn_no=person.psn_no, pay_auth_no=auth.pay_auth_no, mdtrt_id=mdtrt_id, registered=registered,
                   chrg_bchno=d.chrgBchno, med_type=d.medType, acct_used_flag=d.acctUsedFlag, ord_stas=UPLOADED,
                   fee_sumamt=d.medfeeSumamt, upload_sha256=digest, upload_answer=_encode(answer),
                   cash_refd_amt=CENTS, acct_refd_amt=CENTS, fund_refd_amt=CENTS, created_at=ctx.work.now))
    return answer


# -- 6202 ------------------------------------------------------------------------------------------------

def pay(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    """6202: settle the order as 2207A would (acctUsedFlag; own account, then mutual aid), once."""
    d: Data6202 = validate(Data6202, raw)
    order = _order(ctx, d.payOrdId, d.payToken, lock=True)
    _same(d.orgCodg, ctx.work.here.code, "data.orgCodg", "this institution's code (the appId's)")
    _same(d.chrgBchno, order.chrg_bchno, "data.chrgBchno", "the order's chrgBchno")
    _same(d.mdtrtId, order.mdtrt_id, "data.mdtrtId", "the order's mdtrtId")
    if order.settle_answer is not None:  # settled before: the same answer, never a second settlement
        ctx.replayed = True
        return {**_decode(order.settle_answer), "ordStas": order.ord_stas}
    if order.ord_stas == REVOKED:
        raise refuse("data.payOrdId", f"pay order {order.pay_ord_id} was revoked (6401); upload the fees again "
                                      "(6201) for a new order")
    _authorization(ctx, order, d.payAuthNo, d.ecToken)
    person = _person(ctx, order.psn_no)
    lines = fees.unsettled(ctx.work.session, order.mdtrt_id, order.chrg_bchno)

    def total(column: str) -> Decimal:
        return sum((getattr(x, column) for x in lines), CENTS)

    flag = d.acctUsedFlag or order.acct_used_flag or "1"
    claim = checkout.Claim(order.fee_sumamt, total("fulamt_ownpay_amt"), total("overlmt_amt"),
                           total("preselfpay_amt"), total("inscp_scp_amt"))
    done = checkout.settle_outpatient(ctx.as_desk(person.admdvs, order.pay_ord_id), checkout.Bill(
        person.psn_no, order.mdtrt_id, person.insutype, flag, claim, med_type=order.med_type,
        chrg_bchno=order.chrg_bchno))
    out = settled_output(done, mdtrt_cert_type="01", a_form=True)
    info = out["setlinfo"]
    acct, mulaid = info["acct_pay"], info["acct_mulaid_pay"]
    cash, fund, hosp = info["psn_cash_pay"], info["fund_pay_sumamt"], info["hosp_part_amt"]
    if cash + acct + fund + hosp != info["medfee_sumamt"]:  # the settlement's own invariant; never expected
        raise RuntimeError(f"settlement {info['setl_id']} does not add up")
    answer = {"payOrdId": order.pay_ord_id, "ordStas": SETTLED, "feeSumamt": info["medfee_sumamt"],
              "ownPayAmt": cash, "psnAcctPay": acct, "fundPay": fund, "deposit": CENTS, "hospPartAmt": hosp,
              "othFeeAmt": CENTS, "acctMulaidPay": mulaid, "selfAcctPay": acct - mulaid, "setlId": info["setl_id"],
              "mdtrtId": order.mdtrt_id, "medOrgOrd": order.med_org_ord,
              "extData": {"setlinfo": info, "setldetail": out["setldetail"], "warnMsg": "; ".join(ctx.work.warnings)}}
    order.ord_stas, order.setl_id, order.settled_at, order.acct_used_flag = SETTLED, info["setl_id"], ctx.work.now, flag
    order.own_pay_amt, order.psn_acct_pay, order.fund_pay, order.hosp_part_amt = cash, acct, fund, hosp
    order.acct_mulaid_pay, order.revs_token, order.settle_answer = mulaid, secrets.token_hex(16), _encode(answer)
    return answer


# -- 6203 ------------------------------------------------------------------------------------------------

def refund(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    """6203: ALL / HI cancel the insurance settlement (2208: accounts, quotas and accumulators restored
    exactly); CASH records the cash the hospital's channel gives back. Idempotent by appRefdSn."""
    d: Data6203 = validate(Data6203, raw)
    s, inst = ctx.work.session, ctx.work.here
    digest = fingerprint(raw)
    earlier = s.get(PayRefund, (inst.code, d.appRefdSn))
    if earlier is not None:
        ctx.order_id = earlier.pay_ord_id
        if earlier.request_sha256 != digest:
            raise refuse("data.appRefdSn", f"{d.appRefdSn} already names a refund of pay order {earlier.pay_ord_id} "
                                           "with other content; a new refund needs a new appRefdSn")
        ctx.replayed = True
        return _decode(earlier.answer)
    order = _order(ctx, d.payOrdId, None, lock=True)
    _same(d.orgCodg, inst.code, "data.orgCodg", "this institution's code (the appId's)")
    sent = [name for name in ("ecToken", "payAuthNo", "revsToken") if getattr(d, name)]
    if len(sent) != 1:
        raise refuse("data.payAuthNo", "send exactly one of ecToken, payAuthNo or revsToken (the order's, from "
                                       f"6301); {len(sent)} were sent")
    if order.ord_stas in (UPLOADED, REVOKED):
        raise refuse("data.payOrdId", f"pay order {order.pay_ord_id} is not settled (ordStas {order.ord_stas}, "
                                      f"{STATES[order.ord_stas]}); an unsettled order is revoked with 6401")
    if d.revsToken:
        if d.revsToken != order.revs_token:
            raise refuse("data.revsToken", f"is not the revsToken of pay order {order.pay_ord_id}")
    else:
        _authorization(ctx, order, d.payAuthNo, d.ecToken)
    assert order.own_pay_amt is not None and order.psn_acct_pay is not None and order.fund_pay is not None
    parts = (("cashRefdAmt", d.cashRefdAmt, order.own_pay_amt, order.cash_refd_amt, "cash"),
             ("psnAcctRefdAmt", d.psnAcctRefdAmt, order.psn_acct_pay, order.acct_refd_amt, "account"),
             ("fundRefdAmt", d.fundRefdAmt, order.fund_pay, order.fund_refd_amt, "fund"))
    for name, amount, *_ in parts:
        if amount < 0:
            raise refuse(f"data.{name}", f"must not be negative, not {amount}")
    if d.totlRefdAmt <= 0:
        raise refuse("data.totlRefdAmt", f"must be more than 0.00, not {d.totlRefdAmt}")
    summed = d.cashRefdAmt + d.psnAcctRefdAmt + d.fundRefdAmt
    if summed != d.totlRefdAmt:
        raise refuse("data.totlRefdAmt", f"{d.totlRefdAmt} sent, but cashRefdAmt {d.cashRefdAmt} + psnAcctRefdAmt "
                                         f"{d.psnAcctRefdAmt} + fundRefdAmt {d.fundRefdAmt} = {summed}")
    if d.refdType == "ALL":
        for name, amount, paid, _refunded, _what in parts:
            if amount != paid:
                raise refuse(f"data.{name}", f"an ALL refund returns every part of the order: must be {paid}, "
                                             f"not {amount}")
    elif d.refdType == "CASH":
        for name in ("psnAcctRefdAmt", "fundRefdAmt"):
            if getattr(d, name) != 0:
                raise refuse(f"data.{name}", f"a CASH refund returns cash only: must be 0.00, not {getattr(d, name)}")
    else:  # HI
        if d.cashRefdAmt != 0:
            raise refuse("data.cashRefdAmt", f"an HI refund returns the insurance part only: must be 0.00, not "
                                             f"{d.cashRefdAmt}")
        for name, amount, paid, _refunded, what in parts[1:]:
            if amount != paid:
                raise refuse(f"data.{name}", f"an HI refund cancels the insurance settlement whole: the {what} "
                                             f"part must be {paid}, not {amount}")
    for name, amount, paid, refunded, what in parts:
        if amount > paid - refunded:
            raise refuse(f"data.{name}", f"{amount} exceeds the {paid - refunded} of the {what} part not yet "
                                         f"refunded ({paid} paid, {refunded} refunded)")

    refd_setl_id: str | None = None
    ext: dict[str, Any] = {}
    if d.refdType in ("ALL", "HI"):
        person = _person(ctx, order.psn_no)
        assert order.setl_id is not None
        out = cancel_output(checkout.cancel(ctx.as_desk(person.admdvs, new_id(inst.admdvs, ctx.work.now)),
                                            order.setl_id, order.mdtrt_id, order.psn_no, "outpatient"))
        refd_setl_id = str(out["setlinfo"]["refd_setl_id"])
        order.refd_setl_id = refd_setl_id
        ext = {"setlinfo": out["setlinfo"], "setldetail": out["setldetail"]}
    order.cash_refd_amt += d.cashRefdAmt
    order.acct_refd_amt += d.psnAcctRefdAmt
    order.fund_refd_amt += d.fundRefdAmt
    if order.refd_setl_id is not None:
        order.ord_stas = REFUNDED if order.cash_refd_amt == order.own_pay_amt else HI_REFUNDED
    answer = {"payOrdId": order.pay_ord_id, "appRefdSn": d.appRefdSn, "refStatus": "SUCC", "refdType": d.refdType,
              "totlRefdAmt": d.totlRefdAmt, "cashRefdAmt": d.cashRefdAmt, "psnAcctRefdAmt": d.psnAcctRefdAmt,
              "fundRefdAmt": d.fundRefdAmt, "ordStas": order.ord_stas, "refdSetlId": refd_setl_id or "",
              "extData": ext}
    s.add(PayRefund(fixmedins_code=inst.code, app_refd_sn=d.appRefdSn, pay_ord_id=order.pay_ord_id,
                    refd_type=d.refdType, app_refd_time=d.appRefdTime, totl_refd_amt=d.totlRefdAmt,
                    cash_refd_amt=d.cashRefdAmt, psn_acct_refd_amt=d.psnAcctRefdAmt, fund_refd_amt=d.fundRefdAmt,
                    refd_setl_id=refd_setl_id, request_sha256=digest, answer=_encode(answer), created_at=ctx.work.now))
    return answer


# -- 6301 ------------------------------------------------------------------------------------------------

def _setl_type(order: PayOrder) -> str:
    """How the order was paid: ALL insurance and cash, HI insurance only, CASH cash only."""
    insurance = (order.psn_acct_pay or CENTS) + (order.fund_pay or CENTS)
    if insurance == 0:
        return "CASH"
    return "HI" if (order.own_pay_amt or CENTS) == 0 else "ALL"


def query(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    """6301: the order's state and figures; once settled, the settlement, the refunds and the revsToken."""
    d: Data6301 = validate(Data6301, raw)
    order = _order(ctx, d.payOrdId, d.payToken, lock=False)
    _same(d.orgCodg, ctx.work.here.code, "data.orgCodg", "this institution's code (the appId's)")
    _check_identity(_person(ctx, order.psn_no), id_no=d.idNo, user_name=d.userName, id_type=d.idType)
    inst = ctx.work.here
    answer: dict[str, Any] = {
        "payOrdId": order.pay_ord_id, "ordStas": order.ord_stas, "ordStasName": STATES[order.ord_stas],
        "medOrgOrd": order.med_org_ord, "mdtrtId": order.mdtrt_id, "chrgBchno": order.chrg_bchno,
        "feeSumamt": order.fee_sumamt, "orgCode": inst.code, "orgName": inst.name, "hiRgstSn": order.mdtrt_id,
    }
    if order.settled_at is not None:
        acct, mulaid = order.psn_acct_pay or CENTS, order.acct_mulaid_pay or CENTS
        refunds = ctx.work.session.scalars(select(PayRefund).where(PayRefund.fixmedins_code == inst.code,
                                                              PayRefund.pay_ord_id == order.pay_ord_id)
                                      .order_by(PayRefund.created_at, PayRefund.app_refd_sn))
        answer.update({
            "setlType": _setl_type(order), "callType": "6202", "traceTime": f"{order.settled_at:%Y%m%d%H%M%S}",
            "ownPayAmt": order.own_pay_amt, "psnAcctPay": acct, "fundPay": order.fund_pay,
            "hospPartAmt": order.hosp_part_amt, "acctMulaidPay": mulaid, "selfAcctPay": acct - mulaid,
            "revsToken": order.revs_token, "hiChrgTime": f"{order.settled_at:%Y-%m-%d %H:%M:%S}",
            "hiDocSn": order.setl_id, "refdSetlId": order.refd_setl_id or "",
            "cashRefdAmt": order.cash_refd_amt, "psnAcctRefdAmt": order.acct_refd_amt,
            "fundRefdAmt": order.fund_refd_amt,
            "extData": {"refunds": [{
                "appRefdSn": r.app_refd_sn, "appRefdTime": r.app_refd_time, "refdType": r.refd_type,
                "totlRefdAmt": r.totl_refd_amt, "cashRefdAmt": r.cash_refd_amt,
                "psnAcctRefdAmt": r.psn_acct_refd_amt, "fundRefdAmt": r.fund_refd_amt,
                "refdSetlId": r.refd_setl_id or ""} for r in refunds]},
        })
    return answer


# -- 6401 ------------------------------------------------------------------------------------------------

def revoke(ctx: Ctx, raw: dict[str, Any]) -> dict[str, Any]:
    """6401: an unsettled order is undone: its visit cancelled (2202) when 6201 registered it, else its batch of
    lines deleted (2205). A settled order is refunded with 6203 instead."""
    d: Data6401 = validate(Data6401, raw)
    order = _order(ctx, d.payOrdId, d.payToken, lock=True)
    _same(d.orgCodg, ctx.work.here.code, "data.orgCodg", "this institution's code (the appId's)")
    person = _person(ctx, order.psn_no)
    _check_identity(person, id_no=d.idNo, user_name=d.userName, id_type=d.idType)
    if order.ord_stas == REVOKED:
        ctx.replayed = True
        return {"success": True, "message": f"pay order {order.pay_ord_id} was already revoked",
                "payOrdId": order.pay_ord_id, "ordStas": REVOKED}
    if order.ord_stas != UPLOADED:
        raise refuse("data.payOrdId", f"pay order {order.pay_ord_id} is settled (ordStas {order.ord_stas}, "
                                      f"{STATES[order.ord_stas]}); a settled order is refunded with 6203, not revoked")
    desk = ctx.as_desk(person.admdvs, new_id(ctx.work.here.admdvs, ctx.work.now))
    if order.registered:
        visits.cancel_visit(desk, visits.visit_of(desk, order.mdtrt_id, order.psn_no, "outpatient"),
                            "input.data.mdtrt_id", "cancel it (2208)")
    else:
        uploads.delete_batch(desk, order.mdtrt_id, order.psn_no, order.chrg_bchno)
    order.ord_stas, order.revoked_at = REVOKED, ctx.work.now
    return {"success": True, "message": f"pay order {order.pay_ord_id} revoked", "payOrdId": order.pay_ord_id,
            "ordStas": REVOKED}

