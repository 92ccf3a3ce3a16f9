"""`yibao federation check` without reading other nodes' databases (docs/federation.md): each node serves its side
to a centre token of its own province (GET /api/v1/centre/federation/side), and the check compares the sides it
reads over HTTP — or from a database URL, as before; on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from sqlalchemy import update
from test_federation import World, urls  # noqa: F401 - the fixture of both databases
from typer.testing import CliRunner

from yibao import cli
from yibao.api.tokens import issue, signing_key
from yibao.cli import federation as federation_cli
from yibao.platform import national_clearing
from yibao.store.models import FederationVoucher

SIDE = "/api/v1/centre/federation/side"


@pytest.fixture
def world(urls: list[str]) -> Iterator[World]:  # noqa: F811
    w = World(urls)
    yield w
    w.close()


def bearer(world: World, node: str, kind: str, subject: str) -> dict[str, str]:
    store = (world.sz if node == "44" else world.ty).store
    return {"Authorization": f"Bearer {issue(signing_key(store), kind, subject)}"}


def token(world: World, node: str) -> str:
    return bearer(world, node, "centre", node + "0000")["Authorization"].removeprefix("Bearer ")


def test_a_node_serves_its_side_to_its_own_centre_only(world: World) -> None:
    info = world.visit().settle()["output"]["setlinfo"]
    http = world.sz.http
    assert http.get(SIDE).status_code == 401
    assert http.get(SIDE, headers=bearer(world, "44", "agency", "440300")).status_code == 403
    assert http.get(SIDE, headers=bearer(world, "44", "centre", "140000")).status_code == 403
    bad = http.get(SIDE, params={"month": "2026-13"}, headers=bearer(world, "44", "centre", "440000"))
    assert bad.status_code in (400, 422) and "month" in bad.text
    side = http.get(SIDE, params={"month": "2026-03", "peer": "14"}, headers=bearer(world, "44", "centre", "440000"))
    assert side.status_code == 200
    body = side.json()
    assert body["node"] == "44" and [r["msg_id"] for r in body["outbox"]] == [info["setl_id"]]
    assert body["outbox"][0]["settlement"]["hifp_pay"] == "100.00" and body["inbox"] == []
    other = world.ty.http.get(SIDE, headers=bearer(world, "14", "centre", "140000")).json()
    assert [(r["msg_id"], r["state"], r["applied"]["acct_pay"]) for r in other["inbox"]] == [
        (info["setl_id"], "applied", "130.00")]
    empty = http.get(SIDE, params={"month": "2026-04"}, headers=bearer(world, "44", "centre", "440000")).json()
    assert empty["outbox"] == [] and empty["vouchers"] == []


def test_the_check_reads_each_node_over_http(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.visit().settle()
    agreed = national_clearing.clear(world.sz.remote, "14", "2026-03", datetime(2026, 3, 31, 23, 0))
    assert agreed["state"] == "agreed"
    mounts = {"http://node44.test": world.sz.http._transport, "http://node14.test": world.ty.http._transport}
    monkeypatch.setattr(federation_cli, "http_client", lambda: httpx.Client(mounts=mounts))
    runner = CliRunner()
    over_http = ["federation", "check", "--node", "44=http://node44.test", "--node", "14=http://node14.test",
                 "--token", f"44={token(world, '44')}", "--token", f"14={token(world, '14')}"]
    result = runner.invoke(cli.app, over_http)
    assert result.exit_code == 0, result.output
    assert "no difference (1 cross-province settlements compared, 1 clearing vouchers)" in result.output
    mixed = ["federation", "check", "--node", "44=http://node44.test", "--node", f"14={world.ty.store.url}",
             "--token", f"44={token(world, '44')}", "--month", "2026-03"]
    result = runner.invoke(cli.app, mixed)
    assert result.exit_code == 0, result.output

    with world.ty.store.unit_of_work() as s:  # one end's voucher made to differ
        s.execute(update(FederationVoucher).where(FederationVoucher.side == "payer").values(lines=9))
    result = runner.invoke(cli.app, over_http)
    assert result.exit_code == 1 and f"difference: voucher {agreed['voucher_id']}: payer 230.00 (9 lines)" \
        in result.output

    result = runner.invoke(cli.app, ["federation", "check", "--node", "44=http://node44.test"])
    assert result.exit_code != 0 and "--token" in result.output + str(result.exception)
    wrong = ["federation", "check", "--node", "14=http://node44.test", "--token", f"14={token(world, '44')}"]
    result = runner.invoke(cli.app, wrong)
    assert result.exit_code != 0 and "is node 44, not 14" in result.output + str(result.exception)
