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
          port: Annotated[int, typer.Option(help="port to listen on")] = 8000) -> None:
    """Serve the platform on the database named by YIBAO_DATABASE_URL (its schema upgraded first)."""
    import uvicorn

    from yibao.gateway.app import create_app
    from yibao.store.db import upgrade

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    upgrade()
    uvicorn.run(create_app(), host=host, port=port, log_level="info")


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


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def main() -> None:
    app(prog_name="yibao")


if __name__ == "__main__":
    sys.exit(main())
