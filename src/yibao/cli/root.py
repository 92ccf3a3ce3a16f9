"""The root of the `yibao` command and what its commands share. Other tools and scripts rely on this surface:
keep it stable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import simplejson
import typer

from yibao.errors import Refusal
from yibao.observe.logs import choose
from yibao.platform.work import Work, working
from yibao.store.db import Store

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, add_completion=False, help="yibao medical-insurance settlement platform")
Month = Annotated[str, typer.Argument(help="the month, YYYY-MM")]
LogFormat = Annotated[str | None, typer.Option(help="json (one object a line) or text; default: text on a "
                                                    "terminal, json otherwise (docs/operations.md)")]


def log_format_of(fmt: str | None) -> str:
    """The log format asked for (json | text), or the default for where stderr goes."""
    try:
        return choose(fmt)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.callback()
def root(debug: Annotated[bool, typer.Option(
        "--debug", help="on a failure, show the traceback instead of the one-line explanation [YIBAO_DEBUG=1]")]
         = False) -> None:
    """yibao medical-insurance settlement platform. A failure prints what is wrong and what to do (docs/cli.md)."""
    # `yibao` itself (cli/failures.py) reads --debug before the command runs; declared here for --help


def run_work(fn: Callable[[Work], T], *, read: bool = False) -> T:
    """Run fn(work) in one unit of work on YIBAO_DATABASE_URL; a refusal prints its rule and exits 1."""
    store = Store()
    try:
        with working(store, read=read) as work:
            return fn(work)
    except Refusal as exc:
        typer.echo(exc.err_msg, err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()


def print_json(obj: object) -> None:
    typer.echo(simplejson.dumps(obj, use_decimal=True, ensure_ascii=False, indent=2, default=str))


def safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
