"""store/conflicts.py: a unique index a concurrent twin met becomes a refusal naming the field, on PostgreSQL (the
constraint's name) and on SQLite (its table and columns)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy.exc import IntegrityError

from yibao.store.conflicts import conflict_rule


def _pg(constraint: str) -> IntegrityError:
    orig = Exception(f'duplicate key value violates unique constraint "{constraint}"')
    orig.diag = SimpleNamespace(constraint_name=constraint)  # type: ignore[attr-defined]
    return IntegrityError("INSERT ...", {}, orig)


def _sqlite(columns: str) -> IntegrityError:
    return IntegrityError("INSERT ...", {}, Exception(f"UNIQUE constraint failed: {columns}"))


@pytest.mark.parametrize(("constraint", "columns", "field"), [
    ("uq_selfpay_fees_sn", "selfpay_fees.fixmedins_code, selfpay_fees.fixmedins_mdtrt_id, selfpay_fees.bkkp_sn",
     "bkkp_sn: "),
    ("uq_selfpay_visits_visit", "selfpay_visits.fixmedins_code, selfpay_visits.fixmedins_mdtrt_id",
     "fixmedins_mdtrt_id: "),
    ("uq_review_suggestions_line_rule",
     "review_suggestions.decl_id, review_suggestions.fee_id, review_suggestions.rule_id", "decl_id: "),
    ("analysis_rules_pkey", "analysis_rules.admdvs, analysis_rules.rule_id", "rule_id: "),
])
def test_the_twins_indexes_are_refusals_naming_the_field(constraint: str, columns: str, field: str) -> None:
    for exc in (_pg(constraint), _sqlite(columns)):
        rule = conflict_rule(exc)
        assert rule is not None and rule.startswith(field), rule


def test_an_unknown_index_stays_an_error() -> None:
    assert conflict_rule(_pg("some_other_index")) is None
    assert conflict_rule(_sqlite("persons.psn_no")) is None
