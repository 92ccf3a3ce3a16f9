"""A leaf-mutation fuzz of the interfaces added for issue 15, in process on SQLite and PostgreSQL.

Each interface starts from a valid input (answered with infcode 0 first, so that the mutations reach past the
schema into the use cases); then every node of it (each scalar, list and object, the first two items of a list)
is replaced in turn by junk: huge and negative numbers, 1e308, NaN and Infinity spelt as text, "", 600
characters, days of year 1 and 9999, lists and objects. No answer may be the gateway's plain internal error (a
5xx turned into infcode -1 "platform internal error"). The junk for each node is drawn with a fixed seed, a few
values a node, so the run is the same every time and stays well under a minute.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import yaml
from helpers import WORLD, setl_list_input

from yibao.dataset.loader import load_document

SEED = 15
#: junk values tried per node (drawn from JUNK with SEED); every node gets this many
PER_NODE = 4
JUNK: list[Any] = [10**30, -10**30, 1e308, -1, 1.5, True, None, "NaN", "Infinity", "-1", "1e30", "", "x" * 600,
                   "0001-01-01", "9999-12-31 23:59:59", "０", [], {}, [{}], {"a": [1, 2]},
                   "x" * 31, "x" * 51, "x" * 151, "x" * 201]
INTERNAL = "platform internal error"

SZ = "44030000000000000001"
CERT = "440301199001011234"
HOSPITAL = "H44030000001"
DAY = "2026-03-16"
PAGE = {"updt_time": "2000-01-01", "page_num": 1, "page_size": 10}


def world_doc() -> dict[str, Any]:
    doc = copy.deepcopy(yaml.safe_load(WORLD.read_text(encoding="utf-8")))
    sz = doc["regions"][0]
    sz["analysis_rules"] = [
        {"rule_id": "R-QTY", "kind": "qty_per_visit", "severity": "2", "message": "单次限2",
         "params": {"codes": ["EX-DRUG-A"], "max_qty": "2"}},
        {"rule_id": "R-PER", "kind": "qty_per_period", "severity": "2", "message": "周期限量",
         "params": {"codes": ["EX-DRUG-A"], "max_qty": "5", "days": 30}},
        {"rule_id": "R-DUP", "kind": "duplicate", "severity": "2", "message": "同日重复", "params": {}}]
    sz["catalog"][1]["lmt_cond"] = {"dise_prefixes": ["E11"], "max_days": 3}
    return doc


def settle(client: Any) -> dict[str, Any]:
    """An outpatient visit of 张三 with 2 x EX-DRUG-A at 50.00, settled by 2207: its setlinfo."""
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERT}
    reg = client.ok("2201", {"data": {"psn_no": SZ, "insutype": "310", "begntime": f"{DAY} 09:00:00", **cert,
                                      "ipt_otp_no": "OTP-FUZZ-1"}})
    mdtrt_id = reg["data"]["mdtrt_id"]
    client.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": SZ, "med_type": "11",
                                     "begntime": f"{DAY} 09:00:00"}})
    lines = client.ok("2204", {"feedetail": [{
        "feedetl_sn": "F1", "mdtrt_id": mdtrt_id, "psn_no": SZ, "chrg_bchno": "B1", "fee_ocur_time": f"{DAY} 09:30:00",
        "med_list_codg": "EX-DRUG-A", "det_item_fee_sumamt": "100.00", "cnt": "2", "pric": "50.00"}]})["result"]

    def total(key: str) -> str:
        return str(sum((Decimal(str(r[key])) for r in lines), Decimal("0.00")))

    return client.ok("2207", {"data": {
        "psn_no": SZ, **cert, "med_type": "11", "medfee_sumamt": "100.00", "psn_setlway": "01", "mdtrt_id": mdtrt_id,
        "chrg_bchno": "B1", "acct_used_flag": "1", "insutype": "310", "fulamt_ownpay_amt": total("fulamt_ownpay_amt"),
        "overlmt_selfpay": total("overlmt_amt"), "preselfpay_amt": total("preselfpay_amt"),
        "inscp_scp_amt": total("inscp_scp_amt")}})["setlinfo"]


def setl_list(setl: dict[str, Any]) -> dict[str, Any]:
    return setl_list_input(SZ, DAY, setl, str(setl["fund_pay_sumamt"]), acct_pay=str(setl["acct_pay"]),
                           psn_cashpay=str(setl["psn_cash_pay"]))


def order(rx_id: str, cnt: str, sumamt: str) -> dict[str, Any]:
    return {"rx_id": rx_id, "rxno": "RX1", "hilist_type": "101", "chrg_type": "09", "hilist_code": "EX-DRUG-A",
            "hilist_name": "药品甲", "hilist_pric": "10", "hosplist_code": "H-A", "cnt": cnt, "pric": "10",
            "sumamt": sumamt, "drord_begn_date": f"{DAY} 09:00:00", "drord_dept_codg": "D01", "curr_drord_flag": "1"}


def analysis(trig_scen: str = "2") -> dict[str, Any]:
    encounter = {"mdtrt_id": "HIS-1", "medins_id": HOSPITAL, "medins_admdvs": "440300", "medins_lv": "3",
                 "adm_date": DAY, "dscg_date": "", "dscg_main_dise_codg": "I10", "med_type": "11", "insutype": "310",
                 "medfee_sumamt": "60", "fsi_diagnose_dtos": [{"dise_id": "1", "inout_dise_type": "1",
                                                               "maindise_flag": "1", "dise_codg": "I10"}],
                 "fsi_order_dtos": [order("O1", "3", "30.00"), order("O2", "3", "30.00")],
                 "fsi_operation_dtos": []}
    return {"data": {"syscode": "HIS", "task_id": "T-1", "trig_scen": trig_scen, "rule_ids": [],
                     "patient_dtos": [{"patn_id": SZ, "patn_name": "张三", "gend": "1", "brdy": "1990-01-01",
                                       "poolarea": "440300", "curr_mdtrt_id": "HIS-1",
                                       "fsi_encounter_dtos": [encounter]}]}}


def selfpay_fee(mdtrt_id: str, sn: str) -> dict[str, Any]:
    return {"fixmedins_mdtrt_id": mdtrt_id, "med_type": "21", "bkkp_sn": sn, "fee_ocur_time": f"{DAY} 10:00:00",
            "fixmedins_code": HOSPITAL, "fixmedins_name": "深圳示例医院", "cnt": "2", "pric": "25.00",
            "det_item_fee_sumamt": "50.00", "med_list_codg": "EX-DRUG-A", "medins_list_codg": "H-A",
            "medins_list_name": "院内甲药", "med_chrgitm_type": "09", "memo": {"invoice_no": "INV1"}}


def stay(mdtrt_id: str) -> dict[str, Any]:
    return {"fixmedins_mdtrt_id": mdtrt_id, "fixmedins_code": HOSPITAL, "fixmedins_name": "深圳示例医院",
            "psn_cert_type": "01", "certno": CERT, "psn_name": "张三", "begntime": f"{DAY} 08:00:00",
            "med_type": "21", "vali_flag": "1", "inhosp_stas": "1"}


DIAG = {"inout_diag_type": "1", "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": "1", "diag_code": "I10.x00",
        "diag_name": "高血压", "vali_flag": "1"}


def mapping(code: str) -> dict[str, Any]:
    return {"fixmedins_hilist_id": code, "fixmedins_hilist_name": "院内" + code, "list_type": "101",
            "med_list_codg": "EX-DRUG-A", "begndate": "2026-01-01", "enddate": "2026-12-31"}


def cases(client: Any) -> dict[str, dict[str, Any]]:
    """A valid input of each interface, with the state each needs made first."""
    setl = settle(client)
    client.ok("3301", {"data": mapping("H-A")})
    client.ok("4201A", {"fsiOwnpayPatnFeeListDDTO": [selfpay_fee("ZY1", "1")]})
    client.ok("4202", {"ownPayPatnMdtrtD": stay("ZY1"), "ownPayPatnDiagListD": [DIAG]})
    warns = client.ok("3101", analysis())["result"]
    assert warns, "the analysis rules found nothing to feed back"
    flat = {"fixmedins_code": HOSPITAL}
    return {
        "1301": {"data": {"ver": "0"}}, "1305": {"data": {"ver": ""}}, "1307": {"data": {}},
        "1312": {"data": {**PAGE, "query_date": DAY, "hilist_code": "EX-DRUG-A", "hilist_name": "药品"}},
        "1318": {"data": {**PAGE, "vali_flag": "1"}}, "1319": {"data": {**PAGE, "hilist_code": "EX-DRUG-B"}},
        "1316": {"data": dict(PAGE)},
        "1317": {"data": {**PAGE, "query_date": DAY, "begndate": "2026-01-01", "medins_list_codg": "H-A"}},
        "1901": {"data": {"type": "gend", "date": DAY, "valiFlag": "1"}},
        "2001": {"data": {"psn_no": SZ, "insutype": "310", "med_type": "11", "begntime": f"{DAY} 09:00:00",
                          "endtime": "", "dise_codg": "I10"}},
        "3101": analysis(), "3102": analysis("7"),
        "3103": {"data": {"warn_type": "1", "warns": [{"warn_rslt_id": warns[0]["jr_id"], "dspo_way": "1",
                                                       "dspo_way_rea": "患者确需"}]}},
        "3301": {"data": mapping("H-X")},
        "3302": {"data": {"fixmedins_hilist_id": "H-A", "list_type": "101", "med_list_codg": "EX-DRUG-A"}},
        "4101A": setl_list(setl),
        "4201A": {"fsiOwnpayPatnFeeListDDTO": [selfpay_fee("ZY1", "2")]},
        "4202": {"ownPayPatnMdtrtD": stay("ZY1"), "ownPayPatnDiagListD": [DIAG]},
        "4203": {"fixmedins_mdtrt_id": "ZY1", **flat, "cplt_flag": "0"},
        "4204": {"feedetail": {"fixmedins_mdtrt_id": "ZY1", **flat}, "feedetl": [{"bkkp_sn": "1"}]},
        "4205": {"mdtrtinfo": stay("MZ1"), "diseinfo": [DIAG], "feedetail": [selfpay_fee("MZ1", "1")]},
        "4206": {"fixmedins_mdtrt_id": "MZ1", **flat},
        "4207": {"fixmedins_mdtrt_id": "ZY1", **flat, "page_num": 1, "page_size": 10},
        "4208": {"fixmedins_mdtrt_id": "ZY1", **flat}, "4209": {"fixmedins_mdtrt_id": "ZY1", **flat},
        "5201": {"data": {"psn_no": SZ, "begntime": "2026-01-01", "endtime": "2026-12-31", "med_type": "11"}},
        "5202": {"data": {"psn_no": SZ, "mdtrt_id": setl["mdtrt_id"]}},
        "5203": {"data": {"psn_no": SZ, "setl_id": setl["setl_id"], "mdtrt_id": setl["mdtrt_id"]}},
        "5204": {"data": {"psn_no": SZ, "setl_id": setl["setl_id"], "mdtrt_id": setl["mdtrt_id"]}},
        "5205": {"data": {"psn_no": SZ, "begntime": "2026-01-01 00:00:00", "endtime": "2026-12-31 23:59:59"}},
        "5206": {"data": {"psn_no": SZ, "cum_ym": "202603"}},
        "5301": {"data": {"psn_no": SZ}},
        "5302": {"data": {"psn_no": SZ, "biz_appy_type": "03"}},
        "5303": {"data": {"psn_no": SZ, "begntime": "2026-01-01", "endtime": "2026-12-31"}},
    }


Path = tuple[Any, ...]


def nodes(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every node below the root: objects' values, the first two items of a list, and the list itself."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield path + (key,)
            yield from nodes(inner, path + (key,))
    elif isinstance(value, list):
        for i, inner in enumerate(value[:2]):
            yield path + (i,)
            yield from nodes(inner, path + (i,))


def replaced(value: Any, path: Path, junk: Any) -> Any:
    out = copy.deepcopy(value)
    here = out
    for key in path[:-1]:
        here = here[key]
    here[path[-1]] = copy.deepcopy(junk)
    return out


def test_every_node_of_every_new_interface_replaced_by_junk_is_never_an_internal_error(platform, figures) -> None:
    load_document(platform.store, world_doc())
    client = platform.client()
    client.sign_no()
    inputs = cases(client)
    rng = random.Random(SEED)
    internal: list[str] = []
    sent = 0
    for infno, good in inputs.items():
        answer = client.call(infno, good)
        assert answer["infcode"] == 0, f"{infno} refused its valid input: {answer['err_msg']}"
        for path in nodes(good):
            for junk in rng.sample(JUNK, PER_NODE):
                sent += 1
                answer = client.call(infno, replaced(good, path, junk))
                if INTERNAL in (answer.get("err_msg") or ""):
                    internal.append(f"{infno} {'.'.join(map(str, path))} = {junk!r:.40}")
    figures("fuzz", requests=sent, server_errors=len(internal))
    assert sent > 1000
    assert not internal, f"{len(internal)} internal errors of {sent} messages:\n" + "\n".join(internal[:40])
