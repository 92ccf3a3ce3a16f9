"""The catalog queries 1312/1318/1319 page in the database, and the catalog downloads 1301-1315 reuse their file
and purge expired ones, through the wire on SQLite and PostgreSQL (docs/catalogs.md)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import yaml
from helpers import WORLD
from sqlalchemy import event, func, select

from yibao.dataset.loader import load_document
from yibao.store.models import CatalogRow, StoredFile

#: items 0..29: even ones valid from 2026-01-01, every third ends 2026-02-28, the names say which is which
N = 30


def world_doc(renamed: int | None = None) -> dict:
    doc = copy.deepcopy(yaml.safe_load(WORLD.read_text(encoding="utf-8")))
    sz = doc["regions"][0]
    for i in range(N):
        details = {"拼音助记码": f"PY{i % 3}"}
        if i % 2 == 0:
            details["开始日期"] = "2026-01-01"
        if i % 3 == 0:
            details["结束日期"] = "2026-02-28"
        name = f"{'Tablet' if i % 2 else 'tablet'} {i:02d}" + (" (renamed)" if i == renamed else "")
        sz["catalog"].append({"code": f"EX-T-{i:02d}", "name": name, "chrgitm_lv": "01", "med_chrgitm_type": "09",
                              "selfpay_prop": {"310": "0.10", "390": "0.20"} if i % 5 == 0 else "0",
                              "pric_uplmt_amt": "9.00" if i % 4 == 0 else None, "details": details})
    return doc


@pytest.fixture
def his(platform):
    load_document(platform.store, world_doc())
    return platform.client()


@contextmanager
def rows_loaded() -> Iterator[list[str]]:
    """The codes of the catalog rows the ORM builds while the block runs."""
    seen: list[str] = []

    def on_load(target: CatalogRow, _context: object) -> None:
        seen.append(target.code)

    event.listen(CatalogRow, "load", on_load)
    try:
        yield seen
    finally:
        event.remove(CatalogRow, "load", on_load)


def page(client, infno: str, **data) -> dict:
    return client.ok(infno, {"data": {"updt_time": "2000-01-01", "page_num": 1, "page_size": 10, **data}})


def codes(out: dict) -> list[str]:
    return [r["hilist_code"] for r in out["data"]]


# -- 1312 / 1318 / 1319 in SQL ----------------------------------------------------------------------------------

def test_a_page_loads_only_its_own_rows(his):
    with rows_loaded() as seen:
        out = page(his, "1312", page_size=3, page_num=4)
    assert (out["recordCounts"], out["pages"], out["startRow"]) == (N + 2, 11, 10)
    assert codes(out) == ["EX-T-07", "EX-T-08", "EX-T-09"]
    assert sorted(seen) == codes(out), f"{len(seen)} rows loaded for a page of 3"
    with rows_loaded() as seen:
        out = page(his, "1312", page_size=2, pinyin="PY1", query_date="2026-02-01")
    assert (out["recordCounts"], codes(out)) == (10, ["EX-T-01", "EX-T-04"])
    assert len(seen) == 2


def test_the_filters_keep_their_meaning_in_sql(his):
    everything = page(his, "1312", page_size=1000)["data"]
    assert len(everything) == N + 2
    # a part of the name, case and all
    assert codes(page(his, "1312", hilist_name="tablet 1", page_size=100)) == [f"EX-T-{i}" for i in (10, 12, 14, 16,
                                                                                                   18)]
    assert page(his, "1312", hilist_name="%")["recordCounts"] == 0
    assert page(his, "1312", hilist_name="_ablet")["recordCounts"] == 0
    # valid on a day: no begndate or on/before it, and no enddate or on/after it
    valid = page(his, "1312", query_date="2026-03-16", page_size=100)
    assert codes(valid) == ["EX-DRUG-A", "EX-DRUG-B"] + [f"EX-T-{i:02d}" for i in range(N) if i % 3]
    early = page(his, "1312", query_date="2025-12-31", page_size=100)
    assert codes(early) == ["EX-DRUG-A", "EX-DRUG-B"] + [f"EX-T-{i:02d}" for i in range(N) if i % 2]
    # equal fields, the begndate filter, vali_flag and rid
    assert codes(page(his, "1312", hilist_code="EX-T-05")) == ["EX-T-05"]
    assert page(his, "1312", begndate="2026-01-01", page_size=100)["recordCounts"] == 15
    assert page(his, "1312", enddate="2026-02-28", page_size=100)["recordCounts"] == 10
    assert page(his, "1312", vali_flag="0")["recordCounts"] == 0
    rid = everything[3]["rid"]
    assert codes(page(his, "1312", rid=rid)) == [everything[3]["hilist_code"]]
    assert page(his, "1312", updt_time="2099-01-01")["recordCounts"] == 0
    # 1318 and 1319 rows
    assert page(his, "1318", page_size=100)["recordCounts"] == 1 + len(range(0, N, 4))
    ratios = page(his, "1319", hilist_code="EX-T-05")["data"]
    assert [(r["hilist_code"], r["selfpay_prop_psn_type"]) for r in ratios] == [("EX-T-05", "310"),
                                                                                ("EX-T-05", "390")]
    assert page(his, "1319", selfpay_prop_psn_type="390", page_size=100)["recordCounts"] == 1 + N // 5


def test_a_row_the_dataset_dropped_pages_with_vali_flag_0(his, platform):
    doc = world_doc()
    doc["regions"][0]["catalog"] = [c for c in doc["regions"][0]["catalog"] if c["code"] != "EX-T-03"]
    load_document(platform.store, doc)
    gone = page(his, "1312", vali_flag="0")
    assert (codes(gone), gone["data"][0]["vali_flag"]) == (["EX-T-03"], "0")
    assert page(his, "1312", vali_flag="1", page_size=100)["recordCounts"] == N + 1


# -- 1301-1315: one file per content, expired ones purged --------------------------------------------------------

def platform_files(platform, code: str = "H44030000001") -> list[str]:
    with platform.store.unit_of_work() as s:
        return sorted(s.scalars(select(StoredFile.file_qury_no).where(
            StoredFile.fixmedins_code == code, StoredFile.file_qury_no.startswith("fsi/plc/"))))


def test_a_download_reuses_its_file_while_nothing_changed(his, platform):
    first = his.ok("1301", {"data": {"ver": "0"}})
    again = his.ok("1301", {"data": {}})
    assert again == first and first["data_cnt"] == N + 2
    assert platform_files(platform) == [first["file_qury_no"]]
    # another version held, another catalog, another institution: each a file of its own
    with platform.store.unit_of_work() as s:
        top = s.scalar(select(func.max(CatalogRow.ver)))
    held = his.ok("1301", {"data": {"ver": top}})
    assert held["data_cnt"] == 0 and held["file_qury_no"] != first["file_qury_no"]
    assert his.ok("1301", {"data": {"ver": top + 5}})["file_qury_no"] == held["file_qury_no"]
    assert his.ok("1305", {"data": {}})["file_qury_no"] not in (first["file_qury_no"], held["file_qury_no"])
    gz = platform.client("H44010000001").ok("1301", {"data": {}})
    assert platform_files(platform, "H44010000001") == [gz["file_qury_no"]]
    assert len(platform_files(platform)) == 3
    # a load that changes a row makes the next download a new file
    load_document(platform.store, world_doc(renamed=4))
    changed = his.ok("1301", {"data": {}})
    assert changed["file_qury_no"] != first["file_qury_no"] and changed["data_cnt"] == N + 2
    assert his.ok("1301", {"data": {"ver": top}})["data_cnt"] == 1


def test_a_file_is_reused_for_half_its_time_and_purged_once_expired(his, platform, monkeypatch):
    first = his.ok("1301", {"data": {}})
    assert first["dld_endtime"] == "2026-03-23"
    gz = platform.client("H44010000001").ok("1301", {"data": {}})["file_qury_no"]
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-18")
    assert his.ok("1301", {"data": {}})["file_qury_no"] == first["file_qury_no"]
    # past half its time a new file is made; the old one can still be fetched until its end
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-21")
    later = his.ok("1301", {"data": {}})
    assert later["file_qury_no"] != first["file_qury_no"] and later["dld_endtime"] == "2026-03-28"
    assert platform_files(platform) == sorted([first["file_qury_no"], later["file_qury_no"]])
    # once expired, the caller's next download deletes it; another institution's files are its own business
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-25")
    his.ok("1305", {"data": {}})
    assert first["file_qury_no"] not in platform_files(platform)
    assert later["file_qury_no"] in platform_files(platform)
    assert platform_files(platform, "H44010000001") == [gz]
    got = his.call("9102", {"fsDownloadIn": {"file_qury_no": first["file_qury_no"], "filename": first["filename"],
                                             "fixmedins_code": "plc"}})
    assert got["infcode"] == -1 and "no file" in got["err_msg"]
