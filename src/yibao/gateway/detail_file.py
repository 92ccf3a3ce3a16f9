"""The 3202 detail file (interface.md 2, 3202): the institution's tab-separated settlement records, zipped, and
the result file the platform answers with. Parsing and comparing only: no database."""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from yibao.errors import refuse
from yibao.money import NotDecimal, to_decimal

TIME = "%Y-%m-%d %H:%M:%S"

DETAIL_COLUMNS = ("setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "refd_setl_flag")
RESULT_COLUMNS = ("psn_no", "mdtrt_id", "setl_id", "msgid", "stmt_rslt", "refd_setl_flag", "memo",
                  "medfee_sumamt", "fund_pay_sumamt", "acct_pay")
COMPARED = ("mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "refd_setl_flag")
MAX_DETAIL_TEXT = 32 * 1024 * 1024  # an uncompressed detail file larger than this is refused


@dataclass(frozen=True)
class DetailLine:
    """One line of the institution's 3202 detail file."""

    line: int
    setl_id: str
    mdtrt_id: str
    psn_no: str
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal
    refd_setl_flag: str


def _detail_text(content: bytes, field: str) -> tuple[str, str]:
    """(name, text) of the one .txt file inside the uploaded zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise refuse(field, "the file is not a zip archive") from None
    with archive:
        texts = [i for i in archive.infolist() if i.filename.lower().endswith(".txt")]
        if len(texts) != 1:
            raise refuse(field, f"the zip must hold one .txt file, not {len(texts)}")
        info = texts[0]
        if info.file_size > MAX_DETAIL_TEXT:
            raise refuse(field, f"{info.filename} is {info.file_size} bytes; at most {MAX_DETAIL_TEXT} are accepted")
        try:
            raw = archive.read(info)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
            raise refuse(field, f"{info.filename} cannot be read from the zip ({exc})") from None
    try:
        return info.filename, raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(field, f"{info.filename} is not UTF-8 text (byte {exc.start})") from None


def _amount_cell(text: str) -> Decimal:
    number = to_decimal(text)
    if number != number.quantize(Decimal("0.01")):
        raise NotDecimal(text)
    return number.quantize(Decimal("0.01"))


def read_detail_file(content: bytes, field: str) -> list[DetailLine]:
    """The 3202 detail file: tab-separated, 7 columns a line (a first line naming the columns is skipped).
    A bad line is refused naming its line and column."""
    name, text = _detail_text(content, field)
    lines: list[DetailLine] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        cells = [c.strip() for c in raw.split("\t")]
        where = f"{name} line {n}"
        if len(cells) != len(DETAIL_COLUMNS):
            raise refuse(field, f"{where}: has {len(cells)} tab-separated columns; {len(DETAIL_COLUMNS)} are needed "
                                f"({', '.join(DETAIL_COLUMNS)})")
        if not lines and not seen and cells[0] == "setl_id":
            continue
        for i in (0, 1, 2):
            if not cells[i]:
                raise refuse(field, f"{where}, column {i + 1} ({DETAIL_COLUMNS[i]}): is empty")
        amounts = []
        for i in (3, 4, 5):
            try:
                amounts.append(_amount_cell(cells[i]))
            except NotDecimal:
                raise refuse(field, f"{where}, column {i + 1} ({DETAIL_COLUMNS[i]}): {cells[i]!r} is not an amount "
                                    "with at most 2 decimal places") from None
        if cells[6] not in ("0", "1"):
            raise refuse(field, f"{where}, column 7 (refd_setl_flag): must be \"0\" or \"1\", not {cells[6]!r}")
        if cells[0] in seen:
            raise refuse(field, f"{where}, column 1 (setl_id): {cells[0]} is already on line {seen[cells[0]]}")
        seen[cells[0]] = n
        medfee, fund, acct = amounts
        lines.append(DetailLine(n, cells[0], cells[1], cells[2], medfee, fund, acct, cells[6]))
    return lines


def differences(figures: list[tuple[str, Any, Any]]) -> list[str]:
    return [f"{name}: institution {mine}, platform {ours}" for name, mine, ours in figures if mine != ours]


def _result_row(source: Any, memo: str) -> dict[str, Any]:
    """A result row of a platform record (it has a msgid) or of a line of the institution's file (none)."""
    return {"psn_no": source.psn_no, "mdtrt_id": source.mdtrt_id, "setl_id": source.setl_id,
            "msgid": getattr(source, "msgid", None) or "", "stmt_rslt": "1",
            "refd_setl_flag": source.refd_setl_flag, "memo": memo, "medfee_sumamt": source.medfee_sumamt,
            "fund_pay_sumamt": source.fund_pay_sumamt, "acct_pay": source.acct_pay}


def compare_details(theirs: list[DetailLine], ours: list[Any], known: dict[str, Any]) -> list[dict[str, Any]]:
    """One result row per settlement record that differs or is on one side only. `known` holds the
    institution's own records outside this reconciliation that its file names (to say why they are out)."""
    by_id = {x.setl_id: x for x in theirs}
    ours_ids = {s.setl_id for s in ours}
    out = []
    for s in ours:
        line = by_id.get(s.setl_id)
        if line is None:
            out.append(_result_row(s, "missing from the institution's file"))
            continue
        differs = differences([(name, getattr(line, name), getattr(s, name)) for name in COMPARED])
        if differs:
            out.append(_result_row(s, "; ".join(differs)))
    for line in theirs:
        if line.setl_id in ours_ids:
            continue
        other = known.get(line.setl_id)
        memo = (f"outside this reconciliation: settled {other.setl_time:{TIME}}, clr_optins {other.clr_optins}, "
                f"clr_type {other.clr_type}, refd_setl_flag {other.refd_setl_flag}" if other is not None
                else "no settlement of this institution has this setl_id")
        out.append(_result_row(line, memo))
    return out


def result_zip(stem: str, rows: list[dict[str, Any]], now: datetime) -> bytes:
    text = "".join("\t".join(str(r[c]) for c in RESULT_COLUMNS) + "\n" for r in rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(f"{stem}.txt", date_time=now.timetuple()[:6]), text.encode("utf-8"),
                         compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
