"""yibao ledger trial-balance: a region's pooled-fund books for a month (docs/ledger.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from yibao.cli.root import app, print_json, run_work
from yibao.platform import trial_balance as tb

ledger_app = typer.Typer(no_args_is_help=True, help="The pooled funds' double-entry ledger")
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("trial-balance")
def trial_balance(region: Annotated[str, typer.Option(help="the region whose fund's book it is")],
                  month: Annotated[str, typer.Option(help="the month, YYYY-MM")],
                  json: Annotated[bool, typer.Option("--json", help="the figures as JSON")] = False) -> None:
    """Print a region's trial balance for a month and its ties to the settlements, the bank instructions and the
    centre; exit 1 unless it balances and ties."""
    out = run_work(lambda w: tb.trial_balance(w.session, region, tb.month_of(month)))
    if json:
        print_json(out)
    else:
        _print(out)
    if not (out["balanced"] and out["tied"]):
        raise typer.Exit(1)


def _print(tb_: dict[str, Any]) -> None:
    echo = typer.echo
    echo(f"trial balance of the fund of {tb_['region']}, {tb_['month']}")
    echo(f"{'account':22} {'opening':>14} {'debits':>14} {'credits':>14} {'closing Dr':>14} {'closing Cr':>14}  name")
    for r in tb_["accounts"]:
        echo(f"{r['code']:22} {r['opening']:>14} {r['debits']:>14} {r['credits']:>14} {r['closing_debit']:>14} "
             f"{r['closing_credit']:>14}  {r['name']}")
    t = tb_["totals"]
    echo(f"{'total':22} {'':>14} {t['debits']:>14} {t['credits']:>14} {t['closing_debit']:>14} "
         f"{t['closing_credit']:>14}")
    echo("balanced" if tb_["balanced"] else f"NOT BALANCED: {', '.join(tb_['unbalanced_entries']) or 'totals differ'}")
    for name, tie in tb_["ties"].items():
        mark = "ties" if tie["difference"] == 0 else f"DIFFERS by {tie['difference']}"
        echo(f"{name}: ledger {tie['ledger']}, record {tie['record']}: {mark} ({tie['record_is']})")
