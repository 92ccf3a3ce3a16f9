"""yibao bank serve | deliver | reconcile (docs/bank.md)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from yibao.bank import adapter as bank_adapter
from yibao.bank.outbox import DeliveryReport, deliver_due, run_worker
from yibao.bank.reconcile import reconcile
from yibao.bank.simulated import serve as serve_bank
from yibao.cli.root import app
from yibao.store.db import Store

bank_app = typer.Typer(no_args_is_help=True, help="Bank bookkeeping: the simulated bank, delivery, reconciliation")
app.add_typer(bank_app, name="bank")
BankUrl = Annotated[str, typer.Option("--url", help="the bank's base URL [YIBAO_BANK_URL, else http://127.0.0.1:8010]")]


@bank_app.command("serve")
def bank_serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
               port: Annotated[int, typer.Option(help="port to listen on")] = 8010,
               db: Annotated[str, typer.Option(help="the bank's own ledger: an SQLite file or a database URL")]
               = "bank.db") -> None:
    """Serve the simulated bank (books each acct_021 / acct_023 instruction once; docs/bank.md)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve_bank(host=host, port=port, db=db)


@bank_app.command("deliver")
def bank_deliver(url: BankUrl = "",
                 loop: Annotated[bool, typer.Option("--loop", help="keep delivering until Ctrl-C")] = False,
                 interval: Annotated[float, typer.Option(help="seconds between passes with --loop")] = 1.0,
                 batch: Annotated[int, typer.Option(help="instructions per pass at most")] = 100,
                 heartbeat: Annotated[Path | None, typer.Option(
                     help="with --loop, a file touched after each pass that reached the database (the health "
                          "check: python -m yibao.healthcheck --beat FILE)")] = None) -> None:
    """Deliver the due bank instructions of YIBAO_DATABASE_URL's outbox: one pass (exit 1 if any failed),
    or with --loop until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = Store()
    adapter = bank_adapter.make_adapter(url or bank_adapter.bank_url())
    try:
        if loop:
            stop = threading.Event()
            try:
                run_worker(store, adapter, stop, interval=interval, batch=batch,
                           on_pass=_beat(heartbeat) if heartbeat else None)
            except KeyboardInterrupt:
                stop.set()
            return
        report = deliver_due(store, adapter, batch=batch)
        for instruction_id, error in report.failed:
            typer.echo(f"not delivered {instruction_id}: {error}", err=True)
        typer.echo(report.summary())
        if report.failed:
            raise typer.Exit(1)
    finally:
        adapter.close()
        store.dispose()


def _beat(path: Path) -> Callable[[DeliveryReport | None], None]:
    def beat(report: DeliveryReport | None) -> None:
        if report is not None:  # a pass that could not read the outbox is no sign of health
            path.touch()
    return beat


@bank_app.command("reconcile")
def bank_reconcile(url: BankUrl = "") -> None:
    """Compare the platform's journal and outbox with the bank's ledger: each difference on a line (exit 1),
    or "no difference" (exit 0); exit 2 when the bank cannot be read."""
    store = Store()
    adapter = bank_adapter.make_adapter(url or bank_adapter.bank_url())
    try:
        differences = reconcile(store, adapter)
    except bank_adapter.BankError as exc:
        typer.echo(f"cannot read the bank's ledger: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        adapter.close()
        store.dispose()
    if not differences:
        typer.echo("no difference")
        return
    for difference in differences:
        typer.echo(str(difference))
    raise typer.Exit(1)
