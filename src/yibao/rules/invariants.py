"""The invariants every settlement must satisfy before it commits (rules.md section 4 step 8)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Totals:
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    psn_part_amt: Decimal
    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    psn_cash_pay: Decimal
    hosp_part_amt: Decimal
    fund_parts: tuple[Decimal, ...]


def violations(t: Totals, balances_after: dict[str, Decimal], quotas_after: dict[int, Decimal],
               cap_left_after: Decimal) -> list[str]:
    """Every broken invariant, as text; an empty list means the settlement may commit."""
    out = []
    if t.medfee_sumamt != t.fund_pay_sumamt + t.psn_part_amt + t.hosp_part_amt:
        out.append(f"medfee_sumamt {t.medfee_sumamt} != fund {t.fund_pay_sumamt} + personal {t.psn_part_amt}")
    if t.psn_part_amt != t.acct_pay + t.psn_cash_pay:
        out.append(f"psn_part_amt {t.psn_part_amt} != acct_pay {t.acct_pay} + cash {t.psn_cash_pay}")
    if not (0 <= t.acct_mulaid_pay <= t.acct_pay):
        out.append(f"acct_mulaid_pay {t.acct_mulaid_pay} outside 0..acct_pay {t.acct_pay}")
    if sum(t.fund_parts, Decimal(0)) != t.fund_pay_sumamt:
        out.append(f"fund parts {sum(t.fund_parts, Decimal(0))} != fund_pay_sumamt {t.fund_pay_sumamt}")
    if t.psn_cash_pay < 0:
        out.append(f"psn_cash_pay {t.psn_cash_pay} below 0")
    for psn_no, balance in balances_after.items():
        if balance < 0:
            out.append(f"account of {psn_no} would fall to {balance}")
    for auth_id, quota in quotas_after.items():
        if quota < 0:
            out.append(f"quota of authorization {auth_id} would fall to {quota}")
    if cap_left_after < 0:
        out.append(f"annual cap exceeded by {-cap_left_after}")
    return out
