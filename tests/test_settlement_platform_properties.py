"""Properties of settlement through the platform (hypothesis): whole settlements and their cancellation on random
policies, balances, quotas and fee lines, on both databases. The pure rules' properties are
tests/fast/test_settlement_properties.py.

Every number is a Decimal drawn from integers (never a float). Each settlement is compared with an independent
restatement of rules.md sections 3-5 and checked against the invariants of section 4 step 8.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from decimal_strategies import ZERO, fixed, r2
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.app import create_app
from yibao.client import PlatformClient
from yibao.dataset.loader import load_document
from yibao.store.db import Store
from yibao.store.models import Account, Accumulator, Base, MutualAidAuthorization

# -- through the platform ------------------------------------------------------------------------------

REGION = "140100"
HOSP = "H14010000101"
SECRET = "prop-secret-ty"
PARENT = "14010000000000000201"
PARENT_CERT = "140101197001011014"
BENEFICIARY = "14010000000000000202"
CODES = ("EX-DRUG-A", "EX-DRUG-B", "EX-ITEM-C", "NOT-IN-CATALOG")


@dataclass(frozen=True)
class Scenario:
    resident: bool             # a 390 beneficiary without an own account, or a 310 one with an own balance
    own_balance: Decimal
    parent_balance: Decimal
    grant: bool
    quota: Decimal | None
    deductible: Decimal
    ratio: Decimal
    cap: Decimal
    scope: str
    used_deductible: Decimal
    used_fund: Decimal
    b_prop: Decimal
    b_cap: Decimal | None
    lines: tuple[tuple[str, Decimal, Decimal], ...]
    acct_used_flag: str
    a_form: bool


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    cap = draw(fixed("0", "1000", 2))
    deductible = draw(fixed("0", "200", 2))
    return Scenario(
        resident=draw(st.booleans()), own_balance=draw(fixed("0", "300", 2)),
        parent_balance=draw(fixed("0", "600", 2)), grant=draw(st.integers(0, 4)) > 0,
        quota=draw(st.none() | fixed("0", "400", 2)), deductible=deductible, ratio=draw(fixed("0", "1", 2)),
        cap=cap, scope=draw(st.sampled_from(["all", "policy"])),
        used_deductible=draw(fixed("0", str(deductible + 20), 2)), used_fund=draw(fixed("0", str(cap), 2)),
        b_prop=draw(fixed("0", "1", 2)), b_cap=draw(st.none() | fixed("1", "150", 2)),
        lines=tuple(draw(st.lists(st.tuples(st.sampled_from(CODES), fixed("0.01", "300", 2),
                                            st.sampled_from([0, 1, 2]).flatmap(lambda p: fixed("1", "6", p))),
                                  min_size=1, max_size=4))),
        acct_used_flag=draw(st.sampled_from(["1", "1", "1", "0"])), a_form=draw(st.booleans()))


def id_card(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


BENEFICIARY_CERT = id_card("14010120000101102")


def dataset(sc: Scenario) -> dict[str, Any]:
    insutype = "390" if sc.resident else "310"
    beneficiary: dict[str, Any] = {
        "psn_no": BENEFICIARY, "name": "例受", "certno": BENEFICIARY_CERT, "gend": "2", "brdy": "2000-01-01",
        "insutype": insutype, "admdvs": REGION, "psn_type": "1501" if sc.resident else "1101",
        "used": {"outpatient": {"deductible": str(sc.used_deductible), "fund": str(sc.used_fund)}}}
    if not sc.resident:
        beneficiary["account"] = {"balance": str(sc.own_balance), "admdvs": REGION}
    return {
        "today": "2026-03-16",
        "regions": [{
            "admdvs": REGION, "name": "太原市(示例)", "acct_bookkeeping": True,
            "mutual_aid": {"enabled": True, "authorizer_min_balance": None, "relation_limits": {"child": 4}},
            "policies": [{"insutype": insutype, "med_types": ["11"], "bucket": "outpatient",
                          "deductible": str(sc.deductible), "ratio": str(sc.ratio), "annual_cap": str(sc.cap),
                          "acct_scope": sc.scope}],
            "catalog": [
                {"code": "EX-DRUG-A", "name": "甲", "chrgitm_lv": "01", "selfpay_prop": "0", "pric_uplmt_amt": None,
                 "med_chrgitm_type": "09"},
                {"code": "EX-DRUG-B", "name": "乙", "chrgitm_lv": "02", "selfpay_prop": str(sc.b_prop),
                 "pric_uplmt_amt": None if sc.b_cap is None else str(sc.b_cap), "med_chrgitm_type": "09"},
                {"code": "EX-ITEM-C", "name": "丙", "chrgitm_lv": "03", "selfpay_prop": "1", "pric_uplmt_amt": None,
                 "med_chrgitm_type": "14"}]}],
        "institutions": [{"code": HOSP, "name": "示例医院", "admdvs": REGION, "kind": "hospital", "level": "2",
                          "xregion": "none", "secret": SECRET}],
        "persons": [
            {"psn_no": PARENT, "name": "例父", "certno": PARENT_CERT, "gend": "1", "brdy": "1970-01-01",
             "insutype": "310", "admdvs": REGION, "psn_type": "1101",
             "account": {"balance": str(sc.parent_balance), "admdvs": REGION}},
            beneficiary],
        "mutual_aid": [{"authorizer": PARENT, "beneficiary": BENEFICIARY, "relation": "child",
                        "quota": None if sc.quota is None else str(sc.quota), "start": "2026-01-01",
                        "end": "2026-12-31", "priority": 1}] if sc.grant else [],
    }


def expected(sc: Scenario) -> dict[str, Decimal]:
    """rules.md 3-5 restated: the split of each line, the shares, then own account and mutual aid."""
    parts = {"medfee_sumamt": ZERO, "fulamt_ownpay_amt": ZERO, "overlmt_selfpay": ZERO, "preselfpay_amt": ZERO,
             "inscp_scp_amt": ZERO}
    for code, pric, cnt in sc.lines:
        total = r2(pric * cnt)
        parts["medfee_sumamt"] += total
        if code in ("EX-ITEM-C", "NOT-IN-CATALOG"):
            parts["fulamt_ownpay_amt"] += total
            continue
        over = r2((pric - sc.b_cap) * cnt) if code == "EX-DRUG-B" and sc.b_cap is not None and pric > sc.b_cap \
            else ZERO
        pre = r2((total - over) * sc.b_prop) if code == "EX-DRUG-B" else ZERO
        parts["overlmt_selfpay"] += over
        parts["preselfpay_amt"] += pre
        parts["inscp_scp_amt"] += total - over - pre
    inscp = parts["inscp_scp_amt"]
    dedc = min(inscp, max(ZERO, sc.deductible - sc.used_deductible))
    hifp = min(r2((inscp - dedc) * sc.ratio), max(ZERO, sc.cap - sc.used_fund))
    psn_part = parts["medfee_sumamt"] - hifp
    own = aid = ZERO
    if sc.acct_used_flag == "1":
        scope = psn_part if sc.scope == "all" else max(ZERO, psn_part - parts["fulamt_ownpay_amt"]
                                                       - parts["overlmt_selfpay"])
        own = ZERO if sc.resident else min(scope, sc.own_balance)
        if sc.grant:
            aid = min(scope - own, sc.parent_balance, sc.quota if sc.quota is not None else scope)
    return {**parts, "act_pay_dedc": dedc, "hifp_pay": hifp, "fund_pay_sumamt": hifp, "psn_part_amt": psn_part,
            "acct_pay": own + aid, "acct_mulaid_pay": aid, "psn_cash_pay": psn_part - own - aid, "_own": own}


def reset(store: Store) -> None:
    with store.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def books(store: Store) -> dict[str, Any]:
    """Every balance, quota and accumulator of the scenario's two persons."""
    with store.unit_of_work() as s:
        return {
            "balances": {a.psn_no: a.balance for a in s.query(Account).order_by(Account.psn_no)},
            "quota_used": [g.quota_used for g in s.query(MutualAidAuthorization).order_by(MutualAidAuthorization.id)],
            "accumulators": {(a.psn_no, a.year, a.bucket): (a.deductible_used, a.fund_paid)
                             for a in s.query(Accumulator)},
        }


def ok(client: PlatformClient, infno: str, input_: dict[str, Any]) -> dict[str, Any]:
    answer = client.call(infno, input_, REGION)
    assert answer["infcode"] == 0, f"{infno}: {answer['err_msg']}"
    return dict(answer["output"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sc=scenarios())
def test_settle_then_cancel_through_the_platform(store: Store, sc: Scenario) -> None:
    reset(store)
    load_document(store, dataset(sc))
    client = PlatformClient("http://testserver", HOSP, SECRET, REGION, opter="op01",
                            http=TestClient(create_app(store)))
    opening = books(store)
    want = expected(sc)

    reg = ok(client, "2201", {"data": {"psn_no": BENEFICIARY, "insutype": "390" if sc.resident else "310",
                                       "begntime": "2026-03-16 09:00:00", "mdtrt_cert_type": "02",
                                       "mdtrt_cert_no": BENEFICIARY_CERT, "ipt_otp_no": "OTP-1"}})
    mdtrt_id = reg["data"]["mdtrt_id"]
    ok(client, "2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": BENEFICIARY, "med_type": "11",
                                      "begntime": "2026-03-16 09:00:00"}, "diseinfo": []})
    feedetail = [{"feedetl_sn": f"L{i}", "mdtrt_id": mdtrt_id, "psn_no": BENEFICIARY, "chrg_bchno": "B1",
                  "fee_ocur_time": "2026-03-16 09:30:00", "med_list_codg": code, "medins_list_codg": code,
                  "det_item_fee_sumamt": str(r2(pric * cnt)), "cnt": str(cnt), "pric": str(pric)}
                 for i, (code, pric, cnt) in enumerate(sc.lines)]
    rows = ok(client, "2204", {"feedetail": feedetail})["result"]
    for row in rows:
        assert row["det_item_fee_sumamt"] == (row["fulamt_ownpay_amt"] + row["overlmt_amt"] + row["preselfpay_amt"]
                                              + row["inscp_scp_amt"])
    data = {"psn_no": BENEFICIARY, "mdtrt_cert_type": "02", "mdtrt_cert_no": BENEFICIARY_CERT, "med_type": "11",
            "medfee_sumamt": str(sum((r["det_item_fee_sumamt"] for r in rows), ZERO)), "psn_setlway": "01",
            "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": sc.acct_used_flag,
            "insutype": "390" if sc.resident else "310",
            "fulamt_ownpay_amt": str(sum((r["fulamt_ownpay_amt"] for r in rows), ZERO)),
            "overlmt_selfpay": str(sum((r["overlmt_amt"] for r in rows), ZERO)),
            "preselfpay_amt": str(sum((r["preselfpay_amt"] for r in rows), ZERO)),
            "inscp_scp_amt": str(sum((r["inscp_scp_amt"] for r in rows), ZERO))}
    info = ok(client, "2207A" if sc.a_form else "2207", {"data": data})["setlinfo"]

    # the figures of rules.md, to the cent
    for key, value in want.items():
        if not key.startswith("_"):
            assert info[key] == value, f"{key}: platform {info[key]}, rules {value}"
    # rules.md 4 step 8 on the output
    assert info["medfee_sumamt"] == info["fund_pay_sumamt"] + info["psn_part_amt"]
    assert info["psn_part_amt"] == info["acct_pay"] + info["psn_cash_pay"]
    assert 0 <= info["acct_mulaid_pay"] <= info["acct_pay"]
    assert info["psn_cash_pay"] >= 0 and info["hifp_pay"] >= 0
    if True:  # balc is the own balance after, whether or not the account paid
        assert info["balc"] == (ZERO if sc.resident else sc.own_balance - want["_own"])
    if sc.a_form:
        assert info["acct_mulaid_admdvs"] == (REGION if want["acct_mulaid_pay"] > 0 else "")
        assert info["acct_admdvs"] == (REGION if want["_own"] > 0 else "")
    after = books(store)
    assert after["balances"][PARENT] == sc.parent_balance - want["acct_mulaid_pay"] >= 0
    if not sc.resident:
        assert after["balances"][BENEFICIARY] == sc.own_balance - want["_own"] >= 0
    if sc.grant:
        assert after["quota_used"] == [want["acct_mulaid_pay"]]
        assert sc.quota is None or after["quota_used"][0] <= sc.quota
    assert after["accumulators"][(BENEFICIARY, 2026, "outpatient")] == (
        sc.used_deductible + want["act_pay_dedc"], sc.used_fund + want["hifp_pay"])
    assert sc.used_fund + want["hifp_pay"] <= sc.cap  # the cap never goes below zero

    undone = ok(client, "2208", {"data": {"setl_id": info["setl_id"], "mdtrt_id": mdtrt_id,
                                          "psn_no": BENEFICIARY}})["setlinfo"]
    assert undone["acct_pay"] == info["acct_pay"] and undone["acct_mulaid_pay"] == info["acct_mulaid_pay"]
    assert books(store) == opening  # every balance, quota and accumulator back to the cent
