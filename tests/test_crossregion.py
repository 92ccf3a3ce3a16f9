"""Cross-region direct settlement through the wire (rules.md sections 2 and 6; seeds 003 and 004), on SQLite and
PostgreSQL: every row of the catalog/policy selection table, every qualification case, chronic/special diseases
(2503/2504/5301, local-only codes both ways, one disease per settlement), suspension of direct settlement (the
agency API), the card password check 90991 and the credential types accepted for cross-province persons, and a
cross-province settlement of a Taiyuan resident in Shenzhen computed by hand.

The world: Shenzhen (440300) and Guangzhou (440100) in Guangdong, Taiyuan (140100) in Shanxi. The three catalogs
list the same codes on different terms, and the three policies differ, so each figure shows which catalog split
the lines and which policy shared the costs:

    code  Shenzhen catalog                  Guangzhou catalog          Taiyuan catalog
    XR-A  甲                                 甲                          甲
    XR-B  乙 cap 100.00, 0.10 (390: 0.15)     乙 cap 80.00, 0.20          乙 cap 60.00, 0.30
    XR-C  丙                                 丙                          丙
    XR-D  甲                                 (not listed: own pay)      乙 0.50
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from outpatient_world import (
    His,
    Hub,
    Visit_,
    check_amounts,
    fee_lines,
    id_card,
    one_of,
    person,
    policy,
)

from yibao.api.tokens import issue, signing_key
from yibao.store.db import Store
from yibao.store.models import Accumulator, PersonDisease, Settlement

D = Decimal
SZ, GZ, TY = "440300", "440100", "140100"
SZ_NAT, SZ_PROV, SZ_NONE, SZ_PHARM = "H44030000201", "H44030000202", "H44030000203", "P44030000201"
GZ_NAT = "H44010000201"

SZ_EMP = "44030000000000000201"    # Shenzhen employee; M01103 (a Shenzhen-only code) recognised by Shenzhen
GZ_EMP = "44010000000000000201"    # Guangzhou employee; M03900 and M07100 recognised by Guangzhou
TY_RES = "14010000000000000201"    # Taiyuan resident (390), nothing used this year
TY_HAND = "14010000000000000202"   # Taiyuan resident (390), 150.00 of the deductible and 700.00 of the fund used

SZ_LOCAL_CODES = ["M01103", "M08300", "M01001"]  # seed 003 门特门慢结算


def item(code: str, name: str, lv: str, prop: Any, cap: str | None = None, kind: str = "09") -> dict[str, Any]:
    return {"code": code, "name": name, "chrgitm_lv": lv, "selfpay_prop": prop, "pric_uplmt_amt": cap,
            "med_chrgitm_type": kind}


SZ_CATALOG = [item("XR-A", "药品甲", "01", "0"), item("XR-B", "药品乙", "02", {"310": "0.10", "390": "0.15"}, "100.00"),
              item("XR-C", "项目丙", "03", "1", kind="14"), item("XR-D", "药品丁", "01", "0")]
GZ_CATALOG = [item("XR-A", "药品甲", "01", "0"), item("XR-B", "药品乙", "02", "0.20", "80.00"),
              item("XR-C", "项目丙", "03", "1", kind="14")]
TY_CATALOG = [item("XR-A", "药品甲", "01", "0"), item("XR-B", "药品乙", "02", "0.30", "60.00"),
              item("XR-C", "项目丙", "03", "1", kind="14"), item("XR-D", "药品丁", "02", "0.50")]


def pol(insutype: str, med_type: str, bucket: str, deductible: str, ratio: str, cap: str, scope: str = "all",
        **extra: Any) -> dict[str, Any]:
    return {**policy(insutype, deductible, ratio, cap, scope, (med_type,), bucket), **extra}


def region(admdvs: str, name: str, policies: list[dict[str, Any]], catalog: list[dict[str, Any]],
           diseases: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    return {"admdvs": admdvs, "name": name, "acct_bookkeeping": True, "inprov_outpatient_filing_required": False,
            "referral_filing_max_days": 90, "local_only_diseases": [], "policies": policies, "catalog": catalog,
            "diseases": [{"code": c, "name": n} for c, n in diseases], **extra}


def hospital(code: str, admdvs: str, xregion: str, level: str = "3") -> dict[str, Any]:
    return {"code": code, "name": f"医院{code[-3:]}", "admdvs": admdvs, "kind": "hospital", "level": level,
            "xregion": xregion, "internet": False, "secret": f"secret-{code.lower()}"}


def filing_to(psn_no: str, dest: str) -> dict[str, Any]:
    """Long-term residence (异地长期居住) at the treatment city for 2026 (seed 004 art. 6-7)."""
    return {"psn_no": psn_no, "type": "long_term_resident", "dest_admdvs": dest, "start": "2026-01-01",
            "end": "2026-12-31"}


def the_world(doc: dict[str, Any]) -> None:
    doc.clear()
    doc.update({
        "today": "2026-03-16",
        "regions": [
            region(SZ, "深圳市", [
                pol("310", "11", "outpatient", "100.00", "0.60", "5000.00"),
                pol("310", "14", "chronic", "0.00", "0.80", "20000.00"),
                pol("310", "21", "inpatient", "300.00", "0.90", "200000.00", "policy"),
                pol("310", "41", "pharmacy", "0.00", "0.50", "1000.00"),
                pol("390", "11", "outpatient", "0.00", "0.50", "600.00"),
            ], SZ_CATALOG, [("M03900", "高血压病"), ("M07100", "糖尿病"), ("M04600", "慢性阻塞性肺疾病"),
                            ("M01103", "深圳特有病种一"), ("M08300", "深圳特有病种二"), ("M01001", "深圳特有病种三")],
                local_only_diseases=list(SZ_LOCAL_CODES)),
            region(GZ, "广州市", [
                pol("310", "11", "outpatient", "50.00", "0.70", "3000.00", "policy"),
                pol("310", "14", "chronic", "0.00", "0.85", "20000.00"),
                pol("310", "21", "inpatient", "500.00", "0.85", "150000.00"),
                pol("310", "41", "pharmacy", "0.00", "0.70", "1000.00"),
            ], GZ_CATALOG, [("M03900", "高血压病"), ("M07100", "糖尿病")]),
            region(TY, "太原市", [
                pol("390", "11", "outpatient", "200.00", "0.50", "800.00", hosp_lv=["3"]),
                pol("390", "11", "outpatient", "100.00", "0.60", "800.00", hosp_lv=["1", "2"]),
                pol("390", "21", "inpatient", "800.00", "0.70", "100000.00"),
            ], TY_CATALOG, [("M03900", "高血压病")]),
        ],
        "institutions": [
            hospital(SZ_NAT, SZ, "national"), hospital(SZ_PROV, SZ, "provincial"), hospital(SZ_NONE, SZ, "none"),
            {"code": SZ_PHARM, "name": "深圳药房", "admdvs": SZ, "kind": "pharmacy", "xregion": "provincial",
             "internet": False, "secret": "secret-sz-pharmacy"},
            hospital(GZ_NAT, GZ, "national"),
        ],
        "persons": [
            person(SZ_EMP, "深员", id_card("44030119800101101"), "310", SZ, "1101", "1000.00",
                   card_sn="SN-SZ-0201", chronic=[{"code": "M01103", "since": "2026-01-01"}]),
            person(GZ_EMP, "穗员", id_card("44010619820202103"), "310", GZ, "1101", "1000.00",
                   card_sn="SN-GZ-0201", chronic=[{"code": "M03900", "since": "2026-01-01"},
                                                  {"code": "M07100", "since": "2026-01-01"}]),
            person(TY_RES, "晋民", id_card("14010119700101101"), "390", TY, "1501", card_sn="SN-TY-0201"),
            person(TY_HAND, "晋算", id_card("14010119650505101"), "390", TY, "1501", card_sn="SN-TY-0202",
                   used={"outpatient": {"deductible": "150.00", "fund": "700.00"}}),
        ],
        "mutual_aid": [],
        "filings": [filing_to(SZ_EMP, GZ), filing_to(GZ_EMP, SZ), filing_to(TY_RES, SZ), filing_to(TY_HAND, SZ)],
    })


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The business date is the dataset's (2026-03-16); tokens are signed with the database's key."""
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)


@pytest.fixture
def hub(store: Store) -> Hub:
    return Hub(store).load(the_world)


def load_with(store: Store, change: Callable[[dict[str, Any]], None]) -> Hub:
    def world(doc: dict[str, Any]) -> None:
        the_world(doc)
        change(doc)

    return Hub(store).load(world)


# -- driving visits ------------------------------------------------------------------------------------

OUT_ITEMS = [("XR-A", "50.00", "2"), ("XR-B", "120.00", "1"), ("XR-C", "30.00", "1"), ("XR-D", "40.00", "1")]
STAY_ITEMS = [("XR-A", "10.00", "100"), ("XR-B", "120.00", "5"), ("XR-C", "30.00", "2"), ("XR-D", "40.00", "5")]
SPLIT_KEYS = ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")
FIGURES = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
           "act_pay_dedc", "hifp_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay")
UNUSED = {f: "0.00" for f in ("cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay",
                              "hosp_part_amt", "acct_mulaid_pay")}


def splits(rows: list[dict[str, Any]]) -> list[tuple[Decimal, ...]]:
    return [tuple(r[k] for k in SPLIT_KEYS) for r in rows]


def amounts(*values: str) -> tuple[Decimal, ...]:
    return tuple(D(v) for v in values)


def query_5203(his: His, who: dict[str, Any], setl_id: str, mdtrt_id: str) -> dict[str, Any]:
    out = his.ok("5203", {"data": {"psn_no": who["psn_no"], "setl_id": setl_id, "mdtrt_id": mdtrt_id}},
                 who["admdvs"])
    return dict(out["output"]["setlinfo"])


def record(store: Store, setl_id: str) -> Settlement:
    with store.unit_of_work() as s:
        row = s.get(Settlement, setl_id)
        assert row is not None
        return row


def check_where(hub: Hub, his: His, who: dict[str, Any], info: dict[str, Any], *, catalog: str, policy_of: str,
                pay_loc: str) -> None:
    """The settlement recorded the catalog and policy regions it used; 5203 answers pay_loc and clr_optins."""
    row = record(hub.store, info["setl_id"])
    assert (row.catalog_admdvs, row.policy_admdvs, row.pay_loc, row.clr_optins) == (catalog, policy_of, pay_loc,
                                                                                     policy_of)
    q = query_5203(his, who, info["setl_id"], info["mdtrt_id"])
    assert (q["pay_loc"], q["clr_optins"], q["insu_optins"], q["fixmedins_poolarea"]) == (
        pay_loc, policy_of, who["admdvs"], his.client.area)
    assert info["clr_optins"] == policy_of


def outpatient(hub: Hub, code: str, psn_no: str, items: list[tuple[str, str, str]] = OUT_ITEMS,
               acct_used_flag: str = "0") -> tuple[Visit_, dict[str, Any]]:
    his, who = hub.his(code), hub.who(psn_no)
    visit = his.visit(who, items, acct_used_flag=acct_used_flag)
    pre = one_of(visit.presettle())
    info = one_of(visit.settle())
    assert {k: pre[k] for k in FIGURES} == {k: info[k] for k in FIGURES}  # 2206 computes what 2207 commits
    return visit, info


def stay(hub: Hub, code: str, psn_no: str, items: list[tuple[str, str, str]]) -> tuple[list[dict[str, Any]],
                                                                                       dict[str, Any]]:
    """2401 admission, 2301 lines, 2402 discharge, 2304 settlement."""
    his, who = hub.his(code), hub.who(psn_no)
    mdtrt_id = his.ok("2401", {"mdtrtinfo": {
        "psn_no": psn_no, "insutype": who["insutype"], "begntime": "2026-03-10 08:00:00", "mdtrt_cert_type": "02",
        "mdtrt_cert_no": who["certno"], "med_type": "21", "ipt_no": f"IPT-{psn_no[-4:]}", "adm_dept_codg": "W1"},
        "diseinfo": []}, who["admdvs"])["output"]["result"]["mdtrt_id"]
    lines = []
    for i, (codg, pric, cnt) in enumerate(items, 1):
        amt = (D(pric) * D(cnt)).quantize(D("0.01"))
        lines.append({"feedetl_sn": f"L{i}", "mdtrt_id": mdtrt_id, "psn_no": psn_no,
                      "fee_ocur_time": "2026-03-11 09:00:00", "med_list_codg": codg, "medins_list_codg": "H-" + codg,
                      "det_item_fee_sumamt": str(amt), "cnt": cnt, "pric": pric})
    rows = his.ok("2301", {"feedetail": lines}, who["admdvs"])["output"]["result"]
    his.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "endtime": "2026-03-15 10:00:00",
                                 "dscg_way": "1"}, "diseinfo": []}, who["admdvs"])
    total = {k: sum((r[k] for r in rows), D("0.00")) for k in SPLIT_KEYS}
    out = his.ok("2304", {"data": {
        "psn_no": psn_no, "mdtrt_cert_type": "02", "medfee_sumamt": str(total["det_item_fee_sumamt"]),
        "mdtrt_id": mdtrt_id, "insutype": who["insutype"], "acct_used_flag": "0", "mid_setl_flag": "0",
        "fulamt_ownpay_amt": str(total["fulamt_ownpay_amt"]), "overlmt_selfpay": str(total["overlmt_amt"]),
        "preselfpay_amt": str(total["preselfpay_amt"]), "inscp_scp_amt": str(total["inscp_scp_amt"])}},
        who["admdvs"])
    return list(rows), one_of(out)


# -- the selection table (rules.md 2) ------------------------------------------------------------------

def test_local_treatment_catalog_and_the_same_regions_policy(hub: Hub) -> None:
    """Shenzhen employee at a Shenzhen hospital: Shenzhen's catalog and policy; pay_loc 2."""
    visit, info = outpatient(hub, SZ_NAT, SZ_EMP)
    # Shenzhen catalog: A 100.00 甲; B 120.00 over the 100.00 cap by 20.00, 0.10 of 100.00 = 10.00 self-paid,
    # 90.00 in scope; C 丙 30.00 own pay; D 甲 40.00
    assert splits(visit.rows) == [amounts("100.00", "0.00", "0.00", "0.00", "100.00"),
                                  amounts("120.00", "0.00", "20.00", "10.00", "90.00"),
                                  amounts("30.00", "30.00", "0.00", "0.00", "0.00"),
                                  amounts("40.00", "0.00", "0.00", "0.00", "40.00")]
    # Shenzhen policy: deductible 100.00; round2(130.00 x 0.60) = 78.00
    check_amounts(info, {"medfee_sumamt": "290.00", "fulamt_ownpay_amt": "30.00", "overlmt_selfpay": "20.00",
                         "preselfpay_amt": "10.00", "inscp_scp_amt": "230.00", "act_pay_dedc": "100.00",
                         "hifp_pay": "78.00", "pool_prop_selfpay": "0.6000", "fund_pay_sumamt": "78.00",
                         "psn_part_amt": "212.00", "acct_pay": "0.00", "psn_cash_pay": "212.00", **UNUSED})
    check_where(hub, hub.his(SZ_NAT), hub.who(SZ_EMP), info, catalog=SZ, policy_of=SZ, pay_loc="2")


def test_in_province_outpatient_treatment_catalog_insured_policy(hub: Hub) -> None:
    """Guangzhou employee at a Shenzhen hospital: Shenzhen's catalog (就医地目录), Guangzhou's policy (参保地政策),
    Guangzhou's account rule; pay_loc 3."""
    visit, info = outpatient(hub, SZ_NAT, GZ_EMP, acct_used_flag="1")
    # the lines split by the Shenzhen catalog (Guangzhou's would cap B at 80.00, take 0.20 and not list D)
    assert splits(visit.rows) == [amounts("100.00", "0.00", "0.00", "0.00", "100.00"),
                                  amounts("120.00", "0.00", "20.00", "10.00", "90.00"),
                                  amounts("30.00", "30.00", "0.00", "0.00", "0.00"),
                                  amounts("40.00", "0.00", "0.00", "0.00", "40.00")]
    # Guangzhou policy: deductible 50.00; round2(180.00 x 0.70) = 126.00; personal 290.00 - 126.00 = 164.00;
    # Guangzhou's account scope `policy`: 164.00 - 30.00 own pay - 20.00 over the cap = 114.00 from the account
    check_amounts(info, {"medfee_sumamt": "290.00", "fulamt_ownpay_amt": "30.00", "overlmt_selfpay": "20.00",
                         "preselfpay_amt": "10.00", "inscp_scp_amt": "230.00", "act_pay_dedc": "50.00",
                         "hifp_pay": "126.00", "pool_prop_selfpay": "0.7000", "fund_pay_sumamt": "126.00",
                         "psn_part_amt": "164.00", "acct_pay": "114.00", "psn_cash_pay": "50.00",
                         "balc": "886.00", **UNUSED})
    check_where(hub, hub.his(SZ_NAT), hub.who(GZ_EMP), info, catalog=SZ, policy_of=GZ, pay_loc="3")


def test_in_province_pharmacy_treatment_catalog_insured_policy(hub: Hub) -> None:
    """Guangzhou employee at a Shenzhen pharmacy (2102): Shenzhen's catalog, Guangzhou's pharmacy policy."""
    his, who = hub.his(SZ_PHARM), hub.who(GZ_EMP)
    drugs = [{"feedetl_sn": f"D{i}", "fee_ocur_time": "2026-03-16 10:00:00", "med_list_codg": c,
              "medins_list_codg": "P-" + c, "det_item_fee_sumamt": str((D(p) * D(n)).quantize(D("0.01"))),
              "cnt": n, "pric": p} for i, (c, p, n) in enumerate([("XR-A", "50.00", "2"), ("XR-B", "120.00", "1"),
                                                                  ("XR-D", "40.00", "1")], 1)]
    druginfo = {"psn_no": GZ_EMP, "mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"],
                "begntime": "2026-03-16 10:00:00", "medfee_sumamt": "260.00", "insutype": "310",
                "acct_used_flag": "0", "med_type": "41"}
    out = his.ok("2102", {"druginfo": druginfo, "drugdetail": drugs}, GZ)["output"]
    # Shenzhen catalog: B over its 100.00 cap by 20.00, 10.00 self-paid, 90.00 in scope; D 甲 40.00 in scope
    assert splits(out["detlcutinfo"]) == [amounts("100.00", "0.00", "0.00", "0.00", "100.00"),
                                          amounts("120.00", "0.00", "20.00", "10.00", "90.00"),
                                          amounts("40.00", "0.00", "0.00", "0.00", "40.00")]
    # Guangzhou pharmacy policy: no deductible, round2(230.00 x 0.70) = 161.00 (Shenzhen's 0.50 would be 115.00)
    info = dict(out["setlinfo"])
    check_amounts(info, {"medfee_sumamt": "260.00", "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "20.00",
                         "preselfpay_amt": "10.00", "inscp_scp_amt": "230.00", "act_pay_dedc": "0.00",
                         "hifp_pay": "161.00", "pool_prop_selfpay": "0.7000", "fund_pay_sumamt": "161.00",
                         "psn_part_amt": "99.00", "acct_pay": "0.00", "psn_cash_pay": "99.00", **UNUSED})
    check_where(hub, his, who, info, catalog=SZ, policy_of=GZ, pay_loc="3")


def test_in_province_inpatient_insured_catalog_and_policy(hub: Hub) -> None:
    """Guangzhou employee in a Shenzhen hospital: Guangzhou's catalog AND policy (参保地目录、参保地政策)."""
    rows, info = stay(hub, SZ_NAT, GZ_EMP, STAY_ITEMS)
    # Guangzhou catalog: B 5 x 120.00 = 600.00, over the 80.00 cap by 5 x 40.00 = 200.00, 0.20 of 400.00 = 80.00,
    # 320.00 in scope; D not listed: 200.00 own pay (Shenzhen's would give B 100.00 / 50.00 / 450.00, D 200.00 in)
    assert splits(rows) == [amounts("1000.00", "0.00", "0.00", "0.00", "1000.00"),
                            amounts("600.00", "0.00", "200.00", "80.00", "320.00"),
                            amounts("60.00", "60.00", "0.00", "0.00", "0.00"),
                            amounts("200.00", "200.00", "0.00", "0.00", "0.00")]
    assert rows[1]["pric_uplmt_amt"] == D("80.00") and rows[1]["selfpay_prop"] == D("0.20")
    # Guangzhou inpatient policy: deductible 500.00; round2(820.00 x 0.85) = 697.00; 1860.00 - 697.00 = 1163.00
    check_amounts(info, {"medfee_sumamt": "1860.00", "fulamt_ownpay_amt": "260.00", "overlmt_selfpay": "200.00",
                         "preselfpay_amt": "80.00", "inscp_scp_amt": "1320.00", "act_pay_dedc": "500.00",
                         "hifp_pay": "697.00", "pool_prop_selfpay": "0.8500", "fund_pay_sumamt": "697.00",
                         "psn_part_amt": "1163.00", "acct_pay": "0.00", "psn_cash_pay": "1163.00", **UNUSED})
    check_where(hub, hub.his(SZ_NAT), hub.who(GZ_EMP), info, catalog=GZ, policy_of=GZ, pay_loc="3")


def test_cross_province_outpatient_treatment_catalog_insured_policy(hub: Hub) -> None:
    """Taiyuan resident at a Shenzhen hospital: Shenzhen's catalog (its 390 ratio), Taiyuan's policy; pay_loc 4."""
    visit, info = outpatient(hub, SZ_NAT, TY_RES)
    # Shenzhen catalog for 390: B over the cap by 20.00, 0.15 of 100.00 = 15.00 self-paid, 85.00 in scope
    # (Taiyuan's catalog would cap B at 60.00 with 0.30 and make D 乙)
    assert splits(visit.rows) == [amounts("100.00", "0.00", "0.00", "0.00", "100.00"),
                                  amounts("120.00", "0.00", "20.00", "15.00", "85.00"),
                                  amounts("30.00", "30.00", "0.00", "0.00", "0.00"),
                                  amounts("40.00", "0.00", "0.00", "0.00", "40.00")]
    # Taiyuan's level-3 row: deductible 200.00; round2(25.00 x 0.50) = 12.50 (Shenzhen's 390 row: 0 and 0.50)
    check_amounts(info, {"medfee_sumamt": "290.00", "fulamt_ownpay_amt": "30.00", "overlmt_selfpay": "20.00",
                         "preselfpay_amt": "15.00", "inscp_scp_amt": "225.00", "act_pay_dedc": "200.00",
                         "hifp_pay": "12.50", "pool_prop_selfpay": "0.5000", "fund_pay_sumamt": "12.50",
                         "psn_part_amt": "277.50", "acct_pay": "0.00", "psn_cash_pay": "277.50", **UNUSED})
    check_where(hub, hub.his(SZ_NAT), hub.who(TY_RES), info, catalog=SZ, policy_of=TY, pay_loc="4")


def test_cross_province_inpatient_still_treatment_catalog(hub: Hub) -> None:
    """Cross-province, any type: a stay too is split by the treatment region's catalog (unlike in-province)."""
    rows, info = stay(hub, SZ_NAT, TY_RES, STAY_ITEMS)
    # Shenzhen catalog for 390: B 600.00, over 100.00, round2(500.00 x 0.15) = 75.00, 425.00 in; D 甲 200.00 in
    assert splits(rows) == [amounts("1000.00", "0.00", "0.00", "0.00", "1000.00"),
                            amounts("600.00", "0.00", "100.00", "75.00", "425.00"),
                            amounts("60.00", "60.00", "0.00", "0.00", "0.00"),
                            amounts("200.00", "0.00", "0.00", "0.00", "200.00")]
    # Taiyuan inpatient policy: deductible 800.00; round2(825.00 x 0.70) = 577.50; 1860.00 - 577.50 = 1282.50
    check_amounts(info, {"medfee_sumamt": "1860.00", "fulamt_ownpay_amt": "60.00", "overlmt_selfpay": "100.00",
                         "preselfpay_amt": "75.00", "inscp_scp_amt": "1625.00", "act_pay_dedc": "800.00",
                         "hifp_pay": "577.50", "pool_prop_selfpay": "0.7000", "fund_pay_sumamt": "577.50",
                         "psn_part_amt": "1282.50", "acct_pay": "0.00", "psn_cash_pay": "1282.50", **UNUSED})
    check_where(hub, hub.his(SZ_NAT), hub.who(TY_RES), info, catalog=SZ, policy_of=TY, pay_loc="4")


# -- the hand-computed cross-province settlement --------------------------------------------------------

def test_taiyuan_resident_in_a_shenzhen_national_hospital_by_hand(hub: Hub) -> None:
    """Seed 003 社保卡跨省读取: the card is read (1101 with the insured region), no password check (90991),
    then register, upload, settle; every figure computed by hand below."""
    his = hub.his(SZ_NAT)
    who = hub.who(TY_HAND)
    found = his.ok("1101", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": who["card_no"],
                                     "card_sn": "SN-TY-0202"}}, TY)["output"]
    assert found["baseinfo"]["psn_no"] == TY_HAND and found["insuinfo"][0]["insuplc_admdvs"] == TY
    pwd = his.ok("90991", {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": who["card_no"],
                                    "card_sn": "SN-TY-0202", "pwd": ""}}, TY)["output"]
    assert pwd["result"]["checked"] == "0"

    visit = his.visit(who, [("XR-A", "25.50", "4"), ("XR-B", "133.33", "3"), ("XR-C", "30.00", "1"),
                            ("XR-D", "12.35", "2")], acct_used_flag="1")
    # The lines, split by the TREATMENT region's catalog (Shenzhen), with the 390 self-pay ratio of B:
    #   A 甲:  25.50 x 4 = 102.00, all in scope                                  -> inscp 102.00
    #   B 乙:  133.33 x 3 = 399.99; cap 100.00: overlmt round2(33.33 x 3) = 99.99;
    #          preselfpay round2((399.99 - 99.99) x 0.15) = 45.00; inscp 399.99 - 99.99 - 45.00 = 255.00
    #   C 丙:  30.00 own pay                                                     -> fulamt 30.00
    #   D 甲:  12.35 x 2 = 24.70, all in scope                                    -> inscp 24.70
    #   (Taiyuan's own catalog would have given B overlmt 219.99, preselfpay 54.00 and D 乙 half self-paid)
    assert splits(visit.rows) == [amounts("102.00", "0.00", "0.00", "0.00", "102.00"),
                                  amounts("399.99", "0.00", "99.99", "45.00", "255.00"),
                                  amounts("30.00", "30.00", "0.00", "0.00", "0.00"),
                                  amounts("24.70", "0.00", "0.00", "0.00", "24.70")]
    # Sums: medfee 102.00 + 399.99 + 30.00 + 24.70 = 556.69; fulamt 30.00; overlmt 99.99; preselfpay 45.00;
    #       inscp 102.00 + 255.00 + 24.70 = 381.70.
    # The INSURED region's policy (Taiyuan, 390 general outpatient, the row for level-3 institutions):
    #   deductible 200.00, 150.00 used this year -> act_pay_dedc = min(381.70, 50.00) = 50.00
    #   pooled = round2((381.70 - 50.00) x 0.50) = round2(165.85) = 165.85
    #   annual cap 800.00, 700.00 paid -> 100.00 left -> hifp_pay = min(165.85, 100.00) = 100.00
    #   fund_pay_sumamt 100.00; psn_part_amt = 556.69 - 100.00 = 456.69
    #   a resident (390) has no personal account: acct_pay 0.00, psn_cash_pay 456.69, balc 0.00
    info = one_of(visit.settle())
    check_amounts(info, {"medfee_sumamt": "556.69", "fulamt_ownpay_amt": "30.00", "overlmt_selfpay": "99.99",
                         "preselfpay_amt": "45.00", "inscp_scp_amt": "381.70", "act_pay_dedc": "50.00",
                         "hifp_pay": "100.00", "pool_prop_selfpay": "0.5000", "fund_pay_sumamt": "100.00",
                         "psn_part_amt": "456.69", "acct_pay": "0.00", "psn_cash_pay": "456.69", "balc": "0.00",
                         **UNUSED})
    settled = his.ok("5203", {"data": {"psn_no": TY_HAND, "setl_id": info["setl_id"],
                                       "mdtrt_id": visit.mdtrt_id}}, TY)["output"]
    assert [(d["fund_pay_type"], d["fund_payamt"], d["crt_payb_lmt_amt"]) for d in settled["setldetail"]] == [
        ("390100", D("100.00"), D("100.00"))]
    check_where(hub, his, who, info, catalog=SZ, policy_of=TY, pay_loc="4")
    with hub.store.unit_of_work() as s:
        acc = s.get(Accumulator, (TY_HAND, 2026, "outpatient"))
        assert acc is not None and (acc.deductible_used, acc.fund_paid) == (D("200.00"), D("800.00"))


# -- qualification (rules.md 6) -------------------------------------------------------------------------

QUALIFICATION = [
    # (person, hospital, accepted, the refusal)
    (SZ_EMP, SZ_NAT, True, ""), (SZ_EMP, SZ_PROV, True, ""), (SZ_EMP, SZ_NONE, True, ""),
    (GZ_EMP, SZ_NAT, True, ""), (GZ_EMP, SZ_PROV, True, ""),
    (GZ_EMP, SZ_NONE, False, "fixmedins_code: the institution's cross-region qualification is none; in-province "
                             "cases need provincial or national"),
    (TY_RES, SZ_NAT, True, ""),
    (TY_RES, SZ_PROV, False, "fixmedins_code: the institution's cross-region qualification is provincial; "
                             "cross-province cases need national"),
    (TY_RES, SZ_NONE, False, "fixmedins_code: the institution's cross-region qualification is none; "
                             "cross-province cases need national"),
]


def test_qualification_national_provincial_none_for_each_case(hub: Hub) -> None:
    for psn_no, code, accepted, refusal in QUALIFICATION:
        his, who = hub.his(code), hub.who(psn_no)
        if accepted:
            visit = his.visit(who, [("XR-A", "10.00", "1")])
            assert one_of(visit.settle())["medfee_sumamt"] == D("10.00"), (psn_no, code)
        else:
            assert his.refused("2201", his.registration(who), who["admdvs"]) == refusal, (psn_no, code)
            # a recognition made there is refused alike (art. 10: a qualified institution)
            assert his.refused("2503", {"data": {"psn_no": psn_no, "opsp_dise_code": "M03900",
                                                 "begndate": "2026-03-16"}}, who["admdvs"]) == refusal


# -- chronic/special diseases ---------------------------------------------------------------------------

def chronic_visit(his: His, who: dict[str, Any], code: str, batch: str = "") -> Visit_:
    return his.visit(who, [("XR-A", "50.00", "2")], med_type="14", dise_codg=code, batch=batch or None)


def test_local_only_codes_are_refused_across_regions_both_ways(hub: Hub) -> None:
    sz_his, gz_his = hub.his(SZ_NAT), hub.his(GZ_NAT)
    gz_emp, sz_emp = hub.who(GZ_EMP), hub.who(SZ_EMP)
    for code in SZ_LOCAL_CODES:
        # a Guangzhou person with a Shenzhen-only code at a Shenzhen hospital
        visit = chronic_visit(sz_his, gz_emp, code)
        want = (f"dise_codg: {code} is a disease code local to region 440300; it is not settled cross-region "
                "(seed 003 门特门慢结算)")
        assert sz_his.refused("2206", visit.data_2206(), GZ) == want
        assert sz_his.refused("2207", visit.data_2207(), GZ) == want
    # a Shenzhen person whose M01103 Shenzhen recognised, at a Guangzhou hospital
    visit = chronic_visit(gz_his, sz_emp, "M01103")
    assert gz_his.refused("2207", visit.data_2207(), SZ) == (
        "dise_codg: M01103 is a disease code local to region 440300; it is not settled cross-region "
        "(seed 003 门特门慢结算)")
    # the same person at home: accepted, under Shenzhen's chronic policy (no deductible, 0.80)
    visit = chronic_visit(sz_his, sz_emp, "M01103")
    info = one_of(visit.settle())
    check_amounts(info, {"medfee_sumamt": "100.00", "hifp_pay": "80.00", "psn_part_amt": "20.00"})
    assert record(hub.store, info["setl_id"]).dise_codg == "M01103"
    # nor can a Shenzhen hospital recognise a Shenzhen-only code for a Guangzhou person
    assert sz_his.refused("2503", {"data": {"psn_no": GZ_EMP, "opsp_dise_code": "M01103",
                                            "begndate": "2026-03-16"}}, GZ) == (
        "input.data.opsp_dise_code: M01103 is a disease code local to region 440300 and serves only persons "
        "insured there (seed 003 门特门慢结算); this person is insured in 440100")


def test_one_disease_per_settlement(hub: Hub) -> None:
    """Seed 004 art. 15: a person with two recognised diseases settles each separately."""
    his, who = hub.his(SZ_NAT), hub.who(GZ_EMP)
    mdtrt_id = his.register(who)
    his.visit_info(who, mdtrt_id, "14")

    def lines(batch: str, code: str, start: int = 1) -> list[dict[str, Any]]:
        out = fee_lines(mdtrt_id, GZ_EMP, batch, [("XR-A", "50.00", "2")])
        out[0]["dise_codg"], out[0]["feedetl_sn"] = code, f"{batch}-{start:03d}"
        return out

    # one batch with two codes is refused at upload
    two = lines("B-MIX", "M03900") + lines("B-MIX", "M07100", 2)
    assert his.refused("2204", {"feedetail": two}, GZ) == (
        "input.feedetail[1].dise_codg: every line of batch B-MIX must carry the same disease code (M03900); "
        f"{ARTICLE_15}")
    his.ok("2204", {"feedetail": lines("B-HYP", "M03900")}, GZ)
    his.ok("2204", {"feedetail": lines("B-DIA", "M07100")}, GZ)
    visit = Visit_(his, who, mdtrt_id, "", [], "14", "0")
    # settling the visit's lines at once would settle two diseases together
    data = visit.data_2206(medfee_sumamt="200.00")
    assert his.refused("2206", data, GZ) == (
        "input.data.chrg_bchno: the lines to settle carry 2 disease codes (M03900, M07100): one disease per "
        "settlement")
    # each batch on its own: Guangzhou's chronic policy, no deductible, 0.85
    for batch in ("B-HYP", "B-DIA"):
        out = his.ok("2207", {"data": {**visit.data_2206(medfee_sumamt="100.00", chrg_bchno=batch)["data"],
                                       "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00",
                                       "preselfpay_amt": "0.00", "inscp_scp_amt": "100.00"}}, GZ)
        check_amounts(one_of(out), {"medfee_sumamt": "100.00", "hifp_pay": "85.00", "psn_part_amt": "15.00"})


ARTICLE_15 = "粤医保规〔2021〕4号 第十五条: 普通门诊和门诊特定病种处方分别开具、分别结算"


def test_general_outpatient_lines_are_not_settled_with_a_disease(hub: Hub) -> None:
    """揭阳 揭医保〔2021〕82号 (粤医保规〔2021〕4号) art. 15: a person with general-outpatient and special-disease care
    gets separate prescriptions, settled separately: under med_type 14 only the lines of that disease's prescription
    (2204 lines carrying its dise_codg); a general-outpatient line (no disease code) is refused, naming the article."""
    his, who = hub.his(SZ_NAT), hub.who(GZ_EMP)
    mdtrt_id = his.register(who)
    his.visit_info(who, mdtrt_id, "14")

    def lines(batch: str, code: str, n: int = 1) -> list[dict[str, Any]]:
        out = fee_lines(mdtrt_id, GZ_EMP, batch, [("XR-A", "50.00", "2")] * n)
        for i, line in enumerate(out, 1):
            line["dise_codg"], line["feedetl_sn"] = code, f"{batch}-{i:03d}"
        return out

    # one batch is one prescription: a disease line and a general line together are refused at upload
    mixed = lines("B-ONE", "M03900") + [{**lines("B-ONE", "")[0], "feedetl_sn": "B-ONE-002"}]
    assert his.refused("2204", {"feedetail": mixed}, GZ) == (
        f"input.feedetail[1].dise_codg: every line of batch B-ONE must carry the same disease code (M03900); "
        f"{ARTICLE_15}")
    his.ok("2204", {"feedetail": lines("B-HYP", "M03900")}, GZ)
    his.ok("2204", {"feedetail": lines("B-GEN", "")}, GZ)
    visit = Visit_(his, who, mdtrt_id, "", [], "14", "0")
    # the visit's lines at once under med_type 14 would settle the general prescription as the disease's
    refused = (f"input.data.chrg_bchno: line B-GEN-001 carries no disease code: a general-outpatient line is not "
               f"settled under med_type 14 with the disease's prescription; settle it separately ({ARTICLE_15})")
    assert his.refused("2206", visit.data_2206(medfee_sumamt="200.00"), GZ) == refused
    assert his.refused("2207", visit.data_2207(medfee_sumamt="200.00"), GZ) == refused
    # the disease's prescription on its own: Guangzhou's chronic policy (0.85)
    out = his.ok("2207", {"data": {**visit.data_2206(medfee_sumamt="100.00", chrg_bchno="B-HYP")["data"],
                                   "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00",
                                   "preselfpay_amt": "0.00", "inscp_scp_amt": "100.00"}}, GZ)
    check_amounts(one_of(out), {"medfee_sumamt": "100.00", "hifp_pay": "85.00"})
    assert record(hub.store, one_of(out)["setl_id"]).dise_codg == "M03900"


def test_med_type_14_needs_a_recognised_disease_made_at_the_institution(hub: Hub) -> None:
    """2503 at the treatment institution (art. 10), recorded for the insured region; 5301; 2504; the settlement
    refused without a recognition, accepted with it."""
    his, who = hub.his(SZ_NAT), hub.who(GZ_EMP)
    visit = chronic_visit(his, who, "M04600")
    refused = ("dise_codg: M04600 is not a chronic/special disease recognised for this person on 2026-03-16 "
               "(2503 records a recognition)")
    assert his.refused("2207", visit.data_2207(), GZ) == refused
    # no code at all
    bare = chronic_visit(his, who, "")
    assert his.refused("2206", bare.data_2206(), GZ).startswith("dise_codg: med_type 14 settles one recognised")

    # M04600 is on Shenzhen's list (the treatment region), not Guangzhou's: valid at a Shenzhen hospital
    made = his.ok("2503", {"data": {"psn_no": GZ_EMP, "opsp_dise_code": "M04600", "opsp_dise_name": "慢阻肺",
                                    "begndate": "2026-03-01", "enddate": "2027-02-28", "memo": "就医地认定"}}, GZ)
    assert made["output"] == {"result": {"opsp_dise_code": "M04600", "begndate": "2026-03-01",
                                         "enddate": "2027-02-28"}}
    with hub.store.unit_of_work() as s:
        row = s.get(PersonDisease, (GZ_EMP, "M04600"))
        assert row is not None and (row.recognized_by, row.status) == (SZ_NAT, "active")
    info = one_of(visit.settle())
    check_amounts(info, {"medfee_sumamt": "100.00", "hifp_pay": "85.00", "psn_part_amt": "15.00"})

    # 5301 lists the recognitions, under `feedetail` and `data`, wherever it is asked
    listed = his.ok("5301", {"data": {"psn_no": GZ_EMP}}, GZ)["output"]
    rows = [{k: r[k] for k in ("opsp_dise_code", "opsp_dise_name", "begndate", "enddate")} for r in listed["feedetail"]]
    assert rows == [
        {"opsp_dise_code": "M03900", "opsp_dise_name": "高血压病", "begndate": "2026-01-01", "enddate": ""},
        {"opsp_dise_code": "M04600", "opsp_dise_name": "慢性阻塞性肺疾病", "begndate": "2026-03-01",
         "enddate": "2027-02-28"},
        {"opsp_dise_code": "M07100", "opsp_dise_name": "糖尿病", "begndate": "2026-01-01", "enddate": ""}]
    assert listed["data"] == listed["feedetail"]
    assert hub.his(GZ_NAT).ok("5301", {"data": {"psn_no": GZ_EMP}}, GZ)["output"]["feedetail"] == listed["feedetail"]

    # refusals of 2503: unknown code, a second active recognition, dates the wrong way round
    def ask(**over: Any) -> dict[str, Any]:
        return {"data": {"psn_no": GZ_EMP, "opsp_dise_code": "M04600", "begndate": "2026-03-16", **over}}

    assert his.refused("2503", ask(opsp_dise_code="X99999"), GZ) == (
        "input.data.opsp_dise_code: X99999 is not a chronic/special disease code of region 440100 or region 440300")
    assert his.refused("2503", ask(), GZ).startswith(
        f"input.data.opsp_dise_code: M04600 is already recognised for this person (by {SZ_NAT}")
    assert his.refused("2503", ask(opsp_dise_code="M07100", enddate="2026-01-01"), GZ) == (
        "input.data.enddate: 2026-01-01 is before begndate 2026-03-16")
    assert his.refused("2503", ask(begndate=""), GZ) == "input.data.begndate: is required (yyyy-MM-dd)"
    assert hub.his(SZ_PHARM).refused("2503", ask(), GZ).startswith("fixmedins_code: a chronic/special disease is")

    # 2504: only the recognising institution
    cancel = {"data": {"psn_no": GZ_EMP, "opsp_dise_code": "M04600"}}
    assert hub.his(GZ_NAT).refused("2504", cancel, GZ) == (
        f"input.data.opsp_dise_code: M04600 was recognised by {SZ_NAT}; only the recognising institution cancels it")
    assert his.refused("2504", {"data": {"psn_no": GZ_EMP, "opsp_dise_code": "M03900"}}, GZ) == (
        "input.data.opsp_dise_code: M03900 was recognised by the insured region 440100 (dataset); only the "
        "recognising institution cancels it")
    assert his.ok("2504", cancel, GZ)["output"]["result"] == {"opsp_dise_code": "M04600", "status": "cancelled"}
    assert his.refused("2504", cancel, GZ) == (
        "input.data.opsp_dise_code: M04600 is not a recognised chronic/special disease of this person")
    assert [r["opsp_dise_code"] for r in his.ok("5301", {"data": {"psn_no": GZ_EMP}}, GZ)["output"]["feedetail"]] == [
        "M03900", "M07100"]
    again = chronic_visit(his, who, "M04600")
    assert his.refused("2207", again.data_2207(), GZ) == refused
    # and recognised anew after the cancellation
    his.ok("2503", ask(), GZ)
    one_of(again.settle())


def test_agency_recognises_and_ends_recognitions_of_its_insured(hub: Hub) -> None:
    key = signing_key(hub.store)
    http = hub.http
    assert http is not None
    gz = {"Authorization": f"Bearer {issue(key, 'agency', GZ)}"}
    sz = {"Authorization": f"Bearer {issue(key, 'agency', SZ)}"}
    body = {"psn_no": GZ_EMP, "code": "M04600", "since": "2026-03-16"}
    # M04600 is not on Guangzhou's list: the insured region's agency recognises from its own list
    reply = http.post("/api/v1/agency/diseases", headers=gz, json=body)
    assert reply.status_code == 422 and reply.json()["detail"] == (
        "code: M04600 is not a chronic/special disease code of region 440100")
    # only for a person of its region
    assert http.post("/api/v1/agency/diseases", headers=sz, json={**body, "code": "M03900"}).status_code == 404
    assert http.post("/api/v1/agency/diseases", headers={"Authorization": f"Bearer {issue(key, 'person', GZ_EMP)}"},
                     json=body).status_code == 403
    # end the dataset's M07100, then recognise it again with an end date
    gone = http.delete(f"/api/v1/agency/diseases/{GZ_EMP}/M07100", headers=gz)
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled"
    made = http.post("/api/v1/agency/diseases", headers=gz, json={**body, "code": "M07100", "until": "2026-12-31"})
    assert made.status_code == 201, made.text
    assert {k: made.json()[k] for k in ("psn_no", "opsp_dise_code", "opsp_dise_name", "begndate", "enddate",
                                        "recognized_by")} == {
        "psn_no": GZ_EMP, "opsp_dise_code": "M07100", "opsp_dise_name": "糖尿病", "begndate": "2026-03-16",
        "enddate": "2026-12-31", "recognized_by": "agency:440100"}
    # an institution's recognition is ended by the insured region's agency too (it keeps the record)
    hub.his(SZ_NAT).ok("2503", {"data": {"psn_no": GZ_EMP, "opsp_dise_code": "M04600",
                                         "begndate": "2026-03-16"}}, GZ)
    assert http.delete(f"/api/v1/agency/diseases/{GZ_EMP}/M04600", headers=sz).status_code == 404
    assert http.delete(f"/api/v1/agency/diseases/{GZ_EMP}/M04600", headers=gz).status_code == 200
    listed = http.get(f"/api/v1/agency/diseases/{GZ_EMP}", headers=gz).json()
    assert [(r["opsp_dise_code"], r["begndate"]) for r in listed] == [("M03900", "2026-01-01"),
                                                                      ("M07100", "2026-03-16")]
    mine = http.get("/api/v1/me/diseases", headers={"Authorization": f"Bearer {issue(key, 'person', GZ_EMP)}"})
    assert mine.json() == listed


# -- suspension (seed 004 art. 29) ----------------------------------------------------------------------

def test_suspension_refuses_settlement_in_the_treatment_region_until_lifted(hub: Hub) -> None:
    key = signing_key(hub.store)
    http = hub.http
    assert http is not None
    sz = {"Authorization": f"Bearer {issue(key, 'agency', SZ)}"}
    gz = {"Authorization": f"Bearer {issue(key, 'agency', GZ)}"}
    his, who = hub.his(SZ_NAT), hub.who(GZ_EMP)
    visit = his.visit(who, OUT_ITEMS)

    made = http.post("/api/v1/agency/suspensions", headers=sz, json={"psn_no": GZ_EMP, "reason": "冒名就医,严重违规"})
    assert made.status_code == 201, made.text
    suspension = made.json()
    assert (suspension["psn_no"], suspension["treatment_admdvs"], suspension["active"],
            suspension["insured_admdvs"]) == (GZ_EMP, SZ, True, GZ)
    refusal = ("input.data.psn_no: direct settlement of this person in region 440300 is suspended by its agency "
               "since 2026-03-16 (冒名就医,严重违规); settle after it is lifted, or claim at the insured region")
    assert his.refused("2206", visit.data_2206(), GZ) == refusal
    assert his.refused("2207", visit.data_2207(), GZ) == refusal
    # in Shenzhen only: at home in Guangzhou the person settles
    one_of(hub.his(GZ_NAT).visit(who, [("XR-A", "10.00", "1")]).settle())

    # the agency's rules
    again = http.post("/api/v1/agency/suspensions", headers=sz, json={"psn_no": GZ_EMP, "reason": "again"})
    assert again.status_code == 422 and "already suspended" in again.json()["detail"]
    own = http.post("/api/v1/agency/suspensions", headers=sz, json={"psn_no": SZ_EMP, "reason": "x"})
    assert own.status_code == 422 and own.json()["detail"].startswith("psn_no: the person is insured in 440300")
    assert http.post("/api/v1/agency/suspensions", headers=sz, json={"psn_no": "NOBODY", "reason": "x"}
                     ).status_code == 404
    assert http.post(f"/api/v1/agency/suspensions/{suspension['id']}/lift", headers=gz,
                     json={"reason": "x"}).status_code == 404
    listed = http.get("/api/v1/agency/suspensions", headers=sz).json()
    assert [(s["id"], s["active"]) for s in listed] == [(suspension["id"], True)]
    assert http.get("/api/v1/agency/suspensions", headers=gz).json() == []
    assert [s["id"] for s in http.get("/api/v1/agency/suspensions?scope=insured", headers=gz).json()] == [
        suspension["id"]]

    lifted = http.post(f"/api/v1/agency/suspensions/{suspension['id']}/lift", headers=sz,
                       json={"reason": "核查后恢复"})
    assert lifted.status_code == 200 and (lifted.json()["active"], lifted.json()["lifted_reason"]) == (
        False, "核查后恢复")
    twice = http.post(f"/api/v1/agency/suspensions/{suspension['id']}/lift", headers=sz, json={"reason": "x"})
    assert twice.status_code == 422 and "already lifted" in twice.json()["detail"]
    assert http.get("/api/v1/agency/suspensions?active=true", headers=sz).json() == []
    # Guangzhou's deductible: 10.00 went at home, 40.00 left: round2((230.00 - 40.00) x 0.70) = 133.00
    check_amounts(one_of(visit.settle()), {"medfee_sumamt": "290.00", "act_pay_dedc": "40.00", "hifp_pay": "133.00"})


# -- identity (seed 003) ---------------------------------------------------------------------------------

def test_card_password_check_is_skipped_for_cross_region_card_users(hub: Hub) -> None:
    his = hub.his(SZ_NAT)

    def check(psn_no: str, card_sn: str, pwd: str = "123456", insuplc: str | None = None) -> dict[str, Any]:
        who = hub.who(psn_no)
        return {"infno": "90991", "input": {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": who["card_no"],
                                                     "card_sn": card_sn, "pwd": pwd}},
                "insuplc": who["admdvs"] if insuplc is None else insuplc}

    skipped = {"result": {"checked": "0", "reason": "not required of cross-region card users (seed 003)"}}
    for psn_no, region_ in ((GZ_EMP, GZ), (TY_RES, TY)):  # in-province and cross-province, with no password
        c = check(psn_no, "whatever", "", region_)
        assert his.ok("90991", c["input"], c["insuplc"])["output"] == skipped
    # a local card user: the card and its card_sn are checked
    c = check(SZ_EMP, "SN-SZ-0201", insuplc="")
    assert his.ok("90991", c["input"], "")["output"]["result"]["checked"] == "1"
    assert his.ok("90991", c["input"], SZ)["output"]["result"]["checked"] == "1"
    c = check(SZ_EMP, "SN-WRONG", insuplc="")
    assert his.refused("90991", c["input"], "") == "input.data.card_sn: does not match the card's identification code"
    c = check(SZ_EMP, "SN-SZ-0201", pwd="", insuplc="")
    assert his.refused("90991", c["input"], "") == "input.data.pwd: is required for a local card user"
    c = check(SZ_EMP, "SN-SZ-0201", insuplc="")
    c["input"]["data"]["mdtrt_cert_no"] = "SC-NOBODY"
    assert his.refused("90991", c["input"], "") == (
        "input.data.mdtrt_cert_no: no person insured in region 440300 holds this credential")
    c = check(SZ_EMP, "SN-SZ-0201", insuplc="")
    c["input"]["data"]["mdtrt_cert_type"] = "02"
    assert his.refused("90991", c["input"], "") == (
        "input.data.mdtrt_cert_type: 90991 checks a social-security card's password: must be 03")


def test_credential_types_for_cross_province_persons_are_a_setting(store: Store) -> None:
    def card_only_in_shenzhen(doc: dict[str, Any]) -> None:
        next(r for r in doc["regions"] if r["admdvs"] == SZ)["settings"] = {"xprov_cert_types": ["03"]}

    hub = load_with(store, card_only_in_shenzhen)
    sz_his, gz_his = hub.his(SZ_NAT), hub.his(GZ_NAT)
    ty = hub.who(TY_RES)
    by_id = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": ty["certno"]}}
    by_ecard = {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": ty["ecard"]}}
    by_card = {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": ty["card_no"], "card_sn": "SN-TY-0201"}}
    assert sz_his.refused("1101", by_id, TY) == (
        "input.data.mdtrt_cert_type: credential type 02 is not accepted in region 440300 for a person insured in "
        "another province (140100); region setting xprov_cert_types allows 03")
    assert sz_his.refused("1101", by_ecard, TY).startswith("input.data.mdtrt_cert_type: credential type 01 is not")
    assert sz_his.ok("1101", by_card, TY)["output"]["baseinfo"]["psn_no"] == TY_RES
    # the setting is for cross-province persons: a Guangzhou person shows his ID card in Shenzhen
    gz = hub.who(GZ_EMP)
    assert sz_his.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": gz["certno"]}}, GZ)[
        "output"]["baseinfo"]["psn_no"] == GZ_EMP
    # Guangzhou has no setting: the default 01, 02, 03
    assert gz_his.ok("1101", by_id, TY)["output"]["baseinfo"]["psn_no"] == TY_RES


def test_a_malformed_credential_setting_is_named(store: Store) -> None:
    def bad(doc: dict[str, Any]) -> None:
        next(r for r in doc["regions"] if r["admdvs"] == SZ)["settings"] = {"xprov_cert_types": "03"}

    hub = load_with(store, bad)
    ty = hub.who(TY_RES)
    assert hub.his(SZ_NAT).refused("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": ty["certno"]}},
                                   TY) == ("input.data.mdtrt_cert_type: region 440300's setting xprov_cert_types "
                                           "must be a list of credential types such as [\"03\"], not '03'")
