"""The monitoring of cross-region settlement (揭阳 揭医保〔2021〕82号, 粤医保规〔2021〕4号 art. 32: 建立异地就医结算运行
监控制度，定期编报异地就医结算运行分析报告): the periods compared, the rates, and which institutions are unusual.

Pure functions of amounts and settings. The thresholds are the region's setting `monitoring` (the province's:
the setting of the region row xx0000 if there is one), each key optional:

    monitoring:
      growth: "0.50"      # unusual growth: the medical costs grew by more than 50 % over the previous period
      avg_cost: "1.50"    # unusual average cost: above 1.5 times the average cost of the whole scope
      min_visits: 5       # an institution with fewer visits in the period is never flagged
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from yibao.rules.monthly import parse_ym, shift, ym_text

UNUSUAL_GROWTH = "增长异常"
UNUSUAL_AVG_COST = "次均费用异常"


@dataclass(frozen=True)
class Thresholds:
    growth: Decimal = Decimal("0.50")
    avg_cost: Decimal = Decimal("1.50")
    min_visits: int = 5

    @classmethod
    def of(cls, settings: Mapping[str, Any] | None) -> Thresholds:
        """The thresholds of a region's settings; ValueError naming the key of a setting that is not one."""
        given = (settings or {}).get("monitoring") or {}
        if not isinstance(given, Mapping):
            raise ValueError("monitoring: a mapping of growth, avg_cost and min_visits")
        default = cls()
        return cls(_rate(given, "growth", default.growth), _rate(given, "avg_cost", default.avg_cost),
                   _count(given, "min_visits", default.min_visits))


def _rate(given: Mapping[str, Any], key: str, default: Decimal) -> Decimal:
    value = given.get(key, default)
    try:
        rate = Decimal(str(value))
    except ArithmeticError:
        rate = Decimal("NaN")
    if isinstance(value, bool | float) or not rate.is_finite() or rate < 0:
        raise ValueError(f"monitoring.{key}: {value!r} is not a non-negative decimal (as text, e.g. \"0.50\")")
    return rate


def _count(given: Mapping[str, Any], key: str, default: int) -> int:
    value = given.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"monitoring.{key}: {value!r} is not a non-negative whole number")
    return value


@dataclass(frozen=True)
class Period:
    """A month (months=1) or a calendar quarter (months=3) starting at month `first`."""

    first: str
    months: int

    @classmethod
    def of(cls, ym: str, quarter: bool) -> Period:
        year, month = parse_ym(ym)
        if not quarter:
            return cls(ym_text(year, month), 1)
        return cls(ym_text(year, (month - 1) // 3 * 3 + 1), 3)

    @property
    def months_list(self) -> list[str]:
        return [shift(self.first, k) for k in range(self.months)]

    @property
    def last(self) -> str:
        return shift(self.first, self.months - 1)

    def previous(self) -> Period:
        return Period(shift(self.first, -self.months), self.months)

    def last_year(self) -> Period:
        return Period(shift(self.first, -12), self.months)

    @property
    def label(self) -> str:
        year, month = parse_ym(self.first)
        return f"{year}年第{(month - 1) // 3 + 1}季度" if self.months == 3 else f"{year}年{month}月"

    @property
    def key(self) -> str:
        year, month = parse_ym(self.first)
        return f"{year}Q{(month - 1) // 3 + 1}" if self.months == 3 else self.first


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part / whole to 4 places (half up); None when there is no whole to compare with."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def growth(current: Decimal | int, base: Decimal | int) -> Decimal | None:
    """(current - base) / base; None without a base."""
    if not base:
        return None
    return ratio(Decimal(current) - Decimal(base), base)


def average(amount: Decimal, visits: int) -> Decimal | None:
    if visits <= 0:
        return None
    return (amount / visits).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def percent(value: Decimal | None) -> str:
    """A rate as printed: Decimal("0.1250") -> "12.50%"; "—" when there is none."""
    if value is None:
        return "—"
    return f"{(value * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def unusual(visits: int, amount: Decimal, previous_amount: Decimal, scope_average: Decimal | None,
            t: Thresholds) -> list[str]:
    """Why an institution is unusual in the period: its costs grew beyond t.growth over the previous period,
    or its average cost is above t.avg_cost times the scope's average. Too few visits: never."""
    if visits < t.min_visits:
        return []
    out = []
    rise = growth(amount, previous_amount)
    if rise is not None and rise > t.growth:
        out.append(UNUSUAL_GROWTH)
    own = average(amount, visits)
    if own is not None and scope_average and own > scope_average * t.avg_cost:
        out.append(UNUSUAL_AVG_COST)
    return out
