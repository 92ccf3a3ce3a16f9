"""`yibao staff add`: the console's staff accounts from the command line (password by prompt, stdin or made)."""

from __future__ import annotations

import re

import pytest
from console_world import ConsoleWorld
from typer.testing import CliRunner

from yibao.cli import app as cli


def test_staff_added_by_the_cli_sign_in(console: ConsoleWorld, database_url: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    made = CliRunner().invoke(cli, ["staff", "add", "sz-clerk", "--role", "agency_clerk", "--scope", "440300",
                                    "--generate"])
    assert made.exit_code == 0, made.output
    password = re.search(r"password (\S+)", made.output).group(1)  # type: ignore[union-attr]
    piped = CliRunner().invoke(cli, ["staff", "add", "gz-hosp", "--role", "institution", "--scope",
                                     "H44010000001", "--password-stdin"], input="typed-in-password\n")
    assert piped.exit_code == 0 and "password" not in piped.output
    twice = CliRunner().invoke(cli, ["staff", "add", "sz-clerk", "--role", "agency_clerk", "--scope", "440300",
                                     "--generate"])
    assert twice.exit_code == 1 and "already exists" in twice.output
    assert console.browser().sign_in_staff("sz-clerk", password).status_code == 303
    assert console.browser().sign_in_staff("gz-hosp", "typed-in-password").status_code == 303


def test_a_wrong_scope_is_refused_naming_the_field(database_url: str, world: object,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    refused = CliRunner().invoke(cli, ["staff", "add", "x-admin", "--role", "agency_admin", "--scope", "999999",
                                       "--generate"])
    assert refused.exit_code == 1 and "scope: no region '999999'" in refused.output
