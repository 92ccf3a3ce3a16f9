"""Fund and personal shares of a settlement (rules.md section 4, steps 1-5), with an explanation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from yibao.money import ZERO, round2
from yibao.rules.splitting import Sums


@dataclass(frozen=True)
class PolicyTerms:
    deductible: Decimal
    ratio: Decimal
    annual_cap: Decimal
    acct_scope: str  # all | policy


@dataclass(frozen=True)
class Usage:
    """What this person already used this year in this bucket."""

    deductible_used: Decimal = ZERO
    fund_paid: Decimal = ZERO


@dataclass(frozen=True)
class Shares:
    act_pay_dedc: Decimal
    hifp_pay: Decimal
    coinsurance: Decimal
    pool_prop_selfpay: Decimal
    fund_pay_sumamt: Decimal
    psn_part_amt: Decimal
    cap_left_before: Decimal
    explanation: tuple[str, ...]


def share_costs(sums: Sums, terms: PolicyTerms, usage: Usage) -> Shares:
    deductible_left = max(ZERO, terms.deductible - usage.deductible_used)
    dedc = min(max(sums.inscp_scp_amt, ZERO), deductible_left)
    cap_left = max(ZERO, terms.annual_cap - usage.fund_paid)
    pooled = round2((sums.inscp_scp_amt - dedc) * terms.ratio)
    hifp = max(ZERO, min(pooled, cap_left))
    coins = sums.inscp_scp_amt - dedc - hifp
    fund_total = hifp  # other funds (cvlserv, hifmi, maf...) join here when a policy enables them
    explanation = (
        f"deductible {terms.deductible} with {usage.deductible_used} used this year: {deductible_left} left, "
        f"act_pay_dedc = min(inscp {sums.inscp_scp_amt}, {deductible_left}) = {dedc}",
        f"pooled = round2(({sums.inscp_scp_amt} - {dedc}) x {terms.ratio}) = {pooled}; "
        f"annual cap {terms.annual_cap} with {usage.fund_paid} paid: {cap_left} left; hifp_pay = {hifp}",
        f"co-insurance share {coins}; fund_pay_sumamt {fund_total}; "
        f"psn_part_amt = {sums.medfee_sumamt} - {fund_total} = {sums.medfee_sumamt - fund_total}",
    )
    return Shares(dedc, hifp, coins, terms.ratio.quantize(Decimal("0.0001")), fund_total,
                  sums.medfee_sumamt - fund_total, cap_left, explanation)


def account_scope_amount(shares: Shares, sums: Sums, scope: str) -> Decimal:
    """What the personal account may pay (step 6): `all` the personal part, `policy` less self-paid parts."""
    if scope == "policy":
        return max(ZERO, shares.psn_part_amt - sums.fulamt_ownpay_amt - sums.overlmt_selfpay)
    return max(ZERO, shares.psn_part_amt)
