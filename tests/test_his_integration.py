"""A HIS integration built against yibao from nothing, through the wire, in the order a vendor goes:

download the dictionaries (1901) and the drug catalog (1301 → 9102), upload the mapping of the hospital's own
codes (3301) and read it back (1317), look the patient up (1101) and check his entitlement (2001), register the
visit (2201, 2203), ask the pre-event analysis about the prescription (3101) and answer it (3103), upload the
fee lines (2204: a line of an unmapped code is refused, as the region's mapping_check says), pre-settle and
settle (2206, 2207) and upload the settlement list (4101A).

The world is tests/data/world.yaml: 张三 (44030000000000000001, employee of 440300, 500.00 in his account, 80.00
of his deductible left, ratio 0.60), so 2 x EX-DRUG-A at 50.00 settle as fund 12.00, account 88.00, cash 0.00
(rules.md worked example A). The region refuses unmapped lines and limits EX-DRUG-A to 2 a visit (rule R-QTY).
"""

from __future__ import annotations

import base64
import io
import zipfile
from decimal import Decimal
from typing import Any

import pytest
import yaml
from helpers import WORLD

from yibao.client import PlatformError
from yibao.dataset.loader import load_document
from yibao.rules import catalog_file

D = Decimal
SZ = "44030000000000000001"
CERTNO = "440301199001011234"
HOSPITAL, AREA = "H44030000001", "440300"
DAY = "2026-03-16"
CERT = {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO}


def integration_world() -> dict[str, Any]:
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    sz = next(r for r in doc["regions"] if r["admdvs"] == AREA)
    sz.setdefault("settings", {})["mapping_check"] = "refuse"
    sz["analysis_rules"] = [{"rule_id": "R-QTY", "kind": "qty_per_visit", "severity": "2",
                             "message": "药品甲单次就诊限2", "params": {"codes": ["EX-DRUG-A"], "max_qty": "2"}}]
    return doc


@pytest.fixture
def his(platform: Any) -> Any:
    load_document(platform.store, integration_world())
    return platform.client()


def catalog_file_rows(his: Any, infno: str) -> list[list[str]]:
    out = his.ok(infno, {"data": {"ver": "0"}})
    got = his.ok("9102", {"fsDownloadIn": {"file_qury_no": out["file_qury_no"], "filename": out["filename"],
                                           "fixmedins_code": "plc"}})
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(got["file"]))) as z:
        (name,) = z.namelist()
        rows = [line.split("\t") for line in z.read(name).decode("utf-8").splitlines()]
    assert out["data_cnt"] == len(rows)
    return rows


def analysis(cnt: str) -> dict[str, Any]:
    """3101 for the prescription the doctor wrote: EX-DRUG-A (hospital code YP0001) x cnt at 50.00."""
    order = {"rx_id": "RX1-1", "rxno": "RX1", "grpno": "", "long_drord_flag": "0", "hilist_type": "101",
             "chrg_type": "09", "drord_bhvr": "0", "hilist_code": "EX-DRUG-A", "hilist_name": "药品甲",
             "hilist_lv": "01", "hilist_pric": "50", "hosplist_code": "YP0001", "hosplist_name": "药品甲(院内)",
             "cnt": cnt, "pric": "50", "sumamt": str(D(cnt) * 50), "ownpay_amt": "0", "selfpay_amt": "0",
             "spec": "", "spec_unt": "", "drord_begn_date": f"{DAY} 09:10:00", "drord_dept_codg": "0101",
             "drord_dept_name": "内科", "drord_dr_codg": "D001", "drord_dr_name": "王医生", "drord_dr_profttl": "",
             "curr_drord_flag": "1"}
    encounter = {"mdtrt_id": "HIS-0001", "medins_id": HOSPITAL, "medins_name": "深圳示例医院", "medins_admdvs": AREA,
                 "medins_type": "1", "medins_lv": "3", "adm_date": DAY, "dscg_date": "",
                 "dscg_main_dise_codg": "J06.900", "dscg_main_dise_name": "上呼吸道感染", "dr_codg": "D001",
                 "adm_dept_codg": "0101", "adm_dept_name": "内科", "dscg_dept_codg": "0101", "dscg_dept_name": "内科",
                 "med_mdtrt_type": "1", "med_type": "11", "matn_stas": "0", "medfee_sumamt": order["sumamt"],
                 "ownpay_amt": "0", "selfpay_amt": "0", "setl_totlnum": "0", "insutype": "310", "reim_flag": "0",
                 "out_setl_flag": "2",
                 "fsi_diagnose_dtos": [{"dise_id": "1", "inout_dise_type": "1", "maindise_flag": "1",
                                        "dise_codg": "J06.900"}],
                 "fsi_order_dtos": [order], "fsi_operation_dtos": []}
    return {"data": {"syscode": "HIS", "task_id": f"T-{cnt}", "trig_scen": "1", "rule_ids": [],
                     "patient_dtos": [{"patn_id": SZ, "patn_name": "张三", "gend": "1", "brdy": "1990-01-01",
                                       "poolarea": AREA, "curr_mdtrt_id": "HIS-0001", "fsi_his_data_dto": "",
                                       "fsi_encounter_dtos": [encounter]}]}}


def fee_line(mdtrt_id: str, medins_code: str, sn: str) -> dict[str, Any]:
    return {"feedetl_sn": sn, "mdtrt_id": mdtrt_id, "psn_no": SZ, "chrg_bchno": "CF0001", "rxno": "RX1",
            "fee_ocur_time": f"{DAY} 09:20:00", "med_list_codg": "EX-DRUG-A", "medins_list_codg": medins_code,
            "det_item_fee_sumamt": "100.00", "cnt": "2", "pric": "50.00", "bilg_dept_codg": "0101",
            "bilg_dept_name": "内科", "bilg_dr_codg": "D001", "bilg_dr_name": "王医生", "hosp_appr_flag": "0"}


def test_a_his_integrates_from_nothing_and_settles_a_visit(his: Any) -> None:
    # 1. dictionaries and catalogs, before any patient
    insutypes = {r["value"]: r["label"] for r in his.ok("1901", {"data": {"type": "insutype"}})["list"]}
    assert insutypes["310"] and insutypes["390"]
    drugs = {row[0]: row for row in catalog_file_rows(his, "1301")}
    columns = catalog_file.FILES["1301"].columns
    assert set(drugs) == {"EX-DRUG-A", "EX-DRUG-B"} and all(len(r) == len(columns) for r in drugs.values())

    # 2. the mapping of the hospital's own code to the national one, read back
    his.ok("3301", {"data": {"fixmedins_hilist_id": "YP0001", "fixmedins_hilist_name": "药品甲(院内)",
                             "list_type": "101", "med_list_codg": "EX-DRUG-A", "begndate": "2026-01-01",
                             "enddate": ""}}, AREA)
    mapped = his.ok("1317", {"data": {"updt_time": "2000-01-01", "page_num": 1, "page_size": 10}})["data"]
    assert [(m["fixmedins_hilist_id"], m["med_list_codg"]) for m in mapped] == [("YP0001", "EX-DRUG-A")]

    # 3. the patient at the desk: lookup and entitlement
    person = his.ok("1101", {"data": CERT})
    assert person["baseinfo"]["psn_no"] == SZ and D(str(person["insuinfo"][0]["balc"])) == D("500.00")
    trt = his.ok("2001", {"data": {"psn_no": SZ, "insutype": "310", "fixmedins_code": HOSPITAL, "med_type": "11",
                                   "begntime": f"{DAY} 09:00:00", "endtime": ""}})["trtinfo"]
    assert trt and all(row["trt_enjymnt_flag"] == "1" for row in trt)

    # 4. the visit
    reg = his.ok("2201", {"data": {"psn_no": SZ, "insutype": "310", "begntime": f"{DAY} 09:00:00", **CERT,
                                   "ipt_otp_no": "MZ0001", "dept_code": "0101", "dept_name": "内科"}}, AREA)
    mdtrt_id = reg["data"]["mdtrt_id"]
    his.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": SZ, "med_type": "11",
                                  "begntime": f"{DAY} 09:00:00", "dise_codg": "J06.900", "dise_name": "上呼吸道感染"}},
           AREA)

    # 5. the pre-event analysis: three units break R-QTY; the doctor amends to two, which pass
    [warning] = his.ok("3101", analysis("3"))["result"]
    assert (warning["rule_id"], warning["sev_deg"], D(str(warning["vola_amt"]))) == ("R-QTY", "2", D("50.00"))
    his.ok("3103", {"data": {"warn_type": "1", "warns": [{"warn_rslt_id": warning["jr_id"], "dspo_way": "2",
                                                          "dspo_way_rea": ""}]}})
    assert his.ok("3101", analysis("2"))["result"] == []

    # 6. fee lines: the unmapped hospital code is refused (nothing written), the mapped one is split
    with pytest.raises(PlatformError) as refused:
        his.ok("2204", {"feedetail": [fee_line(mdtrt_id, "YP9999", "CF0001-0")]}, AREA)
    assert refused.value.err_msg.startswith("input.feedetail[0].medins_list_codg: YP9999 has no mapping")
    [line] = his.ok("2204", {"feedetail": [fee_line(mdtrt_id, "YP0001", "CF0001-1")]}, AREA)["result"]
    assert D(str(line["inscp_scp_amt"])) == D("100.00")

    # 7. pre-settle and settle: rules.md worked example A to the cent
    bill = {"psn_no": SZ, **CERT, "med_type": "11", "medfee_sumamt": "100.00", "psn_setlway": "01",
            "mdtrt_id": mdtrt_id, "chrg_bchno": "CF0001", "insutype": "310", "acct_used_flag": "1",
            "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00", "preselfpay_amt": "0.00",
            "inscp_scp_amt": "100.00"}
    pre = his.ok("2206", {"data": bill}, AREA)["setlinfo"]
    setl = his.ok("2207", {"data": bill}, AREA)["setlinfo"]
    for info in (pre, setl):
        assert (D(str(info["hifp_pay"])), D(str(info["acct_pay"])), D(str(info["psn_cash_pay"]))) == \
            (D("12.00"), D("88.00"), D("0.00"))
    assert D(str(setl["balc"])) == D("412.00")

    # 8. the settlement list
    listed = his.ok("4101A", {
        "setlinfo": {"psn_no": SZ, "mdtrt_id": mdtrt_id, "setl_id": setl["setl_id"], "medcasno": "MC-0001",
                     "hi_no": SZ, "ntly": "CHN", "gend": "1", "patn_cert_type": "01", "setl_begn_date": DAY,
                     "setl_end_date": DAY, "hi_paymtd": "1", "medins_fill_dept": "医保办", "medins_fill_psn": "李四",
                     "acct_pay": "88.00", "psn_cashpay": "0.00", "psn_selfpay": "88.00", "psn_ownpay": "0.00",
                     "bill_code": "B", "bill_no": "1", "biz_sn": "S1"},
        "payinfo": [{"fund_pay_type": "310100", "fund_payamt": "12.00"}],
        "diseinfo": [{"diag_type": "1", "diag_code": "J06.900", "diag_name": "上呼吸道感染", "adm_cond_type": "1",
                      "maindiag_flag": "1"}],
        "iteminfo": [{"med_chrgitm": "09", "amt": "100.00", "claa_sumfee": "100.00", "clab_amt": "0.00",
                      "fulamt_ownpay_amt": "0.00", "oth_amt": "0.00"}]}, AREA)
    assert listed["setl_id"] == setl["setl_id"] and listed["vers"] == 1
    assert listed["setl_list_id"].startswith(AREA) and listed["data"] == {"setl_list_id": listed["setl_list_id"]}
