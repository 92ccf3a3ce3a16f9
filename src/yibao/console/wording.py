"""Refusals in plain words for the console's pages: a use case refuses with `field: rule; field: rule` (the figures
in it); the page shows each as a sentence in Chinese — the known rules reworded with their figures, any other one
as the field's name and the rule as the use case wrote it. The rule itself stays in the use case, never here."""

from __future__ import annotations

import re
from collections.abc import Callable

from yibao.rules.mutual_aid import RELATION_NAMES

FIELD_NAMES = {
    "authorizer": "提供人（本人）", "beneficiary": "被授权亲属", "beneficiary_certno": "亲属身份证号码",
    "relation": "亲属关系", "quota": "授权额度", "start": "开始日期", "end": "结束日期", "priority": "使用顺序",
    "commitment_version": "承诺书", "id": "授权记录", "type": "备案类型", "dest_admdvs": "就医地",
    "dest_fixmedins": "就医机构", "replaces_id": "原备案", "psn_no": "参保人", "certno": "身份证号码",
}
#: where the next `field: rule` starts (a rule's own text may hold "; ")
FIELD_START = re.compile(r"; (?=[a-z_.\[\]0-9]+: )")
Rewrite = Callable[[re.Match[str]], str]
RULES: list[tuple[re.Pattern[str], Rewrite]] = [
    (re.compile(r"balance (\S+) must exceed (\S+) in region (\d+)"),
     lambda m: f"您的个人账户余额 {m[1]} 元，须高于参保地规定的 {m[2]} 元才能为亲属授权。"),
    (re.compile(r"at most (\d+) active authorization\(s\) for relation (\w+) .*?; (\d+) already"),
     lambda m: f"“{RELATION_NAMES.get(m[2], m[2])}”关系最多同时授权 {m[1]} 人，您已授权 {m[3]} 人。"),
    (re.compile(r"the window ends \((\S+)\) before it starts \((\S+)\)"),
     lambda m: f"结束日期 {m[1]} 早于开始日期 {m[2]}。"),
    (re.compile(r"region (\d+) has not opened family mutual aid"), lambda m: "您的参保地尚未开通个人账户家庭共济。"),
    (re.compile(r"an active authorization for this beneficiary already exists"),
     lambda m: "您已为这位亲属授权，可修改原授权的额度或期限。"),
    (re.compile(r"insured in province (\d+), the authorizer in (\d+)"),
     lambda m: "被授权亲属须与您在同一省份参保。"),
    (re.compile(r"must be an employee \(310\) with normal insurance"),
     lambda m: "只有参保状态正常的职工医保参保人可以为亲属授权。"),
    (re.compile(r"has no open personal account"), lambda m: "您没有可用的职工医保个人账户。"),
    (re.compile(r"benefits are suspended"), lambda m: "被授权亲属的医保待遇已暂停。"),
    (re.compile(r"no insured person with this ID number and name"), lambda m: "没有找到身份证号码与姓名一致的参保人。"),
    (re.compile(r"must be above 0 or none"), lambda m: "授权额度须大于 0，或留空表示不限额。"),
    (re.compile(r"the authorizer must accept the commitment"), lambda m: "请先阅读并同意承诺书。"),
    (re.compile(r"is inside the person's insured region"), lambda m: "备案的就医地不能是您的参保地。"),
    (re.compile(r"is valid at most (\d+) days .*?the last day is (\S+); (\S+) would make (\d+) days"),
     lambda m: f"转诊备案最长 {m[1]} 天，最晚到 {m[2]}；到 {m[3]} 共 {m[4]} 天。"),
    (re.compile(r"is valid without end"), lambda m: "异地安置退休备案长期有效，结束日期请留空。"),
    (re.compile(r"needs an end"), lambda m: "这类备案须填写结束日期。"),
    (re.compile(r"(\S+) is after today (\S+)"), lambda m: f"急诊备案从首次就诊日起算，{m[1]} 晚于今天 {m[2]}。"),
    (re.compile(r"name the destination"), lambda m: "请填写就医地（省或统筹区代码）或就医机构。"),
    (re.compile(r"name one destination"), lambda m: "就医地与就医机构只能填一项。"),
    (re.compile(r"is not a pooling region of the platform; file to its pooling region (\d+)"),
     lambda m: f"该地区不是统筹区，请备案到所属统筹区 {m[1]}。"),
    (re.compile(r"already files"), lambda m: "您已有相同的备案，可变更或撤销原备案。"),
    (re.compile(r"has (already )?ended"), lambda m: "该授权已经结束。"),
    (re.compile(r"only an active filing is changed"), lambda m: "只有有效的备案可以变更。"),
]


def plain(err_msg: str) -> list[str]:
    """Each refusal of `err_msg` as a sentence in Chinese, in its order."""
    out = []
    for part in (p.strip() for p in FIELD_START.split(err_msg) if p.strip()):
        field, _, rule = part.partition(": ")
        if not rule:
            field, rule = "", part
        for pattern, rewrite in RULES:
            found = pattern.search(rule)
            if found:
                out.append(rewrite(found))
                break
        else:
            label = FIELD_NAMES.get(field.split(".")[-1], field)
            out.append(f"{label}：{rule}" if label else rule)
    return out
