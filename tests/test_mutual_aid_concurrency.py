"""Family mutual aid under concurrency, on SQLite and PostgreSQL, beside tests/test_concurrency.py (which fires
two children's settlements at one parent's account and quota).

Here: two spouses, each the other's authorizer, settling at the same moment, so that every settlement locks
its own account and the other's (no deadlock, no overdraft, own balance first, each quota kept); the
authorizer's acts (unbind, transfer, a lower quota) landing while a settlement is being computed; and bindings
racing for the relation limits (Hefei 六) and for the same pair.

Messages go through the gateway's own pipeline (`app.state.gateway.handle`) from several threads, with the
Desk of concurrency_world.py; API calls through the JSON API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from concurrency_world import HOSP, REGION, SECRET, Desk, settled
from fastapi.testclient import TestClient
from httpx import Response
from outpatient_world import id_card
from sqlalchemy import select

from yibao.api.tokens import issue, signing_key
from yibao.platform import ledger
from yibao.store.db import Store
from yibao.store.models import AccountEntry, MutualAidAuthorization

D = Decimal
ZERO = D("0.00")
HUSBAND, WIFE, PARENT, KID = "44030000000000000301", "44030000000000000302", "44030000000000000303", \
    "44030000000000000304"
KIDS = [f"440300000000000004{i:02d}" for i in range(1, 7)]
CERTS = {psn: id_card(f"440301{1960 + i}0101{300 + i:03d}") for i, psn in enumerate([HUSBAND, WIFE, PARENT, KID,
                                                                                     *KIDS])}


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)


def dataset(grants: list[dict[str, Any]], balances: dict[str, str]) -> dict[str, Any]:
    def who(psn_no: str) -> dict[str, Any]:
        certno = CERTS[psn_no]
        out: dict[str, Any] = {"psn_no": psn_no, "name": "例" + psn_no[-3:], "certno": certno, "gend": "1",
                               "brdy": f"{certno[6:10]}-{certno[10:12]}-{certno[12:14]}",
                               "insutype": "310" if psn_no in balances else "390", "admdvs": REGION,
                               "psn_type": "1101" if psn_no in balances else "1402"}
        if psn_no in (HUSBAND, WIFE):  # the deductible is met: each visit pools 0.60, the spouse pays 0.40
            out["used"] = {"outpatient": {"deductible": "100.00", "fund": "0.00"}}
        if psn_no in balances:
            out["account"] = {"balance": balances[psn_no], "admdvs": REGION}
        return out

    return {
        "today": "2026-03-16",
        "regions": [{
            "admdvs": REGION, "name": "深圳市(示例)", "acct_bookkeeping": True,
            "mutual_aid": {"enabled": True, "authorizer_min_balance": None,
                           "relation_limits": {"spouse": 1, "father": 1, "mother": 1, "child": 4}},
            "policies": [
                {"insutype": "310", "med_types": ["11"], "bucket": "outpatient", "deductible": "100.00",
                 "ratio": "0.60", "annual_cap": "5000.00", "acct_scope": "all"},
                {"insutype": "390", "med_types": ["11"], "bucket": "outpatient", "deductible": "0.00",
                 "ratio": "0.50", "annual_cap": "800.00", "acct_scope": "all"}],
            "catalog": [{"code": "EX-DRUG-A", "name": "药品甲", "chrgitm_lv": "01", "selfpay_prop": "0",
                         "pric_uplmt_amt": None, "med_chrgitm_type": "09"}]}],
        "institutions": [{"code": HOSP, "name": "示例医院", "admdvs": REGION, "kind": "hospital", "level": "3",
                          "xregion": "none", "secret": SECRET}],
        "persons": [who(p) for p in CERTS],
        "mutual_aid": [{"start": "2026-01-01", "end": "2026-12-31", **g} for g in grants],
    }


def journal_total(store: Store, psn_no: str) -> Decimal:
    with store.unit_of_work() as s:
        return sum(s.scalars(select(AccountEntry.amount).where(AccountEntry.psn_no == psn_no,
                                                               AccountEntry.kind != "opening")), ZERO)


# -- two spouses, each the other's authorizer, paying at the same moment --------------------------------

def test_spouses_authorizing_each_other_settle_at_once_without_deadlock_or_overdraft(store: Store) -> None:
    quota = D("80.00")
    desk = Desk(store, dataset(
        [{"authorizer": HUSBAND, "beneficiary": WIFE, "relation": "spouse", "quota": str(quota)},
         {"authorizer": WIFE, "beneficiary": HUSBAND, "relation": "spouse", "quota": str(quota)}],
        {HUSBAND: "100.00", WIFE: "100.00", PARENT: "0.00"}))
    # each visit: 125.00 in scope, 75.00 pooled, 50.00 for the accounts; each spouse wants 4 x 50.00 = 200.00
    # from 100.00 of his own and at most 80.00 of the other's, who needs it too
    bodies = [desk.prepared_settlement(p, CERTS[p], "310", "125.00", "1") for _ in range(4) for p in (HUSBAND, WIFE)]
    opening = desk.books()
    infos = settled(desk.fire(bodies))
    after = desk.books()

    other = {HUSBAND: WIFE, WIFE: HUSBAND}
    for psn in (HUSBAND, WIFE):
        mine = [i for i in infos if i["psn_no"] == psn]
        own_paid = sum((i["acct_pay"] - i["acct_mulaid_pay"] for i in mine), ZERO)
        aid_received = sum((i["acct_mulaid_pay"] for i in mine), ZERO)
        aid_given = sum((i["acct_mulaid_pay"] for i in infos if i["psn_no"] == other[psn]), ZERO)
        assert after["balances"][psn] == opening["balances"][psn] - own_paid - aid_given == ZERO
        assert journal_total(store, psn) == -(own_paid + aid_given)
        assert after["quota_used"][psn] == aid_received <= quota  # keyed by beneficiary
        for i in mine:  # own balance first: mutual aid only once the own balance is used up
            assert i["psn_part_amt"] == D("50.00")
            assert i["acct_mulaid_pay"] == 0 or i["balc"] == 0, mine
    # both accounts ran dry whatever the order: 200.00 by account, 200.00 in cash
    assert sum((i["acct_pay"] for i in infos), ZERO) == D("200.00")
    assert sum((i["psn_cash_pay"] for i in infos), ZERO) == D("200.00")

    settled(desk.fire([desk.cancellation(i) for i in infos]))
    assert desk.books() == opening


# -- an authorizer's act while a settlement is being computed -------------------------------------------

ACTS: dict[str, Callable[[TestClient, dict[str, str], int], Response]] = {
    "unbind": lambda http, auth, gid: http.delete(f"/api/v1/me/mutual-aid/{gid}", headers=auth["person"]),
    "transfer": lambda http, auth, gid: http.post(f"/api/v1/agency/persons/{PARENT}/transfer",
                                                  headers=auth["agency"], json={"to_admdvs": "440100"}),
    "lower_quota": lambda http, auth, gid: http.patch(f"/api/v1/me/mutual-aid/{gid}", headers=auth["person"],
                                                      json={"quota": "20.00"}),
}


@pytest.mark.parametrize("act", sorted(ACTS))
def test_an_authorizers_act_during_a_settlement_counts_for_it_if_it_came_first(
        store: Store, act: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The act is sent when the settlement has read the authorizations but not yet locked the accounts. On
    PostgreSQL it commits at once (nothing it needs is locked yet), so the settlement, which re-reads the
    authorizations under lock, must see it: no mutual aid after an unbind or a transfer, the new quota after a
    change. On SQLite the settlement holds the write lock from its first statement, so the act waits and
    comes after: the settlement draws as before. Either way the books agree with one serial order."""
    doc = dataset([{"authorizer": PARENT, "beneficiary": KID, "relation": "child", "quota": "500.00"}],
                  {PARENT: "1000.00", HUSBAND: "0.00", WIFE: "0.00"})
    doc["regions"].append({"admdvs": "440100", "name": "广州市(示例)"})
    desk = Desk(store, doc)
    with store.unit_of_work() as s:
        grant_id = s.scalars(select(MutualAidAuthorization.id)).one()
    body = desk.prepared_settlement(KID, CERTS[KID], "390", "100.00", "1")  # 50.00 for mutual aid
    http = desk.client.http
    key = signing_key(store)
    auth = {"person": {"Authorization": f"Bearer {issue(key, 'person', PARENT)}"},
            "agency": {"Authorization": f"Bearer {issue(key, 'agency', REGION)}"}}

    seen: dict[str, Any] = {}
    lock_accounts = ledger.lock_accounts

    def act_first_then_lock(session: Any, psn_nos: set[str]) -> Any:
        if PARENT in psn_nos and "thread" not in seen:
            thread = threading.Thread(target=lambda: seen.update(reply=ACTS[act](http, auth, grant_id)))
            seen["thread"] = thread
            thread.start()
            thread.join(0.5)
            seen["act_first"] = not thread.is_alive()
        return lock_accounts(session, psn_nos)

    monkeypatch.setattr(ledger, "lock_accounts", act_first_then_lock)
    [info] = settled(desk.fire([body]))
    seen["thread"].join(30)
    monkeypatch.undo()
    assert seen["reply"].status_code == 200, seen["reply"].text
    assert seen["act_first"] == (store.engine.dialect.name == "postgresql")

    drawn = info["acct_mulaid_pay"]
    if not seen["act_first"]:
        assert drawn == D("50.00")
    elif act == "lower_quota":
        assert drawn == D("20.00")
    else:
        assert drawn == ZERO
    books = desk.books()
    assert books["balances"][PARENT] == D("1000.00") - drawn
    assert books["quota_used"][KID] == drawn
    with store.unit_of_work() as s:
        grant = s.get(MutualAidAuthorization, grant_id)
        assert grant is not None
        after = ("active", D("20.00")) if act == "lower_quota" else ("ended", D("500.00"))
        assert (grant.status, grant.quota) == after


# -- bindings racing for the relation limits ------------------------------------------------------------

def test_bindings_at_the_same_moment_keep_the_relation_limits_and_one_per_pair(store: Store) -> None:
    desk = Desk(store, dataset([], {PARENT: "5000.00", HUSBAND: "0.00", WIFE: "100.00"}))
    http = desk.client.http
    auth = {"Authorization": f"Bearer {issue(signing_key(store), 'person', PARENT)}"}
    wanted = [(kid, "child") for kid in KIDS] + [(WIFE, "spouse")] * 3  # 6 children for 4 places; one wife, thrice
    start = threading.Barrier(len(wanted))
    replies: list[Response | None] = [None] * len(wanted)

    def bind(i: int) -> None:
        beneficiary, relation = wanted[i]
        start.wait()
        replies[i] = http.post("/api/v1/me/mutual-aid", headers=auth, json={
            "beneficiary_psn_no": beneficiary, "relation": relation, "start": "2026-01-01",
            "commitment": {"version": "v1", "accepted_at": "2026-03-16T09:00:00"}})

    threads = [threading.Thread(target=bind, args=(i,)) for i in range(len(wanted))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    statuses = [r.status_code if r is not None else None for r in replies]
    children, wives = statuses[:len(KIDS)], statuses[len(KIDS):]
    assert sorted(children) == [201] * 4 + [422] * 2, [r.text for r in replies if r is not None]
    assert sorted(wives) == [201, 422, 422]
    for r in replies:
        assert r is not None
        if r.status_code == 422:
            assert r.json()["detail"] in (
                "relation: at most 4 active authorization(s) for relation child (子女) per authorizer; 4 already",
                "beneficiary: an active authorization for this beneficiary already exists; relation: at most 1 active "
                "authorization(s) for relation spouse (配偶) per authorizer; 1 already"), r.json()
    with store.unit_of_work() as s:
        active = list(s.scalars(select(MutualAidAuthorization.relation).where(
            MutualAidAuthorization.authorizer == PARENT, MutualAidAuthorization.status == "active")))
    assert sorted(active) == ["child"] * 4 + ["spouse"]
