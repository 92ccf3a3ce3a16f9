"""2001 人员待遇享受检查 and 5302 人员定点信息查询 through the wire, and the pure rules of rules/entitlement.py.

The world (tests/data/world.yaml, business day 2026-03-16): 张三 (SZ, 310, M01600 recognised since 2025-06-01),
李四 (SZ, 390), 王五 (insured in Guangzhou, treated in Shenzhen: in-province), 赵六 (insured in Taiyuan with a
long-term-resident filing to 440300 for 2026: cross-province). H44030000001 is national, H44010000001
provincial.
"""

from __future__ import annotations

from datetime import date

import pytest
import yaml
from helpers import WORLD, Platform

from yibao.api.tokens import issue, signing_key
from yibao.client import PlatformError
from yibao.dataset.loader import load_document
from yibao.rules import entitlement as rules

SZ, LI, GZ, TY = "44030000000000000001", "44030000000000000002", "44010000000000000001", "14010000000000000001"
GZ_HOSPITAL = "H44010000001"
DAY = "2026-03-16 09:00:00"


def ask(client, psn_no=SZ, insuplc="440300", **over) -> list[dict]:
    data = {"psn_no": psn_no, "insutype": "310", "fixmedins_code": client.code, "med_type": "11",
            "begntime": DAY, **over}
    return client.ok("2001", {"data": data}, insuplc)["trtinfo"]


def items(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["chk_item"], []).append(r)
    return out


def refused(client, infno: str, data: dict, insuplc: str = "440300") -> str:
    with pytest.raises(PlatformError) as err:
        client.ok(infno, {"data": data}, insuplc)
    return err.value.err_msg


@pytest.fixture
def shaped(store, monkeypatch):
    """A platform on the world changed by `change(doc)` before it loads."""
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-16")

    def make(change=None) -> Platform:
        doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
        if change:
            change(doc)
        load_document(store, doc)
        return Platform(store)
    return make


def person_doc(doc: dict, psn_no: str) -> dict:
    return next(p for p in doc["persons"] if p["psn_no"] == psn_no)


# -- insurance status --------------------------------------------------------------------------------------

def test_a_local_person_in_good_standing_enjoys_the_pooled_fund(platform):
    rows = ask(platform.client())
    [insu] = items(rows)["insu_stas"]
    assert insu == {"psn_no": SZ, "trt_chk_type": "01", "fund_pay_type": "310100", "trt_enjymnt_flag": "1",
                    "begndate": "2026-03-16", "enddate": "", "trt_chk_rslt": "insured under 310, benefits normal",
                    "chk_item": "insu_stas"}
    assert set(items(rows)) == {"insu_stas", "disease"}  # local: no cross-region rows, no arrears, no suspension


def test_another_insurance_type_or_a_later_start_or_suspended_benefits_do_not_enjoy(shaped):
    def change(doc):
        person_doc(doc, SZ)["insu_date"] = "2026-04-01"
        person_doc(doc, LI)["suspended"] = True
    p = shaped(change)
    h = p.client()
    [other] = items(ask(h, insutype="390"))["insu_stas"]
    assert other["trt_enjymnt_flag"] == "0" and other["fund_pay_type"] == "390100"
    assert other["trt_chk_rslt"] == "the person is insured under 310, not 390"
    [later] = items(ask(h))["insu_stas"]
    assert later["trt_enjymnt_flag"] == "0" and "from 2026-04-01, after 2026-03-16" in later["trt_chk_rslt"]
    [on_day] = items(ask(h, begntime="2026-04-01 08:00:00"))["insu_stas"]
    assert on_day["trt_enjymnt_flag"] == "1" and on_day["begndate"] == "2026-04-01"
    [held] = items(ask(h, LI, insutype="390"))["insu_stas"]
    assert held["trt_enjymnt_flag"] == "0" and "psn_insu_stas 2" in held["trt_chk_rslt"]


# -- arrears -------------------------------------------------------------------------------------------------

def test_arrears_are_a_row_of_their_own_and_the_pooled_fund_still_pays(shaped):
    """Family mutual aid is withheld in arrears only where the insured region's arrears_blocks_mutual_aid says so
    (太原 并医险中心字〔2022〕126号 五(一)); by default it is still used."""
    def change(doc: dict) -> None:
        person_doc(doc, SZ).update(arrears=True)
        doc["regions"][0].setdefault("settings", {})["arrears_blocks_mutual_aid"] = True
    h = shaped(change).client()
    [owed] = items(ask(h))["arrears"]
    assert owed["trt_chk_type"] == "99" and owed["trt_enjymnt_flag"] == "1"
    assert "unpaid: 2026-02" in owed["trt_chk_rslt"] and "still used" in owed["trt_chk_rslt"]
    [pooled] = items(ask(h, med_type="14", dise_codg="M01600"))["arrears"]
    assert "not used for this benefit" in pooled["trt_chk_rslt"]


def test_arrears_leave_mutual_aid_alone_where_the_region_has_no_such_rule(shaped):
    h = shaped(lambda doc: person_doc(doc, SZ).update(arrears=True)).client()
    [pooled] = items(ask(h, med_type="14", dise_codg="M01600"))["arrears"]
    assert "family mutual aid is still used for med_type 14" in pooled["trt_chk_rslt"]


def test_no_arrears_no_row(platform):
    assert "arrears" not in items(ask(platform.client()))


# -- suspension of direct settlement -------------------------------------------------------------------------

def test_a_suspension_by_the_treatment_region_is_a_row_until_it_is_lifted(platform):
    h = platform.client()
    assert "suspension" not in items(ask(h, GZ, "440100"))
    agency = {"Authorization": "Bearer " + issue(signing_key(platform.store), "agency", "440300")}
    r = platform.http.post("/api/v1/agency/suspensions", headers=agency, json={"psn_no": GZ, "reason": "骗保调查"})
    assert r.status_code == 201, r.text
    [row] = items(ask(h, GZ, "440100"))["suspension"]
    assert row["trt_enjymnt_flag"] == "0" and "骗保调查" in row["trt_chk_rslt"] and row["begndate"] == "2026-03-16"
    lifted = platform.http.post(f"/api/v1/agency/suspensions/{r.json()['id']}/lift", headers=agency,
                                json={"reason": "调查结束"})
    assert lifted.status_code == 200, lifted.text
    assert "suspension" not in items(ask(h, GZ, "440100"))


# -- cross-region: qualification, filing, the chosen institution ---------------------------------------------

def test_an_in_province_case_needs_the_qualification_but_no_filing(platform):
    rows = items(ask(platform.client(), GZ, "440100"))
    [xr] = rows["xregion"]
    assert xr["trt_enjymnt_flag"] == "1" and xr["trt_chk_rslt"].startswith("in-province case")
    assert "filing" not in rows


def test_a_cross_province_case_shows_the_covering_filing_or_why_none_covers(platform):
    h = platform.client()
    rows = items(ask(h, TY, "140100"))
    [xr], [fl] = rows["xregion"], rows["filing"]
    assert xr["trt_enjymnt_flag"] == "1" and xr["trt_chk_rslt"].startswith("cross-province case")
    assert fl["trt_enjymnt_flag"] == "1" and (fl["begndate"], fl["enddate"]) == ("2026-01-01", "2026-12-31")
    assert "异地长期居住" in fl["trt_chk_rslt"]
    [late] = items(ask(h, TY, "140100", begntime="2027-01-04 10:00:00"))["filing"]
    assert late["trt_enjymnt_flag"] == "0" and "ended 2026-12-31" in late["trt_chk_rslt"]
    # at the provincial hospital of Guangzhou: not qualified for a cross-province case, and not filed there
    gz = items(ask(platform.client(GZ_HOSPITAL), TY, "140100"))
    assert gz["xregion"][0]["trt_enjymnt_flag"] == "0" and "national" in gz["xregion"][0]["trt_chk_rslt"]
    assert gz["filing"][0]["trt_enjymnt_flag"] == "0"


def test_the_chosen_institution_where_the_insured_region_requires_one(shaped):
    def change(doc):
        taiyuan = next(r for r in doc["regions"] if r["admdvs"] == "140100")
        taiyuan["settings"] = {"designated_institutions_required": True}
    p = shaped(change)
    h = p.client()
    [none] = items(ask(h, TY, "140100"))["designated"]
    assert none["trt_enjymnt_flag"] == "0" and "H44030000001" in none["trt_chk_rslt"]
    assert "designated" not in items(ask(h, TY, "140100", med_type="21"))  # a stay: no choice needed
    h.ok("2505", {"data": {"psn_no": TY, "filing_type": "long_term_resident", "dest_fixmedins": "H44030000001",
                           "begndate": "2026-03-01", "enddate": "2026-12-31"}}, "140100")
    [chosen] = items(ask(h, TY, "140100"))["designated"]
    assert chosen["trt_enjymnt_flag"] == "1" and chosen["begndate"] == "2026-03-01"
    assert chosen["trt_chk_rslt"].startswith("the person chose this institution")


# -- chronic/special diseases ---------------------------------------------------------------------------------

def test_recognised_diseases_are_rows_and_a_chronic_visit_needs_the_disease_named(platform):
    h = platform.client()
    [rec] = items(ask(h))["disease"]
    assert rec["trt_enjymnt_flag"] == "1" and rec["begndate"] == "2025-06-01"
    assert rec["trt_chk_rslt"] == "M01600 糖尿病 recognised"
    assert [r["trt_enjymnt_flag"] for r in items(ask(h, med_type="14", dise_codg="M01600"))["disease"]] == ["1"]
    wrong = items(ask(h, med_type="14", dise_codg="M99999"))["disease"]
    assert [r["trt_enjymnt_flag"] for r in wrong] == ["1", "0"]
    assert "M99999 is not a chronic/special disease recognised" in wrong[1]["trt_chk_rslt"]
    unnamed = items(ask(h, med_type="14"))["disease"]
    assert unnamed[-1]["trt_enjymnt_flag"] == "0" and "name its code" in unnamed[-1]["trt_chk_rslt"]
    assert "disease" not in items(ask(h, LI, insutype="390"))


# -- refusals ---------------------------------------------------------------------------------------------------

def test_2001_refusals(platform):
    h = platform.client()
    base = {"psn_no": SZ, "insutype": "310", "fixmedins_code": h.code, "med_type": "11", "begntime": DAY}
    assert refused(h, "2001", {**base, "psn_no": "44039999"}) == "input.data.psn_no: no insured person 44039999"
    assert refused(h, "2001", {**base, "insutype": "999"}).startswith(
        "input.data.insutype: '999' is not a code of insutype")
    assert refused(h, "2001", {**base, "med_type": "77"}).startswith(
        "input.data.med_type: '77' is not a code of med_type")
    assert refused(h, "2001", {**base, "begntime": "2026/03/16"}) == \
        "input.data.begntime: must be a time as yyyy-MM-dd HH:mm:ss"
    assert refused(h, "2001", {**base, "endtime": "2026-03-15 09:00:00"}) == \
        "input.data.endtime: 2026-03-15 09:00:00 is before begntime 2026-03-16 09:00:00"
    assert refused(h, "2001", {**base, "fixmedins_code": GZ_HOSPITAL}).startswith(
        "input.data.fixmedins_code: H44010000001 is not the calling institution")
    assert refused(h, "2001", {**base, "psn_no": GZ}).startswith("insuplc_admdvs: must name the person's insured")
    assert refused(h, "2001", {k: v for k, v in base.items() if k != "med_type"}) == \
        "input.data.med_type: is required"


# -- 5302 -----------------------------------------------------------------------------------------------------

def test_5302_lists_filings_in_force_and_to_come(platform):
    h = platform.client()
    assert h.ok("5302", {"data": {"psn_no": SZ, "biz_appy_type": "03"}}, "440300")["psnfixmedin"] == []
    h.ok("2505", {"data": {"psn_no": TY, "filing_type": "posted_worker", "dest_fixmedins": "H44030000001",
                           "begndate": "2026-04-01", "enddate": "2026-09-30"}}, "140100")
    rows = h.ok("5302", {"data": {"psn_no": TY, "biz_appy_type": "03"}}, "140100")["psnfixmedin"]
    assert [(r["fix_srt_no"], r["fixmedins_code"], r["fixmedins_name"], r["begndate"], r["enddate"], r["in_force"])
            for r in rows] == [("1", "", "深圳市", "2026-01-01", "2026-12-31", "1"),
                               ("2", "H44030000001", "深圳示例医院", "2026-04-01", "2026-09-30", "0")]
    assert rows[0]["insutype"] == "310" and rows[0]["memo"].startswith("异地长期居住")
    assert rows[1]["filing_type"] == "posted_worker" and rows[1]["dest_admdvs"] == ""


def test_5302_refusals(platform):
    h = platform.client()
    assert refused(h, "5302", {"psn_no": TY, "biz_appy_type": "03"}).startswith("insuplc_admdvs:")
    assert refused(h, "5302", {"psn_no": "X1", "biz_appy_type": "03"}) == "input.data.psn_no: no insured person X1"
    assert refused(h, "5302", {"psn_no": SZ, "biz_appy_type": ""}).startswith("input.data.biz_appy_type:")


# -- the pure rules ----------------------------------------------------------------------------------------------

def test_rules_insurance_status_and_fund_codes():
    day = date(2026, 3, 16)
    ok = rules.insurance_status(asked="390", held="390", insu_date=None, suspended=False, day=day)
    assert ok.enjoys and ok.begndate == day
    assert not rules.insurance_status(asked="390", held="390", insu_date=None, suspended=True, day=day).enjoys
    assert rules.fund_pay_type("510") == "510100" and rules.inpatient("21") and rules.inpatient("5212")
    assert not rules.inpatient("14")


def test_rules_arrears_diseases_and_rows():
    day = date(2026, 3, 16)
    assert rules.arrears(in_arrears=False, unpaid=["2026-02"], med_type="11", day=day, pooled=False) is None
    owed = rules.arrears(in_arrears=True, unpaid=[], med_type="21", day=day, pooled=True)
    assert owed is not None and owed.trt_chk_type == "99" and "not used" in owed.text
    rec = [rules.Recognised("M1", "甲", date(2026, 1, 1), date(2026, 2, 28)), rules.Recognised("M2", "乙", None, None)]
    found = rules.diseases(med_type="14", dise_codg="M1", recognised=rec, day=day, problem=None)
    assert [(f.text, f.enjoys) for f in found] == [("M2 乙 recognised", True), ("M1 is not recognised for this "
                                                                              "person", False)]
    [row] = rules.rows("P1", "310", [rules.verdict("filing", "none", day=day, ok_text="")])
    assert row["trt_enjymnt_flag"] == "0" and row["fund_pay_type"] == "310100" and row["begndate"] == "2026-03-16"
    assert rules.enjoys([]) and not rules.enjoys(found)


def test_2001_and_5302_refuse_codes_outside_their_dictionaries(platform):
    h = platform.client()
    base = {"psn_no": SZ, "insutype": "510", "fixmedins_code": h.code, "med_type": "52", "begntime": DAY}
    assert refused(h, "2001", {**base, "birctrl_type": "12"}).startswith(
        "input.data.birctrl_type: '12' is not a code of birctrl_type; one of: 1, 2")
    assert refused(h, "2001", {**base, "matn_type": "顺产"}).startswith("input.data.matn_type: ")
    assert refused(h, "5302", {"psn_no": SZ, "biz_appy_type": "0-3"}).startswith("input.data.biz_appy_type: ")
    h.ok("2001", {"data": {**base, "insutype": "310", "med_type": "11", "birctrl_type": "", "matn_type": ""}},
         "440300")
