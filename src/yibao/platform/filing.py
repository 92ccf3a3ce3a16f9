"""Cross-region filing (异地备案): making, changing (new versions) and cancelling filings, and how they read.

Rules: rules.md section 6; seed 004 art. 6-9 (types, validity, changes); seed 003 异地备案登记 (a province code
means every institution of that province; dialysis is filed to one institution). Whether a settlement needs a
filing and whether one covers it is `rules.filing` / `platform.crossregion.check_filing`; this module makes sure
that what is filed can be read by those rules the way the seeds mean it.

Every act is one unit of work (the caller's). A refusal names the field and the rule with its figures; callers
name the fields in their own terms (`fields`: the API says `end`, 2505 says `input.data.enddate`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.codes import FILING_TYPES, province
from yibao.errors import Refusal, refuse
from yibao.rules import region_settings
from yibao.rules.filing import EMERGENCY_DAYS, FilingTerms, ReferralCap, dialysis_filing_problem, valid_until
from yibao.rules.selection import qualification_problem, settlement_case
from yibao.store.models import Filing, Institution, Person, Region

TYPE_NAMES = {
    "retired_resettled": "异地安置退休",
    "long_term_resident": "异地长期居住",
    "posted_worker": "常驻异地工作",
    "referral": "异地转诊",
    "emergency": "临时外出急诊",
    "other": "其他临时外出就医",
}
#: provinces, autonomous regions and municipalities by the first two digits of their codes (GB/T 2260)
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43",
    "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
})
#: the field names a refusal uses, by default (the JSON API's)
FIELDS = {name: name for name in ("psn_no", "type", "dest_admdvs", "dest_fixmedins", "start", "end", "replaces_id",
                                  "id", "dise_codg")}


def _is_province_code(code: str) -> bool:
    return code.endswith("0000")


def _inside(code: str, insured: str) -> bool:
    """Whether a region code lies in the insured region (itself, a district of it, or anywhere in it when the
    insured region is a whole province)."""
    if code == insured:
        return True
    if _is_province_code(insured):
        return province(code) == province(insured)
    return code[:4] == insured[:4] and not _is_province_code(code) and not code.endswith("00")


def _label(f: Mapping[str, str], name: str) -> str:
    return f.get(name, name)


def file(session: Session, psn_no: str, type: str, dest_admdvs: str | None, dest_fixmedins: str | None,
         start: date, end: date | None, *, now: datetime, today: date, actor: str, replaces_id: int | None = None,
         memo: str = "", source: str = "api", fields: Mapping[str, str] | None = None,
         dise_codg: str | None = None) -> Filing:
    """Record a filing (a new version of `replaces_id` when given), refusing with every broken rule."""
    f = {**FIELDS, **(fields or {})}
    # the person's row is locked: two filings at once are checked against each other (uq_filings_active_twin)
    person = session.get(Person, psn_no, with_for_update=True)
    if person is None:
        raise refuse(_label(f, "psn_no"), f"no insured person {psn_no}")
    old: Filing | None = None
    if replaces_id is not None:
        old = session.scalars(select(Filing).where(Filing.id == replaces_id).with_for_update()).first()
        if old is None or old.psn_no != psn_no:
            raise refuse(_label(f, "replaces_id"), f"no filing {replaces_id} of person {psn_no}")
        if old.status != "active":
            raise refuse(_label(f, "replaces_id"), f"filing {old.id} is {old.status}: only an active filing is "
                                                   "changed (a change is a new version of it, seed 004 art. 9)")
    region = session.get(Region, person.admdvs)
    problems: list[tuple[str, str]] = []
    if type not in FILING_TYPES:
        problems.append((_label(f, "type"), f"{type!r} is not a filing type; one of {', '.join(FILING_TYPES)}"))
    problems += _destination_problems(session, person, dest_admdvs or None, dest_fixmedins or None, f)
    if type in FILING_TYPES:
        end, window = _window(type, start, end, today, region, f)
        problems += window
    dialysis = dialysis_filing_problem(dise_codg, dest_fixmedins or None, ((region.settings or {}) if region else {})
                                       .get(region_settings.DIALYSIS))
    if dialysis:
        problems.append((_label(f, "dest_fixmedins"), dialysis))
    if problems:
        raise Refusal("; ".join(f"{field}: {rule}" for field, rule in problems))
    twin = session.scalars(select(Filing).where(
        Filing.psn_no == psn_no, Filing.status == "active", Filing.type == type, Filing.start == start,
        Filing.dest_admdvs.is_(None) if not dest_admdvs else Filing.dest_admdvs == dest_admdvs,
        Filing.dest_fixmedins.is_(None) if not dest_fixmedins else Filing.dest_fixmedins == dest_fixmedins)).first()
    if twin is not None and (old is None or twin.id != old.id):
        raise refuse(_label(f, "type"), f"filing {twin.id} already files {type} from {start} to the same "
                                        "destination; change it (a new version) or cancel it")
    row = Filing(psn_no=psn_no, type=type, dest_admdvs=dest_admdvs or None, dest_fixmedins=dest_fixmedins or None,
                 start=start, end=end, version=(old.version or 1) + 1 if old else 1, status="active",
                 source=source, replaces_id=old.id if old else None, insu_admdvs=person.admdvs, filed_by=actor,
                 created_at=now, memo=memo[:500] or None, dise_codg=dise_codg or None)
    if old is not None:
        old.status = "superseded"
    session.add(row)
    session.flush()
    return row


def _destination_problems(session: Session, person: Person, dest_admdvs: str | None, dest_fixmedins: str | None,
                          f: Mapping[str, str]) -> list[tuple[str, str]]:
    """Exactly one destination: a province (xx0000), a defined region, or one defined institution; never in the
    person's own insured region (seed 003 异地备案登记)."""
    insured = person.admdvs
    if dest_admdvs and dest_fixmedins:
        return [(_label(f, "dest_admdvs"), f"name one destination: a province or region ({dest_admdvs}) or one "
                                           f"institution ({dest_fixmedins}), not both")]
    if not dest_admdvs and not dest_fixmedins:
        return [(_label(f, "dest_admdvs"), "name the destination: a province (xx0000) or a region in dest_admdvs, "
                                           "or one institution in dest_fixmedins (e.g. dialysis)")]
    if dest_admdvs:
        field = _label(f, "dest_admdvs")
        if len(dest_admdvs) != 6 or not dest_admdvs.isdigit():
            return [(field, f"{dest_admdvs!r} is not a region code (6 digits)")]
        if _inside(dest_admdvs, insured):
            return [(field, f"{dest_admdvs} is inside the person's insured region {insured}: a filing is for "
                            "treatment elsewhere")]
        if _is_province_code(dest_admdvs):
            if province(dest_admdvs) not in PROVINCES:
                return [(field, f"{dest_admdvs} names no province")]
        elif session.get(Region, dest_admdvs) is None:
            city = dest_admdvs[:4] + "00"
            hint = f"; file to its pooling region {city}" if session.get(Region, city) is not None else ""
            return [(field, f"region {dest_admdvs} is not a pooling region of the platform{hint}")]
        return []
    field = _label(f, "dest_fixmedins")
    inst = session.get(Institution, dest_fixmedins)
    if inst is None:
        return [(field, f"no designated institution {dest_fixmedins}")]
    if _inside(inst.admdvs, insured):
        return [(field, f"institution {inst.code} is in region {inst.admdvs}, inside the person's insured region "
                        f"{insured}: a filing is for treatment elsewhere")]
    problem = qualification_problem(settlement_case(insured, inst.admdvs, False), inst.xregion)
    if problem:
        return [(field, f"institution {inst.code} cannot serve this person: {problem}")]
    return []


def _window(type: str, start: date, end: date | None, today: date, region: Region | None,
            f: Mapping[str, str]) -> tuple[date | None, list[tuple[str, str]]]:
    """The end to record and the problems of the validity window (seed 004 art. 7)."""
    s_field, e_field = _label(f, "start"), _label(f, "end")
    a = f"a filing of type {type} ({TYPE_NAMES[type]})"
    if type == "retired_resettled":
        if end is not None:
            return end, [(e_field, f"{a} is valid without end (seed 004 art. 7 (一)); {end} was given: leave it "
                                   "empty")]
        return None, []
    if type == "emergency":
        last = start + timedelta(days=EMERGENCY_DAYS - 1)
        problems = []
        if start > today:
            problems.append((s_field, f"{a} starts on the first outpatient date and may be made after the visit, not "
                                      f"before it: {start} is after today {today} (seed 004 art. 7 (五) 1)"))
        if end is not None and end != last:
            problems.append((e_field, f"{a} is valid {EMERGENCY_DAYS} days from its start ({start} to {last}, seed "
                                      f"004 art. 7 (五) 1); {end} was given: leave it empty"))
        return last, problems
    if end is None:
        why = {"long_term_resident": "the end of the residence proof or of the personal commitment (seed 004 "
                                     "art. 7 (二))",
               "posted_worker": "the end of the posting proof, the work certificate or contract, or of the personal "
                                "commitment (seed 004 art. 7 (三))",
               "referral": "the end of the referral, within the insured region's maximum (seed 004 art. 7 (四))",
               "other": "the end the insured region's rules give (seed 004 art. 7 (五) 2)"}[type]
        return None, [(e_field, f"{a} needs an end: {why}")]
    if end < start:
        return end, [(e_field, f"{end} is before the start {start}")]
    cap = referral_cap(region) if type == "referral" else None
    last = cap.last_day(start) if cap is not None and region is not None else None
    if region is not None and last is not None and end > last:
        days = (end - start).days + 1
        return end, [(e_field, f"{a} of insured region {region.admdvs} ({region.name}) is valid at most {cap}: "
                               f"from {start} the last day is {last}; {end} would make {days} days")]
    return end, []


def get(session: Session, filing_id: int, *, lock: bool = False) -> Filing | None:
    q = select(Filing).where(Filing.id == filing_id)
    return session.scalars(q.with_for_update() if lock else q).first()


def cancel(session: Session, filing_id: int, *, now: datetime, actor: str, memo: str = "",
           field: str = "id") -> Filing:
    """Cancel an active filing (it covers nothing from now on); who may cancel is the caller's check."""
    row = get(session, filing_id, lock=True)
    if row is None:
        raise refuse(field, f"no filing {filing_id}")
    if row.status != "active":
        raise refuse(field, f"filing {row.id} is {row.status}; only an active filing is cancelled")
    row.status, row.cancelled_at = "cancelled", now
    note = f"cancelled by {actor}" + (f": {memo}" if memo else "")
    row.memo = (f"{row.memo}; {note}" if row.memo else note)[:500]
    return row


def mine(session: Session, psn_no: str) -> list[Filing]:
    """A person's filings, every version and status, oldest first."""
    return list(session.scalars(select(Filing).where(Filing.psn_no == psn_no).order_by(Filing.id)))


def of_region(session: Session, admdvs: str, *, status: str | None = None, psn_no: str | None = None) -> list[Filing]:
    """The filings of the persons insured in a region (what its agency sees)."""
    q = select(Filing).join(Person, Person.psn_no == Filing.psn_no).where(Person.admdvs == admdvs)
    if status:
        q = q.where(Filing.status == status)
    if psn_no:
        q = q.where(Filing.psn_no == psn_no)
    return list(session.scalars(q.order_by(Filing.id)))


def referral_cap(region: Region | None) -> ReferralCap | None:
    """The insured region's longest referral filing: its settings.referral_filing_max_months, else its
    referral_filing_max_days; None: no cap."""
    if region is None:
        return None
    months = (region.settings or {}).get(region_settings.REFERRAL_MONTHS)
    if not months and not region.referral_filing_max_days:
        return None
    return ReferralCap(region.referral_filing_max_days, months or None)


def referral_max(session: Session, psn_no: str) -> ReferralCap | None:
    person = session.get(Person, psn_no)
    return referral_cap(session.get(Region, person.admdvs) if person else None)


def last_day(filing: Filing, referral_max: ReferralCap | None) -> date | None:
    """The last day the filing covers (rules.filing.valid_until); None: no end."""
    return valid_until(FilingTerms(filing.id, filing.type, filing.dest_admdvs, filing.dest_fixmedins, filing.start,
                                   filing.end), referral_max)


def in_force(filing: Filing, today: date, referral_max: ReferralCap | None = None) -> bool:
    last = last_day(filing, referral_max)
    return filing.status == "active" and filing.start <= today and (last is None or today <= last)


def describe(filing: Filing, today: date, *, referral_max: ReferralCap | None = None) -> dict[str, Any]:
    """A filing as the API shows it; `referral_max` is the insured region's cap on referrals (referral_cap)."""
    return {
        "id": filing.id, "psn_no": filing.psn_no, "type": filing.type, "type_name": TYPE_NAMES.get(filing.type, ""),
        "dest_admdvs": filing.dest_admdvs, "dest_fixmedins": filing.dest_fixmedins, "start": filing.start,
        "end": filing.end, "valid_until": last_day(filing, referral_max),
        "in_force": in_force(filing, today, referral_max), "version": filing.version, "status": filing.status,
        "replaces_id": filing.replaces_id, "insu_admdvs": filing.insu_admdvs, "source": filing.source,
        "filed_by": filing.filed_by, "created_at": filing.created_at, "cancelled_at": filing.cancelled_at,
        "memo": filing.memo or "", "dise_codg": filing.dise_codg,
    }


def describe_all(session: Session, filings: list[Filing], today: date) -> list[dict[str, Any]]:
    maxima: dict[str, ReferralCap | None] = {}
    out = []
    for row in filings:
        if row.psn_no not in maxima:
            maxima[row.psn_no] = referral_max(session, row.psn_no)
        out.append(describe(row, today, referral_max=maxima[row.psn_no]))
    return out
