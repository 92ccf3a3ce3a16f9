"""Paying: bills of a registration, an inpatient stay, a pharmacy sale; refunding a payment.

A payment is ONE insurance settlement with acct_used_flag (so the personal account and family mutual aid
apply) and the self-pay remainder (psn_cash_pay) through a channel, answered within `answer_within` seconds
(seed 003: 5). The insurance leg of bills is 2201 if the visit has none yet, 2203, 2204, 2206, 2207; of a stay
(discharged by 2402 first) 2303 then 2304; of a sale 2101 then 2102. Undoing it is 2208 / 2305 / 2103. The same
operation serves every terminal: the phone, the cashier desk, the doctor's room, the bedside (a card payment
names the card terminal it is read at, `device`).

    new --insurance--> settling --cash needed--> paying --PAID--> paid
                          |  \\--nothing left to pay-------------> paid
                          \\--refused------------------------------> failed (nothing charged)
    paying --FAILED / CLOSED--> cancelling --2208--> failed (the insurance leg undone)
    paid --refund (a registration fee online, a stay or sale at the desk)--> refunding
         --2208/2305/2103 + channel refund--> refunded

Rules kept here:
- insurance is never charged for an unpaid bill: a cash leg that fails or is closed cancels the settlement;
- insurance is never charged twice: one payment per idempotency key (a retried request returns it), the bills
  are claimed by the payment in SQL (a stay or sale likewise), and a settling or cancelling message whose answer
  was lost is resent byte for byte (the platform answers a committed msgid with its stored answer);
- a cash order whose outcome is unknown is resolved by querying the channel (and closing an order the channel
  does not know, so that it can no longer be paid), never guessed;
- a channel that has not answered when the time box ends leaves the payment "paying": the late answer, a
  callback or a query completes it.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.client import PlatformError
from yibao.hospital.channels.base import BadCallback, CashOrder, ChannelRejected, ChannelResult, ChannelTimeout, Status
from yibao.hospital.db import (
    Bill,
    BillLine,
    CallbackInbox,
    KindSettlement,
    Patient,
    Payment,
    Refund,
    Registration,
    Slot,
)
from yibao.hospital.errors import HospitalError, conflict, invalid, not_found
from yibao.hospital.insurance import OutcomeUnknown, dumps, loads
from yibao.money import ZERO

if TYPE_CHECKING:
    from yibao.hospital.service import Hospital

log = logging.getLogger("yibao.hospital.cashier")
TERMINALS = ("mobile", "desk", "clinic-room", "bedside")
MARGIN = 0.5  # float-ok: seconds kept for writing the answer after the channel's time box
SETTLING_GRACE = timedelta(seconds=60)  # a payment settling for less than this may still have its request running
REFUNDED = (Status.REFUNDED, Status.PARTIALLY_REFUNDED)
CASH_REFUSED, CASH_AT_DESK = "REFUSED", "GIVEN_AT_DESK"  # a refund's cash: the channel refused; the desk gave it
TIME = "%Y-%m-%d %H:%M:%S"
#: the message that settles and the one that undoes a payment's insurance leg, by the payment's kind
SETTLE = {"outpatient": "2207", "pharmacy": "2207", "inpatient": "2304", "retail": "2102"}
CANCEL = {"outpatient": "2208", "pharmacy": "2208", "inpatient": "2305", "retail": "2103"}
#: the state a stay or sale goes back to when its payment fails or is refunded: it can be paid again
PAYABLE_AGAIN = {"inpatient": "discharged", "retail": "open"}


def _status(value: Any) -> Status:
    return value if isinstance(value, Status) else Status(str(value))


class Cashier:
    def __init__(self, hospital: Hospital):
        self.h = hospital
        self.db = hospital.db

    # == paying =========================================================================================
    def pay(self, patient_id: int, bill_nos: list[str], channel: str | None = None, terminal: str = "mobile",
            idempotency_key: str | None = None, acct_used_flag: str = "1", payer_ref: str | None = None,
            use_insurance: bool = True, device: str | None = None, pay_auth_no: str | None = None) -> dict[str, Any]:
        """Pay bills of one registration together; the answer within the time box (see the module). With the
        patient's `pay_auth_no` the insurance leg goes through the mobile-payment centre (6201, 6202)."""
        deadline = self.h.clock.deadline(self.h.config.answer_within - MARGIN)
        channel, device = self.check(channel, terminal, acct_used_flag, device)
        if pay_auth_no:
            from yibao.hospital.mobilepay import configured

            if not configured(self.h):
                raise invalid("pay_auth_no: this hospital has no mobile-payment channel (mobilepay in its "
                              "configuration); pay with the insurance card or code")
            if not use_insurance:
                raise invalid("pay_auth_no: an authorization to pay by insurance, but use_insurance is false")
        bill_nos = sorted(set(bill_nos))
        if not bill_nos:
            raise invalid("bill_nos: at least one bill is needed")
        key, existing = self.key_of(idempotency_key, "bills:" + ",".join(bill_nos))
        if existing is not None:
            return self.view(existing)
        if channel == "deposit":  # the deposit must cover the bills before any insurance call (deposit.py)
            from yibao.hospital.deposit import precheck

            precheck(self.h, patient_id, bill_nos)
        return self._start(key, deadline, partial(self._claim, patient_id, bill_nos, channel, terminal, key,
                                                  acct_used_flag, payer_ref, use_insurance, device, pay_auth_no))

    def pay_stay(self, stay_no: str, channel: str | None = None, terminal: str = "desk",
                 idempotency_key: str | None = None, acct_used_flag: str = "1", payer_ref: str | None = None,
                 device: str | None = None) -> dict[str, Any]:
        """Settle an inpatient stay (discharged) or a pharmacy sale and take its cash part, like bills."""
        deadline = self.h.clock.deadline(self.h.config.answer_within - MARGIN)
        channel, device = self.check(channel, terminal, acct_used_flag, device)
        key, existing = self.key_of(idempotency_key, f"stay:{stay_no}")
        if existing is not None:
            return self.view(existing)
        return self._start(key, deadline, partial(self._claim_stay, stay_no, channel, terminal, key,
                                                  acct_used_flag, payer_ref, device))

    def check(self, channel: str | None, terminal: str, acct_used_flag: str,
              device: str | None) -> tuple[str, str | None]:
        """The channel and card terminal of a payment, checked: (channel, device)."""
        if terminal not in TERMINALS:
            raise invalid(f"terminal: must be one of {', '.join(TERMINALS)}")
        channel = channel or ("card" if terminal in ("desk", "bedside") else None)
        if not channel:
            raise invalid("channel: is required (wechat, alipay or card)")
        if acct_used_flag not in ("0", "1"):
            raise invalid("acct_used_flag: must be \"0\" or \"1\"")
        self.h.channel(channel)
        if channel != "card":
            if device:
                raise invalid(f"device: only a card payment is read at a terminal, not {channel}")
            return channel, None
        terminals = self.h.config.card_terminals
        if device and device not in terminals.values() and device not in self.h.config.card_devices:
            raise invalid(f"device: {device} is not one of this hospital's card terminals")
        # a place's own terminal unless one is named; a card online (mobile) goes by the channel's default
        return channel, device or terminals.get(terminal)

    def _start(self, key: str, deadline: float, claim: Any) -> dict[str, Any]:  # float-ok: monotonic seconds
        try:
            payment_no = claim()
        except (IntegrityError, HospitalError):
            # the same key claimed meanwhile by a concurrent request (its bills are no longer pending, or its
            # key is taken): that payment answers
            with self.db.session() as s:
                again = s.scalar(select(Payment.payment_no).where(Payment.idem_key == key))
            if again is None:
                raise
            return self.view(again)
        self._proceed(payment_no, deadline)
        return self.view(payment_no)

    def payment_of_key(self, given: str) -> Payment | None:
        """The payment a caller's idempotency key named, if any."""
        with self.db.session() as s:
            return s.scalar(select(Payment).where(Payment.idem_key == f"key:{given}"))

    def key_of(self, given: str | None, base: str) -> tuple[str, str | None]:
        """The idempotency key and the payment it already names. A caller's key is kept as `key:...` (apart from
        the built ones) and names only a payment of the same bills or stay. Without one the key is the bill
        set's (the stay's); after a failed attempt (nothing charged) they may be paid again as a new attempt."""
        if given:
            found = self.payment_of_key(given)
            if found is None:
                return f"key:{given}", None
            if (f"stay:{found.stay_no}" if found.stay_no else "bills:" + ",".join(found.bill_nos)) != base:
                raise conflict(f"idempotency_key: already used for payment {found.payment_no} of other bills")
            return f"key:{given}", found.payment_no
        with self.db.session() as s:
            attempts = list(s.execute(select(Payment.payment_no, Payment.status).where(
                (Payment.idem_key == base) | Payment.idem_key.like(base + "#%")).order_by(Payment.id)))
        if not attempts:
            return base, None
        last_no, last_status = attempts[-1]
        if last_status not in ("failed", "refunded"):  # a refunded stay may be settled again
            return base, last_no
        return f"{base}#{len(attempts) + 1}", None

    def _claim(self, patient_id: int, bill_nos: list[str], channel: str, terminal: str, key: str,
               acct_used_flag: str, payer_ref: str | None, use_insurance: bool, device: str | None,
               pay_auth_no: str | None = None) -> str:
        from yibao.hospital.service import new_no

        now = self.h.now()
        with self.db.session() as s:
            bills = list(s.scalars(select(Bill).where(Bill.bill_no.in_(bill_nos))))
            missing = sorted(set(bill_nos) - {b.bill_no for b in bills})
            if missing:
                raise not_found(f"bill {', '.join(missing)} is not known")
            for b in bills:
                if b.patient_id != patient_id:
                    raise invalid(f"bill {b.bill_no} is not patient {patient_id}'s")
                if b.status != "pending":
                    other = s.get(Payment, b.payment_id) if b.payment_id else None
                    raise conflict(f"bill {b.bill_no} is {b.status}" + (f" (payment {other.payment_no})"
                                                                         if other else ""))
            if len({b.registration_id for b in bills}) != 1:
                raise invalid("bill_nos: bills of one registration are paid together (one settlement is one visit)")
            reg = s.get_one(Registration, bills[0].registration_id)
            if reg.status != "registered":
                raise conflict(f"registration {reg.id} is {reg.status}")
            patient = s.get_one(Patient, patient_id)
            if pay_auth_no and not patient.psn_no:
                raise invalid(f"pay_auth_no: patient {patient_id} is not insured here (no psn_no from 1101)")
            no = new_no("P", now)
            payment = Payment(
                payment_no=no, idem_key=key, patient_id=patient_id, registration_id=reg.id, bill_nos=bill_nos,
                terminal=terminal, device=device,
                kind="pharmacy" if all(b.kind == "pharmacy" for b in bills) else "outpatient",
                total=sum((b.amount for b in bills), ZERO), status="new",
                insured=use_insurance and patient.psn_no is not None, acct_used_flag=acct_used_flag,
                psn_no=patient.psn_no, insuplc_admdvs=patient.insuplc_admdvs, mdtrt_id=reg.mdtrt_id,
                chrg_bchno=no, insurance_status="none", channel=channel, cash_status="none", payer_ref=payer_ref,
                pay_auth_no=pay_auth_no, last_sequence=0, error="", created_at=now, updated_at=now)
            s.add(payment)
            s.flush()
            claimed = s.execute(update(Bill).where(Bill.id.in_([b.id for b in bills]), Bill.status == "pending")
                                .values(status="paying", payment_id=payment.id))
            if claimed.rowcount != len(bills):  # type: ignore[attr-defined]
                raise conflict("bill_nos: a bill was claimed by another payment meanwhile")
            return no

    def _claim_stay(self, stay_no: str, channel: str, terminal: str, key: str, acct_used_flag: str,
                    payer_ref: str | None, device: str | None) -> str:
        from yibao.hospital.service import new_no

        now = self.h.now()
        with self.db.session() as s:
            stay = s.scalar(select(KindSettlement).where(KindSettlement.no == stay_no))
            if stay is None:
                raise not_found(f"stay or sale {stay_no} is not known")
            if stay.status != PAYABLE_AGAIN[stay.kind]:
                raise conflict(f"{stay.kind} {stay_no} is {stay.status}" + (
                    ": discharge it first (2402)" if stay.status == "admitted" else
                    f" (payment {stay.payment_no})" if stay.payment_no else ""))
            no = new_no("P", now)
            moved = s.execute(update(KindSettlement).where(KindSettlement.id == stay.id,
                                                           KindSettlement.status == stay.status)
                              .values(status="paying", payment_no=no, acct_used_flag=acct_used_flag,
                                      updated_at=now))
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise conflict(f"{stay.kind} {stay_no}: being paid by another request meanwhile")
            s.add(Payment(
                payment_no=no, idem_key=key, patient_id=stay.patient_id, registration_id=None, stay_no=stay_no,
                bill_nos=[], terminal=terminal, device=device, kind=stay.kind, total=stay.total, status="new",
                insured=True, acct_used_flag=acct_used_flag, psn_no=stay.psn_no,
                insuplc_admdvs=stay.insuplc_admdvs, mdtrt_id=stay.mdtrt_id, chrg_bchno=None,
                insurance_status="none", channel=channel, cash_status="none", payer_ref=payer_ref,
                last_sequence=0, error="", created_at=now, updated_at=now))
            return no

    def _proceed(self, no: str, deadline: float) -> None:  # float-ok: monotonic seconds
        p = self._load(no)
        if p.insured:
            try:
                self._settle_insurance(no)
            except PlatformError as exc:
                self._fail(no, f"{exc.infno}: {exc.err_msg}")
                return
            except HospitalError as exc:  # refused before any message left (a patient no longer insured)
                self._fail(no, exc.message)
                return
            except OutcomeUnknown as exc:
                self._note(no, f"insurance outcome unknown: {exc}")
                return
            p = self._load(no)
        if (p.cash_amount if p.insured else p.total) == ZERO:
            self._mark_paid(no)
            return
        self._cash_leg(no, deadline)

    # -- the insurance leg ------------------------------------------------------------------------------
    def _settle_insurance(self, no: str) -> None:
        now = self.h.now()
        with self.db.session() as s:
            moved = s.execute(update(Payment).where(Payment.payment_no == no, Payment.status == "new")
                              .values(status="settling", insurance_status="settling", updated_at=now))
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return
            p = s.scalar(select(Payment).where(Payment.payment_no == no))
            assert p is not None
            stay = s.scalar(select(KindSettlement).where(KindSettlement.no == p.stay_no)) if p.stay_no else None
        if stay is not None:
            self._record_settlement(no, self._settle_stay(p, stay))
            return
        if p.pay_auth_no:
            try:
                out = self._settle_mobile(p)
            except PlatformError:
                self._delete_batch(no)
                raise
            self._record_settlement(no, out)
            return
        reg, patient, lines = self._visit_of(p)
        insuplc = p.insuplc_admdvs or ""
        cert = {"mdtrt_cert_type": patient.mdtrt_cert_type or "02",
                "mdtrt_cert_no": patient.mdtrt_cert_no or patient.certno}
        mdtrt_id = reg.mdtrt_id or self._register_visit(p, reg, patient, cert)
        if not reg.visit_info_sent:
            self.h.insurance.ok("2203", {"mdtrtinfo": {
                "mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "med_type": "11", "begntime": f"{reg.created_at:{TIME}}",
                "main_cond_dscr": "", "dise_codg": "", "dise_name": ""}, "diseinfo": []}, insuplc)
            with self.db.session() as s:
                s.execute(update(Registration).where(Registration.id == reg.id).values(visit_info_sent=True))
        feedetail = [{
            "feedetl_sn": f"{no}-{i:03d}", "mdtrt_id": mdtrt_id, "psn_no": p.psn_no, "chrg_bchno": no,
            "dise_codg": "", "rxno": "", "rx_circ_flag": "0", "fee_ocur_time": f"{bill.created_at:{TIME}}",
            "med_list_codg": line.med_list_codg, "medins_list_codg": line.medins_list_codg,
            "det_item_fee_sumamt": str(line.amount), "cnt": str(line.cnt), "pric": str(line.pric),
            "bilg_dept_codg": bill.dept_code, "bilg_dept_name": bill.dept_code, "bilg_dr_codg": bill.doctor_code,
            "bilg_dr_name": bill.doctor_code, "hosp_appr_flag": "0"} for i, (line, bill) in enumerate(lines, 1)]
        try:
            out_2204 = self.h.insurance.ok("2204", {"feedetail": feedetail}, insuplc)
            self._save(no, mdtrt_id=mdtrt_id, out_2204=dumps(out_2204))
            sums = {k: sum((Decimal(str(r[k])) for r in out_2204["result"]), ZERO) for k in
                    ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")}
            data = {"psn_no": p.psn_no, **cert, "med_type": "11", "medfee_sumamt": str(p.total),
                    "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": no,
                    "acct_used_flag": p.acct_used_flag, "insutype": patient.insutype}
            out_2206 = self.h.insurance.ok("2206", {"data": data}, insuplc)
            self._save(no, out_2206=dumps(out_2206))
            data.update(invono="", fulamt_ownpay_amt=str(sums["fulamt_ownpay_amt"]),
                        overlmt_selfpay=str(sums["overlmt_amt"]), preselfpay_amt=str(sums["preselfpay_amt"]),
                        inscp_scp_amt=str(sums["inscp_scp_amt"]))
            out_settle = self._committed(no, "2207", {"data": data}, "env_settle")
        except PlatformError:
            self._delete_batch(no)
            raise
        self._record_settlement(no, out_settle)

    def _visit_of(self, p: Payment) -> tuple[Registration, Patient, list[tuple[BillLine, Bill]]]:
        """The registration, the patient and the bills' lines of a payment of bills, in billing order."""
        with self.db.session() as s:
            reg = s.get_one(Registration, p.registration_id)
            patient = s.get_one(Patient, p.patient_id)
            lines = [(line, bill) for line, bill in s.execute(
                select(BillLine, Bill).join(Bill, Bill.id == BillLine.bill_id).where(Bill.payment_id == p.id)
                .order_by(Bill.id, BillLine.seq))]
        return reg, patient, lines

    def _settle_mobile(self, p: Payment) -> dict[str, Any]:
        """6201 then 6202."""
        from yibao.hospital.mobilepay import MobilePay

        mp = MobilePay(self.h)
        self._upload_order(mp, p)
        return mp.pay(self._load(p.payment_no))

    def _upload_order(self, mp: Any, p: Payment) -> None:
        """6201: the pay order (idempotent per medOrgOrd); its id, token, the visit and the lines' split kept."""
        from yibao.hospital.mobilepay import snake

        reg, patient, lines = self._visit_of(p)
        order = mp.upload(p, reg, patient, self.h.db_get_slot(reg.slot_id), lines)
        split = {"result": [snake(r) for r in (order.get("extData") or {}).get("result") or []]}
        self._save(p.payment_no, pay_ord_id=str(order["payOrdId"]), pay_token=str(order["payToken"]),
                   mdtrt_id=str(order["mdtrtId"]), out_2204=dumps(split))
        if not reg.mdtrt_id:  # the centre registered the visit (as 2201): the registration's from now on
            with self.db.session() as s:
                s.execute(update(Registration).where(Registration.id == reg.id)
                          .values(mdtrt_id=str(order["mdtrtId"]), insured=True))

    def _learn_mobile(self, no: str) -> bool | None:
        """Where a mobile payment's order stands when its answer was lost: True settled (recorded), False
        nothing stands (an order never paid is revoked), None still unknown."""
        from yibao.hospital.mobilepay import SETTLED, UPLOADED, MobilePay

        mp = MobilePay(self.h)
        p = self._load(no)
        try:
            if not p.pay_ord_id:  # 6201's answer lost: asked again (the same medOrgOrd answers the same order)
                self._upload_order(mp, p)
                p = self._load(no)
            state = str(mp.query(p).get("ordStas"))
            if state == SETTLED:
                self._record_settlement(no, mp.pay(p))  # a settled order answers its settlement again
                return True
            if state == UPLOADED:
                mp.revoke(p)
        except PlatformError as exc:
            if p.pay_ord_id:
                self._note(no, f"{exc.infno} refused: {exc.err_msg}")
                return None
            # 6201 refused: no order was ever made
        except OutcomeUnknown as exc:
            self._note(no, f"mobile payment outcome still unknown: {exc}")
            return None
        self._save(no, insurance_status="none")
        return False

    def _cancel_mobile(self, no: str) -> bool:
        """6203 HI: the settlement of a mobile payment undone (6301 first: its revsToken, and whether it was
        refunded already)."""
        from yibao.hospital.mobilepay import REFUNDED, MobilePay

        mp = MobilePay(self.h)
        p = self._load(no)
        try:
            order = mp.query(p)
            if str(order.get("ordStas")) in REFUNDED:
                out = None
            else:
                out = mp.refund_insurance(p, loads(p.out_settle)["setlinfo"], str(order.get("revsToken") or ""),
                                          cash_taken=p.cash_status in ("PAID", *REFUNDED))
        except PlatformError as exc:
            self._note(no, f"{exc.infno} refused: {exc.err_msg}")
            return False
        except OutcomeUnknown as exc:
            self._note(no, f"6203 outcome unknown: {exc}")
            return False
        self._save(no, insurance_status="cancelled", **({"out_cancel": dumps(out)} if out is not None else {}))
        return True

    def _settle_stay(self, p: Payment, stay: KindSettlement) -> dict[str, Any]:
        """The pre-settlement (2303 / 2101, kept on the stay), then the settling message, kept and resent."""
        from yibao.hospital.inpatient import settlement_messages

        pre_infno, infno, input_ = settlement_messages(self.h, stay, p.acct_used_flag)
        insuplc = p.insuplc_admdvs or ""
        pre = self.h.insurance.ok(pre_infno, input_, insuplc)
        with self.db.session() as s:
            s.execute(update(KindSettlement).where(KindSettlement.id == stay.id).values(out_pre=dumps(pre)))
        return self._committed(p.payment_no, infno, input_, "env_settle")

    def _register_visit(self, p: Payment, reg: Registration, patient: Patient, cert: dict[str, str]) -> str:
        """2201 at payment time: the registration was made without insurance (or before the platform answered)."""
        slot = self.h.db_get_slot(reg.slot_id)
        out = self.h.insurance.ok("2201", {"data": {
            "psn_no": p.psn_no, "insutype": patient.insutype, "begntime": f"{reg.created_at:{TIME}}", **cert,
            "ipt_otp_no": reg.reg_no, "atddr_no": slot["doctor_code"], "dr_name": slot["doctor_name"],
            "dept_code": slot["dept_code"], "dept_name": slot["dept_name"], "caty": slot["caty"]}},
            p.insuplc_admdvs or "")
        mdtrt_id = str(out["data"]["mdtrt_id"])
        with self.db.session() as s:
            s.execute(update(Registration).where(Registration.id == reg.id).values(mdtrt_id=mdtrt_id, insured=True))
        return mdtrt_id

    def _record_settlement(self, no: str, out_settle: dict[str, Any]) -> None:
        info = out_settle["setlinfo"]
        self._save(no, out_settle=dumps(out_settle), setl_id=str(info["setl_id"]), insurance_status="settled",
                   setl_time=datetime.strptime(str(info["setl_time"]), TIME), mdtrt_id=str(info["mdtrt_id"]),
                   cash_amount=Decimal(str(info["psn_cash_pay"])))
        p = self._load(no)
        if p.stay_no:
            from yibao.hospital.inpatient import record_split

            record_split(self.h, p.stay_no, out_settle)

    def _committed(self, no: str, infno: str, input_: dict[str, Any], column: str) -> dict[str, Any]:
        """A committing message of this payment: its envelope is kept before it is sent, and sent again as-is
        when the answer was lost (a refusal for a stale sign-in is made again with a fresh one)."""
        p = self._load(no)
        kept = getattr(p, column)
        envelope = loads(kept) if kept else None
        if envelope is None:
            envelope = self.h.insurance.envelope(infno, input_, p.insuplc_admdvs or "")
            self._save(no, **{column: dumps(envelope)})
        try:
            return self.h.insurance.send_kept(envelope)
        except PlatformError as exc:
            if not exc.err_msg.startswith("sign_no:"):
                raise
        self.h.insurance.client.sign_no(renew=True)
        envelope = self.h.insurance.envelope(infno, input_, p.insuplc_admdvs or "")
        self._save(no, **{column: dumps(envelope)})
        return self.h.insurance.send_kept(envelope)

    def _delete_batch(self, no: str) -> None:
        """2205: the lines of this payment's batch leave the visit (best effort; they are never settled); the pay
        order of a mobile payment is revoked (6401) instead."""
        p = self._load(no)
        if p.pay_ord_id:
            from yibao.hospital.mobilepay import MobilePay

            try:
                MobilePay(self.h).revoke(p)
            except (PlatformError, OutcomeUnknown) as exc:
                log.warning("payment %s: 6401 of order %s: %s", no, p.pay_ord_id, exc)
            return
        if not (p.mdtrt_id and p.out_2204):
            return
        try:
            self.h.insurance.ok("2205", {"data": {"mdtrt_id": p.mdtrt_id, "chrg_bchno": p.chrg_bchno,
                                                  "psn_no": p.psn_no}}, p.insuplc_admdvs or "")
        except PlatformError as exc:
            log.warning("payment %s: 2205 of batch %s refused: %s", no, p.chrg_bchno, exc.err_msg)

    def _cancel_insurance(self, no: str) -> bool:
        """Undo the insurance leg (2208 then 2205, or 2305 / 2103); True when nothing of it stands any more."""
        p = self._load(no)
        if not p.insured or p.insurance_status in ("none", "cancelled"):
            return True
        if p.insurance_status in ("settling", "unknown") and p.pay_auth_no:
            known = self._learn_mobile(no)
            if not known:
                return known is False
            p = self._load(no)
        if p.pay_ord_id:
            return self._cancel_mobile(no)
        if p.insurance_status in ("settling", "unknown"):
            if not p.env_settle:  # the settling message never left: only lines may have been uploaded
                self._delete_batch(no)
                self._save(no, insurance_status="none")
                return True
            try:  # learn the outcome: the platform answers a committed msgid with its stored answer
                self._record_settlement(no, self.h.insurance.send_kept(loads(p.env_settle)))
            except PlatformError:
                self._delete_batch(no)
                self._save(no, insurance_status="none")
                return True
            except OutcomeUnknown as exc:
                self._note(no, f"{SETTLE[p.kind]} outcome still unknown: {exc}")
                return False
            p = self._load(no)
        infno = CANCEL[p.kind]
        try:
            out = self._committed(no, infno, {"data": {"setl_id": p.setl_id, "mdtrt_id": p.mdtrt_id,
                                                       "psn_no": p.psn_no}}, "env_cancel")
        except PlatformError as exc:
            if "already cancelled" not in exc.err_msg:
                self._note(no, f"{infno} refused: {exc.err_msg}")
                return False
            out = None
        except OutcomeUnknown as exc:
            self._note(no, f"{infno} outcome unknown: {exc}")
            return False
        self._save(no, insurance_status="cancelled", **({"out_cancel": dumps(out)} if out is not None else {}))
        self._delete_batch(no)
        return True

    # -- the cash leg -----------------------------------------------------------------------------------
    def _cash_leg(self, no: str, deadline: float) -> None:  # float-ok: monotonic seconds
        p = self._load(no)
        amount = p.cash_amount if p.insured else p.total
        assert amount is not None
        with self.db.session() as s:
            moved = s.execute(update(Payment).where(Payment.payment_no == no,
                                                    Payment.status.in_(("new", "settling")))
                              .values(status="paying", out_trade_no=no, cash_amount=amount, cash_status="unknown",
                                      updated_at=self.h.now()))
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return
        order = CashOrder(out_trade_no=no, amount=amount, description=self._description(p),
                          payer_ref=p.payer_ref, notify_url=f"{self.h.config.public_url.rstrip('/')}/callbacks/"
                                                            f"{p.channel}")
        future = self.h.executor.submit(self._ask_channel, p.channel, p.device, order)
        try:
            result = self.h.clock.wait(future, deadline)
        except FutureTimeout:
            self.h.clock.later(future, partial(self._late_answer, no))
            self._note(no, f"{p.channel}: no answer within the time box; the callback or a query completes it")
            return
        except ChannelRejected as exc:
            self._cash_failed(no, "FAILED", f"{p.channel} refused the order: {exc}")
            return
        except ChannelTimeout as exc:
            self._note(no, f"{p.channel}: outcome unknown ({exc}); a query resolves it")
            return
        self.apply(no, result)

    def _description(self, p: Payment) -> str:
        name = self.h.config.fixmedins_name or self.h.config.fixmedins_code
        return f"{name} {p.kind} {', '.join(p.bill_nos) or p.stay_no}"[:120]

    def _ask_channel(self, kind: str, device: str | None, order: CashOrder) -> ChannelResult:
        """pay(); when its answer is lost, the order's state by query(); an order the channel does not know is
        closed, so that it can never be paid later (runs in the executor)."""
        ch = self.h.channel(kind, device)
        try:
            return ch.pay(order)
        except ChannelTimeout:
            return self._known(ch, order.out_trade_no)

    @staticmethod
    def _known(ch: Any, out_trade_no: str) -> ChannelResult:
        result = ch.query(out_trade_no)
        if _status(result.status) != Status.NOT_FOUND:
            return result
        try:
            return ch.close(out_trade_no)
        except ChannelRejected:  # paid meanwhile: it cannot be closed
            return ch.query(out_trade_no)

    def _late_answer(self, no: str, future: Future[ChannelResult]) -> None:
        try:
            result = future.result()
        except ChannelRejected as exc:
            self._cash_failed(no, "FAILED", f"refused the order: {exc}")
            return
        except ChannelTimeout as exc:
            self._note(no, f"outcome unknown ({exc}); a query resolves it")
            return
        except Exception:  # noqa: BLE001 - a background thread: log it, the payment stays to be resolved
            log.exception("payment %s: the channel's late answer could not be read", no)
            return
        try:
            self.apply(no, result)
        except Exception:  # noqa: BLE001
            log.exception("payment %s: the channel's late answer could not be applied", no)

    def apply(self, no: str, result: Any) -> None:
        """What the channel says about the order (an answer, a query, a callback event) moves the payment."""
        status = _status(result.status)
        p = self._load(no)
        if status == Status.PAID:
            if result.amount != p.cash_amount:
                self._note(no, f"{p.channel} says PAID {result.amount}, but the order is {p.cash_amount}: "
                               "not applied, to be checked")
                return
            self._mark_paid(no, result.channel_trade_no, getattr(result, "paid_at", None))
        elif status == Status.PENDING:
            with self.db.session() as s:
                s.execute(update(Payment).where(Payment.payment_no == no, Payment.status == "paying").values(
                    cash_status="PENDING", pay_url=getattr(result, "pay_url", None) or p.pay_url,
                    updated_at=self.h.now()))
        elif status in (Status.FAILED, Status.CLOSED):
            self._cash_failed(no, status.value, f"{p.channel} says {status.value}")
        elif status in REFUNDED:
            self._refund_confirmed(no, result)

    def _mark_paid(self, no: str, channel_trade_no: str | None = None, paid_at: datetime | None = None) -> None:
        now = self.h.now()
        with self.db.session() as s:
            p = s.scalar(select(Payment).where(Payment.payment_no == no))
            assert p is not None
            moved = s.execute(update(Payment).where(Payment.id == p.id,
                                                    Payment.status.in_(("new", "settling", "paying")))
                              .values(status="paid", cash_status="PAID" if p.out_trade_no else "none",
                                      channel_trade_no=channel_trade_no, paid_at=paid_at or now, updated_at=now))
            if moved.rowcount == 1:  # type: ignore[attr-defined]
                s.execute(update(Bill).where(Bill.payment_id == p.id).values(status="paid", paid_at=now))
                self._stay_to(s, p, "settled")
                return
            stray = p.status == "failed" and p.cash_status != "PAID"
        if stray:  # paid after the payment was given up: give the money back
            self._refund_stray(no)

    def _refund_stray(self, no: str) -> None:
        p = self._load(no)
        try:
            result = self.h.channel(p.channel, p.device).refund(p.out_trade_no, f"{no}X", p.cash_amount)
            self._save(no, cash_status=_status(result.status).value,
                       error=f"{p.error}; paid after the payment failed: refunded".lstrip("; "))
        except (ChannelTimeout, ChannelRejected) as exc:
            self._note(no, f"paid after the payment failed; the refund {no}X is to be made: {exc}")

    def _cash_failed(self, no: str, cash_status: str, why: str) -> None:
        with self.db.session() as s:
            moved = s.execute(update(Payment).where(Payment.payment_no == no,
                                                    Payment.status.in_(("new", "settling", "paying")))
                              .values(status="cancelling", cash_status=cash_status, error=why,
                                      updated_at=self.h.now()))
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return
        self._finish_cancelling(no)

    def _finish_cancelling(self, no: str) -> None:
        if self._cancel_insurance(no):
            self._release(no, "cancelling")

    def _fail(self, no: str, why: str) -> None:
        """The insurance leg was refused: nothing was charged."""
        self._save(no, error=why, insurance_status="none")
        self._release(no, "settling")

    def _release(self, no: str, from_status: str) -> None:
        """The payment failed with nothing charged: its bills are pending again."""
        with self.db.session() as s:
            p = s.scalar(select(Payment).where(Payment.payment_no == no))
            assert p is not None
            moved = s.execute(update(Payment).where(Payment.id == p.id, Payment.status == from_status)
                              .values(status="failed", updated_at=self.h.now()))
            if moved.rowcount == 1:  # type: ignore[attr-defined]
                s.execute(update(Bill).where(Bill.payment_id == p.id, Bill.status == "paying")
                          .values(status="pending", payment_id=None))
                self._stay_to(s, p, None)

    def _stay_to(self, s: Session, p: Payment, status: str | None) -> None:
        """The stay or sale of a payment follows it (None: payable again)."""
        if p.stay_no:
            s.execute(update(KindSettlement).where(KindSettlement.no == p.stay_no,
                                                   KindSettlement.payment_no == p.payment_no)
                      .values(status=status or PAYABLE_AGAIN[p.kind], updated_at=self.h.now()))

    # -- completing a payment later ----------------------------------------------------------------------
    def refresh(self, no: str) -> dict[str, Any]:
        """The payment now: a payment still open is resolved (a query of the channel, a resend of a lost
        2207 / 2208) within the time box."""
        p = self._load(no)
        if p.status == "paying":
            future = self.h.executor.submit(self._known, self.h.channel(p.channel, p.device), no)
            try:
                self.apply(no, self.h.clock.wait(future, self.h.clock.deadline(self.h.config.answer_within - MARGIN)))
            except FutureTimeout:
                self.h.clock.later(future, partial(self._late_answer, no))
            except ChannelTimeout as exc:
                self._note(no, f"query: {exc}")
        elif p.status == "cancelling":
            self._finish_cancelling(no)
        elif p.status in ("settling", "new") and self.h.now() - p.updated_at >= SETTLING_GRACE:
            self._give_up(no)
        elif p.status == "refunding":
            refund = self._refund_of(p.id)
            if refund is not None:
                self._continue_refund(refund.refund_no)
        return self.view(no)

    def sweep(self) -> dict[str, int]:
        """Every payment still open: queried, resumed or undone (a lost callback, a lost answer, a process that
        stopped midway). An order still unpaid after `pending_expiry` seconds is closed at the channel, which
        undoes its insurance leg. Run every `sweep_every` seconds while serving."""
        expiry = timedelta(seconds=self.h.config.pending_expiry)
        with self.db.session() as s:
            open_ = list(s.execute(select(Payment.payment_no, Payment.status, Payment.created_at).where(
                Payment.status.in_(("new", "settling", "paying", "cancelling", "refunding"))).order_by(Payment.id)))
        seen = {"open": len(open_), "closed": 0}
        for no, status, created_at in open_:
            try:
                if self.refresh(no)["status"] == "paying" and self.h.now() - created_at > expiry:
                    self.cancel(no)
                    seen["closed"] += 1
            except HospitalError as exc:
                log.warning("sweep: payment %s (%s): %s", no, status, exc.message)
            except Exception:  # noqa: BLE001 - one payment's trouble must not stop the sweep
                log.exception("sweep: payment %s (%s)", no, status)
        return seen

    def _give_up(self, no: str) -> None:
        """A payment left settling (its request died): learn the 2207 outcome; nothing left to pay makes it
        paid, otherwise the insurance leg is undone (the patient pays again)."""
        p = self._load(no)
        if p.pay_auth_no and p.insurance_status != "settled":
            if self._learn_mobile(no) is None:
                return
            p = self._load(no)
        elif p.env_settle and p.insurance_status != "settled":
            try:
                self._record_settlement(no, self.h.insurance.send_kept(loads(p.env_settle)))
            except PlatformError:
                self._save(no, insurance_status="none")
            except OutcomeUnknown as exc:
                self._note(no, f"{SETTLE[p.kind]} outcome still unknown: {exc}")
                return
            p = self._load(no)
        if p.insurance_status == "settled" and p.cash_amount == ZERO:
            self._mark_paid(no)
            return
        with self.db.session() as s:
            s.execute(update(Payment).where(Payment.payment_no == no, Payment.status.in_(("new", "settling")))
                      .values(status="cancelling", error="given up: the request ended before the cash leg",
                              updated_at=self.h.now()))
        self._finish_cancelling(no)

    def cancel(self, no: str) -> dict[str, Any]:
        """The patient gives up an order not paid yet: the channel closes it (so it can no longer be paid), and
        the insurance leg is undone."""
        p = self._load(no)
        if p.status != "paying":
            raise conflict(f"payment {no} is {p.status}")
        ch = self.h.channel(p.channel, p.device)
        try:
            result = ch.close(no)
        except ChannelRejected:  # paid meanwhile
            result = ch.query(no)
        except ChannelTimeout as exc:
            raise HospitalError(503, f"{p.channel}: {exc}; try again") from None
        self.apply(no, result)
        return self.view(no)

    # == callbacks ======================================================================================
    def callback(self, kind: str, headers: dict[str, str], body: bytes) -> tuple[int, str, str]:
        """A provider's notification: verified by the channel, taken once per event id, applied in sequence
        order (a lower sequence than already applied is kept as stale). Returns (HTTP status, body, outcome)."""
        if kind not in self.h.channels:
            raise not_found(f"no channel {kind!r} here")
        ch = self.h.channel(kind)
        try:
            event = ch.parse_callback(headers, body)
        except BadCallback as exc:
            raise HospitalError(400, f"{kind}: {exc}") from None
        status, answer = ch.callback_answer()
        now = self.h.now()
        try:
            with self.db.session() as s:
                row = CallbackInbox(channel=kind, event_id=event.event_id, out_trade_no=event.out_trade_no,
                                    status=_status(event.status).value, amount=event.amount,
                                    channel_trade_no=event.channel_trade_no, sequence=event.sequence,
                                    outcome="received", received_at=now, body=body.decode("utf-8", "replace"))
                s.add(row)
                s.flush()
                row_id = row.id
        except IntegrityError:
            return status, answer, "duplicate"
        with self.db.session() as s:
            p = s.scalar(select(Payment).where(Payment.out_trade_no == event.out_trade_no, Payment.channel == kind))
            if p is None:  # a deposit top-up order, else unknown (deposit.py)
                from yibao.hospital.deposit import on_callback

                outcome = on_callback(s, kind, event, now)
            elif event.sequence <= p.last_sequence:
                outcome = "stale"
            elif _status(event.status) == Status.PAID and event.amount != p.cash_amount:
                outcome = "amount_mismatch"
            else:
                outcome = "applied"
                p.last_sequence = event.sequence
            s.execute(update(CallbackInbox).where(CallbackInbox.id == row_id).values(outcome=outcome))
        if outcome == "applied":
            self.apply(event.out_trade_no, event)
        elif outcome == "amount_mismatch":
            self._note(event.out_trade_no, f"callback {event.event_id}: PAID {event.amount}, not the order's amount")
        return status, answer, outcome

    # == refunding a registration fee ===================================================================
    def refund_registration(self, reg_id: int, reason: str) -> dict[str, Any]:
        """Online refund of a registration fee paid on its own: the insurance part by 2208, the cash part by
        the channel; both recorded. A fee not paid yet just cancels the registration. Again: continues it."""
        unpaid: Registration | None = None
        with self.db.session() as s:
            reg = s.get(Registration, reg_id)
            if reg is None:
                raise not_found(f"registration {reg_id} is not known")
            fee = s.scalar(select(Bill).where(Bill.registration_id == reg.id, Bill.kind == "registration"))
            assert fee is not None
            existing = self._refund_of(fee.payment_id, s) if fee.payment_id else None
            if existing is not None:
                refund_no = existing.refund_no
            else:
                if reg.status != "registered":
                    raise conflict(f"registration {reg_id} is {reg.status}")
                if not reg.refundable:
                    raise conflict(f"registration {reg_id}: the doctor has seen the patient; refund at the desk")
                others = s.scalar(select(func.count()).select_from(Bill).where(
                    Bill.registration_id == reg.id, Bill.id != fee.id, Bill.status.in_(("paying", "paid"))))
                if others:
                    raise conflict(f"registration {reg_id} has other bills paid or being paid; refund at the desk")
                if fee.status == "pending":  # nothing paid: the registration is simply cancelled
                    fee.status = reg.status = "cancelled"
                    s.execute(update(Slot).where(Slot.id == reg.slot_id, Slot.taken > 0)
                              .values(taken=Slot.taken - 1))
                    unpaid = reg
                elif fee.status != "paid":
                    raise conflict(f"the registration fee {fee.bill_no} is {fee.status}")
            if unpaid is None and existing is None:
                p = s.get_one(Payment, fee.payment_id)
                if p.bill_nos != [fee.bill_no]:
                    raise conflict(f"the registration fee was paid together with other bills in payment "
                                   f"{p.payment_no}; refund at the desk")
                refund_no = self._open_refund(s, p, reason)
        if unpaid is not None:
            if unpaid.mdtrt_id:
                self._cancel_visit(unpaid)
            return {"registration_id": unpaid.id, "status": "cancelled", "refund": None}
        return self._continue_refund(refund_no)

    def _open_refund(self, s: Session, p: Payment, reason: str) -> str:
        """The refund row of a paid payment (in the caller's transaction), which moves to refunding."""
        from yibao.hospital.service import new_no

        now = self.h.now()
        insured = p.insurance_status == "settled"
        info = (loads(p.out_settle) or {}).get("setlinfo", {}) if insured else {}
        cash = p.cash_amount if p.out_trade_no and p.cash_status == "PAID" else ZERO
        refund_no = new_no("F", now)
        s.add(Refund(refund_no=refund_no, payment_id=p.id, registration_id=p.registration_id, reason=reason,
                     insurance_amount=(Decimal(str(info["medfee_sumamt"])) -
                                       Decimal(str(info["psn_cash_pay"]))) if insured else ZERO,
                     cash_amount=cash or ZERO, insurance_status="pending" if insured else "none",
                     cash_status="pending" if cash else "none", status="refunding", error="",
                     created_at=now, updated_at=now))
        moved = s.execute(update(Payment).where(Payment.id == p.id, Payment.status == "paid")
                          .values(status="refunding", updated_at=now))
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise conflict(f"payment {p.payment_no} is being refunded by another request")
        return refund_no

    def refund_payment(self, no: str, reason: str) -> dict[str, Any]:
        """Undo a paid stay or sale at the desk: the settlement by 2305 / 2103, the cash back through the channel
        it came by (the card at the terminal that read it). Again: continues it."""
        with self.db.session() as s:
            p = s.scalar(select(Payment).where(Payment.payment_no == no))
            if p is None:
                raise not_found(f"payment {no} is not known")
            existing = self._refund_of(p.id, s)
            if existing is not None:
                refund_no = existing.refund_no
            else:
                if not p.stay_no:
                    raise conflict(f"payment {no} pays bills: a registration fee is refunded with its registration")
                if p.status != "paid":
                    raise conflict(f"payment {no} is {p.status}: only a paid payment is refunded")
                refund_no = self._open_refund(s, p, reason)
        return self._continue_refund(refund_no)

    def _cancel_visit(self, reg: Registration) -> None:
        """2202: the platform's visit of a registration refunded or cancelled (best effort)."""
        with self.db.session() as s:
            patient = s.get_one(Patient, reg.patient_id)
        try:
            self.h.insurance.ok("2202", {"data": {"psn_no": patient.psn_no, "mdtrt_id": reg.mdtrt_id,
                                                  "ipt_otp_no": reg.reg_no}}, patient.insuplc_admdvs or "")
        except PlatformError as exc:
            log.warning("registration %s: 2202 refused: %s", reg.reg_no, exc.err_msg)

    def _refund_of(self, payment_id: int | None, s: Session | None = None) -> Refund | None:
        if payment_id is None:
            return None
        if s is not None:
            return s.scalar(select(Refund).where(Refund.payment_id == payment_id))
        with self.db.session() as s2:
            return s2.scalar(select(Refund).where(Refund.payment_id == payment_id))

    def _continue_refund(self, refund_no: str) -> dict[str, Any]:
        with self.db.session() as s:
            refund = s.scalar(select(Refund).where(Refund.refund_no == refund_no))
            assert refund is not None
            p = s.get_one(Payment, refund.payment_id)
        if refund.insurance_status == "pending":
            if not self._cancel_insurance(p.payment_no):
                # the settlement still stands: no cash goes back for it until it is undone (asked again later)
                self._save_refund(refund_no, error=self._load(p.payment_no).error)
                return self.refund_view(refund_no)
            self._save_refund(refund_no, insurance_status="done")
        if refund.cash_status not in ("none", CASH_REFUSED, CASH_AT_DESK, *REFUNDED):
            ch = self.h.channel(p.channel, p.device)
            try:
                try:
                    result = ch.refund(p.out_trade_no, refund_no, refund.cash_amount)
                except ChannelTimeout:
                    result = ch.query(p.out_trade_no)
                self._refund_confirmed(p.payment_no, result)
            except ChannelTimeout as exc:  # asked again by the next request or the sweep
                self._save_refund(refund_no, error=f"{p.channel} refund: {exc}")
            except ChannelRejected as exc:  # not asked again: the desk gives the cash back (give_cash_back)
                self._save_refund(refund_no, cash_status=CASH_REFUSED,
                                  error=f"{p.channel} refused the refund: {exc}; give the cash back at the desk")
        self._finish_refund(refund_no)
        return self.refund_view(refund_no)

    def _refund_confirmed(self, no: str, result: Any) -> None:
        """The channel says the order is refunded (an answer, a query or a callback)."""
        p = self._load(no)
        refund = self._refund_of(p.id)
        if refund is None:
            return
        refunded = getattr(result, "refunded", None)
        if refunded is None:
            refunded = result.amount  # a callback event's amount is the total refunded so far
        status = _status(result.status)
        if status in REFUNDED and refunded >= refund.cash_amount:
            self._save_refund(refund.refund_no, cash_status=status.value)
            self._finish_refund(refund.refund_no)

    def _finish_refund(self, refund_no: str) -> None:
        now = self.h.now()
        with self.db.session() as s:
            refund = s.scalar(select(Refund).where(Refund.refund_no == refund_no))
            assert refund is not None
            if refund.status == "refunded" or refund.insurance_status == "pending" or \
                    refund.cash_status not in ("none", CASH_AT_DESK, *REFUNDED):
                return
            refund.status, refund.updated_at = "refunded", now
            p = s.get_one(Payment, refund.payment_id)
            p.status, p.updated_at = "refunded", now
            if refund.cash_status != "none":
                p.cash_status = refund.cash_status
            s.execute(update(Bill).where(Bill.payment_id == p.id).values(status="refunded"))
            self._stay_to(s, p, "cancelled" if p.kind == "retail" else None)
            reg = s.get(Registration, refund.registration_id) if refund.registration_id else None
            if reg is not None:
                reg.status = "refunded"
                s.execute(update(Slot).where(Slot.id == reg.slot_id, Slot.taken > 0).values(taken=Slot.taken - 1))
        if reg is not None and reg.mdtrt_id:
            self._cancel_visit(reg)
        if p.pay_ord_id and refund.cash_amount > ZERO:
            self._tell_cash_refund(p.payment_no, refund.cash_amount)

    def _tell_cash_refund(self, no: str, amount: Decimal) -> None:
        """6203 CASH: the centre's order records the cash the channel gave back (best effort: the money moved
        already; a failure is logged and the order stays 'insurance refunded')."""
        from yibao.hospital.mobilepay import MobilePay

        mp = MobilePay(self.h)
        p = self._load(no)
        try:
            order = mp.query(p)
            if str(order.get("ordStas")) != "8":  # refunded whole (ALL) already: nothing left to record
                mp.refund_cash(p, amount, str(order.get("revsToken") or ""))
        except (PlatformError, OutcomeUnknown) as exc:
            log.warning("payment %s: 6203 CASH of order %s: %s", no, p.pay_ord_id, exc)

    def give_cash_back(self, refund_no: str, operator: str, note: str) -> dict[str, Any]:
        """The desk gives a refund's cash back itself (cash, a transfer) when the channel refused the refund:
        recorded with who did it, and the refund finishes."""
        with self.db.session() as s:
            refund = s.scalar(select(Refund).where(Refund.refund_no == refund_no))
            if refund is None:
                raise not_found(f"refund {refund_no} is not known")
            if refund.cash_status != CASH_REFUSED:
                raise conflict(f"refund {refund_no}: its cash is {refund.cash_status}; only a refund the channel "
                               "refused is given back at the desk")
            refund.cash_status = CASH_AT_DESK
            refund.error = f"{refund.error}; given back at the desk by {operator}: {note}".lstrip("; ")
            refund.updated_at = self.h.now()
        self._finish_refund(refund_no)
        return self.refund_view(refund_no)

    def refund_view(self, refund_no: str) -> dict[str, Any]:
        with self.db.session() as s:
            r = s.scalar(select(Refund).where(Refund.refund_no == refund_no))
            if r is None:
                raise not_found(f"refund {refund_no} is not known")
            p = s.get_one(Payment, r.payment_id)
            return {"registration_id": r.registration_id, "stay_no": p.stay_no, "status": r.status, "refund": {
                "refund_no": r.refund_no, "payment_no": p.payment_no, "setl_id": p.setl_id, "reason": r.reason,
                "insurance_amount": r.insurance_amount, "insurance_status": r.insurance_status,
                "cash_amount": r.cash_amount, "cash_status": r.cash_status, "status": r.status, "error": r.error,
                "out_cancel": loads(p.out_cancel)}}

    # == reading ========================================================================================
    def view(self, no: str) -> dict[str, Any]:
        p = self._load(no)
        info = (loads(p.out_settle) or {}).get("setlinfo") if p.out_settle else None
        insurance = None
        if p.insured:
            insurance = {"status": p.insurance_status, "mdtrt_id": p.mdtrt_id, "setl_id": p.setl_id}
            if info:
                insurance.update({k: info.get(k) for k in (
                    "medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay",
                    "balc")})
        return {"payment_no": p.payment_no, "status": p.status, "patient_id": p.patient_id, "terminal": p.terminal,
                "device": p.device, "kind": p.kind, "bill_nos": p.bill_nos, "stay_no": p.stay_no, "total": p.total,
                "via": "mobilepay" if p.pay_auth_no else "two-designated", "pay_ord_id": p.pay_ord_id,
                "insurance": insurance,
                "cash": {"channel": p.channel, "amount": p.cash_amount if p.out_trade_no else
                         (ZERO if p.insured and p.cash_amount is not None else None),
                         "status": p.cash_status, "out_trade_no": p.out_trade_no,
                         "channel_trade_no": p.channel_trade_no, "pay_url": p.pay_url},
                "paid_at": p.paid_at, "error": p.error, "created_at": p.created_at,
                "slip": {"html": f"/slips/{p.setl_id}.html", "pdf": f"/slips/{p.setl_id}.pdf"} if p.setl_id else None}

    def payments(self, patient_id: int) -> list[dict[str, Any]]:
        with self.db.session() as s:
            nos = list(s.scalars(select(Payment.payment_no).where(Payment.patient_id == patient_id)
                                 .order_by(Payment.id)))
        return [self.view(n) for n in nos]

    # -- small helpers ---------------------------------------------------------------------------------
    def _load(self, no: str) -> Payment:
        with self.db.session() as s:
            p = s.scalar(select(Payment).where(Payment.payment_no == no))
            if p is None:
                raise not_found(f"payment {no} is not known")
            return p

    def _save(self, no: str, **values: Any) -> None:
        with self.db.session() as s:
            s.execute(update(Payment).where(Payment.payment_no == no).values(**values, updated_at=self.h.now()))

    def _note(self, no: str, error: str) -> None:
        log.warning("payment %s: %s", no, error)
        self._save(no, error=error)

    def _save_refund(self, refund_no: str, **values: Any) -> None:
        with self.db.session() as s:
            s.execute(update(Refund).where(Refund.refund_no == refund_no).values(**values, updated_at=self.h.now()))
