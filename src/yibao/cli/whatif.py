"""yibao whatif: a region's month replayed under changed policy, before and after (docs/whatif.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from yibao.cli.root import app, run_work
from yibao.errors import refuse
from yibao.reports import whatif_render
from yibao.whatif import load, render, whatif
from yibao.whatif.report import BREAKDOWNS

FORMATS = ("text", "json", "xlsx", "pdf")


@app.command("whatif")
def whatif_command(
        region: Annotated[str, typer.Option("--region", "--base", help="the region whose policy changes (its "
                                        "insured persons' settlements are replayed, wherever they were treated)")],
        month: Annotated[str, typer.Option(help="the (first) month replayed, YYYY-MM")],
        changes: Annotated[Path | None, typer.Option("--changes", "--policy", help="CHANGES.yaml: the policy "
                                                     "changes; none: replay unchanged (every settlement as stored)")]
        = None,
        months: Annotated[int, typer.Option(help="how many consecutive months from --month are replayed as one "
                                                 "period (1 to 12), accumulators carried from month to month")] = 1,
        fmt: Annotated[str, typer.Option("--format", help="text, json, xlsx or pdf (with its charts); xlsx and pdf "
                                                          "need --out")] = "text",
        out: Annotated[Path | None, typer.Option(help="write the report to this file instead of printing it")]
        = None,
        top: Annotated[int, typer.Option(min=0, max=1000, help="how many of the largest changes to list")] = 10,
) -> None:
    """Replay the region's stored settlements of a month (or of --months consecutive ones) under CHANGES.yaml with
    the live settlement rules and report fund pay, account pay and out-of-pocket before and after, per treatment
    and insured region, insured type, benefit kind, institution level and institution, and the persons most
    affected. Read only: nothing stored changes."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}, not {fmt!r}", param_hint="--format")
    if fmt in ("xlsx", "pdf") and out is None:
        raise typer.BadParameter(f"the {fmt} report is written to a file: give --out FILE", param_hint="--out")
    text = ""
    if changes is not None:
        try:
            text = changes.read_text(encoding="utf-8")
        except OSError as exc:
            typer.echo(refuse("changes", f"cannot read {changes}: {exc.strerror}").err_msg, err=True)
            raise typer.Exit(1) from None
    report = run_work(lambda w: whatif(w.session, region, month, load(text), months=months, top=top), read=True)
    body: str | bytes = (render.as_xlsx(report) if fmt == "xlsx" else
                         whatif_render.as_pdf(report, BREAKDOWNS) if fmt == "pdf" else
                         render.as_json(report) + "\n" if fmt == "json" else render.as_text(report))
    if out is None:
        typer.echo(body, nl=False)
        return
    if isinstance(body, bytes):
        out.write_bytes(body)
    else:
        out.write_text(body, encoding="utf-8")
    typer.echo(f"what-if report written to {out}")
