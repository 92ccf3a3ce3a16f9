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
bank_app = typer.Typer(no_args_is_help=True, help="Bank bookkeeping: the simulated bank, delivery, reconciliation")
app.add_typer(bank_app, name="bank")


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
          port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
          workers: Annotated[int, typer.Option(help="server processes (one per core suits PostgreSQL)")] = 1,
          access_log: Annotated[bool, typer.Option(help="log every HTTP request line")] = True) -> None:
    """Serve the platform on the database named by YIBAO_DATABASE_URL (its schema upgraded first)."""
    from yibao.serving import run
    from yibao.store.db import upgrade

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    upgrade()
    run(host, port, workers, access_log)


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


BankUrl = Annotated[str, typer.Option("--url", help="the bank's base URL [YIBAO_BANK_URL, else http://127.0.0.1:8010]")]


@bank_app.command("serve")
def bank_serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
               port: Annotated[int, typer.Option(help="port to listen on")] = 8010,
               db: Annotated[str, typer.Option(help="the bank's own ledger: an SQLite file or a database URL")]
               = "bank.db") -> None:
    """Serve the simulated bank (books each acct_021 / acct_023 instruction once; docs/bank.md)."""
    from yibao.bank.simulated import serve as serve_bank

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve_bank(host=host, port=port, db=db)


@bank_app.command("deliver")
def bank_deliver(url: BankUrl = "",
                 loop: Annotated[bool, typer.Option("--loop", help="keep delivering until Ctrl-C")] = False,
                 interval: Annotated[float, typer.Option(help="seconds between passes with --loop")] = 1.0,
                 batch: Annotated[int, typer.Option(help="instructions per pass at most")] = 100) -> None:
    """Deliver the due bank instructions of YIBAO_DATABASE_URL's outbox: one pass (exit 1 if any failed),
    or with --loop until interrupted."""
    import threading

    from yibao.bank import adapter as bank_adapter
    from yibao.bank.outbox import deliver_due, run_worker
    from yibao.store.db import Store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = Store()
    adapter = bank_adapter.make_adapter(url or bank_adapter.bank_url())
    try:
        if loop:
            stop = threading.Event()
            try:
                run_worker(store, adapter, stop, interval=interval, batch=batch)
            except KeyboardInterrupt:
                stop.set()
            return
        report = deliver_due(store, adapter, batch=batch)
        for instruction_id, error in report.failed:
            typer.echo(f"not delivered {instruction_id}: {error}", err=True)
        typer.echo(report.summary())
        if report.failed:
            raise typer.Exit(1)
    finally:
        adapter.close()
        store.dispose()


@bank_app.command("reconcile")
def bank_reconcile(url: BankUrl = "") -> None:
    """Compare the platform's journal and outbox with the bank's ledger: each difference on a line (exit 1),
    or "no difference" (exit 0); exit 2 when the bank cannot be read."""
    from yibao.bank import adapter as bank_adapter
    from yibao.bank.reconcile import reconcile
    from yibao.store.db import Store

    store = Store()
    adapter = bank_adapter.make_adapter(url or bank_adapter.bank_url())
    try:
        differences = reconcile(store, adapter)
    except bank_adapter.BankError as exc:
        typer.echo(f"cannot read the bank's ledger: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        adapter.close()
        store.dispose()
    if not differences:
        typer.echo("no difference")
        return
    for difference in differences:
        typer.echo(str(difference))
    raise typer.Exit(1)


# -- tokens, family mutual aid, agency operations ------------------------------------------------------

token_app = typer.Typer(no_args_is_help=True, help="Bearer tokens for the JSON API (/api/v1)")
ma_app = typer.Typer(no_args_is_help=True, help="Family mutual aid (个人账户家庭共济) authorizations")
person_app = typer.Typer(no_args_is_help=True, help="Agency operations on insured persons")
account_app = typer.Typer(no_args_is_help=True, help="Agency operations on personal accounts")
app.add_typer(token_app, name="token")
app.add_typer(ma_app, name="mutual-aid")
app.add_typer(person_app, name="person")
app.add_typer(account_app, name="account")


def _work(fn):  # type: ignore[no-untyped-def]
    """Run fn(work) in one unit of work on YIBAO_DATABASE_URL; a refusal prints its rule and exits 1."""
    from yibao.api.deps import Work
    from yibao.clock import business_date, business_now
    from yibao.errors import Refusal
    from yibao.store.db import Store

    store = Store()
    try:
        with store.unit_of_work() as session:
            stored = store.stored_today(session)
            return fn(Work(session, business_date(stored), business_now(stored)))
    except Refusal as exc:
        typer.echo(exc.err_msg, err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()


def _print(obj: object) -> None:
    typer.echo(simplejson.dumps(obj, use_decimal=True, ensure_ascii=False, indent=2, default=str))


@token_app.command("person")
def token_person(psn_no: str, days: Annotated[int, typer.Option(help="validity in days")] = 30) -> None:
    """A token for an insured person (his own authorizations)."""
    from yibao.api.tokens import issue, signing_key
    from yibao.store.db import Store

    typer.echo(issue(signing_key(Store()), "person", psn_no, days))


@token_app.command("agency")
def token_agency(admdvs: str, days: Annotated[int, typer.Option(help="validity in days")] = 30) -> None:
    """A token for the agency staff of a region."""
    from yibao.api.tokens import issue, signing_key
    from yibao.store.db import Store

    typer.echo(issue(signing_key(Store()), "agency", admdvs, days))


@ma_app.command("bind")
def ma_bind(authorizer: str, beneficiary: str,
            relation: Annotated[str, typer.Option(help="spouse, father, mother, child (or self)")],
            start: Annotated[str, typer.Option(help="yyyy-mm-dd")],
            commitment_version: Annotated[str, typer.Option(help="version of the 承诺书 the authorizer accepted")],
            end: Annotated[str, typer.Option(help="yyyy-mm-dd; empty: open-ended")] = "",
            quota: Annotated[str, typer.Option(help="decimal; empty: no quota")] = "",
            priority: Annotated[int | None, typer.Option()] = None) -> None:
    """Bind BENEFICIARY to AUTHORIZER's personal account."""
    from datetime import date

    from yibao.money import money
    from yibao.platform import mutual_aid as ma

    def run(w):  # type: ignore[no-untyped-def]
        grant = ma.bind(w.session, ma.Binding(authorizer, beneficiary, relation, money(quota) if quota else None,
                                              date.fromisoformat(start), date.fromisoformat(end) if end else None,
                                              priority, commitment_version, w.now), now=w.now, today=w.today,
                        actor="cli")
        return ma.describe(grant, w.today)

    _print(_work(run))


@ma_app.command("list")
def ma_list(psn_no: str) -> None:
    """A person's authorizations, as authorizer and as beneficiary."""
    from yibao.platform import mutual_aid as ma

    def run(w):  # type: ignore[no-untyped-def]
        given, received = ma.mine(w.session, psn_no)
        return {"as_authorizer": [ma.describe(g, w.today) for g in given],
                "as_beneficiary": [ma.describe(g, w.today) for g in received]}

    _print(_work(run))


@ma_app.command("change")
def ma_change(grant_id: int, actor: Annotated[str, typer.Option("--as", help="psn_no of the person acting")],
              quota: Annotated[str | None, typer.Option(help="decimal, or 'none'")] = None,
              start: Annotated[str | None, typer.Option()] = None, end: Annotated[str | None, typer.Option()] = None,
              priority: Annotated[int | None, typer.Option()] = None) -> None:
    """Change an authorization's quota / window (authorizer) or priority (beneficiary)."""
    from datetime import date

    from yibao.money import money
    from yibao.platform import mutual_aid as ma

    fields: dict[str, object] = {}
    if quota is not None:
        fields["quota"] = None if quota == "none" else money(quota)
    if start is not None:
        fields["start"] = date.fromisoformat(start)
    if end is not None:
        fields["end"] = date.fromisoformat(end) if end else None
    if priority is not None:
        fields["priority"] = priority
    _print(_work(lambda w: ma.describe(ma.change(w.session, ma.grant_of(w.session, grant_id, lock=True),
                                                 actor_psn=actor, now=w.now, fields=fields), w.today)))


@ma_app.command("unbind")
def ma_unbind(grant_id: int, actor: Annotated[str, typer.Option("--as", help="the authorizer's psn_no")]) -> None:
    """End an authorization (the authorizer's act)."""
    from yibao.errors import refuse
    from yibao.platform import mutual_aid as ma

    def run(w):  # type: ignore[no-untyped-def]
        grant = ma.grant_of(w.session, grant_id, lock=True)
        if grant.authorizer != actor:
            raise refuse("id", "unbinding is the authorizer's act")
        return ma.describe(ma.end(w.session, grant, now=w.now, actor=f"cli:{actor}", reason="unbound by the "
                                  "authorizer"), w.today)

    _print(_work(run))


@ma_app.command("usage")
def ma_usage(grant_id: int) -> None:
    """What an authorization paid, and its events."""
    from yibao.platform import mutual_aid as ma

    def run(w):  # type: ignore[no-untyped-def]
        grant = ma.grant_of(w.session, grant_id)
        return {"authorization": ma.describe(grant, w.today),
                "movements": [{"time": m.entry_time, "kind": m.kind, "amount": m.amount, "setl_id": m.setl_id,
                               "beneficiary": m.beneficiary_psn_no} for m in ma.usage(w.session, grant)],
                "events": [{"time": e.at, "kind": e.kind, "actor": e.actor, "detail": e.detail}
                           for e in ma.events(w.session, grant)]}

    _print(_work(run))


@person_app.command("transfer")
def person_transfer(psn_no: str, to: Annotated[str, typer.Option("--to", help="the new insured region")]) -> None:
    """The person's insurance moves to another region; his authorizations end at once."""
    from yibao.platform import mutual_aid as ma

    ended = _work(lambda w: ma.transfer(w.session, psn_no, to, now=w.now, actor="cli"))
    typer.echo(f"{psn_no} now insured in {to}; {ended} authorization(s) ended")


@account_app.command("close")
def account_close(psn_no: str, status: Annotated[str, typer.Option(help="closed or withdrawn")] = "closed") -> None:
    """Close or withdraw a personal account; its authorizations end at once."""
    from yibao.platform import mutual_aid as ma

    ended = _work(lambda w: ma.close_account(w.session, psn_no, status, now=w.now, actor="cli"))
    typer.echo(f"account of {psn_no} {status}; {ended} authorization(s) ended")


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def main() -> None:
    app(prog_name="yibao")


if __name__ == "__main__":
    sys.exit(main())
