"""The registry of cross-region agreements (seed 004 art. 21): a suspended or ended agreement stops
cross-region settlement from its effective date; local cases go on."""

from __future__ import annotations

import pytest
import yaml
from helpers import WORLD, Platform

from yibao.api.tokens import issue, signing_key
from yibao.dataset.loader import load_document

GZ_PSN = "44010000000000000001"  # insured in Guangzhou, treated at the Shenzhen national hospital
SZ_PSN = "44030000000000000001"


@pytest.fixture
def reg(store, monkeypatch):
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    doc["regions"][1]["policies"].append({"insutype": "310", "med_types": ["11"], "bucket": "outpatient",
                                          "deductible": "0.00", "ratio": "0.70", "annual_cap": "3000.00",
                                          "acct_scope": "all", "hosp_lv": ["3"]})
    load_document(store, doc)
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-16")
    p = Platform(store)
    p.agency = {"Authorization": "Bearer " + issue(signing_key(store), "agency", "440300")}
    return p


def settle(p, psn_no, insuplc, tag):
    h = p.client()
    reg = h.ok("2201", {"data": {"psn_no": psn_no, "insutype": "310", "begntime": "2026-03-16 09:00:00",
                                 "mdtrt_cert_type": "02", "ipt_otp_no": tag}}, insuplc)
    mdtrt_id = reg["data"]["mdtrt_id"]
    h.ok("2204", {"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": tag,
                                 "fee_ocur_time": "2026-03-16 09:10:00", "med_list_codg": "EX-DRUG-A",
                                 "det_item_fee_sumamt": "10.00", "cnt": "1", "pric": "10.00"}]}, insuplc)
    return h.call("2207", {"data": {"psn_no": psn_no, "mdtrt_cert_type": "02", "med_type": "11",
                                    "medfee_sumamt": "10.00", "mdtrt_id": mdtrt_id, "chrg_bchno": tag,
                                    "acct_used_flag": "0", "insutype": "310", "fulamt_ownpay_amt": "0.00",
                                    "overlmt_selfpay": "0.00", "preselfpay_amt": "0.00", "inscp_scp_amt": "10.00"}},
                  insuplc)


def test_a_suspended_agreement_stops_cross_region_settlement_from_its_date(reg):
    assert settle(reg, GZ_PSN, "440100", "R1")["infcode"] == 0
    r = reg.http.post("/api/v1/agency/institutions/H44030000001/agreement", headers=reg.agency,
                      json={"change": "suspended", "effective": "2026-03-16", "memo": "协议中止"})
    assert r.status_code == 201 and r.json()["change"] == "suspended"
    out = settle(reg, GZ_PSN, "440100", "R2")
    assert out["infcode"] == -1 and "agreement is suspended since 2026-03-16" in out["err_msg"]
    assert settle(reg, SZ_PSN, "", "R3")["infcode"] == 0  # local business goes on
    listed = {row["fixmedins_code"]: row for row in reg.http.get("/api/v1/registry/institutions").json()}
    assert listed["H44030000001"]["open"] is False
    assert listed["H44030000001"]["changes"][0]["memo"] == "协议中止"
    assert reg.http.get("/api/v1/registry/institutions?on=2026-03-15").json()[0]["open"] is True


def test_resumed_agreement_settles_again_and_a_future_change_waits_for_its_day(reg):
    for change, day in (("suspended", "2026-03-01"), ("resumed", "2026-03-10"), ("ended", "2026-04-01")):
        assert reg.http.post("/api/v1/agency/institutions/H44030000001/agreement", headers=reg.agency,
                             json={"change": change, "effective": day}).status_code == 201
    assert settle(reg, GZ_PSN, "440100", "R4")["infcode"] == 0


def test_only_the_institutions_region_reports_and_only_qualified_institutions_open(reg):
    other = {"Authorization": "Bearer " + issue(signing_key(reg.store), "agency", "440100")}
    assert reg.http.post("/api/v1/agency/institutions/H44030000001/agreement", headers=other,
                         json={"change": "ended", "effective": "2026-03-01"}).status_code == 404
    person = {"Authorization": "Bearer " + issue(signing_key(reg.store), "person", SZ_PSN)}
    assert reg.http.post("/api/v1/agency/institutions/H44030000001/agreement", headers=person,
                         json={"change": "ended", "effective": "2026-03-01"}).status_code == 403
