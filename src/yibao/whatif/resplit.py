"""Changed catalog rows priced from the stored fee lines: the settlements of the period whose lines hold a changed
item are found first, and only their lines of the changed items are read and split again by the rule live
settlement splits with (rules/splitting.split_line over platform/catalog.entry_of). A settlement's sums become its
stored sums moved by what the new split of those lines differs from the stored one; its other lines stay as they
were split. The unchanged path reads no fee line."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.money import ZERO
from yibao.platform.catalog import entry_of
from yibao.rules.splitting import CATALOG_FLAGS, LineSplit, Sums, approval_refused, split_line
from yibao.store.models import CatalogItem, FeeDetail, Settlement
from yibao.whatif.dataset_parts import CatalogChange
from yibao.whatif.source import Period

S, F = Settlement, FeeDetail


@dataclass(frozen=True)
class Item:
    """A catalog row as entry_of reads it: the stored row with the changes of its day laid over."""

    code: str
    name: str
    chrgitm_lv: str
    selfpay_prop: dict[str, str]
    pric_uplmt_amt: Decimal | None
    med_chrgitm_type: str
    extra: dict[str, Any]


def resplit(session: Session, region: str, period: Period, changes: tuple[CatalogChange, ...]) -> dict[str, Sums]:
    """setl_id -> its sums under the changed catalog, for the settlements whose lines hold a changed item."""
    if not changes:
        return {}
    codes = {c.code for c in changes}
    stored = {i.code: _item(i) for i in session.scalars(
        select(CatalogItem).where(CatalogItem.admdvs == region, CatalogItem.code.in_(codes)))}
    for c in changes:
        if c.code not in stored:
            raise refuse(f"{c.field}.code", f"{c.code} is not in the catalog of region {region}")
    holding = (select(F.setl_id).where(F.med_list_codg.in_(codes), F.setl_id.is_not(None))
               .distinct().scalar_subquery())
    where = (S.policy_admdvs == region, S.catalog_admdvs == region, S.refd_setl_flag == "0",
             S.setl_time >= period.start, S.setl_time < period.end, S.setl_id.in_(holding))
    affected = {r[0]: r for r in session.execute(
        select(S.setl_id, S.insutype, S.setl_time, S.medfee_sumamt, S.fulamt_ownpay_amt, S.overlmt_selfpay,
               S.preselfpay_amt, S.inscp_scp_amt).where(*where))}
    if not affected:
        return {}
    moved: dict[str, list[Decimal]] = {}
    items: dict[tuple[str, date], Item] = {}
    lines = select(F).where(F.med_list_codg.in_(codes), F.setl_id.in_(select(S.setl_id).where(*where)))
    for line in session.scalars(lines.execution_options(yield_per=2000)):
        setl_id = str(line.setl_id)  # never None: read by setl_id
        setl = affected[setl_id]
        day = setl[2].date()
        key = (line.med_list_codg, day)
        if key not in items:
            items[key] = _changed(stored[line.med_list_codg], [c for c in changes if c.code == key[0]
                                                               and (c.since is None or c.since <= day)])
        entry = entry_of(items[key], setl[1])
        new = split_line(line.pric, line.cnt, entry,
                         approval_refused((line.raw or {}).get("hosp_appr_flag") or "0", entry))
        diff = moved.setdefault(setl_id, [ZERO] * 5)
        for i, (after, before) in enumerate(zip(_parts(new), _stored_parts(line), strict=True)):
            diff[i] += after - before
    return {setl_id: Sums(*(a + d for a, d in zip(affected[setl_id][3:], diff, strict=True)))
            for setl_id, diff in moved.items()}


def _parts(s: LineSplit) -> tuple[Decimal, ...]:
    return s.det_item_fee_sumamt, s.fulamt_ownpay_amt, s.overlmt_amt, s.preselfpay_amt, s.inscp_scp_amt


def _stored_parts(f: FeeDetail) -> tuple[Decimal, ...]:
    return f.det_item_fee_sumamt, f.fulamt_ownpay_amt, f.overlmt_amt, f.preselfpay_amt, f.inscp_scp_amt


def _item(i: CatalogItem) -> Item:
    return Item(i.code, i.name, i.chrgitm_lv, dict(i.selfpay_prop), i.pric_uplmt_amt, i.med_chrgitm_type,
                dict(i.extra or {}))


def _changed(item: Item, changes: list[CatalogChange]) -> Item:
    """The changed fields laid over the stored row in the order written, each as the dataset loader stores it."""
    for c in changes:
        f = c.fields
        extra = dict(item.extra)
        for name in CATALOG_FLAGS:
            if name in f:
                if f[name] == "0":
                    extra.pop(name, None)
                else:
                    extra[name] = f[name]
        values: dict[str, Any] = {k: v for k, v in f.items()
                                  if k in ("name", "chrgitm_lv", "pric_uplmt_amt", "med_chrgitm_type")}
        if "selfpay_prop" in f:
            values["selfpay_prop"] = {k: str(v) for k, v in f["selfpay_prop"].items()}
        item = replace(item, extra=extra, **values)
    return item
