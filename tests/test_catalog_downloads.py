"""Catalog downloads 1301-1315 (through 9102), catalog queries 1312/1318/1319 and the dictionaries of 1901, through
the wire on both databases; the file layout as a pure rule.

The world (tests/data/world.yaml) gives 440300 two drugs (EX-DRUG-A, EX-DRUG-B: 100.00 cap, first self-pay
0.10 for employees and 0.15 for residents) and one chronic disease (M01600); the tests load more on top.
"""

from __future__ import annotations

import base64
import copy
import io
import zipfile
from datetime import datetime
from decimal import Decimal

import pytest
import yaml
from helpers import WORLD, envelope

from yibao.client import PlatformError
from yibao.dataset.loader import DatasetError, load_document
from yibao.rules import catalog_file as cf

COLS_1301 = cf.FILES["1301"].columns
AT = {name: i for i, name in enumerate(COLS_1301)}


def world_plus() -> dict:
    """The test world with a medical service, a consumable and some diagnoses added to 440300."""
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    sz = doc["regions"][0]
    sz["catalog"][0]["details"] = {"药品规格": "0.25g*24粒", "生产企业名称": "示例药业", "拼音助记码": "YPJ"}
    sz["catalog"][0]["lmt_used_flag"] = "1"
    sz["catalog"] += [
        {"code": "EX-SERV-1", "name": "普通门诊诊察费", "chrgitm_lv": "01", "selfpay_prop": "0",
         "med_chrgitm_type": "02", "details": {"计价单位": "次"}},
        {"code": "EX-MAT-1", "name": "一次性注射器", "chrgitm_lv": "02", "selfpay_prop": "0.20",
         "pric_uplmt_amt": "2.50", "med_chrgitm_type": "08", "lmtpric_type": "1", "overlmt_dspo_way": "1"},
    ]
    sz["downloads"] = {"1307": [{"code": "A00.000", "name": "古典生物型霍乱", "details": {"章": "1"}},
                                {"code": "E11.900", "name": "2型糖尿病"}]}
    return doc


@pytest.fixture
def his(platform):
    load_document(platform.store, world_plus())
    return platform.client()


def fetch(client, infno: str, ver: str | int = "0") -> tuple[dict, list[list[str]]]:
    """The 13xx answer and the rows of its file, fetched with 9102 naming plc as the spec says."""
    out = client.ok(infno, {"data": {"ver": ver}})
    got = client.ok("9102", {"fsDownloadIn": {"file_qury_no": out["file_qury_no"], "filename": out["filename"],
                                              "fixmedins_code": "plc"}})
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(got["file"]))) as z:
        (name,) = z.namelist()
        assert out["filename"] == name + ".zip"
        text = z.read(name).decode("utf-8")
    return out, [line.split("\t") for line in text.splitlines()]


def refused(client, infno: str, input_: dict) -> str:
    with pytest.raises(PlatformError) as err:
        client.ok(infno, input_)
    return err.value.err_msg


# -- downloads ---------------------------------------------------------------------------------------------------

def test_1301_from_version_0_gives_every_drug_in_the_spec_column_order(his):
    out, rows = fetch(his, "1301", "0")
    assert out["file_qury_no"].startswith("fsi/plc/") and out["filename"].endswith(".txt.zip")
    assert out["dld_endtime"] == out["dld_end_time"] == "2026-03-23"
    assert out["data_cnt"] == 2 == len(rows)
    assert all(len(r) == 92 for r in rows)
    by_code = {r[0]: r for r in rows}
    a = by_code["EX-DRUG-A"]
    assert a[AT["药品通用名"]] == "药品甲" and a[AT["药品规格"]] == "0.25g*24粒"
    assert a[AT["生产企业名称"]] == "示例药业" and a[AT["拼音助记码"]] == "YPJ"
    assert a[AT["限制使用标志"]] == "1" and a[AT["中成药标志"]] == "0" and a[AT["有效标志"]] == "1"
    assert len(a[AT["唯一记录号"]]) == 32 and a[AT["版本号"]].isdigit()
    datetime.strptime(a[AT["数据更新时间"]], "%Y-%m-%d %H:%M:%S")
    assert by_code["EX-DRUG-B"][AT["药品通用名"]] == "药品乙"
    # an empty or absent ver is "every row" too
    assert his.ok("1301", {"data": {"ver": ""}})["data_cnt"] == 2
    assert his.ok("1301", {"data": {}})["data_cnt"] == 2


def test_services_consumables_diseases_and_lists_go_to_their_own_downloads(his):
    _, services = fetch(his, "1305")
    assert [(r[0], r[1], r[9], len(r)) for r in services] == [("EX-SERV-1", "次", "普通门诊诊察费", 16)]
    _, materials = fetch(his, "1306")
    assert [(r[0], r[1], len(r)) for r in materials] == [("EX-MAT-1", "一次性注射器", 71)]
    _, chronic = fetch(his, "1309")
    assert [(r[0], r[3], r[14], len(r)) for r in chronic] == [("M01600", "440300", "糖尿病", 16)]
    _, diagnoses = fetch(his, "1307")
    assert sorted((r[10], r[11], r[1]) for r in diagnoses) == [("A00.000", "古典生物型霍乱", "1"),
                                                              ("E11.900", "2型糖尿病", "")]
    assert all(len(r) == 24 and r[0] == r[19] for r in diagnoses)  # the id column carries the record id


def test_a_catalog_the_dataset_has_none_of_is_an_empty_file(his):
    for infno in ("1302", "1303", "1308", "1310", "1311", "1313", "1314", "1315"):
        out, rows = fetch(his, infno)
        assert (out["data_cnt"], rows) == (0, []), infno


def test_a_reload_makes_only_the_changed_rows_newer(his, platform):
    _, rows = fetch(his, "1301")
    held = max(int(r[AT["版本号"]]) for r in rows)
    # the same document again changes nothing: nothing is newer than what the HIS holds
    load_document(platform.store, world_plus())
    assert fetch(his, "1301", held)[1] == []
    doc = world_plus()
    doc["regions"][0]["catalog"][1]["name"] = "药品乙(新名)"
    load_document(platform.store, doc)
    out, changed = fetch(his, "1301", str(held))
    assert out["data_cnt"] == 1
    assert [(r[0], r[AT["药品通用名"]], r[AT["有效标志"]]) for r in changed] == [("EX-DRUG-B", "药品乙(新名)", "1")]
    newer = int(changed[0][AT["版本号"]])
    assert newer > held
    assert changed[0][AT["唯一记录号"]] == {r[0]: r for r in rows}["EX-DRUG-B"][AT["唯一记录号"]]
    # an item the dataset drops is published once more, no longer valid
    dropped = copy.deepcopy(doc)
    del dropped["regions"][0]["catalog"][0]
    load_document(platform.store, dropped)
    _, gone = fetch(his, "1301", newer)
    assert [(r[0], r[AT["有效标志"]]) for r in gone] == [("EX-DRUG-A", "0")]
    # a full download still lists it, so a HIS starting afresh learns it is invalid
    assert sorted(r[0] for r in fetch(his, "1301")[1]) == ["EX-DRUG-A", "EX-DRUG-B"]


def test_downloads_need_no_sign_in_and_refuse_a_bad_version(his, platform):
    status, answer = platform.post_raw(envelope("1305", {"data": {"ver": "0"}}, sign_no=""))
    assert (status, answer["infcode"], answer["output"]["data_cnt"]) == (200, 0, 1)
    for bad in ("v1", "-1", "1.5", "1" * 21, True):
        assert refused(his, "1301", {"data": {"ver": bad}}).startswith("input.data.ver: must be the highest version")


def test_9102_plc_only_for_the_platforms_files_and_only_the_callers(his, platform):
    out = his.ok("1301", {"data": {"ver": "0"}})
    gz = platform.client("H44010000001")
    assert "no file" in refused(gz, "9102", {"fsDownloadIn": {"file_qury_no": out["file_qury_no"],
                                                              "fixmedins_code": "plc"}})
    # the institution's own code works as well (one client sends it)
    assert his.ok("9102", {"fsDownloadIn": {"file_qury_no": out["file_qury_no"], "fixmedins_code": his.code}})
    mine = his.ok("9101", {"fsUploadIn": {"in": [1, 2], "filename": "x.zip", "fixmedins_code": his.code}})
    assert refused(his, "9102", {"fsDownloadIn": {"file_qury_no": mine["file_qury_no"], "fixmedins_code": "plc"}}) \
        .startswith("input.fsDownloadIn.fixmedins_code: must be the calling institution")


def test_the_dataset_refuses_details_a_file_has_no_column_for(platform):
    doc = world_plus()
    doc["regions"][0]["catalog"][0]["details"] = {"颜色": "红", "版本号": "9"}
    doc["regions"][0]["downloads"]["1307"].append({"code": "A00.000", "name": "again"})
    with pytest.raises(DatasetError) as err:
        load_document(platform.store, doc)
    text = str(err.value)
    assert "regions[0].catalog[0].details.颜色: is not a column of the 1301 西药中成药目录 file" in text
    assert "regions[0].catalog[0].details.版本号: is filled by yibao" in text
    assert "regions[0].downloads.1307[2].code: A00.000 appears more than once in this download" in text


# -- 1312, 1318, 1319 ------------------------------------------------------------------------------------------

def page(client, infno: str, **data) -> dict:
    return client.ok(infno, {"data": {"updt_time": "2026-01-01", "page_num": 1, "page_size": 10, **data}})


def test_1312_pages_and_filters_the_regions_catalog(his):
    first = page(his, "1312", page_size=2)
    assert (first["recordCounts"], first["pages"], first["size"], first["startRow"]) == (4, 2, 2, 1)
    second = page(his, "1312", page_size=2, page_num=2)
    codes = [r["hilist_code"] for r in first["data"] + second["data"]]
    assert codes == sorted(codes) == ["EX-DRUG-A", "EX-DRUG-B", "EX-MAT-1", "EX-SERV-1"]
    assert page(his, "1312", page_num=9)["data"] == []
    row = page(his, "1312", hilist_code="EX-DRUG-A")["data"][0]
    assert (row["hilist_name"], row["list_type"], row["chrgitm_lv"], row["med_chrgitm_type"], row["pinyin"],
            row["lmt_used_flag"], row["insu_admdvs"], row["vali_flag"]) == \
        ("药品甲", "101", "01", "09", "YPJ", "1", "440300", "1")
    assert len(row["rid"]) == 32 and row["begndate"] == "2026-03-16"
    assert [r["hilist_code"] for r in page(his, "1312", list_type="301")["data"]] == ["EX-MAT-1"]
    assert [r["hilist_code"] for r in page(his, "1312", med_chrgitm_type="02")["data"]] == ["EX-SERV-1"]
    assert [r["hilist_code"] for r in page(his, "1312", hilist_name="药品")["data"]] == ["EX-DRUG-A", "EX-DRUG-B"]
    assert page(his, "1312", updt_time="2099-01-01")["recordCounts"] == 0
    assert page(his, "1312", insu_admdvs="440100")["recordCounts"] == 0


def test_1318_price_limits_and_1319_first_self_pay_ratios(his):
    limits = page(his, "1318")["data"]
    assert [(r["hilist_code"], r["hilist_pric_uplmt_amt"], r["hilist_lmtpric_type"], r["overlmt_dspo_way"])
            for r in limits] == [("EX-DRUG-B", Decimal("100.00"), "", ""), ("EX-MAT-1", Decimal("2.50"), "1", "1")]
    ratios = page(his, "1319")["data"]
    assert [(r["hilist_code"], r["selfpay_prop_psn_type"], r["selfpay_prop"]) for r in ratios] == [
        ("EX-DRUG-B", "310", Decimal("0.1")), ("EX-DRUG-B", "390", Decimal("0.15")), ("EX-MAT-1", "", Decimal("0.2"))]
    assert [r["selfpay_prop"] for r in page(his, "1319", selfpay_prop_psn_type="390")["data"]] == [Decimal("0.15")]


def test_paged_queries_refuse_bad_paging(his):
    base = {"updt_time": "2026-01-01", "page_num": 1, "page_size": 10}
    assert refused(his, "1312", {"data": {**base, "page_size": 0}}) == "input.data.page_size: must be from 1 to 1000"
    assert refused(his, "1318", {"data": {**base, "page_size": 1001}}) == \
        "input.data.page_size: must be from 1 to 1000"
    assert refused(his, "1319", {"data": {**base, "page_num": 0}}) == "input.data.page_num: must be 1 or more"
    assert refused(his, "1312", {"data": {"page_num": 1, "page_size": 10}}).startswith("input.data.updt_time")
    assert "is not a code of med_chrgitm_type" in refused(his, "1312", {"data": {**base, "med_chrgitm_type": "99"}})
    assert refused(his, "1312", {"data": {**base, "vali_flag": "2"}}).startswith("input.data.vali_flag: must be")
    for flag in ("lmt_used_flag", "med_use_flag", "matn_used_flag"):
        assert refused(his, "1312", {"data": {**base, flag: "Y"}}).startswith(f"input.data.{flag}: 'Y' is not a code")
    for field, infno in (("hilist_use_type", "1312"), ("lmt_cpnd_type", "1312"), ("hilist_lmtpric_type", "1318"),
                         ("overlmt_dspo_way", "1318")):
        assert refused(his, infno, {"data": {**base, field: "%%; drop"}}).startswith(f"input.data.{field}: "), field


# -- 1901 --------------------------------------------------------------------------------------------------------

def test_1901_answers_a_dictionary_yibao_checks_against(platform):
    his = platform.client()
    got = his.ok("1901", {"data": {"type": "gend", "parentValue": "", "admdvs": "440300", "date": "2026-03-16",
                                   "valiFlag": "1"}})["list"]
    assert [(r["value"], r["label"]) for r in got] == [("0", "未知"), ("1", "男"), ("2", "女"), ("9", "未说明")]
    assert got[0]["parentValue"] == got[0]["parent_value"] == "" and got[0]["vali_flag"] == "1"
    assert [r["value"] for r in his.ok("1901", {"data": {"type": "list_type"}})["list"]] == \
        ["101", "102", "103", "201", "301"]
    assert his.ok("1901", {"data": {"type": "gend", "vali_Flag": "0"}})["list"] == []


def test_1901_refuses_an_unknown_type(platform):
    his = platform.client()
    msg = refused(his, "1901", {"data": {"type": "no_such_dict"}})
    assert msg.startswith("input.data.type: 'no_such_dict' is not a dictionary yibao keeps; one of: ")
    assert "med_type" in msg
    assert refused(his, "1901", {"data": {}}).startswith("input.data.type")


# -- the file as a pure rule ---------------------------------------------------------------------------------------

def test_a_file_line_has_every_column_and_no_tab_or_break_inside_a_field():
    fields = cf.content("1305", "X1", "名\t称", {"备注": "两\n行"})
    row = cf.Published(fields, "1", "r" * 32, datetime(2026, 3, 16, 9, 0), datetime(2026, 3, 17, 9, 0), 7, "v7")
    parts = cf.line_of("1305", row).split("\t")
    assert len(parts) == 16
    assert (parts[0], parts[9], parts[7], parts[6], parts[13], parts[14]) == \
        ("X1", "名 称", "两 行", "1", "r" * 32, "7")
    data = cf.zip_of("1305", [row, row], "a.txt")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.read("a.txt").decode().count("\n") == 2
    assert cf.zip_of("1305", [], "a.txt") and cf.list_type_for("10", None) == "102"
    assert cf.unknown_details("1305", {"计价单位": "次", "医疗目录编码": "x"}) == [
        ("医疗目录编码", "is the row's code, name or id: give it as code/name")]
