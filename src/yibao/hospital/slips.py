"""Settlement slips (结算单) from the KEPT outputs: the 2207 setlinfo for the figures and the 2204 split for the
lines (seed 003: a cross-province settlement cannot be queried later; when the lines cannot be classed the table
may stay empty, but the total, the fund payment and the cash must show). The personal account and family mutual
aid are separate lines (seed 000: acct_pay and acct_mulaid_pay shown separately). HTML and PDF (reportlab, the
built-in CID font STSong-Light: no font file)."""

from __future__ import annotations

import io
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select

from yibao.hospital.db import Bill, BillLine, KindSettlement, Patient, Payment
from yibao.hospital.errors import not_found
from yibao.hospital.insurance import loads

if TYPE_CHECKING:
    from yibao.hospital.context import Context

TITLES = {"outpatient": "门诊医保结算单", "pharmacy": "药房医保结算单", "inpatient": "住院结算单",
          "retail": "药店购药结算单"}
CHANNELS = {"wechat": "微信支付", "alipay": "支付宝", "card": "银行卡", "deposit": "预交金"}
SPLIT = ("fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")
INSUTYPES = {"310": "职工基本医疗保险", "390": "城乡居民基本医疗保险"}
FONT = "STSong-Light"

#: the figures of the slip, in order: (label, setlinfo field)
FIGURES = (
    ("医疗费总额", "medfee_sumamt"),
    ("全自费金额", "fulamt_ownpay_amt"),
    ("超限价自费", "overlmt_selfpay"),
    ("先行自付金额", "preselfpay_amt"),
    ("符合政策范围金额", "inscp_scp_amt"),
    ("起付线", "act_pay_dedc"),
    ("统筹基金支付", "hifp_pay"),
    ("基金支付总额", "fund_pay_sumamt"),
    ("个人负担总额", "psn_part_amt"),
    ("个人账户支付", "acct_pay"),
    ("其中：个人账户共济支付", "acct_mulaid_pay"),
    ("个人现金支付", "psn_cash_pay"),
    ("个人账户余额", "balc"),
)
LINE_COLUMNS = ("项目编码", "项目名称", "单价", "数量", "金额", "全自费", "超限价", "先行自付", "符合范围")


def mask(certno: str) -> str:
    return certno[:6] + "*" * max(len(certno) - 10, 0) + certno[-4:] if len(certno) > 10 else certno


def slip_data(hospital: Context, setl_id: str) -> dict[str, Any]:
    """Everything a slip shows, from the kept outputs of the payment that made the settlement: the lines of its
    bills with the 2204 split, or of its stay (the 2301 split) or sale (the 2102 detlcutinfo)."""
    with hospital.db.session() as s:
        p = s.scalar(select(Payment).where(Payment.setl_id == setl_id))
        if p is None or not p.out_settle:
            raise not_found(f"no settlement {setl_id} kept here")
        patient = s.get_one(Patient, p.patient_id)
        stay = s.scalar(select(KindSettlement).where(KindSettlement.no == p.stay_no)) if p.stay_no else None
        lines = [] if stay else list(s.execute(select(BillLine, Bill.bill_no).join(Bill, Bill.id == BillLine.bill_id)
                                               .where(Bill.bill_no.in_(p.bill_nos)).order_by(Bill.id, BillLine.seq)))
    info = loads(p.out_settle)["setlinfo"]
    if stay is not None:
        rows = [[x.get("med_list_codg", ""), x.get("name", ""), Decimal(str(x["pric"])), Decimal(str(x["cnt"])),
                 Decimal(str(x["det_item_fee_sumamt"])), *(x.get(c, "") for c in SPLIT)] for x in stay.lines]
        number = [("住院号" if stay.kind == "inpatient" else "销售单号", stay.no)]
    else:
        split = {str(r["feedetl_sn"]): r for r in (loads(p.out_2204) or {}).get("result", [])}
        rows = []
        for i, (line, _bill_no) in enumerate(lines, 1):
            r = split.get(f"{p.payment_no}-{i:03d}", {})
            rows.append([line.med_list_codg, line.name, line.pric, line.cnt, line.amount,
                         *(r.get(k, "") for k in SPLIT)])
        number = []
    state = {"cancelled": "已撤销", "refunded": "已退费"}.get(p.insurance_status if p.insurance_status == "cancelled"
                                                          else p.status, "")
    name = hospital.config.fixmedins_name or hospital.config.fixmedins_code
    cash = CHANNELS.get(p.channel, p.channel) + (f" ({p.device})" if p.device else "") if p.out_trade_no else "无"
    return {
        "title": f"{name} {TITLES.get(p.kind, TITLES['outpatient'])}",
        "state": state,
        "fields": [("姓名", patient.name), ("证件号码", mask(patient.certno)), ("人员编号", info.get("psn_no", "")),
                   ("险种", INSUTYPES.get(str(info.get("insutype")), str(info.get("insutype", "")))),
                   ("参保地", p.insuplc_admdvs or ""), ("就诊ID", info.get("mdtrt_id", "")),
                   ("结算ID", setl_id), ("结算时间", info.get("setl_time", "")), *number, ("支付单号", p.payment_no),
                   ("现金支付方式", cash)],
        "lines": rows,
        "figures": [(label, info.get(key, Decimal("0.00"))) for label, key in FIGURES],
        "setlinfo": info,
    }


def _text(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, Decimal) and value == value.quantize(Decimal("0.01")) else str(value)


def render_html(data: dict[str, Any]) -> str:
    fields = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in data["fields"])
    head = "".join(f"<th>{escape(c)}</th>" for c in LINE_COLUMNS)
    lines = "".join("<tr>" + "".join(f"<td>{escape(_text(c))}</td>" for c in row) + "</tr>" for row in data["lines"])
    figures = "".join(f"<tr><th>{escape(label)}</th><td class=\"amount\">{escape(_text(v))}</td></tr>"
                      for label, v in data["figures"])
    state = f"<p class=\"state\">{escape(data['state'])}</p>" if data["state"] else ""
    return (
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(data['title'])}</title><style>"
        "body{font-family:'Songti SC','SimSun',serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "th,td{border:1px solid #444;padding:.2em .6em;text-align:left}td.amount{text-align:right}"
        ".state{color:#b00;font-weight:bold}</style></head><body>"
        f"<h1>{escape(data['title'])}</h1>{state}"
        f"<table class=\"fields\">{fields}</table>"
        f"<table class=\"lines\"><tr>{head}</tr>{lines}</table>"
        f"<table class=\"figures\">{figures}</table></body></html>")


def render_pdf(data: dict[str, Any]) -> bytes:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    title = ParagraphStyle("title", fontName=FONT, fontSize=15, leading=20, alignment=1)
    body = ParagraphStyle("body", fontName=FONT, fontSize=8, leading=10)
    grid = [("FONT", (0, 0), (-1, -1), FONT, 9), ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    story: list[Any] = [Paragraph(escape(data["title"]), title)]
    if data["state"]:
        story.append(Paragraph(escape(data["state"]), ParagraphStyle("state", parent=title, textColor=colors.red)))
    story.append(Spacer(1, 8))
    pairs = data["fields"]
    rows = [[a, str(b), c, str(d)] for (a, b), (c, d) in zip(pairs[::2], pairs[1::2], strict=False)]
    story.append(Table(rows, colWidths=[70, 180, 70, 180], style=TableStyle(grid)))
    story.append(Spacer(1, 8))
    lines = [list(LINE_COLUMNS)] + [[Paragraph(escape(_text(c)), body) if i == 1 else _text(c)
                                     for i, c in enumerate(row)] for row in data["lines"]]
    story.append(Table(lines, colWidths=[80, 110, 45, 35, 45, 45, 45, 45, 50], repeatRows=1,
                       style=TableStyle([*grid, ("FONT", (0, 0), (-1, -1), FONT, 7),
                                         ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey)])))
    story.append(Spacer(1, 8))
    figures = [[label, _text(v)] for label, v in data["figures"]]
    story.append(Table(figures, colWidths=[150, 100], style=TableStyle([*grid, ("ALIGN", (1, 0), (1, -1), "RIGHT")])))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=data["title"], leftMargin=36, rightMargin=36, topMargin=36,
                      bottomMargin=36).build(story)
    return buffer.getvalue()
