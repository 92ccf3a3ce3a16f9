"""Taiyuan's payment plan for mutual aid and each province's own table set, through the wire, the JSON API and
`yibao reports`, on SQLite and PostgreSQL.

The world is test_monthly_cycle.py's (Shenzhen and Guangzhou in Guangdong, Taiyuan and Datong in Shanxi) with
three more Shanxi beneficiaries at the Taiyuan hospital and Hefei (Anhui) with its own hospital:

    TY_SPOUSE  Taiyuan employee, no money on his own account, granted by the Taiyuan parent (local account)
    TY_EMP0    Taiyuan employee, no money on her own account, granted by the Datong parent (cross-region account)
    DT_CHILD   Datong resident child, granted by the Datong parent, treated in Taiyuan (insured elsewhere)
    HF_EMP     Hefei employee, treated at the Hefei hospital
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from outpatient_world import EXAMPLE_A, EXAMPLE_B, Hub, person, policy, region
from sqlalchemy import select
from test_monthly_cycle import (
    DT,
    DT_PARENT,
    MARCH,
    SZ,
    SZ_EMP,
    SZ_H,
    TY,
    TY_CHILD,
    TY_H,
    TY_KID2,
    TY_PARENT,
    Month,
    agency,
    cert,
    hospital,
    institution,
    settlements,
    sums,
    totals,
    world_doc,
)
from typer.testing import CliRunner

from yibao.api.tokens import signing_key
from yibao.cli import app as cli_app
from yibao.store.db import Store
from yibao.store.models import DeclarationMutualAid

D = Decimal
HF, HF_H = "340100", "H34010000301"
TY_SPOUSE = "14010000000000000304"
TY_EMP0 = "14010000000000000305"
DT_CHILD = "14020000000000000302"
HF_EMP = "34010000000000000301"
APRIL_1 = datetime(2026, 4, 1)


def provinces_doc() -> dict[str, Any]:
    doc = world_doc()
    # Taiyuan watches its institutions from the first visit on (the analysis report's thresholds)
    next(r for r in doc["regions"] if r["admdvs"] == TY)["settings"]["monitoring"] = {"growth": "0.50",
                                                                                     "min_visits": 1}
    doc["regions"].append(region(HF, "合肥市(示例)", [policy("310", "0.00", "0.70", "3000.00"),
                                                    policy("390", "0.00", "0.50", "800.00")]))
    doc["institutions"].append(hospital(HF_H, HF))
    emp, res = "1101", "1402"
    doc["persons"] += [
        person(TY_SPOUSE, "晋夫", cert("140101", "19720101", 4), "310", TY, emp, "0.00"),
        person(TY_EMP0, "晋妻", cert("140101", "19730101", 5), "310", TY, emp, "0.00"),
        person(DT_CHILD, "同童", cert("140201", "20170101", 2), "390", DT, res),
        person(HF_EMP, "肥甲", cert("340104", "19800101", 1), "310", HF, emp, "800.00"),
    ]
    year = {"start": "2026-01-01", "end": "2026-12-31", "priority": 1}
    doc["mutual_aid"] += [
        {"authorizer": TY_PARENT, "beneficiary": TY_SPOUSE, "relation": "spouse", "quota": None, **year},
        {"authorizer": DT_PARENT, "beneficiary": TY_EMP0, "relation": "spouse", "quota": None, **year},
        {"authorizer": DT_PARENT, "beneficiary": DT_CHILD, "relation": "child", "quota": None, **year},
    ]
    return doc


class ProvincesMonth(Month):
    # not super().__init__: that loads world_doc()
    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch):  # noqa: B027
        self.hub = Hub(store)
        self.hub.load(lambda doc: (doc.clear(), doc.update(provinces_doc())))
        self.store = store
        self.mp = monkeypatch
        self.key = signing_key(store)
        self.today = "2026-03-16"


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)


@pytest.fixture
def month(store: Store, monkeypatch: pytest.MonkeyPatch) -> ProvincesMonth:
    return ProvincesMonth(store, monkeypatch)


def test_taiyuan_pays_each_mutual_aid_amount_from_the_fund_its_plan_names(month: ProvincesMonth) -> None:
    """太原 并医险中心字〔2022〕126号 四: 四(一)1 a Taiyuan employee on a Taiyuan account and 四(一)2, 四(四)4 a Taiyuan
    resident on any account are paid from the city's employee personal-account fund; 四(二) a Taiyuan employee on
    another region's account from the city's cross-region fund account; 四(三) a beneficiary insured elsewhere in
    the province through the provincial platform (the centre). The local and the cross-region payment tables
    show them apart, each amount with its fund."""
    store = month.store
    visits = {
        "resident, local account": month.settle(TY_H, TY_CHILD, EXAMPLE_B),
        "resident, Datong account": month.settle(TY_H, TY_KID2, EXAMPLE_B),
        "employee, local account": month.settle(TY_H, TY_SPOUSE, EXAMPLE_B),
        "employee, Datong account": month.settle(TY_H, TY_EMP0, EXAMPLE_B),
        "Datong resident": month.settle(TY_H, DT_CHILD, EXAMPLE_B),
    }
    aid = {k: (v["acct_mulaid_pay"], v["acct_mulaid_admdvs"]) for k, v in visits.items()}
    # example B: Taiyuan's resident policy leaves 130.00, its employee policy (deductible 100.00, 0.60) 170.00,
    # Datong's resident policy (0.40) 150.00, all of it paid from the granting parent's account
    assert aid == {"resident, local account": (D("130.00"), TY), "resident, Datong account": (D("130.00"), DT),
                   "employee, local account": (D("170.00"), TY), "employee, Datong account": (D("170.00"), DT),
                   "Datong resident": (D("150.00"), DT)}

    month.on("2026-04-03")
    decl = month.post("/institution/declarations", institution(TY_H), 201, setl_ym=MARCH)
    assert D(str(decl["acct_mulaid_pay"])) == D("750.00")
    with store.unit_of_work() as s:
        funds = sorted((r.insu_admdvs, r.insutype, r.acct_admdvs, r.pay_fund, r.amount) for r in s.scalars(
            select(DeclarationMutualAid).where(DeclarationMutualAid.decl_id == decl["decl_id"])))
    assert funds == [
        (TY, "310", TY, "employee_accounts", D("170.00")),
        (TY, "310", DT, "xregion_fund", D("170.00")),
        (TY, "390", TY, "employee_accounts", D("130.00")),
        (TY, "390", DT, "employee_accounts", D("130.00")),
        (DT, "390", DT, "centre", D("150.00")),
    ]

    month.on("2026-04-15")
    month.post(f"/agency/declarations/{decl['decl_id']}/finish", agency(TY))
    local = month.get(f"/agency/reports/{MARCH}/mutual-aid-local", agency(TY))
    xregion = month.get(f"/agency/reports/{MARCH}/mutual-aid-xregion", agency(TY))
    assert local["title"] == "山西省医疗保险两定机构本地共济账户支付表"
    assert xregion["title"] == "山西省医疗保险两定机构异地共济账户支付表"

    def rows(table: dict[str, Any]) -> list[tuple[str, str, str, str, Decimal]]:
        return [(r["insu_admdvs"], r["insutype"], r["acct_admdvs"], r["pay_fund"], D(r["amount"]))
                for r in table["rows"]]

    accounts, cross_fund = "太原市(示例)职工医保个人账户基金", "太原市(示例)异地基金账户"
    assert rows(local) == [(TY, "310", TY, accounts, D("170.00")), (TY, "390", TY, accounts, D("130.00"))]
    assert rows(xregion) == [(TY, "310", DT, cross_fund, D("170.00")), (TY, "390", DT, accounts, D("130.00")),
                             (DT, "390", DT, "省异地就医结算专户", D("150.00"))]
    assert "居民医保的本地、异地共济账户金额由本市职工医保个人账户基金支付" in xregion["notes"]
    march = settlements(store, TY_H, None, APRIL_1)
    assert totals(local)["amount"] + totals(xregion)["amount"] == sums(march)["acct_mulaid_pay"] == D("750.00")


def written(month: ProvincesMonth, region_code: str, out: Path) -> dict[str, dict[str, Any]]:
    """`yibao reports REGION 2026-03`: the JSON tables written, by file stem."""
    month.mp.setenv("YIBAO_DATABASE_URL", str(month.store.engine.url.render_as_string(hide_password=False)))
    result = CliRunner().invoke(cli_app, ["reports", region_code, MARCH, "--out", str(out)])
    assert result.exit_code == 0, result.output
    folder = out / region_code / MARCH
    assert {p.suffix for p in folder.iterdir()} == {".json", ".xlsx", ".pdf"}
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}


def test_each_province_gets_its_own_table_set(month: ProvincesMonth, tmp_path: Path) -> None:
    """Guangdong's regions print 粤医保规〔2021〕4号 annexes 3-20; Shanxi's the tables of 太原 并医险中心字〔2022〕126号
    四 (its two mutual-aid payment tables by their names, the others in its words); Anhui's, which no source
    document gives, the generic set, saying so."""
    month.settle(SZ_H, SZ_EMP, EXAMPLE_A)
    month.settle(TY_H, TY_CHILD, EXAMPLE_B)
    month.settle(HF_H, HF_EMP, EXAMPLE_A)
    month.on("2026-04-03")
    for code in (SZ_H, TY_H, HF_H):
        month.post("/institution/declarations", institution(code), 201, setl_ym=MARCH)

    guangdong = written(month, SZ, tmp_path)
    assert {stem.split("_")[0] for stem in guangdong} >= {f"annex{n:02d}" for n in (3, 4, 6, 7, 9, 10, 11, 12, 13, 14,
                                                                                     15, 16, 17, 18, 19, 20)}
    level1 = guangdong[f"annex03_D{SZ_H}202603"]
    assert level1["title"] == "广东省省内异地就医门诊医疗费用结算申报表（职工医保一级表）"
    assert {"label": "表式", "value": "广东省：省内异地就医门诊医疗费用结算表（附件3-20）"} in level1["meta"]
    assert not any(stem.startswith("mutual_aid_local") for stem in guangdong)

    shanxi = written(month, TY, tmp_path)
    assert not any(stem.startswith("annex") for stem in shanxi)
    assert shanxi[f"declaration_resident_1_D{TY_H}202603"]["title"] == "定点医药机构月结算申请表（居民医保一级表）"
    assert shanxi[f"allocation_plan_resident_{TY}_{MARCH}"]["title"] == "月结算支付计划表（居民医保）"
    assert shanxi[f"mutual_aid_local_{TY}_{MARCH}"]["title"] == "山西省医疗保险两定机构本地共济账户支付表"
    assert shanxi[f"mutual_aid_xregion_{TY}_{MARCH}"]["title"] == "山西省医疗保险两定机构异地共济账户支付表"
    assert D(totals(shanxi[f"declaration_resident_1_D{TY_H}202603"])["payable"]) == D("230.00")

    anhui = written(month, HF, tmp_path)
    assert not any(stem.startswith(("annex", "mutual_aid_local")) for stem in anhui)
    table = anhui[f"declaration_employee_1_D{HF_H}202603"]
    assert table["title"] == "异地就医医疗费用结算申报表（职工医保一级表）"
    assert {"label": "表式", "value": "安徽省：通用表式（来源文件未规定本省表样）"} in table["meta"]
    assert "来源文件未规定本省表样：本表为通用表式" in table["notes"]
    assert anhui[f"transfer_voucher_340000_{MARCH}"]["title"] == "异地就医结算专户收付款凭证"
    hefei = settlements(month.store, HF_H, None, APRIL_1)
    assert D(totals(table)["payable"]) == sums(hefei, "employee")["payable"]


def test_yibao_reports_analysis_compares_the_month_with_the_previous_one(month: ProvincesMonth,
                                                                         tmp_path: Path) -> None:
    """揭阳 揭医保〔2021〕82号 (粤医保规〔2021〕4号 art. 32): the analysis report of a region (Taiyuan) and of its
    province, by month and by quarter, from `yibao reports REGION MONTH --analysis [--quarter]`. February: the
    Datong parent at the Taiyuan hospital once; March: twice, and the Datong child once; the Taiyuan child's
    visit is local and is not counted."""
    month.on("2026-02-10")
    feb = month.settle(TY_H, DT_PARENT, EXAMPLE_A)
    month.on("2026-03-16")
    march = [month.settle(TY_H, DT_PARENT, EXAMPLE_A), month.settle(TY_H, DT_PARENT, EXAMPLE_B),
             month.settle(TY_H, DT_CHILD, EXAMPLE_B)]
    month.settle(TY_H, TY_CHILD, EXAMPLE_B)
    # February was not declared in time and rolls into March's declaration: the review figures are those of the
    # declarations of the period, the volumes those of the settlements of the period
    month.on("2026-04-03")
    decl = month.post("/institution/declarations", institution(TY_H), 201, setl_ym=MARCH)
    month.on("2026-04-15")
    month.post(f"/agency/declarations/{decl['decl_id']}/rejections", agency(TY), 201, setl_id=march[1]["setl_id"],
               reason="超量开药，不予支付")
    rejected = D(str(march[1]["fund_pay_sumamt"])) + D(str(march[1]["acct_pay"]))
    declared = sum((D(str(v["fund_pay_sumamt"])) + D(str(v["acct_pay"])) for v in [feb, *march]), D("0.00"))
    month.mp.setenv("YIBAO_DATABASE_URL", str(month.store.engine.url.render_as_string(hide_password=False)))

    def analysis(scope: str, *flags: str) -> dict[str, Any]:
        result = CliRunner().invoke(cli_app, ["reports", scope, MARCH, "--analysis", *flags, "--out", str(tmp_path)])
        assert result.exit_code == 0, result.output
        period = "2026Q1" if flags else MARCH
        folder = tmp_path / scope / MARCH
        assert {p.name for p in folder.glob(f"analysis_{scope}_{period}.*")} == {
            f"analysis_{scope}_{period}.{x}" for x in ("json", "xlsx", "pdf")}
        return json.loads((folder / f"analysis_{scope}_{period}.json").read_text(encoding="utf-8"))

    medfee = sum((D(str(v["medfee_sumamt"])) for v in march), D("0.00"))
    fund = sum((D(str(v["fund_pay_sumamt"])) for v in march), D("0.00"))
    feb_medfee = D(str(feb["medfee_sumamt"]))
    for scope in (TY, "140000"):
        report = analysis(scope)
        f = report["figures"]
        assert (f["current"]["visits"], D(f["current"]["medfee_sumamt"]), D(f["current"]["fund_pay_sumamt"])) == (
            3, medfee, fund)
        assert (f["previous"]["visits"], D(f["previous"]["medfee_sumamt"])) == (1, feb_medfee)
        assert D(f["growth"]["visits_previous"]) == D("2.0000")
        assert D(f["growth"]["medfee_sumamt_previous"]) == ((medfee - feb_medfee) / feb_medfee).quantize(D("0.0001"))
        assert f["growth"]["medfee_sumamt_last_year"] is None  # nothing in March 2025 to compare with
        assert sorted((r["insu_admdvs"], r["treat_admdvs"], r["visits"]) for r in f["by_region"]) == [(DT, TY, 3)]
        assert {(r["med_type"], r["visits"]) for r in f["by_kind"]} == {("11", 3)}
        review = f["review"]
        assert (D(review["declared"]), D(review["rejected"]), D(review["deducted"])) == (declared, rejected, D("0.00"))
        assert D(review["rejection_rate"]) == (rejected / declared).quantize(D("0.0001"))
        [row] = f["institutions"]
        # +184 % over February: unusual for Taiyuan (its own thresholds); the province keeps the defaults, and
        # fewer than 5 visits are never judged
        flags = ["增长异常"] if scope == TY else []
        assert (row["fixmedins_code"], row["previous_visits"], row["flags"]) == (TY_H, 1, flags)
        assert f["thresholds"]["min_visits"] == (1 if scope == TY else 5)
        overview = report["sections"][0]
        assert overview["rows"][0]["fund_share"] == f"{(fund / medfee * 100).quantize(D('0.01'))}%"
        assert overview["totals"] == {}  # periods side by side do not add up
    quarter = analysis(TY, "--quarter")["figures"]
    assert (quarter["period"], quarter["previous_period"], quarter["same_period_last_year"]) == (
        "2026Q1", "2025Q4", "2025Q1")
    assert quarter["current"]["visits"] == 4 and quarter["previous"]["visits"] == 0  # February is in the quarter
    refused = CliRunner().invoke(cli_app, ["reports", "149900", MARCH, "--analysis", "--out", str(tmp_path)])
    assert refused.exit_code == 1 and "agency: no region 149900" in refused.output
