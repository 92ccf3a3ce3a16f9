"""Family mutual aid (个人账户家庭共济) scenario by scenario, each test named after the seed clause it proves.

Seeds: 000 (Guangdong: "余额不足", the three-region bookkeeping rule), 001 (Taiyuan 二, 三(一)-(四), 五(一), 五(二)),
002 (Hefei 一, 二, 六); rules.md worked examples B and C. Everything goes through the public interfaces: the dataset
document, the 两定 wire (2201-2208, 2101-2103, 2401-2402 / 2301-2305, 1101, 5203) and the JSON API (/api/v1).
The money is checked to the cent: setlinfo, the authorizers' balances (1101), quota_used, the journal entries
(AccountEntry) and the bank instructions (acct_021 / acct_023) of each account debited or credited.

The HIS side (His, Visit_) and the figures of the conformance dataset come from outpatient_world.py; the world
of mutual_aid_world.py adds a second and a third Shanxi region, a pharmacy, provincial-qualified hospitals and more
families.
"""

from __future__ import annotations

import pytest
from mutual_aid_world import (
    DT,
    DT_CHILD,
    DT_HOSP,
    DT_LOCAL,
    DT_PARENT,
    FAMILY,
    HF,
    HF2,
    HF_HOSP,
    HF_MAT,
    HF_OUT,
    HF_RES,
    HF_SUSP,
    HF_WIFE,
    MOTHER,
    SON,
    SZ_EMP,
    TY,
    TY_CHILD,
    TY_FAR,
    TY_HOSP,
    TY_KID2,
    TY_PARENT,
    TY_PHARM,
    TY_POOR,
    TY_PROV,
    TY_RICH,
    TY_SPOUSE,
    YQ,
    YQ_CHILD,
    YQ_HOSP,
    YQ_PARENT,
    ZERO,
    D,
    World,
    aid_fields,
    balance_1101,
    balances,
    bank,
    cert,
    entries,
    events,
    grant_of,
    inpatient_stay,
    pharmacy_input,
    refusal,
    reversal_of,
    settle_visit,
)
from outpatient_world import EXAMPLE_B, check_amounts, one_of, person, person_in, policy

from yibao.store.db import Store
from yibao.store.models import Accumulator, Settlement


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The business date is the dataset's (2026-03-16); tokens are signed with the database's key."""
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)


@pytest.fixture
def world(store: Store) -> World:
    return World(store).load()


@pytest.fixture
def unloaded(store: Store) -> World:
    """For a test that changes the world before loading it."""
    return World(store)


# -- worked examples B and C ---------------------------------------------------------------------------

def test_worked_example_b_and_cancellation(world: World) -> None:
    his, child, parent = world.his(TY_HOSP), world.who(TY_CHILD), world.who(TY_PARENT)
    grant = grant_of(world.store, TY_PARENT, TY_CHILD)
    visit = his.visit(child, EXAMPLE_B)
    figures = {"medfee_sumamt": "230.00", "fulamt_ownpay_amt": "30.00", "inscp_scp_amt": "200.00",
               "act_pay_dedc": "0.00", "hifp_pay": "100.00", "pool_prop_selfpay": "0.5000",
               "fund_pay_sumamt": "100.00", "psn_part_amt": "130.00", "acct_pay": "130.00",
               "acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00", "balc": "0.00"}
    pre = one_of(visit.presettle("2206A"))
    check_amounts(pre, figures)
    assert balance_1101(his, parent) == D("3000.00")  # the pre-settlement moved nothing

    answer = visit.settle("2207A")
    info = one_of(answer)
    check_amounts(info, figures)
    assert aid_fields(info) == ("", TY, TY) and answer["warn_msg"] == ""
    setl_id = info["setl_id"]
    assert balance_1101(his, parent) == D("2870.00")
    assert grant_of(world.store, TY_PARENT, TY_CHILD).quota_used == D("130.00")
    parent_view = world.api.mine(TY_PARENT)["as_authorizer"]
    assert [(g["beneficiary"], g["quota"], g["quota_used"], g["quota_left"]) for g in parent_view
            if g["beneficiary"] == TY_CHILD] == [(TY_CHILD, "1000.00", "130.00", "870.00")]
    assert entries(world.store, setl_id) == [(TY_PARENT, "mutual_aid", D("-130.00"), grant.id, TY_CHILD)]
    assert bank(world.store, setl_id) == [("acct_021", TY_PARENT, TY, D("130.00"), TY_CHILD)]
    query = his.ok("5203", {"data": {"psn_no": TY_CHILD, "setl_id": setl_id, "mdtrt_id": visit.mdtrt_id}}, TY)
    assert (query["output"]["setlinfo"]["acct_mulaid_pay"], aid_fields(query["output"]["setlinfo"])) == (
        D("130.00"), ("", TY, TY))

    undone = one_of(visit.cancel(setl_id))
    check_amounts(undone, {"acct_pay": "130.00", "acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00"})
    refund_id = reversal_of(world.store, setl_id)
    assert balance_1101(his, parent) == D("3000.00")
    assert grant_of(world.store, TY_PARENT, TY_CHILD).quota_used == ZERO  # the 1000.00 quota is whole again
    assert entries(world.store, refund_id) == [(TY_PARENT, "refund", D("130.00"), grant.id, TY_CHILD)]
    assert bank(world.store, refund_id) == [("acct_023", TY_PARENT, TY, D("130.00"), TY_CHILD)]
    with world.store.unit_of_work() as s:
        acc = s.get(Accumulator, (TY_CHILD, 2026, "outpatient"))
        assert acc is not None and (acc.deductible_used, acc.fund_paid) == (ZERO, ZERO)
    err = his.refused("2208", visit.cancel_input(setl_id), TY)
    assert "already cancelled" in err
    assert balance_1101(his, parent) == D("3000.00")


def test_worked_example_c(world: World) -> None:
    his, son, mother = world.his(HF_HOSP), world.who(SON), world.who(MOTHER)
    grant = grant_of(world.store, MOTHER, SON)
    visit = his.visit(son, EXAMPLE_B)
    figures = {"medfee_sumamt": "230.00", "hifp_pay": "100.00", "fund_pay_sumamt": "100.00",
               "psn_part_amt": "130.00", "acct_pay": "130.00", "acct_mulaid_pay": "90.00", "psn_cash_pay": "0.00",
               "balc": "0.00"}
    check_amounts(one_of(visit.presettle("2206A")), figures)
    info = one_of(visit.settle("2207A"))
    check_amounts(info, figures)
    assert aid_fields(info) == (HF, HF, HF)
    setl_id = info["setl_id"]
    assert (balance_1101(his, son), balance_1101(his, mother)) == (ZERO, D("1910.00"))
    assert grant_of(world.store, MOTHER, SON).quota_used == D("90.00")
    assert entries(world.store, setl_id) == [(SON, "settlement", D("-40.00"), None, SON),
                                             (MOTHER, "mutual_aid", D("-90.00"), grant.id, SON)]
    assert bank(world.store, setl_id) == [("acct_021", SON, HF, D("40.00"), None),
                                          ("acct_021", MOTHER, HF, D("90.00"), SON)]

    visit.cancel(setl_id)
    refund_id = reversal_of(world.store, setl_id)
    assert (balance_1101(his, son), balance_1101(his, mother)) == (D("40.00"), D("2000.00"))
    assert grant_of(world.store, MOTHER, SON).quota_used == ZERO
    assert sorted(entries(world.store, refund_id), key=str) == sorted(
        [(SON, "refund", D("40.00"), None, SON), (MOTHER, "refund", D("90.00"), grant.id, SON)], key=str)
    assert sorted(bank(world.store, refund_id), key=str) == sorted(
        [("acct_023", SON, HF, D("40.00"), None), ("acct_023", MOTHER, HF, D("90.00"), SON)], key=str)


# -- Taiyuan 二: establishment threshold, adjusting window and quota -----------------------------------

def test_taiyuan_2_balance_must_exceed_1000(world: World) -> None:
    api = world.api
    err = refusal(api.bind(TY_POOR, TY_KID2, "child", quota="500.00"))
    assert err == f"authorizer: balance 1000.00 must exceed 1000.00 in region {TY}"
    assert grant_of(world.store, TY_POOR, TY_KID2) is None and events(world.store, TY_POOR) == []

    made = api.bound(TY_RICH, TY_KID2, "child", quota="500.00")
    assert (made["authorizer"], made["beneficiary"], made["quota"], made["status"]) == (
        TY_RICH, TY_KID2, "500.00", "active")
    # the threshold is a condition of establishing: once bound, the authorization pays below it
    info = one_of(settle_visit(world.his(TY_HOSP), world.who(TY_KID2), EXAMPLE_B)[1])
    check_amounts(info, {"acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00"})
    assert balances(world.store)[TY_RICH] == D("870.01")
    # the threshold is Taiyuan's setting: Hefei has none, an authorizer with 40.00 may bind
    assert api.bound(SON, MOTHER, "mother")["status"] == "active"


def test_taiyuan_2_authorizer_adjusts_window_and_quota_at_any_time(world: World) -> None:
    api, his, kid = world.api, world.his(TY_HOSP), world.who(TY_KID2)
    grant_id = api.bound(TY_PARENT, TY_KID2, "child", quota="500.00")["id"]
    check_amounts(one_of(settle_visit(his, kid, EXAMPLE_B)[1]), {"acct_mulaid_pay": "130.00"})

    reply = api.change(TY_PARENT, grant_id, quota="150.00")
    assert reply.status_code == 200, reply.text
    assert (reply.json()["quota"], reply.json()["quota_left"]) == ("150.00", "20.00")
    check_amounts(one_of(settle_visit(his, kid, EXAMPLE_B)[1]),
                  {"acct_pay": "20.00", "acct_mulaid_pay": "20.00", "psn_cash_pay": "110.00"})

    # the window closed yesterday: nothing more; reopened: the whole balance (no quota)
    assert api.change(TY_PARENT, grant_id, end="2026-03-15").json()["in_force"] is False
    check_amounts(one_of(settle_visit(his, kid, EXAMPLE_B)[1]), {"acct_mulaid_pay": "0.00", "psn_cash_pay": "130.00"})
    assert api.change(TY_PARENT, grant_id, end=None, quota=None).json()["in_force"] is True
    check_amounts(one_of(settle_visit(his, kid, EXAMPLE_B)[1]), {"acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00"})
    assert balances(world.store)[TY_PARENT] == D("3000.00") - D("130.00") - D("20.00") - D("130.00")
    assert [k for _g, k in events(world.store, TY_PARENT) if _g == grant_id] == ["bound", "changed", "changed",
                                                                                 "changed"]


# -- Taiyuan 三: who may use it where -------------------------------------------------------------------

def test_taiyuan_3_1_employee_beneficiary_uses_own_balance_first(world: World) -> None:
    his, spouse = world.his(TY_HOSP), world.who(TY_SPOUSE)
    grant = grant_of(world.store, TY_PARENT, TY_SPOUSE)
    # deductible met: each visit pools 0.60 of the line, the spouse pays 0.40
    _v, first = settle_visit(his, spouse, [("EX-DRUG-A", "50.00", "1")])
    check_amounts(one_of(first), {"hifp_pay": "30.00", "psn_part_amt": "20.00", "acct_pay": "20.00",
                                  "acct_mulaid_pay": "0.00", "psn_cash_pay": "0.00", "balc": "30.00"})
    assert aid_fields(one_of(first)) == (TY, "", TY)
    _v, second = settle_visit(his, spouse, [("EX-DRUG-A", "100.00", "2")])
    check_amounts(one_of(second), {"hifp_pay": "120.00", "psn_part_amt": "80.00", "acct_pay": "80.00",
                                   "acct_mulaid_pay": "50.00", "psn_cash_pay": "0.00", "balc": "0.00"})
    assert aid_fields(one_of(second)) == (TY, TY, TY)
    _v, third = settle_visit(his, spouse, [("EX-DRUG-A", "25.00", "2")])  # own balance 0: mutual aid only
    check_amounts(one_of(third), {"psn_part_amt": "20.00", "acct_pay": "20.00", "acct_mulaid_pay": "20.00",
                                  "balc": "0.00"})
    assert aid_fields(one_of(third)) == ("", TY, TY)

    ids = [one_of(a)["setl_id"] for a in (first, second, third)]
    assert entries(world.store, *ids) == [
        (TY_SPOUSE, "settlement", D("-20.00"), None, TY_SPOUSE),
        (TY_SPOUSE, "settlement", D("-30.00"), None, TY_SPOUSE),
        (TY_PARENT, "mutual_aid", D("-50.00"), grant.id, TY_SPOUSE),
        (TY_PARENT, "mutual_aid", D("-20.00"), grant.id, TY_SPOUSE)]
    assert [(b[0], b[1], b[3]) for b in bank(world.store, *ids)] == [
        ("acct_021", TY_SPOUSE, D("20.00")), ("acct_021", TY_SPOUSE, D("30.00")),
        ("acct_021", TY_PARENT, D("50.00")), ("acct_021", TY_PARENT, D("20.00"))]
    assert balance_1101(his, world.who(TY_PARENT)) == D("2930.00")
    assert grant_of(world.store, TY_PARENT, TY_SPOUSE).quota_used == D("70.00")


def test_taiyuan_3_2_resident_child_pays_personal_part_after_pooling(world: World) -> None:
    his, child = world.his(TY_HOSP), world.who(TY_CHILD)
    items = [("EX-DRUG-A", "60.00", "3"), ("EX-ITEM-C", "30.00", "1")]  # in scope 180.00, fully self-paid 30.00
    # resident outpatient pooling first (0.50 of 180.00), then the personal part from the parent's account
    answer = settle_visit(his, child, items)[1]
    info = one_of(answer)
    check_amounts(info, {"medfee_sumamt": "210.00", "inscp_scp_amt": "180.00", "hifp_pay": "90.00",
                         "fund_pay_sumamt": "90.00", "psn_part_amt": "120.00", "acct_pay": "120.00",
                         "acct_mulaid_pay": "120.00", "psn_cash_pay": "0.00", "balc": "0.00"})
    assert [(d["fund_pay_type"], d["fund_payamt"]) for d in answer["output"]["setldetail"]] == [
        ("390100", D("90.00"))]
    assert aid_fields(info) == ("", TY, TY)
    # without account use (acct_used_flag 0) the same visit is pooled alike and the rest is cash
    visit = his.visit(child, items)
    plain = one_of(his.ok("2207A", visit.data_2207(acct_used_flag="0"), TY))
    check_amounts(plain, {"hifp_pay": "90.00", "acct_pay": "0.00", "acct_mulaid_pay": "0.00",
                          "psn_cash_pay": "120.00"})
    assert balance_1101(his, world.who(TY_PARENT)) == D("2880.00")
    assert grant_of(world.store, TY_PARENT, TY_CHILD).quota_used == D("120.00")


def test_taiyuan_3_3_in_province_other_region_settles_cross_region_with_provincial_qualification(
        world: World) -> None:
    datong, child, spouse = world.his(DT_HOSP), world.who(TY_CHILD), world.who(TY_SPOUSE)
    # a Datong institution without cross-region qualification cannot take a Taiyuan person
    err = world.his(DT_LOCAL).refused("2201", datong.registration(child), TY)
    assert err.startswith("fixmedins_code:") and "provincial or national" in err

    # the provincial-qualified one settles by the insured region's policy (Taiyuan 0.50, not Datong's 0.40)
    visit, answer = settle_visit(datong, child, EXAMPLE_B)
    info = one_of(answer)
    check_amounts(info, {"hifp_pay": "100.00", "psn_part_amt": "130.00", "acct_pay": "130.00",
                         "acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00"})
    assert aid_fields(info) == ("", TY, TY)
    with world.store.unit_of_work() as s:
        row = s.get(Settlement, info["setl_id"])
        assert row is not None and (row.catalog_admdvs, row.policy_admdvs, row.insu_admdvs) == (DT, TY, TY)
    assert bank(world.store, info["setl_id"]) == [("acct_021", TY_PARENT, TY, D("130.00"), TY_CHILD)]

    # an employee beneficiary the same way: own account first, then the authorizer's
    info = one_of(settle_visit(datong, spouse, [("EX-DRUG-A", "100.00", "2")])[1])
    check_amounts(info, {"hifp_pay": "120.00", "psn_part_amt": "80.00", "acct_pay": "80.00",
                         "acct_mulaid_pay": "30.00", "psn_cash_pay": "0.00", "balc": "0.00"})
    assert aid_fields(info) == (TY, TY, TY)
    assert balances(world.store)[TY_PARENT] == D("2840.00")
    visit.cancel(one_of(answer)["setl_id"])  # the cross-region refund goes back to the Taiyuan account
    assert balances(world.store)[TY_PARENT] == D("2970.00")


def test_taiyuan_3_4_authorizer_or_beneficiary_insured_elsewhere_in_province(world: World) -> None:
    api = world.api
    taiyuan, taiyuan_prov = world.his(TY_HOSP), world.his(TY_PROV)

    # (四)1: beneficiary insured in Taiyuan, authorizer elsewhere in the province (bound across regions):
    # used in Taiyuan like 三(二), drawing the Datong account
    api.bound(DT_PARENT, TY_KID2, "child")
    info = one_of(settle_visit(taiyuan, world.who(TY_KID2), EXAMPLE_B)[1])
    check_amounts(info, {"hifp_pay": "100.00", "acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00"})
    assert aid_fields(info) == ("", DT, TY)
    assert bank(world.store, info["setl_id"]) == [("acct_021", DT_PARENT, DT, D("130.00"), TY_KID2)]

    # (四)2: beneficiary insured elsewhere, authorizer in Taiyuan: used in Taiyuan like 三(三), a cross-region
    # settlement (Datong's policy: 0.40) at a provincial-qualified institution only
    dt_child = world.who(DT_CHILD)
    ty_grant = api.bound(TY_PARENT, DT_CHILD, "child")
    err = taiyuan.refused("2201", taiyuan.registration(dt_child), DT)
    assert "provincial or national" in err
    info = one_of(settle_visit(taiyuan_prov, dt_child, EXAMPLE_B)[1])
    check_amounts(info, {"hifp_pay": "80.00", "psn_part_amt": "150.00", "acct_mulaid_pay": "150.00",
                         "psn_cash_pay": "0.00"})
    assert aid_fields(info) == ("", TY, DT)
    assert bank(world.store, info["setl_id"]) == [("acct_021", TY_PARENT, TY, D("150.00"), DT_CHILD)]

    # (四)3: both insured elsewhere, used in Taiyuan: also cross-region
    assert api.unbind(TY_PARENT, ty_grant["id"]).status_code == 200
    api.bound(DT_PARENT, DT_CHILD, "child")
    info = one_of(settle_visit(taiyuan_prov, dt_child, EXAMPLE_B)[1])
    check_amounts(info, {"hifp_pay": "80.00", "acct_mulaid_pay": "150.00", "psn_cash_pay": "0.00"})
    assert aid_fields(info) == ("", DT, DT)
    assert balances(world.store)[DT_PARENT] == D("2000.00") - D("130.00") - D("150.00")
    assert balances(world.store)[TY_PARENT] == D("3000.00") - D("150.00")


# -- Taiyuan 五 -------------------------------------------------------------------------------------------

INPATIENT = [("EX-DRUG-A", "100.00", "10"), ("EX-ITEM-C", "30.00", "1")]  # in scope 1000.00, self-paid 30.00


def _employee_pooling(arrears: bool):  # type: ignore[no-untyped-def]
    """Taiyuan with employee chronic and inpatient policies; TY_SPOUSE (an employee beneficiary) in arrears or not."""
    def change(doc: dict) -> None:  # type: ignore[type-arg]
        doc["regions"][0]["policies"] += [
            policy("310", "0.00", "0.80", "5000.00", med_types=("14",), bucket="chronic"),
            policy("310", "300.00", "0.80", "100000.00", scope="policy", med_types=("21",), bucket="inpatient")]
        person_in(doc, TY_SPOUSE).update(arrears=arrears, chronic=[{"code": "M03900", "since": "2025-06-01"}])
    return change


def test_taiyuan_5_1_arrears_block_inpatient_and_chronic_not_outpatient_or_pharmacy(unloaded: World) -> None:
    """太原 并医险中心字〔2022〕126号 五(一): a beneficiary in arrears gets no family mutual aid for inpatient and
    chronic care (they involve pooling); general outpatient still gets it. Taiyuan's setting
    arrears_blocks_mutual_aid."""
    world = unloaded.load(_employee_pooling(arrears=True))
    his, spouse = world.his(TY_HOSP), world.who(TY_SPOUSE)

    # general outpatient uses no pooling restriction: own 50.00 first, then mutual aid
    answer = settle_visit(his, spouse, EXAMPLE_B, med_type="11")[1]
    check_amounts(one_of(answer), {"hifp_pay": "120.00", "psn_part_amt": "110.00", "acct_pay": "110.00",
                                   "acct_mulaid_pay": "60.00", "psn_cash_pay": "0.00"})
    assert answer["warn_msg"] == ""

    # chronic/special disease and inpatient involve pooling: no mutual aid, said in warn_msg, the rest in cash
    answer = settle_visit(his, spouse, EXAMPLE_B, med_type="14", dise_codg="M03900")[1]
    check_amounts(one_of(answer), {"hifp_pay": "160.00", "psn_part_amt": "70.00", "acct_pay": "0.00",
                                   "acct_mulaid_pay": "0.00", "psn_cash_pay": "70.00"})
    assert "arrears" in answer["warn_msg"] and "五(一)" in answer["warn_msg"]
    stay = inpatient_stay(his, spouse, INPATIENT, "IPT-1")
    # inpatient: deductible 300.00, 0.80 of 700.00 = 560.00; personal 470.00, of which 440.00 in account scope
    inpatient = {"act_pay_dedc": "300.00", "hifp_pay": "560.00", "psn_part_amt": "470.00"}
    pre = his.ok("2303A", stay, TY)
    answer = his.ok("2304A", stay, TY)
    for out in (pre, answer):
        check_amounts(one_of(out), {**inpatient, "acct_pay": "0.00", "acct_mulaid_pay": "0.00",
                                    "psn_cash_pay": "470.00"})
        assert "arrears" in out["warn_msg"]
    assert balance_1101(his, world.who(TY_PARENT)) == D("2940.00")
    assert grant_of(world.store, TY_PARENT, TY_SPOUSE).quota_used == D("60.00")

    # the arrears paid: the next stay gets mutual aid within the account scope (policy: not the 30.00 丙)
    his.ok("2305", {"data": {"mdtrt_id": stay["data"]["mdtrt_id"], "setl_id": one_of(answer)["setl_id"],
                             "psn_no": TY_SPOUSE}}, TY)
    world.load(_employee_pooling(arrears=False))
    stay = inpatient_stay(his, spouse, INPATIENT, "IPT-2")
    answer = his.ok("2304A", stay, TY)
    check_amounts(one_of(answer), {**inpatient, "acct_pay": "440.00", "acct_mulaid_pay": "440.00",
                                   "psn_cash_pay": "30.00"})
    assert answer["warn_msg"] == ""
    assert balance_1101(his, world.who(TY_PARENT)) == D("2500.00")


def test_arrears_do_not_block_mutual_aid_where_the_insured_region_has_no_such_rule(unloaded: World) -> None:
    """太原 并医险中心字〔2022〕126号 五(一) is Taiyuan's: with arrears_blocks_mutual_aid off (the default) an
    employee in arrears gets mutual aid for his stay like anyone."""
    def change(doc: dict) -> None:  # type: ignore[type-arg]
        _employee_pooling(arrears=True)(doc)
        doc["regions"][0]["settings"].pop("arrears_blocks_mutual_aid")
    world = unloaded.load(change)
    his, spouse = world.his(TY_HOSP), world.who(TY_SPOUSE)
    answer = his.ok("2304A", inpatient_stay(his, spouse, INPATIENT, "IPT-1"), TY)
    check_amounts(one_of(answer), {"psn_part_amt": "470.00", "acct_pay": "440.00", "acct_mulaid_pay": "390.00",
                                   "psn_cash_pay": "30.00"})
    assert answer["warn_msg"] == ""


def test_taiyuan_5_2_resident_payment_categories(world: World) -> None:
    his, pharmacy, child = world.his(TY_HOSP), world.his(TY_PHARM), world.who(TY_CHILD)
    # in a hospital: "resident general outpatient" (med_type 11), through registration and 2207
    info = one_of(settle_visit(his, child, EXAMPLE_B, med_type="11")[1])
    check_amounts(info, {"hifp_pay": "100.00", "acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00"})
    assert (info["med_type"], info["clr_type"]) == ("11", "11")
    # in a pharmacy: "resident pharmacy purchase" (med_type 41) through 2101 / 2102, no pooling
    purchase = pharmacy_input(child, [("EX-DRUG-A", "20.00", "3"), ("EX-DRUG-B", "50.00", "1")])
    pre = one_of(pharmacy.ok("2101A", purchase, TY))
    info = one_of(pharmacy.ok("2102A", purchase, TY))
    for out in (pre, info):
        check_amounts(out, {"medfee_sumamt": "110.00", "hifp_pay": "0.00", "psn_part_amt": "110.00",
                            "acct_pay": "110.00", "acct_mulaid_pay": "110.00", "psn_cash_pay": "0.00"})
        assert out["clr_type"] == "41" and aid_fields(out) == ("", TY, TY)
    assert info["med_type"] == "41"
    assert balance_1101(his, world.who(TY_PARENT)) == D("2760.00")
    # each category at its own kind of institution
    assert "use 2101/2102" in pharmacy.refused("2201", his.registration(child), TY)
    assert "this institution is a hospital" in his.refused("2101", purchase, TY)
    # the pharmacy refund (2103) returns the mutual aid to the parent's account
    cancel = {"data": {"setl_id": info["setl_id"], "mdtrt_id": info["mdtrt_id"], "psn_no": TY_CHILD}}
    check_amounts(one_of(pharmacy.ok("2103", cancel, TY)), {"acct_mulaid_pay": "110.00"})
    refund_id = reversal_of(world.store, info["setl_id"])
    assert bank(world.store, refund_id) == [("acct_023", TY_PARENT, TY, D("110.00"), TY_CHILD)]
    assert balance_1101(his, world.who(TY_PARENT)) == D("2870.00")
    assert grant_of(world.store, TY_PARENT, TY_CHILD).quota_used == D("130.00")


def test_taiyuan_5_2_a_resident_draws_no_mutual_aid_for_a_stay_or_chronic_care(unloaded: World) -> None:
    """太原 并医险中心字〔2022〕126号 五(二): a resident beneficiary uses family mutual aid only under 居民普通门诊 (11)
    in a hospital and 居民药店购药 (41) in a pharmacy (settings.resident_mutual_aid_med_types). A stay or chronic care
    still settles, the personal part in cash, warn_msg saying why."""
    world = unloaded.load(lambda doc: person_in(doc, TY_CHILD).update(chronic=[{"code": "M03900",
                                                                                "since": "2025-06-01"}]))
    his, child = world.his(TY_HOSP), world.who(TY_CHILD)
    inpatient = {"act_pay_dedc": "200.00", "hifp_pay": "560.00", "psn_part_amt": "470.00"}
    stay = inpatient_stay(his, child, INPATIENT, "IPT-1")
    for infno in ("2303A", "2304A"):
        out = his.ok(infno, stay, TY)
        check_amounts(one_of(out), {**inpatient, "acct_pay": "0.00", "acct_mulaid_pay": "0.00",
                                    "psn_cash_pay": "470.00"})
        assert "五(二)" in out["warn_msg"] and "not med_type 21" in out["warn_msg"], out["warn_msg"]
    answer = settle_visit(his, child, EXAMPLE_B, med_type="14", dise_codg="M03900")[1]
    check_amounts(one_of(answer), {"hifp_pay": "120.00", "psn_part_amt": "110.00", "acct_mulaid_pay": "0.00",
                                   "psn_cash_pay": "110.00"})
    assert "五(二)" in answer["warn_msg"]
    assert balance_1101(his, world.who(TY_PARENT)) == D("3000.00")

    # a region without the rule (the default: every category): the same stay draws mutual aid
    his.ok("2305", {"data": {"mdtrt_id": stay["data"]["mdtrt_id"], "setl_id": one_of(out)["setl_id"],
                             "psn_no": TY_CHILD}}, TY)
    world.load(lambda doc: doc["regions"][0]["settings"].pop("resident_mutual_aid_med_types"))
    answer = his.ok("2304A", inpatient_stay(his, child, INPATIENT, "IPT-2"), TY)
    check_amounts(one_of(answer), {**inpatient, "acct_pay": "440.00", "acct_mulaid_pay": "440.00",
                                   "psn_cash_pay": "30.00"})
    assert answer["warn_msg"] == ""


# -- Hefei ------------------------------------------------------------------------------------------------

WUHU_RES, TY_MAT = "34020000000000000101", "14010000000000000199"


def _neighbours(doc: dict) -> None:  # type: ignore[type-arg]
    """A Wuhu resident (Anhui, not Hefei) and a Taiyuan maternity-insured (510) person."""
    doc["persons"] += [person(WUHU_RES, "芜居", cert("340201", "19600101", 1), "390", HF2, "1501"),
                       person(TY_MAT, "太产", cert("140101", "19960101", 9, True), "510", TY, "1101")]


def test_hefei_1_who_may_provide_and_who_may_enjoy(unloaded: World) -> None:
    """合肥 合医管〔2019〕97号 一: provider and beneficiary both insured in the city itself (我市: Hefei's
    settings.mutual_aid_scope region), the beneficiary under employee, resident or employee maternity insurance."""
    world = unloaded.load(_neighbours)
    api = world.api
    assert refusal(api.bind(MOTHER, HF_RES, "brother")).startswith("relation: must be one of spouse, father, "
                                                                    "mother, child")
    assert refusal(api.bind(HF_RES, MOTHER, "child")) == (
        "authorizer: must be an employee (310) with normal insurance; is 390; authorizer: has no open personal "
        "account")
    assert refusal(api.bind(MOTHER, HF_OUT, "father")) == (
        "beneficiary: benefits are suspended: the beneficiary's status must be normal")
    for outsider in (SZ_EMP, WUHU_RES):  # another province, and another city of Anhui
        assert refusal(api.bind(MOTHER, outsider, "spouse")) == (
            f"beneficiary: insured in region {outsider[:6]}, the authorizer in {HF}: region {HF} allows family "
            "mutual aid only among persons it insures (合肥 合医管〔2019〕97号 一)")
    # employee, resident or maternity insurance of the city may enjoy it
    for beneficiary, relation in ((HF_WIFE, "spouse"), (HF_RES, "father"), (HF_MAT, "mother")):
        assert api.bound(MOTHER, beneficiary, relation)["beneficiary"] == beneficiary


def test_taiyuan_1_beneficiary_of_shanxi_employee_or_resident_insurance(unloaded: World) -> None:
    """太原 并医险中心字〔2022〕126号 一: the beneficiary is insured in Shanxi under employee or resident insurance
    (settings.mutual_aid_beneficiary_insutypes 310, 390): not maternity; another Shanxi city is fine (the default
    scope, the province)."""
    world = unloaded.load(_neighbours)
    assert refusal(world.api.bind(TY_RICH, TY_MAT, "child")) == (
        f"beneficiary: must be insured under 310 or 390 to benefit from an authorizer of region {TY}; is 510")
    assert world.api.bound(TY_RICH, DT_CHILD, "child")["beneficiary"] == DT_CHILD


def test_hefei_6_relation_limits(world: World) -> None:
    api = world.api
    for role in ("spouse", "father", "mother", "child1", "child2", "child3"):  # SON is the 4th child
        api.bound(MOTHER, FAMILY[role], role.rstrip("123"))
    assert len([g for g in api.mine(MOTHER)["as_authorizer"] if g["status"] == "active"]) == 7
    refused = {
        "child5": ("child", "at most 4 active authorization(s) for relation child (子女) per authorizer; 4 already"),
        "spouse2": ("spouse", "at most 1 active authorization(s) for relation spouse (配偶) per authorizer; 1 already"),
        "father2": ("father", "at most 1 active authorization(s) for relation father (父亲) per authorizer; 1 already"),
        "mother2": ("mother", "at most 1 active authorization(s) for relation mother (母亲) per authorizer; 1 already"),
    }
    for role, (relation, rule) in refused.items():
        assert refusal(api.bind(MOTHER, FAMILY[role], relation)) == f"relation: {rule}"
    # the limits are per authorizer: another authorizer may bind the same relatives
    assert api.bound(HF_WIFE, FAMILY["child5"], "child")["status"] == "active"
    # "at one time": an unbound child frees a place
    child1 = next(g for g in api.mine(MOTHER)["as_authorizer"] if g["beneficiary"] == FAMILY["child1"])
    assert api.unbind(MOTHER, child1["id"]).status_code == 200
    assert api.bound(MOTHER, FAMILY["child5"], "child")["relation"] == "child"
    assert refusal(api.bind(MOTHER, FAMILY["child1"], "child")).startswith("relation: at most 4")


def test_hefei_2_automatic_ending_on_transfer_and_withdrawal(world: World) -> None:
    api, his = world.api, world.his(HF_HOSP)
    wife = api.bound(MOTHER, HF_WIFE, "spouse")
    son_grant = grant_of(world.store, MOTHER, SON)

    # the authorizer's insurance moves out of Hefei: both authorizations end at once, with their events
    reply = api.transfer(HF, MOTHER, HF2)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"psn_no": MOTHER, "admdvs": HF2, "authorizations_ended": 2}
    for g in api.mine(MOTHER)["as_authorizer"]:
        assert (g["status"], g["in_force"], g["end_reason"]) == ("ended", False,
                                                                 f"insurance moved from {HF} to {HF2}")
    *ended, moved = events(world.store, MOTHER)[-3:]
    assert sorted(ended) == [(son_grant.id, "ended_by_transfer"), (wife["id"], "ended_by_transfer")]
    assert moved == (None, "transferred")
    answer = settle_visit(his, world.who(SON), EXAMPLE_B)[1]  # own 40.00, no more mutual aid
    check_amounts(one_of(answer), {"acct_pay": "40.00", "acct_mulaid_pay": "0.00", "psn_cash_pay": "90.00"})
    assert balances(world.store)[MOTHER] == D("2000.00")
    assert "has ended" in refusal(api.change(MOTHER, wife["id"], quota="10.00"))

    # the authorizer's account is withdrawn (提取): every authorization of hers ends, and the account pays nothing
    grant = api.bound(HF_WIFE, HF_RES, "father")
    reply = api.close(HF, HF_WIFE, "withdrawn")
    assert reply.json() == {"psn_no": HF_WIFE, "status": "withdrawn", "authorizations_ended": 1}
    assert events(world.store, HF_WIFE)[-2:] == [(grant["id"], "ended_by_account_withdrawn"),
                                                 (None, "account_withdrawn")]
    answer = settle_visit(his, world.who(HF_RES), EXAMPLE_B)[1]
    check_amounts(one_of(answer), {"acct_pay": "0.00", "acct_mulaid_pay": "0.00", "psn_cash_pay": "130.00"})
    answer = settle_visit(his, world.who(HF_WIFE), EXAMPLE_B)[1]
    check_amounts(one_of(answer), {"acct_pay": "0.00", "psn_cash_pay": "130.00"})
    assert balances(world.store)[HF_WIFE] == D("800.00")
    assert "already withdrawn" in refusal(api.close(HF, HF_WIFE, "closed"))


def test_hefei_2_own_suspended_employee_account_for_own_resident_costs(world: World) -> None:
    api, his, me = world.api, world.his(HF_HOSP), world.who(HF_SUSP)
    # without the self-authorization the suspended employee account does not pay as an own account
    info = one_of(settle_visit(his, me, EXAMPLE_B)[1])
    check_amounts(info, {"hifp_pay": "100.00", "psn_part_amt": "130.00", "acct_pay": "0.00",
                         "psn_cash_pay": "130.00"})
    # self-authorization: for this case only
    assert refusal(api.bind(MOTHER, MOTHER, "self")).startswith("beneficiary: no self-authorization")
    assert refusal(api.bind(MOTHER, HF_RES, "self")) == (
        "relation: relation self is only for one's own suspended employee account")
    grant = api.bound(HF_SUSP, HF_SUSP, "self")
    assert (grant["authorizer"], grant["beneficiary"], grant["relation"]) == (HF_SUSP, HF_SUSP, "self")

    visit, answer = settle_visit(his, me, EXAMPLE_B)
    info = one_of(answer)
    check_amounts(info, {"hifp_pay": "100.00", "psn_part_amt": "130.00", "acct_pay": "130.00",
                         "acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00"})
    assert aid_fields(info) == ("", HF, HF)
    assert entries(world.store, info["setl_id"]) == [(HF_SUSP, "mutual_aid", D("-130.00"), grant["id"], HF_SUSP)]
    assert bank(world.store, info["setl_id"]) == [("acct_021", HF_SUSP, HF, D("130.00"), None)]
    assert balance_1101(his, me) == D("170.00")
    visit.cancel(info["setl_id"])
    assert balance_1101(his, me) == D("300.00")


# -- seed 000 ---------------------------------------------------------------------------------------------

def test_seed000_balance_short_then_cash(unloaded: World) -> None:
    world = unloaded.load(lambda doc: person_in(doc, MOTHER)["account"].update(balance="50.00"))
    his, son = world.his(HF_HOSP), world.who(SON)
    # the balance covers the account scope: all by account ("走个人账户记账模式")
    first = one_of(settle_visit(his, son, [("EX-DRUG-A", "20.00", "1")])[1])
    check_amounts(first, {"psn_part_amt": "10.00", "acct_pay": "10.00", "acct_mulaid_pay": "0.00",
                          "psn_cash_pay": "0.00", "balc": "30.00"})
    # balances short: what is left of each goes in (own 30.00, mother's 50.00), the rest is cash
    visit = his.visit(son, EXAMPLE_B)
    short = {"psn_part_amt": "130.00", "acct_pay": "80.00", "acct_mulaid_pay": "50.00", "psn_cash_pay": "50.00",
             "balc": "0.00"}
    check_amounts(one_of(visit.presettle("2206A")), short)
    second = one_of(visit.settle("2207A"))
    check_amounts(second, short)
    assert bank(world.store, second["setl_id"]) == [("acct_021", SON, HF, D("30.00"), None),
                                                    ("acct_021", MOTHER, HF, D("50.00"), SON)]
    # nothing left anywhere: cash only, and no bank instruction
    third = one_of(settle_visit(his, son, EXAMPLE_B)[1])
    check_amounts(third, {"acct_pay": "0.00", "acct_mulaid_pay": "0.00", "psn_cash_pay": "130.00"})
    assert bank(world.store, third["setl_id"]) == []
    assert (balance_1101(his, son), balance_1101(his, world.who(MOTHER))) == (ZERO, ZERO)


def test_seed000_three_region_bookkeeping_rule(world: World) -> None:
    """Account bookkeeping only where the insured region, the treatment region and the account's region all
    support it (140300 does not): otherwise no account is used and warn_msg says why."""
    cases = [
        # (institution, person, the authorizer whose account would pay, the region lacking bookkeeping)
        (TY_PROV, YQ_CHILD, TY_PARENT, "insured region"),   # insured in 140300, treated and granted in 140100
        (YQ_HOSP, TY_CHILD, TY_PARENT, "treatment region"),  # insured and granted in 140100, treated in 140300
        (TY_HOSP, TY_KID2, YQ_PARENT, "account's region"),   # insured and treated in 140100, account in 140300
    ]
    world.api.bound(YQ_PARENT, TY_KID2, "child")
    opening = balances(world.store)
    for code, psn_no, authorizer, lacking in cases:
        his, who = world.his(code), world.who(psn_no)
        visit = his.visit(who, EXAMPLE_B)
        for answer in (visit.presettle("2206A"), visit.settle("2207A")):
            info = one_of(answer)
            check_amounts(info, {"psn_part_amt": "130.00", "acct_pay": "0.00", "acct_mulaid_pay": "0.00",
                                 "psn_cash_pay": "130.00"})
            assert aid_fields(info)[:2] == ("", ""), lacking
            assert "bookkeeping" in answer["warn_msg"], (lacking, answer["warn_msg"])
        assert entries(world.store, info["setl_id"]) == [] and bank(world.store, info["setl_id"]) == []
        assert grant_of(world.store, authorizer, psn_no).quota_used == ZERO
    # an employee's own account kept in 140300 is not used either
    answer = settle_visit(world.his(TY_HOSP), world.who(TY_FAR), [("EX-DRUG-A", "100.00", "2")])[1]
    check_amounts(one_of(answer), {"psn_part_amt": "140.00", "acct_pay": "0.00", "psn_cash_pay": "140.00"})
    assert f"its region {YQ} does not support account bookkeeping" in answer["warn_msg"]
    assert balances(world.store) == opening
