"""Approved commercial health insurance bought with personal accounts (Hefei 四, 五): products of the insured
region, purchases and refunds for insured persons; the region's product list for agency staff."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from yibao.api.deps import agency, in_unit_of_work, person
from yibao.api.params import Money
from yibao.errors import refuse
from yibao.platform import insurance as ins
from yibao.platform.work import Work
from yibao.store.models import InsuranceProduct, InsurancePurchase, Person

router = APIRouter(prefix="/api/v1", tags=["commercial health insurance"])


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_code: str = Field(min_length=1, max_length=50)


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=50, pattern=r"^\S+$")
    name: str = Field(min_length=1, max_length=200)
    insurer: str = Field(min_length=1, max_length=200)
    premium: Money = Field(description="decimal string, above 0")


def _me(w: Work, me: str) -> Person:
    found = w.session.get(Person, me)
    if found is None:
        raise refuse("psn_no", f"no insured person {me}")
    return found


@router.get("/insurance-products", summary="The approved products of my insured region")
def products(request: Request, me: str = Depends(person)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: [ins.describe_product(p)
                                               for p in ins.products(w.session, _me(w, me).admdvs)])


@router.post("/me/insurance-purchases", status_code=201,
             summary="Buy a product: own account first, then family mutual aid, the rest in cash")
def buy(body: PurchaseIn, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = ins.purchase(w.session, me, body.product_code, now=w.now, today=w.today)
        return ins.describe(row, ins.notes_of(w.session, row))

    return in_unit_of_work(request, run)


@router.get("/me/insurance-purchases", summary="My purchases")
def mine(request: Request, me: str = Depends(person)) -> list[dict[str, Any]]:
    def run(w: Work) -> list[dict[str, Any]]:
        return [ins.describe(row, notes) for row, notes in ins.of_person(w.session, me)]

    return in_unit_of_work(request, run)


@router.post("/me/insurance-purchases/{purchase_id}/refund",
             summary="Refund a purchase: every account part goes back to its origin, quotas too")
def refund(purchase_id: str, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = w.session.get(InsurancePurchase, purchase_id)
        if row is None or row.psn_no != me:
            raise HTTPException(404, f"no insurance purchase {purchase_id} of yours")
        row = ins.refund(w.session, purchase_id, me, now=w.now)
        return ins.describe(row, ins.notes_of(w.session, row))

    return in_unit_of_work(request, run)


# -- agency staff ------------------------------------------------------------------------------------

@router.post("/agency/insurance-products", status_code=201,
             summary="Add (201) or update (200) an approved product of my region")
def save_product(body: ProductIn, request: Request, response: Response,
                 region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        product, created = ins.save_product(w.session, region, body.code, name=body.name, insurer=body.insurer,
                                            premium=body.premium)
        if not created:
            response.status_code = 200
        return ins.describe_product(product)

    return in_unit_of_work(request, run)


@router.post("/agency/insurance-products/{code}/withdraw", summary="Withdraw a product of my region")
def withdraw_product(code: str, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        if w.session.get(InsuranceProduct, (region, code)) is None:
            raise HTTPException(404, f"no insurance product {code} in region {region}")
        return ins.describe_product(ins.withdraw_product(w.session, region, code))

    return in_unit_of_work(request, run)
