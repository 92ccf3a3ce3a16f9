"""The analysis engine over plain values (rules/analysis): one test per kind of rule, and the rule documents'
validation naming the path of each problem. No database."""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from yibao.rules.analysis import (
    Case,
    Charge,
    Line,
    LmtCond,
    RuleDoc,
    age_on,
    analyse,
    by_line,
    catalog_rule,
    rule_from_doc,
)
from yibao.validation import problems_of

D = Decimal
DAY = date(2026, 3, 16)


def rule(kind: str, severity: str = "1", **params: Any) -> Any:
    return rule_from_doc(RuleDoc(rule_id=f"R-{kind}", kind=kind, severity=severity, message=f"{kind} broken",
                                 params=params))


def line(key: str, code: str = "A", qty: str = "1", amount: str = "10.00", day: date = DAY, dept: str = "") -> Line:
    return Line(key, code, D(qty), day, D(amount), dept)


def case(*lines: Line, gend: str = "1", age: int | None = 40, hosp_lv: str = "3", dept: str = "D01",
         dise: tuple[str, ...] = (), history: tuple[Charge, ...] = ()) -> Case:
    return Case(gend, age, hosp_lv, dept, dise, tuple(lines), history)


def flagged(rules: list[Any], c: Case) -> dict[str, list[str]]:
    return {k: [v.rule.rule_id for v in vs] for k, vs in by_line(analyse(rules, c)).items()}


def test_sex_limits_flag_the_other_sex_only() -> None:
    r = rule("sex", codes=["GYN"], gend="2")
    assert flagged([r], case(line("1", "GYN"), line("2", "A"), gend="1")) == {"1": ["R-sex"]}
    assert flagged([r], case(line("1", "GYN"), gend="2")) == {}
    assert flagged([r], case(line("1", "GYN"), gend="9")) == {}  # unknown sex: not checkable


def test_age_range() -> None:
    r = rule("age", codes=["KID"], max_age=14)
    assert flagged([r], case(line("1", "KID"), age=15)) == {"1": ["R-age"]}
    assert flagged([r], case(line("1", "KID"), age=14)) == {}
    assert age_on(date(2012, 3, 17), DAY) == 13 and age_on(date(2012, 3, 16), DAY) == 14
    low = rule("age", codes=["OLD"], min_age=60)
    [v] = analyse([low], case(line("1", "OLD"), age=59))
    assert "低于60岁" in v.evidence and v.amount == D("10.00")


def test_institution_level() -> None:
    r = rule("hosp_lv", codes=["MRI"], hosp_lv=["2", "3"])
    assert flagged([r], case(line("1", "MRI"), hosp_lv="1")) == {"1": ["R-hosp_lv"]}
    assert flagged([r], case(line("1", "MRI"), hosp_lv="2")) == {}


def test_department_by_prefix_the_line_s_own_department_first() -> None:
    r = rule("dept", codes=["EYE"], depts=["A11"])
    assert flagged([r], case(line("1", "EYE"), dept="A1101")) == {}
    assert flagged([r], case(line("1", "EYE"), dept="A03")) == {"1": ["R-dept"]}
    assert flagged([r], case(line("1", "EYE", dept="A1102"), dept="A03")) == {}


def test_quantity_per_visit_flags_the_part_beyond_the_limit() -> None:
    r = rule("qty_per_visit", codes=["A"], max_qty="3")
    [v] = analyse([r], case(line("1", qty="2", amount="20.00"), line("2", qty="2", amount="20.00")))
    # 4 given, 3 allowed: one of line 2's two units is beyond
    assert (v.lines, v.involved, v.amount) == (("2",), ("1",), D("10.00"))
    assert analyse([r], case(line("1", qty="3"))) == []


def test_quantity_per_period_counts_the_other_visits_in_the_window() -> None:
    r = rule("qty_per_period", codes=["A"], max_qty="10", days=7)
    old = (Charge("A", D("8"), date(2026, 3, 10)), Charge("A", D("50"), date(2026, 3, 9)))  # the 9th is outside
    [v] = analyse([r], case(line("1", qty="3", amount="30.00"), history=old))
    assert (v.lines, v.amount) == (("1",), D("10.00"))
    assert analyse([r], case(line("1", qty="2"), history=old)) == []


def test_mutually_exclusive_charges_on_one_visit() -> None:
    r = rule("exclusive", codes=["X"], with_codes=["Y"])
    [v] = analyse([r], case(line("1", "X"), line("2", "Y", amount="7.00")))
    assert (v.lines, v.involved, v.amount) == (("2",), ("1",), D("7.00"))
    assert analyse([r], case(line("1", "X"), line("2", "Z"))) == []


def test_duplicate_charge_the_same_day() -> None:
    r = rule("duplicate")
    [v] = analyse([r], case(line("1", "A"), line("2", "A"), line("3", "A", day=date(2026, 3, 17)), line("4", "B")))
    assert (v.lines, v.involved) == (("2",), ("1",))
    only_b = rule("duplicate", codes=["B"])
    assert analyse([only_b], case(line("1", "A"), line("2", "A"))) == []


def test_restricted_payment_every_condition() -> None:
    r = rule("restricted_payment", codes=["LMT"], gend="2", min_age=18, hosp_lv=["3"], dise_prefixes=["E11"])
    assert flagged([r], case(line("1", "LMT"), gend="2", age=30, dise=("E11.900",))) == {}
    [v] = analyse([r], case(line("1", "LMT"), gend="1", age=10, hosp_lv="2", dise=("I10",)))
    for why in ("限女性", "低于18岁", "限3级医疗机构", "限诊断E11"):
        assert why in v.evidence


def test_restricted_payment_days_of_use() -> None:
    r = rule("restricted_payment", codes=["LMT"], max_days=2)
    used = (Charge("LMT", D("1"), date(2026, 3, 14)), Charge("LMT", D("1"), date(2026, 3, 15)))
    assert flagged([r], case(line("1", "LMT"), history=used)) == {"1": ["R-restricted_payment"]}
    assert flagged([r], case(line("1", "LMT"), history=used[:1])) == {}


def test_a_catalog_row_s_condition_is_a_restricted_payment_rule() -> None:
    doc = catalog_rule("EX-DRUG-B", "药品乙", LmtCond(dise_prefixes=["M01"]))
    assert (doc.rule_id, doc.kind, doc.params) == ("LMT-EX-DRUG-B", "restricted_payment",
                                                   {"codes": ["EX-DRUG-B"], "dise_prefixes": ["M01"]})
    assert flagged([rule_from_doc(doc)], case(line("9", "EX-DRUG-B"))) == {"9": ["LMT-EX-DRUG-B"]}


def test_several_rules_on_one_line() -> None:
    rules = [rule("sex", codes=["A"], gend="2"), rule("hosp_lv", codes=["A"], hosp_lv=["1"])]
    assert flagged(rules, case(line("1"))) == {"1": ["R-sex", "R-hosp_lv"]}


def problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as err:
        RuleDoc.model_validate(doc)
    return problems_of(err.value)


BASE = {"rule_id": "R1", "kind": "sex", "severity": "1", "message": "m", "params": {"codes": ["A"], "gend": "2"}}


def test_rule_documents_refuse_unknown_kind_severity_and_params_by_path() -> None:
    [(path, why)] = problems({**BASE, "kind": "colour"})
    assert path == "kind" and "'colour' is not a kind of rule" in why and "qty_per_period" in why
    [(path, why)] = problems({**BASE, "severity": "7"})
    assert path == "severity" and "1 明确违规" in why
    [(path, why)] = problems({**BASE, "params": {"codes": ["A"]}})
    assert (path, why) == ("params", "gend: is required")
    [(path, why)] = problems({**BASE, "kind": "qty_per_period", "params": {"codes": ["A"], "max_qty": 1.5,
                                                                           "days": 7}})  # float-ok: bad input
    assert path == "params" and "max_qty" in why and "never a float" in why
    [(path, why)] = problems({**BASE, "kind": "restricted_payment", "params": {"codes": ["A"]}})
    assert path == "params" and "names no condition" in why
    [(path, why)] = problems({**BASE, "vola_bhvr_type": "77"})
    assert path == "vola_bhvr_type"
    [(path, _)] = problems({**BASE, "colour": "red"})
    assert path == "colour"


def test_quantity_per_period_near_the_first_day_of_the_calendar() -> None:
    """A window reaching before 0001-01-01 starts there (an order dated 0001-01-01 is nonsense, but no crash)."""
    r = rule("qty_per_period", codes=["A"], max_qty="2", days=30)
    first = date(1, 1, 1)
    [v] = analyse([r], case(line("1", qty="1", day=first), line("2", qty="1", day=date(1, 1, 5)),
                            history=(Charge("A", D("1"), first),)))
    assert (v.lines, v.involved, v.amount) == (("2",), ("1",), D("10.00"))
    assert analyse([r], case(line("1", qty="1", day=first))) == []


def _period_by_definition(codes: set[str], days: int, limit: Decimal, lines: list[Line],
                          history: tuple[Charge, ...]) -> list[tuple[str, tuple[str, ...], Decimal]]:
    """qty_per_period as it reads, line by line (slow, for comparison): the lines of the visit in (day, key) order;
    a line breaks the rule by its units past the limit, counting from the start of the `days` ending on its day the
    person's other charges and the visit's lines up to it; the lines up to it not past the limit take part."""
    mine = sorted((x for x in lines if x.code in codes), key=lambda x: (x.day, x.key))
    out = []
    for x in mine:
        first = date.fromordinal(max(1, x.day.toordinal() - days + 1))
        total = sum((c.qty for c in history if c.code in codes and first <= c.day <= x.day), D("0"))
        within = []
        for y in mine:
            if not first <= y.day <= x.day or (y.day, y.key) > (x.day, x.key):
                continue
            total += y.qty
            if y is not x and (y.qty <= 0 or total <= limit):
                within.append(y.key)
        excess = min(x.qty, total - limit)
        if excess > 0:
            out.append((x.key, tuple(within), (x.amount * excess / x.qty).quantize(D("0.01"), ROUND_HALF_UP)))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_quantity_per_period_agrees_with_its_definition(seed: int) -> None:
    """Random visits (returns with negative quantities, zero quantities, several days, other visits before and
    after) judged by the engine and by the definition read literally."""
    rnd = random.Random(seed)
    start = date(2026, 3, 1)
    days, limit = rnd.choice([1, 2, 3, 7, 30]), D(rnd.choice(["1", "2", "5", "7.5", "12"]))

    def some_day(low: int, high: int) -> date:
        return date.fromordinal(start.toordinal() + rnd.randrange(low, high))

    quantities = ["1", "2", "3", "0", "-1", "0.5"]
    lines = [Line(f"K{rnd.randrange(1000):03d}-{i}", rnd.choice("AAB"), D(rnd.choice(quantities)), some_day(0, 10),
                  D(rnd.choice(["10.00", "7.33", "0.00"]))) for i in range(rnd.randrange(1, 40))]
    history = tuple(Charge(rnd.choice("AB"), D(rnd.choice(["1", "4", "-2"])), some_day(-10, 15))
                    for _ in range(rnd.randrange(8)))
    r = rule("qty_per_period", codes=["A"], max_qty=str(limit), days=days)
    got = [(v.lines[0], v.involved, v.amount) for v in analyse([r], case(*lines, history=history))]
    assert got == _period_by_definition({"A"}, days, limit, lines, history)


@pytest.mark.parametrize("seed", range(20))
def test_restricted_payment_days_of_use_agree_with_their_definition(seed: int) -> None:
    rnd = random.Random(seed)
    start = date(2026, 3, 1)
    lines = [line(f"K{i:02d}", rnd.choice("AB"), day=date.fromordinal(start.toordinal() + rnd.randrange(10)))
             for i in range(rnd.randrange(1, 30))]
    history = tuple(Charge(rnd.choice("AB"), D("1"), date.fromordinal(start.toordinal() + rnd.randrange(-10, 15)))
                    for _ in range(rnd.randrange(8)))
    max_days = rnd.randrange(1, 8)
    r = rule("restricted_payment", codes=["A"], max_days=max_days)
    used = {c.day for c in history if c.code == "A"} | {x.day for x in lines if x.code == "A"}
    expected = sorted(x.key for x in lines if x.code == "A" and len([d for d in used if d <= x.day]) > max_days)
    assert sorted(flagged([r], case(*lines, history=history))) == expected


def test_period_rules_read_each_line_and_charge_a_bounded_number_of_times() -> None:
    """The engine's work on a long stay grows with its lines, not with their square: every rule that counts over
    days reads each line's and each other charge's day a few times, whatever their number. (Speed is measured by
    the bench, not here.)"""
    reads = [0]

    class Read:
        def __getattribute__(self, name: str) -> Any:
            if name == "day":
                reads[0] += 1
            return super().__getattribute__(name)

    class CountedLine(Read, Line):
        pass

    class CountedCharge(Read, Charge):
        pass

    n = 1000
    lines = tuple(CountedLine(f"O{i:04d}", "A", D("1"), date(2026, 1, 1 + i % 28), D("10.00")) for i in range(n))
    history = tuple(CountedCharge("A", D("1"), date(2025, 12, 1 + i % 28)) for i in range(n))
    for r in (rule("qty_per_period", codes=["A"], max_qty="5", days=30),
              rule("restricted_payment", codes=["A"], max_days=3)):
        reads[0] = 0
        found = analyse([r], case(*lines, history=history))
        assert len(found) > n - 10
        assert reads[0] <= 8 * 2 * n, f"{r.kind} read {reads[0]} days of {2 * n} lines and charges"


def test_a_period_rule_s_evidence_tells_no_quantity_of_other_visits() -> None:
    """Other visits may be at other institutions: the evidence says the period's limit is passed, not by how much."""
    r = rule("qty_per_period", codes=["A"], max_qty="5", days=30)
    [v] = analyse([r], case(line("1", qty="1"), history=(Charge("A", D("7"), date(2026, 3, 15)),)))
    assert v.evidence == "30日内数量超过5" and v.amount == D("10.00")
