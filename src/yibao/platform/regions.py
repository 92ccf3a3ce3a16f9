"""A region's settings (dataset regions[].settings): the rules that differ by region, read where they apply."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from yibao.store.reference import reference


def region_setting(session: Session, admdvs: str, name: str, default: Any = None) -> Any:
    region = reference(session).regions(session).get(admdvs)
    return (region.settings or {}).get(name, default) if region is not None else default
