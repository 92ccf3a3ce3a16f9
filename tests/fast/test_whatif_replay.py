"""The what-if replay (yibao.whatif.replay.Replayer) over months made here by the same rule that settles
(rules/amounts.settle_amounts): unchanged it gives back every stored amount; changed, the change carries through
the person's accumulator and account to his later settlements; a cancellation takes its original back. And the
parsing of CHANGES.yaml. No database."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from yibao.errors import Refusal
from yibao.money import ZERO
from yibao.rules.amounts import settle_amounts
from yibao.rules.cost_sharing import PolicyTerms, Usage
from yibao.rules.selection import PolicyRow
from yibao.rules.splitting import Sums
from yibao.whatif import source
from yibao.whatif.changes import Changes, load
from yibao.whatif.policies import Policies
from yibao.whatif.replay import Replayer
from yibao.whatif.report import BREAKDOWNS, FIGURES, Tally

D = Decimal
ROW = PolicyRow(1, "310", ("11",), None, "outpatient", D("100.00"), D("0.60"), D("100000.00"), "all", None, None, None)
START = datetime(2026, 3, 1, 8, 0, 0)
PLACES = {"H1": ("440300", "3", "Hospital One")}


def stored_month(n: int, seed: int, people: int = 5, start: datetime = START) -> list[tuple[Any, ...]]:
    """n settlements of `people` persons, each with an account, settled one after the other as live settlement
    does; as the settlements table holds them (source.COLUMNS)."""
    rnd = random.Random(seed)
    usage: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}  # per person and year, as the accumulator
    balance = {f"P{i}": D(rnd.randrange(0, 40000)) / 100 for i in range(people)}
    rows = []
    for i in range(n):
        psn = f"P{rnd.randrange(people)}"
        inscp = D(rnd.randrange(1000, 60000)) / 100
        fulamt = D(rnd.randrange(0, 3000)) / 100
        sums = Sums(inscp + fulamt, fulamt, ZERO, ZERO, inscp)
        use = rnd.random() < 0.8  # float-ok: a test's dice
        when = start + timedelta(hours=6 * i)
        used, paid = usage.get((psn, when.year), (ZERO, ZERO))
        a = settle_amounts(sums, PolicyTerms(ROW.deductible, ROW.ratio, ROW.annual_cap, ROW.acct_scope),
                           Usage(used, paid), use_accounts=use, own_balance=balance[psn], sources=[])
        usage[(psn, when.year)] = (used + a.shares.act_pay_dedc, paid + a.shares.hifp_pay)
        balance[psn] -= a.payment.own
        rows.append(row(f"S{i:05d}", psn, when, sums, a, balance[psn]))
    return rows


def row(setl_id: str, psn: str, when: datetime, sums: Sums, a: Any, balc: Decimal, *, refd: str = "0",
        init: str | None = None, status: str = "settled") -> tuple[Any, ...]:
    s, p = a.shares, a.payment
    return (setl_id, psn, "310", "11", when, when.year, "outpatient", refd, init, status, sums.medfee_sumamt,
            sums.fulamt_ownpay_amt, sums.overlmt_selfpay, sums.preselfpay_amt, sums.inscp_scp_amt, s.act_pay_dedc,
            s.hifp_pay, s.fund_pay_sumamt, s.psn_part_amt, p.total, p.mutual_aid, a.psn_cash_pay, balc, ROW.id,
            "H1", "440300")


def run(rows: list[tuple[Any, ...]], changes: Changes = Changes(), ordered: bool = False) -> Tally:
    tally = Tally(top=3)
    replayer = Replayer(Policies("440300", [ROW], changes, [], [], set()), tally, {}, {}, PLACES)
    for r in replayer.ordered(rows) if ordered else rows:
        replayer.one(r)
    return tally


@pytest.mark.parametrize("seed", range(5))
def test_unchanged_every_settlement_comes_back_to_the_cent(seed: int) -> None:
    rows = stored_month(300, seed)
    tally = run(rows)
    group = tally.total()
    assert group.settlements == 300
    assert group.changed == 0
    assert group.before == group.after
    assert group.before[0] == sum((r[17] for r in rows), ZERO)
    assert tally.largest() == []


def test_a_lowered_deductible_moves_the_later_settlements_of_the_person() -> None:
    rows = stored_month(200, 1)
    tally = run(rows, load('policies:\n  - {insutype: "310", deductible: "10.00"}\n'))
    group = tally.total()
    # each of the 5 persons had used his whole deductible: 90.00 less of it each, pooled at 60 %
    assert group.after[0] - group.before[0] == 5 * D("54.00")
    # what the fund pays more the persons pay less, from their accounts or in cash
    assert (group.after[1] + group.after[3]) - (group.before[1] + group.before[3]) == group.before[0] - group.after[0]
    assert len(tally.largest()) == 3


def test_a_change_from_a_day_leaves_the_days_before_it_alone() -> None:
    rows = stored_month(100, 2)
    cut = rows[50][4].date()
    ratio = load(f'policies:\n  - {{insutype: "310", ratio: "0.8", from: {cut.isoformat()}}}\n')
    tally = run([r for r in rows if r[4].date() < cut], ratio)
    assert tally.total().changed == 0
    assert run(rows, load(f'policies:\n  - {{ratio: "0.8", from: {cut}}}\n')).total().changed > 0


def test_a_cancellation_takes_back_its_originals_replayed_amounts() -> None:
    terms = PolicyTerms(ROW.deductible, ROW.ratio, ROW.annual_cap, ROW.acct_scope)
    sums = Sums(D("300.00"), ZERO, ZERO, ZERO, D("300.00"))
    first = settle_amounts(sums, terms, Usage(), use_accounts=False, own_balance=None, sources=[])
    used = Usage(first.shares.act_pay_dedc, first.shares.hifp_pay)
    neg = settle_amounts(Sums(D("-300.00"), ZERO, ZERO, ZERO, D("-300.00")), terms, Usage(), use_accounts=False,
                         own_balance=None, sources=[])
    again = settle_amounts(sums, terms, Usage(), use_accounts=False, own_balance=None, sources=[])
    assert used.deductible_used == D("100.00")
    rows = [row("S1", "P", START, sums, first, ZERO, status="cancelled"),
            row("R1", "P", START + timedelta(hours=1), Sums(), neg, ZERO, refd="1", init="S1", status="reversal"),
            row("S2", "P", START + timedelta(hours=2), sums, again, ZERO)]
    # the reversal row as stored: the negatives of the original
    rows[1] = rows[1][:15] + (-first.shares.act_pay_dedc, -first.shares.hifp_pay, -first.shares.fund_pay_sumamt,
                              -first.shares.psn_part_amt, ZERO, ZERO, -first.psn_cash_pay) + rows[1][22:]
    unchanged = run(rows).total()
    assert unchanged.changed == 0 and unchanged.settlements == 2
    lowered = run(rows, load('policies:\n  - {deductible: "0.00"}\n')).total()
    assert lowered.changed == 2
    # the cancelled visit's change nets out: the month's change is the second visit's alone (100.00 at 60 %)
    assert lowered.after[0] - lowered.before[0] == D("60.00")


def test_a_persons_settlements_of_one_second_are_put_back_in_the_order_that_made_them() -> None:
    rows = stored_month(3, 4, people=1)
    same_second = [r[:4] + (START,) + r[5:] for r in rows]
    assert run(list(reversed(same_second)), ordered=True).total().changed == 0
    assert run(same_second[::-1]).total().changed > 0  # taken as listed they would differ


@pytest.mark.parametrize(("text", "said"), [
    ("[1]", "changes: must be a mapping"),
    ("policies: {a: 1}", "policies: must be a list"),
    ("policies:\n  - {insutype: '310'}", "policies[0]: changes nothing"),
    ("policies:\n  - {annual_cap: '1.005'}", "policies[0].annual_cap: must be an amount in yuan with at most 2"),
    ("policies:\n  - {acct_scope: some}", "policies[0].acct_scope: must be one of all, policy"),
    ("policies:\n  - {med_type: 11, ratio: '0.5'}", "policies[0].med_type: must be one of"),
    ("policies:\n  - {ratio: '0.5', from: 2026-02-30}", "changes: is not YAML: day is out of range for month"),
    ("policies:\n  - {ratio: '0.5', from: 2026-03-01 10:00:00}", "policies[0].from: must be a day YYYY-MM-DD"),
    ("policies:\n  - {ratio: '0.5', from: '2026-3-1'}", "policies[0].from: must be a day YYYY-MM-DD"),
    ("switches:\n  - {name: x, 'on': 'yes'}", "switches[0].on: must be true or false"),
    ("policies:\n  - {deductible: '1e999999'}", "policies[0].deductible: must be at most 9999999999.99"),
    ("policies:\n  - {ratio: '1e-999999'}", "policies[0].ratio: must be a share from 0 to 1"),
    ("policies:\n  - {annual_cap: 'NaN'}", "policies[0].annual_cap: must be a decimal number"),
])
def test_changes_are_checked_whole_naming_the_field(text: str, said: str) -> None:
    with pytest.raises(Refusal) as refused:
        load(text)
    assert refused.value.err_msg.startswith(said)


@pytest.mark.parametrize("month", ["2026-13", "0000-01", "9999-12", "2026-3x", "2100-01"])
def test_a_month_out_of_bounds_is_refused(month: str) -> None:
    with pytest.raises(Refusal) as refused:
        source.month_of(month)
    assert refused.value.err_msg.startswith("month: ")


def test_an_empty_document_changes_nothing_and_a_full_one_is_read() -> None:
    assert load("").empty and load("# nothing\n").empty and load("policies: []").empty
    changes = load('policies:\n'
                   '  - {policy_id: 1, deductible: 50, ratio: "0.75", acct_scope: policy, from: 2026-03-10}\n'
                   'switches:\n  - {name: epidemic_outpatient, "on": true}\n'
                   'mutual_aid:\n  - {insutype: "390", withheld: true}\n')
    p = changes.policies[0]
    assert p.terms == {"deductible": D("50.00"), "ratio": D("0.75"), "acct_scope": "policy"}
    assert p.where.since == date(2026, 3, 10)
    assert changes.switches[0].on and changes.switches[0].since is None
    assert changes.mutual_aid[0].insutype == "390"


def test_the_report_rolls_the_composite_groups_up_into_every_breakdown() -> None:
    rows = stored_month(200, 1)
    # a second institution, of no known level, for a third of the settlements
    rows = [r[:24] + ("H2",) + r[25:] if i % 3 == 0 else r for i, r in enumerate(rows)]
    tally = run(rows, load('policies:\n  - {insutype: "310", deductible: "10.00"}\n'))
    report = tally.report(region="440300", months=["2026-03"], changes={}, notes=[], places=PLACES)
    assert [name for name, _, _ in BREAKDOWNS] == ["by_region", "by_insured_region", "by_insutype", "by_med_type",
                                                  "by_inst_level", "by_institution"]
    total = report["total"]
    assert report["fund_effect"] == total["fund_pay"]["change"] == 5 * D("54.00")
    assert report["months"] == ["2026-03"] and report["month"] == "2026-03"
    for name, column, _ in BREAKDOWNS:
        groups = report[name]
        assert [g[column] for g in groups] == sorted(g[column] for g in groups), name
        assert sum(g["settlements"] for g in groups) == total["settlements"] == 200, name
        for figure in FIGURES:
            assert sum((g[figure]["change"] for g in groups), ZERO) == total[figure]["change"], (name, figure)
    assert [(g["institution"], g["name"]) for g in report["by_institution"]] == [("H1", "Hospital One"), ("H2", "")]
    assert [g["inst_level"] for g in report["by_inst_level"]] == ["", "3"]
    assert [g["insured_region"] for g in report["by_insured_region"]] == ["440300"]
    persons = report["most_affected_persons"]
    assert len(persons) == 3  # top=3 of the 5 persons, each 54.00 more from the fund
    assert all(p["fund_pay"]["change"] == D("54.00") for p in persons)
    cash = [abs(p["psn_cash_pay"]["change"]) for p in persons]
    assert cash == sorted(cash, reverse=True)
    assert run(rows).report(region="440300", months=["2026-03"], changes={}, notes=[])["most_affected_persons"] == []


def test_over_a_new_year_the_accumulators_start_again_as_their_year_key_does() -> None:
    rows = stored_month(200, 1, start=datetime(2026, 12, 1, 8, 0, 0))  # December 2026 to February 2027
    assert {r[5] for r in rows} == {2026, 2027}
    assert run(rows).total().changed == 0
    lowered = run(rows, load('policies:\n  - {insutype: "310", deductible: "10.00"}\n')).total()
    # each of the 5 persons used his whole deductible in each year: 90.00 less of it, twice, pooled at 60 %
    assert lowered.after[0] - lowered.before[0] == 2 * 5 * D("54.00")
