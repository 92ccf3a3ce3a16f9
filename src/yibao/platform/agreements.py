"""The registry of institutions' cross-region agreements (seed 004 art. 21, annex 2): the institution's region
reports a change (opened, suspended, resumed, ended) effective from a date; the registry is published."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from yibao.errors import Refusal, refuse
from yibao.platform.work import Work
from yibao.rules.filing import agreement_open
from yibao.store.models import Institution, InstitutionStatusChange

CHANGES = ("opened", "suspended", "resumed", "ended")


def describe(c: InstitutionStatusChange) -> dict[str, Any]:
    return {"id": c.id, "fixmedins_code": c.fixmedins_code, "change": c.change, "effective": c.effective,
            "reported_by": c.reported_by, "recorded_at": c.recorded_at, "memo": c.memo or ""}


def report(work: Work, region: str, code: str, change: str, effective: date, memo: str = "") -> InstitutionStatusChange:
    """Record a change of an institution of `region`; another region's institution looks unknown (404)."""
    institution = work.session.get(Institution, code)
    if institution is None or institution.admdvs != region:
        raise Refusal(f"fixmedins_code: no institution {code} in region {region}", http_status=404)
    if change not in CHANGES:
        raise refuse("change", f"{change!r} is not one of {', '.join(CHANGES)}")
    if institution.xregion == "none" and change in ("opened", "resumed"):
        raise refuse("change", f"{code} has no cross-region qualification (xregion none)")
    row = InstitutionStatusChange(fixmedins_code=code, change=change, effective=effective, reported_by=region,
                                  recorded_at=work.now, memo=memo.strip() or None)
    work.session.add(row)
    work.session.flush()
    return row


def registry(work: Work, day: date, region: str | None = None) -> list[dict[str, Any]]:
    """Every cross-region institution (of `region` when given) with its status on `day` and its changes."""
    changes: dict[str, list[InstitutionStatusChange]] = {}
    for c in work.session.scalars(select(InstitutionStatusChange).order_by(InstitutionStatusChange.id)):
        changes.setdefault(c.fixmedins_code, []).append(c)
    q = select(Institution).where(Institution.xregion != "none")
    if region is not None:
        q = q.where(Institution.admdvs == region)
    out = []
    for inst in work.session.scalars(q.order_by(Institution.code)):
        mine = changes.get(inst.code, [])
        out.append({"fixmedins_code": inst.code, "fixmedins_name": inst.name, "admdvs": inst.admdvs,
                    "xregion": inst.xregion, "on": day,
                    "open": agreement_open([(c.effective, c.change) for c in mine], day),
                    "changes": [describe(c) for c in mine]})
    return out
