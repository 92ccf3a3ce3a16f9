"""Cross-region clearing on the treatment side (异地清分, interface.md 3260/3261/3262, seed 003): an institution
extracts the month's settlements of persons insured elsewhere in the province, confirms each (cnfm_flag 1) or
leaves it out (0) by its region's last confirmation day, and may roll a confirmation back in that time.
The confirmed rows give the month's clearing balance between each pair of regions."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Select, func, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.money import ZERO
from yibao.platform.declaration import cycle_of
from yibao.rules.monthly import confirm_problem, month_end, month_start
from yibao.store.models import ClearingConfirmation, ClearingConfirmItem, Institution, Person, Settlement
from yibao.store.types import Money

S = Settlement
PAGE_LIMIT = 100


_ST, _PT = Settlement.__table__, Person.__table__


def _extract_query(institution: Institution, ym: str) -> Select[Any]:
    """The month's rows of the extract in SQLAlchemy Core: no ORM objects, and the amounts read as their stored
    integer fen (the payable summed in SQL), not through Money's conversion of each column of each row."""
    province = institution.admdvs[:2]
    t = _ST.c
    return (select(t.setl_id, t.mdtrt_id, t.setl_time, type_coerce(t.medfee_sumamt, BigInteger()),
                   type_coerce(t.fund_pay_sumamt, BigInteger()) + type_coerce(t.acct_pay, BigInteger()),
                   t.refd_setl_flag, t.insu_admdvs, _PT.c.certno)
            .select_from(_ST.outerjoin(_PT, _PT.c.psn_no == t.psn_no))
            .where(t.fixmedins_code == institution.code, t.setl_time >= month_start(ym), t.setl_time < month_end(ym),
                   t.kind != "coordination", t.insu_admdvs != institution.admdvs, t.insu_admdvs.like(province + "%")))


def _rows(institution: Institution, first: int, rows: Iterable[Any]) -> Iterator[dict[str, Any]]:
    """The extract's rows from the query's tuples. Stored fen become two-place yuan as Money reads them
    (Decimal(12345).scaleb(-2) is Decimal("123.45"), of 0 Decimal("0.00")), once per amount."""
    area, code, yuan = institution.admdvs, institution.code, Decimal
    for seqno, (setl_id, mdtrt_id, setl_time, medfee, payable, refd, insu, certno) in enumerate(rows, first):
        yield {"seqno": seqno, "mdtrtarea": area, "medins_no": code, "certno": certno, "mdtrt_id": mdtrt_id,
               "mdtrt_setl_time": setl_time, "setl_sn": setl_id, "fulamt_advpay_flag": "0",
               "medfee_sumamt": yuan(medfee).scaleb(-2), "optins_pay_sumamt": yuan(payable).scaleb(-2),
               "refd_setl_flag": refd, "insu_admdvs": insu}


def extract_page(session: Session, institution: Institution, ym: str, startrow: int,
                 limit: int = PAGE_LIMIT) -> tuple[int, list[dict[str, Any]]]:
    """Rows startrow.. (1-based) of the month's extract, in time order, and the total."""
    q = _extract_query(institution, ym)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    t = _ST.c
    rows = session.execute(q.order_by(t.setl_time, t.setl_id).offset(startrow - 1).limit(limit)).all()
    return int(total), list(_rows(institution, startrow, rows))


def extract_all(session: Session, institution: Institution, ym: str, chunk: int = 5000) -> Iterator[dict[str, Any]]:
    """The whole extract, read in chunks by key: memory flat in the number of rows."""
    t = _ST.c
    q = _extract_query(institution, ym).order_by(t.setl_time, t.setl_id)
    seqno = 1
    page = q
    while True:
        rows = session.execute(page.limit(chunk)).all()
        yield from _rows(institution, seqno, rows)
        if len(rows) < chunk:
            return
        seqno += len(rows)
        last = rows[-1]
        page = q.where(tuple_(t.setl_time, t.setl_id) > tuple_(last[2], last[0]))


@dataclass(frozen=True)
class ConfirmLine:
    setl_sn: str
    mdtrt_id: str
    medfee_sumamt: Decimal
    optins_pay_sumamt: Decimal
    cnfm_flag: str


def standing(session: Session, code: str, ym: str) -> ClearingConfirmation | None:
    return session.scalar(select(ClearingConfirmation).where(
        ClearingConfirmation.fixmedins_code == code, ClearingConfirmation.trt_ym == ym,
        ClearingConfirmation.status == "confirmed"))


def confirm(session: Session, institution: Institution, ym: str, totalrow: int, lines: list[ConfirmLine],
            today: date, now: datetime) -> ClearingConfirmation:
    """3261: every row of the extract answered once, with the extract's own figures."""
    problem = confirm_problem(ym, cycle_of(session, institution.admdvs), today)
    if problem:
        raise refuse("input.data.trt_month", problem)
    session.scalar(select(Institution).where(Institution.code == institution.code).with_for_update())
    if (done := standing(session, institution.code, ym)) is not None:
        raise refuse("input.data", f"{ym} is already confirmed by transaction {done.otransid}: "
                                   f"roll it back with 3262 before confirming again")
    extract = {r["setl_sn"]: r for r in extract_all(session, institution, ym)}
    if totalrow != len(lines):
        raise refuse("input.data.totalrow", f"{totalrow} does not match the {len(lines)} detail rows sent")
    if len(lines) != len(extract):
        raise refuse("input.detail", f"the extract of {ym} has {len(extract)} rows and every one must be answered "
                                     f"(cnfm_flag 1 or 0); {len(lines)} were sent")
    seen: set[str] = set()
    for k, line in enumerate(lines):
        row = extract.get(line.setl_sn)
        where = f"input.detail[{k}]"
        if row is None:
            raise refuse(f"{where}.setl_sn", f"{line.setl_sn} is not in the extract of {ym}")
        if line.setl_sn in seen:
            raise refuse(f"{where}.setl_sn", f"{line.setl_sn} is answered twice")
        seen.add(line.setl_sn)
        for field in ("mdtrt_id", "medfee_sumamt", "optins_pay_sumamt"):
            if getattr(line, field) != row[field]:
                raise refuse(f"{where}.{field}", f"{getattr(line, field)} differs from the extract ({row[field]})")
    otransid = f"C{institution.code}{now:%y%m%d%H%M%S}{secrets.randbelow(10**4):04d}"
    conf = ClearingConfirmation(otransid=otransid, fixmedins_code=institution.code, trt_ym=ym, totalrow=totalrow,
                                status="confirmed", confirmed_at=now)
    session.add(conf)
    session.add_all(ClearingConfirmItem(otransid=otransid, setl_id=line.setl_sn, cnfm_flag=line.cnfm_flag)
                    for line in lines)
    session.flush()
    return conf


def roll_back(session: Session, institution: Institution, ym: str, otransid: str, today: date,
              now: datetime) -> ClearingConfirmation:
    """3262: the confirmation no longer stands; the month can be confirmed again until the last day."""
    problem = confirm_problem(ym, cycle_of(session, institution.admdvs), today)
    if problem:
        raise refuse("input.data.trt_month", problem.replace("confirmed", "confirmed or rolled back"))
    conf = session.get(ClearingConfirmation, otransid, with_for_update=True)
    if conf is None or conf.fixmedins_code != institution.code or conf.trt_ym != ym:
        raise refuse("input.data.otransid", f"no confirmation {otransid} of {institution.code} for {ym}")
    if conf.status != "confirmed":
        raise refuse("input.data.otransid", f"confirmation {otransid} was already rolled back")
    conf.status, conf.rolled_back_at = "rolled_back", now
    return conf


def _payable_sum() -> Any:
    """SUM(fund_pay_sumamt) + SUM(acct_pay) read back as money: the sum of two Money sums is typed as their
    integer storage (fen) unless told otherwise."""
    return type_coerce(func.sum(S.fund_pay_sumamt) + func.sum(S.acct_pay), Money())


def summary(session: Session, otransid: str) -> dict[str, Any]:
    rows = session.execute(select(ClearingConfirmItem.cnfm_flag, func.count(), _payable_sum())
                           .join(S, S.setl_id == ClearingConfirmItem.setl_id)
                           .where(ClearingConfirmItem.otransid == otransid).group_by(ClearingConfirmItem.cnfm_flag))
    out = {"cnfm_cnt": 0, "cnfm_amt": ZERO, "uncnfm_cnt": 0, "uncnfm_amt": ZERO}
    for flag, count, fen in rows:
        prefix = "cnfm" if flag == "1" else "uncnfm"
        out[f"{prefix}_cnt"], out[f"{prefix}_amt"] = int(count), fen or ZERO
    return out


def pair_balances(session: Session, province: str, ym: str) -> list[dict[str, Any]]:
    """The month's confirmed cross-region amounts between each pair of regions of the province: what each
    treated for the other's insured, and the net the second owes the first (negative: the first owes)."""
    C, Item = ClearingConfirmation, ClearingConfirmItem
    rows = session.execute(
        select(Institution.admdvs, S.insu_admdvs, func.count(), func.sum(S.medfee_sumamt), _payable_sum())
        .select_from(Item).join(C, C.otransid == Item.otransid).join(S, S.setl_id == Item.setl_id)
        .join(Institution, Institution.code == S.fixmedins_code)
        .where(C.trt_ym == ym, C.status == "confirmed", Item.cnfm_flag == "1",
               Institution.admdvs.like(province[:2] + "%"))
        .group_by(Institution.admdvs, S.insu_admdvs))
    flows: defaultdict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, ZERO, ZERO])
    for treated_in, insured_in, count, medfee, pay in rows:
        flows[(treated_in, insured_in)] = [int(count), medfee, pay]
    out = []
    for a, b in sorted({tuple(sorted(k)) for k in flows}):
        ab, ba = flows[(a, b)], flows[(b, a)]
        out.append({"setl_ym": ym, "region_a": a, "region_b": b, "a_treated_for_b_cnt": ab[0],
                    "a_treated_for_b": ab[2], "b_treated_for_a_cnt": ba[0], "b_treated_for_a": ba[2],
                    "net_b_owes_a": ab[2] - ba[2]})
    return out
