"""yibao token, mutual-aid, person, account: bearer tokens for the JSON API and the agency's operations on
persons and their family mutual aid (docs/mutual_aid.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from yibao.api.tokens import issue, signing_key
from yibao.cli.root import app, print_json, run_work
from yibao.errors import Refusal, refuse
from yibao.money import money
from yibao.platform import mutual_aid as ma
from yibao.platform.work import Work
from yibao.store.db import Store
from yibao.store.models import Institution, Person, Region

token_app = typer.Typer(no_args_is_help=True, help="Bearer tokens for the JSON API (/api/v1)")
ma_app = typer.Typer(no_args_is_help=True, help="Family mutual aid (个人账户家庭共济) authorizations")
person_app = typer.Typer(no_args_is_help=True, help="Agency operations on insured persons")
account_app = typer.Typer(no_args_is_help=True, help="Agency operations on personal accounts")
app.add_typer(token_app, name="token")
app.add_typer(ma_app, name="mutual-aid")
app.add_typer(person_app, name="person")
app.add_typer(account_app, name="account")
Days = Annotated[int, typer.Option(help="validity in days")]


#: who a token may name, by kind: a subject the database does not hold is refused, not signed
SUBJECTS: dict[str, tuple[type[Any], str]] = {
    "person": (Person, "no insured person {} in the database: check the psn_no, or load the person (yibao load)"),
    "agency": (Region, "no region {} in the database: check the admdvs, or load the region (yibao load)"),
    "institution": (Institution, "no institution {} in the database: check the code, or load it (yibao load)"),
}


def _token(kind: str, subject: str, days: int) -> None:
    if days < 1:
        raise refuse("--days", f"must be at least 1, not {days}")
    if kind in SUBJECTS:
        model, missing = SUBJECTS[kind]

        def check(w: Work) -> None:
            if w.session.get(model, subject) is None:
                raise Refusal(missing.format(subject))

        run_work(check)
    store = Store()
    try:
        typer.echo(issue(signing_key(store), kind, subject, days))
    finally:
        store.dispose()


@token_app.command("person")
def token_person(psn_no: str, days: Days = 30) -> None:
    """A token for an insured person (his own authorizations)."""
    _token("person", psn_no, days)


@token_app.command("agency")
def token_agency(admdvs: str, days: Days = 30) -> None:
    """A token for the agency staff of a region."""
    _token("agency", admdvs, days)


@token_app.command("institution")
def token_institution(code: str, days: Days = 30) -> None:
    """A token for an institution (its own declarations and tables)."""
    _token("institution", code, days)


@token_app.command("centre")
def token_centre(province: str, days: Days = 30) -> None:
    """A token for a provincial centre, e.g. 440000 (allocation, clearing, its cross-region account)."""
    _token("centre", province, days)


@ma_app.command("bind")
def ma_bind(authorizer: str, beneficiary: str,
            relation: Annotated[str, typer.Option(help="spouse, father, mother, child (or self)")],
            start: Annotated[str, typer.Option(help="yyyy-mm-dd")],
            commitment_version: Annotated[str, typer.Option(help="version of the 承诺书 the authorizer accepted")],
            end: Annotated[str, typer.Option(help="yyyy-mm-dd; empty: open-ended")] = "",
            quota: Annotated[str, typer.Option(help="decimal; empty: no quota")] = "",
            priority: Annotated[int | None, typer.Option()] = None) -> None:
    """Bind BENEFICIARY to AUTHORIZER's personal account."""
    def run(w: Work) -> dict[str, Any]:
        grant = ma.bind(w.session, ma.Binding(authorizer, beneficiary, relation, money(quota) if quota else None,
                                              date.fromisoformat(start), date.fromisoformat(end) if end else None,
                                              priority, commitment_version, w.now), now=w.now, today=w.today,
                        actor="cli")
        return ma.describe(grant, w.today)

    print_json(run_work(run))


@ma_app.command("list")
def ma_list(psn_no: str) -> None:
    """A person's authorizations, as authorizer and as beneficiary."""
    def run(w: Work) -> dict[str, Any]:
        given, received = ma.mine(w.session, psn_no)
        return {"as_authorizer": [ma.describe(g, w.today) for g in given],
                "as_beneficiary": [ma.describe(g, w.today) for g in received]}

    print_json(run_work(run))


@ma_app.command("change")
def ma_change(grant_id: int, actor: Annotated[str, typer.Option("--as", help="psn_no of the person acting")],
              quota: Annotated[str | None, typer.Option(help="decimal, or 'none'")] = None,
              start: Annotated[str | None, typer.Option()] = None, end: Annotated[str | None, typer.Option()] = None,
              priority: Annotated[int | None, typer.Option()] = None) -> None:
    """Change an authorization's quota / window (authorizer) or priority (beneficiary)."""
    fields: dict[str, object] = {}
    if quota is not None:
        fields["quota"] = None if quota == "none" else money(quota)
    if start is not None:
        fields["start"] = date.fromisoformat(start)
    if end is not None:
        fields["end"] = date.fromisoformat(end) if end else None
    if priority is not None:
        fields["priority"] = priority
    print_json(run_work(lambda w: ma.describe(ma.change(w.session, ma.grant_of(w.session, grant_id, lock=True),
                                                        actor_psn=actor, now=w.now, fields=fields), w.today)))


@ma_app.command("unbind")
def ma_unbind(grant_id: int, actor: Annotated[str, typer.Option("--as", help="the authorizer's psn_no")]) -> None:
    """End an authorization (the authorizer's act)."""
    def run(w: Work) -> dict[str, Any]:
        grant = ma.grant_of(w.session, grant_id, lock=True)
        if grant.authorizer != actor:
            raise refuse("id", "unbinding is the authorizer's act")
        return ma.describe(ma.end(w.session, grant, now=w.now, actor=f"cli:{actor}", reason="unbound by the "
                                  "authorizer"), w.today)

    print_json(run_work(run))


@ma_app.command("usage")
def ma_usage(grant_id: int) -> None:
    """What an authorization paid, and its events."""
    def run(w: Work) -> dict[str, Any]:
        grant = ma.grant_of(w.session, grant_id)
        return {"authorization": ma.describe(grant, w.today),
                "movements": [{"time": m.entry_time, "kind": m.kind, "amount": m.amount, "setl_id": m.setl_id,
                               "beneficiary": m.beneficiary_psn_no} for m in ma.usage(w.session, grant)],
                "events": [{"time": e.at, "kind": e.kind, "actor": e.actor, "detail": e.detail}
                           for e in ma.events(w.session, grant)]}

    print_json(run_work(run))


@person_app.command("transfer")
def person_transfer(psn_no: str, to: Annotated[str, typer.Option("--to", help="the new insured region")]) -> None:
    """The person's insurance moves to another region; his authorizations end at once."""
    ended = run_work(lambda w: ma.transfer(w.session, psn_no, to, now=w.now, actor="cli"))
    typer.echo(f"{psn_no} now insured in {to}; {ended} authorization(s) ended")


@account_app.command("close")
def account_close(psn_no: str, status: Annotated[str, typer.Option(help="closed or withdrawn")] = "closed") -> None:
    """Close or withdraw a personal account; its authorizations end at once."""
    ended = run_work(lambda w: ma.close_account(w.session, psn_no, status, now=w.now, actor="cli"))
    typer.echo(f"account of {psn_no} {status}; {ended} authorization(s) ended")
