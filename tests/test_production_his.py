"""A whole outpatient visit sent the way production HIS send it, and the sign-in policy they rely on.

Envelopes are plain dicts signed with the x-tif formula (no yibao.client): POST to the URL with the infno
appended, `sign_no` "" on queries and a 9001 sign-in only before the first committing message, `enc_type`
present, `opter_type` "2", amounts as JSON numbers, a msgid of the institution code, the time and four random
digits, and success read as the integer infcode 0 (interface-integration.md sections 0 and 10).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime

import pytest
import yaml
from helpers import WORLD, Platform

from yibao.dataset.loader import DatasetError, load_document
from yibao.gateway.service import Gateway
from yibao.rules import sign_in
from yibao.xtif import signature

CODE, SECRET, AREA = "H44030000001", "test-secret-sz", "440300"
SZ, CERTNO = "44030000000000000001", "440301199001011234"
URL = "/fsi/api/rsfComIfsService/callService/"


class His:
    """A HIS desk: builds, signs and posts envelopes itself."""

    def __init__(self, platform: Platform, opter: str = "1001"):
        self.http, self.opter, self.sign_no = platform.http, opter, ""
        self.used: set[str] = set()

    def msgid(self) -> str:
        while True:
            mid = CODE + datetime.now().strftime("%Y%m%d%H%M%S") + f"{random.randrange(10000):04d}"
            if mid not in self.used:
                self.used.add(mid)
                return mid

    def post(self, infno: str, input_: dict, *, sign_no: str = "", insuplc: str = "") -> dict:
        body = {"infno": infno, "msgid": self.msgid(), "mdtrtarea_admvs": AREA, "insuplc_admdvs": insuplc,
                "recer_sys_code": "HIS", "dev_no": "", "dev_safe_info": "", "cainfo": "", "signtype": "",
                "infver": "V1.0", "opter_type": "2", "opter": self.opter, "opter_name": "收费员",
                "inf_time": datetime.now().strftime("%Y-%m-%d %H:%M:%S"), "fixmedins_code": CODE,
                "fixmedins_name": "深圳示例医院", "sign_no": sign_no, "enc_type": "", "input": input_}
        ts, nonce = str(int(time.time())), uuid.uuid4().hex
        headers = {"Content-Type": "application/json;charset=utf-8", "x-tif-paasid": CODE, "x-tif-timestamp": ts,
                   "x-tif-nonce": nonce, "x-tif-signature": signature(ts, SECRET, nonce)}
        reply = self.http.post(URL + infno, content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                               headers=headers)
        assert reply.status_code == 200
        return json.loads(reply.content)  # numbers as a HIS reads them: floats and ints

    def ok(self, infno: str, input_: dict, **kw) -> dict:
        answer = self.post(infno, input_, **kw)
        assert type(answer["infcode"]) is int and answer["infcode"] == 0, answer["err_msg"]
        return answer["output"]

    def sign_in(self) -> str:
        self.sign_no = self.ok("9001", {"signIn": {"opter_no": self.opter, "mac": "00-1A-2B", "ip": "10.0.0.8"}})[
            "signinoutb"]["sign_no"]
        return self.sign_no


def test_a_whole_outpatient_visit_as_a_production_his_sends_it(platform):
    his = His(platform)
    person = his.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO, "card_sn": "",
                                      "begntime": "", "psn_cert_type": "", "certno": "", "psn_name": ""}})
    assert person["baseinfo"]["psn_no"] == SZ and person["insuinfo"][0]["balc"] == 500.0
    trt = his.ok("2001", {"data": {"psn_no": SZ, "insutype": "310", "fixmedins_code": CODE, "med_type": "11",
                                   "begntime": "2026-03-16 09:00:00", "endtime": "", "dise_codg": "",
                                   "dise_name": "", "oprn_oprt_code": "", "oprn_oprt_name": "", "matn_type": "",
                                   "birctrl_type": ""}})["trtinfo"]
    assert all(r["trt_enjymnt_flag"] == "1" for r in trt)
    sign_no = his.sign_in()  # once, before the first message that commits
    reg = his.ok("2201", {"data": {"psn_no": SZ, "insutype": "310", "begntime": "2026-03-16 09:00:00",
                                   "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO, "ipt_otp_no": "MZ20260316001",
                                   "atddr_no": "D001", "dr_name": "王医生", "dept_code": "0101", "dept_name": "内科",
                                   "caty": "A03"}}, sign_no=sign_no)
    mdtrt_id = reg["data"]["mdtrt_id"]
    his.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": SZ, "med_type": "11",
                                  "begntime": "2026-03-16 09:00:00", "main_cond_dscr": "", "dise_codg": "",
                                  "dise_name": ""},
                    "diseinfo": [{"psn_no": SZ, "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": 1,
                                  "diag_code": "J06.900", "diag_name": "上呼吸道感染", "diag_dept": "内科",
                                  "dise_dor_no": "D001", "dise_dor_name": "王医生",
                                  "diag_time": "2026-03-16 09:05:00", "vali_flag": "1"}]}, sign_no=sign_no)
    lines = his.ok("2204", {"feedetail": [{
        "feedetl_sn": "CF0001-1", "mdtrt_id": mdtrt_id, "psn_no": SZ, "chrg_bchno": "CF0001", "dise_codg": "",
        "rxno": "CF0001", "rx_circ_flag": "0", "fee_ocur_time": "2026-03-16 09:20:00", "med_list_codg": "EX-DRUG-A",
        "medins_list_codg": "YP0001", "det_item_fee_sumamt": 100.0, "cnt": 2, "pric": 50.0, "sin_dos_dscr": "",
        "used_frqu_dscr": "", "prd_days": 0, "medc_way_dscr": "", "bilg_dept_codg": "0101", "bilg_dept_name": "内科",
        "bilg_dr_codg": "D001", "bilg_dr_name": "王医生", "hosp_appr_flag": "0"}]}, sign_no=sign_no)["result"]
    assert lines[0]["det_item_fee_sumamt"] == 100.0 and lines[0]["inscp_scp_amt"] == 100.0
    settle = {"psn_no": SZ, "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO, "med_type": "11",
              "medfee_sumamt": 100.0, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "CF0001",
              "insutype": "310", "acct_used_flag": "1", "invono": "", "fulamt_ownpay_amt": 0, "overlmt_selfpay": 0,
              "preselfpay_amt": 0, "inscp_scp_amt": 100.0}
    pre = his.ok("2206", {"data": settle}, sign_no=sign_no)["setlinfo"]
    assert pre["hifp_pay"] == 12.0 and pre["acct_pay"] == 88.0
    done = his.ok("2207", {"data": settle}, sign_no=sign_no)["setlinfo"]
    assert done["fund_pay_sumamt"] == 12.0 and done["psn_cash_pay"] == 0 and done["balc"] == 412.0
    info = his.ok("5203", {"data": {"psn_no": SZ, "setl_id": done["setl_id"], "mdtrt_id": mdtrt_id}})["setlinfo"]
    assert info["setl_stas"] == "settled" and info["medfee_sumamt"] == 100.0


# -- the sign-in policy ---------------------------------------------------------------------------------------

LOOKUP = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO}}
REGISTER = {"data": {"psn_no": SZ, "insutype": "310", "begntime": "2026-03-16 09:00:00", "mdtrt_cert_type": "02",
                     "ipt_otp_no": "MZ-P1"}}


def with_policy(store, required: str | None) -> Platform:
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    if required is not None:
        doc["regions"][0]["settings"] = {"sign_in": {"required": required}}
    load_document(store, doc)
    return Platform(store)


def test_by_default_queries_need_no_sign_in_and_committing_messages_do(platform):
    his = His(platform)
    for infno, input_ in (("1101", LOOKUP), ("90100", {"data": {"psn_no": SZ}}),
                          ("5302", {"data": {"psn_no": SZ, "biz_appy_type": "03"}})):
        assert his.post(infno, input_)["infcode"] == 0
    refused = his.post("2201", REGISTER)
    assert refused["infcode"] == -1 and refused["err_msg"] == "sign_no: is required: sign in with 9001 first"
    assert his.post("2201", REGISTER, sign_no=his.sign_in())["infcode"] == 0


def test_a_sign_no_sent_with_a_query_is_still_checked(platform):
    his = His(platform)
    stale = his.post("1101", LOOKUP, sign_no="20260315000000" + "1" * 16)
    assert stale["infcode"] == -1 and stale["err_msg"].startswith("sign_no:") and "not a sign-in" in stale["err_msg"]


def test_a_region_may_require_a_sign_in_for_everything_or_for_nothing(store, monkeypatch):
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-16")
    strict = His(with_policy(store, "all"))
    assert strict.post("1101", LOOKUP)["err_msg"] == "sign_no: is required: sign in with 9001 first"
    assert strict.post("9001", {"signIn": {"opter_no": strict.opter}})["infcode"] == 0  # 9001 itself never needs one
    relaxed = His(with_policy(store, "none"))
    assert relaxed.post("2201", REGISTER)["infcode"] == 0


def test_the_deployment_default_comes_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-16")
    monkeypatch.setenv("YIBAO_SIGN_IN", "all")
    his = His(with_policy(store, None))
    assert his.post("1101", LOOKUP)["err_msg"].startswith("sign_no: is required")
    monkeypatch.setenv("YIBAO_SIGN_IN", "sometimes")
    with pytest.raises(ValueError, match="YIBAO_SIGN_IN: must be one of committing, all, none"):
        Gateway(store)


def test_a_bad_sign_in_setting_is_refused_when_the_dataset_loads(store):
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    doc["regions"][0]["settings"] = {"sign_in": {"required": "queries"}}
    with pytest.raises(DatasetError) as err:
        load_document(store, doc)
    assert "regions[0].settings.sign_in: required must be one of committing, all, none, not 'queries'" in str(
        err.value.problems[0])


def test_rules_which_interfaces_only_read_and_what_each_policy_requires():
    assert all(sign_in.reads_only(i) for i in ("1101", "2001", "90100", "1301", "1316", "1317", "1901", "3101",
                                               "3103", "5201", "5302", "9102"))
    assert not any(sign_in.reads_only(i) for i in ("2201", "2207", "2207A", "9101", "2505", "3201", "53020"))
    assert sign_in.required("committing", writes=True) and not sign_in.required("committing", writes=False)
    assert sign_in.required("all", writes=False) and not sign_in.required("none", writes=True)
    assert sign_in.setting_problem({"required": "all"}) is None
    assert sign_in.setting_problem("all") == "must be a mapping such as {required: committing}"
    assert sign_in.setting_problem({"required": "all", "when": 1}) == "unknown key 'when'; the only key is required"
    assert sign_in.policy_of(None, "all") == "all" and sign_in.policy_of({"required": "none"}, "all") == "none"
