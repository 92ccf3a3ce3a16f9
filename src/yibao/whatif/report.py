"""The what-if's figures: per treatment region and insured type, before (as stored) and after (as replayed), the
fund pay, the personal-account pay (mutual aid included, and apart), the out-of-pocket cash; how many settlements
changed; the largest changes. Money sums are exact decimals."""

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

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"settlements": self.settlements, "changed": self.changed}
        for i, name in enumerate(FIGURES):
            out[name] = {"before": self.before[i], "after": self.after[i], "change": self.after[i] - self.before[i]}
        return out


class Tally:
    """Sums by (treatment region, insutype) and the `top` largest changes of fund pay (then of cash)."""

    def __init__(self, top: int = 10):
        self.groups: dict[tuple[str, str], Group] = {}
        self.top = top
        self._largest: list[tuple[Decimal, Decimal, str, dict[str, Any]]] = []

    def add(self, region: str, insutype: str, before: Figures, after: Figures, changed: bool, counted: bool) -> None:
        group = self.groups.get((region, insutype))
        if group is None:
            group = self.groups[(region, insutype)] = Group()
        group.add(before, after, changed, counted)

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

    def report(self, *, region: str, month: str, changes: dict[str, Any], notes: list[str]) -> dict[str, Any]:
        total = Group()
        by_region: dict[str, Group] = {}
        by_insutype: dict[str, Group] = {}
        for (treated, insutype), g in sorted(self.groups.items()):
            for target in (total, by_region.setdefault(treated, Group()), by_insutype.setdefault(insutype, Group())):
                target.settlements += g.settlements
                target.changed += g.changed
                for i in range(len(FIGURES)):
                    target.before[i] += g.before[i]
                    target.after[i] += g.after[i]
        return {
            "region": region, "month": month, "changes": changes,
            "total": total.as_dict(),
            "by_region": [{"region": r, **g.as_dict()} for r, g in sorted(by_region.items())],
            "by_insutype": [{"insutype": t, **g.as_dict()} for t, g in sorted(by_insutype.items())],
            "by_region_and_insutype": [{"region": r, "insutype": t, **g.as_dict()}
                                       for (r, t), g in sorted(self.groups.items())],
            "largest_changes": self.largest(),
            "notes": notes,
        }


# TEMPORARY until the engine's breakdowns land (contract): removed at the merge of i-wfe
BREAKDOWNS = (("by_region", "region", "by treatment region"), ("by_insutype", "insutype", "by insured type"))
