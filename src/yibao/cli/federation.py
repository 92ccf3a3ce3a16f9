"""yibao federation check: both sides of every cross-province settlement between nodes (docs/federation.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer

from yibao.cli.root import app, print_json
from yibao.errors import Refusal, refuse
from yibao.platform import federation_check, national_clearing, province_transfers, remote
from yibao.store.db import Store


@contextmanager
def this_node(command: str) -> Iterator[remote.Remote]:
    """The node this process is (YIBAO_PROVINCES), started without serving, closed with its store after."""
    store = Store()
    node = remote.node_from_env(store)
    if node is None:
        store.dispose()
        raise refuse("YIBAO_PROVINCES", f"not set: `yibao federation {command}` runs on a node of a federation")
    try:
        node.start(serve=False)
        yield node
    finally:
        node.close()
        store.dispose()


federation_app = typer.Typer(no_args_is_help=True, help="Provinces as nodes of a federation (docs/federation.md)")
app.add_typer(federation_app, name="federation")


@federation_app.command("check")
def check(node: Annotated[list[str], typer.Option(
              help="NAME=URL of a node (its province), each node: its database URL, or its https:// address "
                   "read through GET /api/v1/centre/federation/side")],
          token: Annotated[list[str] | None, typer.Option(
              help="NAME=TOKEN: a centre token of that node (`yibao token centre`), for a node given by address")]
          = None,
          month: Annotated[str | None, typer.Option(help="only the settlements and vouchers of this month")] = None,
          json: Annotated[bool, typer.Option("--json", help="the report as JSON")] = False) -> None:
    """Compare both sides of every cross-province settlement between the nodes named; list each difference and
    exit 1 if there is one."""
    tokens = dict(_named(given, "--token", "NAME=TOKEN") for given in token or [])
    sides = {}
    for given in node:
        name, url = _named(given, "--node", "NAME=DATABASE_URL or NAME=https://ADDRESS")
        if url.startswith(("http://", "https://")):
            if name not in tokens:
                raise refuse("--token", f"node {name} is given by address: give --token {name}=TOKEN, a centre "
                                        "token of that node")
            sides[name] = _side_over_http(name, url, tokens[name], month)
            continue
        store = Store(url)
        try:
            with store.unit_of_work() as s:
                sides[name] = federation_check.side(s, month)
        finally:
            store.dispose()
    report = federation_check.compare(sides)
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


def _named(given: str, option: str, shape: str) -> tuple[str, str]:
    name, sep, value = given.partition("=")
    if not sep or len(name) != 2 or not name.isdigit() or not value:
        raise refuse(option, f"{given!r}: give {shape}, NAME the node's 2-digit province")
    return name, value


#: tests replace it with a client on the node's app in process
http_client: Callable[[], httpx.Client] = lambda: httpx.Client(timeout=30)  # noqa: E731


def _side_over_http(name: str, url: str, token: str, month: str | None) -> dict[str, Any]:
    params = {"month": month} if month else {}
    with http_client() as http:
        try:
            reply = http.get(url.rstrip("/") + "/api/v1/centre/federation/side", params=params,
                             headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise Refusal(f"--node {name}: {url} does not answer: {exc}") from None
    if reply.status_code != 200:
        raise Refusal(f"--node {name}: {url} answered HTTP {reply.status_code}: {reply.text[:200]}")
    side: dict[str, Any] = reply.json()
    if side.get("node") != name:
        raise refuse("--node", f"{url} is node {side.get('node')}, not {name}")
    return side


@federation_app.command("clear")
def clear(month: Annotated[str, typer.Argument(help="the month, YYYY-MM")],
          payer: Annotated[str, typer.Option(help="the insured province's node (2 digits) that owes this one")],
          json: Annotated[bool, typer.Option("--json", help="the answer as JSON")] = False) -> None:
    """This node (YIBAO_PROVINCES) proposes the month's cross-province settlements of persons insured in PAYER's
    province to PAYER's node; on its agreement both write a voucher. Exit 1 on a dispute, with each difference."""
    with this_node("clear") as node:
        answer = national_clearing.clear(node, payer, month, datetime.now())
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


@federation_app.command("transfers")
def transfers(json: Annotated[bool, typer.Option("--json", help="the list as JSON")] = False) -> None:
    """This node's clearing transfers: those the bank has confirmed posted to the fund ledger and their payee
    told (what the node's sweeper does), then each voucher with its transfer listed. Exit 1 if one owed is not
    yet taken by its payee."""
    with this_node("transfers") as node:
        done = province_transfers.advance(node)
        with node.store.unit_of_work() as s:
            rows = province_transfers.listing(s, node.config.name)
    if json:
        print_json({**done, "vouchers": rows})
    else:
        for r in rows:
            if r["side"] == "payer":
                state = (f"instruction {r['instruction']} {r['bank'] or '-'}, "
                         f"{'posted' if r['posted'] else 'not posted'}, "
                         f"{'taken by ' + r['payee'] if r['payee_told'] else 'not yet taken by ' + r['payee']}")
            else:
                state = f"{'received and posted' if r['received'] else 'not received yet'} from {r['payer']}"
            typer.echo(f"{r['month']} {r['voucher_id']} {r['side']} {r['total']}: {state}")
    if any(r["side"] == "payer" and not r.get("payee_told") and r.get("instruction") for r in rows):
        raise typer.Exit(1)


@federation_app.command("publish")
def publish(again: Annotated[bool, typer.Option("--again", help="send every kind, changed or not")] = False,
            json: Annotated[bool, typer.Option("--json", help="what was sent as JSON")] = False) -> None:
    """This node (YIBAO_PROVINCES) publishes its provinces' reference data (regions, policies) to the other nodes
    as versioned snapshots: each kind whose content changed since last published gets the next version."""
    with this_node("publish") as node:
        sent = node.publish(again=again)
        unsent = node.unsent
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
