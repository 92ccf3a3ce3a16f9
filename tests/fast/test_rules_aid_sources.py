"""Who may draw on family accounts for one settlement, and in which order (rules/aid_sources.py): pure rules,
no database (rules.md section 5; seeds 000, 001 五(一), 002)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from yibao.rules import aid_sources as aid

D = Decimal
TODAY = date(2026, 3, 16)


def grant(id: int, authorizer: str = "P", *, priority: int | None = None, created: int = 1, active: bool = True,
          start: date = date(2026, 1, 1), end: date | None = None, quota: str | None = None,
          used: str = "0.00") -> aid.Grant:
    return aid.Grant(id, authorizer, active, start, end, priority, datetime(2026, 1, created), None if quota is None
                     else D(quota), D(used))


def test_priority_first_none_last_then_the_oldest() -> None:
    grants = [grant(1, created=5), grant(2, priority=2, created=1), grant(3, priority=1, created=9),
              grant(4, created=2)]
    assert [g.id for g in aid.ordered(grants, TODAY)] == [3, 2, 4, 1]


def test_only_the_authorizations_in_force_today_count() -> None:
    grants = [grant(1, start=date(2026, 4, 1)), grant(2, end=date(2026, 3, 15)), grant(3, active=False),
              grant(4, end=TODAY), grant(5, start=TODAY)]
    assert [g.id for g in aid.ordered(grants, TODAY)] == [4, 5]


def test_arrears_block_only_benefits_that_involve_pooling() -> None:
    """太原 并医险中心字〔2022〕126号 五(一): inpatient (2x, 52) and chronic/special disease (14); general outpatient
    and pharmacy not. A setting of the insured region: true (the pooling kinds), a list of med_types, or off."""
    for med_type in ("14", "21", "22", "25", "52"):
        assert "五(一)" in (aid.arrears_block(True, med_type, True) or "")
    for med_type in ("11", "41", "51"):
        assert aid.arrears_block(True, med_type, True) is None
    assert aid.arrears_block(False, "21", True) is None
    for off in (None, False, []):
        assert aid.arrears_block(True, "21", off) is None
    assert "med_type 21 is among those" in (aid.arrears_block(True, "21", ["21"]) or "")
    assert aid.arrears_block(True, "14", ["21"]) is None


def test_resident_block_only_outside_the_allowed_categories() -> None:
    """太原 并医险中心字〔2022〕126号 五(二): a resident uses mutual aid under 居民普通门诊 (11) and 居民药店购药
    (41)."""
    allowed = ["11", "41"]
    assert aid.resident_block("390", "11", allowed) is None and aid.resident_block("390", "41", allowed) is None
    why = aid.resident_block("390", "21", allowed) or ""
    assert "五(二)" in why and "普通住院" in why and "普通门诊 (11)" in why
    assert aid.resident_block("310", "21", allowed) is None  # employees by their actual category
    assert aid.resident_block("390", "21", None) is None     # a region without the rule


def test_sources_keep_the_order_and_leave_out_closed_accounts_and_regions_without_books() -> None:
    grants = [grant(1, "A", quota="100.00", used="30.00"), grant(2, "B"), grant(3, "C"), grant(4, "D")]
    accounts = {"A": aid.AccountFacts("140100", True, D("500.00")), "B": aid.AccountFacts("140100", False, D("9")),
                "C": aid.AccountFacts("340100", True, D("80.00"))}
    out, warnings = aid.sources(grants, accounts, {"140100": True, "340100": False})
    assert [(s.authorization_id, s.authorizer, s.balance, s.quota_left) for s in out] == [
        (1, "A", D("500.00"), D("70.00"))]
    assert warnings == ["mutual aid of C not used: the account's region 340100 does not support account "
                        "bookkeeping (seed 000)"]  # B is closed and D has no account: left out without a word


def test_no_quota_leaves_the_whole_balance() -> None:
    out, _ = aid.sources([grant(1, "A")], {"A": aid.AccountFacts("140100", True, D("3000.00"))}, {"140100": True})
    assert out[0].quota_left is None and out[0].balance == D("3000.00")
