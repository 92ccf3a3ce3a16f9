"""Reference data every message reads — institutions, regions, policy rows and switches, catalog items, the
business date — kept by each process while the database's reference version stays the same.

Triggers bump `reference_version.n` on every change to those tables (migration 0014), whoever makes it (`yibao
load`, an agency's act, another process), so a unit of work that finds the counter moved drops the copy and
reads again: a change is seen by the next message. The copies are detached rows, read only.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yibao.store.models import (
    CatalogItem,
    Institution,
    Policy,
    ReferenceVersion,
    Region,
    RegionSwitch,
    Setting,
    SwitchChange,
)

_UNREAD = object()


@dataclass
class _Copy:
    version: int
    institutions: dict[str, Institution | None] = field(default_factory=dict)
    regions: dict[str, Region] | None = None
    policies: dict[tuple[str, str], list[Policy]] = field(default_factory=dict)
    switches: dict[str, list[RegionSwitch]] = field(default_factory=dict)
    switch_changes: dict[str, list[SwitchChange]] = field(default_factory=dict)
    catalog: dict[tuple[str, str], CatalogItem | None] = field(default_factory=dict)
    today: Any = _UNREAD


class ReferenceCache:
    """One per Store (one database): what `version` names, filled as it is asked for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._copy = _Copy(-1)

    def current(self, session: Session) -> _Copy:
        """The copy for this unit of work: read the counter once per session, drop the copy if it moved."""
        copy = session.info.get("reference")
        if copy is not None:
            return copy  # type: ignore[no-any-return]
        version = session.scalar(select(ReferenceVersion.n).where(ReferenceVersion.id == 1))
        if version is None:
            # the row was emptied (a test deleting every table): put it back with a number no copy was made
            # under, and cache nothing in this unit of work
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(insert(ReferenceVersion).values(id=1, n=secrets.randbits(62)).on_conflict_do_nothing())
            copy = _Copy(-1)
        else:
            with self._lock:
                if self._copy.version != version:
                    self._copy = _Copy(version)
                copy = self._copy
        session.info["reference"] = copy
        return copy

    def institution(self, session: Session, code: str) -> Institution | None:
        copy = self.current(session)
        if code not in copy.institutions:
            row = session.get(Institution, code)
            if row is not None:
                session.expunge(row)
            copy.institutions[code] = row
        return copy.institutions[code]

    def regions(self, session: Session) -> dict[str, Region]:
        copy = self.current(session)
        if copy.regions is None:
            rows = list(session.scalars(select(Region)))
            for r in rows:
                session.expunge(r)
            copy.regions = {r.admdvs: r for r in rows}
        return copy.regions

    def policies(self, session: Session, admdvs: str, insutype: str) -> list[Policy]:
        copy = self.current(session)
        key = (admdvs, insutype)
        if key not in copy.policies:
            rows = list(session.scalars(select(Policy).where(Policy.admdvs == admdvs, Policy.insutype == insutype)))
            for p in rows:
                session.expunge(p)
            copy.policies[key] = rows
        return copy.policies[key]

    def switches(self, session: Session, admdvs: str) -> list[RegionSwitch]:
        copy = self.current(session)
        if admdvs not in copy.switches:
            rows = list(session.scalars(select(RegionSwitch).where(RegionSwitch.admdvs == admdvs)))
            for s in rows:
                session.expunge(s)
            copy.switches[admdvs] = rows
        return copy.switches[admdvs]

    def switch_changes(self, session: Session, admdvs: str) -> list[SwitchChange]:
        """The agency's changes of the region's switches (platform/switches.py), oldest first."""
        copy = self.current(session)
        if admdvs not in copy.switch_changes:
            rows = list(session.scalars(select(SwitchChange).where(SwitchChange.admdvs == admdvs)
                                        .order_by(SwitchChange.id)))
            for c in rows:
                session.expunge(c)
            copy.switch_changes[admdvs] = rows
        return copy.switch_changes[admdvs]

    def catalog_items(self, session: Session, admdvs: str, codes: set[str]) -> dict[str, CatalogItem]:
        copy = self.current(session)
        missing = sorted(c for c in codes if (admdvs, c) not in copy.catalog)
        if missing:
            found = {i.code: i for i in session.scalars(select(CatalogItem).where(
                CatalogItem.admdvs == admdvs, CatalogItem.code.in_(missing)))}
            for code in missing:
                item = found.get(code)
                if item is not None:
                    session.expunge(item)
                copy.catalog[(admdvs, code)] = item
        return {c: item for c in codes if (item := copy.catalog[(admdvs, c)]) is not None}

    def today(self, session: Session) -> date | None:
        """The dataset's business date (settings `today`), if it set one."""
        copy = self.current(session)
        if copy.today is _UNREAD:
            value = session.scalar(select(Setting.value).where(Setting.key == "today"))
            copy.today = date.fromisoformat(value) if value else None
        return copy.today  # type: ignore[no-any-return]


def reference(session: Session) -> ReferenceCache:
    """The cache of the Store that opened this session (a session opened elsewhere gets a cache of its own)."""
    cache = session.info.get("reference_cache")
    if cache is None:
        cache = session.info["reference_cache"] = ReferenceCache()
    return cache  # type: ignore[no-any-return]
