"""The `yibao` command: each group of commands in a module of its own, all on one root (root.app)."""

from __future__ import annotations

from yibao.cli import (  # noqa: F401  (register their commands)
    bank,
    conformance,
    duties,
    failures,
    federation,
    ledger,
    mobilepay,
    monthly,
    people,
    serving,
    staff,
    whatif,
)
from yibao.cli.root import app
from yibao.cli.serving import startup_problem
from yibao.hospital.cli import hospital_app

app.add_typer(hospital_app, name="hospital", help="The hospital middleware beside a HIS (docs/hospital.md)")

__all__ = ["app", "main", "startup_problem"]


def main() -> None:
    """The `yibao` command: failures in a line or two (cli/failures.py), the traceback with --debug."""
    failures.run(app)
