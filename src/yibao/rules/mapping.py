"""Catalog mapping 目录对照 as pure rules over plain values: what a 3301 row must satisfy, how a newer mapping of
the same item code ends the older one, and what a fee line whose HIS code is not mapped gets under the region's
`mapping_check` (off | warn | refuse). No I/O: platform/mapping.py reads the rows and applies the verdicts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from yibao.codes import LIST_TYPE, MAPPING_CHECK

OFF, WARN, REFUSE = MAPPING_CHECK


@dataclass(frozen=True)
class Window:
    """A mapping of one HIS item code as the check sees it: the catalog code and the days it is in force
    (enddate None: open-ended). Cancelled mappings are never windows."""

    med_list_codg: str
    begndate: date
    enddate: date | None = None

    def covers(self, day: date) -> bool:
        return self.begndate <= day and (self.enddate is None or day <= self.enddate)


def row_problem(list_type: str, begndate: date, enddate: date | None) -> tuple[str, str] | None:
    """(field, rule) of the first thing wrong with one 3301 row, beyond its types; None when it may be kept."""
    if list_type not in LIST_TYPE:
        return "list_type", f"{list_type[:20]!r} is not a code of list_type; one of: {', '.join(LIST_TYPE)}"
    if enddate is not None and enddate < begndate:
        return "enddate", f"{enddate} is before begndate {begndate}"
    return None


def list_type_problem(med_list_codg: str, sent: str, item_list_type: str) -> str | None:
    """A 3301 row's list_type must name the catalog its item is in (rules/catalog_file.py list_type_for): a drug
    mapped as a consumable would be downloaded, filtered and reported under the wrong catalog."""
    if sent == item_list_type:
        return None
    return (f"{med_list_codg} is in catalog {item_list_type} ({LIST_TYPE.get(item_list_type, '')}), not {sent} "
            f"({LIST_TYPE.get(sent, '')})")


def closing_enddate(old_enddate: date | None, new_begndate: date) -> date:
    """The end day of a mapping replaced by one starting `new_begndate`: the day before it, never later than the
    end it had. It may fall before the old begndate: a mapping replaced before it started covers no day at all,
    which is what the newer upload says."""
    day_before = new_begndate - timedelta(days=1)
    return old_enddate if old_enddate is not None and old_enddate < day_before else day_before


def line_problem(medins_list_codg: str, med_list_codg: str, day: date, windows: Iterable[Window]) -> str | None:
    """Why a fee line's HIS code does not stand for the catalog code it names on the fee's day; None if it does."""
    if not medins_list_codg:
        return "is empty; this region checks every line's HIS code against the institution's mappings (3301)"
    in_force = [w for w in windows if w.covers(day)]
    if not in_force:
        return f"{medins_list_codg} has no mapping (3301) in force on {day}"
    if not any(w.med_list_codg == med_list_codg for w in in_force):
        mapped = ", ".join(sorted({w.med_list_codg for w in in_force}))
        return f"{medins_list_codg} is mapped to {mapped} on {day}, not to med_list_codg {med_list_codg}"
    return None


def verdict(setting: object, problem: str | None) -> str:
    """What the line gets: OFF (nothing), WARN or REFUSE. An unknown setting never reaches here (the dataset is
    validated), but reading it as off keeps a bad value from refusing every line of a region."""
    if problem is None or setting not in (WARN, REFUSE):
        return OFF
    return str(setting)


def setting_problem(value: object) -> str | None:
    """The dataset rule for regions[].settings.mapping_check."""
    if value in MAPPING_CHECK:
        return None
    return f"must be one of {', '.join(MAPPING_CHECK)}"
