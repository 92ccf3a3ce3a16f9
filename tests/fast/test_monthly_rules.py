"""The calendar and prepayment rules of the monthly cycle (rules.md section 7; seed 004 art. 5 and 25, seed 001 四,
seed 003): pure functions of dates, region settings and amounts, no database."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from yibao.rules.monthly import (
    DEFAULT_CONFIRM_LAST_DAY,
    Cycle,
    confirm_problem,
    insutype_class,
    month_end,
    month_of,
    month_start,
    parse_ym,
    prepayment_target,
    shift,
    window,
    window_problem,
    ym_text,
)

D = Decimal
GUANGDONG = Cycle.of(None)  # the defaults: declare 1-10, review 11-20, allocate 21 to the month's end, confirm by 8
TAIYUAN = Cycle.of({"cycle_days": {"allocate": [21, 25]}, "clearing_confirm_last_day": 5})


# -- months ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "want"), [("2026-03", (2026, 3)), ("202603", (2026, 3)), ("2026-12", (2026, 12)),
                                            ("1999-01", (1999, 1))])
def test_parse_ym_reads_both_spellings(text: str, want: tuple[int, int]) -> None:
    assert parse_ym(text) == want


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-3", "26-03", "", "2026/03", "abcd-ef", "2026-031"])
def test_parse_ym_refuses_what_is_not_a_month(text: str) -> None:
    with pytest.raises(ValueError, match="is not a month"):
        parse_ym(text)


@pytest.mark.parametrize(("ym", "months", "want"), [
    ("2026-03", 0, "2026-03"), ("2026-03", 1, "2026-04"), ("2026-12", 1, "2027-01"), ("2026-01", -1, "2025-12"),
    ("2026-03", -15, "2024-12"), ("2026-03", 22, "2028-01"), ("202611", 2, "2027-01"),
])
def test_shift_crosses_year_ends_both_ways(ym: str, months: int, want: str) -> None:
    assert shift(ym, months) == want


def test_month_bounds_and_text() -> None:
    assert ym_text(2026, 3) == "2026-03"
    assert month_of(date(2026, 3, 31)) == "2026-03"
    assert month_start("2026-03") == datetime(2026, 3, 1)
    assert month_end("2026-03") == datetime(2026, 4, 1)  # the first instant after the month
    assert month_end("2026-12") == datetime(2027, 1, 1)
    assert month_end("2028-02") == datetime(2028, 3, 1)


# -- the cycle's windows -------------------------------------------------------------------------------------


def test_defaults_are_guangdong_days() -> None:
    assert dict(GUANGDONG.days) == {"declare": (1, 10), "review": (11, 20), "allocate": (21, 31)}
    assert GUANGDONG.confirm_last_day == DEFAULT_CONFIRM_LAST_DAY == 8
    assert Cycle.of({}) == Cycle.of(None)


def test_region_settings_change_only_the_steps_they_name() -> None:
    assert dict(TAIYUAN.days) == {"declare": (1, 10), "review": (11, 20), "allocate": (21, 25)}
    assert TAIYUAN.confirm_last_day == 5
    # settings are JSON: numbers may come as text
    cycle = Cycle.of({"cycle_days": {"declare": ["2", "9"]}, "clearing_confirm_last_day": "6"})
    assert cycle.days["declare"] == (2, 9) and cycle.confirm_last_day == 6


@pytest.mark.parametrize(("ym", "step", "first", "last"), [
    ("2026-03", "declare", date(2026, 4, 1), date(2026, 4, 10)),
    ("2026-03", "review", date(2026, 4, 11), date(2026, 4, 20)),
    ("2026-03", "allocate", date(2026, 4, 21), date(2026, 4, 30)),   # day 31 capped to April's 30
    ("2026-04", "allocate", date(2026, 5, 21), date(2026, 5, 31)),
    ("2026-01", "allocate", date(2026, 2, 21), date(2026, 2, 28)),   # February
    ("2028-01", "allocate", date(2028, 2, 21), date(2028, 2, 29)),   # leap February
    ("2026-12", "declare", date(2027, 1, 1), date(2027, 1, 10)),     # December is declared in January
])
def test_windows_are_days_of_the_next_month_capped_at_its_end(ym: str, step: str, first: date, last: date) -> None:
    assert window(ym, step, GUANGDONG) == (first, last)


def test_taiyuan_pays_on_days_21_to_25() -> None:
    assert window("2026-03", "allocate", TAIYUAN) == (date(2026, 4, 21), date(2026, 4, 25))
    assert window_problem("2026-03", "allocate", TAIYUAN, date(2026, 4, 25)) is None
    assert window_problem("2026-03", "allocate", TAIYUAN, date(2026, 4, 26)) == (
        "the allocation of 2026-03 closed on 2026-04-25 (today is 2026-04-26)")
    assert window_problem("2026-03", "allocate", GUANGDONG, date(2026, 4, 26)) is None


def test_a_window_starting_after_a_short_month_is_its_last_day() -> None:
    late = Cycle.of({"cycle_days": {"review": [29, 31]}})
    assert window("2026-01", "review", late) == (date(2026, 2, 28), date(2026, 2, 28))
    assert window("2026-03", "review", late) == (date(2026, 4, 29), date(2026, 4, 30))


@pytest.mark.parametrize(("today", "problem"), [
    (date(2026, 3, 31), "the declaration of 2026-03 opens on 2026-04-01 (today is 2026-03-31)"),
    (date(2026, 4, 1), None),
    (date(2026, 4, 10), None),
    (date(2026, 4, 11), "the declaration of 2026-03 closed on 2026-04-10 (today is 2026-04-11)"),
    (date(2026, 5, 5), "the declaration of 2026-03 closed on 2026-04-10 (today is 2026-05-05)"),
])
def test_window_problem_names_the_step_the_day_and_today(today: date, problem: str | None) -> None:
    assert window_problem("2026-03", "declare", GUANGDONG, today) == problem


def test_review_and_allocation_problems() -> None:
    assert window_problem("2026-03", "review", GUANGDONG, date(2026, 4, 10)) == (
        "the review of 2026-03 opens on 2026-04-11 (today is 2026-04-10)")
    assert window_problem("2026-03", "review", GUANGDONG, date(2026, 4, 20)) is None
    assert window_problem("2026-03", "allocate", GUANGDONG, date(2026, 4, 20)) == (
        "the allocation of 2026-03 opens on 2026-04-21 (today is 2026-04-20)")
    assert window_problem("2026-01", "allocate", GUANGDONG, date(2026, 2, 28)) is None
    assert window_problem("2026-01", "allocate", GUANGDONG, date(2026, 3, 1)) == (
        "the allocation of 2026-01 closed on 2026-02-28 (today is 2026-03-01)")


# -- 3261 / 3262 confirmation days ----------------------------------------------------------------------------


@pytest.mark.parametrize(("cycle", "today", "problem"), [
    (GUANGDONG, date(2026, 3, 31), "the clearing details of 2026-03 can be confirmed from 2026-04-01"),
    (GUANGDONG, date(2026, 4, 1), None),
    (GUANGDONG, date(2026, 4, 8), None),
    (GUANGDONG, date(2026, 4, 9), "the clearing details of 2026-03 had to be confirmed by 2026-04-08"),
    (TAIYUAN, date(2026, 4, 5), None),
    (TAIYUAN, date(2026, 4, 6), "the clearing details of 2026-03 had to be confirmed by 2026-04-05"),
])
def test_confirm_problem_by_day_8_or_the_regions_last_day(cycle: Cycle, today: date, problem: str | None) -> None:
    assert confirm_problem("2026-03", cycle, today) == problem


def test_a_confirmation_day_past_a_short_month_is_its_last_day() -> None:
    late = Cycle.of({"clearing_confirm_last_day": 31})
    assert confirm_problem("2026-01", late, date(2026, 2, 28)) is None
    assert confirm_problem("2026-01", late, date(2026, 3, 1)) == (
        "the clearing details of 2026-01 had to be confirmed by 2026-02-28")


# -- the tables' classes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("insutype", "cls"), [("310", "employee"), ("390", "resident"), ("391", "resident"),
                                               ("392", "resident"), ("510", "employee"), ("320", "employee")])
def test_insutype_class_separates_employees_and_residents(insutype: str, cls: str) -> None:
    assert insutype_class(insutype) == cls


# -- prepayment (seed 004 art. 5) ---------------------------------------------------------------------------


@pytest.mark.parametrize(("spending", "months", "minimum", "want"), [
    ([D("250.00")], D("2"), D("0"), D("500.00")),
    ([D("0"), D("0"), D("250.00")], D("2"), D("0"), D("167.00")),        # 83.33.. x 2 = 166.67 up to the yuan
    ([D("100.00"), D("200.00"), D("301.00")], D("2"), D("0"), D("401.00")),  # 200.33.. x 2 = 400.67
    ([D("0.01")], D("1"), D("0"), D("1.00")),                              # always up, never down
    ([D("300.00")], D("1.5"), D("0"), D("450.00")),                        # an exact yuan stays
    ([D("100.00")], D("2"), D("1000.00"), D("1000.00")),                   # never below the minimum
    ([D("-50.00")], D("2"), D("0"), D("0.00")),                            # nor below zero
    ([], D("2"), D("300"), D("300.00")),                                   # no history: the minimum
    ([], D("2"), D("0"), D("0.00")),
])
def test_prepayment_target_is_months_times_the_average_rounded_up(spending: list[Decimal], months: Decimal,
                                                                   minimum: Decimal, want: Decimal) -> None:
    got = prepayment_target(spending, months, minimum)
    assert got == want
    assert got.as_tuple().exponent == -2, f"{got} is not written with two places"
