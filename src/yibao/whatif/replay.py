"""Replaying a region's month (or consecutive months, one period) under changed policy (docs/whatif.md).

Each stored settlement is settled again, in the order it was made, by rules/amounts.settle_amounts (the function
live settlement calls) from what it recorded: its sums of the lines (re-split where a changed catalog row is on
them, resplit.py), the person's insured type and benefit kind,
its day, its policy row (or the row the changed switches choose), the person's accumulator before it and the
accounts it drew on. Accumulators and the changes of account balances are kept per person in memory, so a
changed settlement moves the ones after it; a cancellation undoes its original's replayed amounts. Nothing is
written: the replay runs on a connection that cannot write (store/readonly.py)."""

from __future__ import annotations

from decimal import Decimal
from itertools import groupby
from typing import Any

from sqlalchemy.orm import Session

from yibao.money import ZERO
from yibao.platform import switches
from yibao.rules import region_settings
from yibao.rules.amounts import settle_amounts
from yibao.rules.cost_sharing import PolicyTerms, Usage
from yibao.rules.splitting import Sums
from yibao.rules.waterfall import AidSource
from yibao.store.readonly import read_only
from yibao.whatif import source
from yibao.whatif.changes import Changes
from yibao.whatif.dataset_parts import RegionChange
from yibao.whatif.policies import Policies
from yibao.whatif.report import Figures, GroupKey, Places, Tally
from yibao.whatif.resplit import resplit

Key = tuple[str, int, str]

NO_USAGE = (ZERO, ZERO)


def whatif(session: Session, region: str, month: str, changes: Changes, *, months: int = 1,
           top: int = 10) -> dict[str, Any]:
    """The report of the region's `months` months from `month` replayed as one period under `changes`
    (report.Tally.report): accumulators and accounts carried from month to month. Run on a connection that cannot
    write (store/readonly.py)."""
    period = source.period_of(month, months)
    with read_only(session):
        return _whatif(session, region, period, changes, top)


def _whatif(session: Session, region: str, period: source.Period, changes: Changes, top: int) -> dict[str, Any]:
    source.check_region(session, region)
    baseline, recorded = source.switch_history(session, region)
    policies = Policies(region, source.policy_rows(session, region), changes, baseline, recorded,
                        switches.known(session, region))
    tally = Tally(top)
    places = source.institutions(session)
    replay(session, region, period, policies, tally, places, resplit(session, region, period, changes.catalog))
    notes = []
    if policies.unplaced:
        notes.append(f"{policies.unplaced} settlements found no policy row under the changed switches and were "
                     "replayed under the row they were settled under")
    return tally.report(region=region, months=period.names, changes=describe(changes), notes=notes, places=places)


def replay(session: Session, region: str, period: source.Period, policies: Policies, tally: Tally,
           places: Places, sums: dict[str, Sums] | None = None) -> None:
    replayer = Replayer(policies, tally, source.opening_usage(session, region, period),
                        source.draws(session, region, period), places, sums)
    for _, rows in groupby(source.settlements(session, region, period), key=_second_of_person):
        group = list(rows)
        for r in replayer.ordered(group) if len(group) > 1 else group:
            replayer.one(r)


def _second_of_person(r: Any) -> tuple[Any, str]:
    return r[4], r[1]


class Replayer:
    """The state a replay carries from one settlement to the next: per (psn_no, year, bucket) the usage as
    replayed and as stored; per account the replayed balance less the stored one; the replayed amounts of a
    settlement cancelled later in the month."""

    def __init__(self, policies: Policies, tally: Tally, usage: dict[Key, tuple[Decimal, Decimal]],
                 draws: dict[str, list[source.Draw]], places: Places, sums: dict[str, Sums] | None = None):
        self.policies = policies
        self.tally = tally
        self.usage = usage
        self.stored_usage = dict(usage)
        self.draws = draws
        self.places = places
        self.sums = sums or {}  # the settlements re-split under changed catalog rows (resplit.py)
        self.delta: dict[str, Decimal] = {}
        self.kept: dict[str, tuple[Any, ...]] = {}

    def ordered(self, group: list[Any]) -> list[Any]:
        """A person's settlements of one second in the order that gives each its stored amounts from the stored
        usage (the order they were made in; the record keeps time to the second only), then the cancellations."""
        originals = [r for r in group if r[7] != "1"]
        if len(originals) < 2:
            return group
        usage: dict[Key, tuple[Decimal, Decimal]] = {}
        ordered = []
        while originals:
            r = next((r for r in originals if self._stored_fits(r, usage)), originals[0])
            originals.remove(r)
            ordered.append(r)
            key = (r[1], r[5], r[6])
            used, paid = usage.get(key) or self.stored_usage.get(key, NO_USAGE)
            usage[key] = (used + r[15], paid + r[16])
        return ordered + [r for r in group if r[7] == "1"]

    def _stored_fits(self, r: Any, usage: dict[Key, tuple[Decimal, Decimal]]) -> bool:
        row = self.policies.rows.get(r[23]) if r[23] is not None else None
        if row is None:
            return True
        key = (r[1], r[5], r[6])
        used, paid = usage.get(key) or self.stored_usage.get(key, NO_USAGE)
        own_stored = r[19] - r[20]
        stored_draws = self.draws.get(r[0], ())
        a = settle_amounts(_sums(r), PolicyTerms(row.deductible, row.ratio, row.annual_cap, row.acct_scope),
                           Usage(used, paid), use_accounts=r[19] > 0,
                           own_balance=r[22] + own_stored if own_stored > 0 else None,
                           sources=self._sources(stored_draws, {}))
        return (a.shares.act_pay_dedc, a.shares.hifp_pay, a.payment.total, a.payment.mutual_aid) == (
            r[15], r[16], r[19], r[20])

    def _sources(self, stored_draws: Any, delta: dict[str, Decimal]) -> list[AidSource]:
        """The authorizations the settlement drew on, each at most what it gave then, from the authorizer's
        balance then moved by the replay."""
        first: dict[str, Decimal] = {}
        for d in stored_draws:
            first.setdefault(d.authorizer, d.balance_before)
        return [AidSource(d.authorization_id, d.authorizer, "", first[d.authorizer] + delta.get(d.authorizer, ZERO),
                          d.amount) for d in stored_draws]

    def one(self, r: Any) -> None:
        place = self.places.get(r[24])
        treated, level = (place[0], place[1]) if place is not None else (r[24], None)
        # the composite key of report.KEY: (treatment region, insured region, insutype, med_type, institution)
        tallied = (treated, r[25], r[2], r[3], r[24])
        before = (r[17], r[19], r[20], r[21])
        stored_key = (r[1], r[5], r[6])
        used, paid = self.stored_usage.get(stored_key, NO_USAGE)
        self.stored_usage[stored_key] = (used + r[15], paid + r[16])
        if r[7] == "1":
            self._cancellation(r, before, tallied)
            return
        day = r[4].date()
        row = self.policies.row(r[23], r[2], r[3], level, day)
        key = (r[1], r[5], row.bucket)
        used, paid = self.usage.get(key, NO_USAGE)
        psn, delta = r[1], self.delta
        own_stored = r[19] - r[20]
        own_balance = r[22] + own_stored + delta.get(psn, ZERO) if own_stored > 0 else None
        stored_draws = self.draws.get(r[0], ())
        withheld = stored_draws and self.policies.aid_withheld(r[2], r[3], day)
        use_accounts = r[19] > 0 and not self.policies.accounts_off
        a = settle_amounts(self.sums.get(r[0]) or _sums(r), self.policies.terms(row, day), Usage(used, paid),
                           use_accounts=use_accounts, own_balance=own_balance,
                           sources=self._sources(stored_draws, delta) if stored_draws and not withheld else [])
        shares, payment = a.shares, a.payment
        self.usage[key] = (used + shares.act_pay_dedc, paid + shares.hifp_pay)
        after = (shares.fund_pay_sumamt, payment.total, payment.mutual_aid, shares.psn_part_amt - payment.total)
        diffs: dict[str, Decimal] = {}
        if payment.own != own_stored:
            diffs[psn] = own_stored - payment.own
        for d in stored_draws:
            diffs[d.authorizer] = diffs.get(d.authorizer, ZERO) + d.amount
        for drawn in payment.draws:
            diffs[drawn.source.authorizer] -= drawn.amount
        for acct, diff in diffs.items():
            if diff:
                delta[acct] = delta.get(acct, ZERO) + diff
        changed = (after != before or shares.act_pay_dedc != r[15] or shares.hifp_pay != r[16]
                   or shares.psn_part_amt != r[18])
        self.tally.add(tallied, psn, before, after, changed, True)
        if changed:
            self.tally.note_change(r[0], treated, r[2], r[3], before, after)
        if r[9] == "cancelled":
            self.kept[r[0]] = (key, shares.act_pay_dedc, shares.hifp_pay, after, diffs)

    def _cancellation(self, r: Any, before: Figures, tallied: GroupKey) -> None:
        """A cancellation undoes what its original did: as replayed when the original is of this month, as
        stored when it is older."""
        original = self.kept.pop(r[8], None)
        if original is None:
            key = (r[1], r[5], r[6])
            used, paid = self.usage.get(key, NO_USAGE)
            self.usage[key] = (used + r[15], paid + r[16])
            self.tally.add(tallied, r[1], before, before, False, False)
            return
        key, dedc, hifp, after, diffs = original
        used, paid = self.usage.get(key, NO_USAGE)
        self.usage[key] = (used - dedc, paid - hifp)
        for acct, diff in diffs.items():
            self.delta[acct] = self.delta.get(acct, ZERO) - diff
        self.tally.add(tallied, r[1], before, (-after[0], -after[1], -after[2], -after[3]), False, False)


def _sums(r: Any) -> Sums:
    return Sums(r[10], r[11], r[12], r[13], r[14])


def describe(changes: Changes) -> dict[str, Any]:
    """The changes as the report echoes them."""
    def where(w: Any) -> dict[str, Any]:
        keys = ("policy_id", "insutype", "med_type", "bucket", "hosp_lv")
        out = {k: getattr(w, k) for k in keys if getattr(w, k) is not None}
        if w.since is not None:
            out["from"] = w.since.isoformat()
        return out

    return {
        "policies": [{**where(p.where), **p.terms} for p in changes.policies],
        "switches": [{"name": s.name, "on": s.on, **({"from": s.since.isoformat()} if s.since else {})}
                     for s in changes.switches],
        "mutual_aid": [{k: v for k, v in (("insutype", a.insutype), ("med_type", a.med_type),
                                          ("from", a.since.isoformat() if a.since else None)) if v is not None}
                       | {"withheld": True} for a in changes.mutual_aid],
        "catalog": [{"code": c.code, **{k: _plain(v) for k, v in c.fields.items()},
                     **({"from": c.since.isoformat()} if c.since else {})} for c in changes.catalog],
        # a list of one, like the other parts, so a face lists every part alike
        "region": [_region(changes.region)] if changes.region is not None else [],
    }


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value


def _region(change: RegionChange) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if change.acct_bookkeeping is not None:
        out["acct_bookkeeping"] = change.acct_bookkeeping
    setting, given = change.resident_med_types
    if given:
        out["settings"] = {region_settings.RESIDENT_MED_TYPES: setting}
    return out
