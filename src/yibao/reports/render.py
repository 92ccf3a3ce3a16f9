"""Every format of a report into one folder; the names a caller needs to build and render one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from yibao.reports.pdf import write_pdf
from yibao.reports.table import FORMATS, Column, Report, money_text, to_json, write_json
from yibao.reports.xlsx import write_xlsx

__all__ = ["FORMATS", "Column", "Report", "money_text", "to_json", "write_all", "write_json", "write_pdf",
           "write_xlsx"]


def write_all(report: Report, folder: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    writers = {"json": write_json, "xlsx": write_xlsx, "pdf": write_pdf}
    unknown = [f for f in formats if f not in writers]
    if unknown:
        raise ValueError(f"unknown report formats {unknown}; known: {list(writers)}")
    folder.mkdir(parents=True, exist_ok=True)
    return [writers[f](report, folder / f"{report.code}.{f}") for f in formats]
