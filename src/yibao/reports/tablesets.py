"""The table set of each province: which printed tables its regions' month produces, under which titles.

Guangdong's tables are the annexes 3-20 of 粤医保规〔2021〕4号 (forwarded by 揭阳 揭医保〔2021〕82号). Shanxi's are
named by 太原 并医险中心字〔2022〕126号 四: it prints the two mutual-aid payment tables beside the payment plan,
and words the steps 月结算申请, 受理、清算, 生成支付计划; the declaration, review and plan tables themselves have no
form in the source documents, so they are the generic tables under Shanxi's words. No source document gives
Anhui's tables (合肥 合医管〔2019〕97号 has none) or any other province's: they get the generic set, and every
table of it says so."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: provinces in words, by the first two digits of an admdvs
PROVINCES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区", "21": "辽宁省",
    "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省",
    "35": "福建省", "36": "江西省", "37": "山东省", "41": "河南省", "42": "湖北省", "43": "湖南省",
    "44": "广东省", "45": "广西壮族自治区", "46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省",
    "53": "云南省", "54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
}

CLASS_NAMES = {"employee": "职工医保", "resident": "居民医保"}
LEVEL_NAMES = {1: "一", 2: "二", 3: "三"}

_GD = "广东省省内异地就医门诊医疗费用"
_GENERIC = "异地就医医疗费用"
GENERIC_NOTE = "来源文件未规定本省表样：本表为通用表式"


@dataclass(frozen=True)
class TableSet:
    """A province's tables. `titles` maps a table to its title, formatted with {cls} (职工医保/居民医保),
    {level} (一/二/三) and {version} (经办机构用表/医药机构下载用表); `annexes` numbers them as Guangdong's
    annexes (file names annexNN_...), otherwise files are named by the table in words."""

    key: str
    name: str
    source: str | None
    titles: Mapping[str, str]
    annexes: bool = False
    mutual_aid_payment: bool = False
    notes: tuple[str, ...] = field(default=())

    def title(self, table: str, cls: str = "", level: int = 0, version: str = "") -> str:
        return self.titles[table].format(cls=CLASS_NAMES.get(cls, ""), level=LEVEL_NAMES.get(level, ""),
                                         version=version)

    def meta(self, province: str) -> list[tuple[str, str]]:
        return [("表式", f"{province_name(province)}：{self.name}")]


_GENERIC_TITLES = {
    "declaration": _GENERIC + "结算申报表（{cls}{level}级表）",
    "review_notes": _GENERIC + "月结算审核说明（{cls}）",
    "review_payment": _GENERIC + "月结算审核支付表（{cls}-{version}）",
    "review_summary": _GENERIC + "月结算审核支付汇总表（{cls}）",
    "allocation_plan": _GENERIC + "月结算拨付计划表（{cls}）",
    "transfer_voucher": "异地就医结算专户收付款凭证",
    "insurance_breakdown": _GENERIC + "险种分类表",
    "mutual_aid_clearing": "个人账户家庭共济异地资金清算表",
    "clearing_balances": "省内异地清分结果（地区间）",
    "mutual_aid_local": "本地共济账户支付表",
    "mutual_aid_xregion": "异地共济账户支付表",
}

GUANGDONG = TableSet(
    "guangdong", "省内异地就医门诊医疗费用结算表（附件3-20）", "揭阳 揭医保〔2021〕82号（转发粤医保规〔2021〕4号）",
    {**_GENERIC_TITLES,
     "declaration": _GD + "结算申报表（{cls}{level}级表）",
     "review_notes": _GD + "月结算审核说明（{cls}）",
     "review_payment": _GD + "月结算审核支付表（{cls}-{version}）",
     "review_summary": _GD + "月结算审核支付汇总表（{cls}）",
     "allocation_plan": _GD + "月结算拨付计划表（{cls}）",
     "transfer_voucher": "广东省医疗保险异地就医结算专户划拨凭证（收/付款）",
     "insurance_breakdown": "广东省医疗保险省内异地就医门诊医疗费用险种分类表"},
    annexes=True)

SHANXI = TableSet(
    "shanxi", "两定机构月结算表（月结算申请、受理清算、支付计划、本地及异地共济账户支付表）",
    "太原 并医险中心字〔2022〕126号",
    {**_GENERIC_TITLES,
     "declaration": "定点医药机构月结算申请表（{cls}{level}级表）",
     "review_notes": "月结算受理、清算说明（{cls}）",
     "review_payment": "月结算审核支付表（{cls}-{version}）",
     "review_summary": "月结算审核支付汇总表（{cls}）",
     "allocation_plan": "月结算支付计划表（{cls}）",
     "mutual_aid_local": "山西省医疗保险两定机构本地共济账户支付表",
     "mutual_aid_xregion": "山西省医疗保险两定机构异地共济账户支付表"},
    mutual_aid_payment=True,
    notes=("本地、异地共济账户支付表为来源文件所定表名；申请、受理清算及支付计划各表为通用表式，用来源文件的用语",))
#: printed under Shanxi's mutual-aid payment tables (四(四)4)
SHANXI_RESIDENT_NOTE = "居民医保的本地、异地共济账户金额由本市职工医保个人账户基金支付"

GENERIC = TableSet("generic", "通用表式（来源文件未规定本省表样）", None, _GENERIC_TITLES, notes=(GENERIC_NOTE,))

#: the table set of each province, by the first two digits of its admdvs; any other province: GENERIC
BY_PROVINCE: Mapping[str, TableSet] = {"44": GUANGDONG, "14": SHANXI}


def table_set(admdvs: str) -> TableSet:
    """The table set of the province of a region (or of the province itself)."""
    return BY_PROVINCE.get(admdvs[:2], GENERIC)


def province_name(admdvs: str) -> str:
    return PROVINCES.get(admdvs[:2], f"区划{admdvs[:2]}0000")


ANNEXES = {
    ("declaration", "employee", 1): 3, ("declaration", "employee", 2): 4, ("declaration", "employee", 3): 5,
    ("declaration", "resident", 1): 6, ("declaration", "resident", 2): 7, ("declaration", "resident", 3): 8,
    ("review_notes", "employee", 0): 9, ("review_notes", "resident", 0): 12,
    ("review_payment", "employee", 0): 10, ("review_payment_own", "employee", 0): 11,
    ("review_payment", "resident", 0): 13, ("review_payment_own", "resident", 0): 14,
    ("review_summary", "employee", 0): 15, ("review_summary", "resident", 0): 16,
    ("allocation_plan", "employee", 0): 17, ("allocation_plan", "resident", 0): 18,
    ("transfer_voucher", "", 0): 19, ("insurance_breakdown", "", 0): 20,
}


def file_code(tables: TableSet, table: str, suffix: str, cls: str = "", level: int = 0) -> str:
    """The file stem of a table: Guangdong's annex number (annex04_...), elsewhere the table in words
    (declaration_employee_2_...)."""
    if tables.annexes and (table, cls, level) in ANNEXES:
        return f"annex{ANNEXES[(table, cls, level)]:02d}_{suffix}"
    words = "_".join(part for part in (table, cls, str(level) if level else "") if part)
    return f"{words}_{suffix}"
