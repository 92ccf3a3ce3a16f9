"""2001 人员待遇享受检查: what the desk is told before it registers a visit, one finding per row.

Pure: the facts a use case gathered (platform/entitlement.py) in, findings and their wire rows out. A finding
says whether the person enjoys the fund's benefit (trt_enjymnt_flag 1) or not (0, with the reason in
trt_chk_rslt) for one item checked:

- insu_stas: insured under the insurance type asked, from the day asked, benefits not suspended (always a row);
- suspension: the treatment region's agency suspended direct settlement of the person here (a row each);
- arrears: contributions in arrears (a row when he is; the pooled fund still pays, family mutual aid does not
  for pooled benefits: seed 001 五(一));
- xregion: a case of another region: the institution's qualification and its cross-region agreement;
- filing: the cross-region filing, where one is needed (a covering filing, or why none covers);
- designated: the institution the person chose (2505), where his insured region requires one;
- disease: each chronic/special disease recognised on the day, and for med_type 14 the disease named.

Rows are the national shape (interface-integration.md section 5) plus yibao's `chk_item` naming the item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

#: 待遇检查类型: 01 a check of a fund's benefit, 99 anything else (one public client's constants)
TRT_CHK_FUND, TRT_CHK_OTHER = "01", "99"
ENJOYS, DOES_NOT = "1", "0"
CHRONIC = "14"


@dataclass(frozen=True)
class Finding:
    item: str
    enjoys: bool
    begndate: date | None
    enddate: date | None
    text: str
    trt_chk_type: str = TRT_CHK_FUND


@dataclass(frozen=True)
class Recognised:
    """A chronic/special disease recognised for the person (2503 or the dataset)."""

    code: str
    name: str
    since: date | None
    until: date | None


def fund_pay_type(insutype: str) -> str:
    """The pooled fund of an insurance type: 310 -> 310100 职工统筹, 390 -> 390100 居民, 510 -> 510100 生育 (the
    national codes follow the insurance type and end in 100)."""
    return insutype + "100"


def inpatient(med_type: str) -> bool:
    """住院 (21-29) and 生育住院 (52, 5212): settled as a stay, with the insured region's catalog in province."""
    return med_type.startswith("2") or med_type.startswith("52")


def insurance_status(*, asked: str, held: str, insu_date: date | None, suspended: bool, day: date) -> Finding:
    if asked != held:
        return Finding("insu_stas", False, day, None, f"the person is insured under {held}, not {asked}")
    if insu_date is not None and day < insu_date:
        return Finding("insu_stas", False, day, None, f"insured under {held} from {insu_date}, after {day}")
    if suspended:
        return Finding("insu_stas", False, insu_date or day, None,
                       "benefits suspended (psn_insu_stas 2): settlement is refused until the insured region "
                       "lifts the suspension")
    return Finding("insu_stas", True, insu_date or day, None, f"insured under {held}, benefits normal")


def suspensions(rows: list[tuple[date, str]], treatment_admdvs: str) -> list[Finding]:
    """The treatment region's suspensions of direct settlement still in force (since, reason)."""
    return [Finding("suspension", False, since, None,
                    f"direct settlement in region {treatment_admdvs} suspended by its agency ({reason}); settle "
                    "after it is lifted, or claim at the insured region")
            for since, reason in rows]


def arrears(*, in_arrears: bool, unpaid: list[str], med_type: str, day: date, pooled: bool) -> Finding | None:
    """A row only when the person is in arrears. The pooled fund is not withheld for arrears here; family
    mutual aid is where the insured region withholds it for this benefit (`pooled`: its
    arrears_blocks_mutual_aid names it)."""
    if not in_arrears:
        return None
    months = f" (unpaid: {', '.join(unpaid)})" if unpaid else ""
    effect = ("family mutual aid is not used for this benefit (the insured region withholds it in arrears)"
              if pooled else f"family mutual aid is still used for med_type {med_type}")
    return Finding("arrears", True, day, None, f"contributions in arrears{months}; {effect}", TRT_CHK_OTHER)


def verdict(item: str, problem: str | None, *, day: date, ok_text: str, begndate: date | None = None,
            enddate: date | None = None) -> Finding:
    """A finding from a settlement check: `problem` is its refusal (None: it passes)."""
    if problem:
        return Finding(item, False, day, None, problem)
    return Finding(item, True, begndate or day, enddate, ok_text)


def diseases(*, med_type: str, dise_codg: str, recognised: list[Recognised], day: date,
             problem: str | None) -> list[Finding]:
    """Each recognition in force on the day; for a chronic/special-disease visit (14) also the disease named,
    `problem` being the settlement check's refusal of it."""
    live = [r for r in recognised if (r.since is None or r.since <= day) and (r.until is None or day <= r.until)]
    found = [Finding("disease", True, r.since or day, r.until, f"{r.code} {r.name}".strip() + " recognised")
             for r in live]
    if problem:
        found.append(Finding("disease", False, day, None, problem))
    elif med_type.startswith(CHRONIC) and dise_codg and not any(r.code == dise_codg for r in live):
        found.append(Finding("disease", False, day, None, f"{dise_codg} is not recognised for this person"))
    return found


def rows(psn_no: str, insutype: str, findings: list[Finding]) -> list[dict[str, Any]]:
    """trtinfo[]: the national fields, dates as yyyy-MM-dd, and yibao's chk_item."""
    fund = fund_pay_type(insutype)
    return [{"psn_no": psn_no, "trt_chk_type": f.trt_chk_type, "fund_pay_type": fund,
             "trt_enjymnt_flag": ENJOYS if f.enjoys else DOES_NOT,
             "begndate": f.begndate.isoformat() if f.begndate else "",
             "enddate": f.enddate.isoformat() if f.enddate else "",
             "trt_chk_rslt": f.text[:500], "chk_item": f.item} for f in findings]


def enjoys(findings: list[Finding]) -> bool:
    """Whether nothing found stops the benefit (what a desk reads before it registers)."""
    return all(f.enjoys for f in findings)
