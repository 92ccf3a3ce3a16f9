"""The `yibao` command. Other tools and scripts rely on this surface: keep it stable."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import simplejson
import typer

from yibao.gateway import wire

app = typer.Typer(no_args_is_help=True, add_completion=False, help="yibao medical-insurance settlement platform")
db_app = typer.Typer(no_args_is_help=True, help="Database schema")
app.add_typer(db_app, name="db")
bank_app = typer.Typer(no_args_is_help=True, help="Bank bookkeeping: the simulated bank, delivery, reconciliation")
app.add_typer(bank_app, name="bank")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema of the database named by YIBAO_DATABASE_URL."""
    from yibao.store.db import database_url, upgrade

    upgrade()
    typer.echo(f"schema up to date: {_safe_url(database_url())}")


@app.command()
def load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="dataset YAML or JSON")]) -> None:
    """Load a dataset document (docs/dataset.md); validates it whole and writes nothing if any part is wrong."""
    from yibao.dataset.loader import DatasetError, load_file
    from yibao.store.db import Store, upgrade

    upgrade()
    store = Store()
    try:
        report = load_file(store, file)
    except DatasetError as exc:
        typer.echo(f"{file}: not loaded, {len(exc.problems)} problem(s):", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()
    typer.echo(f"loaded {file}: {report.summary()}")


@app.command()
def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
          workers: Annotated[int, typer.Option(help="server processes (one per core suits PostgreSQL)")] = 1,
          access_log: Annotated[bool, typer.Option(help="log every HTTP request line")] = True) -> None:
    """Serve the platform on the database named by YIBAO_DATABASE_URL (its schema upgraded first)."""
    import uvicorn

    from yibao.store.db import upgrade

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    upgrade()
    uvicorn.run("yibao.gateway.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=access_log)


@app.command()
def call(infno: Annotated[str, typer.Argument(help="interface number, e.g. 1101")],
         input_: Annotated[str, typer.Option("--input", help="the `input` object: a JSON text or a file")] = "{}",
         insuplc: Annotated[str, typer.Option(help="insuplc_admdvs (the patient's insured region)")] = "",
         url: Annotated[str, typer.Option(help="platform base URL [YIBAO_URL]")] = "",
         code: Annotated[str, typer.Option(help="institution code [YIBAO_FIXMEDINS_CODE]")] = "",
         secret: Annotated[str, typer.Option(help="institution secret [YIBAO_SECRET]")] = "",
         admdvs: Annotated[str, typer.Option(help="institution's region [YIBAO_ADMDVS]")] = "",
         opter: Annotated[str, typer.Option(help="operator [YIBAO_OPTER]")] = "") -> None:
    """Send one signed message to a platform (signing in first when needed) and print the answer."""
    from yibao.client import PlatformError, client_from_env, infcode_of

    path = Path(input_)
    text = path.read_text(encoding="utf-8") if not input_.lstrip().startswith("{") and path.is_file() else input_
    try:
        payload = wire.decode(text.encode("utf-8"))
    except ValueError as exc:
        typer.echo(f"--input: not JSON ({exc})", err=True)
        raise typer.Exit(2) from None
    try:
        client = client_from_env(url=url, code=code, secret=secret, admdvs=admdvs, opter=opter)
        answer = client.call(infno, payload, insuplc)
    except (ValueError, PlatformError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(simplejson.dumps(answer, use_decimal=True, ensure_ascii=False, indent=2))
    raise typer.Exit(0 if infcode_of(answer) == 0 else 1)


BankUrl = Annotated[str, typer.Option("--url", help="the bank's base URL [YIBAO_BANK_URL, else http://127.0.0.1:8010]")]


@bank_app.command("serve")
def bank_serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
               port: Annotated[int, typer.Option(help="port to listen on")] = 8010,
               db: Annotated[str, typer.Option(help="the bank's own ledger: an SQLite file or a database URL")]
               = "bank.db") -> None:
    """Serve the simulated bank (books each acct_021 / acct_023 instruction once; docs/bank.md)."""
    from yibao.bank.simulated import serve as serve_bank

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve_bank(host=host, port=port, db=db)


@bank_app.command("deliver")
def bank_deliver(url: BankUrl = "",
                 loop: Annotated[bool, typer.Option("--loop", help="keep delivering until Ctrl-C")] = False,
                 interval: Annotated[float, typer.Option(help="seconds between passes with --loop")] = 1.0,
                 batch: Annotated[int, typer.Option(help="instructions per pass at most")] = 100) -> None:
    """Deliver the due bank instructions of YIBAO_DATABASE_URL's outbox: one pass (exit 1 if any failed),
    or with --loop until interrupted."""
    import threading

    from yibao.bank import adapter as bank_adapter
    from yibao.bank.outbox import deliver_due, run_worker
    from yibao.store.db import Store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = Store()
    adapter = bank_adapter.make_adapter(url or bank_adapter.bank_url())
    try:
        if loop:
            stop = threading.Event()
            try:
                run_worker(store, adapter, stop, interval=interval, batch=batch)
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


@bank_app.command("reconcile")
def bank_reconcile(url: BankUrl = "") -> None:
    """Compare the platform's journal and outbox with the bank's ledger: each difference on a line (exit 1),
    or "no difference" (exit 0); exit 2 when the bank cannot be read."""
    from yibao.bank import adapter as bank_adapter
    from yibao.bank.reconcile import reconcile
    from yibao.store.db import Store

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


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def main() -> None:
    app(prog_name="yibao")


if __name__ == "__main__":
    sys.exit(main())
