"""Region switches changed by the region's agency from a date (seed 004 art. 38: the preset epidemic outpatient
benefit is switched on "适时", when policy says so). docs/duties.md.

The dataset gives each switch its state (`switches: [{name, on, from}]`); the agency's changes are kept as a
history (who, why, when recorded) and win from their effective day, so a settlement is computed with the
switches in force on its own date whatever was changed since."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.rules.switches import switches_on
from yibao.store.models import Policy, RegionSwitch, SwitchChange
from yibao.store.reference import reference


def in_force(session: Session, admdvs: str, day: date) -> set[str]:
    """The names of the region's switches that are on on `day` (read through the reference cache)."""
    cache = reference(session)
    return switches_on([(s.name, s.on, s.since) for s in cache.switches(session, admdvs)],
                       [(c.name, c.on, c.effective, c.id) for c in cache.switch_changes(session, admdvs)], day)


def known(session: Session, admdvs: str) -> set[str]:
    """The switches a region has: named in its dataset `switches` or by one of its policy rows."""
    names = set(session.scalars(select(RegionSwitch.name).where(RegionSwitch.admdvs == admdvs)))
    return names | {n for n in session.scalars(select(Policy.switch).where(Policy.admdvs == admdvs)) if n}


def change(session: Session, admdvs: str, name: str, on: bool, effective: date, *, by: str, why: str,
           today: date, now: datetime) -> SwitchChange:
    if name not in known(session, admdvs):
        raise refuse("name", f"region {admdvs} has no switch {name!r} (its switches: "
                             f"{', '.join(sorted(known(session, admdvs))) or 'none'})")
    if effective < today:
        raise refuse("effective", f"a switch changes from today ({today}) or a later day, not {effective}: "
                                  "settlements already made keep the switches of their own date")
    if not why.strip():
        raise refuse("why", "a change of a switch states why (the policy that switches it)")
    row = SwitchChange(admdvs=admdvs, name=name, on=on, effective=effective, changed_by=by, why=why.strip(),
                       recorded_at=now)
    session.add(row)
    session.flush()
    return row


def describe(c: SwitchChange) -> dict[str, Any]:
    return {"id": c.id, "admdvs": c.admdvs, "name": c.name, "on": c.on, "effective": c.effective,
            "changed_by": c.changed_by, "why": c.why, "recorded_at": c.recorded_at}


def state(session: Session, admdvs: str, day: date) -> dict[str, Any]:
    """Every switch of the region, on or off on `day`, and the history of the agency's changes."""
    on = in_force(session, admdvs, day)
    history = session.scalars(select(SwitchChange).where(SwitchChange.admdvs == admdvs).order_by(SwitchChange.id))
    return {"admdvs": admdvs, "on": day, "switches": {n: n in on for n in sorted(known(session, admdvs))},
            "changes": [describe(c) for c in history]}
