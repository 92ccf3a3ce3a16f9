"""The pooled funds' double-entry ledger, as rules over plain values: the chart of accounts and what each
movement of the funds posts (docs/ledger.md).

Each region's fund keeps its own book (`book` = the region code). A posting line is a signed amount: debit
positive, credit negative; every entry sums to zero in each book it touches. Nothing here reads or writes
the database: platform/fund_ledger.py stores what these rules return.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from yibao.codes import FUND_PAY_TYPE
from yibao.money import ZERO

ASSET, LIABILITY, INCOME, EXPENSE = "asset", "liability", "income", "expense"


@dataclass(frozen=True)
class Account:
    code: str
    name: str  # in words, as printed on the trial balance
    kind: str  # asset | liability | income | expense
    about: str

    @property
    def debit_normal(self) -> bool:
        return self.kind in (ASSET, EXPENSE)


#: the settlement's fund columns and the fund each stands for (基金支付类型); hifp_pay by insurance type
FUND_COLUMNS = {"cvlserv_pay": "320100", "hifes_pay": "370100", "hifmi_pay": "390200", "hifob_pay": "330100",
                "maf_pay": "610100", "oth_pay": "999997"}
POOLED_BY_INSUTYPE = {"310": "310100", "390": "390100", "510": "510100"}
#: the funds a settlement can charge, each with its expense account
EXPENSE_FUNDS = (*POOLED_BY_INSUTYPE.values(), *FUND_COLUMNS.values())

BANK = "bank"
ADVANCE = "advance_centre"
MULAID_RECEIVABLE = "mulaid_receivable"
PAYABLE = "payable_institution"
PAYABLE_INSURED = "payable_insured"
MULAID_PAYABLE = "mulaid_payable"
ACCOUNTS = "personal_accounts"
REJECTED = "rejected_claims"
DEDUCTIONS = "review_deductions"
DAMAGES = "liquidated_damages"
CASH = "cash_disbursed"
#: the month's clearing between two provinces' nodes (docs/federation.md), in the province's own book (P0000)
PROVINCE_PAYABLE = "province_payable"
PROVINCE_RECEIVABLE = "province_receivable"


def expense(fund_pay_type: str) -> str:
    return f"expense.{fund_pay_type}"


CHART: tuple[Account, ...] = (
    Account(BANK, "基金支出户银行存款 fund's bank account", ASSET,
            "FUND-<region> at its bank: moves only with a fund_031 instruction"),
    Account(ADVANCE, "预付省中心异地就医周转金 advance held by the provincial centre", ASSET,
            "the region's prepayment (预付) the centre pays cross-region claims from"),
    Account(MULAID_RECEIVABLE, "应收他区个人账户共济资金 mutual aid due from another region", ASSET,
            "accounts of another region (party) paid for this region's insured"),
    Account(CASH, "现金支付 paid out in cash", ASSET, "claims paid to the person in cash, outside the bank outbox"),
    Account(PROVINCE_RECEIVABLE, "应收跨省清算款 receivable from another province", ASSET,
            "another province's (party) transfers received against the clearing vouchers it owes this one"),
    Account(PAYABLE, "应付定点医药机构医疗费 payable to institutions", LIABILITY,
            "what the settlements owe each institution (party) until allocation pays it"),
    Account(PAYABLE_INSURED, "应付参保人零星报销款 payable to insured persons", LIABILITY,
            "reimbursement-coordination claims owed to the person (party)"),
    Account(MULAID_PAYABLE, "应付他区共济资金 mutual aid owed to another region", LIABILITY,
            "this region's accounts paid for another region's insured (party)"),
    Account(PROVINCE_PAYABLE, "应付跨省清算款 payable to another province", LIABILITY,
            "this province's transfers paid against the clearing vouchers it owes another (party)"),
    Account(ACCOUNTS, "个人账户 personal accounts", LIABILITY, "what the fund holds for the account holders"),
    Account(REJECTED, "审核拒付挂账 claims rejected in review", LIABILITY,
            "rejected settlements, open until declared again or finally refused"),
    Account(DEDUCTIONS, "审核扣款 deductions in review", INCOME, "amounts withheld for violations (art. 30)"),
    Account(DAMAGES, "违约金 liquidated damages", INCOME, "liquidated damages withheld from an institution"),
    *(Account(expense(code), f"{FUND_PAY_TYPE[code]}支出 fund expense", EXPENSE, f"fund_pay_type {code}")
      for code in EXPENSE_FUNDS),
)
BY_CODE = {a.code: a for a in CHART}


@dataclass(frozen=True)
class Line:
    book: str  # the region whose fund this is
    account: str
    amount: Decimal  # debit positive, credit negative
    party: str | None = None  # the institution, person or other region concerned


class Unbalanced(RuntimeError):
    """An entry that does not sum to zero in a book: a programming error, the unit of work rolls back."""


def problems(lines: Iterable[Line]) -> list[str]:
    """Why these lines are no entry: unknown accounts, amounts not in cents, a book not summing to zero."""
    out = []
    sums: defaultdict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        if line.account not in BY_CODE:
            out.append(f"no account {line.account!r} in the chart")
        if line.amount != line.amount.quantize(Decimal("0.01")):
            out.append(f"{line.account}: {line.amount} is not in cents")
        sums[line.book] += line.amount
    out += [f"book {book} is off by {total}" for book, total in sorted(sums.items()) if total]
    return out


def checked(lines: Iterable[Line]) -> list[Line]:
    """The entry's non-zero lines, refused unless balanced in every book."""
    kept = [x for x in lines if x.amount]
    broken = problems(kept)
    if broken:
        raise Unbalanced("; ".join(broken))
    return kept


def negated(lines: Iterable[Line]) -> list[Line]:
    return [Line(x.book, x.account, -x.amount, x.party) for x in lines]


# -- the postings of each movement ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SettledAmounts:
    """What a settlement record says the funds and accounts paid (negative on a cancellation record)."""
    insu_admdvs: str
    insutype: str
    payee: str  # the institution; the person for a reimbursement-coordination claim
    fund_pay_sumamt: Decimal
    funds: Mapping[str, Decimal]  # the settlement's fund columns: hifp_pay, cvlserv_pay, ...
    acct_pay: Decimal
    #: the part of acct_pay drawn on accounts of other regions, by the account's region
    mulaid_elsewhere: Mapping[str, Decimal]
    claim: bool = False  # True: the fund part is owed to the person, not the institution


def settlement(s: SettledAmounts) -> list[Line]:
    """The fund pays each part as its expense and owes the institution fund + account pay; accounts of other
    regions that paid are due from those regions, whose books owe them on."""
    book = s.insu_admdvs
    lines = []
    parts = ZERO
    for column, amount in s.funds.items():
        fund = POOLED_BY_INSUTYPE.get(s.insutype, "310100") if column == "hifp_pay" else FUND_COLUMNS[column]
        lines.append(Line(book, expense(fund), amount))
        parts += amount
    if parts != s.fund_pay_sumamt:
        raise Unbalanced(f"the fund parts sum to {parts}, fund_pay_sumamt is {s.fund_pay_sumamt}")
    elsewhere = ZERO
    for region, amount in sorted(s.mulaid_elsewhere.items()):
        lines += [Line(book, MULAID_RECEIVABLE, amount, region), Line(region, ACCOUNTS, amount),
                  Line(region, MULAID_PAYABLE, -amount, book)]
        elsewhere += amount
    lines.append(Line(book, ACCOUNTS, s.acct_pay - elsewhere))
    lines.append(Line(book, PAYABLE_INSURED if s.claim else PAYABLE, -(s.fund_pay_sumamt + s.acct_pay), s.payee))
    return checked(lines)


@dataclass(frozen=True)
class PlanItem:
    """A paid line of the allocation plan."""
    payer: str  # agency | centre
    insu_admdvs: str
    charged_admdvs: str
    amount: Decimal


def allocation(institution: str, items: Iterable[PlanItem]) -> list[Line]:
    """The institution is paid: by the agency out of its fund's bank account, or by the centre out of the
    advance of the region charged (for mutual aid of another region: that region's advance, on its account)."""
    lines = []
    for i in items:
        lines.append(Line(i.insu_admdvs, PAYABLE, i.amount, institution))
        if i.payer == "agency":
            lines.append(Line(i.insu_admdvs, BANK, -i.amount))
        elif i.charged_admdvs == i.insu_admdvs:
            lines.append(Line(i.insu_admdvs, ADVANCE, -i.amount))
        else:
            lines += [Line(i.insu_admdvs, MULAID_RECEIVABLE, -i.amount, i.charged_admdvs),
                      Line(i.charged_admdvs, MULAID_PAYABLE, i.amount, i.insu_admdvs),
                      Line(i.charged_admdvs, ADVANCE, -i.amount)]
    return checked(lines)


def advance_paid(region: str, amount: Decimal) -> list[Line]:
    """The region tops its advance with the centre up by `amount` (negative: the centre returns the excess)."""
    return checked([Line(region, ADVANCE, amount), Line(region, BANK, -amount)])


def mutual_aid_cleared(acct_admdvs: str, insu_admdvs: str, amount: Decimal) -> list[Line]:
    """The centre pays the insured region what accounts of acct_admdvs paid for its insured, from the account
    region's advance."""
    return checked([Line(insu_admdvs, BANK, amount), Line(insu_admdvs, MULAID_RECEIVABLE, -amount, acct_admdvs),
                    Line(acct_admdvs, MULAID_PAYABLE, amount, insu_admdvs), Line(acct_admdvs, ADVANCE, -amount)])


def province_transfer_paid(book: str, payee: str, amount: Decimal) -> list[Line]:
    """The insured province's fund paid a clearing voucher to the treatment province `payee` (confirmed by the
    bank): its payable settled from its bank account."""
    return checked([Line(book, PROVINCE_PAYABLE, amount, payee), Line(book, BANK, -amount)])


def province_transfer_received(book: str, payer: str, amount: Decimal) -> list[Line]:
    """The treatment province's fund received a clearing voucher's transfer from the insured province `payer`."""
    return checked([Line(book, BANK, amount), Line(book, PROVINCE_RECEIVABLE, -amount, payer)])


@dataclass(frozen=True)
class ReviewOutcome:
    """One insured region's result of a finished review of an institution's declaration."""
    insu_admdvs: str
    rejected: Decimal = ZERO  # rejected in this review
    redeclared: Decimal = ZERO  # earlier rejections declared again with this declaration
    deducted: Decimal = ZERO


def review(institution: str, outcomes: Iterable[ReviewOutcome]) -> list[Line]:
    """What the review withholds leaves the payable: a rejection waits in its own account (until declared again),
    a deduction is the fund's income."""
    lines = []
    for o in outcomes:
        lines += [Line(o.insu_admdvs, PAYABLE, o.rejected - o.redeclared + o.deducted, institution),
                  Line(o.insu_admdvs, REJECTED, o.redeclared - o.rejected, institution),
                  Line(o.insu_admdvs, DEDUCTIONS, -o.deducted, institution)]
    return checked(lines)


def liquidated_damages(region: str, institution: str, amount: Decimal) -> list[Line]:
    """违约金 withheld from what the fund owes the institution."""
    return checked([Line(region, PAYABLE, amount, institution), Line(region, DAMAGES, -amount, institution)])


def claim_paid(region: str, psn_no: str, amount: Decimal, to_account: bool) -> list[Line]:
    """A reimbursement-coordination claim paid to the person: into his personal account, or in cash."""
    return checked([Line(region, PAYABLE_INSURED, amount, psn_no),
                    Line(region, ACCOUNTS if to_account else CASH, -amount, psn_no if to_account else None)])
