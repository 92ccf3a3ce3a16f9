"""Monthly declaration (申报, rules.md section 7, seed 004 art. 25(一), seed 001 四): an institution declares
month M on the days its region allows; the declaration covers every settlement since its previous one up to
the end of M, cancellations included as their negative records, and is summed in SQL (set-based): level 1
on the declaration row, level 2 in declaration_lines, level 3 is the settlements themselves (2704).

A declaration's interval starts where the institution's previous one ended, so a settlement falls in exactly
one declaration: declared once, ever. A month not declared in time rolls into the next declaration.
Coordination claims (kind "coordination") are paid to the person, not the institution, and are left out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, func, insert, literal, select, tuple_
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.money import ZERO
from yibao.observe.metrics import monthly_step
from yibao.rules.monthly import Cycle, month_end, month_of, shift, window_problem
from yibao.rules.payment_funds import mutual_aid_fund
from yibao.rules.setl_list import list_state
from yibao.store.models import (
    Account,
    AccountEntry,
    Declaration,
    DeclarationLine,
    DeclarationMutualAid,
    Institution,
    Person,
    Region,
    ReviewRejection,
    SetlList,
    Settlement,
)

S = Settlement
AMOUNTS = ("medfee_sumamt", "hifp_pay", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")


def cycle_of(session: Session, admdvs: str) -> Cycle:
    region = session.get(Region, admdvs)
    return Cycle.of(region.settings if region is not None else None)


def covered(decl: Declaration, code: str | None = None) -> Any:
    """The SQL condition selecting the settlements a declaration covers."""
    cond = [S.fixmedins_code == (code or decl.fixmedins_code), S.setl_time < decl.covers_to, S.kind != "coordination"]
    if decl.covers_from is not None:
        cond.append(S.setl_time >= decl.covers_from)
    return and_(*cond)


def latest(session: Session, code: str) -> Declaration | None:
    return session.scalar(select(Declaration).where(Declaration.fixmedins_code == code)
                          .order_by(Declaration.covers_to.desc()).limit(1))


def find(session: Session, decl_id: str, lock: bool = False) -> Declaration | None:
    q = select(Declaration).where(Declaration.decl_id == decl_id)
    return session.scalar(q.with_for_update() if lock else q)


def of_month(session: Session, code: str, ym: str) -> Declaration | None:
    return session.scalar(select(Declaration).where(Declaration.fixmedins_code == code, Declaration.setl_ym == ym))


def _rolled_months(session: Session, code: str, ym: str, previous: Declaration | None) -> list[str]:
    """The months before ym whose settlements this declaration takes over because nobody declared them."""
    if previous is not None:
        first = shift(previous.setl_ym, 1)
    else:
        earliest = session.scalar(select(func.min(S.setl_time)).where(S.fixmedins_code == code,
                                                                      S.kind != "coordination"))
        if earliest is None:
            return []
        first = month_of(earliest.date())
    months = []
    while first < ym:
        months.append(first)
        first = shift(first, 1)
    return months


@monthly_step("declare")
def declare(session: Session, institution: Institution, ym: str, today: date, now: datetime) -> Declaration:
    """Declare month ym for the institution. Raises Refusal outside the window, for a month already declared,
    or for a month before one already declared."""
    problem = window_problem(ym, "declare", cycle_of(session, institution.admdvs), today)
    if problem:
        raise refuse("setl_ym", f"{problem}; an undeclared month rolls into the next month's declaration")
    # one declaring transaction per institution at a time: lock the institution row
    session.scalar(select(Institution).where(Institution.code == institution.code).with_for_update())
    if of_month(session, institution.code, ym) is not None:
        raise refuse("setl_ym", f"{ym} is already declared by {institution.code}: a month is declared once")
    previous = latest(session, institution.code)
    if previous is not None and previous.setl_ym > ym:
        raise refuse("setl_ym", f"{institution.code} already declared {previous.setl_ym}, after {ym}: "
                                f"its settlements were in that declaration")
    decl = Declaration(
        decl_id=f"D{institution.code}{ym.replace('-', '')}", fixmedins_code=institution.code,
        admdvs=institution.admdvs, setl_ym=ym, covers_from=previous.covers_to if previous else None,
        covers_to=month_end(ym), rolled_months=_rolled_months(session, institution.code, ym, previous),
        declared_at=now, status="declared", setl_cnt=0, medfee_sumamt=ZERO, fund_pay_sumamt=ZERO, acct_pay=ZERO,
        acct_mulaid_pay=ZERO, psn_cash_pay=ZERO, payable=ZERO, redeclared=ZERO, rejected=ZERO, deducted=ZERO)
    session.add(decl)
    session.flush()
    _insert_lines(session, decl)
    _insert_mutual_aid(session, decl)
    _sum_lines(session, decl)
    decl.redeclared = _take_agreed_rejections(session, decl)
    return decl


def _insert_lines(session: Session, decl: Declaration) -> None:
    refd = func.sum(func.cast(S.refd_setl_flag == "1", DeclarationLine.refd_cnt.type))
    source = (select(literal(decl.decl_id), S.insu_admdvs, S.insutype, S.clr_type,
                     func.count(), refd, *(func.sum(getattr(S, a)) for a in AMOUNTS),
                     func.sum(S.fund_pay_sumamt) + func.sum(S.acct_pay))
              .where(covered(decl)).group_by(S.insu_admdvs, S.insutype, S.clr_type))
    L = DeclarationLine
    session.execute(insert(L).from_select(
        ["decl_id", "insu_admdvs", "insutype", "clr_type", "setl_cnt", "refd_cnt", *AMOUNTS, "payable"], source))


def _insert_mutual_aid(session: Session, decl: Declaration) -> None:
    """Mutual-aid money by the region of the account it came from: the journal's movements of other people's
    accounts (authorization_id set) for the settlements covered, debits positive here."""
    source = (select(literal(decl.decl_id), S.insu_admdvs, S.insutype, Account.admdvs, -func.sum(AccountEntry.amount))
              .select_from(S).join(AccountEntry, AccountEntry.setl_id == S.setl_id)
              .join(Account, Account.psn_no == AccountEntry.psn_no)
              .where(covered(decl), S.acct_mulaid_pay != 0, AccountEntry.authorization_id.is_not(None))
              .group_by(S.insu_admdvs, S.insutype, Account.admdvs))
    session.execute(insert(DeclarationMutualAid).from_select(
        ["decl_id", "insu_admdvs", "insutype", "acct_admdvs", "amount"], source))
    # which fund pays each amount (Taiyuan's payment plan): a handful of rows per declaration, not per settlement
    for row in mutual_aid(session, decl.decl_id):
        row.pay_fund = mutual_aid_fund(decl.admdvs, row.insu_admdvs, row.insutype, row.acct_admdvs)
    session.flush()


def _sum_lines(session: Session, decl: Declaration) -> None:
    L = DeclarationLine
    row = session.execute(select(func.coalesce(func.sum(L.setl_cnt), 0),
                                 *(func.coalesce(func.sum(getattr(L, a)), 0) for a in
                                   ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay",
                                    "psn_cash_pay", "payable")))
                          .where(L.decl_id == decl.decl_id)).one()
    decl.setl_cnt = int(row[0])
    (decl.medfee_sumamt, decl.fund_pay_sumamt, decl.acct_pay, decl.acct_mulaid_pay, decl.psn_cash_pay,
     decl.payable) = row[1:]


def _take_agreed_rejections(session: Session, decl: Declaration) -> Decimal:
    """Rejections the agency has since agreed to pay are declared again with this declaration."""
    R = ReviewRejection
    agreed = list(session.scalars(select(R).where(R.fixmedins_code == decl.fixmedins_code, R.status == "agreed")
                                  .with_for_update()))
    for r in agreed:
        r.status, r.redeclared_in = "redeclared", decl.decl_id
    return sum((r.fund_pay + r.acct_pay for r in agreed), ZERO)


def lines(session: Session, decl_id: str) -> list[DeclarationLine]:
    L = DeclarationLine
    return list(session.scalars(select(L).where(L.decl_id == decl_id)
                                .order_by(L.insu_admdvs, L.insutype, L.clr_type)))


def mutual_aid(session: Session, decl_id: str) -> list[DeclarationMutualAid]:
    M = DeclarationMutualAid
    return list(session.scalars(select(M).where(M.decl_id == decl_id)
                                .order_by(M.insu_admdvs, M.insutype, M.acct_admdvs)))


# -- level 3: the settlements of a declaration (2704, annexes 5 and 8) --------------------------------------


@dataclass(frozen=True)
class DetailFilter:
    insutype: str | None = None
    clr_type: str | None = None
    insu_admdvs: str | None = None


def _detail_query(decl: Declaration, f: DetailFilter) -> Select[Any]:
    q = (select(S.setl_id, S.mdtrt_id, S.psn_no, Person.name.label("psn_name"), S.insutype, S.clr_type, S.setl_time,
                S.medfee_sumamt, S.fund_pay_sumamt, S.hifp_pay, S.acct_pay, S.psn_cash_pay, S.refd_setl_flag,
                S.acct_mulaid_pay, S.acct_admdvs, S.acct_mulaid_admdvs, S.insu_admdvs, S.med_type,
                S.status.label("setl_stas"), SetlList.setl_list_id)
         .select_from(S).outerjoin(Person, Person.psn_no == S.psn_no)
         # the settlement's current list (4101A), if any: a settlement without one is flagged, not refused
         .outerjoin(SetlList, and_(SetlList.setl_id == S.setl_id, SetlList.vali_flag == "1"))
         .where(covered(decl)))
    for column, value in ((S.insutype, f.insutype), (S.clr_type, f.clr_type), (S.insu_admdvs, f.insu_admdvs)):
        if value:
            q = q.where(column == value)
    return q


def _with_list_state(row: dict[str, Any]) -> dict[str, Any]:
    row["setl_list_stas"] = list_state(row["refd_setl_flag"], row["setl_stas"], row["setl_list_id"])
    return row


def detail_page(session: Session, decl: Declaration, f: DetailFilter, page_num: int,
                page_size: int) -> tuple[int, list[dict[str, Any]]]:
    q = _detail_query(decl, f)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.execute(q.order_by(S.setl_time, S.setl_id).offset((page_num - 1) * page_size).limit(page_size))
    return int(total), [_with_list_state(dict(r._mapping)) for r in rows]


def detail_rows(session: Session, decl: Declaration, f: DetailFilter | None = None,
                chunk: int = 5000) -> Iterator[dict[str, Any]]:
    """Every settlement of the declaration in time order, read in chunks by key (memory flat in N)."""
    q = _detail_query(decl, f or DetailFilter()).order_by(S.setl_time, S.setl_id)
    after: tuple[datetime, str] | None = None
    while True:
        page = q if after is None else q.where(tuple_(S.setl_time, S.setl_id) > tuple_(*after))
        rows = [_with_list_state(dict(r._mapping)) for r in session.execute(page.limit(chunk))]
        yield from rows
        if len(rows) < chunk:
            return
        after = (rows[-1]["setl_time"], rows[-1]["setl_id"])


def describe(decl: Declaration) -> dict[str, Any]:
    """A declaration as the API and the command print it."""
    return {k: getattr(decl, k) for k in (
        "decl_id", "fixmedins_code", "admdvs", "setl_ym", "rolled_months", "status", "declared_at", "reviewed_at",
        "allocated_at", "setl_cnt", "medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay",
        "psn_cash_pay", "payable", "redeclared", "rejected", "deducted", "approved")}
