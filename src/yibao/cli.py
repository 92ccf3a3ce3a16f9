"""The `yibao` command. Other tools and scripts rely on this surface: keep it stable."""

from __future__ import annotations

import logging
import os
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
    problem = startup_problem()
    if problem:
        typer.echo(f"yibao serve: {problem}", err=True)
        raise typer.Exit(2)
    run(host, port, workers, access_log)


def startup_problem() -> str | None:
    """Why this deployment must not serve: a shipped demo secret in use, or no key for personal data at rest."""
    from sqlalchemy import select

    from yibao.demo_keys import ShippedKey, refuse_shipped
    from yibao.store.db import Store
    from yibao.store.models import Institution
    from yibao.store.vault import VaultError, vault_for

    store = Store()
    try:
        with store.unit_of_work(durable=False) as s:
            secrets = [(f"institution {code}'s secret", secret)
                       for code, secret in s.execute(select(Institution.code, Institution.secret))]
        refuse_shipped([*secrets, ("YIBAO_TOKEN_KEY", os.environ.get("YIBAO_TOKEN_KEY", ""))],
                       "give each institution a secret of its own in the dataset (institutions[].secret) and load "
                       "it again; set YIBAO_TOKEN_KEY to a random value of your own")
        vault_for(store.url)
    except (ShippedKey, VaultError) as exc:
        return str(exc)
    finally:
        store.dispose()
    return None


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


@token_app.command("institution")
def token_institution(code: str, days: Annotated[int, typer.Option(help="validity in days")] = 30) -> None:
    """A token for an institution (its own declarations and tables)."""
    from yibao.api.tokens import issue, signing_key
    from yibao.store.db import Store

    typer.echo(issue(signing_key(Store()), "institution", code, days))


@token_app.command("centre")
def token_centre(province: str, days: Annotated[int, typer.Option(help="validity in days")] = 30) -> None:
    """A token for a provincial centre, e.g. 440000 (allocation, clearing, its cross-region account)."""
    from yibao.api.tokens import issue, signing_key
    from yibao.store.db import Store

    typer.echo(issue(signing_key(Store()), "centre", province, days))


# -- the monthly cycle (rules.md section 7) --------------------------------------------------------------

review_app = typer.Typer(no_args_is_help=True, help="Review of declarations by the treatment region's agency")
allocate_app = typer.Typer(no_args_is_help=True, help="Allocation: pay the reviewed plans")
clear_app = typer.Typer(no_args_is_help=True, help="The provincial centre's monthly clearing")
app.add_typer(review_app, name="review")
app.add_typer(allocate_app, name="allocate")
app.add_typer(clear_app, name="clear")
Month = Annotated[str, typer.Argument(help="the month, YYYY-MM")]


@app.command()
def declare(fixmedins_code: str, month: Month) -> None:
    """Declare an institution's month (days 1-10 of the next month by default)."""
    from yibao.api.monthly import describe
    from yibao.platform import declaration as dc
    from yibao.store.models import Institution

    def run(w):  # type: ignore[no-untyped-def]
        inst = w.session.get(Institution, fixmedins_code)
        if inst is None:
            from yibao.errors import refuse
            raise refuse("fixmedins_code", f"no institution {fixmedins_code}")
        return describe(dc.declare(w.session, inst, month, w.today, w.now))

    _print(_work(run))


@review_app.command("reject")
def review_reject(agency: str, decl_id: str, setl_id: str,
                  reason: Annotated[str, typer.Option(help="why it is not paid")]) -> None:
    """Reject one declared settlement."""
    from yibao.platform import review as rv

    r = _work(lambda w: rv.reject(w.session, agency, decl_id, setl_id, reason, w.today, w.now))
    typer.echo(f"rejection {r.id}: {setl_id} {r.amount}")


@review_app.command("deduct")
def review_deduct(agency: str, decl_id: str, amount: str,
                  reason: Annotated[str, typer.Option(help="the violation")],
                  setl_id: Annotated[str, typer.Option(help="the settlement concerned")] = "",
                  insu_admdvs: Annotated[str, typer.Option(help="or the insured region")] = "",
                  insutype: Annotated[str, typer.Option(help="and the insurance type")] = "") -> None:
    """Deduct an amount for a violation (seed 004 art. 30)."""
    from yibao.money import to_decimal
    from yibao.platform import review as rv

    d = _work(lambda w: rv.deduct(w.session, agency, decl_id, to_decimal(amount), reason, w.today, w.now,
                                  setl_id=setl_id or None, insu_admdvs=insu_admdvs or None, insutype=insutype or None))
    typer.echo(f"deduction {d.id}: {d.amount} from {d.insu_admdvs}")


@review_app.command("finish")
def review_finish(agency: str, decl_id: str) -> None:
    """Finish a review: the approved amount and the allocation plan."""
    from yibao.api.monthly import describe
    from yibao.platform import review as rv

    _print(_work(lambda w: describe(rv.finish(w.session, agency, decl_id, w.today, w.now))))


@review_app.command("agree")
def review_agree(agency: str, rejection_id: int) -> None:
    """Agree to pay a rejection with the institution's next declaration."""
    from yibao.platform import review as rv

    r = _work(lambda w: rv.agree(w.session, agency, rejection_id, w.now))
    typer.echo(f"rejection {r.id} {r.status}")


@allocate_app.command("agency")
def allocate_agency(agency: str, month: Month) -> None:
    """The agency pays its own insured's part of the month's plans."""
    from yibao.platform import allocation as al

    _print(_work(lambda w: al.allocate(w.session, "agency", agency, month, w.today, w.now)))


@allocate_app.command("centre")
def allocate_centre(province: str, month: Month) -> None:
    """The provincial centre pays the rest of the month's plans from its cross-region account."""
    from yibao.platform import allocation as al

    _print(_work(lambda w: al.allocate(w.session, "centre", province, month, w.today, w.now)))


@clear_app.command("mutual-aid")
def clear_mutual_aid(province: str, month: Month) -> None:
    """Clear the month's mutual aid between regions of the province."""
    from yibao.platform import allocation as al

    _print(_work(lambda w: [{"acct_admdvs": r.acct_admdvs, "insu_admdvs": r.insu_admdvs, "drawn": r.drawn,
                             "cleared": r.cleared} for r in al.clear_mutual_aid(w.session, province, month, w.now)]))


@clear_app.command("advances")
def clear_advances(province: str, month: Month) -> None:
    """Settle each region's advance for the month and top it up (the first time: the initial prepayment)."""
    from yibao.platform import allocation as al

    _print(_work(lambda w: {"settled": al.settle_advances(w.session, province, month, w.now),
                            "centre": al.centre_view(w.session, province)}))


@app.command()
def reports(agency: str, month: Month,
            out: Annotated[Path, typer.Option(help="folder for the files")] = Path("var/reports"),
            level3: Annotated[bool, typer.Option(help="also the per-settlement declaration tables")] = False) -> None:
    """Write every table of a region's month as JSON, xlsx and PDF."""
    from yibao.reports.monthly import declaration, month_reports
    from yibao.reports.render import write_all
    from yibao.store.models import Declaration

    def run(w):  # type: ignore[no-untyped-def]
        from sqlalchemy import select

        made = month_reports(w.session, month, agency)
        if level3:
            for decl in w.session.scalars(select(Declaration).where(Declaration.setl_ym == month,
                                                                    Declaration.admdvs == agency)):
                made += [declaration(w.session, decl, cls, 3) for cls in ("employee", "resident")]
        target = out / agency / month
        return [p for r in made for p in write_all(r, target)]

    written = _work(run)
    typer.echo(f"{len(written)} files in {out / agency / month}")


@app.command()
def simulate(month: Annotated[str, typer.Option(help="the month to simulate, YYYY-MM")] = "2026-03",
             dataset: Annotated[Path, typer.Option(help="the world")] = Path("examples/demo.yaml"),
             out: Annotated[Path, typer.Option(help="folder for the reports")] = Path("var/simulation"),
             visits: Annotated[int, typer.Option(help="visits per day")] = 20,
             seed: Annotated[int, typer.Option(help="random seed")] = 1) -> None:
    """Drive a month of synthetic traffic over the wire, then the whole monthly cycle; the reports land in a folder."""
    from yibao.simulate import run

    folder = run(month=month, dataset=dataset, out=out, visits_per_day=visits, seed=seed)
    typer.echo(f"reports in {folder}")


keys_app = typer.Typer(no_args_is_help=True, help="Keys a deployment configures (docs/reliability.md)")
app.add_typer(keys_app, name="keys")


@keys_app.command("data")
def keys_data() -> None:
    """Print a new key for YIBAO_DATA_KEY (seals personal data at rest; put the new key first to rotate)."""
    from yibao.store.vault import new_key

    typer.echo(new_key())


# -- the mobile-payment centre (docs/mobilepay.md) ---------------------------------------------------------

mobilepay_app = typer.Typer(no_args_is_help=True, help="Mobile-payment centre (6201-6401) keys")
app.add_typer(mobilepay_app, name="mobilepay")


@mobilepay_app.command("register")
def mobilepay_register(fixmedins_code: str) -> None:
    """Give an institution a mobile-payment app: prints its appId, its SM2 private key (for its own
    configuration; the platform keeps only the public key) and the platform's public key."""
    from yibao.errors import Refusal
    from yibao.mobilepay.keys import register_app
    from yibao.store.db import Store

    store = Store()
    try:
        app_id, private_key, platform_key = register_app(store, fixmedins_code)
    except Refusal as exc:
        typer.echo(exc.err_msg, err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()
    _print({"app_id": app_id, "private_key": private_key, "platform_public_key": platform_key})


@mobilepay_app.command("platform-key")
def mobilepay_platform_key() -> None:
    """The platform's SM2 public key, which institutions use to check its answers."""
    from yibao.mobilepay.keys import platform_public_key
    from yibao.store.db import Store

    typer.echo(platform_public_key(Store()))


# -- the hospital middleware (docs/hospital.md) -------------------------------------------------------------


def _add_hospital() -> None:
    from yibao.hospital.cli import hospital_app

    app.add_typer(hospital_app, name="hospital", help="The hospital middleware beside a HIS (docs/hospital.md)")


_add_hospital()


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
