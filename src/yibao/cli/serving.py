"""yibao db upgrade, load, serve, call, keys: the platform itself."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import simplejson
import typer
from sqlalchemy import select

from yibao import wire
from yibao.cli.root import LogFormat, app, log_format_of, safe_url
from yibao.client import PlatformError, client_from_env, infcode_of
from yibao.dataset.loader import DatasetError, load_file
from yibao.demo_keys import ShippedKey, refuse_shipped
from yibao.federation.config import from_env as federation_config
from yibao.observe.logs import configure
from yibao.serving import run
from yibao.store.db import Store, database_url, upgrade
from yibao.store.models import Institution
from yibao.store.partitions import Maintained, maintain
from yibao.store.vault import VaultError, new_key, vault_for

db_app = typer.Typer(no_args_is_help=True, help="Database schema")
app.add_typer(db_app, name="db")
keys_app = typer.Typer(no_args_is_help=True, help="Keys a deployment configures (docs/reliability.md)")
app.add_typer(keys_app, name="keys")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema of the database named by YIBAO_DATABASE_URL."""
    upgrade()
    typer.echo(f"schema up to date: {safe_url(database_url())}")


@db_app.command("maintain")
def db_maintain() -> None:
    """Make the audit log's coming months and drop those past YIBAO_AUDIT_MONTHS (PostgreSQL); prune the answers
    kept for msgid replay past YIBAO_REPLAY_DAYS. Run it daily (yibao serve runs it when it starts)."""
    done = _maintain()
    typer.echo(f"partitions made: {', '.join(done.created) or 'none'}; dropped: {', '.join(done.dropped) or 'none'}; "
               f"replay answers pruned: {done.replay_pruned}")


def _maintain() -> Maintained:
    store = Store()
    try:
        return maintain(store.engine)
    finally:
        store.dispose()


@app.command()
def load(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="dataset YAML or JSON")]) -> None:
    """Load a dataset document (docs/dataset.md); validates it whole and writes nothing if any part is wrong. On
    a node of a federation (YIBAO_PROVINCES) only what the node owns is written (docs/federation.md)."""
    upgrade()
    node = federation_config()
    store = Store()
    try:
        report = load_file(store, file, node.provinces if node is not None else None)
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
          access_log: Annotated[bool, typer.Option(help="log every HTTP request line")] = True,
          log_format: LogFormat = None) -> None:
    """Serve the platform on the database named by YIBAO_DATABASE_URL (its schema upgraded first)."""
    fmt = log_format_of(log_format)
    configure(fmt, access_log)
    upgrade()
    _maintain()
    problem = startup_problem()
    if problem:
        typer.echo(f"yibao serve: {problem}", err=True)
        raise typer.Exit(2)
    run(host, port, workers, access_log, fmt)


def startup_problem() -> str | None:
    """Why this deployment must not serve: a shipped demo secret in use, or no key for personal data at rest."""
    store = Store()
    try:
        with store.unit_of_work(durable=False) as s:
            secrets = [(f"institution {code}'s secret", secret)
                       for code, secret in s.execute(select(Institution.code, Institution.secret))]
        refuse_shipped([*secrets, ("YIBAO_TOKEN_KEY", os.environ.get("YIBAO_TOKEN_KEY", ""))],
                       "give each institution a secret of its own in the dataset (institutions[].secret) and load "
                       "it again; set YIBAO_TOKEN_KEY to a random value of your own")
        vault_for(store.url)
    except (ShippedKey, VaultError) as exc:
        return str(exc)
    finally:
        store.dispose()
    return None


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


@keys_app.command("data")
def keys_data() -> None:
    """Print a new key for YIBAO_DATA_KEY (seals personal data at rest; put the new key first to rotate)."""
    typer.echo(new_key())
