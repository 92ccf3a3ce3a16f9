"""Running a simulated month end to end: the world loaded, the traffic, the cycle, the reports and the summary."""

from __future__ import annotations

import json
import shutil
import time as clock
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.dataset.loader import load_file
from yibao.money import ZERO
from yibao.platform import allocation as al
from yibao.reports import analysis
from yibao.reports import monthly as rp
from yibao.reports.analysis import Analysis
from yibao.reports.analysis_render import write_analysis
from yibao.reports.render import Report, write_all
from yibao.rules.monthly import month_end, month_start, parse_ym
from yibao.simulate.cycle import MonthlyCycle
from yibao.simulate.server import serving, set_today
from yibao.simulate.traffic import Tally, Traffic
from yibao.simulate.world import World
from yibao.store.db import Store, upgrade
from yibao.store.models import (
    AllocationItem,
    Declaration,
    Institution,
    Settlement,
)

# -- reports and summary --------------------------------------------------------------------------------------

def _region_reports(session: Session, ym: str, region: str) -> list[Report]:
    decls = list(session.scalars(select(Declaration).where(Declaration.setl_ym == ym, Declaration.admdvs == region)
                                 .order_by(Declaration.fixmedins_code)))
    level3 = [rp.declaration(session, d, cls, 3) for cls in ("employee", "resident") for d in decls]
    return rp.month_reports(session, ym, region) + level3


def _analyses(session: Session, ym: str, regions: list[str]) -> list[tuple[str, Analysis]]:
    """The month's analysis report of each region and province; the quarter's too when the month ends one."""
    scopes = [*regions, *sorted({al.province_of(r) for r in regions})]
    quarters = (False, True) if parse_ym(ym)[1] % 3 == 0 else (False,)
    return [(scope, analysis.build(session, scope, ym, quarter)) for scope in scopes for quarter in quarters]


def _totals(session: Session, ym: str) -> dict[str, Any]:
    S, In, D, A = Settlement, Institution, Declaration, AllocationItem
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for admdvs, cnt, refd, medfee, fund, acct, mulaid in session.execute(
            select(In.admdvs, func.count(), func.sum(func.cast(S.refd_setl_flag == "1", S.year.type)),
                   func.sum(S.medfee_sumamt), func.sum(S.fund_pay_sumamt), func.sum(S.acct_pay),
                   func.sum(S.acct_mulaid_pay))  # sum(a + b) of Money columns would come back as fen
            .join(In, In.code == S.fixmedins_code)
            .where(S.setl_time >= month_start(ym), S.setl_time < month_end(ym), S.kind != "coordination")
            .group_by(In.admdvs)):
        out[admdvs].update(settlement_rows=int(cnt), cancellations=int(refd or 0), medfee_sumamt=medfee,
                           payable=fund + acct, acct_mulaid_pay=mulaid)
    for admdvs, cnt, payable, approved, rejected in session.execute(
            select(D.admdvs, func.count(), func.sum(D.payable), func.sum(D.approved), func.sum(D.rejected))
            .where(D.setl_ym == ym).group_by(D.admdvs)):
        out[admdvs].update(declarations=int(cnt), declared_payable=payable, approved=approved, rejected=rejected)
    for admdvs, status, cnt in session.execute(select(D.admdvs, D.status, func.count()).where(D.setl_ym == ym)
                                               .group_by(D.admdvs, D.status)):
        out[admdvs].setdefault("declaration_status", {})[status] = int(cnt)
    for admdvs, payer, amount in session.execute(
            select(D.admdvs, A.payer, func.sum(A.amount)).join(D, D.decl_id == A.decl_id)
            .where(A.setl_ym == ym, A.status == "paid").group_by(D.admdvs, A.payer)):
        out[admdvs].setdefault("allocated", {})[payer] = amount
    return dict(sorted(out.items()))


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


def run(month: str, dataset: Path, out: Path, visits_per_day: int, seed: int) -> Path:
    """Simulate month `month` on `dataset`; the folder of the reports (out/<month>/reports)."""
    year, mon = parse_ym(month)
    ym = f"{year:04d}-{mon:02d}"
    console = Console()
    if not console.is_terminal:  # a log or a pipe: wide enough for the tables
        console = Console(width=120)
    started = clock.monotonic()
    folder = out / ym
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "simulation.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    reports = folder / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    url = f"sqlite:///{db.resolve()}"
    upgrade(url)
    store = Store(url)
    tally = Tally()
    try:
        report = load_file(store, dataset)
        console.print(f"loaded {dataset}: {report.summary()}")
        with store.unit_of_work() as s:
            world = World.read(s)
        days = [date(year, mon, 1) + timedelta(days=k) for k in range((month_end(ym) - month_start(ym)).days)]
        with serving(url, folder) as base:
            console.print(f"yibao serve on {base}, database {db}")
            traffic = Traffic(world, base, seed, tally)
            try:
                with _progress(console) as progress:
                    task = progress.add_task(f"traffic {ym}", total=len(days) * visits_per_day)
                    for day in days:
                        set_today(store, day)
                        progress.update(task, description=f"traffic {day}")
                        traffic.day(day, visits_per_day, day == days[-1], lambda: progress.advance(task))
                    progress.update(task, description=f"traffic {ym}")
                console.print(f"traffic: {tally.settled} settled, {tally.cancelled} cancelled, "
                              f"{sum(tally.refused.values())} refused, {tally.messages} messages")
                cycle = MonthlyCycle(store, traffic, ym, console)
                cycle.run()
            finally:
                traffic.close()
        with store.unit_of_work() as s:
            regions = list(s.scalars(select(Declaration.admdvs).where(Declaration.setl_ym == ym).distinct()
                                     .order_by(Declaration.admdvs)))
            written = 0
            failed: list[dict[str, str]] = []
            with _progress(console) as progress:
                todo = [(r, rep) for r in regions for rep in _region_reports(s, ym, r)]
                analyses = _analyses(s, ym, regions)
                task = progress.add_task("reports", total=len(todo) + len(analyses))
                for region, rep in todo:
                    try:
                        written += len(write_all(rep, reports / region))
                    except (TypeError, ValueError) as exc:  # a table the renderer refuses: listed, not fatal
                        failed.append({"region": region, "report": rep.code, "error": f"{type(exc).__name__}: {exc}"})
                        console.print(f"[red]report {region}/{rep.code} not written[/red]: {exc}")
                    progress.advance(task)
                for scope, made in analyses:  # the analysis reports of the regions and provinces (art. 32)
                    written += len(write_analysis(made, reports / scope))
                    progress.advance(task)
            totals = _totals(s, ym)
            provinces = sorted({al.province_of(r) for r in regions})
            centre = {p: al.centre_view(s, p) for p in provinces}
        summary = {"month": ym, "dataset": str(dataset), "seed": seed, "visits_per_day": visits_per_day,
                   "database": str(db), "reports": str(reports), "files": written, "report_errors": failed,
                   "traffic": tally.as_dict(),
                   "cycle": cycle.log, "rejected": cycle.rejected, "regions": totals, "centre": centre,
                   "seconds": round(clock.monotonic() - started, 1)}
        (folder / "summary.json").write_text(json.dumps(summary, default=_json, ensure_ascii=False, indent=1),
                                             encoding="utf-8")
        _print_summary(console, summary)
        return reports
    finally:
        store.dispose()


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    t = summary["traffic"]
    console.print(f"{summary['month']}: {t['visits']} visits, {t['settled']} settled "
                  f"({t['cross_region_settled']} cross-region, {t['mutual_aid_settled']} with mutual aid), "
                  f"{t['cancelled']} cancelled, {t['refused']} refused; {summary['files']} report files "
                  f"in {summary['seconds']} s")
    table = Table(title=f"{summary['month']} by treatment region")
    for title in ("region", "settlements", "cancelled", "declared", "approved", "agency paid", "centre paid",
                  "declarations"):
        table.add_column(title, justify="left" if title in ("region", "declarations") else "right", no_wrap=True)
    for admdvs, r in summary["regions"].items():
        allocated = r.get("allocated", {})
        table.add_row(admdvs, str(r.get("settlement_rows", 0)), str(r.get("cancellations", 0)),
                      str(r.get("declared_payable", "")), str(r.get("approved", "")),
                      str(allocated.get("agency", ZERO)), str(allocated.get("centre", ZERO)),
                      ", ".join(f"{k} {v}" for k, v in sorted(r.get("declaration_status", {}).items())))
    console.print(table)
    if t["refused_by"]:
        refused = Table(title="refused")
        refused.add_column("infno field")
        refused.add_column("count", justify="right")
        for key, n in t["refused_by"].items():
            refused.add_row(key, str(n))
        console.print(refused)
