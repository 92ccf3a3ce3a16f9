"""Establishing a family mutual-aid authorization (rules.md section 5; seeds 001 二, 002 一/六).
Pure: facts in, the broken rules out, each naming the rule and its figures. Limits are region settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from yibao.codes import EMPLOYEE, PERSON_INSUTYPES, RESIDENT, province

RELATION_NAMES = {"spouse": "配偶", "father": "父亲", "mother": "母亲", "child": "子女", "self": "本人"}


@dataclass(frozen=True)
class Party:
    psn_no: str
    insutype: str
    admdvs: str
    suspended: bool
    account_balance: Decimal | None  # None: no open account
    account_from_suspended_employment: bool = False


@dataclass(frozen=True)
class RegionRules:
    """The authorizer's region settings (dataset regions[].mutual_aid)."""

    enabled: bool
    min_balance: Decimal | None  # the balance must EXCEED it (Taiyuan: > 1000)
    relation_limits: dict[str, int]
    #: settings.mutual_aid_scope: both insured in the same `province` (the default) or the same `region`
    #: (Hefei 一: 我市)
    scope: str = "province"
    #: settings.mutual_aid_beneficiary_insutypes: the insurances a beneficiary may hold (Taiyuan 一: employee or
    #: resident; Hefei 一: also employee maternity)
    beneficiary_insutypes: tuple[str, ...] = PERSON_INSUTYPES


@dataclass(frozen=True)
class Proposal:
    relation: str
    quota: Decimal | None
    start: date
    end: date | None


def establishment_problems(authorizer: Party, beneficiary: Party, proposal: Proposal, rules: RegionRules,
                           active_relations: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(field, rule) for every rule the proposal breaks; `active_relations` are the authorizer's active
    authorizations as (beneficiary psn_no, relation)."""
    out: list[tuple[str, str]] = []
    self_grant = authorizer.psn_no == beneficiary.psn_no
    if not rules.enabled:
        out.append(("authorizer", f"region {authorizer.admdvs} has not opened family mutual aid"))
    if self_grant:
        if not (authorizer.account_from_suspended_employment and beneficiary.insutype == RESIDENT):
            out.append(("beneficiary", "no self-authorization: only a person whose employee insurance is suspended "
                                       "may use that account for his own resident-insurance costs (Hefei 二)"))
        if proposal.relation != "self":
            out.append(("relation", "an authorization of oneself has relation self"))
    else:
        if proposal.relation == "self":
            out.append(("relation", "relation self is only for one's own suspended employee account"))
        if authorizer.insutype != EMPLOYEE or authorizer.suspended:
            out.append(("authorizer", f"must be an employee (310) with normal insurance; is {authorizer.insutype}"
                                      f"{' (suspended)' if authorizer.suspended else ''}"))
    if authorizer.account_balance is None:
        out.append(("authorizer", "has no open personal account"))
    elif rules.min_balance is not None and not authorizer.account_balance > rules.min_balance:
        out.append(("authorizer", f"balance {authorizer.account_balance} must exceed {rules.min_balance} "
                                  f"in region {authorizer.admdvs}"))
    if beneficiary.insutype not in rules.beneficiary_insutypes:
        out.append(("beneficiary", f"must be insured under {' or '.join(rules.beneficiary_insutypes)} to benefit "
                                   f"from an authorizer of region {authorizer.admdvs}; is {beneficiary.insutype}"))
    if beneficiary.suspended and not self_grant:
        out.append(("beneficiary", "benefits are suspended: the beneficiary's status must be normal"))
    why = scope_problem(authorizer.admdvs, beneficiary.admdvs, rules.scope)
    if why:
        out.append(("beneficiary", why))
    if any(b == beneficiary.psn_no for b, _r in active_relations):
        out.append(("beneficiary", "an active authorization for this beneficiary already exists"))
    limit = rules.relation_limits.get(proposal.relation)
    if limit is not None and not self_grant:
        used = sum(1 for _b, r in active_relations if r == proposal.relation)
        if used >= limit:
            out.append(("relation", f"at most {limit} active authorization(s) for relation {proposal.relation} "
                                    f"({RELATION_NAMES[proposal.relation]}) per authorizer; {used} already"))
    if proposal.end is not None and proposal.end < proposal.start:
        out.append(("end", f"the window ends ({proposal.end}) before it starts ({proposal.start})"))
    if proposal.quota is not None and proposal.quota <= 0:
        out.append(("quota", f"must be above 0 or none; is {proposal.quota}"))
    return out


def scope_problem(authorizer_admdvs: str, beneficiary_admdvs: str, scope: str) -> str | None:
    """Whether the two are insured close enough for the authorizer's region (settings.mutual_aid_scope)."""
    if scope == "region":
        if beneficiary_admdvs != authorizer_admdvs:
            return (f"insured in region {beneficiary_admdvs}, the authorizer in {authorizer_admdvs}: region "
                    f"{authorizer_admdvs} allows family mutual aid only among persons it insures "
                    "(合肥 合医管〔2019〕97号 一)")
        return None
    if province(beneficiary_admdvs) != province(authorizer_admdvs):
        return (f"insured in province {province(beneficiary_admdvs)}, the authorizer in "
                f"{province(authorizer_admdvs)}: both must be in the same province")
    return None


def window_problems(start: date, end: date | None) -> list[tuple[str, str]]:
    if end is not None and end < start:
        return [("end", f"the window ends ({end}) before it starts ({start})")]
    return []
