"""The posting rules of the pooled funds' ledger (rules/fund_ledger.py, docs/ledger.md) over plain values: every
movement is one entry that balances in each book it touches, and a month's movements close the institution's
payable to zero."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from decimal_strategies import fixed
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.rules import fund_ledger as fl

D = Decimal
ZERO = D("0.00")
SZ, GZ, H = "440300", "440100", "H44030000301"
money = fixed("0.00", "5000.00", 2)


def by_book(lines: list[fl.Line]) -> dict[tuple[str, str, str | None], Decimal]:
    out: defaultdict[tuple[str, str, str | None], Decimal] = defaultdict(lambda: ZERO)
    for x in lines:
        out[(x.book, x.account, x.party)] += x.amount
    return {k: v for k, v in out.items() if v}


def settled(fund: Decimal, acct: Decimal, elsewhere: dict[str, Decimal], **parts: Decimal) -> fl.SettledAmounts:
    funds = {"hifp_pay": fund, **parts}
    return fl.SettledAmounts(SZ, "310", H, sum(funds.values(), ZERO), funds, acct, elsewhere)


def test_the_chart_names_every_account_in_words_once() -> None:
    codes = [a.code for a in fl.CHART]
    assert len(codes) == len(set(codes))
    assert all(a.name and a.kind in (fl.ASSET, fl.LIABILITY, fl.INCOME, fl.EXPENSE) for a in fl.CHART)
    for column, fund in fl.FUND_COLUMNS.items():  # every fund column of a settlement has its expense account
        assert fl.expense(fund) in fl.BY_CODE, column
    assert fl.BY_CODE[fl.DAMAGES].name.startswith("违约金")


def test_a_settlement_posts_each_fund_part_as_its_expense_and_owes_the_institution() -> None:
    lines = fl.settlement(settled(D("54.00"), D("196.00"), {}, cvlserv_pay=D("10.00"), hifob_pay=D("6.00")))
    assert by_book(lines) == {(SZ, "expense.310100", None): D("54.00"), (SZ, "expense.320100", None): D("10.00"),
                              (SZ, "expense.330100", None): D("6.00"), (SZ, "personal_accounts", None): D("196.00"),
                              (SZ, "payable_institution", H): D("-266.00")}


def test_a_resident_settlement_is_the_residents_fund_and_a_claim_is_owed_to_the_person() -> None:
    s = fl.SettledAmounts(GZ, "390", "44010000000000000302", D("80.00"), {"hifp_pay": D("80.00")}, ZERO, {},
                          claim=True)
    assert by_book(fl.settlement(s)) == {(GZ, "expense.390100", None): D("80.00"),
                                         (GZ, "payable_insured", "44010000000000000302"): D("-80.00")}


def test_fund_parts_that_do_not_make_the_fund_total_are_refused() -> None:
    s = fl.SettledAmounts(SZ, "310", H, D("60.00"), {"hifp_pay": D("54.00")}, ZERO, {})
    with pytest.raises(fl.Unbalanced, match="fund parts sum to 54.00"):
        fl.settlement(s)


def test_an_unbalanced_or_unknown_entry_is_refused() -> None:
    with pytest.raises(fl.Unbalanced, match="book 440300 is off by 0.01"):
        fl.checked([fl.Line(SZ, fl.BANK, D("0.01"))])
    with pytest.raises(fl.Unbalanced, match="no account 'cash'"):
        fl.checked([fl.Line(SZ, "cash", D("1.00")), fl.Line(SZ, fl.BANK, D("-1.00"))])
    with pytest.raises(fl.Unbalanced, match="not in cents"):
        fl.checked([fl.Line(SZ, fl.BANK, D("1.001")), fl.Line(SZ, fl.ADVANCE, D("-1.001"))])
    # balanced overall but not in each book: still refused
    with pytest.raises(fl.Unbalanced):
        fl.checked([fl.Line(SZ, fl.BANK, D("5.00")), fl.Line(GZ, fl.BANK, D("-5.00"))])


@settings(max_examples=300)
@given(fund=money, own=money, aid_here=money, aid_gz=money, cvl=money, rejected=st.booleans(),
       deducted=fixed("0.00", "50.00", 2), by_centre=st.booleans())
def test_a_month_balances_in_every_book_and_closes_the_payable(fund: Decimal, own: Decimal, aid_here: Decimal,
                                                               aid_gz: Decimal, cvl: Decimal, rejected: bool,
                                                               deducted: Decimal, by_centre: bool) -> None:
    """Settle, cancel a copy, review (reject it whole or deduct), allocate what was approved (by the agency or
    the centre), clear the mutual aid: each entry balances per book, a cancellation nets to nothing, and the
    payable to the institution, the mutual aid between the regions close to zero."""
    deducted = min(deducted, fund)
    s = settled(fund, own + aid_here + aid_gz, {GZ: aid_gz} if aid_gz else {}, cvlserv_pay=cvl)
    settle = fl.settlement(s)
    assert by_book(settle + fl.negated(settle)) == {}
    payable = s.fund_pay_sumamt + s.acct_pay
    outcome = fl.ReviewOutcome(SZ, rejected=payable if rejected else ZERO,
                               deducted=ZERO if rejected else deducted)
    review = fl.review(H, [outcome])
    paid = ZERO if rejected else payable - deducted
    payer = "centre" if by_centre else "agency"
    own_part = paid - aid_gz if not rejected else ZERO
    items = [fl.PlanItem(payer, SZ, SZ, own_part)]
    if aid_gz and not rejected:
        items.append(fl.PlanItem(payer, SZ, GZ, aid_gz))
    allocation = fl.allocation(H, items)
    cleared = fl.mutual_aid_cleared(GZ, SZ, aid_gz) if aid_gz and not rejected and not by_centre else []
    month = settle + review + allocation + cleared
    for book in (SZ, GZ):
        assert sum((x.amount for x in month if x.book == book), ZERO) == 0
    books = by_book(month)
    assert books.get((SZ, fl.PAYABLE, H), ZERO) == 0
    if not rejected:
        assert books.get((SZ, fl.MULAID_RECEIVABLE, GZ), ZERO) == 0 == books.get((GZ, fl.MULAID_PAYABLE, SZ), ZERO)
    assert books.get((SZ, fl.DEDUCTIONS, H), ZERO) == -outcome.deducted
    assert books.get((SZ, fl.REJECTED, H), ZERO) == -outcome.rejected


def test_advances_and_damages() -> None:
    assert by_book(fl.advance_paid(SZ, D("-583.00"))) == {(SZ, "advance_centre", None): D("-583.00"),
                                                          (SZ, "bank", None): D("583.00")}
    assert by_book(fl.liquidated_damages(SZ, H, D("300.00"))) == {(SZ, "payable_institution", H): D("300.00"),
                                                                  (SZ, "liquidated_damages", H): D("-300.00")}
    assert by_book(fl.claim_paid(GZ, "P1", D("80.00"), to_account=True)) == {
        (GZ, "payable_insured", "P1"): D("80.00"), (GZ, "personal_accounts", "P1"): D("-80.00")}
