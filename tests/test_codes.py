"""Coded fields are checked against their dictionaries (interface.md 4): a code that is not one is refused with
infcode -1 naming the field and the allowed codes, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import snapshot

from yibao.codes import DICTIONARIES

EMPLOYEE, CERTNO = "44030000000000000001", "440301199001011234"


def _prepared_visit(platform: Any) -> dict[str, Any]:
    """A registered visit with one uploaded line; the `data` of the 2207 that would settle it."""
    his = platform.client()
    mdtrt_id = his.ok("2201", {"data": {"psn_no": EMPLOYEE, "insutype": "310", "begntime": "2026-03-16 09:00:00",
                                        "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
                                        "ipt_otp_no": "OTP-CODES"}})["data"]["mdtrt_id"]
    his.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": EMPLOYEE, "med_type": "11",
                                  "begntime": "2026-03-16 09:00:00"}})
    his.ok("2204", {"feedetail": [{"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": EMPLOYEE, "chrg_bchno": "B1",
                                   "fee_ocur_time": "2026-03-16 09:30:00", "med_list_codg": "EX-DRUG-A",
                                   "det_item_fee_sumamt": "100.00", "cnt": "2", "pric": "50.00"}]})
    return {"psn_no": EMPLOYEE, "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO, "med_type": "11",
            "medfee_sumamt": "100.00", "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1",
            "acct_used_flag": "1", "insutype": "310", "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00",
            "preselfpay_amt": "0.00", "inscp_scp_amt": "100.00"}


@pytest.mark.parametrize(("field", "value"), [
    ("mdtrt_cert_type", "1e308"), ("mdtrt_cert_type", 1e308), ("mdtrt_cert_type", "04"),  # float-ok: bad input
    ("med_type", "99"), ("insutype", "311"), ("psn_setlway", "03"), ("acct_used_flag", "2"),
])
def test_2207_with_a_code_outside_its_dictionary_settles_nothing(platform: Any, field: str, value: Any) -> None:
    data = _prepared_visit(platform)
    before = snapshot(platform.store)
    answer = platform.client().call("2207", {"data": {**data, field: value}})
    assert answer["infcode"] == -1
    assert answer["err_msg"].startswith(f"input.data.{field}:"), answer["err_msg"]
    if field in DICTIONARIES:
        assert "01" in answer["err_msg"] or "11" in answer["err_msg"]  # the allowed codes are listed
    assert snapshot(platform.store) == before
    assert platform.client().call("2207", {"data": data})["infcode"] == 0  # the right codes still settle


def test_1101_refuses_an_unknown_psn_cert_type(platform: Any) -> None:
    answer = platform.client().call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
                                                      "psn_cert_type": "ZZ", "certno": CERTNO}})
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("input.data.psn_cert_type:")
    assert "'ZZ' is not a code of psn_cert_type" in answer["err_msg"] and "17" in answer["err_msg"]
    ok = platform.client().call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO,
                                                  "psn_cert_type": "01", "certno": CERTNO}})
    assert ok["infcode"] == 0, ok["err_msg"]


def test_a_code_sent_as_a_number_is_refused_as_not_a_string(platform: Any) -> None:
    answer = platform.client().call("2201", {"data": {"psn_no": EMPLOYEE, "insutype": 310,
                                                      "begntime": "2026-03-16 09:00:00", "mdtrt_cert_type": "02",
                                                      "ipt_otp_no": "OTP-NUM"}})
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("input.data.insutype:")
    assert "as a string" in answer["err_msg"]
