"""Pure rules: ID-card check digits and masking of ID numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.rules.identity import id_card_problem, mask_certno, mask_id_numbers

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def with_check_digit(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


@pytest.mark.parametrize("certno", ["440301199001011234", "14010120180101102X", "14010120180101102x"])
def test_valid_numbers(certno):
    assert id_card_problem(certno) is None


@pytest.mark.parametrize("certno, phrase", [
    ("440301199001011235", "check digit is 5, the number requires 4"),
    ("44030119900101123", "must be 18 characters"),
    ("4403011990010112345", "must be 18 characters"),
    ("44030119900101123Y", "must be 18 characters"),
    ("440301199013011234", "birth date"),
])
def test_invalid_numbers_say_why(certno, phrase):
    assert phrase in (id_card_problem(certno) or "")


@given(st.dates(), st.from_regex(r"\A\d{6}\Z"), st.from_regex(r"\A\d{3}\Z"))
def test_every_number_with_its_check_digit_is_valid_and_any_other_digit_is_not(birth, area, seq):
    number = with_check_digit(area + birth.strftime("%Y%m%d").zfill(8) + seq)
    if birth.year < 1000:
        return
    assert id_card_problem(number) is None
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert id_card_problem(wrong) is not None


def test_masking_keeps_region_and_last_four():
    assert mask_certno("440301199001011234") == "440301********1234"
    text = "person 440301199001011234 and 14010120180101102X in order 123"
    assert mask_id_numbers(text) == "person 440301********1234 and 140101********102X in order 123"


def test_masking_leaves_longer_codes_alone():
    assert mask_id_numbers("msgid H44030000001202603160930000001") == "msgid H44030000001202603160930000001"
