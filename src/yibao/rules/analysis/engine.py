"""The analysis engine: a region's rules over one visit's lines, as plain values (no I/O). It answers violations,
each naming the lines that break the rule (违规项) and the lines that only take part (涉及项, e.g. the first of two
duplicate charges); it decides nothing: the HIS or the agency's clerk does (docs/analysis.md)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

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


def window_start(day: date, days: int) -> date:
    """The first of the `days` days ending on `day`; never before 0001-01-01 (a nonsense date must not crash)."""
    return date.fromordinal(max(1, day.toordinal() - (days - 1)))


def _per_visit(rule: Rule, case: Case) -> list[Violation]:
    return _beyond(rule, _concerned(rule, case), ZERO, rule.params.max_qty, "本次就诊")


def _per_period(rule: Rule, case: Case) -> list[Violation]:
    """Each day of the visit: what the person had of the items in the `days` ending that day (other visits and the
    lines of this visit before)."""
    codes, days, limit = set(rule.params.codes), rule.params.days, rule.params.max_qty
    lines = _concerned(rule, case)
    out: list[Violation] = []
    flagged: set[str] = set()
    for x in lines:
        start = window_start(x.day, days)
        before = sum((c.qty for c in case.history if c.code in codes and start <= c.day <= x.day), ZERO)
        earlier = [y for y in lines if start <= y.day <= x.day and (y.day, y.key) <= (x.day, x.key)]
        found = _beyond(rule, earlier, before, limit, f"{days}日内")
        if found and x.key in found[0].lines and x.key not in flagged:
            amount = dict(found[0].amounts)[x.key]
            flagged.add(x.key)
            out.append(Violation(rule, (x.key,), tuple(k for k in found[0].involved if k != x.key),
                                 ((x.key, amount),), found[0].evidence))
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
    used = {c.day for c in case.history if c.code in codes}
    for x in lines:
        reasons = list(fixed)
        used.add(x.day)
        if p.max_days is not None and len([d for d in used if d <= x.day]) > p.max_days:
            reasons.append(f"支付天数超过{p.max_days}天")
        if reasons:
            out.extend(_each(rule, [x], "; ".join(reasons)))
    return out


CHECKS = {"sex": _sex, "age": _age, "hosp_lv": _level, "dept": _dept, "qty_per_visit": _per_visit,
          "qty_per_period": _per_period, "exclusive": _exclusive, "duplicate": _duplicate,
          "restricted_payment": _restricted}
