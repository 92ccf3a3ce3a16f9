"""The amounts of one settlement from its inputs (rules.md section 4, steps 1-7): the fund and personal shares,
then who pays the account part. The one computation live settlement (platform/settlement.py) and the what-if
replay (yibao.whatif) both call, so a policy change is priced by the very rule that settles."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from yibao.money import ZERO
from yibao.rules.cost_sharing import PolicyTerms, Shares, Usage, account_scope_amount, share_costs
from yibao.rules.splitting import Sums
from yibao.rules.waterfall import AccountPayment, AidSource, pay_from_accounts

NO_PAYMENT = AccountPayment(ZERO, ())


@dataclass(frozen=True)
class Amounts:
    shares: Shares
    payment: AccountPayment

    @property
    def psn_cash_pay(self) -> Decimal:
        return self.shares.psn_part_amt - self.payment.total


def settle_amounts(sums: Sums, terms: PolicyTerms, usage: Usage, *, use_accounts: bool,
                   own_balance: Decimal | None, sources: list[AidSource]) -> Amounts:
    """`usage`: the person's accumulator before this settlement; `own_balance`: his own account's balance when
    it may pay (None: it may not); `sources`: the mutual-aid authorizations in drawing order."""
    shares = share_costs(sums, terms, usage)
    if not use_accounts:
        return Amounts(shares, NO_PAYMENT)
    scope = account_scope_amount(shares, sums, terms.acct_scope)
    return Amounts(shares, pay_from_accounts(scope, own_balance, sources))
