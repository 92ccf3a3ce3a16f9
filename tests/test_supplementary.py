"""Supplementary bookkeeping (补记账, seed 004 art. 16): a settlement made later, under the visit day's rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from helpers import WORLD, Platform
from sqlalchemy import select

from yibao.client import PlatformError
from yibao.dataset.loader import load_document
from yibao.store.models import Settlement

PSN = "44030000000000000001"


@pytest.fixture
def late_world(store, monkeypatch):
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    sz = doc["regions"][0]
    sz["settings"] = {"supplementary_bookkeeping_days": 30}
    # the outpatient ratio changed on 2026-03-01: a February visit keeps February's 0.50
    sz["policies"][0]["from"] = "2026-03-01"
    sz["policies"].append({"insutype": "310", "med_types": ["11"], "bucket": "outpatient", "deductible": "100.00",
                           "ratio": "0.50", "annual_cap": "5000.00", "acct_scope": "all", "from": "2026-01-01",
                           "to": "2026-02-28"})
    load_document(store, doc)
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-16")
    return Platform(store)


def visit(h, begntime: str, tag: str):
    reg = h.ok("2201", {"data": {"psn_no": PSN, "insutype": "310", "begntime": begntime, "mdtrt_cert_type": "02",
                                 "ipt_otp_no": tag}})
    mdtrt_id = reg["data"]["mdtrt_id"]
    h.ok("2204", {"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": PSN, "chrg_bchno": tag,
                                 "fee_ocur_time": begntime, "med_list_codg": "EX-DRUG-A",
                                 "det_item_fee_sumamt": "300.00", "cnt": "3", "pric": "100.00"}]})
    return {"data": {"psn_no": PSN, "mdtrt_cert_type": "02", "med_type": "11", "medfee_sumamt": "300.00",
                     "mdtrt_id": mdtrt_id, "chrg_bchno": tag, "acct_used_flag": "0", "insutype": "310",
                     "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00", "preselfpay_amt": "0.00",
                     "inscp_scp_amt": "300.00"}}


def test_a_late_settlement_uses_the_visit_days_policy_and_is_marked(late_world):
    h = late_world.client()
    data = visit(h, "2026-02-20 09:00:00", "S1")
    data["data"]["suppl_flag"] = "1"
    out = h.ok("2207", data)["setlinfo"]
    # 20.00 of the deductible is used: 80.00 more, then February's 0.50 of 220.00
    assert (out["act_pay_dedc"], out["hifp_pay"], out["pool_prop_selfpay"]) == (
        Decimal("80.00"), Decimal("110.00"), Decimal("0.5000"))
    with late_world.store.unit_of_work() as s:
        row = s.get(Settlement, out["setl_id"])
        assert row.suppl_flag == "1"


def test_without_the_flag_todays_policy_applies(late_world):
    h = late_world.client()
    out = h.ok("2207", visit(h, "2026-02-20 09:00:00", "S2"))["setlinfo"]
    assert out["hifp_pay"] == Decimal("132.00")  # 0.60 of 220.00
    with late_world.store.unit_of_work() as s:
        assert [r.suppl_flag for r in s.scalars(select(Settlement))] == ["0"]


def test_too_late_for_supplementary_bookkeeping(late_world):
    h = late_world.client()
    data = visit(h, "2026-02-01 09:00:00", "S3")
    data["data"]["suppl_flag"] = "1"
    with pytest.raises(PlatformError, match=r"input.data.suppl_flag: the visit of 2026-02-01 is 43 days ago; .* "
                                            r"within 30 days"):
        h.ok("2207", data)


def test_a_region_without_the_setting_refuses_it(store):
    load_document(store, yaml.safe_load(WORLD.read_text(encoding="utf-8")))
    h = Platform(store).client()
    data = visit(h, "2026-03-10 09:00:00", "S4")
    data["data"]["suppl_flag"] = "1"
    with pytest.raises(PlatformError, match="has no supplementary bookkeeping"):
        h.ok("2207", data)
