"""Outpatient end to end through the wire: 2201 → 2203 → 2204 → 2206(A) → 2207(A) → 2208, with 2202/2205.

The worked examples of rules.md (A, B, C) to the cent, the account rules (flag, scope, bookkeeping), the
year-to-date accumulators, mutual aid and arrears, the registration checks, msgid replay of a settlement,
and for every refusal: nothing written but its audit row.

Most tests load the conformance dataset (tests/outpatient_world.py, the same figures as
shared/conformance/dataset.json); a few use tests/data/world.yaml through the `platform` fixture.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from helpers import count, snapshot
from outpatient_world import (
    CATALOG,
    CHILD,
    EMPLOYEE,
    EXAMPLE_A,
    EXAMPLE_A_FIGURES,
    EXAMPLE_B,
    HF_HOSP,
    MOTHER,
    PARENT,
    SETLINFO_FIELDS,
    SON,
    SZ_HOSP,
    TY_HOSP,
    UNUSED_FUNDS,
    ZERO,
    D,
    His,
    Hub,
    Visit_,
    balance,
    check_amounts,
    fee_lines,
    id_card,
    instructions,
    lines_of,
    one_of,
    person,
    person_in,
    policy,
    quota_used,
    region,
    region_in,
    usage,
)

from yibao.dataset.loader import load_document
from yibao.store.models import Settlement, Visit


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The business date is the dataset's (2026-03-16), whatever the shell has set."""
    monkeypatch.delenv("YIBAO_TODAY", raising=False)


# -- worked example A ----------------------------------------------------------------------------------

def test_worked_example_a_register_upload_presettle_settle_cancel(hub: Hub) -> None:
    hub.load()
    his, who = hub.his(SZ_HOSP), hub.who(EMPLOYEE)
    mdtrt_id = his.register(who)
    his.visit_info(who, mdtrt_id)
    rows = his.upload(who, mdtrt_id, "BATCH-A", EXAMPLE_A)

    # 2204: the split of every line (rules.md 3, example A)
    split = {r["feedetl_sn"]: r for r in rows}
    want_rows = {
        "BATCH-A-001": {"det_item_fee_sumamt": "100.00", "fulamt_ownpay_amt": "0.00", "overlmt_amt": "0.00",
                        "preselfpay_amt": "0.00", "inscp_scp_amt": "100.00", "chrgitm_lv": "01",
                        "selfpay_prop": "0", "cnt": "2", "pric": "50.00"},
        "BATCH-A-002": {"det_item_fee_sumamt": "120.00", "fulamt_ownpay_amt": "0.00", "overlmt_amt": "20.00",
                        "preselfpay_amt": "10.00", "inscp_scp_amt": "90.00", "chrgitm_lv": "02",
                        "selfpay_prop": "0.10", "pric_uplmt_amt": "100.00", "cnt": "1", "pric": "120.00"},
        "BATCH-A-003": {"det_item_fee_sumamt": "30.00", "fulamt_ownpay_amt": "30.00", "overlmt_amt": "0.00",
                        "preselfpay_amt": "0.00", "inscp_scp_amt": "0.00", "chrgitm_lv": "03", "cnt": "1",
                        "pric": "30.00"},
    }
    for sn, want in want_rows.items():
        for key, value in want.items():
            got = split[sn][key]
            assert (got == D(value)) if key not in ("chrgitm_lv",) else (got == value), (sn, key, got, value)
        row = split[sn]
        assert row["det_item_fee_sumamt"] == (row["fulamt_ownpay_amt"] + row["overlmt_amt"] + row["preselfpay_amt"]
                                              + row["inscp_scp_amt"])
        assert row["memo"] == ""
    assert split["BATCH-A-002"]["med_chrgitm_type"] == "09" and split["BATCH-A-003"]["med_chrgitm_type"] == "14"

    visit = Visit_(his, who, mdtrt_id, "BATCH-A", rows, "11", "1")

    # 2206: the settlement's figures, and nothing changes (the replay record is the gateway's own)
    quiet = {"message_log", "nonces", "message_replay"}
    before = snapshot(hub.store, quiet)
    pre_answer = visit.presettle()
    assert snapshot(hub.store, quiet) == before
    pre = one_of(pre_answer)
    check_amounts(pre, EXAMPLE_A_FIGURES)
    assert "setl_id" not in pre
    assert pre_answer["warn_msg"] == ""
    assert [(d["fund_pay_type"], d["fund_payamt"]) for d in pre_answer["output"]["setldetail"]] == [
        ("310100", D("54.00"))]

    # 2207, with a msgid of our own to find it again in medins_setl_id
    client = his.client
    env = client.envelope("2207", visit.data_2207(), who["admdvs"], client.sign_no())
    answer = client.send(env)
    assert answer["infcode"] == 0, answer["err_msg"]
    info = one_of(answer)
    check_amounts(info, EXAMPLE_A_FIGURES)
    setl_id = info["setl_id"]
    assert isinstance(setl_id, str) and setl_id
    assert info["medins_setl_id"] == env["msgid"]
    assert (info["mdtrt_id"], info["psn_no"], info["psn_name"], info["insutype"], info["med_type"]) == (
        mdtrt_id, EMPLOYEE, "例甲", "310", "11")
    assert (info["clr_optins"], info["clr_way"], info["clr_type"]) == ("440300", "01", "11")
    assert info["setl_time"].startswith("2026-03-16 ")
    assert info["age"] == D("36.0") and info["brdy"] == "1990-01-01"
    assert [(d["fund_pay_type"], d["fund_payamt"], d["inscp_scp_amt"]) for d in answer["output"]["setldetail"]] == [
        ("310100", D("54.00"), D("190.00"))]
    for key in EXAMPLE_A_FIGURES:  # pre-settlement = settlement
        assert pre[key] == info[key], key

    # the books: balance, accumulator, lines settled, one acct_021 debit
    assert balance(hub.store, EMPLOYEE) == D("304.00")
    assert usage(hub.store, EMPLOYEE) == (D("100.00"), D("54.00"))
    assert {ln.setl_id for ln in lines_of(hub.store, mdtrt_id)} == {setl_id}
    assert instructions(hub.store) == [("acct_021", EMPLOYEE, D("196.00"), setl_id)]

    # 1101 shows the balance after
    lookup = his.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"]}}, "440300")
    assert lookup["output"]["insuinfo"][0]["balc"] == D("304.00")

    # 2208: everything back
    cancel = visit.cancel(setl_id)
    undone = one_of(cancel)
    assert undone["setl_id"] == setl_id and undone["refd_setl_id"] != setl_id
    check_amounts(undone, {**{k: v for k, v in EXAMPLE_A_FIGURES.items() if k != "balc"}, "balc": "500.00"})
    assert undone["pdn_cash_pay"] == undone["psn_cash_pay"]
    assert balance(hub.store, EMPLOYEE) == D("500.00")
    assert usage(hub.store, EMPLOYEE) == (ZERO, ZERO)
    assert {ln.setl_id for ln in lines_of(hub.store, mdtrt_id)} == {None}
    refunds = [i for i in instructions(hub.store) if i[0] == "acct_023"]
    assert [(c, p, a) for c, p, a, _ in refunds] == [("acct_023", EMPLOYEE, D("196.00"))]
    with hub.store.unit_of_work() as s:
        original = s.get(Settlement, setl_id)
        reversal = s.get(Settlement, undone["refd_setl_id"])
        assert original is not None and reversal is not None
        assert original.status == "cancelled"
        assert (reversal.refd_setl_flag, reversal.init_setl_id, reversal.acct_pay) == ("1", setl_id, D("-196.00"))
    lookup = his.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"]}}, "440300")
    assert lookup["output"]["insuinfo"][0]["balc"] == D("500.00")

    # a second cancel is refused and changes nothing
    err = his.refused("2208", visit.cancel_input(setl_id), "440300")
    assert err.startswith("input.data.setl_id:") and "already cancelled" in err

    # the lines are settleable again: the same figures once more
    again = one_of(visit.settle())
    check_amounts(again, EXAMPLE_A_FIGURES)
    assert again["setl_id"] != setl_id


def test_setlinfo_carries_every_field_of_interface_3_1(hub: Hub) -> None:
    hub.load()
    his = hub.his(SZ_HOSP)
    visit = his.visit(hub.who(EMPLOYEE), EXAMPLE_A)
    outputs = {"2206": one_of(visit.presettle()), "2206A": one_of(visit.presettle("2206A"))}
    settled = one_of(visit.settle())
    outputs["2207"] = settled
    outputs["2208"] = one_of(visit.cancel(settled["setl_id"]))
    outputs["2207A"] = one_of(visit.settle("2207A"))
    for infno, info in outputs.items():
        expected = set(SETLINFO_FIELDS) | ({"setl_id"} if infno.startswith(("2207", "2208")) else set())
        assert expected <= set(info), f"{infno} lacks {sorted(expected - set(info))}"
        for name in UNUSED_FUNDS:
            assert info[name] == ZERO, (infno, name)
        assert info["cvlserv_flag"] == "0"
        if infno.endswith("A"):
            assert {"acct_admdvs", "acct_mulaid_admdvs", "insu_admdvs"} <= set(info)
            assert (info["acct_admdvs"], info["acct_mulaid_admdvs"], info["insu_admdvs"]) == ("440300", "", "440300")


# -- worked examples B and C (2207A) -------------------------------------------------------------------

def test_worked_example_b_resident_child_pays_from_the_parents_account(hub: Hub) -> None:
    hub.load()
    his, child = hub.his(TY_HOSP), hub.who(CHILD)
    visit = his.visit(child, EXAMPLE_B)
    assert (balance(hub.store, PARENT), quota_used(hub.store, PARENT, CHILD)) == (D("3000.00"), ZERO)
    figures = {"medfee_sumamt": "230.00", "fulamt_ownpay_amt": "30.00", "inscp_scp_amt": "200.00",
               "act_pay_dedc": "0.00", "hifp_pay": "100.00", "pool_prop_selfpay": "0.5000",
               "fund_pay_sumamt": "100.00", "psn_part_amt": "130.00", "acct_pay": "130.00",
               "acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00", "balc": "0.00"}

    quiet = {"message_log", "nonces", "message_replay"}
    before = snapshot(hub.store, quiet)
    pre = one_of(visit.presettle("2206A"))
    assert snapshot(hub.store, quiet) == before
    check_amounts(pre, figures)
    assert (pre["acct_admdvs"], pre["acct_mulaid_admdvs"], pre["insu_admdvs"]) == ("", "140100", "140100")

    info = one_of(visit.settle("2207A"))
    check_amounts(info, figures)
    assert (info["acct_admdvs"], info["acct_mulaid_admdvs"], info["insu_admdvs"]) == ("", "140100", "140100")
    assert balance(hub.store, PARENT) == D("2870.00")
    assert quota_used(hub.store, PARENT, CHILD) == D("130.00")  # 870.00 of the 1000.00 quota left
    debits = instructions(hub.store)
    assert [(c, p, a) for c, p, a, _ in debits] == [("acct_021", PARENT, D("130.00"))]

    undone = one_of(visit.cancel(info["setl_id"]))
    assert undone["acct_mulaid_pay"] == D("130.00")
    assert balance(hub.store, PARENT) == D("3000.00")
    assert quota_used(hub.store, PARENT, CHILD) == ZERO
    assert usage(hub.store, CHILD) == (ZERO, ZERO)
    assert [(c, p, a) for c, p, a, _ in instructions(hub.store)][1:] == [("acct_023", PARENT, D("130.00"))]


def test_worked_example_c_own_balance_first_then_mutual_aid(hub: Hub) -> None:
    hub.load()
    his, son = hub.his(HF_HOSP), hub.who(SON)
    visit = his.visit(son, EXAMPLE_B)
    figures = {"medfee_sumamt": "230.00", "hifp_pay": "100.00", "psn_part_amt": "130.00", "acct_pay": "130.00",
               "acct_mulaid_pay": "90.00", "psn_cash_pay": "0.00", "balc": "0.00"}
    check_amounts(one_of(visit.presettle("2206A")), figures)
    info = one_of(visit.settle("2207A"))
    check_amounts(info, figures)
    assert (info["acct_admdvs"], info["acct_mulaid_admdvs"], info["insu_admdvs"]) == ("340100", "340100", "340100")
    assert (balance(hub.store, SON), balance(hub.store, MOTHER)) == (ZERO, D("1910.00"))
    assert quota_used(hub.store, MOTHER, SON) == D("90.00")  # no quota: the use is still counted
    assert sorted((c, p, a) for c, p, a, _ in instructions(hub.store)) == [
        ("acct_021", MOTHER, D("90.00")), ("acct_021", SON, D("40.00"))]

    visit.cancel(info["setl_id"])
    assert (balance(hub.store, SON), balance(hub.store, MOTHER)) == (D("40.00"), D("2000.00"))
    assert quota_used(hub.store, MOTHER, SON) == ZERO
    assert sorted((c, p, a) for c, p, a, _ in instructions(hub.store) if c == "acct_023") == [
        ("acct_023", MOTHER, D("90.00")), ("acct_023", SON, D("40.00"))]


def test_the_non_a_forms_report_mutual_aid_too(hub: Hub) -> None:
    hub.load()
    visit = hub.his(TY_HOSP).visit(hub.who(CHILD), EXAMPLE_B)
    info = one_of(visit.settle("2207"))
    check_amounts(info, {"acct_pay": "130.00", "acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00"})
    assert "acct_mulaid_admdvs" not in info


# -- amounts claimed by the HIS ------------------------------------------------------------------------

AMOUNT_MISMATCHES = [
    ("medfee_sumamt", "249.00", "250.00"),
    ("fulamt_ownpay_amt", "31.00", "30.00"),
    ("overlmt_selfpay", "0.00", "20.00"),
    ("preselfpay_amt", "10.01", "10.00"),
    ("inscp_scp_amt", "200.00", "190.00"),
]


def test_2207_with_amounts_that_do_not_match_the_lines_is_refused(hub: Hub) -> None:
    hub.load()
    his = hub.his(SZ_HOSP)
    visit = his.visit(hub.who(EMPLOYEE), EXAMPLE_A)
    for field, sent, computed in AMOUNT_MISMATCHES:
        err = his.refused("2207", visit.data_2207(**{field: sent}), "440300")
        assert err.startswith(f"input.data.{field}:"), err
        assert f"{sent} sent" in err and computed in err, err
    assert balance(hub.store, EMPLOYEE) == D("500.00")
    check_amounts(one_of(visit.settle()), {"acct_pay": "196.00"})  # the right figures still settle


def test_2206_with_a_wrong_total_is_refused(hub: Hub) -> None:
    hub.load()
    his = hub.his(SZ_HOSP)
    visit = his.visit(hub.who(EMPLOYEE), EXAMPLE_A)
    err = his.refused("2206", visit.data_2206(medfee_sumamt="249.00"), "440300")
    assert err.startswith("input.data.medfee_sumamt:") and "249.00" in err and "250.00" in err


# -- the personal account ------------------------------------------------------------------------------

def test_acct_used_flag_0_pays_all_in_cash(hub: Hub) -> None:
    hub.load()
    his = hub.his(SZ_HOSP)
    visit = his.visit(hub.who(EMPLOYEE), EXAMPLE_A, acct_used_flag="0")
    figures = {"hifp_pay": "54.00", "psn_part_amt": "196.00", "acct_pay": "0.00", "acct_mulaid_pay": "0.00",
               "psn_cash_pay": "196.00"}
    check_amounts(one_of(visit.presettle()), figures)
    info = one_of(visit.settle())
    check_amounts(info, figures)
    assert balance(hub.store, EMPLOYEE) == D("500.00")
    assert instructions(hub.store) == []
    assert usage(hub.store, EMPLOYEE) == (D("100.00"), D("54.00"))


def test_balc_is_the_own_balance_even_when_the_account_is_not_used(hub: Hub) -> None:
    hub.load()
    visit = hub.his(SZ_HOSP).visit(hub.who(EMPLOYEE), EXAMPLE_A, acct_used_flag="0")
    assert one_of(visit.presettle())["balc"] == D("500.00")
    setl_id = one_of(visit.settle())["setl_id"]
    with hub.store.unit_of_work() as s:
        row = s.get(Settlement, setl_id)
        assert row is not None and row.balc == D("500.00")
    assert one_of(visit.cancel(setl_id))["balc"] == D("500.00")


def test_account_scope_policy_caps_the_account_at_the_policy_part(platform: Any) -> None:
    """world.yaml 440100: deductible 0, ratio 0.70, scope `policy`; a catalog is added for the case."""
    load_document(platform.store, {"regions": [{
        "admdvs": "440100", "name": "广州市", "catalog": copy.deepcopy(CATALOG),
        "policies": [policy("310", "0.00", "0.70", "3000.00", scope="policy")]}]})
    his = His(platform.client("H44010000001"), platform.store)
    who = {"psn_no": "44010000000000000001", "insutype": "310", "admdvs": "440100", "certno": "440106198408211031"}
    visit = his.visit(who, EXAMPLE_A)
    # medfee 250, fulamt 30, overlmt 20, pre 10, inscp 190; hifp 133; psn_part 117; account 117 - 30 - 20 = 67
    figures = {"medfee_sumamt": "250.00", "inscp_scp_amt": "190.00", "act_pay_dedc": "0.00", "hifp_pay": "133.00",
               "psn_part_amt": "117.00", "acct_pay": "67.00", "psn_cash_pay": "50.00", "balc": "4133.00"}
    check_amounts(one_of(visit.presettle()), figures)
    check_amounts(one_of(visit.settle()), figures)
    assert balance(platform.store, "44010000000000000001") == D("4133.00")


def test_region_without_account_bookkeeping_pays_cash_and_says_why(hub: Hub) -> None:
    hub.load(lambda doc: region_in(doc, "440300").update(acct_bookkeeping=False))
    his = hub.his(SZ_HOSP)
    visit = his.visit(hub.who(EMPLOYEE), EXAMPLE_A)
    figures = {"psn_part_amt": "196.00", "acct_pay": "0.00", "psn_cash_pay": "196.00"}
    for answer in (visit.presettle(), visit.settle()):
        check_amounts(one_of(answer), figures)
        assert "personal account not used" in answer["warn_msg"] and "bookkeeping" in answer["warn_msg"]
    assert balance(hub.store, EMPLOYEE) == D("500.00")
    assert instructions(hub.store) == []


# -- accumulators --------------------------------------------------------------------------------------

def test_deductible_partly_used_applies_what_is_left(platform: Any) -> None:
    """world.yaml: 张三 has used 20.00 of the 100.00 deductible; 440300 has no EX-ITEM-C: not in the catalog."""
    his = His(platform.client("H44030000001"), platform.store)
    who = {"psn_no": "44030000000000000001", "insutype": "310", "admdvs": "440300", "certno": "440301199001011234"}
    assert usage(platform.store, who["psn_no"]) == (D("20.00"), ZERO)
    visit = his.visit(who, EXAMPLE_A)
    # inscp 190; deductible left 80; hifp round2(110 x 0.60) = 66; psn_part 184
    figures = {"fulamt_ownpay_amt": "30.00", "inscp_scp_amt": "190.00", "act_pay_dedc": "80.00",
               "hifp_pay": "66.00", "psn_part_amt": "184.00", "acct_pay": "184.00", "balc": "316.00"}
    check_amounts(one_of(visit.presettle()), figures)
    info = one_of(visit.settle())
    check_amounts(info, figures)
    assert usage(platform.store, who["psn_no"]) == (D("100.00"), D("66.00"))
    # the next visit pays no deductible at all
    second = one_of(his.visit(who, [("EX-DRUG-A", "10.00", "1")]).settle())
    check_amounts(second, {"act_pay_dedc": "0.00", "hifp_pay": "6.00"})
    assert usage(platform.store, who["psn_no"]) == (D("100.00"), D("72.00"))
    visit.cancel(info["setl_id"])
    assert usage(platform.store, who["psn_no"]) == (D("20.00"), D("6.00"))


def test_annual_cap_nearly_exhausted_limits_the_fund(hub: Hub) -> None:
    hub.load(lambda doc: person_in(doc, EMPLOYEE).update(
        used={"outpatient": {"deductible": "100.00", "fund": "4980.00"}}))
    his = hub.his(SZ_HOSP)
    visit = his.visit(hub.who(EMPLOYEE), EXAMPLE_A)
    # round2(190 x 0.60) = 114.00, but only 20.00 of the 5000.00 cap is left
    figures = {"act_pay_dedc": "0.00", "hifp_pay": "20.00", "fund_pay_sumamt": "20.00", "psn_part_amt": "230.00",
               "acct_pay": "230.00", "balc": "270.00"}
    check_amounts(one_of(visit.presettle()), figures)
    answer = visit.settle()
    check_amounts(one_of(answer), figures)
    assert answer["output"]["setldetail"][0]["crt_payb_lmt_amt"] == D("20.00")
    assert usage(hub.store, EMPLOYEE) == (D("100.00"), D("5000.00"))
    # the cap is spent: the next settlement gets nothing from the fund
    check_amounts(one_of(his.visit(hub.who(EMPLOYEE), [("EX-DRUG-A", "10.00", "1")]).settle()),
                  {"hifp_pay": "0.00", "psn_part_amt": "10.00", "acct_pay": "10.00"})
    assert usage(hub.store, EMPLOYEE) == (D("100.00"), D("5000.00"))


# -- mutual aid and arrears ----------------------------------------------------------------------------

def _child_in_arrears_with_a_chronic_policy(doc: dict[str, Any]) -> None:
    """Taiyuan's arrears rule on (settings.arrears_blocks_mutual_aid, 太原 并医险中心字〔2022〕126号 五(一)); its
    resident categories (五(二)) left out, so that arrears alone decide here."""
    region_in(doc, "140100").setdefault("settings", {})["arrears_blocks_mutual_aid"] = True
    person_in(doc, CHILD)["arrears"] = True
    person_in(doc, CHILD)["chronic"] = [{"code": "M03900", "since": "2025-06-01"}]
    region_in(doc, "140100")["policies"].append(
        policy("390", "0.00", "0.60", "5000.00", med_types=("14",), bucket="chronic"))


def test_resident_in_arrears_still_gets_mutual_aid_for_general_outpatient(hub: Hub) -> None:
    hub.load(_child_in_arrears_with_a_chronic_policy)
    visit = hub.his(TY_HOSP).visit(hub.who(CHILD), EXAMPLE_B, med_type="11")
    answer = visit.settle("2207A")
    check_amounts(one_of(answer), {"acct_pay": "130.00", "acct_mulaid_pay": "130.00", "psn_cash_pay": "0.00"})
    assert answer["warn_msg"] == ""
    assert balance(hub.store, PARENT) == D("2870.00")


def test_resident_in_arrears_gets_no_mutual_aid_for_chronic_disease(hub: Hub) -> None:
    hub.load(_child_in_arrears_with_a_chronic_policy)
    visit = hub.his(TY_HOSP).visit(hub.who(CHILD), EXAMPLE_B, med_type="14", dise_codg="M03900")
    # 390 chronic: deductible 0, ratio 0.60 → hifp 120.00, psn_part 110.00 all cash
    figures = {"hifp_pay": "120.00", "psn_part_amt": "110.00", "acct_pay": "0.00", "acct_mulaid_pay": "0.00",
               "psn_cash_pay": "110.00"}
    for answer in (visit.presettle("2206A"), visit.settle("2207A")):
        check_amounts(one_of(answer), figures)
        assert "mutual aid not used" in answer["warn_msg"] and "arrears" in answer["warn_msg"]
    assert balance(hub.store, PARENT) == D("3000.00")
    assert quota_used(hub.store, PARENT, CHILD) == ZERO
    assert usage(hub.store, CHILD, "chronic") == (ZERO, D("120.00"))


def test_resident_not_in_arrears_gets_mutual_aid_for_chronic_disease(hub: Hub) -> None:
    def chronic(doc: dict[str, Any]) -> None:
        _child_in_arrears_with_a_chronic_policy(doc)
        person_in(doc, CHILD)["arrears"] = False

    hub.load(chronic)
    answer = hub.his(TY_HOSP).visit(hub.who(CHILD), EXAMPLE_B, med_type="14", dise_codg="M03900").settle("2207A")
    check_amounts(one_of(answer), {"acct_pay": "110.00", "acct_mulaid_pay": "110.00", "psn_cash_pay": "0.00"})
    assert answer["warn_msg"] == ""


def test_quota_limits_mutual_aid_and_the_rest_is_cash(hub: Hub) -> None:
    hub.load(lambda doc: doc["mutual_aid"][0].update(quota="100.00"))
    info = one_of(hub.his(TY_HOSP).visit(hub.who(CHILD), EXAMPLE_B).settle("2207A"))
    check_amounts(info, {"psn_part_amt": "130.00", "acct_pay": "100.00", "acct_mulaid_pay": "100.00",
                         "psn_cash_pay": "30.00"})
    assert quota_used(hub.store, PARENT, CHILD) == D("100.00")
    assert balance(hub.store, PARENT) == D("2900.00")


def test_two_authorizations_of_one_authorizer_draw_on_one_balance(hub: Hub) -> None:
    def two_grants(doc: dict[str, Any]) -> None:
        person_in(doc, PARENT)["account"]["balance"] = "100.00"
        doc["mutual_aid"][0]["quota"] = None
        doc["mutual_aid"].append({**doc["mutual_aid"][0], "start": "2026-02-01", "priority": 2})

    hub.load(two_grants)
    his = hub.his(TY_HOSP)
    visit = his.visit(hub.who(CHILD), EXAMPLE_B)
    answer = his.call("2207A", visit.data_2207(), "140100")
    assert answer["infcode"] == 0, answer["err_msg"]
    check_amounts(one_of(answer), {"acct_pay": "100.00", "acct_mulaid_pay": "100.00", "psn_cash_pay": "30.00"})
    assert balance(hub.store, PARENT) == ZERO

# -- 2205 / 2202 ---------------------------------------------------------------------------------------

def test_2205_deletes_one_batch_or_every_unsettled_line(hub: Hub) -> None:
    hub.load()
    his, who = hub.his(SZ_HOSP), hub.who(EMPLOYEE)
    mdtrt_id = his.register(who)
    his.visit_info(who, mdtrt_id)
    his.upload(who, mdtrt_id, "B1", EXAMPLE_A[:1])
    his.upload(who, mdtrt_id, "B2", EXAMPLE_A[1:])
    his.upload(who, mdtrt_id, "B3", EXAMPLE_A[:1])
    delete = {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "psn_no": EMPLOYEE}}
    his.ok("2205", delete, "440300")
    assert sorted({ln.chrg_bchno for ln in lines_of(hub.store, mdtrt_id)}) == ["B2", "B3"]
    err = his.refused("2205", delete, "440300")
    assert err.startswith("input.data.chrg_bchno:") and "no unsettled fee lines of batch B1" in err
    his.ok("2205", {"data": {**delete["data"], "chrg_bchno": "0000"}}, "440300")
    assert lines_of(hub.store, mdtrt_id) == []
    # a batch may be uploaded again after deletion, with the same serial numbers
    rows = his.upload(who, mdtrt_id, "B1", EXAMPLE_A)
    assert len(rows) == 3


def test_a_settled_batch_cannot_be_deleted_nor_the_registration_cancelled_until_2208(hub: Hub) -> None:
    hub.load()
    his, who = hub.his(SZ_HOSP), hub.who(EMPLOYEE)
    visit = his.visit(who, EXAMPLE_A)
    his.upload(who, visit.mdtrt_id, "OPEN", EXAMPLE_A[:1])  # a second, unsettled batch
    setl_id = one_of(visit.settle())["setl_id"]
    delete = {"data": {"mdtrt_id": visit.mdtrt_id, "chrg_bchno": visit.batch, "psn_no": EMPLOYEE}}
    err = his.refused("2205", delete, "440300")
    assert err.startswith("input.data.chrg_bchno:") and "is settled" in err and setl_id in err
    cancel_reg = {"data": {"psn_no": EMPLOYEE, "mdtrt_id": visit.mdtrt_id, "ipt_otp_no": ""}}
    err = his.refused("2202", cancel_reg, "440300")
    assert err.startswith("input.data.mdtrt_id:") and "2208" in err
    # "0000" deletes the unsettled batch only: the settled lines stay
    his.ok("2205", {"data": {**delete["data"], "chrg_bchno": "0000"}}, "440300")
    assert {(ln.chrg_bchno, ln.setl_id) for ln in lines_of(hub.store, visit.mdtrt_id)} == {(visit.batch, setl_id)}

    visit.cancel(setl_id)
    his.ok("2202", cancel_reg, "440300")
    with hub.store.unit_of_work() as s:
        row = s.get(Visit, visit.mdtrt_id)
        assert row is not None and row.status == "cancelled"
    assert lines_of(hub.store, visit.mdtrt_id) == []
    assert balance(hub.store, EMPLOYEE) == D("500.00")
    # a cancelled visit takes no more messages
    err = his.refused("2204", {"feedetail": fee_lines(visit.mdtrt_id, EMPLOYEE, "LATE", EXAMPLE_A)}, "440300")
    assert "was cancelled" in err


# -- registration checks -------------------------------------------------------------------------------

SUSPENDED = "44030000000000000102"
HUIZHOU = "44130000000000000101"


def _registration_world(doc: dict[str, Any]) -> None:
    doc["persons"].append(person(SUSPENDED, "例停", id_card("44030119850505101"), "310", "440300", "1101",
                                 "100.00", suspended=True))
    doc["regions"].append(region("441300", "惠州市(示例)", [policy("310", "0.00", "0.50", "800.00")]))
    doc["persons"].append(person(HUIZHOU, "例惠", id_card("44130219800202101"), "310", "441300", "1101", "100.00"))


def test_registration_is_refused_naming_the_reason(hub: Hub) -> None:
    hub.load(_registration_world)
    his = hub.his(SZ_HOSP)
    employee = hub.who(EMPLOYEE)
    cases = [
        ({**employee, "psn_no": "44030000000000009999"},
         ("input.data.psn_no:", "no insured person 44030000000000009999")),
        ({**employee, "insutype": "390"}, ("input.data.insutype:", "insured under 310, not 390")),
        (hub.who(SUSPENDED), ("input.data.psn_no:", "suspended")),
        # insured in Taiyuan, at a Shenzhen hospital of qualification `none`
        (hub.who(PARENT), ("fixmedins_code:", "qualification is none; cross-province cases need national")),
        (hub.who(HUIZHOU), ("fixmedins_code:", "qualification is none; in-province cases need provincial or "
                                               "national")),
    ]
    for who, (field, rule) in cases:
        err = his.refused("2201", his.registration(who), who["admdvs"])
        assert err.startswith(field) and rule in err, err


def test_a_duplicate_ipt_otp_no_is_refused_until_the_visit_is_cancelled(hub: Hub) -> None:
    hub.load()
    his, who = hub.his(SZ_HOSP), hub.who(EMPLOYEE)
    mdtrt_id = his.register(who, "OTP-SAME")
    err = his.refused("2201", his.registration(who, "OTP-SAME"), "440300")
    assert err.startswith("input.data.ipt_otp_no:") and mdtrt_id in err
    his.ok("2202", {"data": {"psn_no": EMPLOYEE, "mdtrt_id": mdtrt_id, "ipt_otp_no": "OTP-SAME"}}, "440300")
    assert his.register(who, "OTP-SAME") != mdtrt_id


def test_another_persons_visit_or_another_institutions_settlement_is_refused(hub: Hub) -> None:
    hub.load()
    his = hub.his(HF_HOSP)
    visit = his.visit(hub.who(SON), EXAMPLE_B)
    err = his.refused("2207", visit.data_2207(psn_no=MOTHER), "340100")
    assert err.startswith("input.data.psn_no:") and "another person" in err
    setl_id = one_of(visit.settle())["setl_id"]
    err = hub.his(TY_HOSP).refused("2208", visit.cancel_input(setl_id), "340100")
    assert err.startswith(f"input.data.setl_id: no settlement {setl_id} of this institution"), err
    err = his.refused("2208", {"data": {**visit.cancel_input(setl_id)["data"], "psn_no": MOTHER}}, "340100")
    assert err.startswith("input.data.psn_no:") and "another person" in err
    assert (balance(hub.store, SON), balance(hub.store, MOTHER)) == (ZERO, D("1910.00"))


def test_fee_upload_is_checked_line_by_line(hub: Hub) -> None:
    hub.load()
    his, who = hub.his(SZ_HOSP), hub.who(EMPLOYEE)
    mdtrt_id = his.register(who)
    his.visit_info(who, mdtrt_id)
    other_visit = his.register(who)

    def upload(*changes: dict[str, Any], items: list[tuple[str, str, str]] = EXAMPLE_A[:2]) -> dict[str, Any]:
        lines = fee_lines(mdtrt_id, EMPLOYEE, "B1", items)
        for line, change in zip(lines, changes, strict=False):
            line.update(change)
        return {"feedetail": lines}

    cases = [
        (upload({"det_item_fee_sumamt": "99.00"}),
         "input.feedetail[0].det_item_fee_sumamt: 99.00 sent, but pric 50.00 x cnt 2 = 100.00"),
        (upload({}, {"feedetl_sn": "B1-001"}), "input.feedetail[1].feedetl_sn: B1-001 was already uploaded"),
        (upload({"cnt": "0", "det_item_fee_sumamt": "0.00"}), "input.feedetail[0].cnt: must not be 0"),
        (upload({"cnt": "-1", "det_item_fee_sumamt": "-50.00"}), "input.feedetail[0].cnt: must be positive"),
        (upload({"pric": "-50.00", "det_item_fee_sumamt": "-100.00"}), "input.feedetail[0].pric: must not be negative"),
        (upload({}, {"mdtrt_id": other_visit}), "input.feedetail[1].mdtrt_id: every line of one upload"),
        (upload({"dise_codg": "M01600"}), "input.feedetail[1].dise_codg: every line of batch B1 must carry the same"),
        (upload({"mdtrt_id": "NOSUCHVISIT"}, {"mdtrt_id": "NOSUCHVISIT"}), "input.data.mdtrt_id: no visit NOSUCHVISIT"),
        (upload({"psn_no": SON}, {"psn_no": SON}), "input.data.psn_no: visit"),
    ]
    for message, want in cases:
        err = his.refused("2204", message, "440300")
        assert err.startswith(want), (want, err)
    assert lines_of(hub.store, mdtrt_id) == []

    rows = his.upload(who, mdtrt_id, "B1", EXAMPLE_A[:1])
    err = his.refused("2204", {"feedetail": fee_lines(mdtrt_id, EMPLOYEE, "B1", EXAMPLE_A[:1])}, "440300")
    assert err.startswith("input.feedetail[0].feedetl_sn: B1-001 was already uploaded")
    assert len(rows) == 1
    # not in the catalog, or the hospital's approval refused: fully self-paid, saying why
    odd = fee_lines(mdtrt_id, EMPLOYEE, "B2", [("NO-SUCH-ITEM", "12.50", "2"), ("EX-DRUG-A", "10.00", "1")])
    odd[1]["hosp_appr_flag"] = "2"
    result = his.ok("2204", {"feedetail": odd}, "440300")["output"]["result"]
    assert [(r["fulamt_ownpay_amt"], r["inscp_scp_amt"], r["chrgitm_lv"]) for r in result] == [
        (D("25.00"), ZERO, "03"), (D("10.00"), ZERO, "01")]
    assert "not in the catalog" in result[0]["memo"] and "self-paid" in result[1]["memo"]


def test_settlement_messages_must_name_the_person_the_visit_and_the_region(hub: Hub) -> None:
    hub.load()
    his = hub.his(SZ_HOSP)
    visit = his.visit(hub.who(EMPLOYEE), EXAMPLE_A)
    cases = [
        (visit.data_2207(insutype="390"), "440300", "input.data.insutype: the person is insured under 310, not 390"),
        (visit.data_2207(), "140100", "insuplc_admdvs: must name the person's insured region 440300"),
        (visit.data_2207(mdtrt_id="NOSUCHVISIT"), "440300", "input.data.mdtrt_id: no visit NOSUCHVISIT"),
        (visit.data_2207(chrg_bchno="NOSUCHBATCH"), "440300", "input.data.chrg_bchno: no unsettled fee lines"),
        (visit.data_2207(med_type="21"), "440300", "input.data.med_type: region 440300: no policy row"),
        (visit.data_2207(medfee_sumamt="250.001"), "440300", "input.data.medfee_sumamt: must be an amount with at "
                                                             "most 2 decimal places"),
    ]
    for message, insuplc, want in cases:
        err = his.refused("2207", message, insuplc)
        assert err.startswith(want), (want, err)
    check_amounts(one_of(visit.settle()), {"acct_pay": "196.00"})

# -- msgid replay of a settlement ----------------------------------------------------------------------

def test_a_retried_2207_with_the_same_msgid_settles_once(hub: Hub) -> None:
    hub.load()
    his = hub.his(SZ_HOSP)
    visit = his.visit(hub.who(EMPLOYEE), EXAMPLE_A)
    client = his.client
    env = client.envelope("2207", visit.data_2207(), "440300", client.sign_no())
    first = client.send(env)
    second = client.send(env)
    assert first["infcode"] == 0 and second == first
    assert one_of(second)["setl_id"] == one_of(first)["setl_id"]
    assert balance(hub.store, EMPLOYEE) == D("304.00")
    assert count(hub.store, "settlements") == 1
    assert len(instructions(hub.store)) == 1
    assert usage(hub.store, EMPLOYEE) == (D("100.00"), D("54.00"))
    # a fresh msgid for the same batch finds nothing left to settle
    err = his.refused("2207", visit.data_2207(), "440300")
    assert "no unsettled fee lines" in err


def test_a_retried_2208_with_the_same_msgid_refunds_once(hub: Hub) -> None:
    hub.load()
    his = hub.his(HF_HOSP)
    visit = his.visit(hub.who(SON), EXAMPLE_B)
    setl_id = one_of(visit.settle("2207A"))["setl_id"]
    client = his.client
    env = client.envelope("2208", visit.cancel_input(setl_id), "340100", client.sign_no())
    first, second = client.send(env), client.send(env)
    assert first["infcode"] == 0 and second == first
    assert (balance(hub.store, SON), balance(hub.store, MOTHER)) == (D("40.00"), D("2000.00"))
    assert count(hub.store, "settlements") == 2  # the settlement and one reversal
