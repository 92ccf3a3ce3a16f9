"""Which catalog and which policy a settlement uses (rules.md section 2), and the institution's
qualification for the case (section 6). Pure: region codes in, decisions out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from yibao.codes import province

LOCAL, INPROV, XPROV = "local", "in_province", "cross_province"


@dataclass(frozen=True)
class Case:
    kind: str  # local | in_province | cross_province
    catalog_admdvs: str
    policy_admdvs: str
    pay_loc: str  # 2 institution (local), 3 in-province cross-region, 4 cross-province


def settlement_case(insured: str, treatment: str, inpatient: bool) -> Case:
    if insured == treatment:
        return Case(LOCAL, treatment, insured, "2")
    if province(insured) == province(treatment):
        return Case(INPROV, insured if inpatient else treatment, insured, "3")
    return Case(XPROV, treatment, insured, "4")


QUALIFIES = {LOCAL: ("none", "provincial", "national"), INPROV: ("provincial", "national"), XPROV: ("national",)}


def qualification_problem(case: Case, xregion: str) -> str | None:
    if xregion in QUALIFIES[case.kind]:
        return None
    needed = " or ".join(QUALIFIES[case.kind])
    kind = case.kind.replace("_", "-")
    return f"the institution's cross-region qualification is {xregion}; {kind} cases need {needed}"


@dataclass(frozen=True)
class PolicyRow:
    id: int
    insutype: str
    med_types: tuple[str, ...]
    hosp_lv: tuple[str, ...] | None
    bucket: str
    deductible: Decimal
    ratio: Decimal
    annual_cap: Decimal
    acct_scope: str
    valid_from: date | None
    valid_to: date | None
    switch: str | None


def choose_policy(rows: list[PolicyRow], insutype: str, med_type: str, hosp_lv: str | None, on: date,
                  switches_on: set[str]) -> PolicyRow | str:
    """The row serving (insutype, med_type, level) on a date, or why there is none.

    A row under a switch applies only while the switch is on, and then wins over the ordinary row;
    a row naming levels wins over a row for all levels.
    """
    fitting = [r for r in rows
               if r.insutype == insutype and med_type in r.med_types
               and (r.hosp_lv is None or (hosp_lv is not None and hosp_lv in r.hosp_lv))
               and (r.valid_from is None or r.valid_from <= on) and (r.valid_to is None or on <= r.valid_to)
               and (r.switch is None or r.switch in switches_on)]
    if not fitting:
        return (f"no policy row for insutype {insutype}, med_type {med_type}, institution level {hosp_lv or '-'} "
                f"in force on {on}")
    best = max(fitting, key=lambda r: (r.switch is not None, r.hosp_lv is not None))
    rivals = [r for r in fitting if (r.switch is not None, r.hosp_lv is not None) ==
              (best.switch is not None, best.hosp_lv is not None)]
    if len(rivals) > 1:
        return f"policy rows {sorted(r.id for r in rivals)} all serve insutype {insutype}, med_type {med_type}"
    return best
