"""External prescriptions (外配处方, seed 004 art. 20): the hospital uploads, a pharmacy fills, never more."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pharmacy_world import PSN, druginfo

from yibao.client import PlatformError


def prescribe(h, rxno: str, cnt: str = "3"):
    reg = h.ok("2201", {"data": {"psn_no": PSN, "insutype": "310", "begntime": "2026-03-16 09:00:00",
                                 "mdtrt_cert_type": "02", "ipt_otp_no": "OTP-" + rxno}})
    mdtrt_id = reg["data"]["mdtrt_id"]
    line = {"feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": PSN, "chrg_bchno": "B1", "rxno": rxno,
            "rx_circ_flag": "1", "fee_ocur_time": "2026-03-16 09:30:00", "med_list_codg": "EX-DRUG-A",
            "det_item_fee_sumamt": str(Decimal("20.00") * Decimal(cnt)), "cnt": cnt, "pric": "20.00"}
    h.ok("2204", {"feedetail": [line]})
    return mdtrt_id


def fill(rxno: str, cnt: str, sn: str = "D1"):
    amount = str(Decimal("20.00") * Decimal(cnt))
    return {"druginfo": druginfo(amount), "drugdetail": [
        {"feedetl_sn": sn, "rxno": rxno, "rx_circ_flag": "1", "fee_ocur_time": "2026-03-16 11:00:00",
         "med_list_codg": "EX-DRUG-A", "det_item_fee_sumamt": amount, "cnt": cnt, "pric": "20.00"}]}


def test_a_pharmacy_fills_an_uploaded_prescription_and_no_more(hospital_world):  # noqa: F811
    p = hospital_world
    h, ph = p.client(), p.client("P44030000001")
    mdtrt_id = prescribe(h, "RX001", "3")
    with pytest.raises(PlatformError, match="no unsettled fee lines"):  # the hospital does not charge it
        h.ok("2207", {"data": {"psn_no": PSN, "mdtrt_cert_type": "02", "med_type": "11", "medfee_sumamt": "60.00",
                               "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "acct_used_flag": "0", "insutype": "310",
                               "fulamt_ownpay_amt": "0", "overlmt_selfpay": "0", "preselfpay_amt": "0",
                               "inscp_scp_amt": "60.00"}})
    first = ph.ok("2102", fill("RX001", "2"))["setlinfo"]
    assert first["medfee_sumamt"] == Decimal("40.00")
    with pytest.raises(PlatformError, match=r"input.drugdetail\[0\].cnt: prescription RX001 has 1 of EX-DRUG-A "
                                            r"left to dispense \(3 prescribed, 2 already dispensed\)"):
        ph.ok("2102", fill("RX001", "2", "D2"))
    ph.ok("2102", fill("RX001", "1", "D3"))
    # a cancelled purchase gives its quantity back
    ph.ok("2103", {"data": {"setl_id": first["setl_id"], "mdtrt_id": first["mdtrt_id"], "psn_no": PSN}})
    ph.ok("2102", fill("RX001", "2", "D4"))


def test_an_unknown_prescription_is_refused(hospital_world):  # noqa: F811
    ph = hospital_world.client("P44030000001")
    with pytest.raises(PlatformError, match=r"input.drugdetail\[0\].rxno: no hospital uploaded prescription RX404"):
        ph.ok("2102", fill("RX404", "1"))
    bad = fill("", "1")
    with pytest.raises(PlatformError, match="rxno: is required with rx_circ_flag 1"):
        ph.ok("2102", bad)
