"""Which region switches are on on a day (seed 004 art. 38: a preset benefit, such as the epidemic outpatient
overlay, switched on when policy says so). Pure: the dataset's state of each switch, then the agency's changes,
each from its effective day; the latest effective change wins, and of two on the same day the later recorded."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

#: (name, on, since) as the dataset loads it; since None: from the start
Baseline = tuple[str, bool, date | None]
#: (name, on, effective, order of recording)
Change = tuple[str, bool, date, int]


def switches_on(baseline: Iterable[Baseline], changes: Iterable[Change], day: date) -> set[str]:
    state = {name: on and (since is None or since <= day) for name, on, since in baseline}
    for name, on, _effective, _order in sorted((c for c in changes if c[2] <= day), key=lambda c: (c[2], c[3])):
        state[name] = on
    return {name for name, on in state.items() if on}
