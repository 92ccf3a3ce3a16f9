"""The insurance leg of a phone payment through the platform's mobile-payment centre (the patient's payAuthNo):
6201 uploads the pay order, 6202 settles it, 6301 says where it stands when an answer was lost, 6203 undoes it
(HI, or CASH for the cash the channel gave back), 6401 revokes an order never settled. The messages themselves
are yibao.hospital.mobilepay's; here is what the payment keeps of them."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from yibao.client import PlatformError
from yibao.hospital.cashier.rows import REFUNDED, load, log, note, record_settlement, save, visit_of
from yibao.hospital.db import Payment, Registration
from yibao.hospital.directory import slot_info
from yibao.hospital.insurance import OutcomeUnknown, dumps, loads
from yibao.hospital.mobilepay import REFUNDED as ORDER_REFUNDED
from yibao.hospital.mobilepay import SETTLED, UPLOADED, MobilePay, snake
from yibao.hospital.states import InsuranceStatus

if TYPE_CHECKING:
    from yibao.hospital.context import Context


def settle(h: Context, p: Payment) -> dict[str, Any]:
    """6201 then 6202."""
    mp = MobilePay(h)
    upload_order(h, mp, p)
    return mp.pay(load(h, p.payment_no))


def upload_order(h: Context, mp: MobilePay, p: Payment) -> None:
    """6201: the pay order (idempotent per medOrgOrd); its id, token, the visit and the lines' split kept."""
    reg, patient, lines = visit_of(h, p)
    order = mp.upload(p, reg, patient, slot_info(h, reg.slot_id), lines)
    split = {"result": [snake(r) for r in (order.get("extData") or {}).get("result") or []]}
    save(h, p.payment_no, pay_ord_id=str(order["payOrdId"]), pay_token=str(order["payToken"]),
         mdtrt_id=str(order["mdtrtId"]), out_2204=dumps(split))
    if not reg.mdtrt_id:  # the centre registered the visit (as 2201): the registration's from now on
        with h.db.session() as s:
            s.execute(update(Registration).where(Registration.id == reg.id)
                      .values(mdtrt_id=str(order["mdtrtId"]), insured=True))


def learn(h: Context, no: str) -> bool | None:
    """Where a mobile payment's order stands when its answer was lost: True settled (recorded), False
    nothing stands (an order never paid is revoked), None still unknown."""
    mp = MobilePay(h)
    p = load(h, no)
    try:
        if not p.pay_ord_id:  # 6201's answer lost: asked again (the same medOrgOrd answers the same order)
            upload_order(h, mp, p)
            p = load(h, no)
        state = str(mp.query(p).get("ordStas"))
        if state == SETTLED:
            record_settlement(h, no, mp.pay(p))  # a settled order answers its settlement again
            return True
        if state == UPLOADED:
            mp.revoke(p)
    except PlatformError as exc:
        if p.pay_ord_id:
            note(h, no, f"{exc.infno} refused: {exc.err_msg}")
            return None
        # 6201 refused: no order was ever made
    except OutcomeUnknown as exc:
        note(h, no, f"mobile payment outcome still unknown: {exc}")
        return None
    save(h, no, insurance_status=InsuranceStatus.NONE)
    return False


def cancel(h: Context, no: str) -> bool:
    """6203 HI: the settlement of a mobile payment undone (6301 first: its revsToken, and whether it was
    refunded already)."""
    mp = MobilePay(h)
    p = load(h, no)
    try:
        order = mp.query(p)
        if str(order.get("ordStas")) in ORDER_REFUNDED:
            out = None
        else:
            out = mp.refund_insurance(p, loads(p.out_settle)["setlinfo"], str(order.get("revsToken") or ""),
                                      cash_taken=p.cash_status in ("PAID", *REFUNDED))
    except PlatformError as exc:
        note(h, no, f"{exc.infno} refused: {exc.err_msg}")
        return False
    except OutcomeUnknown as exc:
        note(h, no, f"6203 outcome unknown: {exc}")
        return False
    save(h, no, insurance_status=InsuranceStatus.CANCELLED, **({"out_cancel": dumps(out)} if out is not None else {}))
    return True


def revoke(h: Context, p: Payment) -> None:
    """6401: the order of a payment whose settlement was refused can no longer be paid (best effort)."""
    try:
        MobilePay(h).revoke(p)
    except (PlatformError, OutcomeUnknown) as exc:
        log.warning("payment %s: 6401 of order %s: %s", p.payment_no, p.pay_ord_id, exc)


def tell_cash_refund(h: Context, no: str, amount: Decimal) -> None:
    """6203 CASH: the centre's order records the cash the channel gave back (best effort: the money moved
    already; a failure is logged and the order stays 'insurance refunded')."""
    mp = MobilePay(h)
    p = load(h, no)
    try:
        order = mp.query(p)
        if str(order.get("ordStas")) != "8":  # refunded whole (ALL) already: nothing left to record
            mp.refund_cash(p, amount, str(order.get("revsToken") or ""))
    except (PlatformError, OutcomeUnknown) as exc:
        log.warning("payment %s: 6203 CASH of order %s: %s", no, p.pay_ord_id, exc)
