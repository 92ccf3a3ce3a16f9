"""Which region switches are on on a day (揭阳 揭医保〔2021〕82号 / 粤医保规〔2021〕4号 art. 38): the dataset's state,
then the agency's changes from their effective days. Pure, no database."""

from __future__ import annotations

from datetime import date

from yibao.rules.switches import switches_on

EPI = "epidemic_outpatient"


def test_the_dataset_state_holds_until_a_change_is_effective() -> None:
    """Art. 38: the preset benefit is off until the agency switches it on; on from its effective day."""
    baseline = [(EPI, False, None)]
    changes = [(EPI, True, date(2026, 3, 18), 1)]
    assert switches_on(baseline, changes, date(2026, 3, 17)) == set()
    assert switches_on(baseline, changes, date(2026, 3, 18)) == {EPI}


def test_a_dataset_switch_on_from_a_date_is_off_before_it() -> None:
    assert switches_on([(EPI, True, date(2026, 2, 1))], [], date(2026, 1, 31)) == set()
    assert switches_on([(EPI, True, date(2026, 2, 1))], [], date(2026, 2, 1)) == {EPI}


def test_the_latest_effective_change_wins_and_on_the_same_day_the_later_recorded() -> None:
    """Art. 38: changes recorded out of order are applied in order of their effective days."""
    changes = [(EPI, False, date(2026, 3, 20), 2), (EPI, True, date(2026, 3, 18), 1),
               (EPI, True, date(2026, 3, 25), 3), (EPI, False, date(2026, 3, 25), 4)]
    on = {day: switches_on([(EPI, False, None)], changes, date(2026, 3, day)) for day in (18, 19, 20, 25)}
    assert on == {18: {EPI}, 19: {EPI}, 20: set(), 25: set()}


def test_a_change_of_a_switch_the_dataset_does_not_name_still_counts() -> None:
    """A switch named only by a policy row has no dataset state: off until changed."""
    assert switches_on([], [("other", True, date(2026, 1, 1), 1)], date(2026, 6, 1)) == {"other"}
