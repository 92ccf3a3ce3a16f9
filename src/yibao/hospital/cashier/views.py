"""How a payment reads to its caller (`GET /payments/{no}`, the answer of every payment route, a stay's or a
sale's `payment`): the kept settlement's figures, the cash order, the slip's address."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from yibao.hospital.cashier.rows import load
from yibao.hospital.db import Payment
from yibao.hospital.insurance import loads
from yibao.money import ZERO

if TYPE_CHECKING:
    from yibao.hospital.context import Context

#: the kept settlement's figures a payment shows
FIGURES = ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc")


def view(h: Context, no: str) -> dict[str, Any]:
    p = load(h, no)
    info = (loads(p.out_settle) or {}).get("setlinfo") if p.out_settle else None
    insurance = None
    if p.insured:
        insurance = {"status": p.insurance_status, "mdtrt_id": p.mdtrt_id, "setl_id": p.setl_id}
        if info:
            insurance.update({k: info.get(k) for k in FIGURES})
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


def payments(h: Context, patient_id: int) -> list[dict[str, Any]]:
    with h.db.session() as s:
        nos = list(s.scalars(select(Payment.payment_no).where(Payment.patient_id == patient_id)
                             .order_by(Payment.id)))
    return [view(h, n) for n in nos]
