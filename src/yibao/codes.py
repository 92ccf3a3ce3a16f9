"""Code dictionaries of the national interface (interface.md section 4), in one place."""

from __future__ import annotations

MDTRT_CERT_TYPE = {"01": "医保电子凭证", "02": "居民身份证", "03": "社会保障卡"}

INSUTYPE = {
    "310": "职工基本医疗保险",
    "320": "公务员医疗补助",
    "330": "大额医疗费用补助",
    "340": "离休人员医疗保障",
    "390": "城乡居民基本医疗保险",
    "391": "城镇居民基本医疗保险",
    "392": "城乡居民大病医疗保险",
    "410": "长期照护保险",
    "510": "生育保险",
}
#: Insurance types a person of the dataset may carry (rules.md section 1).
PERSON_INSUTYPES = ("310", "390", "510")
EMPLOYEE = "310"
RESIDENT = "390"

GEND = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

PSN_INSU_STAS = {"1": "正常参保", "2": "暂停参保", "4": "终止参保"}

CHRGITM_LV = {"01": "甲类", "02": "乙类", "03": "丙类"}

MED_CHRGITM_TYPE = {
    "01": "床位费", "02": "诊察费", "03": "检查费", "04": "化验费", "05": "治疗费",
    "06": "手术费", "07": "护理费", "08": "卫生材料费", "09": "西药费", "10": "中药饮片费",
    "11": "中成药费", "12": "一般诊疗费", "13": "挂号费", "14": "其他费",
}

INSTITUTION_KINDS = ("hospital", "pharmacy")
XREGION = ("national", "provincial", "none")
HOSP_LV = ("1", "2", "3")
ACCT_SCOPE = ("all", "policy")
RELATIONS = ("spouse", "father", "mother", "child")
#: "self": one's own account of a suspended employee insurance, for one's resident insurance (Hefei 二)
GRANT_RELATIONS = (*RELATIONS, "self")
FILING_TYPES = (
    "retired_resettled", "long_term_resident", "posted_worker", "referral", "emergency", "other",
)


def province(admdvs: str) -> str:
    """The two-digit province of a region code."""
    return admdvs[:2]
