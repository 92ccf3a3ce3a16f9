"""The tables of the monthly cycle, built from the cycle's own tables with set-based SQL; each is a `Report` that
renders as JSON, xlsx and PDF (reports/render.py). Titles, file names and which tables a month has are the
province's table set (reports/tablesets.py: Guangdong's annexes 3-20, Shanxi's tables, the generic set).

Every figure is read from the declaration lines, the allocation plan or the settlements themselves, so the
totals tie out to the settlements to the cent (tests/test_monthly_cycle.py checks it)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.money import ZERO
from yibao.platform import allocation as al
from yibao.platform import declaration as dc
from yibao.reports.centre import (
    clearing_balances,
    insurance_breakdown,
    mutual_aid_clearing,
    mutual_aid_payment,
    transfer_voucher,
)
from yibao.reports.columns import count_column, money_column, region_names
from yibao.reports.table import Column, Report
from yibao.reports.tablesets import CLASS_NAMES, TableSet, file_code, table_set
from yibao.rules.monthly import RESIDENT_INSUTYPES, insutype_class
from yibao.rules.setl_list import LIST_MISSING, LIST_NOT_NEEDED, LIST_UPLOADED
from yibao.store.models import (
    AllocationItem,
    Declaration,
    DeclarationLine,
    Institution,
    LiquidatedDamages,
    ReviewDeduction,
    ReviewRejection,
)

#: the level-3 tables flag a settlement whose list (4101A) is missing
LIST_STATE_NAMES = {LIST_UPLOADED: "已上传", LIST_MISSING: "未上传", LIST_NOT_NEEDED: ""}


def _class_filter(column: Any, cls: str) -> Any:
    return column.in_(RESIDENT_INSUTYPES) if cls == "resident" else column.not_in(RESIDENT_INSUTYPES)


def _meta(decl: Declaration, inst: Institution | None, cls: str) -> list[tuple[str, str]]:
    out = [
        *table_set(decl.admdvs).meta(decl.admdvs),
        ("医药机构", f"{decl.fixmedins_code} {inst.name if inst else ''}".strip()),
        ("结算年月", decl.setl_ym),
        ("险种", CLASS_NAMES[cls]),
        ("申报编号", decl.decl_id),
        ("申报时间", f"{decl.declared_at:%Y-%m-%d %H:%M}"),
    ]
    if decl.rolled_months:
        out.append(("顺延月份", "、".join(decl.rolled_months)))
    return out


DECL_AMOUNTS = [
    count_column("setl_cnt", "结算人次"),
    count_column("refd_cnt", "其中退费笔数"),
    money_column("medfee_sumamt", "医疗费总额"),
    money_column("fund_pay_sumamt", "基金支付"),
    money_column("hifp_pay", "其中统筹基金"),
    money_column("acct_pay", "个人账户支付"),
    money_column("acct_mulaid_pay", "其中共济支付"),
    money_column("psn_cash_pay", "个人现金支付"),
    money_column("payable", "申报金额(基金+个账)"),
]


def declaration(session: Session, decl: Declaration, cls: str, level: int) -> Report:
    """Annexes 3-5 (employees) and 6-8 (residents): level 1 the institution's total, level 2 by insured region
    and clearing category, level 3 one row per settlement (streamed)."""
    inst = session.get(Institution, decl.fixmedins_code)
    tables = table_set(decl.admdvs)
    title = tables.title("declaration", cls, level)
    code = file_code(tables, "declaration", decl.decl_id, cls, level)
    notes = list(tables.notes)
    L = DeclarationLine
    sums = [func.sum(getattr(L, c.key)).label(c.key) for c in DECL_AMOUNTS]
    base = select(*sums).where(L.decl_id == decl.decl_id, _class_filter(L.insutype, cls))
    if level == 1:
        row = dict(session.execute(base).one()._mapping)
        rows = [
            {
                "fixmedins_code": decl.fixmedins_code,
                "fixmedins_name": inst.name if inst else "",
                **{k: (v if v is not None else (0 if k.endswith("cnt") else ZERO)) for k, v in row.items()},
            }
        ]
        columns = [Column("fixmedins_code", "机构编码"), Column("fixmedins_name", "机构名称"), *DECL_AMOUNTS]
        return Report(code, title, columns, rows, meta=_meta(decl, inst, cls), notes=notes)
    if level == 2:
        names = region_names(session)
        q = (
            base.add_columns(L.insu_admdvs, L.clr_type)
            .group_by(L.insu_admdvs, L.clr_type)
            .order_by(L.insu_admdvs, L.clr_type)
        )
        rows = [{**r._mapping, "insu_name": names.get(r.insu_admdvs, "")} for r in session.execute(q)]
        columns = [
            Column("insu_admdvs", "参保地区划"),
            Column("insu_name", "参保地"),
            Column("clr_type", "清算类别"),
            *DECL_AMOUNTS,
        ]
        return Report(code, title, columns, rows, meta=_meta(decl, inst, cls), notes=notes)

    def settlements() -> Iterator[dict[str, Any]]:
        for r in dc.detail_rows(session, decl):
            if insutype_class(r["insutype"]) == cls:
                yield {
                    **r,
                    "setl_time": f"{r['setl_time']:%Y-%m-%d %H:%M:%S}",
                    "payable": r["fund_pay_sumamt"] + r["acct_pay"],
                    "setl_list": LIST_STATE_NAMES[r["setl_list_stas"]],
                }

    columns = [
        Column("setl_id", "结算ID"),
        Column("psn_no", "人员编号"),
        Column("psn_name", "姓名"),
        Column("insu_admdvs", "参保地"),
        Column("insutype", "险种"),
        Column("clr_type", "清算类别"),
        Column("setl_time", "结算时间"),
        Column("refd_setl_flag", "退费"),
        money_column("medfee_sumamt", "医疗费总额"),
        money_column("fund_pay_sumamt", "基金支付"),
        money_column("acct_pay", "个人账户"),
        money_column("acct_mulaid_pay", "共济支付"),
        money_column("psn_cash_pay", "现金"),
        money_column("payable", "申报金额"),
        Column("setl_list", "结算清单"),
    ]
    return Report(code, title, columns, settlements, meta=_meta(decl, inst, cls), notes=notes)


def review_notes(session: Session, decl: Declaration, cls: str) -> Report:
    """Annexes 9 and 12: what was declared, rejected (with reasons), deducted and approved."""
    tables = table_set(decl.admdvs)
    rows: list[dict[str, Any]] = []
    L = DeclarationLine
    declared = session.execute(
        select(func.coalesce(func.sum(L.setl_cnt), 0), func.sum(L.payable)).where(
            L.decl_id == decl.decl_id, _class_filter(L.insutype, cls)
        )
    ).one()
    rows.append({"item": "申报", "setl_id": "", "reason": "", "cnt": int(declared[0]), "amount": declared[1] or ZERO})
    R = ReviewRejection
    for r in session.scalars(select(R).where(R.redeclared_in == decl.decl_id, _class_filter(R.insutype, cls))):
        rows.append(
            {"item": "补报(前期拒付经协商)", "setl_id": r.setl_id, "reason": r.reason, "cnt": 1, "amount": r.amount}
        )
    for r in session.scalars(select(R).where(R.decl_id == decl.decl_id, _class_filter(R.insutype, cls))):
        rows.append({"item": "拒付", "setl_id": r.setl_id, "reason": r.reason, "cnt": 1, "amount": -r.amount})
    for d in session.scalars(
        select(ReviewDeduction).where(
            ReviewDeduction.decl_id == decl.decl_id, _class_filter(ReviewDeduction.insutype, cls)
        )
    ):
        rows.append({"item": "违规扣款", "setl_id": d.setl_id or "", "reason": d.reason, "cnt": 0, "amount": -d.amount})
    X = LiquidatedDamages
    for x in session.scalars(select(X).where(X.decl_id == decl.decl_id, _class_filter(X.insutype, cls)).order_by(X.id)):
        rows.append({"item": "违约金", "setl_id": "", "reason": x.reason, "cnt": 0, "amount": -x.amount})
    columns = [
        Column("item", "项目"),
        Column("setl_id", "结算ID"),
        Column("reason", "原因"),
        count_column("cnt", "人次"),
        money_column("amount", "金额"),
    ]
    totals = {"cnt": int(declared[0]), "amount": sum((r["amount"] for r in rows), ZERO)}
    inst = session.get(Institution, decl.fixmedins_code)
    return Report(
        file_code(tables, "review_notes", decl.decl_id, cls),
        tables.title("review_notes", cls),
        columns,
        rows,
        meta=_meta(decl, inst, cls) + [("审核状态", decl.status)],
        totals=totals,
        notes=["审核通过金额 = 申报 + 补报 - 拒付 - 违规扣款 - 违约金", *tables.notes],
    )


def _payment_rows(session: Session, ym: str, cls: str, agency: str | None, code: str | None) -> list[dict[str, Any]]:
    """Per institution and insured region: declared, rejected, deducted, re-declared, approved."""
    D, L, A = Declaration, DeclarationLine, AllocationItem
    scope = [D.setl_ym == ym]
    if agency:
        scope.append(D.admdvs == agency)
    if code:
        scope.append(D.fixmedins_code == code)
    out: dict[tuple[str, str], dict[str, Any]] = {}

    def row(fixmedins: str, insu: str) -> dict[str, Any]:
        return out.setdefault(
            (fixmedins, insu),
            {
                "fixmedins_code": fixmedins,
                "insu_admdvs": insu,
                "setl_cnt": 0,
                "declared": ZERO,
                "redeclared": ZERO,
                "rejected": ZERO,
                "deducted": ZERO,
                "damages": ZERO,
                "approved": ZERO,
            },
        )

    for r in session.execute(
        select(D.fixmedins_code, L.insu_admdvs, func.sum(L.setl_cnt), func.sum(L.payable))
        .join(L, L.decl_id == D.decl_id)
        .where(*scope, _class_filter(L.insutype, cls))
        .group_by(D.fixmedins_code, L.insu_admdvs)
    ):
        x = row(r[0], r[1])
        x["setl_cnt"], x["declared"] = int(r[2]), r[3]
    R, X = ReviewRejection, ReviewDeduction
    # each column is one table's amounts, summed by institution and insured region
    sources = [("rejected", R, R.decl_id), ("redeclared", R, R.redeclared_in), ("deducted", X, X.decl_id),
               ("approved", A, A.decl_id)]
    for column, table, link in sources:
        for r in session.execute(
            select(D.fixmedins_code, table.insu_admdvs, func.sum(table.amount))
            .join(table, link == D.decl_id)
            .where(*scope, _class_filter(table.insutype, cls))
            .group_by(D.fixmedins_code, table.insu_admdvs)
        ):
            row(r[0], r[1])[column] = r[2]
    X = LiquidatedDamages  # 违约金 is the treatment region's: shown on its own insured's row
    for r in session.execute(
        select(D.fixmedins_code, X.admdvs, func.sum(X.amount))
        .join(X, X.decl_id == D.decl_id)
        .where(*scope, _class_filter(X.insutype, cls))
        .group_by(D.fixmedins_code, X.admdvs)
    ):
        row(r[0], r[1])["damages"] = r[2]
    return [out[k] for k in sorted(out)]


PAYMENT_COLUMNS = [
    Column("fixmedins_code", "机构编码"),
    Column("insu_admdvs", "参保地"),
    count_column("setl_cnt", "人次"),
    money_column("declared", "申报金额"),
    money_column("redeclared", "补报金额"),
    money_column("rejected", "拒付金额"),
    money_column("deducted", "扣款金额"),
    money_column("damages", "违约金"),
    money_column("approved", "审核支付金额"),
]


def review_payment(session: Session, ym: str, cls: str, agency: str, fixmedins_code: str | None = None) -> Report:
    """Annexes 10/13 (agency version: every institution of the region) and 11/14 (an institution's own)."""
    own = fixmedins_code is not None
    tables = table_set(agency)
    version = "医药机构下载用表" if own else "经办机构用表"
    rows = _payment_rows(session, ym, cls, agency, fixmedins_code)
    return Report(
        file_code(tables, "review_payment_own" if own else "review_payment", f"{fixmedins_code or agency}_{ym}", cls),
        tables.title("review_payment", cls, version=version),
        PAYMENT_COLUMNS,
        rows,
        meta=_region_meta(tables, agency, ym) + ([("医药机构", fixmedins_code)] if own else []),
        notes=list(tables.notes),
    )


def _region_meta(tables: TableSet, agency: str, ym: str) -> list[tuple[str, str]]:
    return [*tables.meta(agency), ("就医地经办机构", agency), ("结算年月", ym)]


def review_summary(session: Session, ym: str, cls: str, agency: str) -> Report:
    """Annexes 15/16: the region's month summed by insured region."""
    sums: defaultdict[str, dict[str, Any]] = defaultdict(dict)
    for r in _payment_rows(session, ym, cls, agency, None):
        x = sums[r["insu_admdvs"]]
        for k, v in r.items():
            if k not in ("fixmedins_code", "insu_admdvs"):
                x[k] = x.get(k, 0 if k == "setl_cnt" else ZERO) + v
    names = region_names(session)
    rows = [{"insu_admdvs": k, "insu_name": names.get(k, ""), **v} for k, v in sorted(sums.items())]
    columns = [Column("insu_admdvs", "参保地区划"), Column("insu_name", "参保地"), *PAYMENT_COLUMNS[2:]]
    tables = table_set(agency)
    return Report(
        file_code(tables, "review_summary", f"{agency}_{ym}", cls),
        tables.title("review_summary", cls),
        columns,
        rows,
        meta=_region_meta(tables, agency, ym),
        notes=list(tables.notes),
    )


def allocation_plan(session: Session, ym: str, cls: str, agency: str) -> Report:
    """Annexes 17/18: who pays each institution what, and whose money it is."""
    A, D = AllocationItem, Declaration
    q = (
        select(A.fixmedins_code, A.payer, A.charged_admdvs, A.part, A.status, func.sum(A.amount).label("amount"))
        .join(D, D.decl_id == A.decl_id)
        .where(D.setl_ym == ym, D.admdvs == agency, _class_filter(A.insutype, cls))
        .group_by(A.fixmedins_code, A.payer, A.charged_admdvs, A.part, A.status)
        .order_by(A.fixmedins_code, A.payer, A.charged_admdvs, A.part)
    )
    payer_names = {"agency": "就医地经办机构", "centre": "省医保中心"}
    part_names = {"fund": "基金", "acct": "个人账户", "mulaid": "共济账户", "damages": "违约金(扣减)"}
    rows = [{**r._mapping, "payer": payer_names[r.payer], "part": part_names[r.part]} for r in session.execute(q)]
    columns = [
        Column("fixmedins_code", "机构编码"),
        Column("payer", "拨付方"),
        Column("charged_admdvs", "资金所属地"),
        Column("part", "资金类别"),
        Column("status", "状态"),
        money_column("amount", "拨付金额"),
    ]
    tables = table_set(agency)
    return Report(
        file_code(tables, "allocation_plan", f"{agency}_{ym}", cls),
        tables.title("allocation_plan", cls),
        columns,
        rows,
        meta=_region_meta(tables, agency, ym),
        notes=list(tables.notes),
    )


def month_reports(session: Session, ym: str, agency: str) -> list[Report]:
    """Every table of a region's month in its province's table set: its institutions' declarations (levels 1-2;
    level 3 on request), the review notes, payment tables, summary and plan, Shanxi's mutual-aid payment tables
    when there is mutual aid, and the province's voucher, breakdown, mutual-aid clearing and clearing balances."""
    out: list[Report] = []
    decls = list(
        session.scalars(
            select(Declaration)
            .where(Declaration.setl_ym == ym, Declaration.admdvs == agency)
            .order_by(Declaration.fixmedins_code)
        )
    )
    for cls in ("employee", "resident"):
        for decl in decls:
            out += [
                declaration(session, decl, cls, 1),
                declaration(session, decl, cls, 2),
                review_notes(session, decl, cls),
                review_payment(session, ym, cls, agency, decl.fixmedins_code),
            ]
        out += [
            review_payment(session, ym, cls, agency),
            review_summary(session, ym, cls, agency),
            allocation_plan(session, ym, cls, agency),
        ]
    if table_set(agency).mutual_aid_payment and any(d.acct_mulaid_pay for d in decls):
        out += [mutual_aid_payment(session, ym, agency, True), mutual_aid_payment(session, ym, agency, False)]
    province = al.province_of(agency)
    out += [
        transfer_voucher(session, province, ym),
        insurance_breakdown(session, province, ym),
        mutual_aid_clearing(session, province, ym),
        clearing_balances(session, province, ym),
    ]
    return out
