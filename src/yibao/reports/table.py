"""A printed table of the monthly cycle (`Report`: columns, rows, meta, totals, notes) and its JSON form.

Each writer reads the rows once, so rows given as a callable are streamed: one fresh iterator per format, never
all rows in memory (except for to_json, whose answer is the whole document). The xlsx and PDF writers are
reports/xlsx.py and reports/pdf.py; reports/render.py writes every format of a report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from yibao.money import ZERO, round2

TOTAL_LABEL = "合计"
FORMATS = ("json", "xlsx", "pdf")

Kind = Literal["text", "money", "count"]
Cell = str | Decimal | int | None


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: Kind = "text"


@dataclass
class Report:
    code: str
    title: str
    columns: list[Column]
    rows: Sequence[Mapping[str, Any]] | Callable[[], Iterable[Mapping[str, Any]]]
    meta: list[tuple[str, str]] = field(default_factory=list)
    totals: Mapping[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    #: False for a table whose rows do not add up (periods compared, rates): no 合计 row
    total_row: bool = True

    def __post_init__(self) -> None:
        if not self.code or Path(self.code).name != self.code:
            raise ValueError(f"report code {self.code!r} is not a file stem")
        if not self.columns:
            raise ValueError("a report needs at least one column")
        for column in self.columns:
            if column.kind not in ("text", "money", "count"):
                raise ValueError(f"column {column.key}: unknown kind {column.kind!r}")
        # A bare iterator would print its rows in the first format and an empty table in the others.
        if isinstance(self.rows, Iterator):
            raise TypeError("rows must be a sequence or a callable returning a fresh iterator, not an iterator")
        if self.totals is not None:
            unknown = set(self.totals) - {column.key for column in self.columns}
            if unknown:
                raise ValueError(f"totals name no column: {sorted(unknown)}")

    def iter_rows(self) -> Iterator[Mapping[str, Any]]:
        return iter(self.rows() if callable(self.rows) else self.rows)

    def computed_totals(self) -> dict[str, Decimal | int]:
        reading = Reading(self)
        for _ in reading:
            pass
        return reading.sums

    def effective_totals(self) -> dict[str, Any]:
        return dict(self.totals) if self.totals is not None else self.computed_totals()


def _money(value: Any) -> Decimal:
    if value is None:
        return ZERO
    # An int here is most likely fen and a float is already inexact: both would print a wrong amount.
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise ValueError(f"money must be finite, not {value!r}")
    return round2(value) or ZERO  # no "-0.00"


def money_text(value: Any) -> str:
    """A money amount as plain text with exactly two decimals: Decimal("1234.5") -> "1234.50"."""
    return format(_money(value), "f")


def typed_cell(column: Column, value: Any) -> Cell:
    if column.kind == "money":
        return _money(value)
    if column.kind == "count":
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"column {column.key}: a count must be an int, not {type(value).__name__} {value!r}")
        return value
    return "" if value is None else str(value)


class Reading:
    """One pass over the rows: cells checked and typed per column, and the sums the 合计 row needs."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.sums: dict[str, Decimal | int] = {
            c.key: ZERO if c.kind == "money" else 0 for c in report.columns if c.kind != "text"
        }

    def __iter__(self) -> Iterator[list[Cell]]:
        columns = self.report.columns
        for row in self.report.iter_rows():
            cells = [typed_cell(column, row.get(column.key)) for column in columns]
            # Sums of the rounded cells, so that the 合计 printed equals the sum of the amounts printed.
            for column, value in zip(columns, cells, strict=True):
                if column.key in self.sums:
                    self.sums[column.key] += value  # type: ignore[operator]
            yield cells

    def totals(self) -> dict[str, Cell]:
        """The typed totals; when computed, only complete once the rows have been read."""
        given = self.report.totals
        if given is None:
            return dict(self.sums)
        return {c.key: typed_cell(c, given[c.key]) for c in self.report.columns if c.key in given}

    def total_cells(self) -> list[Cell]:
        totals = self.totals()
        cells = [totals.get(c.key) for c in self.report.columns]
        label = next((i for i, c in enumerate(self.report.columns) if c.kind == "text"), None)
        if label is not None and not cells[label]:
            cells[label] = TOTAL_LABEL
        return cells


# --- JSON ---------------------------------------------------------------------------------------------------------


def _json_value(value: Cell) -> str | int:
    if isinstance(value, Decimal):
        return money_text(value)
    return "" if value is None else value


def _json_row(columns: Sequence[Column], cells: Sequence[Cell]) -> dict[str, str | int]:
    return {c.key: _json_value(v) for c, v in zip(columns, cells, strict=True)}


def _json_head(report: Report) -> dict[str, Any]:
    return {
        "code": report.code,
        "title": report.title,
        "meta": [{"label": label, "value": value} for label, value in report.meta],
        "columns": [{"key": c.key, "title": c.title, "kind": c.kind} for c in report.columns],
    }


def to_json(report: Report) -> dict[str, Any]:
    reading = Reading(report)
    rows = [_json_row(report.columns, cells) for cells in reading]
    totals = {key: _json_value(value) for key, value in reading.totals().items()} if report.total_row else {}
    return {**_json_head(report), "rows": rows, "totals": totals, "notes": list(report.notes)}


def _dump(value: Any, depth: int) -> str:
    # json escapes newlines inside strings, so every raw newline is a line break of the layout.
    return json.dumps(value, ensure_ascii=False, indent=1).replace("\n", "\n" + " " * depth)


def write_json(report: Report, path: Path) -> Path:
    """The text json.dump(to_json(report), indent=1) would write, one row at a time."""
    reading = Reading(report)
    partial = path.with_name(path.name + ".part")  # a refused amount in row 900 must not leave half a file
    try:
        with partial.open("w", encoding="utf-8") as out:
            out.write("{\n")
            for key, value in _json_head(report).items():
                out.write(f" {_dump(key, 1)}: {_dump(value, 1)},\n")
            out.write(' "rows": [')
            empty = True
            for cells in reading:
                out.write(("\n  " if empty else ",\n  ") + _dump(_json_row(report.columns, cells), 2))
                empty = False
            out.write("],\n" if empty else "\n ],\n")
            totals = {key: _json_value(value) for key, value in reading.totals().items()} if report.total_row else {}
            out.write(f' "totals": {_dump(totals, 1)},\n "notes": {_dump(list(report.notes), 1)}\n}}')
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return path
