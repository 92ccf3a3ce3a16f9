"""CHANGES.yaml: the policy changes a what-if replays a month under (docs/whatif.md). Parsed whole and checked
against the policy columns; every wrong part is refused naming its field and the rule it breaks.

    policies:            # change the terms of the region's policy rows that match every selector given
      - insutype: "310"  # selectors: policy_id, insutype, med_type, bucket, hosp_lv
        med_type: "11"
        from: 2026-03-10 # optional: settlements from this day on (default: the whole month)
        deductible: "50.00"   # the policy columns: deductible, ratio, annual_cap, acct_scope
    switches:            # a region switch (a preset benefit) on or off from a day
      - {name: epidemic_outpatient, "on": true, from: 2026-03-15}
    mutual_aid:          # family mutual aid withheld for the settlements matching the selectors
      - {insutype: "390", med_type: "11", withheld: true}
    catalog: [...]       # changed catalog rows and region settings, as a dataset writes them (dataset_parts.py)
    region: {...}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import yaml

from yibao.codes import MED_TYPE, PERSON_INSUTYPES
from yibao.errors import refuse
from yibao.money import money, to_decimal
from yibao.whatif.dataset_parts import CatalogChange, RegionChange, parse_parts

#: the columns of a policy row a change may set, and what a value must be
POLICY_COLUMNS = ("deductible", "ratio", "annual_cap", "acct_scope")
SELECTORS = ("policy_id", "insutype", "med_type", "bucket", "hosp_lv")
ACCT_SCOPES = ("all", "policy")
PARTS = ("policies", "switches", "mutual_aid", "catalog", "region")
MAX_AMOUNT = Decimal("9999999999.99")  # what a money column holds


@dataclass(frozen=True)
class Selector:
    policy_id: int | None = None
    insutype: str | None = None
    med_type: str | None = None
    bucket: str | None = None
    hosp_lv: str | None = None
    since: date | None = None

    def fits_row(self, policy_id: int, insutype: str, med_types: tuple[str, ...], bucket: str,
                 hosp_lv: tuple[str, ...] | None) -> bool:
        return ((self.policy_id is None or self.policy_id == policy_id)
                and (self.insutype is None or self.insutype == insutype)
                and (self.med_type is None or self.med_type in med_types)
                and (self.bucket is None or self.bucket == bucket)
                and (self.hosp_lv is None or hosp_lv is None or self.hosp_lv in hosp_lv))


@dataclass(frozen=True)
class PolicyChange:
    where: Selector
    terms: dict[str, Any]  # column -> new value (Decimal, or str for acct_scope)
    field: str  # where it was written, for refusals: policies[0]


@dataclass(frozen=True)
class SwitchChange:
    name: str
    on: bool
    since: date | None
    field: str


@dataclass(frozen=True)
class AidChange:
    insutype: str | None
    med_type: str | None
    since: date | None


@dataclass(frozen=True)
class Changes:
    policies: tuple[PolicyChange, ...] = ()
    switches: tuple[SwitchChange, ...] = ()
    mutual_aid: tuple[AidChange, ...] = field(default_factory=tuple)
    catalog: tuple[CatalogChange, ...] = ()
    region: RegionChange | None = None

    @property
    def empty(self) -> bool:
        return not (self.policies or self.switches or self.mutual_aid or self.catalog or self.region)


def load(text: str) -> Changes:
    """CHANGES.yaml's text (or JSON, a YAML subset) parsed and checked; empty text changes nothing."""
    try:
        doc = yaml.safe_load(text) if text.strip() else None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a day that does not exist (2026-02-30)
        raise refuse("changes", f"is not YAML: {str(exc).splitlines()[0]}") from None
    return parse(doc)


def parse(doc: Any) -> Changes:
    if doc is None:
        return Changes()
    if not isinstance(doc, dict):
        raise refuse("changes", f"must be a mapping with {', '.join(PARTS)}, not {type(doc).__name__}")
    unknown = [k for k in doc if k not in PARTS]
    if unknown:
        raise refuse(f"changes.{unknown[0]}", f"is not a part of a change document (its parts: {', '.join(PARTS)})")
    region = doc.get("region")
    if region is not None and not isinstance(region, dict):
        raise refuse("region", "must be a mapping of the region's settings, as a dataset's regions[] entry")
    catalog, region_change = parse_parts(_items(doc, "catalog"), region or None, _day)
    return Changes(
        tuple(_policy(item, f"policies[{i}]") for i, item in enumerate(_items(doc, "policies"))),
        tuple(_switch(item, f"switches[{i}]") for i, item in enumerate(_items(doc, "switches"))),
        tuple(_aid(item, f"mutual_aid[{i}]") for i, item in enumerate(_items(doc, "mutual_aid"))),
        catalog, region_change)


def _items(doc: dict[str, Any], part: str) -> list[dict[str, Any]]:
    items = doc.get(part) or []
    if not isinstance(items, list):
        raise refuse(part, "must be a list of changes")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise refuse(f"{part}[{i}]", "must be a mapping of fields")
    return items


def _only(item: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None:
    for key in item:
        if key not in allowed:
            raise refuse(f"{where}.{key}", f"is not a field here (the fields: {', '.join(allowed)})")


def _day(item: dict[str, Any], where: str) -> date | None:
    value = item.get("from")
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        if isinstance(value, datetime) or not isinstance(value, str):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise refuse(f"{where}.from", f"must be a day YYYY-MM-DD, not {value!r:.40}") from None


def _code(item: dict[str, Any], where: str, key: str, codes: Any) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value not in codes:
        raise refuse(f"{where}.{key}", f"must be one of {', '.join(sorted(codes))} (a quoted string), "
                                       f"not {value!r:.40}")
    return value


def _selector(item: dict[str, Any], where: str) -> Selector:
    policy_id = item.get("policy_id")
    if policy_id is not None and (isinstance(policy_id, bool) or not isinstance(policy_id, int)):
        raise refuse(f"{where}.policy_id", f"must be a policy row id (a whole number), not {policy_id!r:.40}")
    texts = {}
    for key in ("bucket", "hosp_lv"):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise refuse(f"{where}.{key}", f"must be a quoted string, not {value!r:.40}")
        texts[key] = value
    return Selector(policy_id, _code(item, where, "insutype", PERSON_INSUTYPES),
                    _code(item, where, "med_type", MED_TYPE), texts["bucket"], texts["hosp_lv"], _day(item, where))


def _policy(item: dict[str, Any], where: str) -> PolicyChange:
    _only(item, where, (*SELECTORS, "from", *POLICY_COLUMNS))
    terms: dict[str, Any] = {}
    for key in POLICY_COLUMNS:
        if key in item:
            terms[key] = _term(key, item[key], f"{where}.{key}")
    if not terms:
        raise refuse(where, f"changes nothing: set at least one of the policy columns {', '.join(POLICY_COLUMNS)}")
    return PolicyChange(_selector(item, where), terms, where)


def _term(key: str, value: Any, where: str) -> Decimal | str:
    if key == "acct_scope":
        if value not in ACCT_SCOPES:
            raise refuse(where, f"must be one of {', '.join(ACCT_SCOPES)}, not {value!r:.40}")
        return str(value)
    if isinstance(value, bool) or isinstance(value, float):  # float-ok: a YAML float is refused, not rounded
        raise refuse(where, f"must be a decimal written as a quoted string or a whole number, not {value!r:.40}")
    try:
        amount = to_decimal(value)
    except ValueError:
        raise refuse(where, f"must be a decimal number, not {value!r:.40}") from None
    if amount < 0:
        raise refuse(where, f"must be 0 or more, not {value!r:.40}")
    if amount > MAX_AMOUNT:
        raise refuse(where, f"must be at most {MAX_AMOUNT}, not {value!r:.40}")
    if key == "ratio":
        if amount > 1 or amount.as_tuple().exponent < -4:  # type: ignore[operator]
            raise refuse(where, f"must be a share from 0 to 1 with at most 4 decimals, not {value!r:.40}")
        return amount
    if amount != money(amount):
        raise refuse(where, f"must be an amount in yuan with at most 2 decimals, not {value!r:.40}")
    return money(amount)


def _switch(item: dict[str, Any], where: str) -> SwitchChange:
    _only(item, where, ("name", "on", "from"))
    name, on = item.get("name"), item.get("on")
    if not isinstance(name, str) or not name:
        raise refuse(f"{where}.name", "must name a switch of the region")
    if not isinstance(on, bool):
        raise refuse(f"{where}.on", f"must be true or false, not {on!r:.40}")
    return SwitchChange(name, on, _day(item, where), where)


def _aid(item: dict[str, Any], where: str) -> AidChange:
    _only(item, where, ("insutype", "med_type", "from", "withheld"))
    if item.get("withheld") is not True:
        raise refuse(f"{where}.withheld", "must be true: a replay can withhold the mutual aid a settlement drew, "
                                          "never add aid its record does not hold")
    return AidChange(_code(item, where, "insutype", PERSON_INSUTYPES), _code(item, where, "med_type", MED_TYPE),
                     _day(item, where))
