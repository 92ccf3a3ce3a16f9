"""Whole-document validation: every problem found in one pass, each naming its path and rule."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from yibao import codes
from yibao.dataset.published import problems as catalog_problems
from yibao.dataset.schema import DatasetDoc
from yibao.rules import region_settings
from yibao.rules import sign_in as sign_in_rules
from yibao.rules.filing import dialysis_filing_problem
from yibao.rules.mapping import setting_problem as mapping_setting_problem
from yibao.rules.mutual_aid import scope_problem
from yibao.validation import problems_of


@dataclass(frozen=True)
class Problem:
    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}" if self.path else self.rule


@dataclass(frozen=True)
class Known:
    """What already exists in the database, for references a document may make to earlier loads."""

    regions: frozenset[str] = frozenset()
    institutions: frozenset[str] = frozenset()
    persons: dict[str, tuple[str, str, bool]] | None = None  # psn_no -> (insutype, admdvs, has account)
    certnos: dict[str, str] | None = None  # certno -> psn_no
    ecards: dict[str, str] | None = None  # ecard -> psn_no
    cards: dict[tuple[str, str], str] | None = None  # (admdvs, card_no) -> psn_no
    accounts: dict[str, tuple[Decimal, Decimal | None]] | None = None  # psn_no -> (balance, loaded balance)


def parse(raw: Any) -> tuple[DatasetDoc | None, list[Problem]]:
    if not isinstance(raw, dict):
        return None, [Problem("", "the document must be a mapping with keys regions, institutions, persons...")]
    try:
        return DatasetDoc.model_validate(raw), []
    except ValidationError as exc:
        return None, [Problem(path, rule) for path, rule in problems_of(exc)]


def cross_check(doc: DatasetDoc, known: Known) -> list[Problem]:
    """References and uniqueness across the document and what the database already holds."""
    problems: list[Problem] = []
    add = problems.append
    regions = set(known.regions) | {r.admdvs for r in doc.regions}
    institutions = set(known.institutions) | {i.code for i in doc.institutions}
    persons = dict(known.persons or {})
    persons.update({p.psn_no: (p.insutype, p.admdvs, p.account is not None) for p in doc.persons})

    for key, values in (("regions", [r.admdvs for r in doc.regions]),
                        ("institutions", [i.code for i in doc.institutions]),
                        ("persons", [p.psn_no for p in doc.persons])):
        for value, count in Counter(values).items():
            if count > 1:
                add(Problem(key, f"{value} appears {count} times; each must appear once"))

    for i, region in enumerate(doc.regions):
        here = f"regions[{i}]"
        codes_seen = Counter(item.code for item in region.catalog)
        for j, item in enumerate(region.catalog):
            if codes_seen[item.code] > 1:
                add(Problem(f"{here}.catalog[{j}].code", f"{item.code} appears more than once in this catalog"))
        for j, policy in enumerate(region.policies):
            if policy.from_ and policy.to and policy.to < policy.from_:
                add(Problem(f"{here}.policies[{j}].to", f"ends ({policy.to}) before it starts ({policy.from_})"))
        for key, values in (("diseases", [d.code for d in region.diseases]),
                            ("switches", [sw.name for sw in region.switches])):
            _repeats(add, f"{here}.{key}", values, "code" if key == "diseases" else "name")
        rule_ids = [r.rule_id for r in region.analysis_rules]
        _repeats(add, f"{here}.analysis_rules", rule_ids, "rule_id")
        for j, item in enumerate(region.catalog):
            if item.lmt_cond is not None and f"LMT-{item.code}"[:50] in rule_ids:
                add(Problem(f"{here}.catalog[{j}].lmt_cond", f"its rule LMT-{item.code} is also among analysis_rules"))
        switch_names = {s.name for s in region.switches}
        for j, policy in enumerate(region.policies):
            if policy.switch and region.switches and policy.switch not in switch_names:
                add(Problem(f"{here}.policies[{j}].switch", f"{policy.switch} is not among this region's switches"))
        if "mapping_check" in region.settings:  # catalog mapping (docs/mapping.md)
            why = mapping_setting_problem(region.settings["mapping_check"])
            if why:
                add(Problem(f"{here}.settings.mapping_check", why))

    for i, inst in enumerate(doc.institutions):
        if inst.admdvs not in regions:
            add(Problem(f"institutions[{i}].admdvs", f"region {inst.admdvs} is not defined"))
        if inst.kind == "hospital" and inst.level is None:
            add(Problem(f"institutions[{i}].level", "is required for a hospital (1, 2 or 3)"))

    region_diseases = {r.admdvs: {d.code for d in r.diseases} | set(r.local_only_diseases) for r in doc.regions}
    for key, values in (("certno", [p.certno.upper() for p in doc.persons]),
                        ("ecard", [p.ecard for p in doc.persons if p.ecard])):
        repeated = {v for v, n in Counter(values).items() if n > 1}
        for i, person in enumerate(doc.persons):
            value = getattr(person, key)
            if value and value.upper() in {r.upper() for r in repeated}:
                add(Problem(f"persons[{i}].{key}", "is used by another person; each must be unique"))
    cards = Counter((p.admdvs, p.card_no) for p in doc.persons if p.card_no)
    redefined = {p.psn_no for p in doc.persons}
    for i, person in enumerate(doc.persons):
        here = f"persons[{i}]"
        for key, table, value in (("certno", known.certnos, person.certno.upper()),
                                  ("ecard", known.ecards, person.ecard),
                                  ("card_no", known.cards, (person.admdvs, person.card_no))):
            owner = (table or {}).get(value) if value and (key != "card_no" or person.card_no) else None  # type: ignore[call-overload]
            if owner and owner != person.psn_no and owner not in redefined:
                add(Problem(f"{here}.{key}", f"is already used by person {owner} in the database"))
        _repeats(add, f"{here}.chronic", [c.code for c in person.chronic], "code")
        _repeats(add, f"{here}.contributions", [f"{c.ym}/{c.insutype or person.insutype}"
                                                 for c in person.contributions], "ym")
        stored = (known.accounts or {}).get(person.psn_no)
        if person.account is not None and stored is not None:
            balance, loaded = stored
            delta = person.account.balance - (loaded if loaded is not None else balance)
            if balance + delta < 0:
                add(Problem(f"{here}.account.balance", f"would take the balance below 0 (now {balance}, the stated "
                                                       f"figure changes by {delta})"))
        if person.card_no and cards[(person.admdvs, person.card_no)] > 1:
            add(Problem(f"{here}.card_no", f"is used by another person insured in {person.admdvs}"))
        if person.admdvs not in regions:
            add(Problem(f"{here}.admdvs", f"region {person.admdvs} is not defined"))
        if person.account is not None:
            if person.insutype != codes.EMPLOYEE and not person.account.from_suspended_employment:
                add(Problem(f"{here}.account", "only employees (insutype 310) have a personal account, or a "
                                               "resident whose employee insurance is suspended "
                                               "(from_suspended_employment: true)"))
            if person.account.admdvs not in regions:
                add(Problem(f"{here}.account.admdvs", f"region {person.account.admdvs} is not defined"))
        listed = region_diseases.get(person.admdvs)
        for j, chronic in enumerate(person.chronic):
            if listed and chronic.code not in listed:
                add(Problem(f"{here}.chronic[{j}].code",
                            f"{chronic.code} is not a disease of region {person.admdvs}"))

    doc_settings = {r.admdvs: r.settings for r in doc.regions}
    grant_keys = Counter((g.authorizer, g.beneficiary, g.start) for g in doc.mutual_aid)
    for i, grant in enumerate(doc.mutual_aid):
        here = f"mutual_aid[{i}]"
        if grant_keys[(grant.authorizer, grant.beneficiary, grant.start)] > 1:
            add(Problem(here, "the same authorizer, beneficiary and start appear more than once"))
        for role in ("authorizer", "beneficiary"):
            if getattr(grant, role) not in persons:
                add(Problem(f"{here}.{role}", f"person {getattr(grant, role)} is not defined"))
        if grant.authorizer == grant.beneficiary and grant.relation != "self":
            add(Problem(f"{here}.beneficiary", "an authorizer cannot authorize himself (relation self excepted)"))
        if grant.end and grant.end < grant.start:
            add(Problem(f"{here}.end", f"ends ({grant.end}) before it starts ({grant.start})"))
        giver = persons.get(grant.authorizer)
        taker = persons.get(grant.beneficiary)
        if giver and grant.relation != "self" and not (giver[0] == codes.EMPLOYEE and giver[2]):
            add(Problem(f"{here}.authorizer", "must be an employee (310) with a personal account"))
        settings = doc_settings.get(giver[1], {}) if giver else {}
        why = scope_problem(giver[1], taker[1], settings.get(region_settings.SCOPE) or "province") \
            if giver and taker and grant.relation != "self" else None
        if why:
            add(Problem(f"{here}.beneficiary", why))
        allowed = settings.get(region_settings.BENEFICIARY_INSUTYPES)
        if taker and isinstance(allowed, list) and allowed and taker[0] not in allowed:
            add(Problem(f"{here}.beneficiary", f"insured under {taker[0]}; region {giver[1] if giver else ''} "
                                               f"lets only {' or '.join(allowed)} benefit"))

    filing_keys = Counter((f.psn_no, f.type, f.start, f.dest_admdvs, f.dest_fixmedins) for f in doc.filings)
    for i, filing in enumerate(doc.filings):
        here = f"filings[{i}]"
        if filing_keys[(filing.psn_no, filing.type, filing.start, filing.dest_admdvs, filing.dest_fixmedins)] > 1:
            add(Problem(here, "the same person, type, start and destination appear more than once"))
        if filing.psn_no not in persons:
            add(Problem(f"{here}.psn_no", f"person {filing.psn_no} is not defined"))
        if (filing.dest_admdvs is None) == (filing.dest_fixmedins is None):
            add(Problem(here, "needs exactly one destination: dest_admdvs or dest_fixmedins"))
        if filing.dest_fixmedins and filing.dest_fixmedins not in institutions:
            add(Problem(f"{here}.dest_fixmedins", f"institution {filing.dest_fixmedins} is not defined"))
        if filing.end and filing.end < filing.start:
            add(Problem(f"{here}.end", f"ends ({filing.end}) before it starts ({filing.start})"))
        insured = persons.get(filing.psn_no)
        dialysis = doc_settings.get(insured[1], {}).get(region_settings.DIALYSIS) if insured else None
        why = dialysis_filing_problem(filing.dise_codg, filing.dest_fixmedins, dialysis)
        if why:
            add(Problem(f"{here}.dest_fixmedins", why))
    # the catalog downloads' details and lists (docs/catalogs.md)
    problems.extend(Problem(path, rule) for path, rule in catalog_problems(doc))

    problems.extend(calendar_problems(doc))

    # -- settings.sign_in: which messages need a sign-in in the region (rules/sign_in.py, docs/gateway.md)
    for i, region in enumerate(doc.regions):
        if "sign_in" in region.settings:
            why = sign_in_rules.setting_problem(region.settings["sign_in"])
            if why:
                add(Problem(f"regions[{i}].settings.sign_in", why))
        # the settings of the rules that differ by region (rules/region_settings.py, docs/dataset.md)
        for name, why in region_settings.problems(region.settings):
            add(Problem(f"regions[{i}].settings.{name}", why))
    return problems


def calendar_problems(doc: DatasetDoc) -> list[Problem]:
    """Each listed day in its own year, listed once, never both a holiday and a working day; an adjusted working
    day is a Saturday or Sunday (Monday to Friday are working days anyway)."""
    problems: list[Problem] = []
    for year, days in doc.calendar.items():
        here = f"calendar[{year}]"
        for key, listed in (("holidays", days.holidays), ("workdays", days.workdays)):
            counts = Counter(listed)
            for j, day in enumerate(listed):
                if day.year != year:
                    problems.append(Problem(f"{here}.{key}[{j}]", f"{day} is not in {year}"))
                if counts[day] > 1:
                    problems.append(Problem(f"{here}.{key}[{j}]", f"{day} appears more than once"))
        both = set(days.holidays) & set(days.workdays)
        for j, day in enumerate(days.workdays):
            if day in both:
                problems.append(Problem(f"{here}.workdays[{j}]", f"{day} is also among the holidays"))
            elif day.weekday() < 5:
                problems.append(Problem(f"{here}.workdays[{j}]", f"{day} is a {day:%A}: an adjusted working day "
                                                                 "is a Saturday or Sunday"))
    return problems


def _repeats(add: Any, path: str, values: list[str], key: str) -> None:
    counts = Counter(values)
    for j, value in enumerate(values):
        if counts[value] > 1:
            add(Problem(f"{path}[{j}].{key}", f"{value} appears more than once"))
