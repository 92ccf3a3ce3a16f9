"""Who pays the account part: own account first, then family mutual aid (rules.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from yibao.money import ZERO


@dataclass(frozen=True)
class AidSource:
    """One authorization the beneficiary may draw on, in the order it is to be drawn."""

    authorization_id: int
    authorizer: str
    acct_admdvs: str
    balance: Decimal
    quota_left: Decimal | None  # None: no quota, the whole balance is available


@dataclass(frozen=True)
class Draw:
    source: AidSource
    amount: Decimal


@dataclass(frozen=True)
class AccountPayment:
    own: Decimal
    draws: tuple[Draw, ...]

    @property
    def mutual_aid(self) -> Decimal:
        return sum((d.amount for d in self.draws), ZERO)

    @property
    def total(self) -> Decimal:
        return self.own + self.mutual_aid


def pay_from_accounts(scope_amount: Decimal, own_balance: Decimal | None, sources: list[AidSource]) -> AccountPayment:
    """Own balance first; each authorization then pays min(balance, quota left, what is still uncovered)."""
    remaining = max(ZERO, scope_amount)
    own = min(remaining, max(ZERO, own_balance)) if own_balance is not None else ZERO
    remaining -= own
    draws: list[Draw] = []
    spent: dict[str, Decimal] = {}  # one authorizer may stand behind several authorizations: one balance
    for source in sources:
        if remaining <= 0:
            break
        limit = max(ZERO, source.balance - spent.get(source.authorizer, ZERO))
        if source.quota_left is not None:
            limit = min(limit, max(ZERO, source.quota_left))
        amount = min(limit, remaining)
        if amount > 0:
            draws.append(Draw(source, amount))
            spent[source.authorizer] = spent.get(source.authorizer, ZERO) + amount
            remaining -= amount
    return AccountPayment(own, tuple(draws))
