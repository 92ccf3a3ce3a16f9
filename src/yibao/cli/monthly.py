"""yibao declare, review, allocate, clear, reports, simulate: the monthly cycle (docs/monthly.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from yibao.cli.root import Month, app, print_json, run_work
from yibao.errors import refuse
from yibao.money import to_decimal
from yibao.platform import allocation as al
from yibao.platform import declaration as dc
from yibao.platform import review as rv
from yibao.platform.work import Work
from yibao.reports.monthly import declaration, month_reports
from yibao.reports.render import write_all
from yibao.rules.monthly import parse_ym
from yibao.simulate import run as simulate_month
from yibao.store.models import Declaration, Institution, Region

review_app = typer.Typer(no_args_is_help=True, help="Review of declarations by the treatment region's agency")
allocate_app = typer.Typer(no_args_is_help=True, help="Allocation: pay the reviewed plans")
clear_app = typer.Typer(no_args_is_help=True, help="The provincial centre's monthly clearing")
app.add_typer(review_app, name="review")
app.add_typer(allocate_app, name="allocate")
app.add_typer(clear_app, name="clear")


@app.command()
def declare(fixmedins_code: str, month: Month) -> None:
    """Declare an institution's month (days 1-10 of the next month by default)."""
    def run(w: Work) -> dict[str, Any]:
        inst = w.session.get(Institution, fixmedins_code)
        if inst is None:
            raise refuse("fixmedins_code", f"no institution {fixmedins_code}")
        return dc.describe(dc.declare(w.session, inst, month, w.today, w.now))

    print_json(run_work(run))


@review_app.command("reject")
def review_reject(agency: str, decl_id: str, setl_id: str,
                  reason: Annotated[str, typer.Option(help="why it is not paid")]) -> None:
    """Reject one declared settlement."""
    r = run_work(lambda w: rv.reject(w.session, agency, decl_id, setl_id, reason, w.today, w.now))
    typer.echo(f"rejection {r.id}: {setl_id} {r.amount}")


@review_app.command("deduct")
def review_deduct(agency: str, decl_id: str, amount: str,
                  reason: Annotated[str, typer.Option(help="the violation")],
                  setl_id: Annotated[str, typer.Option(help="the settlement concerned")] = "",
                  insu_admdvs: Annotated[str, typer.Option(help="or the insured region")] = "",
                  insutype: Annotated[str, typer.Option(help="and the insurance type")] = "") -> None:
    """Deduct an amount for a violation (seed 004 art. 30)."""
    d = run_work(lambda w: rv.deduct(w.session, agency, decl_id, to_decimal(amount), reason, w.today, w.now,
                                     setl_id=setl_id or None, insu_admdvs=insu_admdvs or None,
                                     insutype=insutype or None))
    typer.echo(f"deduction {d.id}: {d.amount} from {d.insu_admdvs}")


@review_app.command("finish")
def review_finish(agency: str, decl_id: str) -> None:
    """Finish a review: the approved amount and the allocation plan."""
    print_json(run_work(lambda w: dc.describe(rv.finish(w.session, agency, decl_id, w.today, w.now))))


@review_app.command("agree")
def review_agree(agency: str, rejection_id: int) -> None:
    """Agree to pay a rejection with the institution's next declaration."""
    r = run_work(lambda w: rv.agree(w.session, agency, rejection_id, w.now))
    typer.echo(f"rejection {r.id} {r.status}")


@allocate_app.command("agency")
def allocate_agency(agency: str, month: Month) -> None:
    """The agency pays its own insured's part of the month's plans."""
    print_json(run_work(lambda w: al.allocate(w.session, "agency", agency, month, w.today, w.now)))


@allocate_app.command("centre")
def allocate_centre(province: str, month: Month) -> None:
    """The provincial centre pays the rest of the month's plans from its cross-region account."""
    print_json(run_work(lambda w: al.allocate(w.session, "centre", province, month, w.today, w.now)))


@clear_app.command("mutual-aid")
def clear_mutual_aid(province: str, month: Month) -> None:
    """Clear the month's mutual aid between regions of the province."""
    print_json(run_work(lambda w: [{"acct_admdvs": r.acct_admdvs, "insu_admdvs": r.insu_admdvs, "drawn": r.drawn,
                                    "cleared": r.cleared}
                                   for r in al.clear_mutual_aid(w.session, province, month, w.now)]))


@clear_app.command("advances")
def clear_advances(province: str, month: Month) -> None:
    """Settle each region's advance for the month and top it up (the first time: the initial prepayment)."""
    print_json(run_work(lambda w: {"settled": al.settle_advances(w.session, province, month, w.now),
                                   "centre": al.centre_view(w.session, province)}))


@app.command()
def reports(agency: str, month: Month,
            out: Annotated[Path, typer.Option(help="folder for the files")] = Path("var/reports"),
            level3: Annotated[bool, typer.Option(help="also the per-settlement declaration tables")] = False,
            analysis: Annotated[bool, typer.Option(
                help="the cross-region settlement analysis report instead (AGENCY a region, or a province xx0000)")]
            = False,
            quarter: Annotated[bool, typer.Option(help="with --analysis: the quarter of MONTH")] = False) -> None:
    """Write every table of a region's month (in its province's table set) as JSON, xlsx and PDF; or, with
    --analysis, the region's or province's analysis report of the month or quarter."""
    if quarter and not analysis:
        typer.echo("--quarter: only with --analysis", err=True)
        raise typer.Exit(2)

    def run(w: Work) -> list[Path]:
        try:
            parse_ym(month)
        except ValueError as exc:
            raise refuse("month", str(exc)) from None
        if analysis:
            from yibao.reports import analysis as an
            from yibao.reports.analysis_render import write_analysis

            if not an.is_province(agency) and w.session.get(Region, agency) is None:
                raise refuse("agency", f"no region {agency} (a province is xx0000)")
            return write_analysis(an.build(w.session, agency, month, quarter), out / agency / month)
        made = month_reports(w.session, month, agency)
        if level3:
            for decl in w.session.scalars(select(Declaration).where(Declaration.setl_ym == month,
                                                                    Declaration.admdvs == agency)):
                made += [declaration(w.session, decl, cls, 3) for cls in ("employee", "resident")]
        target = out / agency / month
        return [p for r in made for p in write_all(r, target)]

    written = run_work(run)
    typer.echo(f"{len(written)} files in {out / agency / month}")


@app.command()
def simulate(month: Annotated[str, typer.Option(help="the month to simulate, YYYY-MM")] = "2026-03",
             dataset: Annotated[Path, typer.Option(help="the world")] = Path("examples/demo.yaml"),
             out: Annotated[Path, typer.Option(help="folder for the reports")] = Path("var/simulation"),
             visits: Annotated[int, typer.Option(help="visits per day")] = 20,
             seed: Annotated[int, typer.Option(help="random seed")] = 1) -> None:
    """Drive a month of synthetic traffic over the wire, then the whole monthly cycle; the reports land in a folder."""
    folder = simulate_month(month=month, dataset=dataset, out=out, visits_per_day=visits, seed=seed)
    typer.echo(f"reports in {folder}")
