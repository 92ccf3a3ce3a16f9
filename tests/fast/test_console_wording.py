"""The console's refusals in plain words (console/wording.py): each `field: rule` of a use case's refusal becomes
one sentence, the known rules reworded with their figures, the others kept with the field's Chinese name."""

from __future__ import annotations

from yibao.console.wording import plain


def test_every_rule_of_a_refusal_is_a_sentence_with_its_figures() -> None:
    said = plain("authorizer: balance 800.00 must exceed 1000.00 in region 140100; beneficiary: insured in province "
                 "44, the authorizer in 14: both must be in the same province; relation: at most 1 active "
                 "authorization(s) for relation spouse (配偶) per authorizer; 1 already")
    assert said == ["您的个人账户余额 800.00 元，须高于参保地规定的 1000.00 元才能为亲属授权。",
                    "被授权亲属须与您在同一省份参保。", "“配偶”关系最多同时授权 1 人，您已授权 1 人。"]


def test_a_rule_holding_a_semicolon_stays_one_sentence() -> None:
    said = plain("end: a filing of type referral (异地转诊) of insured region 440300 (深圳市) is valid at most 90 days "
                 "(seed 004 art. 7 (四), the region's referral_filing_max_days): from 2026-03-16 the last day is "
                 "2026-06-13; 2026-12-31 would make 291 days")
    assert said == ["转诊备案最长 90 天，最晚到 2026-06-13；到 2026-12-31 共 291 天。"]


def test_an_unknown_rule_keeps_its_text_under_the_fields_name() -> None:
    assert plain("quota: 'abc' is not an amount in yuan") == ["授权额度：'abc' is not an amount in yuan"]
    assert plain("something odd happened") == ["something odd happened"]
