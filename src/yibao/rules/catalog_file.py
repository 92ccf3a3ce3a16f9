"""The catalog files of downloads 1301-1315 (interface-integration.md 1.4): which columns each file has, in
which order, and how rows become the zip a HIS fetches through 9102. Pure: plain values in, bytes out.

A HIS reads these files by position (split each line on TAB, take values[0..]), so every file carries exactly
its column count in the spec's order. Columns are named here by the spec's Chinese headers: they are the only
names every client agrees on, and the dataset's `details` of a row use the same names.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

_DRUG_1301 = (
    "医疗目录编码", "药品商品名", "通用名编号", "药品通用名", "化学名称", "别名", "英文名称", "注册名称", "药监本位码",
    "药品剂型", "药品剂型名称", "药品类别", "药品类别名称", "药品规格", "药品规格代码", "注册剂型", "注册规格",
    "注册规格代码", "每次用量", "使用频次", "酸根盐基", "国家药品编号", "用法", "中成药标志", "生产地类别",
    "生产地类别名称", "计价单位类型", "非处方药标志", "非处方药标志名称", "包装材质", "包装材质名称", "包装规格",
    "包装数量", "功能主治", "给药途径", "说明书", "开始日期", "结束日期", "最小使用单位", "最小销售单位",
    "最小计量单位", "最小包装数量", "最小包装单位", "最小制剂单位", "最小包装单位名称", "最小制剂单位名称", "转换比",
    "药品有效期", "最小计价单位", "五笔助记码", "拼音助记码", "分包装厂家", "生产企业编号", "生产企业名称",
    "特殊限价药品标志", "特殊药品标志", "限制使用范围", "限制使用标志", "药品注册证号", "药品注册证号开始日期",
    "药品注册证号结束日期", "批准文号", "批准文号开始日期", "批准文号结束日期", "市场状态", "市场状态名称",
    "药品注册批件电子档案", "药品补充申请批件电子档案", "国家医保药品目录备注", "基本药物标志名称", "基本药物标志",
    "增值税调整药品标志", "增值税调整药品名称", "上市药品目录集药品", "医保谈判药品标志", "医保谈判药品名称",
    "卫健委药品编码", "备注", "有效标志", "唯一记录号", "数据创建时间", "数据更新时间", "版本号", "版本名称",
    "儿童用药", "公司名称", "仿制药一致性评价药品", "经销企业", "经销企业联系人", "经销企业授权书电子档案",
    "国家医保药品目录剂型", "国家医保药品目录甲乙类标识",
)

_HERB_1302 = (
    "医疗目录编码", "单味药名称", "单复方标志", "质量等级", "中草药年份", "药用部位", "安全计量", "常规用法", "性味",
    "归经", "品种", "开始日期", "结束日期", "有效标志", "唯一记录号", "数据创建时间", "数据更新时间", "版本号",
    "版本名称", "药材名称", "功能主治", "炮制方法", "功效分类", "药材种来源", "国家医保支付政策", "省级医保支付政策",
    "标准名称", "标准页码", "标准电子档案",
)

_PREP_1303 = (
    "医疗目录编码", "药品商品名", "别名", "英文名称", "剂型", "剂型名称", "注册剂型", "成分", "功能主治", "性状",
    "药品规格", "药品规格代码", "注册规格", "注册规格代码", "给药途径", "贮藏", "使用频次", "每次用量", "药品类别",
    "药品类别名称", "非处方药标志", "非处方药标志名称", "包装材质", "包装材质名称", "包装规格", "说明书", "包装数量",
    "最小使用单位", "最小销售单位", "最小计量单位", "最小包装数量", "最小包装单位", "最小制剂单位", "最小制剂单位名称",
    "药品有效期", "最小计价单位", "不良反应", "注意事项", "禁忌", "生产企业编号", "生产企业名称", "生产企业地址",
    "特殊限价药品标志", "批准文号", "批准文号开始日期", "批准文号结束日期", "药品注册证号", "药品注册证号开始日期",
    "药品注册证号结束日期", "转换比", "限制使用范围", "最小包装单位名称", "注册名称", "分包装厂家", "市场状态",
    "药品注册批件电子档案", "药品补充申请批件电子档案", "国家医保药品目录编号", "国家医保药品目录备注",
    "增值税调整药品标志", "增值税调整药品名称", "上市药品目录集药品", "卫健委药品编码", "备注", "有效标志", "开始时间",
    "结束时间", "唯一记录号", "数据创建时间", "数据更新时间", "版本号", "版本名称", "自制剂许可证号", "儿童用药",
    "老年患者用药", "医疗机构联系人姓名", "医疗机构联系人电话", "自制剂许可证电子档案",
)

_SERVICE_1305 = (
    "医疗目录编码", "计价单位", "计价单位名称", "诊疗项目说明", "诊疗除外内容", "诊疗项目内涵", "有效标志", "备注",
    "服务项目类别", "医疗服务项目名称", "项目说明", "开始日期", "结束日期", "唯一记录号", "版本号", "版本名称",
)

_CONSUMABLE_1306 = (
    "医疗目录编码", "耗材名称", "医疗器械唯一标识码", "医保通用名代码", "医保通用名", "产品型号", "规格代码", "规格",
    "耗材分类", "规格型号", "材质代码", "耗材材质", "包装规格", "包装数量", "产品包装材质", "包装单位", "产品转换比",
    "最小使用单位", "生产地类别", "生产地类别名称", "产品标准", "产品有效期", "性能结构与组成", "适用范围",
    "产品使用方法", "产品图片编号", "产品质量标准", "说明书", "其他证明材料", "专机专用标志", "专机名称", "组套名称",
    "机套标志", "限制使用标志", "医保限用范围", "最小销售单位", "高值耗材标志", "医用材料分类代码",
    "植入材料和人体器官标志", "灭菌标志", "灭菌标志名称", "植入或介入类标志", "植入或介入类名称", "一次性使用标志",
    "一次性使用标志名称", "注册备案人名称", "开始日期", "结束日期", "医疗器械管理类别", "医疗器械管理类别名称",
    "注册备案号", "注册备案产品名称", "结构及组成", "其他内容", "批准日期", "注册备案人住所", "注册证有效期开始时间",
    "注册证有效期结束时间", "生产企业编号", "生产企业名称", "生产地址", "代理人企业", "代理人企业地址", "生产国或地区",
    "售后服务机构", "注册或备案证电子档案", "产品影像", "有效标志", "唯一记录号", "版本号", "版本名称",
)

_TAIL = ("有效标志", "唯一记录号", "数据创建时间", "数据更新时间", "版本号", "版本名称")


@dataclass(frozen=True)
class FileKind:
    """One download: its columns, the columns holding a row's code and name, and its record-id column."""

    infno: str
    name: str
    columns: tuple[str, ...]
    code: str
    title: str
    record_id: str = ""


FILES: dict[str, FileKind] = {f.infno: f for f in (
    FileKind("1301", "西药中成药目录", _DRUG_1301, "医疗目录编码", "药品通用名"),
    FileKind("1302", "中药饮片目录", _HERB_1302, "医疗目录编码", "单味药名称"),
    FileKind("1303", "医疗机构制剂目录", _PREP_1303, "医疗目录编码", "药品商品名"),
    FileKind("1305", "医疗服务项目目录", _SERVICE_1305, "医疗目录编码", "医疗服务项目名称"),
    FileKind("1306", "医用耗材目录", _CONSUMABLE_1306, "医疗目录编码", "耗材名称"),
    FileKind("1307", "疾病与诊断目录", (
        "西医疾病诊断ID", "章", "章代码范围", "章名称", "节代码范围", "节名称", "类目代码", "类目名称", "亚目代码",
        "亚目名称", "诊断代码", "诊断名称", "使用标记", "国标版诊断代码", "国标版诊断名称", "临床版诊断代码",
        "临床版诊断名称", "备注", *_TAIL), "诊断代码", "诊断名称", "西医疾病诊断ID"),
    FileKind("1308", "手术操作目录", (
        "手术标准目录ID", "章", "章代码范围", "章名称", "类目代码", "类目名称", "亚目代码", "亚目名称", "细目代码",
        "细目名称", "手术操作代码", "手术操作名称", "使用标记", "团标版手术操作代码", "团标版手术操作名称",
        "临床版手术操作代码", "临床版手术操作名称", "备注", *_TAIL), "手术操作代码", "手术操作名称", "手术标准目录ID"),
    FileKind("1309", "门诊慢特病种目录", (
        "门慢门特病种目录代码", "门慢门特病种大类名称", "门慢门特病种细分类名称", "医保区划", "备注", "有效标志",
        "唯一记录号", "数据创建时间", "数据更新时间", "版本号", "病种内涵", "版本名称", "诊疗指南页码",
        "诊疗指南电子档案", "门慢门特病种名称", "门慢门特病种大类代码"), "门慢门特病种目录代码", "门慢门特病种名称"),
    FileKind("1310", "按病种付费病种目录", (
        "病种结算目录ID", "按病种结算病种目录代码", "按病种结算病种名称", "限定手术操作代码", "限定手术操作名称",
        "有效标志", "唯一记录号", "数据创建时间", "数据更新时间", "版本号", "病种内涵", "备注", "版本名称",
        "诊疗指南页码", "诊疗指南电子档案"), "按病种结算病种目录代码", "按病种结算病种名称", "病种结算目录ID"),
    FileKind("1311", "日间手术治疗病种目录", (
        "日间手术治疗目录ID", "日间手术病种目录代码", "日间手术病种名称", "有效标志", "唯一记录号", "数据创建时间",
        "数据更新时间", "版本号", "病种内涵", "备注", "版本名称", "诊疗指南页码", "诊疗指南电子档案", "手术操作名称",
        "手术操作代码"), "日间手术病种目录代码", "日间手术病种名称", "日间手术治疗目录ID"),
    FileKind("1313", "肿瘤形态学目录", (
        "肿瘤形态学ID", "肿瘤/细胞类型代码", "肿瘤/细胞类型", "形态学分类代码", "形态学分类", *_TAIL),
        "形态学分类代码", "形态学分类", "肿瘤形态学ID"),
    FileKind("1314", "中医疾病目录", (
        "中医疾病诊断ID", "科别类目代码", "科别类目名称", "专科系统分类目代码", "专科系统分类目名称", "疾病分类代码",
        "疾病分类名称", "备注", *_TAIL), "疾病分类代码", "疾病分类名称", "中医疾病诊断ID"),
    FileKind("1315", "中医证候目录", (
        "中医证候ID", "证候类目代码", "证候类目名称", "证候属性代码", "证候属性", "证候分类代码", "证候分类名称",
        "备注", *_TAIL), "证候分类代码", "证候分类名称", "中医证候ID"),
)}

#: the downloads fed by the region's catalog (settlement's items), by list_type (目录类别)
BY_LIST_TYPE = {"101": "1301", "102": "1302", "103": "1303", "201": "1305", "301": "1306"}
LIST_TYPE_OF = {infno: lt for lt, infno in BY_LIST_TYPE.items()}
#: the downloads fed by the dataset's `downloads` lists (no table of their own in yibao)
LISTED = ("1307", "1308", "1310", "1311", "1313", "1314", "1315")

#: columns yibao fills itself, whatever the dataset says: they carry the row's version and state
MANAGED = frozenset({"有效标志", "唯一记录号", "数据创建时间", "数据更新时间", "版本号", "版本名称"})

#: catalog flags (dataset 0/1) shown in a file's column of the same meaning, where the file has one
_FLAG_COLUMNS = {"lmt_used_flag": "限制使用标志", "bas_medn_flag": "基本药物标志",
                 "hi_nego_drug_flag": "医保谈判药品标志", "chld_medc_flag": "儿童用药"}


def list_type_for(med_chrgitm_type: str, stated: str | None) -> str:
    """The catalog a dataset item belongs to: as stated, else by its charge type (drugs 09/11, herbal pieces 10,
    materials 08, everything else a medical service)."""
    if stated:
        return stated
    return {"09": "101", "11": "101", "10": "102", "08": "301"}.get(med_chrgitm_type, "201")


def unknown_details(infno: str, details: Mapping[str, str]) -> list[tuple[str, str]]:
    """(key, why) for each detail a row of this file cannot carry."""
    kind = FILES[infno]
    out = []
    for key in details:
        if key in MANAGED:
            out.append((key, "is filled by yibao (the row's state and version), not by the dataset"))
        elif key not in kind.columns:
            out.append((key, f"is not a column of the {infno} {kind.name} file"))
        elif key in (kind.code, kind.title, kind.record_id):
            out.append((key, "is the row's code, name or id: give it as code/name"))
    return out


def content(infno: str, code: str, name: str, details: Mapping[str, str], flags: Mapping[str, str] | None = None,
            *, admdvs: str = "", med_chrgitm_type: str = "") -> dict[str, str]:
    """The columns of a row that the dataset decides (everything but MANAGED): what a version stamp covers."""
    kind = FILES[infno]
    row = {c: "" for c in kind.columns if c not in MANAGED}
    row.update(details)
    row[kind.code] = code
    row[kind.title] = name
    for flag, value in (flags or {}).items():
        column = _FLAG_COLUMNS.get(flag)
        if column in row and not details.get(column):
            row[column] = value
    if infno == "1301" and not details.get("中成药标志"):
        row["中成药标志"] = "1" if med_chrgitm_type == "11" else "0"
    if infno == "1309" and not details.get("医保区划"):
        row["医保区划"] = admdvs
    return row


def fingerprint(fields: Mapping[str, object]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def record_id(admdvs: str, infno: str, code: str) -> str:
    """唯一记录号: stable for a row, so a HIS that upserts by it replaces the old version of the row."""
    return hashlib.sha256(f"{admdvs}/{infno}/{code}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Published:
    """A row as published: its content plus what yibao keeps about it."""

    fields: Mapping[str, str]
    vali_flag: str
    rid: str
    crte_time: datetime
    updt_time: datetime
    ver: int
    ver_name: str


def _clean(value: object) -> str:
    """A field may hold no TAB or line break: readers split on them."""
    return " ".join(str(value).replace("\t", " ").splitlines())


def line_of(infno: str, row: Published) -> str:
    kind = FILES[infno]
    managed = {"有效标志": row.vali_flag, "唯一记录号": row.rid, "数据创建时间": f"{row.crte_time:%Y-%m-%d %H:%M:%S}",
               "数据更新时间": f"{row.updt_time:%Y-%m-%d %H:%M:%S}", "版本号": str(row.ver), "版本名称": row.ver_name}
    values = []
    for column in kind.columns:
        if column in managed:
            values.append(managed[column])
        elif column == kind.record_id and not row.fields.get(column):
            values.append(row.rid)
        else:
            values.append(_clean(row.fields.get(column, "")))
    return "\t".join(values)


def zip_of(infno: str, rows: Iterable[Published], inner_name: str) -> bytes:
    """The downloadable file: a zip holding one UTF-8 text, one TAB-separated line per row, no header line."""
    text = "".join(line_of(infno, r) + "\n" for r in rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(inner_name, text.encode("utf-8"))
    return buffer.getvalue()
