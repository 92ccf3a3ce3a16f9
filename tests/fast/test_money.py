"""Money is decimal, two places, half up; floats are refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.money import NotDecimal, from_fen, money, round2, to_decimal, to_fen


def test_half_up_rounding():
    assert round2(Decimal("0.125")) == Decimal("0.13")
    assert round2(Decimal("-0.125")) == Decimal("-0.13")
    assert round2(Decimal("54.004999")) == Decimal("54.00")
    assert money("120") == Decimal("120.00")


@pytest.mark.parametrize("value", [0.1, True, "abc", None, "NaN", "Infinity", [1]])
def test_inexact_or_non_numbers_are_refused(value):
    with pytest.raises(NotDecimal):
        to_decimal(value)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_round_trip_is_exact(fen):
    assert to_fen(from_fen(fen)) == fen
    # always two places, as money is written: 0.00, -0.05, 123.40
    assert from_fen(fen).as_tuple().exponent == -2
    assert str(from_fen(fen)) == str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def test_more_than_two_places_cannot_be_stored_as_fen():
    with pytest.raises(NotDecimal):
        to_fen(Decimal("1.005"))
