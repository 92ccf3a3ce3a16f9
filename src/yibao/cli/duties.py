"""yibao complaint, switch, centre, review damages: the agencies' duties (docs/duties.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from yibao.cli.monthly import review_app
from yibao.cli.root import app, print_json, run_work
from yibao.money import to_decimal
from yibao.platform import complaints, oversight, switches
from yibao.platform import review as rv
from yibao.platform.work import Work

complaint_app = typer.Typer(no_args_is_help=True, help="Complaints of cross-region patients (seed 004 art. 28)")
switch_app = typer.Typer(no_args_is_help=True, help="Region switches changed by the agency from a date (art. 38)")
centre_app = typer.Typer(no_args_is_help=True, help="What the provincial centre watches (art. 21, 28, 29)")
app.add_typer(complaint_app, name="complaint")
app.add_typer(switch_app, name="switch")
app.add_typer(centre_app, name="centre")


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        typer.echo(f"{field}: {text!r} is not a date YYYY-MM-DD", err=True)
        raise typer.Exit(1) from None


# -- complaints ------------------------------------------------------------------------------------------

@complaint_app.command("file")
def complaint_file(psn_no: str, content: Annotated[str, typer.Option(help="what happened")],
                   institution: Annotated[str, typer.Option(help="the institution complained about")] = "",
                   setl_id: Annotated[str, typer.Option(help="or one of the person's settlements")] = "") -> None:
    """File a complaint for an insured person (at the agency's desk)."""
    print_json(run_work(lambda w: complaints.describe(w.session, complaints.file(
        w.session, psn_no, content, w.now, fixmedins_code=institution or None, setl_id=setl_id or None), w.today)))


@complaint_app.command("list")
def complaint_list(agency: Annotated[str, typer.Option(help="complaints about this region's institutions")] = "",
                   person: Annotated[str, typer.Option(help="or this person's complaints")] = "",
                   overdue: Annotated[bool, typer.Option(help="only open ones past the deadline")] = False) -> None:
    """List complaints: a region's (with --overdue, the late ones) or a person's."""
    if bool(agency) == bool(person):
        typer.echo("name one of --agency or --person", err=True)
        raise typer.Exit(1)

    def run(w: Work) -> list[dict[str, Any]]:
        if person:
            return complaints.of_person(w.session, person, w.today)
        return complaints.of_region(w.session, agency, w.today, overdue=overdue)

    print_json(run_work(run))


@complaint_app.command("accept")
def complaint_accept(agency: str, complaint_id: int) -> None:
    """Accept a complaint about an institution of the region."""
    print_json(run_work(lambda w: complaints.describe(
        w.session, complaints.accept(w.session, agency, complaint_id, w.now), w.today)))


@complaint_app.command("answer")
def complaint_answer(agency: str, complaint_id: int, answer: Annotated[str, typer.Option(help="the result")],
                     serious: Annotated[bool, typer.Option(help="a serious violation found: reported to the "
                                                                "provincial centre")] = False) -> None:
    """Answer an accepted complaint; the patient sees the answer."""
    print_json(run_work(lambda w: complaints.describe(
        w.session, complaints.answer(w.session, agency, complaint_id, answer, serious, w.now), w.today)))


# -- switches --------------------------------------------------------------------------------------------

@switch_app.command("set")
def switch_set(agency: str, name: str, state: Annotated[str, typer.Argument(help="on or off")],
               effective: Annotated[str, typer.Option("--from", help="the first day, YYYY-MM-DD")],
               why: Annotated[str, typer.Option(help="the policy that switches it")],
               by: Annotated[str, typer.Option(help="who changes it")] = "") -> None:
    """Turn a switch of the agency's region on or off from a date."""
    if state not in ("on", "off"):
        typer.echo(f"state: {state!r} is not on or off", err=True)
        raise typer.Exit(1)
    day = _day(effective, "from")
    print_json(run_work(lambda w: switches.describe(switches.change(
        w.session, agency, name, state == "on", day, by=by or f"agency:{agency}", why=why, today=w.today,
        now=w.now))))


@switch_app.command("show")
def switch_show(agency: str, on: Annotated[str, typer.Option(help="the day, YYYY-MM-DD (default today)")] = ""
                ) -> None:
    """The region's switches on a day and the history of their changes."""
    day = _day(on, "on") if on else None
    print_json(run_work(lambda w: switches.state(w.session, agency, day or w.today)))


# -- the centre ------------------------------------------------------------------------------------------

@centre_app.command("suspensions")
def centre_suspensions(province: str, active: Annotated[bool, typer.Option(help="only those in force")] = False
                       ) -> None:
    """Every suspension of direct settlement in the province: who, when and why (art. 29)."""
    print_json(run_work(lambda w: oversight.suspensions(w.session, province, True if active else None)))


@centre_app.command("agreement-changes")
def centre_agreement_changes(province: str, late: Annotated[bool, typer.Option(
        help="only those reported more than 10 working days after they happened")] = False) -> None:
    """The agreement changes of the province's institutions with their reporting deadline (art. 21)."""
    print_json(run_work(lambda w: oversight.agreement_changes(w.session, province, late)))


@centre_app.command("complaints")
def centre_complaints(province: str) -> None:
    """Serious violations found on complaints, reported up by the province's agencies (art. 28)."""
    print_json(run_work(lambda w: complaints.reported(w.session, province, w.today)))


# -- 违约金 ------------------------------------------------------------------------------------------------

@review_app.command("damages")
def review_damages(agency: str, decl_id: str, amount: str,
                   reason: Annotated[str, typer.Option(help="the clause of the agreement broken")],
                   insutype: Annotated[str, typer.Option(help="the tables it shows in")] = "") -> None:
    """Impose 违约金 on the institution of a declaration under review (seed 004 art. 30)."""
    x = run_work(lambda w: rv.impose_damages(w.session, agency, decl_id, to_decimal(amount), reason, w.today,
                                             w.now, insutype or None))
    typer.echo(f"违约金 {x.id}: {x.amount} on {x.fixmedins_code} ({decl_id})")
