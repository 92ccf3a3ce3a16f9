"""yibao federation check: both sides of every cross-province settlement between nodes (docs/federation.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from yibao.cli.root import app, print_json
from yibao.errors import refuse
from yibao.platform import federation_check, national_clearing, remote
from yibao.store.db import Store

federation_app = typer.Typer(no_args_is_help=True, help="Provinces as nodes of a federation (docs/federation.md)")
app.add_typer(federation_app, name="federation")


@federation_app.command("check")
def check(node: Annotated[list[str], typer.Option(help="NAME=DATABASE_URL of a node (its province), each node")],
          json: Annotated[bool, typer.Option("--json", help="the report as JSON")] = False) -> None:
    """Compare both sides of every cross-province settlement between the nodes named; list each difference and
    exit 1 if there is one."""
    stores = {}
    for given in node:
        name, sep, url = given.partition("=")
        if not sep or len(name) != 2 or not name.isdigit() or not url:
            raise refuse("--node", f"{given!r}: give NAME=DATABASE_URL, NAME the node's 2-digit province")
        stores[name] = Store(url)
    try:
        report = federation_check.check(stores)
    finally:
        for store in stores.values():
            store.dispose()
    if json:
        print_json({"compared": report.compared, "vouchers": report.vouchers, "in_flight": report.in_flight,
                    "differences": report.differences})
    else:
        for line in report.in_flight:
            typer.echo(f"in flight: {line}")
        for line in report.differences:
            typer.echo(f"difference: {line}")
        if not report.differences:
            typer.echo(f"no difference ({report.compared} cross-province settlements compared"
                       + (f", {report.vouchers} clearing vouchers" if report.vouchers else "") + ")")
    if report.differences:
        raise typer.Exit(1)


@federation_app.command("clear")
def clear(month: Annotated[str, typer.Argument(help="the month, YYYY-MM")],
          payer: Annotated[str, typer.Option(help="the insured province's node (2 digits) that owes this one")],
          json: Annotated[bool, typer.Option("--json", help="the answer as JSON")] = False) -> None:
    """This node (YIBAO_PROVINCES) proposes the month's cross-province settlements of persons insured in PAYER's
    province to PAYER's node; on its agreement both write a voucher. Exit 1 on a dispute, with each difference."""
    store = Store()
    node = remote.node_from_env(store)
    if node is None:
        store.dispose()
        raise refuse("YIBAO_PROVINCES", "not set: `yibao federation clear` runs on a node of a federation")
    try:
        node.start(serve=False)
        answer = national_clearing.clear(node, payer, month, datetime.now())
    finally:
        node.close()
        store.dispose()
    if json:
        print_json(answer)
    elif answer["state"] == "agreed":
        typer.echo(f"agreed: voucher {answer['voucher_id']}, {answer['lines']} lines, fund {answer['fund']}, "
                   f"account {answer['acct']}, total {answer['total']} owed by {payer}")
    else:
        for line in answer["differences"]:
            typer.echo(f"difference: {line}")
    if answer["state"] != "agreed":
        raise typer.Exit(1)


@federation_app.command("publish")
def publish(again: Annotated[bool, typer.Option("--again", help="send every kind, changed or not")] = False,
            json: Annotated[bool, typer.Option("--json", help="what was sent as JSON")] = False) -> None:
    """This node (YIBAO_PROVINCES) publishes its provinces' reference data (regions, policies) to the other nodes
    as versioned snapshots: each kind whose content changed since last published gets the next version."""
    store = Store()
    node = remote.node_from_env(store)
    if node is None:
        store.dispose()
        raise refuse("YIBAO_PROVINCES", "not set: `yibao federation publish` runs on a node of a federation")
    try:
        node.start(serve=False)
        sent = node.publish(again=again)
        unsent = node.unsent
    finally:
        node.close()
        store.dispose()
    if json:
        print_json(sent)
    else:
        for s in sent:
            typer.echo(f"published {s['province']} {s['kind']} version {s['version']} ({s['digest'][:12]})")
        if not sent and not unsent:
            typer.echo("nothing changed since last published")
    if unsent:
        typer.echo("the exchange did not take every snapshot: run it again with --again", err=True)
        raise typer.Exit(1)
