"""Pure rules of the reports: the fund paying each mutual-aid amount (太原 并医险中心字〔2022〕126号 四), the periods
and thresholds of the analysis report (揭阳 揭医保〔2021〕82号, art. 32), and each province's table set."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yibao.reports.tablesets import GENERIC, GUANGDONG, SHANXI, file_code, province_name, table_set
from yibao.rules.monitoring import (
    UNUSUAL_AVG_COST,
    UNUSUAL_GROWTH,
    Period,
    Thresholds,
    growth,
    percent,
    ratio,
    unusual,
)
from yibao.rules.payment_funds import (
    CENTRE,
    EMPLOYEE_ACCOUNTS,
    WITH_FUND,
    XREGION_FUND,
    fund_label,
    mutual_aid_fund,
)

D = Decimal
TY, DT, SZ, GZ = "140100", "140200", "440300", "440100"


@pytest.mark.parametrize(("insu", "insutype", "acct", "fund"), [
    (TY, "310", TY, EMPLOYEE_ACCOUNTS),  # 四(一)1
    (TY, "390", TY, EMPLOYEE_ACCOUNTS),  # 四(一)2
    (TY, "390", DT, EMPLOYEE_ACCOUNTS),  # 四(四)4: residents' cross-region mutual aid too
    (TY, "310", DT, XREGION_FUND),       # 四(二)
    (DT, "310", DT, CENTRE),             # 四(三)
    (DT, "390", TY, CENTRE),
])
def test_taiyuans_payment_plan_names_the_fund(insu: str, insutype: str, acct: str, fund: str) -> None:
    """太原 并医险中心字〔2022〕126号 四(一)-(四)."""
    assert mutual_aid_fund(TY, insu, insutype, acct) == fund


def test_elsewhere_the_mutual_aid_goes_with_the_fund_or_through_the_centre() -> None:
    """广东省《个人账户家庭共济异地使用定点医药机构接入改造指引》 cases (1) and (2)."""
    assert mutual_aid_fund(SZ, SZ, "390", GZ) == WITH_FUND
    assert mutual_aid_fund(SZ, GZ, "310", GZ) == CENTRE
    assert fund_label(XREGION_FUND, "太原市") == "太原市异地基金账户"
    assert fund_label(CENTRE, "太原市") == "省异地就医结算专户"
    assert fund_label(None, "太原市") == ""


def test_each_province_has_its_table_set() -> None:
    assert (table_set(SZ), table_set("140000"), table_set("340100"), table_set("460100")) == (
        GUANGDONG, SHANXI, GENERIC, GENERIC)
    assert province_name("340100") == "安徽省" and province_name("990000") == "区划990000"
    assert file_code(GUANGDONG, "declaration", "DX202603", "resident", 2) == "annex07_DX202603"
    assert file_code(GUANGDONG, "review_payment_own", "H1_2026-03", "employee") == "annex11_H1_2026-03"
    assert file_code(SHANXI, "declaration", "DX202603", "resident", 2) == "declaration_resident_2_DX202603"
    assert SHANXI.title("declaration", "employee", 1) == "定点医药机构月结算申请表（职工医保一级表）"
    assert GENERIC.title("review_payment", "resident", version="经办机构用表") == (
        "异地就医医疗费用月结算审核支付表（居民医保-经办机构用表）")


def test_periods_compare_with_the_previous_one_and_the_same_one_last_year() -> None:
    month = Period.of("2026-03", quarter=False)
    assert (month.key, month.previous().key, month.last_year().key, month.label) == (
        "2026-03", "2026-02", "2025-03", "2026年3月")
    quarter = Period.of("2026-02", quarter=True)
    assert (quarter.key, quarter.months_list, quarter.previous().key, quarter.last_year().key, quarter.label) == (
        "2026Q1", ["2026-01", "2026-02", "2026-03"], "2025Q4", "2025Q1", "2026年第1季度")


def test_rates_and_growth() -> None:
    assert ratio(D("1.00"), D("3.00")) == D("0.3333") and ratio(1, 0) is None
    assert growth(D("150.00"), D("100.00")) == D("0.5000") and growth(D("1.00"), D("0.00")) is None
    assert percent(D("0.1250")) == "12.50%" and percent(None) == "—"


def test_thresholds_are_a_region_setting() -> None:
    assert Thresholds.of(None) == Thresholds(D("0.50"), D("1.50"), 5)
    assert Thresholds.of({"monitoring": {"growth": "0.30", "min_visits": 2}}) == Thresholds(D("0.30"), D("1.50"), 2)


def test_an_institution_is_unusual_by_growth_or_average_cost() -> None:
    t = Thresholds()
    assert unusual(10, D("1600.00"), D("1000.00"), D("100.00"), t) == [UNUSUAL_GROWTH, UNUSUAL_AVG_COST]
    assert unusual(10, D("1500.00"), D("1000.00"), D("100.00"), t) == []  # exactly +50 %, exactly 1.5 x: not beyond
    assert unusual(10, D("1000.00"), D("0.00"), D("50.00"), t) == [UNUSUAL_AVG_COST]  # no base: no growth to judge
    assert unusual(4, D("9000.00"), D("10.00"), D("10.00"), t) == []  # too few visits


@pytest.mark.parametrize(("monitoring", "message"), [
    ({"growth": "lots"}, "monitoring.growth: 'lots' is not a non-negative decimal"),
    ({"avg_cost": 1.5}, "monitoring.avg_cost: 1.5 is not a non-negative decimal"),  # float-ok: bad input
    ({"growth": "-0.1"}, "monitoring.growth: '-0.1'"),
    ({"min_visits": "5"}, "monitoring.min_visits: '5' is not a non-negative whole number"),
    ("high", "monitoring: a mapping"),
])
def test_a_threshold_that_is_not_one_is_refused_by_name(monitoring: object, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        Thresholds.of({"monitoring": monitoring})
