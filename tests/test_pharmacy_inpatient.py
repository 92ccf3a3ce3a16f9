"""Pharmacy (2101-2103) and inpatient (2401-2405, 2301-2305) end to end through the wire, and 2601."""

from __future__ import annotations

from decimal import Decimal

import pytest
from helpers import Platform, snapshot
from pharmacy_world import DRUGS, PSN, druginfo
from sqlalchemy import select

from yibao.client import PlatformError
from yibao.store.models import Accumulator, BankInstruction, Settlement

D = Decimal


def balance(p: Platform) -> Decimal:
    out = p.client().ok("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "ECARD-SZ-0001"}})
    return out["insuinfo"][0]["balc"]


# -- pharmacy -----------------------------------------------------------------------------------------

def test_pharmacy_purchase_paid_by_the_account_then_cancelled(hospital_world):
    p = hospital_world
    ph = p.client("P44030000001")
    ph.sign_no()
    keep = {"message_log", "nonces", "message_replay"}
    before = snapshot(p.store, keep)
    pre = ph.ok("2101", {"druginfo": druginfo(), "drugdetail": DRUGS})
    assert snapshot(p.store, keep) == before  # pre-settlement commits nothing but its replay record
    assert pre["setlinfo"]["mdtrt_id"] == "" and pre["setlinfo"]["acct_pay"] == D("180.00")
    out = ph.ok("2102A", {"druginfo": druginfo(), "drugdetail": DRUGS})
    s = out["setlinfo"]
    assert s["mdtrt_id"] and s["setl_id"]
    # pharmacy purchase of an employee: no pooling, the account pays all (rules.md 4)
    assert (s["medfee_sumamt"], s["overlmt_selfpay"], s["preselfpay_amt"], s["inscp_scp_amt"]) == (
        D("180.00"), D("20.00"), D("10.00"), D("150.00"))
    assert (s["hifp_pay"], s["fund_pay_sumamt"], s["acct_pay"], s["psn_cash_pay"], s["balc"]) == (
        D("0.00"), D("0.00"), D("180.00"), D("0.00"), D("320.00"))
    assert out["setldetail"] == []
    assert [(r["feedetl_sn"], r["overlmt_amt"], r["inscp_scp_amt"]) for r in out["detlcutinfo"]] == [
        ("D1", D("0.00"), D("60.00")), ("D2", D("20.00"), D("90.00"))]
    assert balance(p) == D("320.00")
    back = ph.ok("2103", {"data": {"setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"], "psn_no": PSN}})
    assert back["setlinfo"]["balc"] == D("500.00") and back["setlinfo"]["cash_payamt"] == D("0.00")
    assert balance(p) == D("500.00")
    with pytest.raises(PlatformError, match="already cancelled"):
        ph.ok("2103", {"data": {"setl_id": s["setl_id"], "mdtrt_id": s["mdtrt_id"], "psn_no": PSN}})
    with p.store.unit_of_work() as session:
        codes = [(b.code, b.amount) for b in session.scalars(select(BankInstruction))]
    assert sorted(codes) == [("acct_021", D("180.00")), ("acct_023", D("180.00"))]


def test_pharmacy_refusals(hospital_world):
    p = hospital_world
    ph = p.client("P44030000001")
    with pytest.raises(PlatformError, match=r"input.druginfo.medfee_sumamt: 170.00 sent"):
        ph.ok("2102", {"druginfo": druginfo("170.00"), "drugdetail": DRUGS})
    bad = [dict(DRUGS[0], det_item_fee_sumamt="61.00")]
    with pytest.raises(PlatformError, match=r"input.drugdetail\[0\].det_item_fee_sumamt: 61.00 sent"):
        ph.ok("2102", {"druginfo": druginfo("61.00"), "drugdetail": bad})
    with pytest.raises(PlatformError, match="pharmacy"):
        p.client().ok("2102", {"druginfo": druginfo(), "drugdetail": DRUGS})
    with p.store.unit_of_work() as session:
        assert session.scalars(select(Settlement)).all() == []


# -- inpatient ----------------------------------------------------------------------------------------

def admit(h, ipt_no="IPT-1"):
    out = h.ok("2401", {"mdtrtinfo": {"psn_no": PSN, "insutype": "310", "begntime": "2026-03-10 08:00:00",
                                      "mdtrt_cert_type": "02", "mdtrt_cert_no": "440301199001011234",
                                      "med_type": "21", "ipt_no": ipt_no, "adm_dept_codg": "W1"},
                        "diseinfo": []})
    return out["result"]["mdtrt_id"]


def line(sn, mdtrt_id, code, pric, cnt, init=""):
    amount = (D(pric) * D(cnt)).quantize(D("0.01"))
    return {"feedetl_sn": sn, "init_feedetl_sn": init, "mdtrt_id": mdtrt_id, "psn_no": PSN,
            "fee_ocur_time": "2026-03-11 09:00:00", "med_list_codg": code, "medins_list_codg": "H-" + code,
            "det_item_fee_sumamt": str(amount), "cnt": cnt, "pric": pric}


def settle_data(mdtrt_id, total, inscp, fulamt="0.00", over="0.00", pre="0.00", mid="0"):
    return {"data": {"psn_no": PSN, "mdtrt_cert_type": "02", "medfee_sumamt": total, "mdtrt_id": mdtrt_id,
                     "insutype": "310", "acct_used_flag": "1", "mid_setl_flag": mid, "fulamt_ownpay_amt": fulamt,
                     "overlmt_selfpay": over, "preselfpay_amt": pre, "inscp_scp_amt": inscp}}


def test_a_stay_from_admission_to_cancellation(hospital_world):
    p = hospital_world
    h = p.client()
    mdtrt_id = admit(h)
    up = h.ok("2301", {"feedetail": [line("L1", mdtrt_id, "EX-DRUG-A", "10.00", "200"),
                                     line("L2", mdtrt_id, "EX-ITEM-C", "50.00", "2"),
                                     line("L3", mdtrt_id, "EX-DRUG-A", "10.00", "-20", init="L1")]})
    assert [(r["feedetl_sn"], r["det_item_fee_sumamt"], r["inscp_scp_amt"], r["fulamt_ownpay_amt"])
            for r in up["result"]] == [("L1", D("2000.00"), D("2000.00"), D("0.00")),
                                       ("L2", D("100.00"), D("0.00"), D("100.00")),
                                       ("L3", D("-200.00"), D("-200.00"), D("0.00"))]
    with pytest.raises(PlatformError, match="not discharged"):
        h.ok("2304", settle_data(mdtrt_id, "1900.00", "1800.00", fulamt="100.00"))
    h.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": PSN, "endtime": "2026-03-15 10:00:00",
                               "dscg_way": "1"}, "diseinfo": []})
    out = h.ok("2304A", settle_data(mdtrt_id, "1900.00", "1800.00", fulamt="100.00"))
    s = out["setlinfo"]
    # inpatient: deductible 300, ratio 0.90 -> hifp 1350.00; personal 550.00; scope policy: 550 - 100 = 450
    assert (s["act_pay_dedc"], s["hifp_pay"], s["psn_part_amt"], s["acct_pay"], s["psn_cash_pay"], s["balc"]) == (
        D("300.00"), D("1350.00"), D("550.00"), D("450.00"), D("100.00"), D("50.00"))
    assert s["clr_type"] == "21" and out["setldetail"][0]["fund_pay_type"] == "310100"
    with pytest.raises(PlatformError, match="already settled"):
        h.ok("2304", settle_data(mdtrt_id, "1900.00", "1800.00", fulamt="100.00"))
    with pytest.raises(PlatformError, match="settled"):
        h.ok("2405", {"data": {"mdtrt_id": mdtrt_id, "psn_no": PSN}})
    h.ok("2305", {"data": {"mdtrt_id": mdtrt_id, "setl_id": s["setl_id"], "psn_no": PSN}})
    assert balance(p) == D("500.00")
    with p.store.unit_of_work() as session:
        acc = session.get(Accumulator, (PSN, 2026, "inpatient"))
        assert (acc.deductible_used, acc.fund_paid) == (D("0.00"), D("0.00"))
    h.ok("2405", {"data": {"mdtrt_id": mdtrt_id, "psn_no": PSN}})  # back in hospital
    h.ok("2404", {"data": {"mdtrt_id": mdtrt_id, "psn_no": PSN}})  # and the admission undone
    with pytest.raises(PlatformError, match="cancelled"):
        h.ok("2301", {"feedetail": [line("L9", mdtrt_id, "EX-DRUG-A", "10.00", "1")]})


def test_interim_settlement_then_final(hospital_world):
    h = hospital_world.client()
    mdtrt_id = admit(h)
    h.ok("2301", {"feedetail": [line("L1", mdtrt_id, "EX-DRUG-A", "10.00", "50")]})
    first = h.ok("2304", settle_data(mdtrt_id, "500.00", "500.00", mid="1"))["setlinfo"]
    assert first["act_pay_dedc"] == D("300.00") and first["hifp_pay"] == D("180.00")
    h.ok("2301", {"feedetail": [line("L2", mdtrt_id, "EX-DRUG-A", "10.00", "100")]})
    h.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": PSN, "endtime": "2026-03-15 10:00:00",
                               "dscg_way": "1"}})
    final = h.ok("2304", settle_data(mdtrt_id, "1000.00", "1000.00"))["setlinfo"]
    # the deductible was met by the interim settlement: the rest is pooled at 0.90
    assert final["act_pay_dedc"] == D("0.00") and final["hifp_pay"] == D("900.00")


def test_returns_cannot_exceed_what_was_charged(hospital_world):
    h = hospital_world.client()
    mdtrt_id = admit(h)
    h.ok("2301", {"feedetail": [line("L1", mdtrt_id, "EX-DRUG-A", "10.00", "5")]})
    with pytest.raises(PlatformError, match=r"input.feedetail\[0\].cnt: returns 6 of L1 exceed the 5 charged"):
        h.ok("2301", {"feedetail": [line("R1", mdtrt_id, "EX-DRUG-A", "10.00", "-6", init="L1")]})
    with pytest.raises(PlatformError, match="init_feedetl_sn: is required"):
        h.ok("2301", {"feedetail": [line("R2", mdtrt_id, "EX-DRUG-A", "10.00", "-1")]})
    with pytest.raises(PlatformError, match="already uploaded"):
        h.ok("2301", {"feedetail": [line("L1", mdtrt_id, "EX-DRUG-A", "10.00", "1")]})
    h.ok("2301", {"feedetail": [line("R3", mdtrt_id, "EX-DRUG-A", "10.00", "-2", init="L1")]})
    with pytest.raises(PlatformError, match="refer to it"):
        h.ok("2302", {"data": {"feedetl_sn": "L1", "mdtrt_id": mdtrt_id, "psn_no": PSN}})
    h.ok("2302", {"data": {"feedetl_sn": "0000", "mdtrt_id": mdtrt_id, "psn_no": PSN}})
    with pytest.raises(PlatformError, match="no unsettled fee lines"):
        h.ok("2303", {"data": {"psn_no": PSN, "mdtrt_cert_type": "02", "medfee_sumamt": "0", "mdtrt_id": mdtrt_id,
                               "insutype": "310", "mid_setl_flag": "1"}})


def test_one_open_admission_per_person_and_unique_ipt_no(hospital_world):
    h = hospital_world.client()
    admit(h, "IPT-1")
    with pytest.raises(PlatformError, match="already admitted"):
        admit(h, "IPT-2")


# -- 2601 reversal ------------------------------------------------------------------------------------

def test_reversal_of_a_settlement_whose_answer_was_lost(hospital_world):
    p = hospital_world
    ph = p.client("P44030000001")
    env = ph.envelope("2102", {"druginfo": druginfo(), "drugdetail": DRUGS}, sign_no=ph.sign_no())
    lost = ph.send(env)  # the pharmacy never saw this answer
    assert lost["infcode"] == 0 and balance(p) == D("320.00")
    ref = {"data": {"psn_no": PSN, "omsgid": env["msgid"], "oinfno": "2102"}}
    assert ph.ok("2601", ref)["data"]["rvs_rslt"] == "reversed"
    assert balance(p) == D("500.00")
    assert ph.ok("2601", ref)["data"]["rvs_rslt"] == "already reversed"  # idempotent
    assert balance(p) == D("500.00")
    with pytest.raises(PlatformError, match="was a 2102, not 2207"):
        ph.ok("2601", {"data": {"psn_no": PSN, "omsgid": env["msgid"], "oinfno": "2207"}})


def test_reversal_of_a_message_that_never_arrived_fences_it_off(hospital_world):
    p = hospital_world
    ph = p.client("P44030000001")
    env = ph.envelope("2102", {"druginfo": druginfo(), "drugdetail": DRUGS}, sign_no=ph.sign_no())
    out = ph.ok("2601", {"data": {"psn_no": PSN, "omsgid": env["msgid"], "oinfno": "2102"}})
    assert "nothing to reverse" in out["data"]["rvs_rslt"]
    late = ph.send(env)  # the original finally arrives
    assert late["infcode"] == -1 and late["err_msg"].startswith("msgid:")
    assert balance(p) == D("500.00")


def test_reversal_of_a_registration(hospital_world):
    h = hospital_world.client()
    env = h.envelope("2401", {"mdtrtinfo": {"psn_no": PSN, "insutype": "310", "begntime": "2026-03-10 08:00:00",
                                            "mdtrt_cert_type": "02", "med_type": "21", "ipt_no": "IPT-R"}},
                     sign_no=h.sign_no())
    mdtrt_id = h.send(env)["output"]["result"]["mdtrt_id"]
    out = h.ok("2601", {"data": {"psn_no": PSN, "omsgid": env["msgid"], "oinfno": "2401"}})
    assert out["data"] == {"omsgid": env["msgid"], "oinfno": "2401", "mdtrt_id": mdtrt_id, "rvs_rslt": "reversed"}
    admit(h, "IPT-R")  # the hospital number is free again
