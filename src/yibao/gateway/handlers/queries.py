"""Queries and reconciliation: 5203 settlement, 5204 fee details, 5205 chronic/special-disease drug history,
3201 totals and 3202 details (interface.md section 2; yibao's readings in docs/gateway.md).

An institution sees its own business only: another institution's settlement, visit or file is answered as
unknown. Reconciliation counts every settlement record in its window, cancellation rows included.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from sqlalchemy import ColumnElement, func, select

from yibao.errors import refuse
from yibao.gateway.fields import Amount, InsuType, Text, code
from yibao.gateway.handlers import render
from yibao.gateway.handlers.files import file_info, own_file, store_file
from yibao.gateway.registry import Call, Node, interface
from yibao.money import NotDecimal, to_decimal
from yibao.platform import fees, settlement
from yibao.store.models import FeeDetail, Person, Settlement, Visit

TIME = "%Y-%m-%d %H:%M:%S"
FLEXIBLY_EMPLOYED = ("1103", "1203")  # psn_type 灵活就业人员在职 / 退休
NEWBORN = "1401"
CHRONIC_MED_TYPE = "14"  # 门诊慢特病; local subdivisions (140104, 140201) start with it

# -- field types ---------------------------------------------------------------------------------------


def _day(value: Any) -> date:
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", TIME):
            try:
                return datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
    raise ValueError("must be a date as yyyy-MM-dd")


def _bound(end: bool) -> Callable[[Any], datetime]:
    """A time bound; a bare date means the start of that day, or for an end bound its last second."""
    def parse(value: Any) -> datetime:
        if isinstance(value, str):
            text = value.strip()
            try:
                return datetime.strptime(text, TIME)
            except ValueError:
                pass
            try:
                day = datetime.strptime(text, "%Y-%m-%d")
            except ValueError:
                pass
            else:
                return day.replace(hour=23, minute=59, second=59) if end else day
        raise ValueError("must be a time as yyyy-MM-dd HH:mm:ss (or a date yyyy-MM-dd)")
    return parse


def _count(value: Any) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        number = int(value)
    if number is None or number < 0:
        raise ValueError("must be a whole number of settlements, 0 or more")
    return number


Day = Annotated[date, BeforeValidator(_day)]
Begin = Annotated[datetime, BeforeValidator(_bound(end=False))]
End = Annotated[datetime, BeforeValidator(_bound(end=True))]
Count = Annotated[int, BeforeValidator(_count)]
RefdFilter = Literal["", "0", "1"]


# -- what an institution may see ------------------------------------------------------------------------


def _person(call: Call, psn_no: str) -> Person:
    """Unlike a settlement, a query is answered for a person whose benefits are suspended."""
    return settlement.person_for_message(call.session, psn_no, call.envelope.insuplc_admdvs, call.institution,
                                         check_suspension=False)


def _own_visit(call: Call, mdtrt_id: str, psn_no: str) -> Visit:
    visit = call.session.get(Visit, mdtrt_id)
    if visit is None or visit.fixmedins_code != call.institution.code:
        raise refuse("input.data.mdtrt_id", f"no visit {mdtrt_id} at this institution")
    if visit.psn_no != psn_no:
        raise refuse("input.data.psn_no", f"visit {mdtrt_id} belongs to another person")
    return visit


def _own_settlement(call: Call, setl_id: str, mdtrt_id: str, psn_no: str) -> Settlement:
    """A settlement record of this institution: a settlement (even cancelled) or a cancellation row."""
    row = call.session.get(Settlement, setl_id)
    if row is None or row.fixmedins_code != call.institution.code:
        raise refuse("input.data.setl_id", f"no settlement {setl_id} of this institution")
    if row.mdtrt_id != mdtrt_id:
        raise refuse("input.data.mdtrt_id", f"settlement {setl_id} belongs to visit {row.mdtrt_id}")
    if row.psn_no != psn_no:
        raise refuse("input.data.psn_no", f"settlement {setl_id} belongs to another person")
    return row


def _cancellation_of(call: Call, setl_id: str) -> str:
    return call.session.scalar(select(Settlement.setl_id).where(Settlement.init_setl_id == setl_id)) or ""


# -- 5203 settlement query ------------------------------------------------------------------------------

class Data5203(Node):
    psn_no: Text = Field(min_length=1)
    setl_id: Text = Field(min_length=1)
    mdtrt_id: Text = Field(min_length=1)


class Input5203(Node):
    data: Data5203


def _setlinfo(call: Call, row: Settlement, person: Person, visit: Visit | None) -> dict[str, Any]:
    """interface.md 3.1 plus the 5203 fields; a cancellation row shows its own (negative) amounts."""
    inst = call.institution
    info = render.setlinfo_of_row(row, person, mdtrt_cert_type=(visit.mdtrt_cert_type if visit else None) or "",
                                  a_form=True)
    began = visit.begntime if visit else row.setl_time
    ended = visit.endtime if visit and visit.endtime else row.setl_time
    info.update(
        flxempe_flag="1" if person.psn_type in FLEXIBLY_EMPLOYED else "0",
        nwb_flag="1" if person.psn_type == NEWBORN else "0",
        insu_optins=row.insu_admdvs, emp_name=person.emp_name or "", pay_loc=row.pay_loc,
        fixmedins_code=inst.code, fixmedins_name=inst.name, hosp_lv=inst.level or "",
        fixmedins_poolarea=inst.admdvs, lmtpric_hosp_lv=inst.level or "", dedc_hosp_lv=inst.level or "",
        begndate=began.date().isoformat(), enddate=ended.date().isoformat(),
        psn_pay=row.psn_part_amt, cash_payamt=row.psn_cash_pay, refd_setl_flag=row.refd_setl_flag,
        year=str(row.year), dise_codg=row.dise_codg or "", dise_name=row.dise_name or "", invono=row.invono or "",
        opter_id=row.opter or "", opter_name=row.opter_name or "", opt_time=f"{row.setl_time:{TIME}}",
        # yibao's additions: where the record stands, and the record at the other end of a cancellation
        setl_stas=row.status, init_setl_id=row.init_setl_id or "",
        refd_setl_id=_cancellation_of(call, row.setl_id) if row.status == "cancelled" else "")
    return info


@interface("5203", "结算信息查询", Input5203)
def settlement_query(call: Call, data: Input5203) -> dict:
    d = data.data
    row = _own_settlement(call, d.setl_id, d.mdtrt_id, d.psn_no)
    person = _person(call, d.psn_no)
    if row.refd_setl_flag == "1" and row.init_setl_id:
        funds = render.setldetail(settlement.funds_of(call.session, row.init_setl_id), sign=-1)
    else:
        funds = render.setldetail(settlement.funds_of(call.session, row.setl_id))
    return {"setlinfo": _setlinfo(call, row, person, call.session.get(Visit, row.mdtrt_id)), "setldetail": funds}


# -- 5204 fee-detail query ------------------------------------------------------------------------------

class Data5204(Node):
    psn_no: Text = Field(min_length=1)
    setl_id: Text = ""
    mdtrt_id: Text = Field(min_length=1)


class Input5204(Node):
    data: Data5204


def _fee_row(line: FeeDetail, psn_no: str, setl: Settlement | None) -> dict[str, Any]:
    """A fee line as uploaded (its raw fields), its split (interface.md 3.3) and the 5204 additions."""
    raw = line.raw or {}
    return {
        **raw,
        "feedetl_sn": line.feedetl_sn, "mdtrt_id": line.mdtrt_id, "psn_no": psn_no,
        "chrg_bchno": line.chrg_bchno or "", "init_feedetl_sn": line.init_feedetl_sn or "",
        "dise_codg": line.dise_codg or "", "fee_ocur_time": f"{line.fee_ocur_time:{TIME}}",
        "med_list_codg": line.med_list_codg, "medins_list_codg": line.medins_list_codg or "",
        **fees.result_row(line.feedetl_sn, line.cnt, line.pric, fees.split_to_line(line)),
        "setl_id": line.setl_id or "", "rx_drord_no": raw.get("rxno") or raw.get("drord_no") or "",
        "hilist_code": line.med_list_codg, "hilist_name": line.list_name or "",
        "medins_list_name": raw.get("medins_list_name") or line.list_name or "",
        "list_type": raw.get("list_type", ""), "prodname": "", "spec": "", "dosform_name": "",
        "hosp_prep_flag": "0", "prodplac_type": "",
        "opter_id": (setl.opter or "") if setl else "", "opter_name": (setl.opter_name or "") if setl else "",
        "opt_time": f"{setl.setl_time:{TIME}}" if setl else "",
    }


@interface("5204", "费用明细查询", Input5204)
def fee_query(call: Call, data: Input5204) -> dict:
    d = data.data
    visit = _own_visit(call, d.mdtrt_id, d.psn_no)
    q = select(FeeDetail).where(FeeDetail.mdtrt_id == visit.mdtrt_id)
    if d.setl_id:
        row = _own_settlement(call, d.setl_id, d.mdtrt_id, d.psn_no)
        if row.refd_setl_flag == "1":
            raise refuse("input.data.setl_id", f"{row.setl_id} is the cancellation of settlement {row.init_setl_id}; "
                                               "it has no fee lines of its own")
        if row.status != "settled":
            raise refuse("input.data.setl_id", f"settlement {row.setl_id} was cancelled; its fee lines went back to "
                                               "the visit: query them with setl_id empty")
        q = q.where(FeeDetail.setl_id == row.setl_id)
    _person(call, d.psn_no)
    lines = list(call.session.scalars(q.order_by(FeeDetail.id)))
    settled = {s.setl_id: s for s in call.session.scalars(select(Settlement).where(
        Settlement.setl_id.in_(sorted({x.setl_id for x in lines if x.setl_id}))))} if lines else {}
    return {"data": [_fee_row(x, visit.psn_no, settled.get(x.setl_id or "")) for x in lines]}


# -- 5205 chronic/special-disease drug history ----------------------------------------------------------

class Data5205(Node):
    psn_no: Text = Field(min_length=1)
    begntime: Begin
    endtime: End


class Input5205(Node):
    data: Data5205


@interface("5205", "人员慢特病用药记录查询", Input5205)
def chronic_drug_history(call: Call, data: Input5205) -> dict:
    d = data.data
    if d.endtime < d.begntime:
        raise refuse("input.data.endtime", f"{d.endtime:{TIME}} is before begntime {d.begntime:{TIME}}")
    person = _person(call, d.psn_no)
    rows = call.session.execute(
        select(FeeDetail, Settlement).join(Settlement, FeeDetail.setl_id == Settlement.setl_id)
        .where(Settlement.psn_no == person.psn_no, Settlement.fixmedins_code == call.institution.code,
               Settlement.status == "settled", Settlement.med_type.startswith(CHRONIC_MED_TYPE),
               FeeDetail.fee_ocur_time >= d.begntime, FeeDetail.fee_ocur_time <= d.endtime)
        .order_by(FeeDetail.fee_ocur_time, FeeDetail.id)).all()
    inst = call.institution
    out = []
    for line, setl in rows:
        raw = line.raw or {}
        out.append({
            "feedetl_sn": line.feedetl_sn, "mdtrt_id": line.mdtrt_id, "setl_id": setl.setl_id,
            "psn_no": person.psn_no, "fixmedins_code": inst.code, "fixmedins_name": inst.name,
            "med_type": setl.med_type, "dise_codg": setl.dise_codg or "", "dise_name": setl.dise_name or "",
            "fee_ocur_time": f"{line.fee_ocur_time:{TIME}}", "setl_time": f"{setl.setl_time:{TIME}}",
            "med_list_codg": line.med_list_codg, "medins_list_codg": line.medins_list_codg or "",
            "hilist_code": line.med_list_codg, "hilist_name": line.list_name or "",
            "chrgitm_lv": line.chrgitm_lv, "med_chrgitm_type": line.med_chrgitm_type or "",
            "cnt": line.cnt, "pric": line.pric, "det_item_fee_sumamt": line.det_item_fee_sumamt,
            "sin_dos_dscr": raw.get("sin_dos_dscr", ""), "used_frqu_dscr": raw.get("used_frqu_dscr", ""),
            "prd_days": raw.get("prd_days", ""), "medc_way_dscr": raw.get("medc_way_dscr", ""),
        })
    return {"data": out}


# -- reconciliation: the settlement records in scope ----------------------------------------------------

def _window(begin: date, end: date) -> tuple[datetime, datetime]:
    if end < begin:
        raise refuse("input.data.stmt_enddate", f"{end} is before stmt_begndate {begin}")
    return datetime.combine(begin, time.min), datetime.combine(end + timedelta(days=1), time.min)


def _in_scope(call: Call, setl_optins: str, begin: date, end: date, *, insutype: str = "", clr_type: str = "",
              refd_setl_flag: str = "") -> list[ColumnElement[bool]]:
    """This institution's settlement records cleared by `setl_optins`, settled within the dates. refd_setl_flag
    "0" leaves the cancellation rows out; "1" or empty keeps them (they carry negative amounts)."""
    start, stop = _window(begin, end)
    where = [Settlement.fixmedins_code == call.institution.code, Settlement.clr_optins == setl_optins,
             Settlement.setl_time >= start, Settlement.setl_time < stop]
    if insutype:
        where.append(Settlement.insutype == insutype)
    if clr_type:
        where.append(Settlement.clr_type == clr_type)
    if refd_setl_flag == "0":
        where.append(Settlement.refd_setl_flag == "0")
    return where


def _differences(figures: list[tuple[str, Any, Any]]) -> list[str]:
    return [f"{name}: institution {mine}, platform {ours}" for name, mine, ours in figures if mine != ours]


def _stmtinfo(setl_optins: str, problems: list[str], count: int) -> dict[str, str]:
    return {"setl_optins": setl_optins, "stmt_rslt": "1" if problems else "0",
            "stmt_rslt_dscr": "; ".join(problems) if problems else f"balanced: {count} settlement records"}


# -- 3201 totals ----------------------------------------------------------------------------------------

class Data3201(Node):
    insutype: InsuType
    clr_type: code("clr_type")
    setl_optins: Text = Field(min_length=1)
    stmt_begndate: Day
    stmt_enddate: Day
    medfee_sumamt: Amount
    fund_pay_sumamt: Amount
    acct_pay: Amount
    fixmedins_setl_cnt: Count
    refd_setl_flag: RefdFilter = ""


class Input3201(Node):
    data: Data3201


@interface("3201", "医药机构费用结算对总账", Input3201)
def reconcile_totals(call: Call, data: Input3201) -> dict:
    d = data.data
    where = _in_scope(call, d.setl_optins, d.stmt_begndate, d.stmt_enddate, insutype=d.insutype,
                      clr_type=d.clr_type, refd_setl_flag=d.refd_setl_flag)
    medfee, fund, acct, count = call.session.execute(select(
        func.coalesce(func.sum(Settlement.medfee_sumamt), 0), func.coalesce(func.sum(Settlement.fund_pay_sumamt), 0),
        func.coalesce(func.sum(Settlement.acct_pay), 0), func.count()).where(*where)).one()
    problems = _differences([("medfee_sumamt", d.medfee_sumamt, medfee), ("fund_pay_sumamt", d.fund_pay_sumamt, fund),
                             ("acct_pay", d.acct_pay, acct), ("fixmedins_setl_cnt", d.fixmedins_setl_cnt, count)])
    return {"stmtinfo": _stmtinfo(d.setl_optins, problems, count)}


# -- 3202 details ---------------------------------------------------------------------------------------

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


def _result_row(source: Settlement | DetailLine, memo: str) -> dict[str, Any]:
    return {"psn_no": source.psn_no, "mdtrt_id": source.mdtrt_id, "setl_id": source.setl_id,
            "msgid": (source.msgid or "") if isinstance(source, Settlement) else "", "stmt_rslt": "1",
            "refd_setl_flag": source.refd_setl_flag, "memo": memo, "medfee_sumamt": source.medfee_sumamt,
            "fund_pay_sumamt": source.fund_pay_sumamt, "acct_pay": source.acct_pay}


def compare_details(theirs: list[DetailLine], ours: list[Settlement],
                    known: dict[str, Settlement]) -> list[dict[str, Any]]:
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
        differs = _differences([(name, getattr(line, name), getattr(s, name)) for name in COMPARED])
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


def _result_zip(stem: str, rows: list[dict[str, Any]], now: datetime) -> bytes:
    text = "".join("\t".join(str(r[c]) for c in RESULT_COLUMNS) + "\n" for r in rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(f"{stem}.txt", date_time=now.timetuple()[:6]), text.encode("utf-8"),
                         compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


class Data3202(Node):
    setl_optins: Text = Field(min_length=1)
    file_qury_no: Text = Field(min_length=1)
    stmt_begndate: Day
    stmt_enddate: Day
    medfee_sumamt: Amount
    fund_pay_sumamt: Amount
    cash_payamt: Amount
    fixmedins_setl_cnt: Count
    clr_type: code("clr_type", empty=True) = ""
    refd_setl_flag: RefdFilter = ""


class Input3202(Node):
    data: Data3202


@interface("3202", "医药机构费用结算对明细账", Input3202)
def reconcile_details(call: Call, data: Input3202) -> dict:
    d = data.data
    where = _in_scope(call, d.setl_optins, d.stmt_begndate, d.stmt_enddate, clr_type=d.clr_type,
                      refd_setl_flag=d.refd_setl_flag)
    uploaded = own_file(call, d.file_qury_no, "input.data.file_qury_no")
    theirs = read_detail_file(uploaded.content, "input.data.file_qury_no")
    if d.refd_setl_flag == "0":
        theirs = [x for x in theirs if x.refd_setl_flag == "0"]
    ours = list(call.session.scalars(select(Settlement).where(*where).order_by(
        Settlement.setl_time, Settlement.refd_setl_flag, Settlement.setl_id)))
    ours_ids = {s.setl_id for s in ours}
    strangers = sorted({x.setl_id for x in theirs} - ours_ids)
    known = {s.setl_id: s for s in call.session.scalars(select(Settlement).where(
        Settlement.setl_id.in_(strangers), Settlement.fixmedins_code == call.institution.code))} if strangers else {}
    rows = compare_details(theirs, ours, known)

    totals = _differences([
        ("medfee_sumamt", d.medfee_sumamt, sum((s.medfee_sumamt for s in ours), Decimal("0.00"))),
        ("fund_pay_sumamt", d.fund_pay_sumamt, sum((s.fund_pay_sumamt for s in ours), Decimal("0.00"))),
        ("cash_payamt", d.cash_payamt, sum((s.psn_cash_pay for s in ours), Decimal("0.00"))),
        ("fixmedins_setl_cnt", d.fixmedins_setl_cnt, len(ours))])
    if rows:
        totals.append(f"{len(rows)} settlement records differ or are on one side only (see the result file)")
    stem = f"3202_{d.setl_optins}_{d.stmt_begndate:%Y%m%d}_{d.stmt_enddate:%Y%m%d}"
    result = store_file(call, f"{stem}.zip", _result_zip(stem, rows, call.now))
    return {"fileinfo": file_info(result), "stmtinfo": _stmtinfo(d.setl_optins, totals, len(ours))}
