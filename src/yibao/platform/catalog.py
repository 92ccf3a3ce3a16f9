"""Looking up catalog items and policy rows for a settlement case (the I/O around rules.selection)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.platform import switches
from yibao.rules.selection import PolicyRow, choose_policy
from yibao.rules.splitting import CATALOG_FLAGS, CatalogEntry
from yibao.store.reference import reference


def catalog_entries(session: Session, admdvs: str, codes: set[str], insutype: str) -> dict[str, CatalogEntry]:
    """Catalog entries by code, with the self-pay ratio of this insutype. A code absent is not covered."""
    out: dict[str, CatalogEntry] = {}
    if not codes:
        return out
    for item in reference(session).catalog_items(session, admdvs, codes).values():
        entry = entry_of(item, insutype)
        if entry is not None:
            out[item.code] = entry
    return out


def entry_of(item: Any, insutype: str) -> CatalogEntry | None:
    """A stored catalog row (store.models.CatalogItem, or a what-if's changed copy of one) as the splitting rule
    reads it for this insutype; None: the item names ratios for other insurance types only, not covered."""
    prop = item.selfpay_prop.get(insutype, item.selfpay_prop.get("*"))
    if prop is None:
        return None
    flags = tuple((name, str(item.extra[name])) for name in CATALOG_FLAGS if name in (item.extra or {}))
    return CatalogEntry(item.code, item.name, item.chrgitm_lv, Decimal(prop), item.pric_uplmt_amt,
                        item.med_chrgitm_type, restricted=(item.extra or {}).get("lmt_used_flag") == "1", flags=flags)


def policy_for(session: Session, admdvs: str, insutype: str, med_type: str, hosp_lv: str | None,
               on: date) -> PolicyRow:
    rows = [PolicyRow(p.id, p.insutype, tuple(p.med_types), tuple(p.hosp_lv) if p.hosp_lv else None, p.bucket,
                      p.deductible, p.ratio, p.annual_cap, p.acct_scope, p.valid_from, p.valid_to, p.switch)
            for p in reference(session).policies(session, admdvs, insutype)]
    switches_on = switches.in_force(session, admdvs, on)  # the dataset's, then the agency's changes
    chosen = choose_policy(rows, insutype, med_type, hosp_lv, on, switches_on)
    if isinstance(chosen, str):
        raise refuse("input.data.med_type", f"region {admdvs}: {chosen}")
    return chosen


def catalog_names(session: Session, admdvs: str, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return {code: item.name for code, item in reference(session).catalog_items(session, admdvs, codes).items()}
