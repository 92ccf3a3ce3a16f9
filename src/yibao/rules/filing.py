"""Cross-region filing (异地备案) validity and destinations (rules.md section 6; seed 004 art. 6-9).
Pure: plain values in, whether a filing covers a visit (and why not) out."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from yibao.codes import province

EMERGENCY_DAYS = 10  # seed 004 art. 7 (五) 1: ten days from the first outpatient date


@dataclass(frozen=True)
class FilingTerms:
    id: int
    type: str
    dest_admdvs: str | None
    dest_fixmedins: str | None
    start: date
    end: date | None


def months_after(day: date, months: int) -> date:
    """The day `months` calendar months after `day`: the same day of that month, or its last day when it has
    none (31 January + 3 months = 30 April). A period counted in months ends on that day (民法典 第二百零三条)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ReferralCap:
    """The insured region's longest referral filing: `months` calendar months (settings.referral_filing_max_months,
    揭阳 揭医保〔2021〕82号 "不超3个月"), else `days` days counting the first (referral_filing_max_days)."""

    days: int | None = None
    months: int | None = None

    def last_day(self, start: date) -> date | None:
        if self.months:
            return months_after(start, self.months)
        if self.days:
            return start + timedelta(days=self.days - 1)
        return None

    def __str__(self) -> str:
        if self.months:
            return (f"{self.months} calendar month(s) (揭阳 揭医保〔2021〕82号 不超3个月, the region's "
                    "settings.referral_filing_max_months)")
        return f"{self.days} days (seed 004 art. 7 (四), the region's referral_filing_max_days)"


def valid_until(f: FilingTerms, referral_max: ReferralCap | None) -> date | None:
    """The last day a filing covers; None: no end (retired and resettled)."""
    if f.type == "emergency":
        return f.start + timedelta(days=EMERGENCY_DAYS - 1)
    cap = referral_max.last_day(f.start) if f.type == "referral" and referral_max else None
    if cap is not None:
        return cap if f.end is None or f.end > cap else f.end
    if f.type == "retired_resettled":
        return f.end  # normally None: long-term valid
    return f.end


def destination_covers(f: FilingTerms, treatment_admdvs: str, fixmedins_code: str) -> bool:
    """A province (xx0000), a city, or one institution (e.g. dialysis, seed 003)."""
    if f.dest_fixmedins:
        return f.dest_fixmedins == fixmedins_code
    if not f.dest_admdvs:
        return False
    if f.dest_admdvs.endswith("0000"):
        return province(f.dest_admdvs) == province(treatment_admdvs)
    return f.dest_admdvs == treatment_admdvs


def covers(f: FilingTerms, *, treatment_admdvs: str, fixmedins_code: str, visit_day: date,
           referral_max: ReferralCap | None) -> str | None:
    """None if the filing covers the visit, else why not. For a stay, `visit_day` is the admission day: so an
    emergency filing covers an admission that begins within its ten days to the end of that stay
    (art. 7 (五) 1)."""
    if not destination_covers(f, treatment_admdvs, fixmedins_code):
        where = f"institution {f.dest_fixmedins}" if f.dest_fixmedins else f"region {f.dest_admdvs}"
        return f"filing {f.id} ({f.type}) is for {where}, not {fixmedins_code} in {treatment_admdvs}"
    if visit_day < f.start:
        return f"filing {f.id} ({f.type}) starts {f.start}, after the visit on {visit_day}"
    last = valid_until(f, referral_max)
    if last is not None and visit_day > last:
        return f"filing {f.id} ({f.type}) ended {last}, before the visit on {visit_day}"
    return None


def filing_needed(same_province: bool, inprov_filing_required: bool) -> bool:
    """Cross-province always; in-province cross-region as the insured region decides (rules.md 6)."""
    return (not same_province) or inprov_filing_required


def agreement_open(changes: list[tuple[date, str]], on: date) -> bool:
    """Whether an institution's cross-region agreement is in force on a day: the last change effective on or
    before it decides (opened / resumed: yes; suspended / ended: no); with no change, it is."""
    current = [change for effective, change in sorted(changes) if effective <= on]
    return not current or current[-1] in ("opened", "resumed")


DIALYSIS_SOURCE = "异地门特血液透析需备案到定点医疗机构 (中山大学附属第七医院《医保移动支付开发需求书》)"


def dialysis_filing_problem(dise_codg: str | None, dest_fixmedins: str | None,
                            dialysis_codes: list[str] | None) -> str | None:
    """A filing for a dialysis disease names one institution, not a region."""
    if dise_codg and dise_codg in (dialysis_codes or []) and not dest_fixmedins:
        return f"a filing for {dise_codg}, a dialysis disease, names one institution: {DIALYSIS_SOURCE}"
    return None


def dialysis_problem(dise_codg: str | None, dialysis_codes: list[str] | None, filed_to: list[str],
                     fixmedins_code: str) -> str | None:
    """A dialysis disease is settled across regions only at an institution the person is filed to (`filed_to`:
    the institutions of his filings covering the visit day)."""
    if not dise_codg or dise_codg not in (dialysis_codes or []) or fixmedins_code in filed_to:
        return None
    where = f"he is filed to {', '.join(sorted(set(filed_to)))}" if filed_to else "he is filed to no institution"
    return (f"{dise_codg} is a dialysis disease: across regions it is settled only at the institution the person is "
            f"filed to, and {where}, not {fixmedins_code}: {DIALYSIS_SOURCE}")


ECREDENTIAL = "01"


def ecredential_account_problem(activated: bool, cross_region: bool, mdtrt_cert_type: str) -> str | None:
    """Why a person settling in another region by e-credential pays nothing from his personal account: it is not
    activated (粤医保规〔2021〕4号 第三十九条: 参保人员需先激活医保电子凭证). None when he may."""
    if activated or not cross_region or mdtrt_cert_type != ECREDENTIAL:
        return None
    return ("personal account not used: across regions the account pays by e-credential only once the person "
            "has activated it (粤医保规〔2021〕4号 第三十九条); the rest is paid in cash")
