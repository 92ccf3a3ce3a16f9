"""The insurance leg of a phone payment through the platform's mobile-payment centre (医保移动支付, interface.md
section 6), when the patient brings a payAuthNo from his e-credential app instead of a card or a code read at
the desk: 6201 uploads the bills' lines as a pay order, 6202 settles it, 6203 (HI) undoes it, 6301 says where it
stands, 6401 revokes an order never settled. Every request and answer is the sealed SM2/SM4 envelope
(yibao.mobilepay.envelope), signed with this hospital's key and opened with the platform's.

What is kept is what the 2207 path keeps: 6202's extData {setlinfo, setldetail} is the settlement output (slips
and reconciliation read it unchanged), 6203's extData the cancellation. Each message is idempotent on the
platform (the same medOrgOrd / a settled order / the same appRefdSn answer as before), so a lost answer is
asked again, never guessed; 6301 tells an order settled from one never paid (then revoked)."""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from yibao import wire
from yibao.client import PlatformError
from yibao.hospital.insurance import RETRIES, OutcomeUnknown
from yibao.mobilepay.envelope import EnvelopeError, SealedRefusal, open_sealed, seal

if TYPE_CHECKING:
    from yibao.hospital.context import Context
    from yibao.hospital.db import Bill, BillLine, Patient, Payment, Registration

PATHS = {"6201": "uldFeeInfo", "6202": "pay_order", "6203": "refund_Order", "6301": "query_order_info",
         "6401": "revoke_order"}
TIME = "%Y-%m-%d %H:%M:%S"
UPLOADED, SETTLED, REFUNDED = "0", "6", ("8", "9")  # ordStas (docs/mobilepay.md)


def configured(hospital: Context) -> bool:
    return bool(hospital.config.mobilepay_app_id)


class MobilePay:
    """One hospital's channel to the mobile-payment centre."""

    def __init__(self, hospital: Context):
        c = hospital.config
        self.h = hospital
        self.base = (c.mobilepay_url or c.platform_url).rstrip("/") + "/org/local/api/hos/"
        self.app_id, self.private, self.public = c.mobilepay_app_id, c.mobilepay_private_key, c.mobilepay_platform_key

    def call(self, infno: str, data: dict[str, Any]) -> dict[str, Any]:
        """One sealed request: the opened answer; PlatformError when refused, OutcomeUnknown when unanswered.
        Every one of these messages is idempotent on the platform, so a lost answer is asked again (3 tries)."""
        body = wire.encode(seal(data, self.app_id, self.h.config.secret, self.private))
        for attempt in range(RETRIES):
            try:
                reply = self.h.insurance.client.http.post(self.base + PATHS[infno], content=body,
                                                          headers={"Content-Type": "application/json"})
                break
            except httpx.TransportError as exc:
                last = exc
                time.sleep(0.2 * (attempt + 1))
        else:
            raise OutcomeUnknown(f"{infno}: no answer from the mobile-payment centre ({last})")
        try:
            answer = wire.decode(reply.content)
        except ValueError:
            raise OutcomeUnknown(f"{infno}: HTTP {reply.status_code}, not an answer") from None
        try:
            return open_sealed(answer, self.h.config.secret, self.public)
        except SealedRefusal as exc:
            raise PlatformError(infno, str(exc.message)) from None
        except EnvelopeError as exc:  # an answer that does not verify is no answer at all
            raise OutcomeUnknown(f"{infno}: the answer does not verify ({exc})") from None

    # -- settling -------------------------------------------------------------------------------------
    def upload(self, p: Payment, reg: Registration, patient: Patient, slot: dict[str, Any],
               lines: list[tuple[BillLine, Bill]]) -> dict[str, Any]:
        """6201: the bills' lines as one pay order (medOrgOrd and chrgBchno = the payment number)."""
        feedetail = [{
            "feedetlSn": f"{p.payment_no}-{i:03d}", "feeOcurTime": f"{bill.created_at:{TIME}}",
            "medListCodg": line.med_list_codg, "medinsListCodg": line.medins_list_codg,
            "detItemFeeSumamt": line.amount, "cnt": line.cnt, "pric": line.pric, "rxCircFlag": "0",
            "bilgDeptCodg": bill.dept_code, "bilgDeptName": bill.dept_code, "bilgDrCodg": bill.doctor_code,
            "bilgDrName": bill.doctor_code, "hospApprFlag": "0"} for i, (line, bill) in enumerate(lines, 1)]
        data = {"orgCodg": self.h.config.fixmedins_code, "psnNo": p.psn_no, "insutype": patient.insutype,
                "medOrgOrd": p.payment_no, "begntime": f"{reg.created_at:{TIME}}", "idNo": patient.certno,
                "userName": patient.name, "idType": "01", "insuCode": p.insuplc_admdvs or self.h.config.admdvs,
                "iptOtpNo": reg.reg_no, "deptName": slot["dept_name"], "deptCode": slot["dept_code"],
                "caty": slot["caty"], "atddrNo": slot["doctor_code"], "drName": slot["doctor_name"],
                "medType": "11", "feeType": "01", "psnSetlway": "01", "chrgBchno": p.payment_no,
                "pubHospRfomFlag": "0", "medfeeSumamt": p.total, "acctUsedFlag": p.acct_used_flag,
                "payAuthNo": p.pay_auth_no, "mdtrtId": reg.mdtrt_id or "", "feedetailList": feedetail}
        return self.call("6201", data)

    def pay(self, p: Payment) -> dict[str, Any]:
        """6202: the order settled (a settled order answers its settlement again); the settlement output as
        2207 gives it: {setlinfo, setldetail}."""
        out = self.call("6202", {"payOrdId": p.pay_ord_id, "payToken": p.pay_token, "payAuthNo": p.pay_auth_no,
                                 "orgCodg": self.h.config.fixmedins_code, "acctUsedFlag": p.acct_used_flag})
        return settlement_of(out)

    def query(self, p: Payment) -> dict[str, Any]:
        return self.call("6301", {"payOrdId": p.pay_ord_id, "payToken": p.pay_token,
                                  "orgCodg": self.h.config.fixmedins_code})

    # -- undoing --------------------------------------------------------------------------------------
    def revoke(self, p: Payment) -> None:
        """6401: an order never settled can no longer be."""
        self.call("6401", {"payOrdId": p.pay_ord_id, "payToken": p.pay_token,
                           "orgCodg": self.h.config.fixmedins_code})

    def refund_insurance(self, p: Payment, info: dict[str, Any], revs_token: str, cash_taken: bool) -> dict[str, Any]:
        """6203: the settlement undone. HI (the account, mutual aid and the funds back) when the channel took
        the cash: the cash is the channel's to refund, recorded by refund_cash after. ALL when no cash was taken
        (the cash leg failed) or the insurance paid nothing: the order ends whole. The cancellation output as
        2208 gives it."""
        acct, fund, cash = info["acct_pay"], info["fund_pay_sumamt"], info["psn_cash_pay"]
        whole = not cash_taken or acct + fund == 0
        out = self.call("6203", {
            "payOrdId": p.pay_ord_id, "appRefdSn": f"{p.payment_no}{'A' if whole else 'H'}",
            "appRefdTime": f"{self.h.now():%Y%m%d%H%M%S}", "totlRefdAmt": acct + fund + (cash if whole else 0),
            "cashRefdAmt": cash if whole else "0.00", "psnAcctRefdAmt": acct, "fundRefdAmt": fund,
            "refdType": "ALL" if whole else "HI", "revsToken": revs_token})
        return settlement_of(out)

    def refund_cash(self, p: Payment, amount: Decimal, revs_token: str) -> None:
        """6203 CASH: the cash the hospital's channel gave back, recorded on the order."""
        self.call("6203", {
            "payOrdId": p.pay_ord_id, "appRefdSn": f"{p.payment_no}C",
            "appRefdTime": f"{self.h.now():%Y%m%d%H%M%S}", "totlRefdAmt": amount, "cashRefdAmt": amount,
            "psnAcctRefdAmt": "0.00", "fundRefdAmt": "0.00", "refdType": "CASH", "revsToken": revs_token})


DECIMAL = re.compile(r"^-?\d+\.\d+$")


def numbers(value: Any) -> Any:
    """The centre's decimal strings ("150.00") as the Decimals the two-designated interface sends."""
    if isinstance(value, dict):
        return {k: numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [numbers(v) for v in value]
    return Decimal(value) if isinstance(value, str) and DECIMAL.match(value) else value


def settlement_of(out: dict[str, Any]) -> dict[str, Any]:
    """6202's or 6203's extData as 2207 / 2208 answer it: {setlinfo, setldetail}, amounts Decimal."""
    ext = out.get("extData") or {}
    return {"setlinfo": numbers(ext["setlinfo"]), "setldetail": numbers(ext.get("setldetail") or [])}


def snake(row: dict[str, Any]) -> dict[str, Any]:
    """A camelCase row (6201's extData.result) with the 2204 names: feedetlSn -> feedetl_sn."""
    return {re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), k): v for k, v in row.items()}
