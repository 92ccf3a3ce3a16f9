"""The monthly cross-region clearing on the hospital's side (seed 003 异地门诊月结, by day 5-8 of the next month):
3260 fetches the month's details page by page, 3261 confirms every row (cnfm_flag 1, or 0 for the rows the
hospital leaves out), 3262 rolls a confirmation back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from yibao.client import PlatformError
from yibao.hospital.errors import invalid, upstream

if TYPE_CHECKING:
    from yibao.hospital.context import Context

ANSWERED = ("certno", "mdtrt_id", "mdtrt_setl_time", "setl_sn", "medfee_sumamt", "optins_pay_sumamt")


def parse_month(ym: str) -> tuple[int, int]:
    """YYYY-MM (or YYYYMM) as (year, month)."""
    text = ym.strip().replace("-", "")
    if len(text) != 6 or not text.isdigit() or not 1 <= int(text[4:]) <= 12:
        raise invalid(f"month: {ym!r} is not a month as YYYY-MM")
    return int(text[:4]), int(text[4:])


def fetch(hospital: Context, ym: str) -> dict[str, Any]:
    """3260, every page: the month's rows, their total, and whether (by which otransid) it stands confirmed."""
    year, month = parse_month(ym)
    rows: list[dict[str, Any]] = []
    first: dict[str, Any] = {}
    try:
        while True:
            out = hospital.insurance.ok("3260", {"data": {"trt_year": year, "trt_month": month,
                                                          "startrow": len(rows) + 1}})
            first = first or out
            page = list(out.get("data") or [])
            rows.extend(page)
            if not page or len(rows) >= int(out.get("totalrow", 0)):
                break
    except PlatformError as exc:
        raise upstream(f"3260: {exc.err_msg}", refused=bool(exc.response)) from None
    return {"month": f"{year:04d}-{month:02d}", "totalrow": int(first.get("totalrow", len(rows))), "rows": rows,
            "cnfm_stas": first.get("cnfm_stas", ""), "otransid": first.get("otransid", "")}


def confirm(hospital: Context, ym: str, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """3260 (all pages), then 3261: every row confirmed (cnfm_flag 1) but those whose setl_sn is excluded."""
    year, month = parse_month(ym)
    extract = fetch(hospital, ym)
    unknown = set(exclude) - {str(r["setl_sn"]) for r in extract["rows"]}
    if unknown:
        raise invalid(f"exclude: {', '.join(sorted(unknown))} not in the extract of {extract['month']}")
    detail = [{k: r.get(k, "") for k in ANSWERED} | {"cnfm_flag": "0" if str(r["setl_sn"]) in exclude else "1"}
              for r in extract["rows"]]
    try:
        out = hospital.insurance.ok("3261", {"data": {"trt_year": year, "trt_month": month,
                                                      "totalrow": len(detail)}, "detail": detail})
    except PlatformError as exc:
        raise upstream(f"3261: {exc.err_msg}", refused=bool(exc.response)) from None
    return {"month": extract["month"], "rows": len(detail), "excluded": sorted(exclude), **out.get("result", {})}


def roll_back(hospital: Context, ym: str, otransid: str) -> dict[str, Any]:
    year, month = parse_month(ym)
    try:
        out = hospital.insurance.ok("3262", {"data": {"trt_year": year, "trt_month": month, "otransid": otransid}})
    except PlatformError as exc:
        raise upstream(f"3262: {exc.err_msg}", refused=bool(exc.response)) from None
    return {"month": f"{year:04d}-{month:02d}", **out.get("result", {})}
