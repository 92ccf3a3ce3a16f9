"""Which family accounts a beneficiary may draw on for one settlement, and in which order (rules.md section 5;
seeds 000, 001, 002). Pure: facts in, the ordered sources and the reasons for what was left out.

- An authorization counts while it is active and today falls in its window.
- Several: in the beneficiary's priority order (none last), then the oldest first.
- A beneficiary in arrears gets none for a benefit that involves pooling (Taiyuan 五(一)).
- An account draws only when it is open and its region supports account bookkeeping (seed 000).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

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


def arrears_block(arrears: bool, med_type: str) -> str | None:
    """Why a beneficiary in arrears gets no mutual aid for this benefit, or None."""
    if arrears and pooling_involved(med_type):
        return ("family mutual aid not used: the person is in arrears and this benefit involves pooling "
                "(seed 001 五(一))")
    return None


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
