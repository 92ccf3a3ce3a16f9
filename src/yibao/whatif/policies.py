"""Which policy row and which terms a replayed settlement gets under the changes: the stored row, or the row the
rules choose when a switch changes (rules/selection.choose_policy over rules/switches.switches_on), with the
changed columns laid over its terms from each change's day."""

from __future__ import annotations

from datetime import date
from typing import Any

from yibao.errors import refuse
from yibao.rules.aid_sources import resident_block
from yibao.rules.cost_sharing import PolicyTerms
from yibao.rules.selection import PolicyRow, choose_policy
from yibao.rules.switches import Baseline, Change, switches_on
from yibao.whatif.changes import AidChange, Changes

#: hypothetical switch changes come after every recorded one of the same day
LATER = 10**12


class Policies:
    def __init__(self, region: str, rows: list[PolicyRow], changes: Changes, baseline: list[Baseline],
                 recorded: list[Change], known_switches: set[str]):
        self.rows = {r.id: r for r in rows}
        self.all_rows = rows
        self.changes = changes
        self.baseline = baseline
        self.recorded = recorded
        self.hypothetical: list[Change] = [(s.name, s.on, s.since or date.min, LATER + i)
                                           for i, s in enumerate(changes.switches)]
        self._terms: dict[tuple[int, date], PolicyTerms] = {}
        self._chosen: dict[tuple[str, str, str | None, date], PolicyRow | None] = {}
        self._on: dict[date, set[str]] = {}
        region_change = changes.region
        #: the region keeps no account books under the change: no settlement pays from an account
        self.accounts_off = region_change is not None and region_change.acct_bookkeeping is False
        self.resident_med_types = region_change.resident_med_types if region_change is not None else (None, False)
        self.unplaced = 0  # settlements no row served under the changed switches: replayed under their own row
        self._check(region, known_switches)

    def _check(self, region: str, known_switches: set[str]) -> None:
        for change in self.changes.policies:
            w = change.where
            if not any(w.fits_row(r.id, r.insutype, r.med_types, r.bucket, r.hosp_lv) for r in self.all_rows):
                raise refuse(change.field, f"matches no policy row of region {region}")
        for switch in self.changes.switches:
            if switch.name not in known_switches:
                raise refuse(f"{switch.field}.name", f"region {region} has no switch {switch.name!r:.40} (its "
                                                     f"switches: {', '.join(sorted(known_switches)) or 'none'})")

    def row(self, policy_id: int | None, insutype: str, med_type: str, level: str | None, day: date) -> PolicyRow:
        """The row serving the settlement; with no switch changed, the row it was settled under."""
        stored = self.rows.get(policy_id) if policy_id is not None else None
        if stored is not None and not self.hypothetical:
            return stored
        key = (insutype, med_type, level, day)
        if key not in self._chosen:
            chosen = choose_policy(self.all_rows, insutype, med_type, level, day, self._switches_on(day))
            self._chosen[key] = chosen if isinstance(chosen, PolicyRow) else None
        chosen_row = self._chosen[key]
        if chosen_row is not None:
            return chosen_row
        if stored is None:
            raise refuse("policy", f"no policy row serves insutype {insutype}, med_type {med_type} on {day}")
        self.unplaced += 1
        return stored

    def _switches_on(self, day: date) -> set[str]:
        if day not in self._on:
            self._on[day] = switches_on(self.baseline, [*self.recorded, *self.hypothetical], day)
        return self._on[day]

    def terms(self, row: PolicyRow, day: date) -> PolicyTerms:
        key = (row.id, day)
        terms = self._terms.get(key)
        if terms is None:
            values: dict[str, Any] = {"deductible": row.deductible, "ratio": row.ratio, "annual_cap": row.annual_cap,
                      "acct_scope": row.acct_scope}
            for change in self.changes.policies:
                w = change.where
                if (w.since is None or w.since <= day) and w.fits_row(row.id, row.insutype, row.med_types,
                                                                      row.bucket, row.hosp_lv):
                    values.update(change.terms)
            terms = self._terms[key] = PolicyTerms(**values)
        return terms

    def aid_withheld(self, insutype: str, med_type: str, day: date) -> bool:
        setting, given = self.resident_med_types
        return (any(_fits(a, insutype, med_type, day) for a in self.changes.mutual_aid)
                or (given and resident_block(insutype, med_type, setting) is not None))


def _fits(a: AidChange, insutype: str, med_type: str, day: date) -> bool:
    return ((a.insutype is None or a.insutype == insutype) and (a.med_type is None or a.med_type == med_type)
            and (a.since is None or a.since <= day))
