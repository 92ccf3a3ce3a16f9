"""The pure rules behind the region settings that differ by source document (rules/region_settings.py,
rules/filing.py, rules/mutual_aid.py, rules/prescriptions.py)."""

from __future__ import annotations

from datetime import date

from yibao.rules import prescriptions, region_settings
from yibao.rules.filing import (
    FilingTerms,
    ReferralCap,
    dialysis_filing_problem,
    dialysis_problem,
    ecredential_account_problem,
    months_after,
    valid_until,
)
from yibao.rules.mutual_aid import scope_problem


def test_months_after_keeps_the_day_or_takes_the_month_end() -> None:
    """揭阳 揭医保〔2021〕82号 "不超3个月": three calendar months, the corresponding day or the month's last."""
    assert months_after(date(2026, 1, 31), 3) == date(2026, 4, 30)
    assert months_after(date(2026, 1, 15), 3) == date(2026, 4, 15)
    assert months_after(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert months_after(date(2027, 11, 30), 3) == date(2028, 2, 29)  # leap year
    assert months_after(date(2026, 10, 31), 3) == date(2027, 1, 31)
    assert months_after(date(2026, 12, 31), 2) == date(2027, 2, 28)


def test_a_referral_cap_in_months_wins_over_days() -> None:
    referral = FilingTerms(1, "referral", "440300", None, date(2026, 1, 31), None)
    assert valid_until(referral, ReferralCap(90, 3)) == date(2026, 4, 30)
    assert valid_until(referral, ReferralCap(90, None)) == date(2026, 4, 30)  # 90 days from 31 January, by chance
    assert valid_until(FilingTerms(1, "referral", "440300", None, date(2026, 3, 1), None),
                       ReferralCap(90, None)) == date(2026, 5, 29)
    assert valid_until(FilingTerms(1, "referral", "440300", None, date(2026, 3, 1), None),
                       ReferralCap(90, 3)) == date(2026, 6, 1)
    shorter = FilingTerms(1, "referral", "440300", None, date(2026, 1, 31), date(2026, 2, 10))
    assert valid_until(shorter, ReferralCap(None, 3)) == date(2026, 2, 10)
    assert valid_until(referral, None) is None


def test_mutual_aid_scope() -> None:
    """合肥 合医管〔2019〕97号 一 (我市) against the province-wide default."""
    assert scope_problem("340100", "340200", "province") is None
    assert "合医管〔2019〕97号 一" in (scope_problem("340100", "340200", "region") or "")
    assert scope_problem("340100", "340100", "region") is None
    assert "same province" in (scope_problem("340100", "440300", "province") or "")


def test_dialysis_is_filed_and_settled_at_one_institution() -> None:
    """中山大学附属第七医院《医保移动支付开发需求书》: 异地门特血液透析需备案到定点医疗机构."""
    codes = ["N18.001"]
    assert "names one institution" in (dialysis_filing_problem("N18.001", None, codes) or "")
    assert dialysis_filing_problem("N18.001", "H1", codes) is None
    assert dialysis_filing_problem("M03900", None, codes) is None
    assert dialysis_problem("N18.001", codes, ["H1"], "H1") is None
    assert "filed to H1, not H2" in (dialysis_problem("N18.001", codes, ["H1"], "H2") or "")
    assert "filed to no institution" in (dialysis_problem("N18.001", codes, [], "H2") or "")
    assert dialysis_problem("N18.001", None, [], "H2") is None


def test_ecredential_must_be_activated_for_account_pay_across_regions() -> None:
    """粤医保规〔2021〕4号 第三十九条."""
    assert "第三十九条" in (ecredential_account_problem(False, True, "01") or "")
    assert ecredential_account_problem(True, True, "01") is None
    assert ecredential_account_problem(False, False, "01") is None  # at home
    assert ecredential_account_problem(False, True, "03") is None   # by social-security card


def test_separate_prescriptions_under_med_type_14() -> None:
    """粤医保规〔2021〕4号 第十五条."""
    assert prescriptions.mixed_line("14", [("1", "M03900"), ("2", None)]) == "2"
    assert prescriptions.mixed_line("14", [("1", None), ("2", None)]) is None  # the visit's disease
    assert prescriptions.mixed_line("11", [("1", "M03900"), ("2", None)]) is None


def test_settings_shapes_are_checked() -> None:
    ok = {"arrears_blocks_mutual_aid": True, "mutual_aid_scope": "region",
          "resident_mutual_aid_med_types": ["11", "41"],
          "referral_filing_max_months": 3, "dialysis_diseases": ["N18.001"],
          "mutual_aid_beneficiary_insutypes": ["310", "390"]}
    assert region_settings.problems(ok) == []
    assert region_settings.problems({"arrears_blocks_mutual_aid": ["21", "99"]})[0][0] == "arrears_blocks_mutual_aid"
    bad = {"mutual_aid_scope": "city", "resident_mutual_aid_med_types": "11", "referral_filing_max_months": 0,
           "dialysis_diseases": "N18", "mutual_aid_beneficiary_insutypes": ["320"]}
    assert [name for name, _ in region_settings.problems(bad)] == [
        "mutual_aid_scope", "mutual_aid_beneficiary_insutypes", "resident_mutual_aid_med_types",
        "referral_filing_max_months", "dialysis_diseases"]
