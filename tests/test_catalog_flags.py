"""Catalog flags in 2204 result[], and restricted items (lmt_used_flag) under hospital approval."""

from __future__ import annotations

from decimal import Decimal

import yaml
from helpers import WORLD, Platform

from yibao.dataset.loader import load_document

PSN = "44030000000000000001"


def test_restricted_item_is_reimbursable_only_with_approval(store):
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    doc["regions"][0]["catalog"].append({"code": "EX-RESTRICTED", "name": "限制药", "chrgitm_lv": "01",
                                         "selfpay_prop": "0", "med_chrgitm_type": "09", "lmt_used_flag": "1",
                                         "hi_nego_drug_flag": "1"})
    load_document(store, doc)
    h = Platform(store).client()
    reg = h.ok("2201", {"data": {"psn_no": PSN, "insutype": "310", "begntime": "2026-03-16 09:00:00",
                                 "mdtrt_cert_type": "02", "ipt_otp_no": "OTP-F"}})
    mdtrt_id = reg["data"]["mdtrt_id"]

    def line(sn, code, flag):
        return {"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": PSN, "chrg_bchno": "B1",
                "fee_ocur_time": "2026-03-16 09:30:00", "med_list_codg": code, "det_item_fee_sumamt": "40.00",
                "cnt": "1", "pric": "40.00", "hosp_appr_flag": flag}

    out = h.ok("2204", {"feedetail": [line("1", "EX-RESTRICTED", "0"), line("2", "EX-RESTRICTED", "1"),
                                      line("3", "EX-DRUG-A", "2"), line("4", "EX-DRUG-A", "0")]})
    rows = {r["feedetl_sn"]: r for r in out["result"]}
    assert rows["1"]["fulamt_ownpay_amt"] == Decimal("40.00") and "not approved" in rows["1"]["memo"]
    assert rows["2"]["inscp_scp_amt"] == Decimal("40.00")
    assert rows["3"]["fulamt_ownpay_amt"] == Decimal("40.00")  # approval refused
    assert rows["4"]["inscp_scp_amt"] == Decimal("40.00")
    assert (rows["2"]["lmt_used_flag"], rows["2"]["hi_nego_drug_flag"], rows["2"]["bas_medn_flag"]) == ("1", "1", "0")
    assert rows["4"]["lmt_used_flag"] == "0"
