"""The parts of CHANGES.yaml written as a dataset writes them (dataset.md), checked by the dataset's own
validation (dataset/validate.py: its schema, then its cross checks) so a wrong value is refused with the rule and
the path a dataset would give, rooted at the change document instead of at `regions[0]`:

    catalog:             # rows of the region's catalog (a dataset's regions[].catalog[]): the code, then the
      - code: XC10AAA067A001        # fields that change; the others stay as stored
        selfpay_prop: "0.30"
        from: 2026-03-10 # optional: settlements from this day on
    region:              # the region's own settings (a dataset's regions[] keys) a replay can price
      acct_bookkeeping: false
      settings: {resident_mutual_aid_med_types: ["11"]}
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from yibao.dataset.validate import Known, Problem, cross_check, parse
from yibao.errors import Refusal, refuse
from yibao.rules import region_settings

#: stand-ins for the fields of a catalog row a change leaves out, each valid, so only the fields given can fail
STAND_INS = {"name": "-", "chrgitm_lv": "01", "selfpay_prop": "0", "med_chrgitm_type": "09"}
#: the region settings a replay prices: they move a settlement's amounts; the others decide who may settle or
#: bind, which a replay of settlements made does not decide again
PRICED = ("acct_bookkeeping", "settings")
PRICED_SETTINGS = (region_settings.RESIDENT_MED_TYPES,)
ROOT = "regions[0]."


@dataclass(frozen=True)
class CatalogChange:
    code: str
    fields: dict[str, Any]  # the dataset field -> its checked value, for the fields given
    since: date | None
    field: str  # where it was written, for refusals: catalog[0]


@dataclass(frozen=True)
class RegionChange:
    acct_bookkeeping: bool | None = None
    resident_med_types: tuple[list[str] | None, bool] = (None, False)  # (the setting, whether it is given)


def parse_parts(catalog: list[dict[str, Any]], region: dict[str, Any] | None,
                day: Any) -> tuple[tuple[CatalogChange, ...], RegionChange | None]:
    """`day(item, where)`: the changes' own reading of an optional `from` day."""
    since = [day(item, f"catalog[{i}]") for i, item in enumerate(catalog)]
    rows = [{k: v for k, v in item.items() if k != "from"} for item in catalog]
    for i, row in enumerate(rows):
        if "code" not in row:
            raise refuse(f"catalog[{i}].code", "is required")
    fragment: dict[str, Any] = {"admdvs": "000000", "name": "-", **(region or {}),
                                "catalog": [{**STAND_INS, **row} for row in rows]}
    doc, problems = parse({"regions": [fragment]})
    if doc is not None:
        problems = cross_check(doc, Known())
    if problems:
        raise Refusal("; ".join(str(_rooted(p)) for p in problems))
    assert doc is not None
    items = doc.regions[0].catalog
    changes = tuple(CatalogChange(row["code"], {k: getattr(items[i], k) for k in row if k != "code"}, since[i],
                                  f"catalog[{i}]") for i, row in enumerate(rows))
    return changes, _region(region, doc.regions[0].acct_bookkeeping) if region else None


def _rooted(p: Problem) -> Problem:
    """A dataset's path of the fragment as the change document's: regions[0].catalog[1] -> catalog[1],
    regions[0].settings.x -> region.settings.x."""
    path = p.path
    if path.startswith(ROOT + "catalog"):
        return Problem(path.removeprefix(ROOT), p.rule)
    if path.startswith(ROOT):
        return Problem("region." + path.removeprefix(ROOT), p.rule)
    return p


def _region(region: dict[str, Any], acct_bookkeeping: bool) -> RegionChange:
    for key in region:
        if key not in PRICED:
            raise refuse(f"region.{key}", _unpriced())
    settings = region.get("settings") or {}
    for key in settings:
        if key not in PRICED_SETTINGS:
            raise refuse(f"region.settings.{key}", _unpriced())
    given = region_settings.RESIDENT_MED_TYPES in settings
    return RegionChange(acct_bookkeeping if "acct_bookkeeping" in region else None,
                        (settings.get(region_settings.RESIDENT_MED_TYPES), given))


def _unpriced() -> str:
    return ("is not a setting a replay prices: it decides who may settle or bind, not a settlement's amounts "
            f"(the settings priced: {', '.join(PRICED[:1])}, "
            f"{', '.join('settings.' + s for s in PRICED_SETTINGS)})")
