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
    if beneficiary.insutype not in PERSON_INSUTYPES:
        out.append(("beneficiary", f"must be insured under 310, 390 or 510; is {beneficiary.insutype}"))
    if beneficiary.suspended and not self_grant:
        out.append(("beneficiary", "benefits are suspended: the beneficiary's status must be normal"))
    if province(beneficiary.admdvs) != province(authorizer.admdvs):
        out.append(("beneficiary", f"insured in province {province(beneficiary.admdvs)}, the authorizer in "
                                   f"{province(authorizer.admdvs)}: both must be in the same province"))
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


def window_problems(start: date, end: date | None) -> list[tuple[str, str]]:
    if end is not None and end < start:
        return [("end", f"the window ends ({end}) before it starts ({start})")]
    return []
