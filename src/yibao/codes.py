"""Code dictionaries of the national interface (interface.md section 4), in one place."""

from __future__ import annotations

MDTRT_CERT_TYPE = {"01": "医保电子凭证", "02": "居民身份证", "03": "社会保障卡"}

INSUTYPE = {
    "310": "职工基本医疗保险",
    "320": "公务员医疗补助",
    "330": "大额医疗费用补助",
    "340": "离休人员医疗保障",
    "350": "一至六级残疾军人医疗补助",
    "360": "老红军医疗保障",
    "370": "企业补充医疗保险",
    "380": "新型农村合作医疗",
    "390": "城乡居民基本医疗保险",
    "391": "城镇居民基本医疗保险",
    "392": "城乡居民大病医疗保险",
    "399": "其他特殊人员医疗保障",
    "410": "长期照护保险",
    "510": "生育保险",
}

PSN_CERT_TYPE = {
    "01": "居民身份证（户口簿）", "02": "中国人民解放军军官证", "03": "中国人民武装警察警官证",
    "04": "香港特区护照/港澳居民来往内地通行证", "05": "澳门特区护照/港澳居民来往内地通行证",
    "06": "台湾居民来往大陆通行证", "07": "外国人永久居留证", "08": "外国人护照", "09": "残疾人证",
    "10": "军烈属证明", "11": "外国人就业证", "12": "外国专家证", "13": "外国人常驻记者证",
    "14": "台港澳人员就业证", "15": "回国（来华）定居专家证", "16": "中国护照", "17": "港澳台居民居住证",
    "90": "社会保障卡", "99": "其他身份证件",
}

#: the national core; 99xx and six-digit codes are local and mean different things by province
MED_TYPE = {
    "11": "普通门诊", "12": "门诊挂号", "13": "急诊", "14": "门诊慢特病", "15": "特药", "16": "中医特色门诊",
    "21": "普通住院", "22": "外伤住院", "23": "转外诊治住院", "24": "急诊转住院", "25": "异地住院",
    "26": "单病种住院", "27": "自主就医", "28": "日间手术", "29": "起付线治疗", "41": "定点药店购药",
    "51": "生育门诊", "52": "生育住院", "5212": "生育新生儿费用", "61": "照护保险", "81": "意外伤害门诊",
}

PSN_SETLWAY = {"01": "按项目结算", "02": "按定额结算"}

CLR_TYPE = {"11": "门诊", "21": "住院", "41": "药店购药", "99": "其他"}

HOSP_APPR_FLAG = {"0": "无须审批", "1": "审批通过", "2": "审批不通过"}

#: 离院方式 of the discharge record (病案首页)
DSCG_WAY = {"1": "医嘱离院", "2": "医嘱转院", "3": "医嘱转社区卫生服务机构/乡镇卫生院", "4": "非医嘱离院", "5": "死亡",
            "9": "其他"}

DIAG_TYPE = {"1": "西医诊断", "2": "中医主病诊断", "3": "中医主证诊断"}

REFD_SETL_FLAG = {"0": "正常", "1": "退费"}
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


#: every dictionary a message's coded field is checked against, by the field's name on the wire
DICTIONARIES: dict[str, dict[str, str]] = {
    "mdtrt_cert_type": MDTRT_CERT_TYPE, "psn_cert_type": PSN_CERT_TYPE, "insutype": INSUTYPE, "med_type": MED_TYPE,
    "psn_setlway": PSN_SETLWAY, "clr_type": CLR_TYPE, "hosp_appr_flag": HOSP_APPR_FLAG, "dscg_way": DSCG_WAY,
    "diag_type": DIAG_TYPE, "refd_setl_flag": REFD_SETL_FLAG, "gend": GEND, "chrgitm_lv": CHRGITM_LV,
    "med_chrgitm_type": MED_CHRGITM_TYPE,
}


def province(admdvs: str) -> str:
    """The two-digit province of a region code."""
    return admdvs[:2]


# -- catalog downloads (docs/catalogs.md) ----------------------------------------------------------------------
#: 目录类别: which catalog an item is in (3301 list_type; 1312 list_type); each is served by one download
LIST_TYPE = {"101": "西药中成药", "102": "中药饮片", "103": "医疗机构制剂", "201": "医疗服务项目", "301": "医用耗材"}
DICTIONARIES["list_type"] = LIST_TYPE

# -- pre- and mid-event analysis (3101/3102/3103, docs/analysis.md) ----------------------------------------------
#: 严重程度 of a 3101 result; the national dictionary is not in the public client code we read: 1 and 2 are the
#: values clients display, 3 completes the scale (yibao's reading)
SEV_DEG = {"1": "明确违规", "2": "高度可疑", "3": "轻度可疑"}
#: 违规行为分类 of a 3101 result: yibao's own codes (the national dictionary was not found), one per kind of rule
VOLA_BHVR_TYPE = {"1": "超限定支付范围", "2": "重复收费", "3": "超量收费", "4": "不符合诊疗对象",
                  "5": "超医疗机构资质", "6": "互斥收费", "9": "其他"}
#: judge_result_detail_dtos[].vola_item_type
VOLA_ITEM_TYPE = {"1": "违规项", "2": "涉及项"}
#: vola_amt_stas: yibao computes every amount it answers
VOLA_AMT_STAS = {"1": "已计算", "0": "未计算"}
TRIG_SCEN = {"1": "门诊挂号", "2": "门诊收费登记", "3": "住院登记", "4": "住院收费登记", "5": "住院执行医嘱",
             "6": "门诊结算", "7": "门诊预结算", "8": "住院结算", "9": "住院预结算"}
MED_MDTRT_TYPE = {"1": "门诊", "2": "住院", "3": "购药", "4": "其他"}
WARN_TYPE = {"1": "事前", "2": "事中"}
DSPO_WAY = {"1": "继续执行医嘱", "2": "返回修改医嘱"}

DICTIONARIES.update({
    "sev_deg": SEV_DEG, "vola_bhvr_type": VOLA_BHVR_TYPE, "trig_scen": TRIG_SCEN, "med_mdtrt_type": MED_MDTRT_TYPE,
    "warn_type": WARN_TYPE, "dspo_way": DSPO_WAY,
    # 3101's order fields carry the same codes as the fee lines' (interface-integration.md 6.1)
    "chrg_type": MED_CHRGITM_TYPE, "hilist_lv": CHRGITM_LV,
})

# -- catalog mapping (3301/3302, 1316/1317; docs/mapping.md): list_type is LIST_TYPE above ---------------------
#: region setting `mapping_check`: what a fee line whose HIS code has no mapping in force gets
MAPPING_CHECK = ("off", "warn", "refuse")

# -- settlement lists (4101A) and self-pay records (4201A-4209): docs/setl_list.md ----------------------------

#: 入院病情类型 of a settlement list's diagnosis (病案首页): 有, 临床未确定, 情况不明, 无
ADM_COND_TYPE = {"1": "有", "2": "临床未确定", "3": "情况不明", "4": "无"}

DICTIONARIES.update({
    "adm_cond_type": ADM_COND_TYPE,
    # iteminfo.med_chrgitm: the spec says "参照医疗收费项目类别", the same dictionary as med_chrgitm_type
    "med_chrgitm": MED_CHRGITM_TYPE,
})

# -- issue 15: the coded fields of 4101A, 2001, 5302 and 1312's filters (docs/setl_list.md, docs/entitlement.md) --

#: 医保支付方式 of a settlement list (setlinfo.hi_paymtd): the national payment methods; 7 按定额 is sent by clients
#: of regions that pay a fixed amount per visit
HI_PAYMTD = {"1": "按项目", "2": "单病种", "3": "按病种分值", "4": "疾病诊断相关分组（DRG）", "5": "按床日",
             "6": "按人头", "7": "按定额", "9": "其他"}
#: 基金支付类型 (payinfo.fund_pay_type; setldetail): the national funds and the regional ones public clients meet
#: (interface.md section 4); the names of the codes after 390200 differ by province
FUND_PAY_TYPE = {
    "310100": "职工基本医疗保险统筹基金", "310200": "职工基本医疗保险个人账户基金", "310103": "职工生育基金",
    "320100": "公务员医疗补助基金", "330100": "大额医疗费用补助基金", "340100": "离休人员医疗保障基金",
    "350100": "一至六级残疾军人医疗补助基金", "360100": "财政基金", "370100": "企业补充医疗保险基金",
    "390100": "城乡居民基本医疗保险基金", "390200": "城乡居民大病医疗保险基金", "390300": "大病补充",
    "390400": "意外伤害基金", "510100": "生育基金", "610100": "医疗救助基金", "610102": "医疗救助（地方）",
    "610103": "医疗救助（地方）", "610104": "医疗救助（地方）", "620100": "照护保险", "630100": "医院减免",
    "640100": "政府兜底基金", "999900": "医院垫付", "999996": "医院垫付", "999997": "其他",
}
#: 手术操作类别 of a settlement list's operation: the main one and the others (病案首页)
OPRN_OPRT_TYPE = {"1": "主要手术操作", "2": "其他手术操作"}
#: 重症监护病房类型 (icuinfo.scs_cutd_ward_type), in the settlement list's order of the wards
SCS_CUTD_WARD_TYPE = {"1": "CCU", "2": "NICU", "3": "ECU", "4": "SICU", "5": "PICU", "6": "RICU", "7": "ICU（综合）",
                      "9": "其他"}
#: 输血品种 (bldinfo.bld_cat)
BLD_CAT = {"1": "红细胞", "2": "血小板", "3": "血浆", "4": "全血", "5": "自体血回输", "9": "其他"}
#: 计划生育手术类别 (2001, 2401/2402 birctrl_type)
BIRCTRL_TYPE = {"1": "放置宫内节育器", "2": "取出宫内节育器", "3": "流产术", "4": "引产术", "5": "绝育手术（输卵管）",
                "6": "绝育复通手术（输卵管）", "7": "绝育手术（输精管）", "8": "绝育复通手术（输精管）", "9": "其他"}
#: the yes/no flags of a catalog row (1312 lmt_used_flag, med_use_flag, matn_used_flag)
YES_NO = {"0": "否", "1": "是"}

DICTIONARIES.update({
    "hi_paymtd": HI_PAYMTD, "fund_pay_type": FUND_PAY_TYPE, "oprn_oprt_type": OPRN_OPRT_TYPE,
    "scs_cutd_ward_type": SCS_CUTD_WARD_TYPE, "bld_cat": BLD_CAT, "birctrl_type": BIRCTRL_TYPE,
    "lmt_used_flag": YES_NO, "med_use_flag": YES_NO, "matn_used_flag": YES_NO,
})
