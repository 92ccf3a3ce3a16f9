"""A province's reference data as versioned snapshots between the nodes of a federation (docs/federation.md).

What a treatment node reads of another province to price a settlement there: `regions` (the province's regions
with their settings, benefit switches, the agency's switch changes, disease codes) and `policies` (its policy rows,
chosen by the treatment node under rules.md 2). The owning node publishes each kind whole, with a version that
grows by one whenever its content digest changes; another node applies a snapshot in one transaction, replacing
that province's rows, and records (province, kind, version, digest): an older or equal version changes nothing,
so duplicates and reordering are harmless. A node never reads another node's database.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from yibao.errors import Refusal
from yibao.store.db import Store
from yibao.store.models import Base, Disease, FederationSnapshot, Policy, Region, RegionSwitch, SwitchChange
from yibao.store.rowjson import from_json, to_json

#: each kind: its tables, with the columns a receiving node assigns itself left out
KINDS: dict[str, tuple[tuple[type[Base], tuple[str, ...]], ...]] = {
    "regions": ((Region, ()), (RegionSwitch, ()), (SwitchChange, ("id",)), (Disease, ())),
    "policies": ((Policy, ("id",)),),
}


log = logging.getLogger("yibao.federation")

def _of(model: type[Base], province: str) -> Any:
    return model.__table__.c.admdvs.like(f"{province}%")  # type: ignore[attr-defined]


def _order(model: type[Base]) -> Any:
    """A stable order: the digest is the content's, whatever order the database returns rows in."""
    table = model.__table__
    return table.c.id if "id" in table.c else list(table.primary_key.columns)  # type: ignore[attr-defined]


def collect(session: Session, province: str, kind: str) -> dict[str, list[dict[str, Any]]]:
    """The province's rows of one kind, as sent."""
    out = {}
    for model, leave in KINDS[kind]:
        order = _order(model)
        rows = session.scalars(select(model).where(_of(model, province)).order_by(
            *(order if isinstance(order, list) else [order])))
        out[model.__tablename__] = [to_json(r, leave) for r in rows]
    if kind == "policies":  # a policy row is its content (dataset/loader.py): the same content, the same row
        out["policies"].sort(key=lambda r: r["fingerprint"])
    return out


def digest(rows: dict[str, list[dict[str, Any]]]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def publish(session: Session, province: str, now: datetime, again: bool = False) -> list[dict[str, Any]]:
    """The snapshots of an own province to send: each kind whose content changed since it was last published,
    with the next version (every kind with `again`, the changed ones with a new version)."""
    out = []
    for kind in KINDS:
        rows = collect(session, province, kind)
        dig = digest(rows)
        last = session.get(FederationSnapshot, (province, kind), with_for_update=True)
        if last is None:
            last = FederationSnapshot(province=province, kind=kind, version=1, digest=dig, applied_at=now)
            session.add(last)
        elif last.digest != dig:
            last.version, last.digest, last.applied_at = last.version + 1, dig, now
        elif not again:
            continue
        out.append({"province": province, "kind": kind, "version": last.version, "digest": dig, "rows": rows})
    return out


def apply(session: Session, body: dict[str, Any], now: datetime, own: tuple[str, ...]) -> str:
    """A snapshot from another node, applied whole in this transaction: `applied`, or `ignored` (an older or equal
    version, a digest not matching its rows, a province this node owns, an unknown kind)."""
    province, kind, version = body["province"], body["kind"], int(body["version"])
    if kind not in KINDS or province in own or digest(body["rows"]) != body["digest"]:
        return "ignored"
    last = session.get(FederationSnapshot, (province, kind), with_for_update=True)
    if last is not None and last.version >= version:
        return "ignored"
    for model, _ in KINDS[kind]:
        rows = body["rows"].get(model.__tablename__, [])
        if model is Policy:
            _policies(session, province, rows)
            continue
        session.execute(delete(model).where(_of(model, province)))
        session.add_all(from_json(model, r) for r in rows)
        session.flush()
    if last is None:
        session.add(FederationSnapshot(province=province, kind=kind, version=version, digest=body["digest"],
                                       applied_at=now))
    else:
        last.version, last.digest, last.applied_at = version, body["digest"], now
    return "applied"


def _policies(session: Session, province: str, rows: list[dict[str, Any]]) -> None:
    """Rows kept by their content, so a settlement's policy_id still names the row it was priced under."""
    wanted = {r["fingerprint"]: r for r in rows}
    have = set(session.scalars(select(Policy.fingerprint).where(_of(Policy, province))))
    session.execute(delete(Policy).where(_of(Policy, province), Policy.fingerprint.not_in(list(wanted))))
    session.add_all(from_json(Policy, r) for fp, r in wanted.items() if fp not in have)
    session.flush()


def require(session: Session, province: str) -> None:
    """Refused while a kind of the province's reference data is missing here: never priced on nothing. A node
    whose dataset still holds the province's rows (loaded whole, without YIBAO_PROVINCES) prices as it did."""
    have = set(session.scalars(select(FederationSnapshot.kind).where(FederationSnapshot.province == province)))
    missing = [kind for kind, tables in KINDS.items() if kind not in have
               and session.scalar(select(tables[0][0].__table__.c.admdvs)  # type: ignore[attr-defined]
                                  .where(_of(tables[0][0], province)).limit(1)) is None]
    if missing:
        raise Refusal(f"insuplc_admdvs: the reference data of province {province} ({', '.join(missing)}) has not "
                      f"arrived from its node yet; the settlement cannot be priced under its policy — try again "
                      "once that node has published it")


def versions(session: Session) -> list[dict[str, Any]]:
    return [{"province": r.province, "kind": r.kind, "version": r.version, "digest": r.digest,
             "applied_at": r.applied_at} for r in session.scalars(select(FederationSnapshot).order_by(
                 FederationSnapshot.province, FederationSnapshot.kind))]


def receive(store: Store, msg: dict[str, Any], own: tuple[str, ...],
            peers: tuple[str, ...]) -> dict[str, Any] | None:
    """A snapshot broadcast by another node, applied in one transaction (None: met a concurrent twin, again). Of a
    province that is none of this node's peers it is ignored: a node publishes only its own provinces."""
    if msg["body"].get("province") not in peers:
        log.warning("federation: a snapshot of province %s, none of this node's peers, ignored",
                    msg["body"].get("province"))
        return {"state": "ignored"}
    try:
        with store.unit_of_work() as session:
            return {"state": apply(session, msg["body"], datetime.now(), own)}
    except (IntegrityError, OperationalError):
        return None
