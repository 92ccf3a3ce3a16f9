"""Bounds on wire fields through the wire, on SQLite and PostgreSQL: dates outside 1900-2999, a page number whose
offset no database column holds, a catalog version beyond a 64-bit integer. Each is refused naming its field,
never answered with the platform's internal error (gateway/fields.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from helpers import WORLD

from yibao.client import PlatformError
from yibao.dataset.loader import load_document

PSN = "44030000000000000001"
PAGE = {"updt_time": "2000-01-01", "page_num": 1, "page_size": 10}


def refused(client, infno: str, input_: dict) -> str:
    with pytest.raises(PlatformError) as err:
        client.ok(infno, input_)
    return err.value.err_msg


def world_doc() -> dict:
    """The test world with a per-period quantity rule (whose window reaches back from the order's day)."""
    doc = copy.deepcopy(yaml.safe_load(WORLD.read_text(encoding="utf-8")))
    doc["regions"][0]["analysis_rules"] = [
        {"rule_id": "R-PER", "kind": "qty_per_period", "severity": "2", "message": "周期限量",
         "params": {"codes": ["EX-DRUG-A"], "max_qty": "5", "days": 30}}]
    return doc


@pytest.fixture
def his(platform):
    load_document(platform.store, world_doc())
    client = platform.client()
    client.sign_no()
    return client


def mapping_row(begn: str, end: str = "") -> dict[str, Any]:
    return {"fixmedins_hilist_id": "H-A", "fixmedins_hilist_name": "院内甲", "list_type": "101",
            "med_list_codg": "EX-DRUG-A", "begndate": begn, "enddate": end}


def request_3101(drord_begn_date: str = "2026-03-16", adm_date: str = "2026-03-16") -> dict[str, Any]:
    order = {"rx_id": "O1", "hilist_code": "EX-DRUG-A", "cnt": "1", "sumamt": "10.00",
             "drord_begn_date": drord_begn_date}
    encounter = {"mdtrt_id": "HIS-1", "adm_date": adm_date, "med_type": "11", "insutype": "310",
                 "fsi_diagnose_dtos": [], "fsi_order_dtos": [order]}
    return {"data": {"trig_scen": "2", "patient_dtos": [{"patn_id": PSN, "gend": "1", "brdy": "1990-01-01",
                                                          "fsi_encounter_dtos": [encounter]}]}}


# -- dates --------------------------------------------------------------------------------------------------------

def test_3301_replacing_a_mapping_from_year_1_is_refused_naming_begndate(his):
    his.ok("3301", {"data": mapping_row("2026-01-01")})
    for day in ("0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"):
        err = refused(his, "3301", {"data": mapping_row(day)})
        assert err == "input.data.begndate: must be a date from 1900-01-01 to 2999-12-31", err
    assert refused(his, "3301", {"data": mapping_row("2026-02-01", "0001-01-01")}).startswith(
        "input.data.enddate: must be a date from 1900-01-01")
    # the edges are days like any other
    assert his.ok("3301", {"data": mapping_row("1900-01-01", "2999-12-31")})["result"][0]["replaced_rid"]


def test_3101_dates_of_year_1_are_refused_naming_the_field(his):
    assert his.ok("3101", request_3101())["result"] == []
    err = refused(his, "3101", request_3101(drord_begn_date="0001-01-01"))
    assert err.startswith("input.data.patient_dtos[0].fsi_encounter_dtos[0].fsi_order_dtos[0].drord_begn_date: "
                          "must be a date from 1900-01-01 to 2999-12-31"), err
    err = refused(his, "3101", request_3101(adm_date="0001-01-01 00:00:00"))
    assert "fsi_encounter_dtos[0].adm_date: must be a date from 1900-01-01" in err, err


@pytest.mark.parametrize(("infno", "data", "field"), [
    ("2001", {"psn_no": PSN, "insutype": "310", "med_type": "11", "begntime": "0001-01-01 00:00:00"}, "begntime"),
    ("2001", {"psn_no": PSN, "insutype": "310", "med_type": "11", "begntime": "2026-03-16 09:00:00",
              "endtime": "9999-12-31 23:59:59"}, "endtime"),
    ("5201", {"psn_no": PSN, "begntime": "0001-01-01", "endtime": "2026-12-31", "med_type": "11"}, "begntime"),
    ("5303", {"psn_no": PSN, "begntime": "2026-01-01", "endtime": "9999-12-31"}, "endtime"),
    ("1317", {**PAGE, "begndate": "0001-01-01"}, "begndate"),
    ("1312", {**PAGE, "query_date": "0001-01-01"}, "query_date"),
    ("1316", {**PAGE, "updt_time": "0001-01-01 00:00:00"}, "updt_time"),
    ("1901", {"type": "gend", "date": "9999-12-31"}, "date"),
])
def test_times_outside_the_years_are_refused_naming_the_field(his, infno, data, field):
    err = refused(his, infno, {"data": data})
    assert err.startswith(f"input.data.{field}: must be "), err
    assert "from 1900-01-01" in err, err


def selfpay_fee(fee_ocur_time: str = "2026-03-16 10:00:00") -> dict[str, Any]:
    return {"fixmedins_mdtrt_id": "ZY1", "fixmedins_code": "H44030000001", "fixmedins_name": "深圳示例医院",
            "med_type": "21", "bkkp_sn": "1", "fee_ocur_time": fee_ocur_time, "med_list_codg": "EX-DRUG-A",
            "medins_list_codg": "H-A", "det_item_fee_sumamt": "10.00", "cnt": "1", "pric": "10.00"}


def test_4201a_fee_time_of_year_1_is_refused_naming_the_field(his):
    err = refused(his, "4201A", {"fsiOwnpayPatnFeeListDDTO": [selfpay_fee("0001-01-01 00:00:00")]})
    assert "fee_ocur_time: must be a time from 1900-01-01" in err, err


# -- page numbers -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("infno", ["1312", "1316", "1317", "1318", "1319"])
def test_a_page_number_beyond_a_million_is_refused(his, infno):
    for huge in (10**30, "99999999999999999999999", 1_000_001):
        err = refused(his, infno, {"data": {**PAGE, "page_num": huge}})
        assert err.startswith("input.data.page_num: must be ") and "1000000" in err, err
    out = his.ok(infno, {"data": {**PAGE, "page_num": 1_000_000}})
    assert (out["pageNum"], out["data"]) == (1_000_000, [])


@pytest.mark.parametrize("infno", ["4207", "4208", "4209"])
def test_a_selfpay_page_number_beyond_a_million_is_refused(his, infno):
    his.ok("4201A", {"fsiOwnpayPatnFeeListDDTO": [selfpay_fee()]})
    his.ok("4202", {"ownPayPatnMdtrtD": {"fixmedins_mdtrt_id": "ZY1", "fixmedins_code": "H44030000001",
                                         "psn_cert_type": "01", "certno": "440301199001011234", "psn_name": "王五",
                                         "begntime": "2026-03-16 08:00:00", "med_type": "21"},
                    "ownPayPatnDiagListD": [{"inout_diag_type": "1", "diag_type": "1", "maindiag_flag": "1",
                                             "diag_srt_no": "1", "diag_code": "I10.x00", "diag_name": "高血压"}]})
    err = refused(his, infno, {"fixmedins_mdtrt_id": "ZY1", "page_num": 10**30})
    assert err.startswith("input.page_num: must be ") and "1000000" in err, err
    assert his.ok(infno, {"fixmedins_mdtrt_id": "ZY1", "page_num": 1_000_000})["data"] == []


# -- catalog versions ---------------------------------------------------------------------------------------------

def test_a_catalog_version_beyond_64_bits_is_refused_naming_ver(his):
    for ver in ("99999999999999999999", 2**63, str(2**63), 10**30):
        err = refused(his, "1301", {"data": {"ver": ver}})
        assert err.startswith("input.data.ver: must be the highest version held"), err
        assert str(2**63 - 1) in err, err
    assert his.ok("1301", {"data": {"ver": str(2**63 - 1)}})["data_cnt"] == 0
    assert his.ok("1301", {"data": {"ver": 2**63 - 1}})["data_cnt"] == 0
