"""5201 visits, 5202 diagnoses, 5206 accumulations and 5303 open stays, through the wire on both databases.

张三 (psn 44030000000000000001, insured in Shenzhen) is seen at the Shenzhen hospital (H44030000001) and at
the Guangzhou one (H44010000001, provincial: it serves him as an in-province case). Each institution sees its
own visits; an open stay elsewhere is shown without its numbers.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from yibao.client import PlatformError

SZ = "44030000000000000001"
CERT = {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440301199001011234"}
GZ_HOSPITAL = "H44010000001"
DIAGNOSES = [{"diag_type": "1", "diag_srt_no": "1", "diag_code": "E11.900", "diag_name": "2型糖尿病",
              "diag_dept": "内科", "dise_dor_no": "DR01", "dise_dor_name": "医生", "diag_time": "2026-03-16 09:05:00",
              "vali_flag": "1", "maindiag_flag": "1"},
             {"diag_type": "1", "diag_srt_no": "2", "diag_code": "I10.x00", "diag_name": "高血压",
              "diag_dept": "内科", "diag_dr_code": "DR02", "diag_dr_name": "医生乙",
              "diag_time": "2026-03-16 09:06:00", "vali_flag": "1", "maindiag_flag": "0"}]


def register(client, tag: str, when: str = "2026-03-16 09:00:00", insuplc: str = "440300") -> str:
    out = client.ok("2201", {"data": {"psn_no": SZ, "insutype": "310", "begntime": when, **CERT, "ipt_otp_no": tag,
                                      "atddr_no": "DR01", "dr_name": "医生", "dept_code": "D01", "dept_name": "内科"}},
                    insuplc)
    mdtrt_id = out["data"]["mdtrt_id"]
    client.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": SZ, "med_type": "11", "begntime": when,
                                     "dise_codg": "", "dise_name": "", "main_cond_dscr": "口渴"},
                       "diseinfo": DIAGNOSES}, insuplc)
    return mdtrt_id


def admit(client, tag: str, when: str = "2026-03-10 08:00:00") -> str:
    out = client.ok("2401", {"mdtrtinfo": {"psn_no": SZ, "insutype": "310", "begntime": when, **CERT,
                                           "med_type": "21", "ipt_no": tag, "adm_dept_codg": "W01",
                                           "adm_dept_name": "内科病区", "adm_bed": "12"},
                             "diseinfo": [{**DIAGNOSES[0], "inout_diag_type": "1"}]}, "440300")
    return out["result"]["mdtrt_id"]


def refused(client, infno: str, data: dict, insuplc: str = "440300") -> str:
    with pytest.raises(PlatformError) as err:
        client.ok(infno, {"data": data}, insuplc)
    return err.value.err_msg


WINDOW = {"begntime": "2026-03-01", "endtime": "2026-03-31"}


# -- 5201 ---------------------------------------------------------------------------------------------------

def test_5201_lists_this_institutions_visits_of_the_person_in_the_window(platform):
    h, gz = platform.client(), platform.client(GZ_HOSPITAL)
    first = register(h, "OTP-1")
    stay = admit(h, "IPT-1")
    register(gz, "GZ-OTP-1")  # at another institution: not Shenzhen's to see
    register(h, "OTP-2", when="2026-04-02 10:00:00")  # outside the window
    out = h.ok("5201", {"data": {"psn_no": SZ, **WINDOW}}, "440300")
    rows = out["mdtrtinfo"]
    assert [r["mdtrt_id"] for r in rows] == [stay, first] and out["data"] == rows
    visit = rows[1]
    assert visit["psn_name"] == "张三" and visit["certno"] == "440301199001011234" and visit["med_type"] == "11"
    assert visit["begntime"] == "2026-03-16 09:00:00" and visit["ipt_otp_no"] == "OTP-1"
    assert visit["atddr_no"] == "DR01" and visit["adm_dept_name"] == "内科" and visit["main_cond_dscr"] == "口渴"
    assert visit["inhosp_stas"] == "" and visit["age"] == Decimal("36.0") and visit["insu_optins"] == "440300"
    ipt = rows[0]
    assert ipt["inhosp_stas"] == "1" and ipt["adm_bed"] == "12" and ipt["ipt_days"] == 6 and ipt["med_type"] == "21"
    only = h.ok("5201", {"data": {"psn_no": SZ, **WINDOW, "med_type": "21"}}, "440300")["mdtrtinfo"]
    assert [r["mdtrt_id"] for r in only] == [stay]
    one = h.ok("5201", {"data": {"psn_no": SZ, **WINDOW, "mdtrt_id": first}}, "440300")["mdtrtinfo"]
    assert [r["mdtrt_id"] for r in one] == [first]
    theirs = gz.ok("5201", {"data": {"psn_no": SZ, **WINDOW}}, "440300")["mdtrtinfo"]
    assert [r["ipt_otp_no"] for r in theirs] == ["GZ-OTP-1"]


def test_5201_leaves_out_cancelled_visits(platform):
    h = platform.client()
    mdtrt_id = register(h, "OTP-C")
    h.ok("2202", {"data": {"psn_no": SZ, "mdtrt_id": mdtrt_id}}, "440300")
    assert h.ok("5201", {"data": {"psn_no": SZ, **WINDOW}}, "440300")["mdtrtinfo"] == []


def test_5201_refusals(platform):
    h = platform.client()
    assert refused(h, "5201", {"psn_no": SZ, "begntime": "2026-03-31", "endtime": "2026-03-01"}) == \
        "input.data.endtime: 2026-03-01 23:59:59 is before begntime 2026-03-31 00:00:00"
    assert refused(h, "5201", {"psn_no": SZ, "begntime": "yesterday", "endtime": "2026-03-01"}).startswith(
        "input.data.begntime: must be a time")
    assert refused(h, "5201", {"psn_no": "NOBODY", **WINDOW}) == "input.data.psn_no: no insured person NOBODY"
    assert refused(h, "5201", {"psn_no": SZ, **WINDOW, "med_type": "77"}).startswith("input.data.med_type:")


# -- 5202 ---------------------------------------------------------------------------------------------------

def test_5202_answers_the_diagnoses_uploaded_with_the_visit(platform):
    h = platform.client()
    mdtrt_id = register(h, "OTP-D")
    out = h.ok("5202", {"data": {"mdtrt_id": mdtrt_id, "psn_no": SZ}}, "440300")
    rows = out["diseinfo"]
    assert out["data"] == rows
    assert [(r["diag_info_id"], r["diag_code"], r["maindiag_flag"], r["dise_dor_no"], r["dise_dor_name"])
            for r in rows] == [(f"{mdtrt_id}-1", "E11.900", "1", "DR01", "医生"),
                               (f"{mdtrt_id}-2", "I10.x00", "0", "DR02", "医生乙")]
    assert rows[0]["inout_diag_type"] == "" and rows[0]["diag_time"] == "2026-03-16 09:05:00"
    stay = admit(h, "IPT-D")
    [adm] = h.ok("5202", {"data": {"mdtrt_id": stay, "psn_no": SZ}}, "440300")["diseinfo"]
    assert adm["inout_diag_type"] == "1" and adm["diag_name"] == "2型糖尿病"


def test_5202_refuses_another_institutions_visit_and_a_mismatch(platform):
    h, gz = platform.client(), platform.client(GZ_HOSPITAL)
    theirs = register(gz, "GZ-D")
    assert refused(h, "5202", {"mdtrt_id": theirs, "psn_no": SZ}) == \
        f"input.data.mdtrt_id: no visit {theirs} at this institution"
    mine = register(h, "OTP-M")
    assert refused(h, "5202", {"mdtrt_id": mine, "psn_no": "44030000000000000002"}) == \
        f"input.data.psn_no: visit {mine} belongs to another person"
    assert refused(h, "5202", {"mdtrt_id": "", "psn_no": SZ}).startswith("input.data.mdtrt_id:")


# -- 5206 ---------------------------------------------------------------------------------------------------

def test_5206_answers_the_years_accumulations_by_bucket(platform):
    h = platform.client()
    rows = h.ok("5206", {"data": {"psn_no": SZ}}, "440300")["cuminfo"]
    assert [(r["cum_type_code"], r["cum"], r["year"], r["cum_ym"], r["insutype"]) for r in rows] == [
        ("Q0000_outpatient", Decimal("20.00"), "2026", "202603", "310"),
        ("J0000_outpatient", Decimal("0.00"), "2026", "202603", "310")]
    assert rows[0]["cum_type_name"] == "起付线累计" and rows[1]["bucket"] == "outpatient"
    assert h.ok("5206", {"data": {"psn_no": SZ, "cum_ym": "202501"}}, "440300")["cuminfo"] == []
    named = h.ok("5206", {"data": {"psn_no": SZ, "cum_ym": "202602"}}, "440300")["cuminfo"]
    assert {r["cum_ym"] for r in named} == {"202602"}


def test_5206_refusals(platform):
    h = platform.client()
    assert refused(h, "5206", {"psn_no": SZ, "cum_ym": "2026-03"}) == \
        "input.data.cum_ym: '2026-03' is not a month as yyyyMM"
    assert refused(h, "5206", {"psn_no": SZ, "cum_ym": "202613"}).startswith("input.data.cum_ym:")
    assert refused(h, "5206", {"psn_no": "44010000000000000001"}).startswith("insuplc_admdvs:")


# -- 5303 ---------------------------------------------------------------------------------------------------

def test_5303_shows_open_stays_here_in_full_and_elsewhere_without_their_numbers(platform):
    h, gz = platform.client(), platform.client(GZ_HOSPITAL)
    assert h.ok("5303", {"data": {"psn_no": SZ, **WINDOW}}, "440300")["data"] == []
    mine = admit(h, "IPT-S")
    gz.ok("2401", {"mdtrtinfo": {"psn_no": SZ, "insutype": "310", "begntime": "2026-03-12 08:00:00", **CERT,
                                 "med_type": "21", "ipt_no": "GZ-IPT"}, "diseinfo": []}, "440300")
    rows = h.ok("5303", {"data": {"psn_no": SZ, **WINDOW}}, "440300")["data"]
    assert [(r["mdtrt_id"], r["ipt_otp_no"], r["fixmedins_code"], r["begndate"], r["out_flag"]) for r in rows] == [
        (mine, "IPT-S", "H44030000001", "2026-03-10", "0"), ("", "", GZ_HOSPITAL, "2026-03-12", "1")]
    assert rows[1]["fixmedins_name"] == "广州示例医院" and rows[0]["psn_name"] == "张三"
    before = h.ok("5303", {"data": {"psn_no": SZ, "begntime": "2026-03-01", "endtime": "2026-03-11"}}, "440300")
    assert [r["mdtrt_id"] for r in before["data"]] == [mine]
    h.ok("2402", {"dscginfo": {"mdtrt_id": mine, "psn_no": SZ, "endtime": "2026-03-16 10:00:00",
                               "dscg_way": "1"}}, "440300")
    assert [r["fixmedins_code"] for r in h.ok("5303", {"data": {"psn_no": SZ, **WINDOW}}, "440300")["data"]] == \
        [GZ_HOSPITAL]


def test_5303_refusals(platform):
    h = platform.client()
    assert refused(h, "5303", {"psn_no": SZ, "endtime": "2026-03-31"}) == "input.data.begntime: is required"
    assert refused(h, "5303", {"psn_no": SZ, "begntime": "2026-04-01", "endtime": "2026-03-31"}).startswith(
        "input.data.endtime: 2026-03-31 23:59:59 is before begntime")
