"""Family mutual aid: binding, changing, unbinding and ending authorizations, and what they were used for.
Every change is one unit of work (the caller's) and leaves an event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yibao.codes import PERSON_INSUTYPES
from yibao.errors import Refusal, refuse
from yibao.rules import region_settings
from yibao.rules.aid_sources import arrears_block, resident_block
from yibao.rules.mutual_aid import Party, Proposal, RegionRules, establishment_problems, window_problems
from yibao.store.models import (
    Account,
    AccountEntry,
    MutualAidAuthorization,
    MutualAidEvent,
    Person,
    Region,
)

Grant = MutualAidAuthorization


@dataclass(frozen=True)
class Binding:
    authorizer: str
    beneficiary: str
    relation: str
    quota: Decimal | None
    start: date
    end: date | None
    priority: int | None
    commitment_version: str
    committed_at: datetime


def party(session: Session, psn_no: str, role: str) -> Party:
    person = session.get(Person, psn_no)
    if person is None:
        raise refuse(role, f"no insured person {psn_no}")
    account = session.get(Account, psn_no)
    open_account = account is not None and account.status == "open"
    return Party(person.psn_no, person.insutype, person.admdvs, person.suspended,
                 account.balance if open_account and account else None,
                 bool(account and account.from_suspended_employment))


def region_rules(region: Region) -> RegionRules:
    """The authorizer's region's rules for establishing an authorization (dataset mutual_aid and settings)."""
    settings = region.settings or {}
    return RegionRules(region.mutual_aid_enabled, region.authorizer_min_balance, dict(region.relation_limits),
                       settings.get(region_settings.SCOPE) or "province",
                       tuple(settings.get(region_settings.BENEFICIARY_INSUTYPES) or PERSON_INSUTYPES))


def withheld(insured: Region | None, person: Person, med_type: str) -> str | None:
    """Why the insured region gives this beneficiary no family mutual aid for this benefit (arrears, a
    resident's payment category), or None; the settlement then goes through with cash."""
    settings = (insured.settings or {}) if insured is not None else {}
    return (arrears_block(person.arrears, med_type, settings.get(region_settings.ARREARS))
            or resident_block(person.insutype, med_type, settings.get(region_settings.RESIDENT_MED_TYPES)))


def in_force(grant: Grant, today: date) -> bool:
    return grant.status == "active" and grant.start <= today and (grant.end is None or today <= grant.end)


def _active_relations(session: Session, authorizer: str, today: date) -> list[tuple[str, str]]:
    grants = session.scalars(select(Grant).where(Grant.authorizer == authorizer, Grant.status == "active"))
    return [(g.beneficiary, g.relation) for g in grants if g.end is None or g.end >= today]


def _event(session: Session, grant: Grant | None, psn_no: str, kind: str, at: datetime, actor: str,
           **detail: Any) -> None:
    session.add(MutualAidEvent(authorization_id=grant.id if grant else None, psn_no=psn_no, kind=kind, at=at,
                               actor=actor, detail={k: str(v) if v is not None else None for k, v in detail.items()}))


def bind(session: Session, b: Binding, *, now: datetime, today: date, actor: str) -> Grant:
    """Establish an authorization, refusing with every broken rule and its figures."""
    # lock the authorizer's account so two bindings at once cannot both pass the relation limits
    session.scalars(select(Account).where(Account.psn_no == b.authorizer).with_for_update()).first()
    giver = party(session, b.authorizer, "authorizer")
    taker = party(session, b.beneficiary, "beneficiary")
    region = session.get(Region, giver.admdvs)
    rules = region_rules(region) if region else RegionRules(False, None, {})
    problems = establishment_problems(giver, taker, Proposal(b.relation, b.quota, b.start, b.end), rules,
                                      _active_relations(session, b.authorizer, today))
    if not b.commitment_version:
        problems.append(("commitment_version", "the authorizer must accept the commitment (承诺书) text"))
    if problems:
        raise Refusal("; ".join(f"{field}: {rule}" for field, rule in problems))
    grant = Grant(authorizer=b.authorizer, beneficiary=b.beneficiary, relation=b.relation, quota=b.quota,
                  quota_used=Decimal("0.00"), start=b.start, end=b.end, priority=b.priority, status="active",
                  source="api", created_at=now, commitment_version=b.commitment_version,
                  committed_at=b.committed_at)
    session.add(grant)
    session.flush()
    _event(session, grant, b.authorizer, "bound", now, actor, beneficiary=b.beneficiary, relation=b.relation,
           quota=b.quota, start=b.start, end=b.end, commitment_version=b.commitment_version)
    return grant


def grant_of(session: Session, grant_id: int, *, lock: bool = False) -> Grant:
    q = select(Grant).where(Grant.id == grant_id)
    grant = session.scalars(q.with_for_update() if lock else q).first()
    if grant is None:
        raise refuse("id", f"no authorization {grant_id}")
    return grant


def change(session: Session, grant: Grant, *, actor_psn: str, now: datetime, fields: dict[str, Any]) -> Grant:
    """The authorizer changes quota and window; the beneficiary orders his authorizations (priority)."""
    if grant.status != "active":
        raise refuse("id", f"authorization {grant.id} has ended ({grant.end_reason})")
    allowed = {"priority"} if actor_psn == grant.beneficiary else set()
    if actor_psn == grant.authorizer:
        allowed |= {"quota", "start", "end", "priority"}
    for name in fields:
        if name not in allowed:
            raise refuse(name, "only the authorizer changes quota and window; the beneficiary may set the priority")
    if "quota" in fields and fields["quota"] is not None and fields["quota"] <= 0:
        raise refuse("quota", f"must be above 0 or none; is {fields['quota']}")
    start, end = fields.get("start", grant.start), fields.get("end", grant.end)
    for field, rule in window_problems(start, end):
        raise refuse(field, rule)
    before = {name: getattr(grant, name) for name in fields}
    for name, value in fields.items():
        setattr(grant, name, value)
    _event(session, grant, grant.authorizer, "changed", now, f"person:{actor_psn}",
           **{f"{k}_before": v for k, v in before.items()}, **fields)
    return grant


def end(session: Session, grant: Grant, *, now: datetime, actor: str, reason: str, kind: str = "unbound") -> Grant:
    if grant.status != "active":
        raise refuse("id", f"authorization {grant.id} has already ended ({grant.end_reason})")
    grant.status, grant.ended_at, grant.end_reason = "ended", now, reason
    _event(session, grant, grant.authorizer, kind, now, actor, reason=reason)
    return grant


def end_all_of(session: Session, authorizer: str, *, now: datetime, actor: str, reason: str, kind: str) -> int:
    """Automatic ending (Hefei 二): every authorization of this authorizer ends at once."""
    grants = list(session.scalars(select(Grant).where(Grant.authorizer == authorizer, Grant.status == "active")
                                  .with_for_update()))
    for grant in grants:
        end(session, grant, now=now, actor=actor, reason=reason, kind=kind)
    return len(grants)


def transfer(session: Session, psn_no: str, to_admdvs: str, *, now: datetime, actor: str) -> int:
    """The person's insurance moves to another region: his authorizations end at once."""
    person = session.get(Person, psn_no, with_for_update=True)
    if person is None:
        raise refuse("psn_no", f"no insured person {psn_no}")
    if session.get(Region, to_admdvs) is None:
        raise refuse("to_admdvs", f"region {to_admdvs} is not defined")
    if person.admdvs == to_admdvs:
        raise refuse("to_admdvs", f"the person is already insured in {to_admdvs}")
    from_admdvs, person.admdvs = person.admdvs, to_admdvs
    ended = end_all_of(session, psn_no, now=now, actor=actor, kind="ended_by_transfer",
                       reason=f"insurance moved from {from_admdvs} to {to_admdvs}")
    _event(session, None, psn_no, "transferred", now, actor, from_admdvs=from_admdvs, to_admdvs=to_admdvs,
           authorizations_ended=ended)
    return ended


def close_account(session: Session, psn_no: str, status: str, *, now: datetime, actor: str) -> int:
    """The account is closed or withdrawn (提取): it pays nothing more and its authorizations end."""
    if status not in ("closed", "withdrawn"):
        raise refuse("status", "must be closed or withdrawn")
    account = session.get(Account, psn_no, with_for_update=True)
    if account is None:
        raise refuse("psn_no", f"person {psn_no} has no personal account")
    if account.status != "open":
        raise refuse("psn_no", f"the account is already {account.status}")
    account.status = status
    ended = end_all_of(session, psn_no, now=now, actor=actor, kind=f"ended_by_account_{status}",
                       reason=f"the authorizer's account was {status}")
    _event(session, None, psn_no, f"account_{status}", now, actor, balance=account.balance,
           authorizations_ended=ended)
    return ended


def mine(session: Session, psn_no: str) -> tuple[list[Grant], list[Grant]]:
    grants = list(session.scalars(select(Grant).where(or_(Grant.authorizer == psn_no, Grant.beneficiary == psn_no))
                                  .order_by(Grant.id)))
    return [g for g in grants if g.authorizer == psn_no], [g for g in grants if g.beneficiary == psn_no]


def usage(session: Session, grant: Grant) -> list[AccountEntry]:
    """The money this authorization moved: draws (negative) and their refunds (positive)."""
    return list(session.scalars(select(AccountEntry).where(AccountEntry.authorization_id == grant.id)
                                .order_by(AccountEntry.id)))


def events(session: Session, grant: Grant) -> list[MutualAidEvent]:
    return list(session.scalars(select(MutualAidEvent).where(MutualAidEvent.authorization_id == grant.id)
                                .order_by(MutualAidEvent.id)))


def of_region(session: Session, admdvs: str, status: str | None = None) -> list[Grant]:
    """Authorizations whose authorizer is insured in the region (agency view)."""
    q = select(Grant).join(Person, Person.psn_no == Grant.authorizer).where(Person.admdvs == admdvs)
    if status:
        q = q.where(Grant.status == status)
    return list(session.scalars(q.order_by(Grant.id)))


def describe(grant: Grant, today: date) -> dict[str, Any]:
    return {
        "id": grant.id, "authorizer": grant.authorizer, "beneficiary": grant.beneficiary,
        "relation": grant.relation, "quota": grant.quota, "quota_used": grant.quota_used,
        "quota_left": None if grant.quota is None else max(Decimal("0.00"), grant.quota - grant.quota_used),
        "start": grant.start, "end": grant.end, "priority": grant.priority, "status": grant.status,
        "in_force": in_force(grant, today), "commitment_version": grant.commitment_version,
        "committed_at": grant.committed_at, "created_at": grant.created_at, "ended_at": grant.ended_at,
        "end_reason": grant.end_reason, "source": grant.source,
    }
