"""The catalog rows a load publishes for the downloads (1301-1315) and the catalog queries (1312, 1318, 1319),
each stamped with a version (docs/catalogs.md).

A load compares every row it would publish with the row already published (by a fingerprint of its content);
the rows that are new, changed, back again or no longer listed (kept with vali_flag 0) get one new version
number, drawn from the reference-version counter (migration 0014): one counter row, so two loads never draw the
same number and a later load always draws a larger one. Unchanged rows keep their version, so a HIS holding
version N downloads exactly what loads after N changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yibao.dataset.schema import CatalogItemDoc, DatasetDoc, RegionDoc
from yibao.rules import catalog_file as cf
from yibao.rules.splitting import CATALOG_FLAGS
from yibao.store import models as m

Key = tuple[str, str]  # (infno, code)


def problems(doc: DatasetDoc) -> list[tuple[str, str]]:
    """(path, rule) for details a file cannot carry and codes listed twice in one download."""
    out: list[tuple[str, str]] = []
    for i, region in enumerate(doc.regions):
        for j, item in enumerate(region.catalog):
            infno = cf.BY_LIST_TYPE[cf.list_type_for(item.med_chrgitm_type, item.list_type)]
            for key, why in cf.unknown_details(infno, item.details):
                out.append((f"regions[{i}].catalog[{j}].details.{key}", why))
        for infno, rows in region.downloads.items():
            seen = Counter(r.code for r in rows)
            for j, row in enumerate(rows):
                here = f"regions[{i}].downloads.{infno}[{j}]"
                if seen[row.code] > 1:
                    out.append((f"{here}.code", f"{row.code} appears more than once in this download"))
                for key, why in cf.unknown_details(infno, row.details):
                    out.append((f"{here}.details.{key}", why))
    return out


def _ratio(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _item_rows(admdvs: str, item: CatalogItemDoc) -> dict[Key, tuple[str, dict[str, Any]]]:
    list_type = cf.list_type_for(item.med_chrgitm_type, item.list_type)
    infno = cf.BY_LIST_TYPE[list_type]
    flags = {name: getattr(item, name) for name in CATALOG_FLAGS}
    out: dict[Key, tuple[str, dict[str, Any]]] = {
        (infno, item.code): (item.name, cf.content(infno, item.code, item.name, item.details, flags,
                                                   admdvs=admdvs, med_chrgitm_type=item.med_chrgitm_type))}
    d = item.details
    span = {"insu_admdvs": admdvs, "begndate": d.get("开始日期", ""), "enddate": d.get("结束日期", ""),
            "poolarea_no": admdvs}
    out[("1312", item.code)] = (item.name, {
        "hilist_code": item.code, "hilist_name": item.name, **span, "med_chrgitm_type": item.med_chrgitm_type,
        "chrgitm_lv": item.chrgitm_lv, "lmt_used_flag": item.lmt_used_flag, "list_type": list_type,
        "med_use_flag": "1", "matn_used_flag": "1", "hilist_use_type": "", "lmt_cpnd_type": "",
        "wubi": d.get("五笔助记码", ""), "pinyin": d.get("拼音助记码", ""), "memo": d.get("备注", "")})
    if item.pric_uplmt_amt is not None:
        out[("1318", item.code)] = (item.name, {
            "hilist_code": item.code, "hilist_lmtpric_type": item.lmtpric_type or "",
            "overlmt_dspo_way": item.overlmt_dspo_way or "", **span,
            "hilist_pric_uplmt_amt": str(item.pric_uplmt_amt), "tabname": ""})
    for insutype, ratio in sorted(item.selfpay_prop.items()):
        if ratio:  # an item without a first self-pay has no 1319 row
            psn_type = "" if insutype == "*" else insutype
            out[("1319", f"{item.code}|{insutype}")] = (item.name, {
                "hilist_code": item.code, "selfpay_prop_psn_type": psn_type, "selfpay_prop_type": "", **span,
                "selfpay_prop": _ratio(ratio), "tabname": ""})
    return out


def wanted(region: RegionDoc) -> dict[Key, tuple[str, dict[str, Any]]]:
    """Every row the region's document publishes: its catalog items (their download and the 1312/1318/1319
    rows), its chronic/special diseases (1309) and its `downloads` lists."""
    out: dict[Key, tuple[str, dict[str, Any]]] = {}
    for item in region.catalog:
        out.update(_item_rows(region.admdvs, item))
    for disease in region.diseases:
        out[("1309", disease.code)] = (disease.name, cf.content("1309", disease.code, disease.name, {},
                                                                admdvs=region.admdvs))
    for infno, rows in region.downloads.items():
        for row in rows:
            out[(infno, row.code)] = (row.name, cf.content(infno, row.code, row.name, row.details))
    return out


def next_version(session: Session) -> int:
    """A number larger than any drawn before: the reference-version counter moved on by one. Its row lock (held
    to the commit) orders concurrent loads."""
    session.flush()
    session.execute(update(m.ReferenceVersion).where(m.ReferenceVersion.id == 1)
                    .values(n=m.ReferenceVersion.n + 1))
    n = session.scalar(select(m.ReferenceVersion.n).where(m.ReferenceVersion.id == 1))
    if n is None:  # the counter row was emptied (tests): start above every published version
        n = (session.scalar(select(func.max(m.CatalogRow.ver))) or 0) + 1
        session.add(m.ReferenceVersion(id=1, n=n))
    return int(n)


def stamp(session: Session, regions: Mapping[str, Mapping[Key, tuple[str, dict[str, Any]]]], now: datetime,
          count: Any) -> int:
    """Publish the regions' rows; `count(table, kind)` tallies the load report. Returns the version drawn, or 0
    when nothing changed."""
    changed: list[m.CatalogRow] = []
    for admdvs, rows in regions.items():
        have = {(r.infno, r.code): r for r in session.scalars(select(m.CatalogRow).where(
            m.CatalogRow.admdvs == admdvs))}
        for (infno, code), (name, fields) in rows.items():
            fp = cf.fingerprint(fields)
            row = have.get((infno, code))
            if row is None:
                row = m.CatalogRow(admdvs=admdvs, infno=infno, code=code, name=name, fields=fields, fingerprint=fp,
                                   vali_flag="1", rid=cf.record_id(admdvs, infno, code), ver=0, ver_name="",
                                   crte_time=now, updt_time=now)
                session.add(row)
                count("catalog_rows", 0)
            elif row.fingerprint != fp or row.vali_flag != "1" or row.name != name:
                row.name, row.fields, row.fingerprint, row.vali_flag = name, fields, fp, "1"
                count("catalog_rows", 1)
            else:
                continue
            changed.append(row)
        for key, row in have.items():
            if key not in rows and row.vali_flag == "1":
                row.vali_flag = "0"
                count("catalog_rows", 1)
                changed.append(row)
    if not changed:
        return 0
    ver = next_version(session)
    for row in changed:
        row.ver, row.ver_name, row.updt_time = ver, f"yibao {now:%Y-%m-%d} v{ver}", now
    return ver
