"""The what-if's figures: before (as stored) and after (as replayed), the fund pay, the personal-account pay
(mutual aid included, and apart), the out-of-pocket cash; how many settlements changed; per treatment region,
insured region, insured type, benefit kind, institution level and institution; the persons most affected; the
largest changes. Money sums are exact decimals.

A settlement is tallied once, under one composite key (KEY) and once under its person; every breakdown is a roll-up
of the composite groups at report time, so the replay's hot path does one dict lookup per breakdown-free key."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from yibao.money import ZERO

#: the amounts compared and reported, in the order of an `Amounts` tuple
FIGURES = ("fund_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")
#: (fund_pay_sumamt, acct_pay, acct_mulaid_pay, psn_cash_pay)
Figures = tuple[Decimal, Decimal, Decimal, Decimal]
#: the composite key a settlement is tallied under: (treatment region, insured region, insutype, med_type,
#: institution code); the institution's level and name are looked up at report time
KEY = ("region", "insured_region", "insutype", "med_type", "institution")
GroupKey = tuple[str, str, str, str, str]
#: the breakdowns of a report, in order: (report key, key column, title). Every face iterates over this.
BREAKDOWNS = (
    ("by_region", "region", "by treatment region"),
    ("by_insured_region", "insured_region", "by insured region"),
    ("by_insutype", "insutype", "by insured type"),
    ("by_med_type", "med_type", "by benefit kind (med_type)"),
    ("by_inst_level", "inst_level", "by institution level"),
    ("by_institution", "institution", "by institution"),
)
#: institution code -> (its region, its level or None, its name)
Places = dict[str, tuple[str, str | None, str]]


@dataclass
class Group:
    settlements: int = 0
    changed: int = 0
    before: list[Decimal] = field(default_factory=lambda: [ZERO] * len(FIGURES))
    after: list[Decimal] = field(default_factory=lambda: [ZERO] * len(FIGURES))

    def add(self, before: Figures, after: Figures, changed: bool, counted: bool) -> None:
        if counted:
            self.settlements += 1
            self.changed += changed
        b, a = self.before, self.after
        for i in range(len(FIGURES)):
            b[i] += before[i]
            a[i] += after[i]

    def merge(self, other: Group) -> None:
        self.settlements += other.settlements
        self.changed += other.changed
        for i in range(len(FIGURES)):
            self.before[i] += other.before[i]
            self.after[i] += other.after[i]

    def change(self, i: int) -> Decimal:
        return self.after[i] - self.before[i]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"settlements": self.settlements, "changed": self.changed}
        for i, name in enumerate(FIGURES):
            out[name] = {"before": self.before[i], "after": self.after[i], "change": self.after[i] - self.before[i]}
        return out


class Tally:
    """Sums by the composite KEY and by person, and the `top` largest changes of fund pay (then of cash)."""

    def __init__(self, top: int = 10):
        self.groups: dict[GroupKey, Group] = {}
        self.persons: dict[str, Group] = {}
        self.top = top
        self._largest: list[tuple[Decimal, Decimal, str, dict[str, Any]]] = []

    def add(self, key: GroupKey, psn_no: str, before: Figures, after: Figures, changed: bool, counted: bool) -> None:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group()
        group.add(before, after, changed, counted)
        person = self.persons.get(psn_no)
        if person is None:
            person = self.persons[psn_no] = Group()
        person.add(before, after, changed, counted)

    def note_change(self, setl_id: str, region: str, insutype: str, med_type: str, before: Figures,
                    after: Figures) -> None:
        if self.top <= 0:
            return
        key = (abs(after[0] - before[0]), abs(after[3] - before[3]), setl_id)
        if len(self._largest) >= self.top and key <= self._largest[0][:3]:
            return
        entry = (*key, {"setl_id": setl_id, "region": region, "insutype": insutype, "med_type": med_type,
                        **{name: {"before": before[i], "after": after[i], "change": after[i] - before[i]}
                           for i, name in enumerate(FIGURES)}})
        if len(self._largest) >= self.top:
            heapq.heapreplace(self._largest, entry)
        else:
            heapq.heappush(self._largest, entry)

    def largest(self) -> list[dict[str, Any]]:
        return [e[3] for e in sorted(self._largest, key=lambda e: e[:3], reverse=True)]

    def total(self) -> Group:
        total = Group()
        for g in self.groups.values():
            total.merge(g)
        return total

    def rollup(self, *columns: str, places: Places | None = None) -> dict[tuple[str, ...], Group]:
        """The groups summed over the given columns of KEY, or "inst_level" (the institution's level, "" when
        unknown)."""
        places = places or {}

        def value(key: GroupKey, column: str) -> str:
            if column == "inst_level":
                return (places.get(key[4], ("", None, ""))[1]) or ""
            return key[KEY.index(column)]

        out: dict[tuple[str, ...], Group] = {}
        for key, g in self.groups.items():
            at = tuple(value(key, c) for c in columns)
            target = out.get(at)
            if target is None:
                target = out[at] = Group()
            target.merge(g)
        return out

    def most_affected(self) -> list[dict[str, Any]]:
        """Up to `top` persons whose out-of-pocket (then fund pay) moved most over the period."""
        cash, fund = FIGURES.index("psn_cash_pay"), FIGURES.index("fund_pay")
        moved = ((abs(g.change(cash)), abs(g.change(fund)), psn, g) for psn, g in self.persons.items()
                 if g.before != g.after)
        return [{"psn_no": psn, **g.as_dict()}
                for _, _, psn, g in heapq.nlargest(self.top, moved, key=lambda e: (e[0], e[1], e[2]))]

    def report(self, *, region: str, months: list[str], changes: dict[str, Any], notes: list[str],
               places: Places | None = None) -> dict[str, Any]:
        places = places or {}
        total = self.total()
        out: dict[str, Any] = {"region": region, "months": months, "month": months[0], "changes": changes,
                               "total": total.as_dict(), "fund_effect": total.change(FIGURES.index("fund_pay"))}
        for name, column, _ in BREAKDOWNS:
            rows = []
            for (at,), g in sorted(self.rollup(column, places=places).items()):
                row = {column: at}
                if column == "institution":
                    row["name"] = places.get(at, ("", None, ""))[2]
                rows.append({**row, **g.as_dict()})
            out[name] = rows
        out["by_region_and_insutype"] = [{"region": r, "insutype": t, **g.as_dict()}
                                         for (r, t), g in sorted(self.rollup("region", "insutype").items())]
        out["most_affected_persons"] = self.most_affected()
        out["largest_changes"] = self.largest()
        out["notes"] = notes
        return out
