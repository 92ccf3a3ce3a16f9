"""Persons insured on another node, as that node answers for them (docs/federation.md): a treatment node holds no
copy of another province's population; for the one visiting its institution (1101, the checks before pricing,
the person row a settlement names) it asks the insured node a `person` query and keeps the answer as a visitor
record — the person row, his active cross-region filings and recognised diseases. The insured node answers from its
own tables, applying nothing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from yibao.errors import Refusal
from yibao.platform.persons import Credential, account_balance, holders, pooling_region
from yibao.store.models import FederationVisitor, Filing, Institution, Person, PersonDisease
from yibao.store.rowjson import from_json, to_json


def answer(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    """The insured node's answer to a `person` query: by psn_no, or by credential in the region named."""
    try:
        if body.get("psn_no"):
            person = session.get(Person, body["psn_no"])
        else:
            c = body["cred"]
            region = pooling_region(session, body["region"])  # as this node's regions have it
            found = [p for p in holders(session, Credential(c["kind"], c["number"], c.get("card_sn", "")))
                     if p.admdvs == region]
            person = found[0] if found else None
    except Refusal as refused:
        return {"state": "refused", "reason": str(refused)}
    if person is None or (body.get("region") and person.admdvs[:2] != body["region"][:2]):
        what = body.get("psn_no") or "this credential"
        return {"state": "refused", "reason": f"no person insured in region {body.get('region')} holds {what}"}
    cred = body.get("cred") or {}
    if cred.get("kind") == "03" and person.card_sn and person.card_sn != cred.get("card_sn"):
        # checked here, by the node owning the card, before anything of the person leaves it
        return {"state": "refused", "reason": "does not match the card's identification code", "field": "card_sn"}
    filings = session.scalars(select(Filing).where(Filing.psn_no == person.psn_no, Filing.status == "active")
                              .order_by(Filing.id))
    diseases = session.scalars(select(PersonDisease).where(PersonDisease.psn_no == person.psn_no))
    return {"state": "found", "person": to_json(person), "balc": str(account_balance(session, person.psn_no)),
            "filings": [to_json(f, ("id", "replaces_id")) for f in filings],
            "diseases": [to_json(d) for d in diseases]}


def keep(session: Session, found: dict[str, Any], province: str, now: datetime) -> Person:
    """The insured node's answer kept here as the person's visitor record, replacing the one before."""
    data = found["person"]
    psn_no = data["psn_no"]
    person = session.get(Person, psn_no)
    fresh = cast(Person, from_json(Person, data))
    if person is None:
        session.add(fresh)
        person = fresh
    else:
        for key in data:
            setattr(person, key, getattr(fresh, key))
    session.execute(delete(Filing).where(Filing.psn_no == psn_no))
    # a disease recognised here, by one of this node's institutions (2503 at the treatment place), is this node's
    # own record: the insured node's answer replaces only the rest
    here = select(Institution.code).scalar_subquery()
    session.execute(delete(PersonDisease).where(
        PersonDisease.psn_no == psn_no,
        or_(PersonDisease.recognized_by.is_(None), PersonDisease.recognized_by.not_in(here))))
    own = set(session.scalars(select(PersonDisease.code).where(PersonDisease.psn_no == psn_no)))
    session.add_all(from_json(Filing, f) for f in found["filings"])
    session.add_all(from_json(PersonDisease, d) for d in found["diseases"] if d["code"] not in own)
    balc = Decimal(found["balc"]) if found.get("balc") is not None else None
    visitor = session.get(FederationVisitor, psn_no)
    if visitor is None:
        session.add(FederationVisitor(psn_no=psn_no, province=province, balc=balc, fetched_at=now))
    else:
        visitor.province, visitor.balc, visitor.fetched_at = province, balc, now
    session.flush()
    return person


def is_visitor(session: Session, psn_no: str) -> bool:
    return session.get(FederationVisitor, psn_no) is not None
