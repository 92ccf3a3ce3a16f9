"""Queries (5203, 5204, 5205), files (9101, 9102) and reconciliation (3201, 3202), through the wire.

Settlements are made the way a HIS makes them: 2201 register, 2203 visit, 2204 lines, 2207 settle (and 2208
to cancel). The world (tests/data/world.yaml): 张三 (psn 44030000000000000001, employee of 440300) has 80.00
of his 100.00 deductible left, ratio 0.60, and 500.00 in his account.
"""

from __future__ import annotations

import base64
import io
import itertools
import zipfile
from decimal import Decimal

import pytest
import yaml
from helpers import WORLD

from yibao.client import PlatformError
from yibao.dataset.loader import load_document

SZ = "44030000000000000001"
SZ_CERTNO = "440301199001011234"
GZ_HOSPITAL = "H44010000001"
DAY = "2026-03-16"
_serial = itertools.count(1)


# -- a HIS at the desk ---------------------------------------------------------------------------------

def lines_for(mdtrt_id: str, batch: str, items: list[tuple[str, str, int]], psn_no: str = SZ) -> list[dict]:
    out = []
    for i, (code, pric, cnt) in enumerate(items, 1):
        amt = (Decimal(pric) * cnt).quantize(Decimal("0.01"))
        out.append({"feedetl_sn": f"{batch}-{i:03d}", "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": batch,
                    "dise_codg": "", "rxno": f"RX-{batch}", "rx_circ_flag": "0", "fee_ocur_time": f"{DAY} 09:30:00",
                    "med_list_codg": code, "medins_list_codg": "H-" + code, "medins_list_name": "院内" + code,
                    "det_item_fee_sumamt": str(amt), "cnt": str(cnt), "pric": pric, "sin_dos_dscr": "1片",
                    "used_frqu_dscr": "tid", "prd_days": "3", "medc_way_dscr": "口服", "bilg_dept_codg": "D01",
                    "bilg_dept_name": "内科", "bilg_dr_codg": "DR01", "bilg_dr_name": "医生", "hosp_appr_flag": "0"})
    return out


def outpatient(client, items, *, med_type="11", dise=("", "")) -> tuple[dict, str]:
    """Register, describe, upload and settle one outpatient visit of 张三: (2207 setlinfo, mdtrt_id)."""
    n = next(_serial)
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": SZ_CERTNO}
    reg = client.ok("2201", {"data": {"psn_no": SZ, "insutype": "310", "begntime": f"{DAY} 09:00:00", **cert,
                                      "ipt_otp_no": f"OTP-Q{n:04d}", "atddr_no": "DR01", "dr_name": "医生",
                                      "dept_code": "D01", "dept_name": "内科", "caty": "A03"}}, "440300")
    mdtrt_id = reg["data"]["mdtrt_id"]
    client.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": SZ, "med_type": med_type,
                                     "begntime": f"{DAY} 09:00:00", "dise_codg": dise[0], "dise_name": dise[1]},
                       "diseinfo": []}, "440300")
    batch = f"BQ{n:04d}"
    result = client.ok("2204", {"feedetail": lines_for(mdtrt_id, batch, items)}, "440300")["result"]

    def total(key: str) -> str:
        return str(sum((r[key] for r in result), Decimal("0.00")))

    data = {"psn_no": SZ, **cert, "med_type": med_type, "medfee_sumamt": total("det_item_fee_sumamt"),
            "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": batch, "acct_used_flag": "1", "insutype": "310",
            "invono": f"INV{n:04d}", "fulamt_ownpay_amt": total("fulamt_ownpay_amt"),
            "overlmt_selfpay": total("overlmt_amt"), "preselfpay_amt": total("preselfpay_amt"),
            "inscp_scp_amt": total("inscp_scp_amt")}
    return client.ok("2207", {"data": data}, "440300")["setlinfo"], mdtrt_id


def cancel(client, setl: dict) -> str:
    """2208; the id of the cancellation record."""
    out = client.ok("2208", {"data": {"setl_id": setl["setl_id"], "mdtrt_id": setl["mdtrt_id"], "psn_no": SZ}},
                    "440300")
    return out["setlinfo"]["refd_setl_id"]


def refused(client, infno: str, input_: dict, insuplc: str = "440300") -> str:
    with pytest.raises(PlatformError) as err:
        client.ok(infno, input_, insuplc)
    return err.value.err_msg


def q(setl: dict, **over) -> dict:
    return {"data": {"psn_no": SZ, "setl_id": setl["setl_id"], "mdtrt_id": setl["mdtrt_id"], **over}}


DRUG_A = [("EX-DRUG-A", "50.00", 2)]  # 100.00 甲: 80.00 deductible, then 60% of 20.00
DRUG_B = [("EX-DRUG-B", "120.00", 1)]  # 乙 capped at 100.00: 20.00 over the cap, 10.00 first co-pay


# -- 5203 ----------------------------------------------------------------------------------------------

def test_5203_answers_the_settlement_with_every_query_field(platform):
    h = platform.client()
    setl, mdtrt_id = outpatient(h, DRUG_A)
    out = h.ok("5203", q(setl), "440300")
    info = out["setlinfo"]
    assert {k: info[k] for k in setl} == setl  # everything 2207 said, said again
    assert info["medfee_sumamt"] == Decimal("100.00") and info["act_pay_dedc"] == Decimal("80.00")
    assert info["hifp_pay"] == info["fund_pay_sumamt"] == Decimal("12.00")
    assert info["psn_pay"] == info["psn_part_amt"] == Decimal("88.00") and info["acct_pay"] == Decimal("88.00")
    assert info["cash_payamt"] == Decimal("0.00") and info["balc"] == Decimal("412.00")
    want = {"refd_setl_flag": "0", "setl_stas": "settled", "year": "2026", "fixmedins_code": "H44030000001",
            "fixmedins_name": "深圳示例医院", "hosp_lv": "3", "fixmedins_poolarea": "440300", "insu_optins": "440300",
            "emp_name": "示例公司", "pay_loc": "2", "clr_type": "11", "clr_optins": "440300", "flxempe_flag": "0",
            "nwb_flag": "0", "begndate": DAY, "enddate": DAY, "opter_id": "op01", "mdtrt_cert_type": "02",
            "refd_setl_id": "", "init_setl_id": ""}
    assert {k: info[k] for k in want} == want
    assert info["invono"].startswith("INV") and info["opt_time"] == info["setl_time"]
    assert info["opt_time"].startswith(DAY) and info["mdtrt_id"] == mdtrt_id
    [fund] = out["setldetail"]
    assert fund["fund_pay_type"] == "310100" and fund["fund_payamt"] == Decimal("12.00")


def test_5203_shows_a_cancelled_settlement_and_its_cancellation_record(platform):
    h = platform.client()
    setl, _ = outpatient(h, DRUG_A)
    refd_id = cancel(h, setl)
    original = h.ok("5203", q(setl), "440300")["setlinfo"]
    assert original["setl_stas"] == "cancelled" and original["refd_setl_flag"] == "0"
    assert original["refd_setl_id"] == refd_id and original["medfee_sumamt"] == Decimal("100.00")
    out = h.ok("5203", q(setl, setl_id=refd_id), "440300")
    reversal = out["setlinfo"]
    assert reversal["setl_id"] == refd_id and reversal["init_setl_id"] == setl["setl_id"]
    assert reversal["refd_setl_flag"] == "1" and reversal["setl_stas"] == "reversal"
    assert reversal["medfee_sumamt"] == Decimal("-100.00") and reversal["acct_pay"] == Decimal("-88.00")
    assert reversal["psn_pay"] == Decimal("-88.00") and reversal["balc"] == Decimal("500.00")
    assert [f["fund_payamt"] for f in out["setldetail"]] == [Decimal("-12.00")]


def test_5203_refusals(platform):
    h = platform.client()
    setl, _ = outpatient(h, DRUG_A)
    _, other_visit = outpatient(h, DRUG_B)
    gz = platform.client(GZ_HOSPITAL)
    assert refused(gz, "5203", q(setl)) == f"input.data.setl_id: no settlement {setl['setl_id']} of this institution"
    assert refused(h, "5203", q(setl, setl_id="440300X")) == \
        "input.data.setl_id: no settlement 440300X of this institution"
    assert refused(h, "5203", q(setl, mdtrt_id=other_visit)).startswith(
        f"input.data.mdtrt_id: settlement {setl['setl_id']} belongs to visit {setl['mdtrt_id']}")
    assert refused(h, "5203", q(setl, psn_no="44030000000000000002")) == \
        f"input.data.psn_no: settlement {setl['setl_id']} belongs to another person"
    assert refused(h, "5203", q(setl, setl_id="")).startswith("input.data.setl_id: must have at least 1")
    assert refused(h, "5203", q(setl), "440100").startswith("insuplc_admdvs: must name the person's insured region")
    assert refused(h, "5203", {"data": {"psn_no": SZ, "mdtrt_id": setl["mdtrt_id"]}}) == \
        "input.data.setl_id: is required"


# -- 5204 ----------------------------------------------------------------------------------------------

def test_5204_gives_the_lines_of_a_settlement_or_of_the_visit(platform):
    h = platform.client()
    setl, mdtrt_id = outpatient(h, [("EX-DRUG-A", "50.00", 2), ("EX-DRUG-B", "120.00", 1)])
    h.ok("2204", {"feedetail": lines_for(mdtrt_id, "LATER", [("EX-DRUG-A", "10.00", 1)])}, "440300")

    rows = h.ok("5204", q(setl), "440300")["data"]
    assert [r["feedetl_sn"] for r in rows] == [f"{setl_batch(rows)}-001", f"{setl_batch(rows)}-002"]
    a, b = rows
    assert a["setl_id"] == b["setl_id"] == setl["setl_id"] and a["mdtrt_id"] == mdtrt_id and a["psn_no"] == SZ
    assert (a["hilist_code"], a["hilist_name"], a["medins_list_name"]) == ("EX-DRUG-A", "药品甲", "院内EX-DRUG-A")
    assert a["medins_list_codg"] == "H-EX-DRUG-A" and a["rx_drord_no"] == f"RX-{a['chrg_bchno']}"
    assert (a["cnt"], a["pric"], a["det_item_fee_sumamt"]) == (Decimal("2"), Decimal("50.00"), Decimal("100.00"))
    assert a["fee_ocur_time"] == f"{DAY} 09:30:00" and a["bilg_dr_name"] == "医生" and a["prd_days"] == "3"
    assert a["chrgitm_lv"] == "01" and a["inscp_scp_amt"] == Decimal("100.00") and a["opter_id"] == "op01"
    assert (b["chrgitm_lv"], b["overlmt_amt"], b["preselfpay_amt"], b["inscp_scp_amt"]) == (
        "02", Decimal("20.00"), Decimal("10.00"), Decimal("90.00"))
    assert b["hilist_name"] == "药品乙" and b["selfpay_prop"] == Decimal("0.10")

    everything = h.ok("5204", q(setl, setl_id=""), "440300")["data"]
    assert [r["setl_id"] for r in everything] == [setl["setl_id"], setl["setl_id"], ""]
    assert everything[2]["feedetl_sn"] == "LATER-001" and everything[2]["opt_time"] == ""


def setl_batch(rows: list[dict]) -> str:
    return rows[0]["chrg_bchno"]


def test_5204_refusals(platform):
    h = platform.client()
    setl, mdtrt_id = outpatient(h, DRUG_A)
    other, other_visit = outpatient(h, DRUG_B)
    gz = platform.client(GZ_HOSPITAL)
    assert refused(gz, "5204", q(setl, setl_id="")) == f"input.data.mdtrt_id: no visit {mdtrt_id} at this institution"
    assert refused(h, "5204", q(setl, setl_id=other["setl_id"])).startswith(
        f"input.data.mdtrt_id: settlement {other['setl_id']} belongs to visit {other_visit}")
    assert refused(h, "5204", q(setl, psn_no="44030000000000000002")) == \
        f"input.data.psn_no: visit {mdtrt_id} belongs to another person"
    refd_id = cancel(h, setl)
    assert refused(h, "5204", q(setl)).startswith(f"input.data.setl_id: settlement {setl['setl_id']} was cancelled")
    assert refused(h, "5204", q(setl, setl_id=refd_id)).startswith(
        f"input.data.setl_id: {refd_id} is the cancellation of settlement {setl['setl_id']}")
    # the cancelled settlement's lines went back to the visit, unsettled
    assert [r["setl_id"] for r in h.ok("5204", q(setl, setl_id=""), "440300")["data"]] == [""]


# -- 5205 ----------------------------------------------------------------------------------------------

@pytest.fixture
def chronic_world(platform):
    """The world plus a policy row for 门诊慢特病 (med_type 14) in 440300, loaded as a dataset document."""
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    sz = next(r for r in doc["regions"] if r["admdvs"] == "440300")
    sz["policies"].append({"insutype": "310", "med_types": ["14"], "bucket": "chronic", "deductible": "0.00",
                           "ratio": "0.80", "annual_cap": "20000.00", "acct_scope": "all"})
    load_document(platform.store, doc)
    return platform


def history(client, begin: str, end: str, insuplc: str = "440300") -> list[dict]:
    return client.ok("5205", {"data": {"psn_no": SZ, "begntime": begin, "endtime": end}}, insuplc)["data"]


def test_5205_lists_the_chronic_disease_lines_of_settled_visits_at_this_institution(chronic_world):
    h = chronic_world.client()
    chronic, _ = outpatient(h, [("EX-DRUG-A", "12.50", 4)], med_type="14", dise=("M01600", "糖尿病"))
    cancelled, _ = outpatient(h, [("EX-DRUG-B", "30.00", 1)], med_type="14", dise=("M01600", "糖尿病"))
    cancel(h, cancelled)
    outpatient(h, DRUG_A)  # general outpatient: not a chronic-disease drug
    [row] = history(h, f"{DAY} 00:00:00", f"{DAY} 23:59:59")
    assert row["setl_id"] == chronic["setl_id"] and row["med_type"] == "14" and row["dise_codg"] == "M01600"
    assert (row["hilist_code"], row["hilist_name"], row["cnt"], row["pric"]) == (
        "EX-DRUG-A", "药品甲", Decimal("4"), Decimal("12.50"))
    assert row["det_item_fee_sumamt"] == Decimal("50.00") and row["fee_ocur_time"] == f"{DAY} 09:30:00"
    assert row["fixmedins_code"] == "H44030000001" and row["used_frqu_dscr"] == "tid"
    assert history(h, DAY, DAY) == [row]  # bare dates: the whole day
    assert history(h, "2026-03-17", "2026-03-31") == []
    assert history(h, f"{DAY} 09:30:01", f"{DAY} 23:00:00") == []
    assert history(chronic_world.client(GZ_HOSPITAL), DAY, DAY) == []  # another institution's business


def test_5205_refusals(platform):
    h = platform.client()
    assert refused(h, "5205", {"data": {"psn_no": SZ, "begntime": "2026-03-17", "endtime": "2026-03-16"}}) == \
        "input.data.endtime: 2026-03-16 23:59:59 is before begntime 2026-03-17 00:00:00"
    assert refused(h, "5205", {"data": {"psn_no": SZ, "begntime": "16/03/2026", "endtime": DAY}}).startswith(
        "input.data.begntime: must be a time as yyyy-MM-dd HH:mm:ss")
    assert refused(h, "5205", {"data": {"psn_no": "nobody", "begntime": DAY, "endtime": DAY}}) == \
        "input.data.psn_no: no insured person nobody"
    assert history(h, DAY, DAY, "") == []  # empty names the institution's own region, where 张三 is insured
    assert refused(h, "5205", {"data": {"psn_no": SZ, "begntime": DAY, "endtime": DAY}}, "440100").startswith(
        "insuplc_admdvs: must name the person's insured region 440300")


# -- 3201 ----------------------------------------------------------------------------------------------

def totals(medfee: str, fund: str, acct: str, cnt, **over) -> dict:
    return {"data": {"insutype": "310", "clr_type": "11", "setl_optins": "440300", "stmt_begndate": DAY,
                     "stmt_enddate": DAY, "medfee_sumamt": medfee, "fund_pay_sumamt": fund, "acct_pay": acct,
                     "fixmedins_setl_cnt": cnt, **over}}


@pytest.fixture
def three_records(platform):
    """Settlement A (100.00, fund 12.00, account 88.00) stands; B (120.00, fund 54.00, account 66.00) was
    cancelled: three records, the cancellation's amounts negative."""
    h = platform.client()
    a, _ = outpatient(h, DRUG_A)
    b, _ = outpatient(h, DRUG_B)
    assert (b["medfee_sumamt"], b["fund_pay_sumamt"], b["acct_pay"]) == (
        Decimal("120.00"), Decimal("54.00"), Decimal("66.00"))
    b_refd = cancel(h, b)
    return h, a, b, b_refd


def test_3201_balanced_counts_every_record_and_nets_the_cancellation(three_records):
    h = three_records[0]
    out = h.ok("3201", totals("100.00", "12.00", "88.00", 3))
    assert out == {"stmtinfo": {"setl_optins": "440300", "stmt_rslt": "0",
                                "stmt_rslt_dscr": "balanced: 3 settlement records"}}
    # refd_setl_flag 0: the cancellation rows are left out
    out = h.ok("3201", totals("220.00", "66.00", "154.00", "2", refd_setl_flag="0"))
    assert out["stmtinfo"]["stmt_rslt"] == "0"
    assert h.ok("3201", totals("100.00", "12.00", "88.00", 3, refd_setl_flag="1"))["stmtinfo"]["stmt_rslt"] == "0"


def test_3201_unbalanced_names_each_differing_figure(three_records):
    h = three_records[0]
    info = h.ok("3201", totals("100.01", "12.00", "88.00", 2))["stmtinfo"]
    assert info["stmt_rslt"] == "1"
    assert info["stmt_rslt_dscr"] == ("medfee_sumamt: institution 100.01, platform 100.00; "
                                      "fixmedins_setl_cnt: institution 2, platform 3")


def test_3201_sees_only_this_institution_this_window_and_this_scope(three_records, platform):
    h = three_records[0]
    gz = platform.client(GZ_HOSPITAL)
    assert gz.ok("3201", totals("0", "0", "0", 0), "")["stmtinfo"]["stmt_rslt"] == "0"
    info = gz.ok("3201", totals("100.00", "12.00", "88.00", 3), "")["stmtinfo"]
    assert info["stmt_rslt_dscr"].startswith("medfee_sumamt: institution 100.00, platform 0.00")
    for over in ({"stmt_begndate": "2026-03-17", "stmt_enddate": "2026-03-31"}, {"insutype": "390"},
                 {"clr_type": "21"}, {"setl_optins": "440100"}):
        assert h.ok("3201", totals("0.00", "0.00", "0.00", 0, **over))["stmtinfo"]["stmt_rslt"] == "0", over
    wide = {"stmt_begndate": "2026-03-01", "stmt_enddate": "2026-03-31"}
    assert h.ok("3201", totals("100.00", "12.00", "88.00", 3, **wide))["stmtinfo"]["stmt_rslt"] == "0"


@pytest.mark.parametrize("over, message", [
    ({"stmt_enddate": "2026-03-15"}, "input.data.stmt_enddate: 2026-03-15 is before stmt_begndate 2026-03-16"),
    ({"stmt_begndate": "2026/03/16"}, "input.data.stmt_begndate: must be a date as yyyy-MM-dd"),
    ({"fixmedins_setl_cnt": "three"}, "input.data.fixmedins_setl_cnt: must be a whole number of settlements"),
    ({"fixmedins_setl_cnt": -1}, "input.data.fixmedins_setl_cnt: must be a whole number of settlements"),
    ({"medfee_sumamt": "1.001"}, "input.data.medfee_sumamt: must be an amount with at most 2 decimal places"),
    ({"refd_setl_flag": "2"}, "input.data.refd_setl_flag: must be one of"),
    ({"setl_optins": ""}, "input.data.setl_optins: must have at least 1"),
])
def test_3201_refusals(platform, over, message):
    assert refused(platform.client(), "3201", totals("0", "0", "0", 0, **over), "").startswith(message)


# -- 9101 / 9102 ---------------------------------------------------------------------------------------

def upload(client, content, filename="detail.zip", **over) -> dict:
    return client.ok("9101", {"fsUploadIn": {"in": content, "filename": filename,
                                             "fixmedins_code": client.code, **over}})


def download(client, file_qury_no: str, filename: str = "") -> bytes:
    out = client.ok("9102", {"fsDownloadIn": {"file_qury_no": file_qury_no, "filename": filename,
                                              "fixmedins_code": client.code}})
    return base64.b64decode(out["file"])


def test_9101_accepts_a_byte_array_or_base64_and_9102_gives_the_file_back(platform):
    h = platform.client()
    content = bytes(range(256)) * 3
    as_array = upload(h, list(content))
    assert set(as_array) == {"file_qury_no", "filename", "dld_endtime"} and as_array["filename"] == "detail.zip"
    assert as_array["dld_endtime"].startswith("2026-03-23 ")  # kept for 7 days
    as_text = upload(h, base64.b64encode(content).decode(), "again.zip")
    assert as_text["file_qury_no"] != as_array["file_qury_no"]
    assert download(h, as_array["file_qury_no"]) == content
    assert download(h, as_text["file_qury_no"], "again.zip") == content


def test_9101_9102_refusals(platform):
    h = platform.client()
    gz = platform.client(GZ_HOSPITAL)
    mine = upload(h, [1, 2, 3])["file_qury_no"]
    assert refused(h, "9101", {"fsUploadIn": {"in": [1, 256], "filename": "x.zip", "fixmedins_code": h.code}}) == \
        "input.fsUploadIn.in[1]: must be a byte value 0..255, not 256"
    assert refused(h, "9101", {"fsUploadIn": {"in": "not base64!", "filename": "x.zip", "fixmedins_code": h.code}}) \
        == "input.fsUploadIn.in: a string must be the file's bytes in base64"
    assert refused(h, "9101", {"fsUploadIn": {"in": [], "filename": "x.zip", "fixmedins_code": h.code}}) == \
        "input.fsUploadIn.in: the file is empty"
    assert refused(h, "9101", {"fsUploadIn": {"filename": "x.zip", "fixmedins_code": h.code}}) == \
        "input.fsUploadIn.in: is required"
    assert refused(h, "9101", {"fsUploadIn": {"in": [1], "filename": "../x.zip", "fixmedins_code": h.code}}) == \
        "input.fsUploadIn.filename: must be a file name, without a directory"
    assert refused(h, "9101", {"fsUploadIn": {"in": [1], "filename": "x.zip", "fixmedins_code": GZ_HOSPITAL}}) == \
        f"input.fsUploadIn.fixmedins_code: must be the calling institution {h.code}, not {GZ_HOSPITAL}"
    assert refused(gz, "9102", {"fsDownloadIn": {"file_qury_no": mine, "filename": "", "fixmedins_code": gz.code}},
                   "") == f"input.fsDownloadIn.file_qury_no: no file {mine} of this institution"
    assert refused(h, "9102", {"fsDownloadIn": {"file_qury_no": mine, "filename": "other.zip",
                                                "fixmedins_code": h.code}}) == \
        f"input.fsDownloadIn.filename: file {mine} is named detail.zip, not other.zip"


# -- 3202 ----------------------------------------------------------------------------------------------

def detail_zip(rows: list[list], name: str = "detail.txt") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, "".join("\t".join(str(c) for c in r) + "\n" for r in rows))
    return buffer.getvalue()


def line_of(setl: dict, refd: str = "0", sign: int = 1) -> list:
    return [setl["setl_id"], setl["mdtrt_id"], SZ, sign * setl["medfee_sumamt"], sign * setl["fund_pay_sumamt"],
            sign * setl["acct_pay"], refd]


def details(medfee: str, fund: str, cash: str, cnt: int, file_qury_no: str, **over) -> dict:
    return {"data": {"setl_optins": "440300", "file_qury_no": file_qury_no, "stmt_begndate": DAY,
                     "stmt_enddate": DAY, "medfee_sumamt": medfee, "fund_pay_sumamt": fund, "cash_payamt": cash,
                     "fixmedins_setl_cnt": cnt, **over}}


def result_rows(client, fileinfo: dict) -> list[list[str]]:
    with zipfile.ZipFile(io.BytesIO(download(client, fileinfo["file_qury_no"], fileinfo["filename"]))) as archive:
        [name] = archive.namelist()
        return [line.split("\t") for line in archive.read(name).decode("utf-8").splitlines()]


def test_3202_end_to_end_reports_a_tampered_a_missing_and_a_foreign_record(three_records):
    h, a, b, b_refd = three_records
    b_reversal = {"setl_id": b_refd, "mdtrt_id": b["mdtrt_id"], **{k: b[k] for k in
                                                                  ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")}}
    tampered = line_of(b)
    tampered[3] = Decimal("121.00")
    file = detail_zip([line_of(a), tampered, ["440300NOSUCHSETTLEMENT", "M1", SZ, "5.00", "0.00", "5.00", "0"]])
    up = upload(h, list(file))
    out = h.ok("3202", details("100.00", "12.00", "0.00", 3, up["file_qury_no"]))
    assert out["stmtinfo"] == {"setl_optins": "440300", "stmt_rslt": "1", "stmt_rslt_dscr":
                               "3 settlement records differ or are on one side only (see the result file)"}
    assert out["fileinfo"]["filename"] == "3202_440300_20260316_20260316.zip"
    rows = result_rows(h, out["fileinfo"])
    assert [r[2] for r in rows] == [b["setl_id"], b_refd, "440300NOSUCHSETTLEMENT"]
    differs, missing, foreign = rows
    assert differs == [SZ, b["mdtrt_id"], b["setl_id"], differs[3], "1", "0",
                       "medfee_sumamt: institution 121.00, platform 120.00", "120.00", "54.00", "66.00"]
    assert differs[3].startswith("H44030000001")  # the msgid of the 2207 that made it
    assert missing == [SZ, b["mdtrt_id"], b_refd, missing[3], "1", "1", "missing from the institution's file",
                       "-120.00", "-54.00", "-66.00"]
    assert foreign == [SZ, "M1", "440300NOSUCHSETTLEMENT", "", "1", "0",
                       "no settlement of this institution has this setl_id", "5.00", "0.00", "5.00"]

    # the corrected file, with the cancellation record, balances
    fixed = upload(h, base64.b64encode(detail_zip([line_of(a), line_of(b), line_of(b_reversal, "1", -1)])).decode())
    out = h.ok("3202", details("100.00", "12.00", "0.00", 3, fixed["file_qury_no"]))
    assert out["stmtinfo"]["stmt_rslt"] == "0" and out["stmtinfo"]["stmt_rslt_dscr"] == "balanced: 3 settlement records"
    assert result_rows(h, out["fileinfo"]) == []
    # declared totals are checked too; refd_setl_flag 0 leaves the cancellation records out on both sides
    out = h.ok("3202", details("220.00", "66.00", "0.00", 3, fixed["file_qury_no"], refd_setl_flag="0"))
    assert out["stmtinfo"]["stmt_rslt_dscr"] == "fixmedins_setl_cnt: institution 3, platform 2"
    assert result_rows(h, out["fileinfo"]) == []


def test_3202_says_why_an_own_record_is_outside_the_reconciliation(three_records):
    h, a, _b, _ = three_records
    up = upload(h, list(detail_zip([line_of(a)])))
    out = h.ok("3202", details("0.00", "0.00", "0.00", 0, up["file_qury_no"], stmt_begndate="2026-03-01",
                               stmt_enddate="2026-03-15"))
    [row] = result_rows(h, out["fileinfo"])
    assert row[2] == a["setl_id"] and row[6].startswith(f"outside this reconciliation: settled {DAY} ")


@pytest.mark.parametrize("content, message", [
    (b"plain text, not a zip", "the file is not a zip archive"),
    (detail_zip([["a"]], name="detail.csv"), "the zip must hold one .txt file, not 0"),
    (detail_zip([["S1", "M1", SZ, "1.00", "0.00", "1.00", "0"], ["S2", "M2", SZ, "1.00", "0.00", "0"]]),
     "detail.txt line 2: has 6 tab-separated columns; 7 are needed (setl_id, mdtrt_id, psn_no, medfee_sumamt, "
     "fund_pay_sumamt, acct_pay, refd_setl_flag)"),
    (detail_zip([["S1", "M1", SZ, "1.005", "0.00", "1.00", "0"]]),
     "detail.txt line 1, column 4 (medfee_sumamt): '1.005' is not an amount with at most 2 decimal places"),
    (detail_zip([["S1", "M1", SZ, "1.00", "x", "1.00", "0"]]),
     "detail.txt line 1, column 5 (fund_pay_sumamt): 'x' is not an amount"),
    (detail_zip([["S1", "", SZ, "1.00", "0.00", "1.00", "0"]]), "detail.txt line 1, column 2 (mdtrt_id): is empty"),
    (detail_zip([["S1", "M1", SZ, "1.00", "0.00", "1.00", "Y"]]),
     "detail.txt line 1, column 7 (refd_setl_flag): must be \"0\" or \"1\", not 'Y'"),
    (detail_zip([["S1", "M1", SZ, "1.00", "0.00", "1.00", "0"], ["S1", "M1", SZ, "1.00", "0.00", "1.00", "0"]]),
     "detail.txt line 2, column 1 (setl_id): S1 is already on line 1"),
])
def test_3202_refuses_a_bad_file_naming_the_line_and_column(platform, content, message):
    h = platform.client()
    up = upload(h, list(content))
    err = refused(h, "3202", details("0", "0", "0", 0, up["file_qury_no"]), "")
    assert err.startswith(f"input.data.file_qury_no: {message}"), err


def test_3202_uses_only_this_institutions_files(platform):
    h = platform.client()
    gz = platform.client(GZ_HOSPITAL)
    theirs = upload(gz, list(detail_zip([])))["file_qury_no"]
    assert refused(h, "3202", details("0", "0", "0", 0, theirs), "") == \
        f"input.data.file_qury_no: no file {theirs} of this institution"
    empty = upload(h, list(detail_zip([["setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt",
                                        "acct_pay", "refd_setl_flag"]])))["file_qury_no"]
    out = h.ok("3202", details("0", "0", "0", 0, empty))  # a header line only: nothing to reconcile
    assert out["stmtinfo"]["stmt_rslt"] == "0"
