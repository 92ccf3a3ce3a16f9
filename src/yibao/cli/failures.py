"""What a user sees when a command fails: one or two lines (what is wrong, what to do) and a non-zero exit.
The traceback only with `yibao --debug ...` (or YIBAO_DEBUG=1). Every translation of an exception into words
lives here; commands raise, this module speaks. The failures are listed in docs/cli.md."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import typer

#: exit codes: 1 the command ran and refused or found differences; 2 the command could not run as asked
REFUSED, CANNOT_RUN, INTERRUPTED = 1, 2, 130


def _debug_requested(argv: list[str]) -> tuple[bool, list[str]]:
    """`--debug` anywhere before the command's own `--`, removed from argv."""
    wanted = os.environ.get("YIBAO_DEBUG", "").strip().lower() in ("1", "true", "yes")
    end = argv.index("--") if "--" in argv else len(argv)
    if "--debug" in argv[:end]:
        return True, [a for a in argv[:end] if a != "--debug"] + argv[end:]
    return wanted, argv


def explain(exc: BaseException) -> tuple[str, int]:
    """The words for a failure, and the exit code."""
    from yibao.errors import Refusal
    from yibao.store.db import NoDatabase

    if isinstance(exc, Refusal):
        return exc.err_msg, REFUSED
    if isinstance(exc, NoDatabase):
        return str(exc), CANNOT_RUN
    for translate, code in _TRANSLATIONS:
        said = translate(exc)
        if said:
            return said, code
    return (f"unexpected failure: {type(exc).__name__}: {_one_line(exc)}\n"
            "run the command again with `yibao --debug ...` to see where (and report it)"), REFUSED


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _database(exc: BaseException) -> str | None:
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    from yibao.cli.root import safe_url
    from yibao.store.db import NoDatabase, database_url

    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return (f"YIBAO_DATABASE_URL is not a database URL ({_one_line(exc)})\n"
                "use sqlite:///path/to/yibao.db or postgresql://user@host:5432/yibao")
    if isinstance(exc, OperationalError):
        reason = _one_line(exc.orig) if exc.orig is not None else _one_line(exc)
        try:
            which = f"the database {safe_url(database_url())}"
        except NoDatabase:  # a command on a database of its own (yibao simulate)
            which = "the database"
        return (f"cannot use {which}: {reason.split(' [SQL')[0]}\n"
                "check YIBAO_DATABASE_URL and that the database server runs and lets this user in")
    return None


def _network(exc: BaseException) -> str | None:
    import httpx

    if isinstance(exc, httpx.TransportError):
        where = str(exc.request.url) if _has_request(exc) else "the server"
        return (f"cannot reach {where}: {_one_line(exc) or type(exc).__name__}; is it running? "
                "(check the URL: --url, YIBAO_URL, YIBAO_BANK_URL)")
    return None


def _has_request(exc: BaseException) -> bool:
    try:
        return getattr(exc, "request", None) is not None
    except RuntimeError:  # httpx raises when the exception was made without a request
        return False


def _files(exc: BaseException) -> str | None:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or _one_line(exc)}"
    return None


def _values(exc: BaseException) -> str | None:
    from yibao.demo_keys import ShippedKey
    from yibao.hospital.config import ConfigError
    from yibao.store.vault import VaultError

    if isinstance(exc, ShippedKey | VaultError | ConfigError):
        return _one_line(exc)
    if isinstance(exc, ValueError) and type(exc) is ValueError:  # bad argument text: a date, a decimal
        return f"{_one_line(exc)}\nsee the command's --help for the form of its arguments"
    return None


_TRANSLATIONS: list[tuple[Callable[[BaseException], str | None], int]] = [
    (_database, CANNOT_RUN), (_network, CANNOT_RUN), (_files, CANNOT_RUN), (_values, CANNOT_RUN)]


def _usage(exc: typer.TyperException) -> str:
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "yibao"
    return f"{where}: {exc.format_message()}\nsee `{where} --help`"


def run(app: Callable[..., object], argv: list[str] | None = None) -> None:
    """Run the Typer app as the `yibao` command and exit with its code, translating failures."""
    debug, args = _debug_requested(list(sys.argv[1:] if argv is None else argv))
    try:
        rv = app(args=args, prog_name="yibao", standalone_mode=False)
    except typer.TyperException as exc:  # the command line itself: a usage error (Typer's own click)
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            typer.echo(ctx.get_help())
        elif debug:
            raise
        else:
            typer.echo(_usage(exc), err=True)
        sys.exit(getattr(exc, "exit_code", CANNOT_RUN))
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        sys.exit(INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the one place a failure becomes words
        if debug:
            raise
        words, code = explain(exc)
        typer.echo(f"yibao: {words}", err=True)
        sys.exit(code)
    sys.exit(rv if isinstance(rv, int) else 0)
