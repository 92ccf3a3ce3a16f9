"""Catalog mapping 目录对照 through the wire: 3301 upload, 3302 cancel, 1316/1317 queries, and the region setting
`mapping_check` on 2204 fee lines; plus the pure rules (rules/mapping.py). docs/mapping.md is the reading.

The world (tests/data/world.yaml): 深圳示例医院 H44030000001 in 440300, whose catalog holds EX-DRUG-A and
EX-DRUG-B; the fixture gives 广州示例医院 (440100) a catalog too, so both institutions can map.
"""

from __future__ import annotations

import itertools
import threading
from datetime import date

import pytest
import yaml
from helpers import WORLD, signed_headers
from sqlalchemy import select

from yibao import wire
from yibao.client import PlatformError
from yibao.dataset.loader import DatasetError, load_document
from yibao.rules import mapping as rules
from yibao.store.models import CatalogMapping

SZ, GZ = "H44030000001", "H44010000001"
PSN = "44030000000000000001"
CERTNO = "440301199001011234"
DAY = "2026-03-16"
_serial = itertools.count(1)


def world_doc(mapping_check: str | None = None) -> dict:
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    gz = next(r for r in doc["regions"] if r["admdvs"] == "440100")
    gz["catalog"] = [{"code": "EX-DRUG-A", "name": "药品甲", "chrgitm_lv": "01", "selfpay_prop": "0",
                      "pric_uplmt_amt": None, "med_chrgitm_type": "09"}]
    if mapping_check is not None:
        sz = next(r for r in doc["regions"] if r["admdvs"] == "440300")
        sz.setdefault("settings", {})["mapping_check"] = mapping_check
    return doc


@pytest.fixture
def mp(platform):
    load_document(platform.store, world_doc())
    return platform


def row(code: str = "H-A", med: str = "EX-DRUG-A", *, list_type: str = "101", begn: str = "2026-01-01",
        end: str = "2026-12-31", **more) -> dict:
    return {"fixmedins_hilist_id": code, "fixmedins_hilist_name": "院内" + code, "list_type": list_type,
            "med_list_codg": med, "begndate": begn, "enddate": end, **more}


def refused(client, infno: str, input_: dict) -> str:
    with pytest.raises(PlatformError) as err:
        client.ok(infno, input_)
    return err.value.err_msg


def q(client, infno: str = "1317", **filters) -> dict:
    data = {"updt_time": "2000-01-01", "page_num": 1, "page_size": 100, **filters}
    return client.ok(infno, {"data": data})


# -- 3301 / 1316 / 1317 -----------------------------------------------------------------------------------

def test_3301_nt_object_then_1317_and_1316_show_the_mapping(mp):
    h = mp.client()
    out = h.ok("3301", {"data": row(aprvno="国药准字H1", spec="0.25g", memo="备注一")})
    [kept] = out["result"]
    assert kept["fixmedins_hilist_id"] == "H-A" and kept["replaced_rid"] == "" and len(kept["rid"]) == 30
    page = q(h)
    assert (page["recordCounts"], page["pages"], page["pageNum"], page["size"], page["startRow"]) == (1, 1, 1, 1, 1)
    [r] = page["data"]
    want = {"fixmedins_code": SZ, "medins_list_codg": "H-A", "fixmedins_hilist_id": "H-A",
            "medins_list_name": "院内H-A", "list_type": "101", "med_list_codg": "EX-DRUG-A",
            "begndate": "2026-01-01", "enddate": "2026-12-31", "vali_flag": "1", "aprvno": "国药准字H1",
            "spec": "0.25g", "memo": "备注一", "insu_admdvs": "440300", "rid": kept["rid"], "crter_id": "op01",
            "crte_optins_no": SZ, "map_stas": "active", "end_msgid": ""}
    assert {k: r[k] for k in want} == want
    assert r["crte_time"].startswith(DAY) and r["crte_msgid"].startswith(SZ)
    [m] = q(h, "1316", medins_list_codg="H-A")["data"]
    assert (m["med_list_codg"], m["hilist_code"], m["list_type"], m["vali_flag"]) == ("EX-DRUG-A",) * 2 + ("101", "1")


def test_3301_gz_catalogcompin_list_and_medins_list_codg_spelling(mp):
    h = mp.client()
    rows = [row("H-A"), {"medins_list_codg": "H-B", "medins_list_name": "乙", "list_type": "101",
                         "med_list_codg": "EX-DRUG-B", "begndate": "2026-01-01", "enddate": "",
                         "drugadm_strdcod": "86900001", "pric": "12.5"}]
    out = h.ok("3301", {"catalogcompin": rows})
    assert [x["fixmedins_hilist_id"] for x in out["result"]] == ["H-A", "H-B"]
    b = q(h, medins_list_codg="H-B")["data"][0]
    assert (b["medins_list_name"], b["enddate"], b["drugadm_strdcod"], b["pric"]) == ("乙", "", "86900001", "12.5")
    # a data list is accepted too
    h.ok("3301", {"data": [row("H-C", "EX-DRUG-B")]})
    assert q(h)["recordCounts"] == 3


def test_reupload_closes_the_previous_mapping_and_1317_keeps_the_history(mp):
    h = mp.client()
    first = h.ok("3301", {"data": row("H-A", "EX-DRUG-A")})["result"][0]
    second = h.ok("3301", {"data": row("H-A", "EX-DRUG-B", begn=DAY)})["result"][0]
    assert second["replaced_rid"] == first["rid"]
    rows = {r["rid"]: r for r in q(h)["data"]}
    old, new = rows[first["rid"]], rows[second["rid"]]
    assert (old["vali_flag"], old["map_stas"], old["enddate"]) == ("0", "closed", "2026-03-15")
    assert old["end_msgid"] == new["crte_msgid"] and old["opter_id"] == "op01"
    assert (new["vali_flag"], new["med_list_codg"], new["begndate"]) == ("1", "EX-DRUG-B", DAY)
    assert [r["rid"] for r in q(h, vali_flag="1")["data"]] == [second["rid"]]
    assert [r["rid"] for r in q(h, vali_flag="0")["data"]] == [first["rid"]]
    assert [r["rid"] for r in q(h, query_date="2026-02-01")["data"]] == [first["rid"]]
    assert [r["rid"] for r in q(h, "1316", hilist_code="EX-DRUG-B")["data"]] == [second["rid"]]
    # paging: one row a page
    p2 = q(h, page_size=1, page_num=2)
    assert (p2["recordCounts"], p2["pages"], p2["size"], p2["startRow"], p2["lastPage"]) == (2, 2, 1, 2, 2)
    with mp.store.unit_of_work() as s:
        active = s.scalars(select(CatalogMapping).where(CatalogMapping.status == "active")).all()
        assert [m.rid for m in active] == [second["rid"]]


def test_3302_cancels_the_mapping_in_force_and_refuses_when_there_is_none(mp):
    h = mp.client()
    made = h.ok("3301", {"data": row("H-A")})["result"][0]
    assert "has list_type 101, not 201" in refused(h, "3302", {"data": {
        "fixmedins_code": SZ, "fixmedins_hilist_id": "H-A", "list_type": "201", "med_list_codg": "EX-DRUG-A"}})
    assert refused(h, "3302", {"data": {"fixmedins_code": SZ, "fixmedins_hilist_id": "H-A", "list_type": "101",
                                        "med_list_codg": "EX-DRUG-B"}}).startswith("input.data.med_list_codg:")
    out = h.ok("3302", {"catalogcompin": {"fixmedins_code": SZ, "fixmedins_hilist_id": "H-A", "list_type": "101",
                                          "med_list_codg": "EX-DRUG-A"}})
    assert out["result"] == [{"fixmedins_hilist_id": "H-A", "rid": made["rid"]}]
    [r] = q(h)["data"]
    assert (r["vali_flag"], r["map_stas"]) == ("0", "cancelled") and r["end_msgid"]
    err = refused(h, "3302", {"data": {"fixmedins_code": SZ, "fixmedins_hilist_id": "H-A", "list_type": "101",
                                       "med_list_codg": "EX-DRUG-A"}})
    assert err == "input.data.fixmedins_hilist_id: H-A has no mapping in force at this institution"
    assert refused(h, "3302", {"data": {"fixmedins_code": GZ, "fixmedins_hilist_id": "H-A"}}).startswith(
        "input.data.fixmedins_code:")
    # cancelled, the code can be mapped again
    h.ok("3301", {"data": row("H-A")})
    assert q(h, vali_flag="1")["recordCounts"] == 1


@pytest.mark.parametrize(("change", "expected"), [
    ({"med_list_codg": "NO-SUCH"}, "input.data.med_list_codg: NO-SUCH is not in the catalog of region 440300"),
    ({"list_type": "999"}, "input.data.list_type: '999' is not a code of list_type"),
    ({"list_type": 101}, "input.data.list_type: must be a code of list_type as a string"),
    ({"enddate": "2025-12-31"}, "input.data.enddate: 2025-12-31 is before begndate 2026-01-01"),
    ({"begndate": "2026-13-01"}, "input.data.begndate: must be a date as yyyy-MM-dd"),
    ({"fixmedins_hilist_id": ""}, "input.data.fixmedins_hilist_id: is required"),
    ({"medins_list_codg": "H-Z"}, "input.data.medins_list_codg: H-Z differs from fixmedins_hilist_id H-A"),
])
def test_3301_refusals_write_nothing(mp, change, expected):
    h = mp.client()
    err = refused(h, "3301", {"data": {**row(), **change}})
    assert err.startswith(expected), err
    assert q(h)["recordCounts"] == 0


def test_3301_refuses_a_bad_node_and_a_code_twice_in_one_message(mp):
    h = mp.client()
    assert refused(h, "3301", {}).startswith("input.data: is required")
    assert refused(h, "3301", {"data": row(), "catalogcompin": [row()]}).startswith("input.data: send the rows")
    assert refused(h, "3301", {"catalogcompin": []}).startswith("input.catalogcompin: must be an object")
    err = refused(h, "3301", {"catalogcompin": [row("H-A"), row("H-B"), row("H-A", "EX-DRUG-B")]})
    assert err.startswith("input.catalogcompin[2].fixmedins_hilist_id: H-A is also mapped by input.catalogcompin[0]")
    err = refused(h, "3301", {"catalogcompin": [row("H-A"), row("H-B", list_type="7")]})
    assert err.startswith("input.catalogcompin[1].list_type:")
    assert q(h)["recordCounts"] == 0


def test_another_institution_sees_only_its_own_mappings(mp):
    sz, gz = mp.client(SZ), mp.client(GZ)
    sz.ok("3301", {"data": row("H-A")})
    gz.ok("3301", {"data": row("H-A")})  # the same HIS code at another institution is another mapping
    gz.ok("3301", {"data": row("H-G")})
    assert [r["fixmedins_code"] for r in q(sz)["data"]] == [SZ]
    assert {r["medins_list_codg"] for r in q(gz)["data"]} == {"H-A", "H-G"}
    assert all(r["insu_admdvs"] == "440100" for r in q(gz, "1316")["data"])
    assert refused(gz, "1317", {"data": {"fixmedins_code": SZ, "updt_time": "2000-01-01", "page_num": 1,
                                         "page_size": 10}}).startswith("input.data.fixmedins_code:")
    assert "not in the catalog of region 440100" in refused(gz, "3301", {"data": row("H-X", "EX-DRUG-B")})
    # GZ cannot cancel SZ's mapping: it has none of its own under that code once its own is cancelled
    gz.ok("3302", {"data": {"fixmedins_hilist_id": "H-A"}})
    assert "no mapping in force" in refused(gz, "3302", {"data": {"fixmedins_hilist_id": "H-A"}})
    assert q(sz, vali_flag="1")["recordCounts"] == 1


def test_queries_need_no_sign_in_but_uploads_do_and_a_retried_msgid_commits_once(mp):
    h = mp.client()
    query = {"data": {"updt_time": "2000-01-01", "page_num": 1, "page_size": 10}}
    for infno in ("1316", "1317"):
        answer = h.send(h.envelope(infno, query))
        assert answer["infcode"] == 0 and answer["output"]["recordCounts"] == 0
    answer = h.send(h.envelope("3301", {"data": row()}))
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("sign_no:")
    envelope = h.envelope("3301", {"data": row()}, sign_no=h.sign_no())
    first, again = h.send(envelope), h.send(envelope)
    assert first["infcode"] == 0 and again["output"] == first["output"]
    assert q(h)["recordCounts"] == 1


@pytest.mark.parametrize(("bad", "expected"), [
    ({"page_num": 0}, "input.data.page_num: must be at least 1"),
    ({"page_size": 5000}, "input.data.page_size: must be at most 1000"),
    ({"updt_time": None}, "input.data.updt_time: must be a time"),
    ({"vali_flag": "2"}, "input.data.vali_flag: must match"),
])
def test_query_refusals(mp, bad, expected):
    err = refused(mp.client(), "1317", {"data": {"updt_time": "2000-01-01", "page_num": 1, "page_size": 10, **bad}})
    assert err.startswith(expected), err


# -- a parallel double upload ------------------------------------------------------------------------------

def test_a_parallel_double_upload_leaves_one_mapping_in_force(mp):
    h = mp.client()
    h.ok("3301", {"data": row("H-A")})  # a mapping in force that both racers want to replace
    gateway = mp.app.state.gateway
    bodies = [wire.encode(h.envelope("3301", {"data": row("H-A", med, begn=DAY)}, sign_no=h.sign_no()))
              for med in ("EX-DRUG-A", "EX-DRUG-B", "EX-DRUG-A", "EX-DRUG-B")]
    start = threading.Barrier(len(bodies))
    answers: list[dict | None] = [None] * len(bodies)

    def send(i: int) -> None:
        headers = signed_headers(SZ, "test-secret-sz")
        start.wait()
        answers[i] = gateway.handle(headers, bodies[i], None)[1]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(a is not None for a in answers)
    for a in answers:
        assert a["infcode"] == 0 or a["err_msg"].startswith("medins_list_codg: a concurrent 3301"), a["err_msg"]
    assert any(a["infcode"] == 0 for a in answers)
    with mp.store.unit_of_work() as s:
        rows = s.scalars(select(CatalogMapping).where(CatalogMapping.medins_list_codg == "H-A")).all()
    assert sum(1 for m in rows if m.status == "active") == 1
    assert len(rows) == 1 + sum(1 for a in answers if a["infcode"] == 0)


# -- mapping_check on 2204 ---------------------------------------------------------------------------------

def _visit(client) -> str:
    n = next(_serial)
    reg = client.ok("2201", {"data": {"psn_no": PSN, "insutype": "310", "begntime": f"{DAY} 09:00:00",
                                      "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO, "ipt_otp_no": f"OTP-M{n:04d}",
                                      "atddr_no": "DR01", "dr_name": "医生", "dept_code": "D01", "dept_name": "内科",
                                      "caty": "A03"}}, "440300")
    mdtrt_id = reg["data"]["mdtrt_id"]
    client.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": PSN, "med_type": "11",
                                     "begntime": f"{DAY} 09:00:00"}, "diseinfo": []}, "440300")
    return mdtrt_id


def _lines(mdtrt_id: str, items: list[tuple[str, str]]) -> dict:
    return {"feedetail": [{"feedetl_sn": f"L{i}", "mdtrt_id": mdtrt_id, "psn_no": PSN, "chrg_bchno": "B1",
                           "fee_ocur_time": f"{DAY} 09:30:00", "med_list_codg": med, "medins_list_codg": his,
                           "det_item_fee_sumamt": "10.00", "cnt": "1", "pric": "10.00"}
                          for i, (his, med) in enumerate(items)]}


@pytest.mark.parametrize("setting", [None, "off", "warn", "refuse"])
def test_2204_under_each_mapping_check(platform, setting):
    load_document(platform.store, world_doc(setting))
    h = platform.client()
    h.ok("3301", {"data": row("H-A", "EX-DRUG-A")})
    h.ok("3301", {"data": row("H-LATE", "EX-DRUG-B", begn="2026-04-01")})  # not yet in force on the fee's day
    mdtrt_id = _visit(h)
    # mapped as named, unmapped, mapped to another code, not yet in force, empty
    items = [("H-A", "EX-DRUG-A"), ("H-NONE", "EX-DRUG-A"), ("H-A", "EX-DRUG-B"), ("H-LATE", "EX-DRUG-B"),
             ("", "EX-DRUG-A")]
    answer = h.call("2204", _lines(mdtrt_id, items), "440300")
    problems = [
        "input.feedetail[1].medins_list_codg: H-NONE has no mapping (3301) in force on 2026-03-16",
        "input.feedetail[2].medins_list_codg: H-A is mapped to EX-DRUG-A on 2026-03-16, not to med_list_codg "
        "EX-DRUG-B",
        "input.feedetail[3].medins_list_codg: H-LATE has no mapping (3301) in force on 2026-03-16",
        "input.feedetail[4].medins_list_codg: is empty; this region checks every line's HIS code against the "
        "institution's mappings (3301)",
    ]
    if setting == "refuse":
        assert answer["infcode"] == -1 and answer["err_msg"] == problems[0]
        assert h.ok("5204", {"data": {"psn_no": PSN, "setl_id": "", "mdtrt_id": mdtrt_id}}, "440300")["data"] == []
        # the mapped line alone passes
        ok = h.call("2204", _lines(mdtrt_id, items[:1]), "440300")
        assert ok["infcode"] == 0 and ok["warn_msg"] == ""
        return
    assert answer["infcode"] == 0, answer["err_msg"]
    assert len(answer["output"]["result"]) == len(items)
    assert answer["warn_msg"] == ("; ".join(problems) if setting == "warn" else "")


def test_2101_pharmacy_pre_settlement_under_refuse(platform):
    doc = world_doc("refuse")
    doc["regions"][0]["policies"].append({"insutype": "310", "med_types": ["41"], "bucket": "pharmacy",
                                          "deductible": "0.00", "ratio": "0", "annual_cap": "0.00",
                                          "acct_scope": "all"})
    doc["institutions"].append({"code": "P44030000001", "name": "深圳示例药房", "admdvs": "440300",
                                "kind": "pharmacy", "xregion": "provincial", "secret": "test-secret-ph"})
    load_document(platform.store, doc)
    platform.SECRETS = {**platform.SECRETS, "P44030000001": ("test-secret-ph", "440300")}
    ph = platform.client("P44030000001")
    drugs = [{"feedetl_sn": "D1", "fee_ocur_time": f"{DAY} 10:00:00", "med_list_codg": "EX-DRUG-A",
              "medins_list_codg": "P-A", "det_item_fee_sumamt": "60.00", "cnt": "3", "pric": "20.00"}]
    info = {"psn_no": PSN, "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO, "begntime": f"{DAY} 10:00:00",
            "medfee_sumamt": "60.00", "insutype": "310", "acct_used_flag": "1", "med_type": "41"}
    assert refused(ph, "2101", {"druginfo": info, "drugdetail": drugs}) == (
        "input.drugdetail[0].medins_list_codg: P-A has no mapping (3301) in force on 2026-03-16")
    ph.ok("3301", {"data": row("P-A", "EX-DRUG-A")})
    assert ph.ok("2101", {"druginfo": info, "drugdetail": drugs})["setlinfo"]["medfee_sumamt"] == 60


def test_a_bad_mapping_check_setting_is_refused_by_the_dataset(store):
    with pytest.raises(DatasetError) as err:
        load_document(store, world_doc("strict"))
    assert "regions[0].settings.mapping_check: must be one of off, warn, refuse" in str(err.value)


# -- the pure rules ---------------------------------------------------------------------------------------

D = date.fromisoformat


def test_rule_row_problem():
    assert rules.row_problem("101", D("2026-01-01"), None) is None
    assert rules.row_problem("201", D("2026-01-01"), D("2026-01-01")) is None
    assert rules.row_problem("100", D("2026-01-01"), None)[0] == "list_type"
    assert rules.row_problem("101", D("2026-01-02"), D("2026-01-01")) == (
        "enddate", "2026-01-01 is before begndate 2026-01-02")


def test_rule_closing_enddate():
    assert rules.closing_enddate(D("2026-12-31"), D("2026-03-16")) == D("2026-03-15")
    assert rules.closing_enddate(None, D("2026-03-16")) == D("2026-03-15")
    assert rules.closing_enddate(D("2026-02-01"), D("2026-03-16")) == D("2026-02-01")  # ended already


def test_rule_line_problem_and_verdict():
    windows = [rules.Window("X1", D("2026-01-01"), D("2026-02-28")), rules.Window("X2", D("2026-03-01"), None)]
    assert rules.line_problem("H", "X1", D("2026-02-28"), windows) is None
    assert rules.line_problem("H", "X2", D("2027-05-01"), windows) is None
    assert rules.line_problem("H", "X1", D("2026-03-01"), windows) == (
        "H is mapped to X2 on 2026-03-01, not to med_list_codg X1")
    assert rules.line_problem("H", "X1", D("2025-12-31"), windows) == "H has no mapping (3301) in force on 2025-12-31"
    assert rules.line_problem("", "X1", D("2026-01-01"), windows).startswith("is empty")
    assert rules.verdict("warn", None) == rules.verdict("off", "x") == rules.verdict("bogus", "x") == rules.OFF
    assert rules.verdict("warn", "x") == rules.WARN and rules.verdict("refuse", "x") == rules.REFUSE


def test_rule_setting_problem():
    assert [rules.setting_problem(v) for v in ("off", "warn", "refuse")] == [None, None, None]
    assert rules.setting_problem("on") == rules.setting_problem(True) == "must be one of off, warn, refuse"


def test_an_empty_window_covers_nothing():
    assert not rules.Window("X", D("2026-03-16"), D("2026-03-15")).covers(D("2026-03-16"))


def test_query_bounds_no_larger_than_the_columns(mp):
    h = mp.client()
    for bad, path in (({"page_num": 10 ** 30}, "page_num"), ({"insu_admdvs": "4" * 7}, "insu_admdvs")):
        err = refused(h, "1317", {"data": {"updt_time": "2000-01-01", "page_num": 1, "page_size": 10, **bad}})
        assert err.startswith(f"input.data.{path}: "), err


# -- list_type held to the item's catalog ------------------------------------------------------------------

def test_3301_list_type_must_be_the_catalog_of_the_item(platform):
    doc = world_doc()
    sz = next(r for r in doc["regions"] if r["admdvs"] == "440300")
    sz["catalog"].append({"code": "EX-PREP-A", "name": "院内制剂甲", "chrgitm_lv": "02", "selfpay_prop": "0.1",
                          "pric_uplmt_amt": None, "med_chrgitm_type": "09", "list_type": "103"})
    load_document(platform.store, doc)
    h = platform.client()
    err = refused(h, "3301", {"data": row("H-A", list_type="301")})
    assert err == "input.data.list_type: EX-DRUG-A is in catalog 101 (西药中成药), not 301 (医用耗材)", err
    err = refused(h, "3301", {"catalogcompin": [row("H-B", "EX-DRUG-B"), row("H-C", "EX-PREP-A")]})
    assert err.startswith("input.catalogcompin[1].list_type: EX-PREP-A is in catalog 103"), err
    h.ok("3301", {"catalogcompin": [row("H-B", "EX-DRUG-B"), row("H-C", "EX-PREP-A", list_type="103")]})
    assert q(h)["recordCounts"] == 2


def test_rule_list_type_problem():
    assert rules.list_type_problem("EX", "101", "101") is None
    assert rules.list_type_problem("EX", "301", "101") == "EX is in catalog 101 (西药中成药), not 301 (医用耗材)"
