"""Properties of settlement (hypothesis): the pure rules on random inputs (splitting, cost sharing, the account
waterfall). Whole settlements and their cancellation through the platform are test_settlement_platform_properties.py.

Every number is a Decimal drawn from integers (never a float).
"""

from __future__ import annotations

from decimal import Decimal

from decimal_strategies import ZERO, D, fixed, r2, scaled
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.rules.cost_sharing import PolicyTerms, Usage, account_scope_amount, share_costs
from yibao.rules.splitting import CatalogEntry, Sums, split_line
from yibao.rules.waterfall import AidSource, pay_from_accounts

money = fixed("0", "5000", 2)
ratios = st.one_of(fixed("0", "1", 2), fixed("0", "1", 4))
prices = scaled("0", "2000")
counts = scaled("0.0001", "50").filter(lambda c: c > 0)


@st.composite
def catalog_entries(draw: st.DrawFn) -> CatalogEntry | None:
    if draw(st.integers(0, 5)) == 0:
        return None  # not in the catalog
    lv = draw(st.sampled_from(["01", "02", "03"]))
    prop = {"01": D("0"), "02": draw(ratios), "03": D("1")}[lv]
    cap = draw(st.none() | prices)
    return CatalogEntry("X", "x", lv, prop, cap, "09")


PARTS = ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")


# -- splitting (rules.md 3) ----------------------------------------------------------------------------

@settings(max_examples=400)
@given(pric=prices, cnt=counts, item=catalog_entries(), refused=st.booleans())
def test_split_parts_add_up_and_are_never_negative(pric: Decimal, cnt: Decimal, item: CatalogEntry | None,
                                                   refused: bool) -> None:
    sp = split_line(pric, cnt, item, approval_refused=refused)
    assert sp.det_item_fee_sumamt == r2(pric * cnt)
    assert sp.fulamt_ownpay_amt + sp.overlmt_amt + sp.preselfpay_amt + sp.inscp_scp_amt == sp.det_item_fee_sumamt
    for name in PARTS:
        value = getattr(sp, name)
        assert value >= 0, name
        assert value == r2(value), f"{name} {value} is not whole cents"
    if item is None or item.chrgitm_lv == "03" or refused:
        assert sp.fulamt_ownpay_amt == sp.det_item_fee_sumamt
        return
    assert sp.fulamt_ownpay_amt == 0
    over = r2((pric - item.pric_uplmt_amt) * cnt) if item.pric_uplmt_amt is not None and pric > item.pric_uplmt_amt \
        else ZERO
    assert sp.overlmt_amt == over
    prop = D(0) if item.chrgitm_lv == "01" else item.selfpay_prop
    assert sp.preselfpay_amt == r2((sp.det_item_fee_sumamt - over) * prop)


@settings(max_examples=300)
@given(pric=prices, cnt=counts, item=catalog_entries(), refused=st.booleans())
def test_a_negative_count_splits_to_the_exact_negatives(pric: Decimal, cnt: Decimal, item: CatalogEntry | None,
                                                         refused: bool) -> None:
    plus = split_line(pric, cnt, item, approval_refused=refused)
    minus = split_line(pric, -cnt, item, approval_refused=refused)
    for name in PARTS:
        assert getattr(minus, name) == -getattr(plus, name), name
    assert (minus.chrgitm_lv, minus.selfpay_prop, minus.memo) == (plus.chrgitm_lv, plus.selfpay_prop, plus.memo)


# -- cost sharing (rules.md 4 steps 1-6) ---------------------------------------------------------------

@st.composite
def sums(draw: st.DrawFn) -> Sums:
    fulamt, overlmt, pre, inscp = draw(money), draw(money), draw(money), draw(money)
    return Sums(fulamt + overlmt + pre + inscp, fulamt, overlmt, pre, inscp)


terms_st = st.builds(PolicyTerms, deductible=fixed("0", "2000", 2), ratio=ratios, annual_cap=fixed("0", "20000", 2),
                     acct_scope=st.sampled_from(["all", "policy"]))
usage_st = st.builds(Usage, deductible_used=fixed("0", "2500", 2), fund_paid=fixed("0", "25000", 2))


@settings(max_examples=400)
@given(s=sums(), terms=terms_st, used=usage_st)
def test_share_costs_respects_deductible_cap_and_adds_up(s: Sums, terms: PolicyTerms, used: Usage) -> None:
    sh = share_costs(s, terms, used)
    deductible_left = max(ZERO, terms.deductible - used.deductible_used)
    cap_left = max(ZERO, terms.annual_cap - used.fund_paid)
    assert 0 <= sh.act_pay_dedc <= deductible_left
    assert sh.act_pay_dedc == min(s.inscp_scp_amt, deductible_left)
    assert 0 <= sh.hifp_pay <= cap_left
    assert sh.hifp_pay == min(r2((s.inscp_scp_amt - sh.act_pay_dedc) * terms.ratio), cap_left)
    assert sh.hifp_pay <= s.inscp_scp_amt - sh.act_pay_dedc
    assert sh.coinsurance == s.inscp_scp_amt - sh.act_pay_dedc - sh.hifp_pay >= 0
    assert sh.fund_pay_sumamt == sh.hifp_pay
    assert sh.fund_pay_sumamt + sh.psn_part_amt == s.medfee_sumamt
    assert sh.psn_part_amt >= 0
    assert sh.pool_prop_selfpay == terms.ratio and sh.pool_prop_selfpay.as_tuple().exponent == -4
    assert sh.cap_left_before == cap_left
    scope = account_scope_amount(sh, s, terms.acct_scope)
    assert 0 <= scope <= sh.psn_part_amt
    if terms.acct_scope == "policy":
        assert scope == max(ZERO, sh.psn_part_amt - s.fulamt_ownpay_amt - s.overlmt_selfpay)
    else:
        assert scope == sh.psn_part_amt


# -- paying from accounts (rules.md 4 step 6, 5) -------------------------------------------------------

@st.composite
def aid_sources(draw: st.DrawFn) -> list[AidSource]:
    n = draw(st.integers(0, 4))
    return [AidSource(i + 1, f"P{i}", "140100", draw(fixed("-10", "800", 2)), draw(st.none() | fixed("-10", "500", 2)))
            for i in range(n)]


def available(source: AidSource) -> Decimal:
    limit = max(ZERO, source.balance)
    return limit if source.quota_left is None else min(limit, max(ZERO, source.quota_left))


@settings(max_examples=400)
@given(scope=fixed("-10", "2000", 2), own_balance=st.none() | fixed("-10", "1000", 2), sources=aid_sources())
def test_pay_from_accounts_own_first_then_in_order_within_every_limit(scope: Decimal, own_balance: Decimal | None,
                                                                      sources: list[AidSource]) -> None:
    pay = pay_from_accounts(scope, own_balance, sources)
    own_available = ZERO if own_balance is None else max(ZERO, own_balance)
    wanted = max(ZERO, scope)
    assert 0 <= pay.own <= own_available
    assert pay.own == min(wanted, own_available)  # own first
    assert pay.total == pay.own + pay.mutual_aid <= wanted
    assert pay.total == min(wanted, own_available + sum((available(s) for s in sources), ZERO))
    order = [s.authorization_id for s in sources]
    drawn = [d.source.authorization_id for d in pay.draws]
    assert drawn == sorted(drawn, key=order.index) and len(set(drawn)) == len(drawn)
    by_id = {d.source.authorization_id: d.amount for d in pay.draws}
    for d in pay.draws:
        assert 0 < d.amount <= available(d.source)
        assert d.amount <= d.source.balance
        if d.source.quota_left is not None:
            assert d.amount <= d.source.quota_left
    if pay.draws:  # mutual aid only once the own balance is spent, and each earlier source is exhausted
        assert pay.own == own_available
        last = order.index(drawn[-1])
        for s in sources[:last]:
            assert by_id.get(s.authorization_id, ZERO) == available(s)



@settings(max_examples=200)
@given(scope=fixed("0", "2000", 2), balance=fixed("0", "800", 2), quotas=st.lists(st.none() | fixed("0", "500", 2),
                                                                                  min_size=2, max_size=3))
def test_authorizations_of_one_authorizer_share_his_balance(scope: Decimal, balance: Decimal,
                                                            quotas: list[Decimal | None]) -> None:
    sources = [AidSource(i + 1, "P", "140100", balance, q) for i, q in enumerate(quotas)]
    pay = pay_from_accounts(scope, None, sources)
    assert pay.mutual_aid <= balance
