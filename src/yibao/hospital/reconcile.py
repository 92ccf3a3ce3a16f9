"""Reconciliation from the kept outputs (seed 003): the hospital's own record of its settlements, not the
platform's, is what it declares. Each kept settlement output of a payment (2207 of bills, 2304 of a stay, 2102
of a sale) is a settlement record; each kept cancellation output (2208 / 2305 / 2103) a cancellation record
(its own setl_id `refd_setl_id`, the amounts negative, refd_setl_flag 1).

- 3201: totals per insutype x clr_type x clr_optins (interface.md 3201);
- 3202: per clr_optins, the 7-column tab-separated detail file, zipped, uploaded by 9101, then 3202; the
  platform's result file (9102) lists every record that differs or is on one side only."""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from yibao.client import PlatformError
from yibao.hospital.db import Payment
from yibao.hospital.errors import invalid, upstream
from yibao.hospital.insurance import loads
from yibao.money import ZERO

if TYPE_CHECKING:
    from yibao.hospital.context import Context

TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Record:
    setl_id: str
    mdtrt_id: str
    psn_no: str
    insutype: str
    clr_type: str
    clr_optins: str
    setl_time: datetime
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal
    psn_cash_pay: Decimal
    refd_setl_flag: str


def _amount(info: dict[str, Any], key: str, sign: int = 1) -> Decimal:
    return sign * Decimal(str(info.get(key, "0")))


def _record(info: dict[str, Any], setl_id: str, sign: int, flag: str) -> Record:
    return Record(setl_id=setl_id, mdtrt_id=str(info["mdtrt_id"]), psn_no=str(info["psn_no"]),
                  insutype=str(info.get("insutype", "")), clr_type=str(info.get("clr_type", "")),
                  clr_optins=str(info.get("clr_optins", "")),
                  setl_time=datetime.strptime(str(info["setl_time"]), TIME),
                  medfee_sumamt=_amount(info, "medfee_sumamt", sign),
                  fund_pay_sumamt=_amount(info, "fund_pay_sumamt", sign), acct_pay=_amount(info, "acct_pay", sign),
                  psn_cash_pay=_amount(info, "psn_cash_pay", sign), refd_setl_flag=flag)


def kept_records(hospital: Context, begin: date, end: date) -> list[Record]:
    """The settlement and cancellation records the hospital kept, settled within [begin, end]."""
    start, stop = datetime.combine(begin, time.min), datetime.combine(end + timedelta(days=1), time.min)
    with hospital.db.session() as s:
        rows = list(s.execute(select(Payment.out_settle, Payment.out_cancel).where(Payment.out_settle.is_not(None))
                              .order_by(Payment.id)))
    out = []
    for out_settle, out_cancel in rows:
        info = loads(out_settle)["setlinfo"]
        out.append(_record(info, str(info["setl_id"]), 1, "0"))
        if out_cancel:
            back = loads(out_cancel)["setlinfo"]
            out.append(_record(back, str(back["refd_setl_id"]), -1, "1"))
    return [r for r in out if start <= r.setl_time < stop]


def detail_zip(records: list[Record]) -> bytes:
    """The 3202 detail file: setl_id, mdtrt_id, psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag."""
    text = "".join("\t".join(str(c) for c in (r.setl_id, r.mdtrt_id, r.psn_no, r.medfee_sumamt, r.fund_pay_sumamt,
                                              r.acct_pay, r.refd_setl_flag)) + "\n" for r in records)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("detail.txt", text.encode("utf-8"))
    return buffer.getvalue()


def _sum(records: list[Record], key: str) -> Decimal:
    return sum((getattr(r, key) for r in records), ZERO)


def reconcile(hospital: Context, begin: date, end: date) -> dict[str, Any]:
    """3201 for each insutype x clr_type x clr_optins, and 3202 for each clr_optins, over the kept records."""
    if end < begin:
        raise invalid(f"end: {end} is before begin {begin}")
    records = kept_records(hospital, begin, end)
    ins = hospital.insurance
    common = {"stmt_begndate": begin.isoformat(), "stmt_enddate": end.isoformat()}
    totals, details = [], []
    try:
        groups: dict[tuple[str, str, str], list[Record]] = {}
        for r in records:
            groups.setdefault((r.insutype, r.clr_type, r.clr_optins), []).append(r)
        for (insutype, clr_type, optins), rows in sorted(groups.items()):
            out = ins.ok("3201", {"data": {
                "insutype": insutype, "clr_type": clr_type, "setl_optins": optins, **common,
                "medfee_sumamt": str(_sum(rows, "medfee_sumamt")),
                "fund_pay_sumamt": str(_sum(rows, "fund_pay_sumamt")),
                "acct_pay": str(_sum(rows, "acct_pay")), "fixmedins_setl_cnt": len(rows)}})
            totals.append({"insutype": insutype, "clr_type": clr_type, "setl_optins": optins, "records": len(rows),
                           **out["stmtinfo"]})
        by_optins: dict[str, list[Record]] = {}
        for r in records:
            by_optins.setdefault(r.clr_optins, []).append(r)
        for optins, rows in sorted(by_optins.items()):
            up = ins.ok("9101", {"fsUploadIn": {"in": base64.b64encode(detail_zip(rows)).decode("ascii"),
                                                "filename": f"detail_{optins}.zip",
                                                "fixmedins_code": hospital.config.fixmedins_code}})
            out = ins.ok("3202", {"data": {
                "setl_optins": optins, "file_qury_no": up["file_qury_no"], **common,
                "medfee_sumamt": str(_sum(rows, "medfee_sumamt")),
                "fund_pay_sumamt": str(_sum(rows, "fund_pay_sumamt")),
                "cash_payamt": str(_sum(rows, "psn_cash_pay")), "fixmedins_setl_cnt": len(rows)}})
            details.append({"setl_optins": optins, "records": len(rows), **out["stmtinfo"],
                            "differences": _result_rows(hospital, out.get("fileinfo") or {})})
    except PlatformError as exc:
        raise upstream(f"{exc.infno}: {exc.err_msg}", refused=bool(exc.response)) from None
    balanced = all(t["stmt_rslt"] == "0" for t in totals + details)
    return {"begin": begin.isoformat(), "end": end.isoformat(), "records": len(records), "balanced": balanced,
            "totals": totals, "details": details}


RESULT_COLUMNS = ("psn_no", "mdtrt_id", "setl_id", "msgid", "stmt_rslt", "refd_setl_flag", "memo",
                  "medfee_sumamt", "fund_pay_sumamt", "acct_pay")


def _result_rows(hospital: Context, fileinfo: dict[str, Any]) -> list[dict[str, str]]:
    """The platform's 3202 result file (9102): one row per record that differs or is on one side only."""
    if not fileinfo.get("file_qury_no"):
        return []
    out = hospital.insurance.ok("9102", {"fsDownloadIn": {"file_qury_no": fileinfo["file_qury_no"],
                                                          "filename": fileinfo.get("filename", ""),
                                                          "fixmedins_code": hospital.config.fixmedins_code}})
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(out["file"]))) as archive:
        rows = []
        for name in archive.namelist():
            for line in archive.read(name).decode("utf-8").splitlines():
                if line.strip():
                    rows.append(dict(zip(RESULT_COLUMNS, line.split("\t"), strict=False)))
        return rows
