"""Pre- and mid-event analysis (事前事中分析): rules as data (spec) and the engine that applies them (engine)."""

from yibao.rules.analysis.engine import Case, Charge, Line, Violation, age_on, analyse, by_line
from yibao.rules.analysis.spec import KINDS, LmtCond, Rule, RuleDoc, catalog_rule, rule_from_doc, rule_of

__all__ = ["KINDS", "Case", "Charge", "Line", "LmtCond", "Rule", "RuleDoc", "Violation", "age_on", "analyse",
           "by_line", "catalog_rule", "rule_from_doc", "rule_of"]
