"""The province's tables: the centre's transfer voucher and insurance breakdown, the mutual-aid payment tables of
a region (with the fund paying each amount), the mutual-aid clearing between regions and the clearing balances.
Built with set-based SQL from the cycle's own tables, like reports/monthly.py; titles and file names are the
province's table set (reports/tablesets.py)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.money import ZERO
from yibao.platform import allocation as al
from yibao.platform import clearing
from yibao.reports.columns import count_column, money_column, region_names
from yibao.reports.table import Column, Report
from yibao.reports.tablesets import SHANXI_RESIDENT_NOTE, file_code, table_set
from yibao.rules.payment_funds import fund_label
from yibao.store.models import AllocationItem, Declaration, DeclarationMutualAid, FundPosting, MutualAidClearing


def transfer_voucher(session: Session, province: str, ym: str) -> Report:
    """Annex 19: the centre's cross-region account for the month, by region: paid in, drawn, held."""
    P = FundPosting
    names = region_names(session)
    flows: defaultdict[str, dict[str, Decimal]] = defaultdict(lambda: {"paid_in": ZERO, "drawn": ZERO})
    for account, kind, amount in session.execute(
        select(P.account, P.kind, func.sum(P.amount))
        .where(P.province == province, P.setl_ym == ym, P.account.like("advance:%"))
        .group_by(P.account, P.kind)
    ):
        x = flows[account.split(":", 1)[1]]
        if kind in ("prepayment", "clearing"):
            x["paid_in"] += -amount
        else:
            x["drawn"] += amount
    view = al.centre_view(session, province)
    rows = [
        {"admdvs": k, "name": names.get(k, ""), **v, "held": view["advances"].get(k, ZERO)}
        for k, v in sorted(flows.items())
    ]
    columns = [
        Column("admdvs", "地区区划"),
        Column("name", "地区"),
        money_column("paid_in", "收款(预付/清算)"),
        money_column("drawn", "付款(拨付/共济)"),
        money_column("held", "预付金结余"),
    ]
    tables = table_set(province)
    return Report(
        file_code(tables, "transfer_voucher", f"{province}_{ym}"),
        tables.title("transfer_voucher"),
        columns,
        rows,
        notes=list(tables.notes),
        meta=[
            *tables.meta(province),
            ("省医保中心", province),
            ("结算年月", ym),
            ("专户余额", str(view["bank"])),
            ("收支平衡", "是" if view["balanced"] else "否"),
        ],
    )


def insurance_breakdown(session: Session, province: str, ym: str) -> Report:
    """Annex 20: the month's centre payments by region and insurance type."""
    A, D = AllocationItem, Declaration
    rows = [
        dict(r._mapping)
        for r in session.execute(
            select(
                A.charged_admdvs,
                A.insutype,
                A.part,
                func.count(func.distinct(A.decl_id)).label("decl_cnt"),
                func.sum(A.amount).label("amount"),
            )
            .join(D, D.decl_id == A.decl_id)
            .where(A.setl_ym == ym, A.payer == "centre", A.status == "paid", D.admdvs.like(province[:2] + "%"))
            .group_by(A.charged_admdvs, A.insutype, A.part)
            .order_by(A.charged_admdvs, A.insutype, A.part)
        )
    ]
    columns = [
        Column("charged_admdvs", "参保地/账户地"),
        Column("insutype", "险种"),
        Column("part", "资金类别"),
        count_column("decl_cnt", "申报数"),
        money_column("amount", "金额"),
    ]
    tables = table_set(province)
    return Report(
        file_code(tables, "insurance_breakdown", f"{province}_{ym}"),
        tables.title("insurance_breakdown"),
        columns,
        rows,
        meta=[*tables.meta(province), ("省医保中心", province), ("结算年月", ym)],
        notes=list(tables.notes),
    )


def mutual_aid_payment(session: Session, ym: str, agency: str, local: bool) -> Report:
    """太原 并医险中心字〔2022〕126号 四(四)4: the local and the cross-region mutual-aid account payment tables,
    printed beside the payment plan when mutual-aid amounts are present, each amount with the fund that pays it
    (四(一)-(三): the city's employee personal-account fund, its cross-region fund account, or the centre)."""
    M, D = DeclarationMutualAid, Declaration
    cond = M.acct_admdvs == D.admdvs if local else M.acct_admdvs != D.admdvs
    names = region_names(session)
    rows = [
        {**r._mapping, "pay_fund": fund_label(r.pay_fund, names.get(agency, agency))}
        for r in session.execute(
            select(D.fixmedins_code, M.insu_admdvs, M.insutype, M.acct_admdvs, M.pay_fund,
                   func.sum(M.amount).label("amount"))
            .join(D, D.decl_id == M.decl_id)
            .where(D.setl_ym == ym, D.admdvs == agency, cond)
            .group_by(D.fixmedins_code, M.insu_admdvs, M.insutype, M.acct_admdvs, M.pay_fund)
            .order_by(D.fixmedins_code, M.insu_admdvs, M.insutype, M.acct_admdvs, M.pay_fund)
        )
    ]
    tables = table_set(agency)
    columns = [
        Column("fixmedins_code", "机构编码"),
        Column("insu_admdvs", "参保地"),
        Column("insutype", "险种"),
        Column("acct_admdvs", "共济账户所在地"),
        Column("pay_fund", "支付基金"),
        money_column("amount", "共济账户支付金额"),
    ]
    return Report(
        f"mutual_aid_{'local' if local else 'xregion'}_{agency}_{ym}",
        tables.title("mutual_aid_local" if local else "mutual_aid_xregion"),
        columns,
        rows,
        meta=[*tables.meta(agency), ("经办机构", agency), ("结算年月", ym)],
        notes=["支付表只用来区分本地、异地共济账户金额，正常支付",
               *([SHANXI_RESIDENT_NOTE] if tables.mutual_aid_payment else []), *tables.notes],
    )


def mutual_aid_clearing(session: Session, province: str, ym: str) -> Report:
    """Mutual-aid money between regions (seed 000 case (1)): drawn from the accounts, cleared by the centre."""
    C = MutualAidClearing
    rows = [
        {
            "acct_admdvs": r.acct_admdvs,
            "insu_admdvs": r.insu_admdvs,
            "drawn": r.drawn,
            "cleared": r.cleared,
            "difference": r.drawn - r.cleared,
        }
        for r in session.scalars(
            select(C)
            .where(C.setl_ym == ym, C.acct_admdvs.like(province[:2] + "%"))
            .order_by(C.acct_admdvs, C.insu_admdvs)
        )
    ]
    columns = [
        Column("acct_admdvs", "账户所在地"),
        Column("insu_admdvs", "参保地(垫付方)"),
        money_column("drawn", "共济支出"),
        money_column("cleared", "省中心清算"),
        money_column("difference", "差额"),
    ]
    tables = table_set(province)
    return Report(
        f"mutual_aid_clearing_{province}_{ym}",
        tables.title("mutual_aid_clearing"),
        columns,
        rows,
        meta=[("省医保中心", province), ("结算年月", ym)],
    )


def clearing_balances(session: Session, province: str, ym: str) -> Report:
    """The month's cross-region clearing between each pair of regions, from the confirmed 3261 details."""
    rows = clearing.pair_balances(session, province, ym)
    columns = [
        Column("region_a", "地区A"),
        Column("region_b", "地区B"),
        count_column("a_treated_for_b_cnt", "A为B就医人次"),
        money_column("a_treated_for_b", "A为B垫付"),
        count_column("b_treated_for_a_cnt", "B为A就医人次"),
        money_column("b_treated_for_a", "B为A垫付"),
        money_column("net_b_owes_a", "B应付A净额"),
    ]
    return Report(
        f"clearing_{province}_{ym}",
        table_set(province).title("clearing_balances"),
        columns,
        rows,
        meta=[("省", province), ("清分年月", ym)],
    )
