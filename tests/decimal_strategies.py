"""Hypothesis strategies of exact decimals, drawn as integers (never a float), for the property tests of the fast
tier (tests/fast/test_settlement_properties.py) and of the platform (test_settlement_platform_properties.py)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import strategies as st

D = Decimal
ZERO = D("0.00")
CENT = D("0.01")


def r2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def fixed(lo: str, hi: str, places: int) -> st.SearchStrategy[Decimal]:
    """Decimals in [lo, hi] with exactly `places` decimal places, drawn as integers (no floats anywhere)."""
    scale = 10 ** places
    return st.integers(int(D(lo) * scale), int(D(hi) * scale)).map(lambda n: D(n).scaleb(-places))


def scaled(lo: str, hi: str) -> st.SearchStrategy[Decimal]:
    """Like `fixed`, with 0 to 6 decimal places (a unit price is (16,6), a quantity (16,4))."""
    return st.sampled_from([0, 1, 2, 3, 4, 6]).flatmap(lambda p: fixed(lo, hi, p))
