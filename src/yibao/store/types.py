"""Column types that keep money exact on every database: defined in `yibao.sqlkit` (shared with the hospital and
the simulated services) and named here too, where the platform's models and migrations have always found them."""

from __future__ import annotations

from yibao.sqlkit import ExactDecimal, Money

__all__ = ["ExactDecimal", "Money"]
