"""The deposit account's routes (预交金 / 充值, seed 003 其他 3): top-up by either linked code (an `Idempotency-Key`
header makes a retried request return the same top-up), the balance and its entries, withdrawal, and the staff's
sweep of open top-ups and withdrawals. A patient token reaches only his own deposit (another's is answered 404, as
unknown)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from yibao.hospital.api_base import Staff, Strict, Who, own, plain
from yibao.hospital.context import Context
from yibao.hospital.deposit import ledger, withdrawal
from yibao.hospital.deposit import topup as topups
from yibao.hospital.errors import HospitalError
from yibao.hospital.fields import Id, IdempotencyHeader, Money, PathId, PathText, Text


class TopUpIn(Strict):
    code: Text(100, 1) = Field(description="医保电子凭证 or 电子健康码 linked to the patient")
    amount: Money
    channel: Literal["wechat", "alipay", "card"]
    payer_ref: Text(64) | None = None


class WithdrawIn(Strict):
    patient_id: Id
    amount: Money | None = Field(None, description="default: the whole balance")


def deposit_router(h: Context) -> APIRouter:
    """The routes over `h`; the deposit becomes one of its channels (`channel: "deposit"` in POST /payments)."""
    ledger.install(h)
    router = APIRouter(tags=["deposit"])

    @router.post("/deposits/top-up", summary="预交金充值 by the e-credential or the health code", status_code=201)
    def top_up(body: TopUpIn, p: Who,
               idempotency_key: IdempotencyHeader = None) -> Any:
        if not p.staff:
            try:
                owner: int | None = ledger.patient_by_code(h, body.code)
            except Exception:  # noqa: BLE001 - unknown and another's answer alike
                owner = None
            own(p, owner, "no patient holds this code")
            if idempotency_key and topups.owner_of_topup_key(h, idempotency_key) not in (None, p.patient_id):
                raise HospitalError(409, "idempotency_key: already used for another top-up")
        return plain(topups.top_up(h, body.code, body.amount, body.channel, body.payer_ref, idempotency_key))

    @router.get("/deposits/top-ups/{topup_no}", summary="A top-up; refresh=true queries the channel")
    def topup(topup_no: PathText(32), p: Who, refresh: bool = False) -> Any:
        own(p, topups.owner_of_topup(h, topup_no), f"top-up {topup_no} is not known")
        return plain(topups.refresh(h, topup_no) if refresh else topups.topup_view(h, topup_no))

    @router.get("/patients/{patient_id}/deposit", summary="The deposit: balance and every entry")
    def balance(patient_id: PathId, p: Who) -> Any:
        own(p, patient_id, f"patient {patient_id} is not known")
        return plain(ledger.view(h, patient_id))

    @router.post("/deposits/withdraw", summary="Withdraw the unused deposit through the channel(s) it came from")
    def withdraw(body: WithdrawIn, p: Who) -> Any:
        own(p, body.patient_id, f"patient {body.patient_id} is not known")
        return plain(withdrawal.withdraw(h, body.patient_id, body.amount))

    @router.post("/deposits/withdrawals/{withdraw_no}", summary="Continue a withdrawal whose refund was lost")
    def continue_withdrawal(withdraw_no: PathText(32), p: Who) -> Any:
        own(p, withdrawal.owner_of_withdrawal(h, withdraw_no), f"withdrawal {withdraw_no} is not known")
        return plain(withdrawal.continue_withdrawal(h, withdraw_no))

    @router.post("/deposits/sweep", summary="Resolve every open top-up and continue every open withdrawal now")
    def sweep(_p: Staff) -> Any:
        return plain(topups.sweep(h))

    return router
