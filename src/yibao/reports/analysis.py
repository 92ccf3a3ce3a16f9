"""The periodic analysis report of cross-region settlement (异地就医结算运行分析报告; 揭阳 揭医保〔2021〕82号,
粤医保规〔2021〕4号 art. 32), monthly or quarterly, for a region or a province (docs/monthly.md).

What it covers: the cross-region settlements (insured region ≠ treatment region; claims of 零星报销 left out)
that the region is part of, as treatment region or as insured region; for a province, every one whose
treatment or insured region is in it. A period is its settlements' setl_time months, like the declarations.
Visits (人次) are settlements less cancellations; amounts are summed over the records, so a cancellation
nets its settlement out. The personal burden is acct_pay + psn_cash_pay.

Every figure is set-based SQL; the renderers are reports/analysis_render.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from yibao.codes import MED_TYPE
from yibao.errors import refuse
from yibao.money import ZERO
from yibao.reports.columns import count_column, money_column, region_names
from yibao.reports.table import Column, Report
from yibao.reports.tablesets import province_name
from yibao.rules.monitoring import Period, Thresholds, average, growth, percent, ratio, unusual
from yibao.rules.monthly import month_end, month_start
from yibao.store.models import (
    Declaration,
    DeclarationLine,
    Institution,
    Region,
    ReviewDeduction,
    ReviewRejection,
    Settlement,
)

KIND_NAMES = {"outpatient": "门诊", "inpatient": "住院", "pharmacy": "药店购药"}
AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")
S, In = Settlement, Institution


@dataclass
class Chart:
    """A chart of the report: its data, drawn by the renderer (labels are codes: the caption says the rest)."""

    name: str
    caption: str
    kind: str  # bar | barh
    labels: list[str]
    series: dict[str, list[Decimal]]


@dataclass
class Analysis:
    code: str
    title: str
    meta: list[tuple[str, str]]
    figures: dict[str, Any]
    sections: list[Report]
    charts: list[Chart] = field(default_factory=list)


def is_province(scope: str) -> bool:
    return scope.endswith("0000")


def _in_scope(column: Any, scope: str) -> Any:
    return column.like(scope[:2] + "%") if is_province(scope) else column == scope


def _where(scope: str, period: Period) -> list[Any]:
    return [or_(_in_scope(In.admdvs, scope), _in_scope(S.insu_admdvs, scope)), S.insu_admdvs != In.admdvs,
            S.kind != "coordination", S.setl_time >= month_start(period.first), S.setl_time < month_end(period.last)]


_VISITS = func.sum(case((S.refd_setl_flag == "1", -1), else_=1))


def _sums(session: Session, scope: str, period: Period, *keys: Any) -> list[dict[str, Any]]:
    """Visits and amounts of the scope's cross-region settlements in the period, grouped by `keys`."""
    q = (select(*keys, _VISITS.label("visits"), *(func.sum(getattr(S, a)).label(a) for a in AMOUNTS))
         .select_from(S).join(In, In.code == S.fixmedins_code).where(*_where(scope, period)))
    if keys:
        q = q.group_by(*keys).order_by(*keys)
    out = []
    for r in session.execute(q):
        row = dict(r._mapping)
        row["visits"] = int(row["visits"] or 0)
        for a in AMOUNTS:
            row[a] = row[a] if row[a] is not None else ZERO
        row["burden"] = row["acct_pay"] + row["psn_cash_pay"]
        out.append(row)
    return out


def _total(session: Session, scope: str, period: Period) -> dict[str, Any]:
    row = _sums(session, scope, period)[0]
    row["fund_share"] = ratio(row["fund_pay_sumamt"], row["medfee_sumamt"])
    row["burden_share"] = ratio(row["burden"], row["medfee_sumamt"])
    row["average"] = average(row["medfee_sumamt"], row["visits"])
    return row


def thresholds(session: Session, scope: str) -> Thresholds:
    region = session.get(Region, scope)
    try:
        return Thresholds.of(region.settings if region is not None else None)
    except ValueError as exc:
        raise refuse("settings", f"region {scope}: {exc}") from None


def _review(session: Session, scope: str, period: Period) -> list[dict[str, Any]]:
    """Declared, rejected and deducted per treatment and insured region, for the cross-region lines of the
    declarations of the period's months."""
    D, L, R, X = Declaration, DeclarationLine, ReviewRejection, ReviewDeduction
    months = period.months_list
    out: dict[tuple[str, str], dict[str, Any]] = {}

    def row(treat: str, insu: str) -> dict[str, Any]:
        return out.setdefault((treat, insu), {"treat_admdvs": treat, "insu_admdvs": insu, "declared": ZERO,
                                              "rejected": ZERO, "deducted": ZERO})

    for column, table, amount in (("declared", L, L.payable), ("rejected", R, R.amount), ("deducted", X, X.amount)):
        for treat, insu, total in session.execute(
                select(D.admdvs, table.insu_admdvs, func.sum(amount)).join(table, table.decl_id == D.decl_id)
                .where(D.setl_ym.in_(months), table.insu_admdvs != D.admdvs,
                       or_(_in_scope(D.admdvs, scope), _in_scope(table.insu_admdvs, scope)))
                .group_by(D.admdvs, table.insu_admdvs)):
            row(treat, insu)[column] = total or ZERO
    rows = [out[k] for k in sorted(out)]
    for r in rows:
        r["rejection_rate"] = ratio(r["rejected"], r["declared"])
        r["deduction_rate"] = ratio(r["deducted"], r["declared"])
    return rows


def build(session: Session, scope: str, ym: str, quarter: bool = False) -> Analysis:
    """The analysis report of `scope` (a region, or a province xx0000) for the month ym or its quarter."""
    period = Period.of(ym, quarter)
    names = region_names(session)
    t = thresholds(session, scope)
    periods = {"current": period, "previous": period.previous(), "last_year": period.last_year()}
    overall = {k: _total(session, scope, p) for k, p in periods.items()}
    now = overall["current"]
    growths = {f"{k}_{base}": growth(now[k], overall[base][k]) for k in ("visits", "medfee_sumamt", "fund_pay_sumamt")
               for base in ("previous", "last_year")}
    regions = _sums(session, scope, period, S.insu_admdvs, In.admdvs.label("treat_admdvs"))
    kinds = _sums(session, scope, period, S.kind, S.med_type)
    institutions = _institutions(session, scope, period, now["average"], t)
    review = _review(session, scope, period)
    declared = sum((r["declared"] for r in review), ZERO)
    rejected = sum((r["rejected"] for r in review), ZERO)
    deducted = sum((r["deducted"] for r in review), ZERO)
    where = f"{province_name(scope)}（省级汇总）" if is_province(scope) else f"{names.get(scope, scope)}（{scope}）"
    figures = {
        "scope": scope, "period": period.key, "months": period.months_list,
        "previous_period": periods["previous"].key, "same_period_last_year": periods["last_year"].key,
        "thresholds": {"growth": t.growth, "avg_cost": t.avg_cost, "min_visits": t.min_visits},
        **overall,
        "growth": growths,
        "by_region": regions, "by_kind": kinds, "institutions": institutions,
        "review": {"declared": declared, "rejected": rejected, "deducted": deducted,
                   "rejection_rate": ratio(rejected, declared), "deduction_rate": ratio(deducted, declared),
                   "by_region": review},
    }
    sections = _sections(scope, period, periods, overall, growths, regions, kinds, institutions, review, names, t)
    return Analysis(
        f"analysis_{scope}_{period.key}",
        f"{where}异地就医结算运行分析报告（{period.label}）",
        [("范围", where), ("统计期", period.label), ("上期", periods["previous"].label),
         ("去年同期", periods["last_year"].label)],
        figures, sections, _charts(overall, regions, kinds, institutions, review))


def _institutions(session: Session, scope: str, period: Period, scope_average: Decimal | None,
                  t: Thresholds) -> list[dict[str, Any]]:
    keys = (S.fixmedins_code, In.name, In.admdvs)
    now = _sums(session, scope, period, *keys)
    before = {r["fixmedins_code"]: r for r in _sums(session, scope, period.previous(), *keys)}
    rows = []
    for r in now:
        prev = before.get(r["fixmedins_code"], {"visits": 0, "medfee_sumamt": ZERO})
        flags = unusual(r["visits"], r["medfee_sumamt"], prev["medfee_sumamt"], scope_average, t)
        rows.append({"fixmedins_code": r["fixmedins_code"], "name": r["name"], "admdvs": r["admdvs"],
                     "visits": r["visits"], "medfee_sumamt": r["medfee_sumamt"],
                     "fund_pay_sumamt": r["fund_pay_sumamt"], "average": average(r["medfee_sumamt"], r["visits"]),
                     "previous_visits": prev["visits"], "previous_medfee_sumamt": prev["medfee_sumamt"],
                     "growth": growth(r["medfee_sumamt"], prev["medfee_sumamt"]), "flags": flags})
    return rows


def _sections(scope: str, period: Period, periods: dict[str, Period], overall: dict[str, Any],
              growths: dict[str, Any], regions: list[dict[str, Any]], kinds: list[dict[str, Any]],
              institutions: list[dict[str, Any]], review: list[dict[str, Any]], names: dict[str, str],
              t: Thresholds) -> list[Report]:
    stem = f"{scope}_{period.key}"
    money = [money_column("medfee_sumamt", "医疗费总额"), money_column("fund_pay_sumamt", "基金支付"),
             money_column("burden", "个人负担")]
    period_names = {"current": "本期", "previous": "上期", "last_year": "去年同期"}
    overview = [{"period": f"{period_names[k]}（{periods[k].label}）", **overall[k],
                 "fund_share": percent(overall[k]["fund_share"]), "burden_share": percent(overall[k]["burden_share"])}
                for k in ("current", "previous", "last_year")]
    growth_rows = [{"period": title, "visits_growth": percent(growths[f"visits_{base}"]),
                    "medfee_growth": percent(growths[f"medfee_sumamt_{base}"]),
                    "fund_growth": percent(growths[f"fund_pay_sumamt_{base}"])}
                   for title, base in (("环比（较上期）", "previous"), ("同比（较去年同期）", "last_year"))]
    region_rows = [{**r, "insu_name": names.get(r["insu_admdvs"], ""), "treat_name": names.get(r["treat_admdvs"], "")}
                   for r in regions]
    kind_rows = [{**r, "kind_name": KIND_NAMES.get(r["kind"], r["kind"]),
                  "med_type_name": MED_TYPE.get(r["med_type"], "")} for r in kinds]
    institution_rows = [{**r, "average": r["average"] or ZERO, "growth": percent(r["growth"]),
                         "flags": "、".join(r["flags"])} for r in institutions]
    visits = count_column("visits", "人次")
    return [
        Report(f"overview_{stem}", "一、总体情况", [Column("period", "期间"), visits, *money,
                                                    money_column("acct_mulaid_pay", "其中共济支付"),
                                                    Column("fund_share", "基金支付占比"),
                                                    Column("burden_share", "个人负担占比")], overview, total_row=False),
        Report(f"growth_{stem}", "二、增长情况", [Column("period", "比较"), Column("visits_growth", "人次增长"),
                                                 Column("medfee_growth", "医疗费增长"),
                                                 Column("fund_growth", "基金支付增长")], growth_rows, total_row=False),
        Report(f"by_region_{stem}", "三、按参保地和就医地", [
            Column("insu_admdvs", "参保地区划"), Column("insu_name", "参保地"), Column("treat_admdvs", "就医地区划"),
            Column("treat_name", "就医地"), visits, *money], region_rows),
        Report(f"by_kind_{stem}", "四、按结算类别和医疗类别", [
            Column("kind_name", "结算类别"), Column("med_type", "医疗类别"), Column("med_type_name", "医疗类别名称"),
            visits, *money], kind_rows),
        Report(f"institutions_{stem}", "五、医药机构（增长与次均费用监测）", [
            Column("fixmedins_code", "机构编码"), Column("name", "机构名称"), visits,
            money_column("medfee_sumamt", "医疗费总额"), money_column("average", "次均费用"),
            count_column("previous_visits", "上期人次"), money_column("previous_medfee_sumamt", "上期医疗费"),
            Column("growth", "医疗费增长"), Column("flags", "异常")], institution_rows,
            notes=[f"增长异常：医疗费较上期增长超过{percent(t.growth)}；次均费用异常：次均费用超过本范围次均费用"
                   f"（{overall['current']['average'] or '—'}）的{t.avg_cost}倍；"
                   f"本期人次少于{t.min_visits}的机构不判异常"]),
        Report(f"review_{stem}", "六、审核拒付与扣款", [
            Column("treat_admdvs", "就医地"), Column("insu_admdvs", "参保地"), money_column("declared", "申报金额"),
            money_column("rejected", "拒付金额"), money_column("deducted", "扣款金额"),
            Column("rejection_rate", "拒付率"), Column("deduction_rate", "扣款率")],
            [{**r, "rejection_rate": percent(r["rejection_rate"]), "deduction_rate": percent(r["deduction_rate"])}
             for r in review]),
    ]


def _charts(overall: dict[str, Any], regions: list[dict[str, Any]], kinds: list[dict[str, Any]],
            institutions: list[dict[str, Any]], review: list[dict[str, Any]]) -> list[Chart]:
    periods = ["current", "previous", "last_year"]
    charts = [Chart("periods", "图1 本期、上期与去年同期的医疗费总额、基金支付和个人负担（元）", "bar",
                    ["current", "previous", "last year"],
                    {k: [overall[p][key] for p in periods] for k, key in
                     (("medfee", "medfee_sumamt"), ("fund", "fund_pay_sumamt"), ("personal", "burden"))})]
    pairs = [f"{r['insu_admdvs']}>{r['treat_admdvs']}" for r in regions]
    charts.append(Chart("regions", "图2 按参保地>就医地的医疗费总额与基金支付（元）", "barh", pairs,
                        {"medfee": [r["medfee_sumamt"] for r in regions],
                         "fund": [r["fund_pay_sumamt"] for r in regions]}))
    charts.append(Chart("med_types", "图3 按医疗类别的人次", "bar", [f"{r['kind'][:3]} {r['med_type']}" for r in kinds],
                        {"visits": [Decimal(r["visits"]) for r in kinds]}))
    charts.append(Chart("institutions", "图4 医药机构次均费用（元）", "barh",
                        [r["fixmedins_code"] for r in institutions],
                        {"average": [r["average"] or ZERO for r in institutions]}))
    charts.append(Chart("review", "图5 按就医地>参保地的申报、拒付与扣款金额（元）", "barh",
                        [f"{r['treat_admdvs']}>{r['insu_admdvs']}" for r in review],
                        {"declared": [r["declared"] for r in review], "rejected": [r["rejected"] for r in review],
                         "deducted": [r["deducted"] for r in review]}))
    return charts
