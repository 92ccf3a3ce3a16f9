"""The analysis engine: a region's rules over one visit's lines, as plain values (no I/O). It answers violations,
each naming the lines that break the rule (违规项) and the lines that only take part (涉及项, e.g. the first of two
duplicate charges); it decides nothing: the HIS or the agency's clerk does (docs/analysis.md)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import accumulate

from yibao.money import ZERO, round2
from yibao.rules.analysis.spec import Rule


@dataclass(frozen=True)
class Line:
    """A charge of the visit analysed: `key` is the caller's (rx_id, feedetl_sn)."""

    key: str
    code: str
    qty: Decimal
    day: date
    amount: Decimal
    dept: str = ""


@dataclass(frozen=True)
class Charge:
    """A charge of the same person on another visit (history, for period rules)."""

    code: str
    qty: Decimal
    day: date


@dataclass(frozen=True)
class Case:
    gend: str  # GEND: 1 男, 2 女 (0/9: unknown, so sex conditions are not checked)
    age: int | None
    hosp_lv: str  # the institution's level: 1, 2, 3 ("" when unknown)
    dept: str  # the visit's department code
    dise_codes: tuple[str, ...]
    lines: tuple[Line, ...]
    history: tuple[Charge, ...] = ()


@dataclass(frozen=True)
class Violation:
    rule: Rule
    lines: tuple[str, ...]  # 违规项
    involved: tuple[str, ...]  # 涉及项
    amounts: tuple[tuple[str, Decimal], ...]  # the amount in violation, by violating line
    evidence: str

    @property
    def amount(self) -> Decimal:
        return sum((a for _, a in self.amounts), ZERO)


def age_on(brdy: date, day: date) -> int:
    """Whole years of age on `day`."""
    return day.year - brdy.year - ((day.month, day.day) < (brdy.month, brdy.day))


def analyse(rules: Iterable[Rule], case: Case) -> list[Violation]:
    out: list[Violation] = []
    for rule in rules:
        out.extend(CHECKS[rule.kind](rule, case))
    return out


def by_line(violations: Iterable[Violation]) -> dict[str, list[Violation]]:
    """The violations each line breaks (as 违规项)."""
    out: dict[str, list[Violation]] = defaultdict(list)
    for v in violations:
        for key in v.lines:
            out[key].append(v)
    return dict(out)


def _concerned(rule: Rule, case: Case) -> list[Line]:
    codes = set(rule.params.codes)
    return sorted((x for x in case.lines if x.code in codes), key=lambda x: (x.day, x.key))


def _each(rule: Rule, lines: Sequence[Line], why: str) -> list[Violation]:
    return [Violation(rule, (x.key,), (), ((x.key, x.amount),), f"{x.code}: {why}") for x in lines]


def _sex(rule: Rule, case: Case) -> list[Violation]:
    if case.gend not in ("1", "2") or case.gend == rule.params.gend:
        return []
    return _each(rule, _concerned(rule, case), f"限{'男' if rule.params.gend == '1' else '女'}性")


def _age_problem(age: int | None, low: int | None, high: int | None) -> str:
    if age is None:
        return ""
    if low is not None and age < low:
        return f"年龄{age}岁低于{low}岁"
    if high is not None and age > high:
        return f"年龄{age}岁高于{high}岁"
    return ""


def _age(rule: Rule, case: Case) -> list[Violation]:
    why = _age_problem(case.age, rule.params.min_age, rule.params.max_age)
    return _each(rule, _concerned(rule, case), why) if why else []


def _level(rule: Rule, case: Case) -> list[Violation]:
    if case.hosp_lv in rule.params.hosp_lv:
        return []
    allowed = "/".join(rule.params.hosp_lv)
    return _each(rule, _concerned(rule, case), f"医疗机构等级{case.hosp_lv or '未知'}不在{allowed}")


def _dept(rule: Rule, case: Case) -> list[Violation]:
    out = []
    for x in _concerned(rule, case):
        dept = x.dept or case.dept
        if not any(dept.startswith(p) for p in rule.params.depts):
            out.extend(_each(rule, [x], f"科室{dept or '未知'}不在{'/'.join(rule.params.depts)}"))
    return out


def _beyond(rule: Rule, lines: Sequence[Line], used: Decimal, limit: Decimal, what: str) -> list[Violation]:
    """Lines in order, `used` already counted: the lines past `limit` violate (by their part past it), the lines
    before them are involved."""
    over: list[tuple[str, Decimal]] = []
    within: list[str] = []
    total = used
    for x in lines:
        total += x.qty
        excess = min(x.qty, total - limit)
        if excess > 0:
            over.append((x.key, round2(x.amount * excess / x.qty) if x.qty else x.amount))
        else:
            within.append(x.key)
    if not over:
        return []
    return [Violation(rule, tuple(k for k, _ in over), tuple(within), tuple(over),
                      f"{what}数量{total}超过{limit}")]


def _per_visit(rule: Rule, case: Case) -> list[Violation]:
    return _beyond(rule, _concerned(rule, case), ZERO, rule.params.max_qty, "本次就诊")


def _per_period(rule: Rule, case: Case) -> list[Violation]:
    """Each line of the visit, in (day, key) order: what the person had of the items in the `days` ending on its
    day (other visits, and the lines of this visit up to it). The line breaks the rule by its units past the limit;
    the lines before it in the window that were not past the limit take part. The evidence tells no total: it
    would tell the institution what the person had at others.

    One pass: the window over the lines slides forward, the other visits' quantities are summed by day once, and
    the lines taking part are found among the running totals (`_Lowest`), so a stay of thousands of lines costs
    thousands of steps, not millions."""
    codes, days, limit = set(rule.params.codes), rule.params.days, rule.params.max_qty
    lines = _concerned(rule, case)
    if not lines:
        return []
    others = _DailyTotals((c.day.toordinal(), c.qty) for c in case.history if c.code in codes)
    on = [x.day.toordinal() for x in lines]
    run = list(accumulate((x.qty for x in lines), initial=ZERO))  # run[j]: the lines before the j-th
    lowest = _Lowest(run[1:])
    returns = [j for j, x in enumerate(lines) if x.qty <= 0]  # never past the limit, so they always take part
    out: list[Violation] = []
    lo = 0
    for i, x in enumerate(lines):
        first = max(1, on[i] - (days - 1))  # an ordinal: a window before 0001-01-01 starts there
        while on[lo] < first:
            lo += 1
        # the total counted through the j-th line of the window is base + run[j + 1]
        base = others.between(first, on[i]) - run[lo]
        total = base + run[i + 1]
        excess = min(x.qty, total - limit)
        if excess <= 0:
            continue
        within = set(lowest.at_most(lo, i, limit - base))
        within.update(returns[bisect_left(returns, lo):bisect_left(returns, i)])
        out.append(Violation(rule, (x.key,), tuple(lines[j].key for j in sorted(within)),
                             ((x.key, round2(x.amount * excess / x.qty)),), f"{days}日内数量超过{limit}"))
    return out


class _DailyTotals:
    """Quantities by day (ordinals), summed once, then the total of any span of days in log time."""

    def __init__(self, items: Iterable[tuple[int, Decimal]]):
        by_day: dict[int, Decimal] = defaultdict(lambda: ZERO)
        for day, qty in items:
            by_day[day] += qty
        self.days = sorted(by_day)
        self.run = list(accumulate((by_day[d] for d in self.days), initial=ZERO))

    def between(self, first: int, last: int) -> Decimal:
        return self.run[bisect_right(self.days, last)] - self.run[bisect_left(self.days, first)]


class _Lowest:
    """A list of figures as a tree of minima: the positions in a range whose figure is at most a bound come out in
    order, each found in log time (quantities may be negative, so running totals do not only grow)."""

    def __init__(self, values: Sequence[Decimal]):
        self.size = 1
        while self.size < len(values):
            self.size *= 2
        self.low: list[Decimal] = [Decimal("Infinity")] * (2 * self.size)
        self.low[self.size:self.size + len(values)] = values
        for node in range(self.size - 1, 0, -1):
            self.low[node] = min(self.low[2 * node], self.low[2 * node + 1])

    def at_most(self, lo: int, hi: int, bound: Decimal) -> list[int]:
        """The positions j, lo <= j < hi, whose figure is at most `bound`, in increasing order."""
        out: list[int] = []
        stack = [(1, 0, self.size)]
        while stack:
            node, a, b = stack.pop()
            if b <= lo or a >= hi or self.low[node] > bound:
                continue
            if b - a == 1:
                out.append(a)
                continue
            middle = (a + b) // 2
            stack.append((2 * node + 1, middle, b))
            stack.append((2 * node, a, middle))
        return out


def _exclusive(rule: Rule, case: Case) -> list[Violation]:
    first = _concerned(rule, case)
    other = set(rule.params.with_codes)
    second = [x for x in case.lines if x.code in other]
    if not first or not second:
        return []
    return [Violation(rule, tuple(x.key for x in second), tuple(x.key for x in first),
                      tuple((x.key, x.amount) for x in second),
                      f"{'/'.join(sorted({x.code for x in first}))}与{'/'.join(sorted({x.code for x in second}))}"
                      "不能同一次就诊收费")]


def _duplicate(rule: Rule, case: Case) -> list[Violation]:
    codes = set(rule.params.codes)
    groups: dict[tuple[str, date], list[Line]] = defaultdict(list)
    for x in sorted(case.lines, key=lambda x: (x.day, x.key)):
        if not codes or x.code in codes:
            groups[(x.code, x.day)].append(x)
    return [Violation(rule, tuple(x.key for x in same[1:]), (same[0].key,),
                      tuple((x.key, x.amount) for x in same[1:]), f"{code}于{day}收费{len(same)}次")
            for (code, day), same in groups.items() if len(same) > 1]


def _restricted(rule: Rule, case: Case) -> list[Violation]:
    p = rule.params
    lines = _concerned(rule, case)
    fixed: list[str] = []
    if p.gend is not None and case.gend in ("1", "2") and case.gend != p.gend:
        fixed.append(f"限{'男' if p.gend == '1' else '女'}性")
    why = _age_problem(case.age, p.min_age, p.max_age)
    if why:
        fixed.append(why)
    if p.hosp_lv is not None and case.hosp_lv not in p.hosp_lv:
        fixed.append(f"限{'/'.join(p.hosp_lv)}级医疗机构")
    if p.dise_prefixes is not None and not any(d.startswith(q) for d in case.dise_codes for q in p.dise_prefixes):
        fixed.append(f"限诊断{'/'.join(p.dise_prefixes)}")
    out = []
    codes = set(p.codes)
    # the days of use up to a line's: the other visits' and this visit's up to it (the lines are in day order)
    used = sorted({c.day for c in case.history if c.code in codes} | {x.day for x in lines})
    for x in lines:
        reasons = list(fixed)
        if p.max_days is not None and bisect_right(used, x.day) > p.max_days:
            reasons.append(f"支付天数超过{p.max_days}天")
        if reasons:
            out.extend(_each(rule, [x], "; ".join(reasons)))
    return out


CHECKS = {"sex": _sex, "age": _age, "hosp_lv": _level, "dept": _dept, "qty_per_visit": _per_visit,
          "qty_per_period": _per_period, "exclusive": _exclusive, "duplicate": _duplicate,
          "restricted_payment": _restricted}
