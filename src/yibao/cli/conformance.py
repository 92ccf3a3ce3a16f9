"""`yibao conformance run`: the conformance kit for HIS and pharmacy-POS vendors (docs/conformance.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer

from yibao.cli.root import app
from yibao.conformance import profile as profiles
from yibao.conformance import report, scenario
from yibao.conformance.runner import Outcome, Runner
from yibao.conformance.selfhost import SelfHostFailed, selfhost

conformance_app = typer.Typer(no_args_is_help=True, help="The conformance kit: shipped scenarios against a platform")
app.add_typer(conformance_app, name="conformance")


@conformance_app.command("run")
def run(target: Annotated[str, typer.Option(help="the platform's base URL (http://host:port)")] = "",
        profile: Annotated[Path | None, typer.Option(help="the profile: institutions, secrets, test persons")] = None,
        self_: Annotated[bool, typer.Option("--self", help="start a yibao of the kit's own with its dataset")] = False,
        scenarios: Annotated[list[Path] | None, typer.Option(
            "--scenarios", help="scenario files or folders instead of the shipped ones (repeatable)")] = None,
        only: Annotated[list[str] | None, typer.Option(help="run only this scenario id (repeatable)")] = None,
        junit: Annotated[Path | None, typer.Option(help="also write JUnit XML here")] = None) -> None:
    """Run the scenarios against --target (with --profile) or against a yibao of its own (--self); exit 1 when a
    scenario fails."""
    try:
        chosen = scenario.load(list(scenarios) if scenarios else None, list(only) if only else None)
        prof = profiles.load(profile or profiles.self_profile_path()) if (profile or self_) else None
    except (scenario.BadScenario, profiles.BadProfile) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if prof is None:
        raise typer.BadParameter("name the platform's profile (--profile FILE), or run against the kit's own (--self)")
    if self_ and target:
        raise typer.BadParameter("--target and --self exclude each other: --self starts its own platform")
    if self_:
        try:
            with selfhost() as url:
                outcomes = run_all(url, prof, chosen)
        except SelfHostFailed as exc:
            typer.echo(f"yibao conformance: {exc}", err=True)
            raise typer.Exit(2) from None
        where = "a yibao of its own (--self)"
    else:
        url = target or prof.target
        if not url:
            raise typer.BadParameter("name the platform: --target URL (or `target:` in the profile)")
        reachable(url)
        outcomes = run_all(url, prof, chosen)
        where = url
    typer.echo(report.summary(outcomes, where), nl=False)
    if junit:
        report.write_junit(outcomes, where, junit)
        typer.echo(f"JUnit XML: {junit}")
    if any(not o.passed for o in outcomes):
        raise typer.Exit(1)


def reachable(url: str) -> None:
    """Exit 2 naming the target when nothing answers there: every scenario would fail for the same reason."""
    try:
        httpx.get(url, timeout=10.0)  # float-ok: seconds
    except httpx.TransportError as exc:
        typer.echo(f"yibao conformance: cannot reach {url}: {exc}; is the platform running, is --target right?",
                   err=True)
        raise typer.Exit(2) from None


def run_all(url: str, prof: profiles.Profile, chosen: list[scenario.Scenario]) -> list[Outcome]:
    runner = Runner(url, prof)
    try:
        return [runner.run(s) for s in chosen]
    finally:
        runner.close()
