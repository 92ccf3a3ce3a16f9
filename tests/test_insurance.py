"""Buying an approved commercial health insurance product with personal accounts (Hefei 四, 五), through the
JSON API: own account first, then family mutual aid, the rest in cash; refunds put every part back.

World: tests/data/world.yaml plus products of 深圳 (440300) and 广州 (440100). 张三 (…0001) is an employee
with 500.00 who authorizes his daughter 李四 (…0002, resident, no account) with a quota of 300.00.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import WORLD
from sqlalchemy import select

from yibao.api.tokens import issue, signing_key
from yibao.app import create_app
from yibao.dataset.loader import load_document, read_document
from yibao.store.db import Store
from yibao.store.models import (
    Account,
    AccountEntry,
    BankInstruction,
    InsurancePurchase,
    MutualAidAuthorization,
)

D = Decimal
SZ, GZ = "440300", "440100"
EMPLOYEE, CHILD, SPOUSE = "44030000000000000001", "44030000000000000002", "44030000000000000003"
GZ_EMPLOYEE = "44010000000000000001"
HMB, GZ_HMB = "SZ-HMB-2026", "GZ-HMB-2026"
PRODUCTS = {
    SZ: [{"code": HMB, "name": "深圳惠民保 2026", "insurer": "示例人寿深圳分公司", "premium": "200.00"}],
    GZ: [{"code": GZ_HMB, "name": "穗岁康 2026", "insurer": "示例财险广州分公司", "premium": "180.00"}],
}


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)


def world_doc() -> dict[str, Any]:
    doc = copy.deepcopy(read_document(WORLD))
    for region in doc["regions"]:
        region["insurance_products"] = PRODUCTS.get(region["admdvs"], [])
    return doc


def with_spouse(doc: dict[str, Any]) -> dict[str, Any]:
    """An employee spouse with 40.00 of her own, authorized by 张三 without a quota."""
    doc["persons"].append({"psn_no": SPOUSE, "name": "王芳", "certno": "440301199203150021", "gend": "2",
                           "brdy": "1992-03-15", "insutype": "310", "admdvs": SZ, "psn_type": "1101",
                           "account": {"balance": "40.00", "admdvs": SZ}})
    doc["mutual_aid"].append({"authorizer": EMPLOYEE, "beneficiary": SPOUSE, "relation": "spouse", "quota": None,
                              "start": "2026-01-01", "end": "2026-12-31", "priority": 1})
    return doc


class Api:
    def __init__(self, store: Store):
        self.store = store
        self.http = TestClient(create_app(store))
        self._key = signing_key(store)

    def headers(self, kind: str, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue(self._key, kind, subject)}"}

    def buy(self, psn_no: str, product_code: str = HMB) -> httpx.Response:
        return self.http.post("/api/v1/me/insurance-purchases", json={"product_code": product_code},
                              headers=self.headers("person", psn_no))

    def bought(self, psn_no: str, product_code: str = HMB) -> dict[str, Any]:
        reply = self.buy(psn_no, product_code)
        assert reply.status_code == 201, reply.text
        return reply.json()

    def refund(self, psn_no: str, purchase_id: str) -> httpx.Response:
        return self.http.post(f"/api/v1/me/insurance-purchases/{purchase_id}/refund",
                              headers=self.headers("person", psn_no))

    def purchases(self, psn_no: str) -> list[dict[str, Any]]:
        reply = self.http.get("/api/v1/me/insurance-purchases", headers=self.headers("person", psn_no))
        assert reply.status_code == 200, reply.text
        return reply.json()

    def products(self, psn_no: str) -> list[dict[str, Any]]:
        reply = self.http.get("/api/v1/insurance-products", headers=self.headers("person", psn_no))
        assert reply.status_code == 200, reply.text
        return reply.json()

    def save_product(self, region: str, **body: Any) -> httpx.Response:
        return self.http.post("/api/v1/agency/insurance-products", json=body, headers=self.headers("agency", region))

    def withdraw(self, region: str, code: str) -> httpx.Response:
        return self.http.post(f"/api/v1/agency/insurance-products/{code}/withdraw",
                              headers=self.headers("agency", region))

    # -- the books ---------------------------------------------------------------------------------------

    def balance(self, psn_no: str) -> Decimal:
        with self.store.unit_of_work() as s:
            account = s.get(Account, psn_no)
            assert account is not None
            return account.balance

    def quota_used(self, beneficiary: str) -> Decimal:
        with self.store.unit_of_work() as s:
            return s.scalars(select(MutualAidAuthorization.quota_used)
                             .where(MutualAidAuthorization.beneficiary == beneficiary)).one()

    def instructions(self, setl_id: str) -> list[tuple[str, str, Decimal, str | None]]:
        with self.store.unit_of_work() as s:
            rows = s.scalars(select(BankInstruction).where(BankInstruction.setl_id == setl_id)
                             .order_by(BankInstruction.journal_id))
            return [(r.code, r.psn_no, r.amount, r.beneficiary_psn_no) for r in rows]

    def journal(self, setl_id: str) -> list[tuple[str, str, Decimal, int | None]]:
        with self.store.unit_of_work() as s:
            rows = s.scalars(select(AccountEntry).where(AccountEntry.setl_id == setl_id).order_by(AccountEntry.id))
            return [(e.psn_no, e.kind, e.amount, e.authorization_id) for e in rows]

    def books(self) -> dict[str, Any]:
        """Balances and quotas: what a refund must restore exactly."""
        with self.store.unit_of_work() as s:
            return {"balances": {a.psn_no: a.balance for a in s.scalars(select(Account))},
                    "quotas": {g.id: g.quota_used for g in s.scalars(select(MutualAidAuthorization))}}


@pytest.fixture
def api(store: Store) -> Api:
    load_document(store, world_doc())
    return Api(store)


def amounts(p: dict[str, Any]) -> tuple[str, str, str, str]:
    return p["premium"], p["acct_pay"], p["acct_mulaid_pay"], p["cash_pay"]


# -- products ---------------------------------------------------------------------------------------------

def test_a_person_sees_the_products_of_his_insured_region(api: Api) -> None:
    assert api.products(EMPLOYEE) == [{"admdvs": SZ, "code": HMB, "name": "深圳惠民保 2026",
                                       "insurer": "示例人寿深圳分公司", "premium": "200.00", "active": True}]
    assert [p["code"] for p in api.products(GZ_EMPLOYEE)] == [GZ_HMB]
    assert api.http.get("/api/v1/insurance-products").status_code == 401
    assert api.http.get("/api/v1/insurance-products", headers=api.headers("agency", SZ)).status_code == 403


# -- paying ---------------------------------------------------------------------------------------------------

def test_own_account_pays_the_premium(api: Api) -> None:
    p = api.bought(EMPLOYEE)
    assert amounts(p) == ("200.00", "200.00", "0.00", "0.00")
    assert (p["psn_no"], p["admdvs"], p["product_code"], p["insurer"], p["status"]) == (
        EMPLOYEE, SZ, HMB, "示例人寿深圳分公司", "paid")
    assert len(p["purchase_id"]) == 30 and p["purchase_id"].startswith(SZ)
    assert api.balance(EMPLOYEE) == D("300.00")
    assert api.journal(p["purchase_id"]) == [(EMPLOYEE, "insurance", D("-200.00"), None)]
    assert api.instructions(p["purchase_id"]) == [("acct_021", EMPLOYEE, D("200.00"), None)]
    assert api.quota_used(CHILD) == D("0.00")  # his own purchase does not touch what he gave
    assert api.purchases(EMPLOYEE) == [p]


def test_own_balance_short_mutual_aid_pays_the_rest(store: Store) -> None:
    load_document(store, with_spouse(world_doc()))
    api = Api(store)
    p = api.bought(SPOUSE)
    assert amounts(p) == ("200.00", "200.00", "160.00", "0.00")  # own 40.00 + mutual aid 160.00
    assert api.balance(SPOUSE) == D("0.00")
    assert api.balance(EMPLOYEE) == D("340.00")
    grant = api.journal(p["purchase_id"])[1][3]
    assert api.journal(p["purchase_id"]) == [(SPOUSE, "insurance", D("-40.00"), None),
                                             (EMPLOYEE, "insurance", D("-160.00"), grant)]
    assert grant is not None
    assert api.instructions(p["purchase_id"]) == [("acct_021", SPOUSE, D("40.00"), None),
                                                  ("acct_021", EMPLOYEE, D("160.00"), SPOUSE)]
    assert api.quota_used(SPOUSE) == D("160.00")


def test_no_own_account_mutual_aid_pays_within_the_quota_then_cash(api: Api) -> None:
    first = api.bought(CHILD)
    assert amounts(first) == ("200.00", "200.00", "200.00", "0.00")
    assert api.balance(EMPLOYEE) == D("300.00")
    assert api.quota_used(CHILD) == D("200.00")
    assert api.instructions(first["purchase_id"]) == [("acct_021", EMPLOYEE, D("200.00"), CHILD)]

    second = api.bought(CHILD)  # quota left 100.00: the rest is paid to the insurer in cash
    assert amounts(second) == ("200.00", "100.00", "100.00", "100.00")
    assert api.quota_used(CHILD) == D("300.00")
    assert api.balance(EMPLOYEE) == D("200.00")
    assert any("100.00 not covered" in n for n in second["notes"])

    third = api.bought(CHILD)  # quota used up: all cash, no movement, no instruction
    assert amounts(third) == ("200.00", "0.00", "0.00", "200.00")
    assert api.journal(third["purchase_id"]) == [] and api.instructions(third["purchase_id"]) == []
    assert api.balance(EMPLOYEE) == D("200.00")
    assert [x["purchase_id"] for x in api.purchases(CHILD)] == [first["purchase_id"], second["purchase_id"],
                                                                third["purchase_id"]]


def test_the_authorizer_balance_limits_mutual_aid(api: Api) -> None:
    api.bought(EMPLOYEE)
    api.bought(EMPLOYEE)  # 500.00 -> 100.00
    p = api.bought(CHILD)
    assert amounts(p) == ("200.00", "100.00", "100.00", "100.00")
    assert api.balance(EMPLOYEE) == D("0.00")
    own = api.bought(EMPLOYEE)  # nothing left of his own, and nobody authorizes him
    assert amounts(own) == ("200.00", "0.00", "0.00", "200.00")


def test_arrears_do_not_block_mutual_aid_for_insurance(store: Store) -> None:
    doc = world_doc()
    next(p for p in doc["persons"] if p["psn_no"] == CHILD)["arrears"] = True
    load_document(store, doc)
    p = Api(store).bought(CHILD)
    assert amounts(p) == ("200.00", "200.00", "200.00", "0.00")


def test_a_region_without_account_bookkeeping_pays_everything_in_cash(store: Store) -> None:
    doc = world_doc()
    next(r for r in doc["regions"] if r["admdvs"] == SZ)["acct_bookkeeping"] = False
    load_document(store, doc)
    api = Api(store)
    p = api.bought(EMPLOYEE)
    assert amounts(p) == ("200.00", "0.00", "0.00", "200.00")
    assert any("does not support account bookkeeping" in n for n in p["notes"])
    assert api.purchases(EMPLOYEE)[0]["notes"] == p["notes"]  # the reason is recorded, not only answered
    assert api.balance(EMPLOYEE) == D("500.00") and api.journal(p["purchase_id"]) == []


def test_an_ended_authorization_pays_nothing(api: Api) -> None:
    grants = api.http.get("/api/v1/me/mutual-aid", headers=api.headers("person", EMPLOYEE)).json()["as_authorizer"]
    reply = api.http.delete(f"/api/v1/me/mutual-aid/{grants[0]['id']}", headers=api.headers("person", EMPLOYEE))
    assert reply.status_code == 200, reply.text
    assert amounts(api.bought(CHILD)) == ("200.00", "0.00", "0.00", "200.00")
    assert api.balance(EMPLOYEE) == D("500.00")


# -- refusals ---------------------------------------------------------------------------------------------

def test_unknown_and_foreign_products_are_refused(api: Api) -> None:
    before = api.books()
    for code in ("NO-SUCH-PRODUCT", GZ_HMB):  # GZ_HMB exists, but in 广州, not in the buyer's region
        reply = api.buy(EMPLOYEE, code)
        assert reply.status_code == 422
        assert reply.json()["detail"].startswith("product_code: no approved commercial health insurance product")
        assert SZ in reply.json()["detail"]
    assert api.buy(EMPLOYEE, "").status_code == 422
    assert api.books() == before and api.purchases(EMPLOYEE) == []


def test_a_withdrawn_product_is_refused(api: Api) -> None:
    reply = api.withdraw(SZ, HMB)
    assert reply.status_code == 200, reply.text
    assert reply.json()["active"] is False
    assert api.products(EMPLOYEE) == []
    reply = api.buy(EMPLOYEE)
    assert reply.status_code == 422
    assert reply.json()["type"] == "urn:yibao:problem:refused"
    assert reply.json()["detail"] == f"product_code: insurance product {HMB} of region {SZ} has been withdrawn"
    assert api.balance(EMPLOYEE) == D("500.00")


def test_a_suspended_person_is_refused(store: Store) -> None:
    doc = world_doc()
    next(p for p in doc["persons"] if p["psn_no"] == EMPLOYEE)["suspended"] = True
    load_document(store, doc)
    reply = Api(store).buy(EMPLOYEE)
    assert reply.status_code == 422 and "suspended" in reply.json()["detail"]


# -- refunds ---------------------------------------------------------------------------------------------

def test_refund_restores_balances_and_quotas_exactly_and_queues_acct_023(store: Store) -> None:
    load_document(store, with_spouse(world_doc()))
    api = Api(store)
    opening = api.books()
    mixed = api.bought(SPOUSE)  # own 40.00 + 160.00 from 张三, no quota
    aided = api.bought(CHILD)  # 200.00 from 张三 within the quota 300.00
    assert api.balance(EMPLOYEE) == D("140.00") and api.quota_used(CHILD) == D("200.00")

    reply = api.refund(CHILD, aided["purchase_id"])
    assert reply.status_code == 200, reply.text
    done = reply.json()
    assert done["status"] == "refunded" and done["refund_id"] and done["refunded_at"]
    assert amounts(done) == amounts(aided)  # the purchase keeps what it paid
    assert api.balance(EMPLOYEE) == D("340.00") and api.quota_used(CHILD) == D("0.00")
    assert api.instructions(done["refund_id"]) == [("acct_023", EMPLOYEE, D("200.00"), CHILD)]
    grant = api.journal(aided["purchase_id"])[0][3]
    assert api.journal(done["refund_id"]) == [(EMPLOYEE, "insurance_refund", D("200.00"), grant)]

    done = api.refund(SPOUSE, mixed["purchase_id"]).json()
    assert api.instructions(done["refund_id"]) == [("acct_023", SPOUSE, D("40.00"), None),
                                                   ("acct_023", EMPLOYEE, D("160.00"), SPOUSE)]
    assert api.books() == opening
    with store.unit_of_work() as s:
        assert {r.status for r in s.scalars(select(InsurancePurchase))} == {"refunded"}
    assert [p["status"] for p in api.purchases(CHILD)] == ["refunded"]


def test_a_second_refund_is_refused(api: Api) -> None:
    p = api.bought(CHILD)
    first = api.refund(CHILD, p["purchase_id"])
    assert first.status_code == 200
    books = api.books()
    again = api.refund(CHILD, p["purchase_id"])
    assert again.status_code == 422
    assert again.json()["detail"] == (f"purchase_id: insurance purchase {p['purchase_id']} was already refunded "
                                     f"({first.json()['refund_id']})")
    assert api.books() == books
    assert len(api.instructions(first.json()["refund_id"])) == 1


def test_refund_of_a_cash_purchase_moves_no_account(api: Api) -> None:
    api.withdraw(SZ, HMB)
    api.save_product(SZ, code="BIG", name="高端医疗", insurer="示例人寿", premium="900.00")
    p = api.bought(EMPLOYEE, "BIG")
    assert amounts(p) == ("900.00", "500.00", "0.00", "400.00")
    done = api.refund(EMPLOYEE, p["purchase_id"]).json()
    assert api.balance(EMPLOYEE) == D("500.00")
    assert api.instructions(done["refund_id"]) == [("acct_023", EMPLOYEE, D("500.00"), None)]


def test_a_purchase_of_another_person_is_invisible(api: Api) -> None:
    p = api.bought(EMPLOYEE)
    assert api.purchases(CHILD) == []
    reply = api.refund(CHILD, p["purchase_id"])
    assert reply.status_code == 404
    assert api.refund(CHILD, "440300000000000000000000000000").status_code == 404
    assert api.purchases(EMPLOYEE)[0]["status"] == "paid"
    assert api.balance(EMPLOYEE) == D("300.00")


# -- agency ---------------------------------------------------------------------------------------------------

def test_agency_adds_updates_and_withdraws_products_of_its_region_only(api: Api) -> None:
    body = {"code": "SZ-CI", "name": "重疾险", "insurer": "示例人寿", "premium": "120.50"}
    created = api.save_product(SZ, **body)
    assert created.status_code == 201, created.text
    assert created.json() == {**body, "admdvs": SZ, "active": True}
    assert [p["code"] for p in api.products(EMPLOYEE)] == ["SZ-CI", HMB]
    assert [p["code"] for p in api.products(GZ_EMPLOYEE)] == [GZ_HMB]  # not in 广州

    updated = api.save_product(SZ, **{**body, "premium": "130.00"})
    assert updated.status_code == 200 and updated.json()["premium"] == "130.00"
    assert amounts(api.bought(EMPLOYEE, "SZ-CI")) == ("130.00", "130.00", "0.00", "0.00")

    assert api.withdraw(GZ, "SZ-CI").status_code == 404  # 广州 staff cannot touch 深圳's products
    assert api.withdraw(GZ, "NOPE").status_code == 404
    assert api.withdraw(SZ, "SZ-CI").status_code == 200
    again = api.withdraw(SZ, "SZ-CI")
    assert again.status_code == 422 and "already withdrawn" in again.json()["detail"]
    assert [p["code"] for p in api.products(EMPLOYEE)] == [HMB]
    assert api.buy(EMPLOYEE, "SZ-CI").status_code == 422

    reapproved = api.save_product(SZ, **body)  # approving it again makes it buyable again
    assert reapproved.status_code == 200 and reapproved.json()["active"] is True
    assert api.buy(EMPLOYEE, "SZ-CI").status_code == 201


def test_agency_product_input_is_checked(api: Api) -> None:
    good = {"code": "X1", "name": "产品", "insurer": "示例人寿", "premium": "10.00"}
    assert api.save_product(SZ, **{**good, "premium": "0.00"}).json()["detail"] == "premium: must be above 0; is 0.00"
    assert api.save_product(SZ, **{**good, "premium": "10.001"}).status_code == 422
    assert api.save_product(SZ, **{**good, "premium": 10.5}).status_code == 422  # a float is never money
    assert api.save_product(SZ, **{k: v for k, v in good.items() if k != "insurer"}).status_code == 422
    person_token = api.http.post("/api/v1/agency/insurance-products", json=good,
                                 headers=api.headers("person", EMPLOYEE))
    assert person_token.status_code == 403
    assert api.http.post(f"/api/v1/agency/insurance-products/{HMB}/withdraw",
                         headers=api.headers("person", EMPLOYEE)).status_code == 403
    assert [p["code"] for p in api.products(EMPLOYEE)] == [HMB]
