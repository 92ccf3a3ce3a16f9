"""yibao staff: the web console's staff accounts (docs/console.md)."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer

from yibao.cli.root import app, run_work
from yibao.platform import console_access as access

staff_app = typer.Typer(no_args_is_help=True, help="Staff accounts of the web console (/console)")
app.add_typer(staff_app, name="staff")


@staff_app.command("add")
def add(username: str,
        role: Annotated[str, typer.Option(help="agency_clerk, agency_admin, institution or centre")],
        scope: Annotated[str, typer.Option(help="the region's admdvs, the institution's code or the province")],
        password_stdin: Annotated[bool, typer.Option(help="read the password from the first line of stdin")] = False,
        generate: Annotated[bool, typer.Option(help="make a random password and print it")] = False,
        replace: Annotated[bool, typer.Option(help="an existing account takes this role, scope and password")]
        = False) -> None:
    """Create a staff account; the password is asked for (twice) unless read from stdin or generated."""
    if generate:
        password = secrets.token_urlsafe(12)
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    run_work(lambda w: access.add_staff(w.session, username, role, scope, password, now=w.now,
                                        created_by="cli", replace=replace))
    typer.echo(f"staff {username}: {role} of {scope}" + (f", password {password}" if generate else ""))
