"""The pharmacy and inpatient world of test_pharmacy_inpatient.py and test_prescriptions.py: tests/data/world.yaml
given inpatient and pharmacy policies and a pharmacy (the `hospital_world` fixture of conftest.py), and a purchase."""

from __future__ import annotations

from typing import Any

import yaml
from helpers import WORLD

PSN = "44030000000000000001"  # employee, 440300, balance 500.00, 20.00 of the outpatient deductible used
PHARMACY, PHARMACY_SECRET = "P44030000001", "test-secret-ph"


def pharmacy_inpatient_doc() -> dict[str, Any]:
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    sz = doc["regions"][0]
    sz["policies"] += [
        {"insutype": "310", "med_types": ["21"], "bucket": "inpatient", "deductible": "300.00", "ratio": "0.90",
         "annual_cap": "200000.00", "acct_scope": "policy"},
        {"insutype": "310", "med_types": ["41"], "bucket": "pharmacy", "deductible": "0.00", "ratio": "0",
         "annual_cap": "0.00", "acct_scope": "all"},
    ]
    sz["catalog"].append({"code": "EX-ITEM-C", "name": "项目丙", "chrgitm_lv": "03", "selfpay_prop": "1",
                          "med_chrgitm_type": "14"})
    doc["institutions"].append({"code": PHARMACY, "name": "深圳示例药房", "admdvs": "440300",
                                "kind": "pharmacy", "xregion": "provincial", "secret": PHARMACY_SECRET})
    return doc


DRUGS = [{"feedetl_sn": "D1", "rxno": "", "rx_circ_flag": "0", "fee_ocur_time": "2026-03-16 10:00:00",
          "med_list_codg": "EX-DRUG-A", "medins_list_codg": "P-A", "det_item_fee_sumamt": "60.00", "cnt": "3",
          "pric": "20.00"},
         {"feedetl_sn": "D2", "fee_ocur_time": "2026-03-16 10:00:00", "med_list_codg": "EX-DRUG-B",
          "medins_list_codg": "P-B", "det_item_fee_sumamt": "120.00", "cnt": "1", "pric": "120.00"}]


def druginfo(total: str = "180.00", **over: Any) -> dict[str, Any]:
    return {"psn_no": PSN, "mdtrt_cert_type": "02", "mdtrt_cert_no": "440301199001011234",
            "begntime": "2026-03-16 10:00:00", "medfee_sumamt": total, "insutype": "310", "acct_used_flag": "1",
            "med_type": "41", **over}
