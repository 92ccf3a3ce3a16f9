"""Which family accounts a beneficiary may draw on for one settlement, and in which order (rules.md section 5;
seeds 000, 001, 002). Pure: facts in, the ordered sources and the reasons for what was left out.

- An authorization counts while it is active and today falls in its window.
- Several: in the beneficiary's priority order (none last), then the oldest first.
- Where the insured region says so, a beneficiary in arrears gets none for the benefit kinds it names (Taiyuan
  五(一): those that involve pooling), and a resident only under the categories it allows (Taiyuan 五(二)).
- An account draws only when it is open and its region supports account bookkeeping (seed 000).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from yibao.codes import MED_TYPE, RESIDENT
from yibao.rules.waterfall import AidSource


@dataclass(frozen=True)
class Grant:
    """An authorization as the rules see it."""

    id: int
    authorizer: str
    active: bool
    start: date
    end: date | None
    priority: int | None
    created_at: datetime
    quota: Decimal | None
    quota_used: Decimal


@dataclass(frozen=True)
class AccountFacts:
    admdvs: str
    open: bool
    balance: Decimal


def pooling_involved(med_type: str) -> bool:
    """Benefit kinds that involve pooling, where arrears block mutual aid (seed 001 五(一)):
    inpatient (2x, 52) and outpatient chronic/special disease (14)."""
    return med_type == "14" or med_type.startswith("2") or med_type == "52"


def in_force(grant: Grant, today: date) -> bool:
    return grant.active and grant.start <= today and (grant.end is None or today <= grant.end)


def ordered(grants: list[Grant], today: date) -> list[Grant]:
    """The authorizations in force, in the order they are drawn: priority (none last), then oldest first."""
    live = [g for g in grants if in_force(g, today)]
    return sorted(live, key=lambda g: (g.priority is None, g.priority or 0, g.created_at, g.id))


def arrears_block(arrears: bool, med_type: str, setting: Any) -> str | None:
    """Why a beneficiary in arrears gets no mutual aid for this benefit, or None. `setting` is the insured
    region's arrears_blocks_mutual_aid: false (off), true (the kinds that involve pooling) or a med_type list."""
    if not arrears or not setting:
        return None
    blocked = pooling_involved(med_type) if setting is True else med_type in setting
    if not blocked:
        return None
    why = "this benefit involves pooling" if setting is True else f"med_type {med_type} is among those arrears block"
    return (f"family mutual aid not used: the person is in arrears and {why} (太原 并医险中心字〔2022〕126号 "
            "五(一))")


def resident_block(insutype: str, med_type: str, allowed: list[str] | None) -> str | None:
    """Why a resident beneficiary gets no mutual aid under this payment category, or None. `allowed` is the
    insured region's resident_mutual_aid_med_types (None: every category)."""
    if insutype != RESIDENT or allowed is None or med_type in allowed:
        return None
    names = ", ".join(f"{MED_TYPE.get(m, m)} ({m})" for m in allowed) or "none"
    return (f"family mutual aid not used: a resident uses it only under {names}, not med_type {med_type} "
            f"{MED_TYPE.get(med_type, '')} (太原 并医险中心字〔2022〕126号 五(二)); the rest is paid in cash")


def sources(grants: list[Grant], accounts: dict[str, AccountFacts],
            bookkeeping: dict[str, bool]) -> tuple[list[AidSource], list[str]]:
    """The grants (already ordered) whose authorizer's account may pay, as waterfall sources; and a warning for
    each account left out because its region keeps no account books."""
    out: list[AidSource] = []
    warnings: list[str] = []
    for g in grants:
        acct = accounts.get(g.authorizer)
        books = bookkeeping.get(acct.admdvs) if acct is not None else None
        if acct is not None and books is False:
            warnings.append(f"mutual aid of {g.authorizer} not used: the account's region {acct.admdvs} does not "
                            "support account bookkeeping (seed 000)")
        if acct is None or not acct.open or not books:
            continue
        quota_left = None if g.quota is None else g.quota - g.quota_used
        out.append(AidSource(g.id, g.authorizer, acct.admdvs, acct.balance, quota_left))
    return out, warnings
