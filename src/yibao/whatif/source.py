"""What a what-if replays, read in bulk and never written: a region's settlements of a period (one or more
consecutive months) in the order they were made, the accumulators before the period, the mutual-aid draws of the
period, the region's policy rows and switches. Read-only: nothing here adds, changes or locks a row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.money import ZERO
from yibao.rules.monthly import month_start, parse_ym, shift, ym_text
from yibao.rules.selection import PolicyRow
from yibao.rules.switches import Baseline, Change
from yibao.store.models import AccountEntry, Accumulator, Institution, Policy, Region, RegionSwitch, Settlement
from yibao.store.models import SwitchChange as StoredSwitchChange

S = Settlement
#: the columns of a settlement the replay reads, in this order (a plain row: tuple access is the fast path)
COLUMNS = (S.setl_id, S.psn_no, S.insutype, S.med_type, S.setl_time, S.year, S.bucket, S.refd_setl_flag,
           S.init_setl_id, S.status, S.medfee_sumamt, S.fulamt_ownpay_amt, S.overlmt_selfpay, S.preselfpay_amt,
           S.inscp_scp_amt, S.act_pay_dedc, S.hifp_pay, S.fund_pay_sumamt, S.psn_part_amt, S.acct_pay,
           S.acct_mulaid_pay, S.psn_cash_pay, S.balc, S.policy_id, S.fixmedins_code, S.insu_admdvs)
BATCH = 5000
#: the longest period replayed at once, in months
MAX_MONTHS = 12


@dataclass(frozen=True)
class Draw:
    """One mutual-aid draw a settlement made: the authorizer's balance before it, as the journal holds it."""

    authorization_id: int
    authorizer: str
    amount: Decimal
    balance_before: Decimal


def month_of(text: str) -> str:
    try:
        year, month = parse_ym(text)
    except ValueError as exc:
        raise refuse("month", str(exc)) from None
    if not 1900 <= year <= 2099:
        raise refuse("month", f"must be from 1900-01 to 2099-12, not {text!r:.20}")
    return ym_text(year, month)


@dataclass(frozen=True)
class Period:
    """Consecutive months, from the first instant of the first to the first instant after the last."""

    first: str
    months: int = 1

    @property
    def start(self) -> datetime:
        return month_start(self.first)

    @property
    def end(self) -> datetime:
        return month_start(shift(self.first, self.months))

    @property
    def names(self) -> list[str]:
        return [shift(self.first, i) for i in range(self.months)]


def period_of(first: str, months: int = 1) -> Period:
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise refuse("months", f"must be a whole number of months from 1 to {MAX_MONTHS}, not {months!r:.20}")
    ym = month_of(first)
    if shift(ym, months - 1) > "2099-12":
        raise refuse("months", f"the period must end by 2099-12, not {shift(ym, months - 1)}")
    return Period(ym, months)


def check_region(session: Session, region: str) -> None:
    if session.get(Region, region) is None:
        raise refuse("region", f"no region {region!r:.20}")


def _period(region: str, period: Period) -> Any:
    """The region's settlements of the period: those under its policy (its insured persons, wherever treated)."""
    return select(*COLUMNS).where(S.policy_admdvs == region, S.setl_time >= period.start, S.setl_time < period.end)


def settlements(session: Session, region: str, period: Period) -> Iterator[Any]:
    """In the order they were made, to the second (setl_time); of one second, a person's settlements together,
    before any cancellation (ids of one second do not sort by time: replay.py orders such a group)."""
    stmt = _period(region, period).order_by(S.setl_time, S.psn_no, S.refd_setl_flag, S.setl_id)
    # on the connection: plain rows, without the ORM's loading of each
    yield from session.connection().execute(stmt, execution_options={"yield_per": BATCH})


def count(session: Session, region: str, period: Period) -> int:
    return session.scalar(select(func.count()).select_from(_period(region, period).subquery())) or 0


def opening_usage(session: Session, region: str, period: Period) -> dict[tuple[str, int, str],
                                                                         tuple[Decimal, Decimal]]:
    """(psn_no, year, bucket) -> (deductible used, fund paid) before the period's first settlement: the accumulator
    now, less every settlement (and cancellation) since the period began. Keyed by the accumulator's own year, so
    a period across a new year opens the new year's accumulator as it stood before its first settlement."""
    people = select(S.psn_no).where(S.policy_admdvs == region, S.setl_time >= period.start,
                                    S.setl_time < period.end).distinct().scalar_subquery()
    usage = {(p, y, b): (d, f) for p, y, b, d, f in session.execute(
        select(Accumulator.psn_no, Accumulator.year, Accumulator.bucket, Accumulator.deductible_used,
               Accumulator.fund_paid).where(Accumulator.psn_no.in_(people)))}
    since = session.execute(select(S.psn_no, S.year, S.bucket, func.sum(S.act_pay_dedc), func.sum(S.hifp_pay))
                            .where(S.setl_time >= period.start, S.psn_no.in_(people))
                            .group_by(S.psn_no, S.year, S.bucket))
    for p, y, b, d, f in since:
        used, paid = usage.get((p, y, b), (ZERO, ZERO))
        usage[(p, y, b)] = (used - d, paid - f)
    return usage


def draws(session: Session, region: str, period: Period) -> dict[str, list[Draw]]:
    """setl_id -> the mutual-aid draws it made, in the order it made them."""
    month = select(S.setl_id).where(S.policy_admdvs == region, S.setl_time >= period.start,
                                    S.setl_time < period.end, S.refd_setl_flag == "0")
    out: dict[str, list[Draw]] = {}
    j = AccountEntry
    for setl_id, auth, psn, amount, after in session.execute(
            select(j.setl_id, j.authorization_id, j.psn_no, j.amount, j.balance_after)
            .where(j.kind == "mutual_aid", j.setl_id.in_(month.scalar_subquery())).order_by(j.id)):
        out.setdefault(str(setl_id), []).append(Draw(auth or 0, psn, -amount, after - amount))
    return out


def policy_rows(session: Session, region: str) -> list[PolicyRow]:
    return [PolicyRow(p.id, p.insutype, tuple(p.med_types), tuple(p.hosp_lv) if p.hosp_lv else None, p.bucket,
                      p.deductible, p.ratio, p.annual_cap, p.acct_scope, p.valid_from, p.valid_to, p.switch)
            for p in session.scalars(select(Policy).where(Policy.admdvs == region).order_by(Policy.id))]


def switch_history(session: Session, region: str) -> tuple[list[Baseline], list[Change]]:
    """The region's switches as the dataset loaded them and the agency's changes since (rules/switches.py)."""
    baseline = [(s.name, s.on, s.since) for s in session.scalars(
        select(RegionSwitch).where(RegionSwitch.admdvs == region))]
    changes = [(c.name, c.on, c.effective, c.id) for c in session.scalars(
        select(StoredSwitchChange).where(StoredSwitchChange.admdvs == region).order_by(StoredSwitchChange.id))]
    return baseline, changes


def institutions(session: Session) -> dict[str, tuple[str, str | None, str]]:
    """code -> (its region, its level, its name)."""
    return {c: (a, lv, n) for c, a, lv, n in session.execute(select(Institution.code, Institution.admdvs,
                                                                    Institution.level, Institution.name))}


def day_of(row: Any) -> date:
    return row[4].date()
