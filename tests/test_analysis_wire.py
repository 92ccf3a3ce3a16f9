"""3101/3102 pre- and mid-event analysis and 3103 feedback through the wire, the rules from the dataset and from
the agency's API (docs/analysis.md), on SQLite and PostgreSQL. 张三 (44030000000000000001) is a man born 1990 at
a level-3 hospital of 440300 (tests/data/world.yaml)."""

from __future__ import annotations

import copy
import threading
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
import yaml
from helpers import WORLD, Platform, envelope, snapshot
from sqlalchemy import select

from yibao.api.tokens import issue, signing_key
from yibao.dataset.loader import DatasetError, load_document
from yibao.store.models import AnalysisResult, AnalysisRule

SZ_PSN = "44030000000000000001"
GZ_HOSPITAL = "H44010000001"
RULES = [
    {"rule_id": "R-GYN", "name": "限女性项目", "kind": "sex", "severity": "1", "message": "妇科项目限女性",
     "params": {"codes": ["GYN-01"], "gend": "2"}},
    {"rule_id": "R-QTY", "kind": "qty_per_visit", "severity": "2", "message": "药品甲单次就诊限2",
     "params": {"codes": ["EX-DRUG-A"], "max_qty": "2"}},
    {"rule_id": "R-DUP", "kind": "duplicate", "severity": "2", "message": "同日重复收费", "params": {}},
]


def world_with_rules(rules: list[dict[str, Any]] | None = None, lmt: dict[str, Any] | None = None) -> dict:
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    sz = doc["regions"][0]
    sz["analysis_rules"] = RULES if rules is None else rules
    if lmt is not None:
        sz["catalog"][1]["lmt_cond"] = lmt
    return doc


@pytest.fixture
def ruled(platform: Platform) -> Platform:
    load_document(platform.store, world_with_rules(lmt={"dise_prefixes": ["E11"]}))
    return platform


def order(rx_id: str, code: str, cnt: str, sumamt: str, **over: Any) -> dict[str, Any]:
    return {"rx_id": rx_id, "rxno": "RX1", "grpno": "", "long_drord_flag": "0", "hilist_type": "101",
            "chrg_type": "09", "drord_bhvr": "0", "hilist_code": code, "hilist_name": code, "hilist_lv": "01",
            "hilist_pric": "10", "hosplist_code": "H-" + code, "hosplist_name": code, "cnt": cnt, "pric": "10",
            "sumamt": sumamt, "ownpay_amt": "0", "selfpay_amt": "0", "spec": "", "spec_unt": "",
            "drord_begn_date": "2026-03-16 09:00:00", "drord_dept_codg": "D01", "drord_dept_name": "内科",
            "drord_dr_codg": "DR01", "drord_dr_name": "医生", "drord_dr_profttl": "", "curr_drord_flag": "1", **over}


def request_3101(orders: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    encounter = {"mdtrt_id": "HIS-MDTRT-1", "medins_id": "H44030000001", "medins_name": "深圳示例医院",
                 "medins_admdvs": "440300", "medins_type": "1", "medins_lv": "3", "adm_date": "2026-03-16",
                 "dscg_date": "", "dscg_main_dise_codg": "I10", "dscg_main_dise_name": "高血压", "dr_codg": "DR01",
                 "adm_dept_codg": "D01", "adm_dept_name": "内科", "dscg_dept_codg": "D01", "dscg_dept_name": "内科",
                 "med_mdtrt_type": "1", "med_type": "11", "matn_stas": "0", "medfee_sumamt": "100",
                 "ownpay_amt": "0", "selfpay_amt": "0", "setl_totlnum": "0", "insutype": "310", "reim_flag": "0",
                 "out_setl_flag": "2", "fsi_diagnose_dtos": [{"dise_id": "1", "inout_dise_type": "1",
                                                               "maindise_flag": "1", "dise_codg": "I10"}],
                 "fsi_order_dtos": orders, "fsi_operation_dtos": []}
    data = {"syscode": "HIS", "task_id": "T-1", "trig_scen": "2", "rule_ids": [],
            "patient_dtos": [{"patn_id": SZ_PSN, "patn_name": "张三", "gend": "1", "brdy": "1990-01-01",
                              "poolarea": "440300", "curr_mdtrt_id": "HIS-MDTRT-1", "fsi_his_data_dto": "",
                              "fsi_encounter_dtos": [encounter]}]}
    data.update(over)
    return {"data": data}


ORDERS = [order("O1", "GYN-01", "1", "30.00"), order("O2", "EX-DRUG-A", "3", "30.00"),
          order("O3", "EX-DRUG-B", "1", "10.00"), order("O4", "EX-DRUG-B", "1", "10.00")]


def by_rule(result: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["rule_id"]: r for r in result}


def test_3101_answers_each_violation_and_3103_records_the_feedback(ruled: Platform) -> None:
    his = ruled.client()
    result = his.ok("3101", request_3101(ORDERS))["result"]
    found = by_rule(result)
    # the catalog row's 限定支付范围 (diagnosis E11) flags both EX-DRUG-B lines: the visit is I10
    assert set(found) == {"R-GYN", "R-QTY", "R-DUP", "LMT-EX-DRUG-B"}
    gyn = found["R-GYN"]
    assert (gyn["sev_deg"], gyn["vola_bhvr_type"], gyn["rule_name"], gyn["patn_id"], gyn["mdtrt_id"],
            gyn["task_id"], gyn["vola_amt_stas"]) == ("1", "4", "限女性项目", SZ_PSN, "HIS-MDTRT-1", "T-1", "1")
    assert Decimal(str(gyn["vola_amt"])) == Decimal("30.00") and gyn["vola_cont"].startswith("妇科项目限女性")
    [detail] = gyn["judge_result_detail_dtos"]
    assert (detail["rx_id"], detail["vola_item_type"], detail["patn_id"]) == ("O1", "1", SZ_PSN)
    qty = found["R-QTY"]  # 3 given, 2 allowed: one unit of 10.00 beyond
    assert (qty["sev_deg"], Decimal(str(qty["vola_amt"]))) == ("2", Decimal("10.00"))
    dup = found["R-DUP"]
    assert sorted((d["rx_id"], d["vola_item_type"]) for d in dup["judge_result_detail_dtos"]) == [("O3", "2"),
                                                                                                  ("O4", "1")]
    assert len({r["jr_id"] for r in result}) == len(result)

    # 3102 (事中) takes the same body; rule_ids narrows the rules applied (BZ sends them as a string)
    narrowed = his.ok("3102", request_3101(ORDERS, trig_scen="7", rule_ids="R-GYN"))["result"]
    assert [r["rule_id"] for r in narrowed] == ["R-GYN"]
    clean = his.ok("3101", request_3101([order("O9", "EX-DRUG-A", "1", "10.00")]))
    assert clean["result"] == []

    his.ok("3103", {"data": {"warn_type": "1", "warns": [
        {"warn_rslt_id": gyn["jr_id"], "dspo_way": "1", "dspo_way_rea": "患者确需"},
        {"warn_rslt_id": qty["jr_id"], "dspo_way": "2", "dspo_way_rea": ""}]}})
    with ruled.store.unit_of_work() as s:
        rows = {r.jr_id: r for r in s.scalars(select(AnalysisResult))}
        assert len(rows) == len(result) + len(narrowed)
        g, q, d = rows[gyn["jr_id"]], rows[qty["jr_id"]], rows[dup["jr_id"]]
        assert (g.dspo_way, g.dspo_way_rea, g.warn_type, g.infno, g.trig_scen) == ("1", "患者确需", "1", "3101", "2")
        assert (q.dspo_way, q.fed_back_by, q.vola_amt) == ("2", "op01", Decimal("10.00"))
        assert d.dspo_way is None and g.fixmedins_code == "H44030000001"


def test_3101_and_3103_need_no_sign_in(ruled: Platform) -> None:
    """OpenHIS-Server sends sign_no "" for both (interface-integration.md section 10)."""
    msgid = "H44030000001" + "20260316093000" + f"{uuid.uuid4().int % 10000:04d}"
    status, answer = ruled.post_raw(envelope("3101", request_3101(ORDERS), msgid=msgid, sign_no=""))
    assert (status, answer["infcode"]) == (200, 0), answer
    jr_id = answer["output"]["result"][0]["jr_id"]
    status, answer = ruled.post_raw(envelope("3103", {"data": {"warn_type": "2", "warns": [
        {"warn_rslt_id": jr_id, "dspo_way": "2"}]}}, msgid=msgid[:-4] + "9999", sign_no=""))
    assert answer["infcode"] == 0, answer


@pytest.mark.parametrize(("change", "field"), [
    ({"trig_scen": "42"}, "input.data.trig_scen"),
    ({"patient_dtos": []}, "input.data.patient_dtos"),
    ({"patient_dtos": [{"patn_id": SZ_PSN, "gend": "X", "brdy": "1990-01-01",
                        "fsi_encounter_dtos": [{"mdtrt_id": "M", "adm_date": "2026-03-16"}]}]},
     "input.data.patient_dtos[0].gend"),
    ({"patient_dtos": [{"patn_id": SZ_PSN, "gend": "1", "brdy": "1990-01-01", "fsi_encounter_dtos": [
        {"mdtrt_id": "M", "adm_date": "2026-03-16",
         "fsi_order_dtos": [order("O1", "A", "1", "1.00"), order("O1", "B", "1", "1.00")]}]}]},
     "input.data.patient_dtos[0].fsi_encounter_dtos[0].fsi_order_dtos"),
    ({"patient_dtos": [{"patn_id": SZ_PSN, "gend": "1", "brdy": "1990-01-01", "fsi_encounter_dtos": [
        {"mdtrt_id": "M", "adm_date": "2026-03-16", "fsi_order_dtos": [order("O1", "A", "-1", "1.00")]}]}]},
     "input.data.patient_dtos[0].fsi_encounter_dtos[0].fsi_order_dtos[0].cnt"),
    ({"patient_dtos": [{"patn_id": SZ_PSN, "gend": "1", "brdy": "1990-01-01", "fsi_encounter_dtos": [
        {"mdtrt_id": "M", "adm_date": "2026-03-16", "fsi_order_dtos": [order("O1", "A", "1", "1.001")]}]}]},
     "input.data.patient_dtos[0].fsi_encounter_dtos[0].fsi_order_dtos[0].sumamt"),
    ({"patient_dtos": [{"patn_id": SZ_PSN, "gend": "1", "brdy": "1990-01-01", "fsi_encounter_dtos": [
        {"mdtrt_id": "M", "adm_date": "2026-03-16", "fsi_order_dtos": [order("O1", "A", "1", "1", chrg_type="99")]}]}]},
     "input.data.patient_dtos[0].fsi_encounter_dtos[0].fsi_order_dtos[0].chrg_type"),
])
def test_3101_refuses_bad_input_naming_the_field(ruled: Platform, change: dict[str, Any], field: str) -> None:
    ruled.client().sign_no()  # a sign-in (which writes) before the snapshot, though 3101 needs none
    before = snapshot(ruled.store)
    answer = ruled.client().call("3101", request_3101(ORDERS, **change))
    assert answer["infcode"] == -1 and answer["err_msg"].startswith(field + ":"), answer["err_msg"]
    assert snapshot(ruled.store) == before


def test_3103_refuses_unknown_foreign_and_unreasoned_feedback(ruled: Platform) -> None:
    mine = ruled.client().ok("3101", request_3101(ORDERS))["result"][0]["jr_id"]
    ruled.client(GZ_HOSPITAL).sign_no()
    before = snapshot(ruled.store)

    def refused(code: str, data: dict[str, Any]) -> str:
        answer = ruled.client(code).call("3103", {"data": data})
        assert answer["infcode"] == -1, answer
        return str(answer["err_msg"])

    ok_warn = {"warn_rslt_id": mine, "dspo_way": "2"}
    unknown = {"warn_rslt_id": "JR-NONE", "dspo_way": "2"}
    assert refused("H44030000001", {"warn_type": "1", "warns": [ok_warn, unknown]}) \
        == "input.data.warns[1].warn_rslt_id: no analysis result JR-NONE of this institution"
    assert refused(GZ_HOSPITAL, {"warn_type": "1", "warns": [ok_warn]}).startswith(
        "input.data.warns[0].warn_rslt_id: no analysis result")  # another institution's result is unknown
    assert refused("H44030000001", {"warn_type": "1", "warns": [{"warn_rslt_id": mine, "dspo_way": "1"}]}) \
        .startswith("input.data.warns[0].dspo_way_rea: is required")
    assert refused("H44030000001", {"warn_type": "3", "warns": [ok_warn]}).startswith("input.data.warn_type:")
    assert refused("H44030000001", {"warn_type": "1", "warns": []}).startswith("input.data.warns:")
    assert refused("H44030000001", {"warn_type": "1", "warns": [ok_warn, ok_warn]}).startswith(
        "input.data.warns[1].warn_rslt_id:")
    assert snapshot(ruled.store) == before


def test_the_dataset_refuses_a_bad_rule_naming_its_path(platform: Platform) -> None:
    bad = [dict(RULES[0]), {**RULES[1], "kind": "colour"}, {**RULES[2], "severity": "5"}]
    with pytest.raises(DatasetError) as err:
        load_document(platform.store, world_with_rules(bad))
    text = str(err.value)
    assert "regions[0].analysis_rules[1].kind: 'colour' is not a kind of rule" in text
    assert "regions[0].analysis_rules[2].severity: '5' is not a severity" in text
    with pytest.raises(DatasetError) as err:
        load_document(platform.store, world_with_rules([RULES[0], RULES[0]]))
    assert "regions[0].analysis_rules[1].rule_id: R-GYN appears more than once" in str(err.value)


# -- the agency's API ---------------------------------------------------------------------------------------

def auth(store: Any, kind: str, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue(signing_key(store), kind, subject)}"}


def test_an_agency_lists_creates_and_disables_its_own_region_s_rules(ruled: Platform) -> None:
    http, sz, gz = ruled.http, auth(ruled.store, "agency", "440300"), auth(ruled.store, "agency", "440100")
    listed = http.get("/api/v1/agency/analysis-rules", headers=sz).json()
    assert {(r["rule_id"], r["source"], r["active"]) for r in listed} == {
        ("R-GYN", "dataset", True), ("R-QTY", "dataset", True), ("R-DUP", "dataset", True),
        ("LMT-EX-DRUG-B", "catalog", True)}
    assert http.get("/api/v1/agency/analysis-rules", headers=gz).json() == []  # another region's are not shown

    new = {"rule_id": "R-KID", "kind": "age", "severity": "2", "message": "儿童用药", "params": {
        "codes": ["EX-DRUG-A"], "max_age": 14}}
    made = http.post("/api/v1/agency/analysis-rules", headers=sz, json=new)
    assert made.status_code == 201 and made.json()["source"] == "api" and made.json()["vola_bhvr_type"] == "4"
    result = ruled.client().ok("3101", request_3101([order("O1", "EX-DRUG-A", "1", "10.00")]))["result"]
    assert [r["rule_id"] for r in result] == ["R-KID"]  # 张三 is 36

    again = http.post("/api/v1/agency/analysis-rules", headers=sz, json=new)
    assert again.status_code == 422 and again.json()["detail"].startswith("rule_id: R-KID is already a rule")
    bad = http.post("/api/v1/agency/analysis-rules", headers=sz, json={**new, "rule_id": "R-X", "kind": "colour"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.json()["errors"]] == ["kind"]
    bad = http.post("/api/v1/agency/analysis-rules", headers=sz, json={**new, "rule_id": "R-X", "params": {}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "params"

    assert http.post("/api/v1/agency/analysis-rules/R-KID/disable", headers=gz).status_code == 404
    off = http.post("/api/v1/agency/analysis-rules/R-KID/disable", headers=sz)
    assert off.status_code == 200 and off.json()["active"] is False
    assert http.post("/api/v1/agency/analysis-rules/R-KID/disable", headers=sz).status_code == 422
    assert ruled.client().ok("3101", request_3101([order("O1", "EX-DRUG-A", "1", "10.00")]))["result"] == []
    person = auth(ruled.store, "person", SZ_PSN)
    assert http.get("/api/v1/agency/analysis-rules", headers=person).status_code == 403
    assert http.get("/api/v1/agency/analysis-rules").status_code == 401


# -- period rules: odd dates, sizes, and what an answer tells of the person's other visits -------------------

PERIOD = {"rule_id": "R-PER", "kind": "qty_per_period", "severity": "2", "message": "药品甲30日限5",
          "params": {"codes": ["EX-DRUG-A"], "max_qty": "5", "days": 30}}


@pytest.fixture
def periodic(platform: Platform) -> Platform:
    load_document(platform.store, world_with_rules([*RULES, PERIOD]))
    return platform


def test_3101_with_an_order_dated_on_the_first_day_of_the_calendar_is_no_internal_error(periodic: Platform) -> None:
    """The period's window would start before 0001-01-01: the engine starts it there. (The wire may instead refuse
    such a date, naming the field; it must never fail inside.)"""
    answer = periodic.client().call("3101", request_3101([order("O1", "EX-DRUG-A", "6", "60.00",
                                                                drord_begn_date="0001-01-01")]))
    if answer["infcode"] == 0:
        assert {r["rule_id"] for r in answer["output"]["result"]} == {"R-QTY", "R-PER"}
    else:
        assert answer["err_msg"].startswith("input.data.patient_dtos[0].fsi_encounter_dtos[0].fsi_order_dtos[0]"
                                            ".drord_begn_date:"), answer["err_msg"]


def _encounter(mdtrt_id: str, orders: list[dict[str, Any]]) -> dict[str, Any]:
    return {"mdtrt_id": mdtrt_id, "adm_date": "2026-03-16", "adm_dept_codg": "D01", "fsi_order_dtos": orders}


def _many(n: int, prefix: str = "O") -> list[dict[str, Any]]:
    return [{"rx_id": f"{prefix}{i}", "hilist_code": "EX-DRUG-A", "cnt": "1", "sumamt": "10.00",
             "drord_begn_date": "2026-03-16"} for i in range(n)]


def test_3101_judges_a_thousand_orders_and_refuses_more_naming_the_field(periodic: Platform) -> None:
    """At most 1,000 orders a message (a long stay is sent in parts): a message holding more is refused before any
    rule is applied, naming the list that is too long."""
    his = periodic.client()
    result = his.ok("3101", request_3101(_many(1000)))["result"]
    period = [r for r in result if r["rule_id"] == "R-PER"]
    assert len(period) == 995  # the 6th unit on is past 5 in 30 days
    assert [d["vola_item_type"] for d in period[0]["judge_result_detail_dtos"]] == ["1", "2", "2", "2", "2", "2"]

    before = snapshot(periodic.store)
    too_long = his.call("3101", request_3101(_many(1001)))
    assert too_long["infcode"] == -1 and too_long["err_msg"].startswith(
        "input.data.patient_dtos[0].fsi_encounter_dtos[0].fsi_order_dtos:"), too_long["err_msg"]
    two = request_3101([])
    two["data"]["patient_dtos"][0]["fsi_encounter_dtos"] = [_encounter("M1", _many(600)),
                                                            _encounter("M2", _many(600))]
    too_many = his.call("3101", two)
    assert too_many["infcode"] == -1 and too_many["err_msg"].startswith("input.data.patient_dtos:"), too_many
    assert "1200 orders" in too_many["err_msg"] and "1000" in too_many["err_msg"]
    assert snapshot(periodic.store) == before


def test_3101_refuses_an_answer_too_long_to_send(periodic: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    """However the rules are set, an answer holds a bounded number of results: past it the message is refused
    (nothing kept) and the HIS sends its orders in smaller parts."""
    from yibao.platform import analysis

    monkeypatch.setattr(analysis, "MAX_RESULTS", 3)
    periodic.client().sign_no()  # a sign-in (which writes) before the snapshot, though 3101 needs none
    before = snapshot(periodic.store)
    answer = periodic.client().call("3101", request_3101(_many(10)))
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("input.data.patient_dtos:"), answer
    assert "more than 3" in answer["err_msg"]
    assert snapshot(periodic.store) == before
    monkeypatch.setattr(analysis, "MAX_RESULTS", 2000)
    monkeypatch.setattr(analysis, "MAX_DETAILS", 20)
    answer = periodic.client().call("3101", request_3101(_many(10)))
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("input.data.patient_dtos:"), answer
    assert snapshot(periodic.store) == before


def test_3101_tells_a_period_rule_broken_but_not_the_person_s_quantities_elsewhere(periodic: Platform) -> None:
    """张三 had 7 of drug A at the Guangzhou hospital yesterday; Shenzhen's order of 1 more breaks the 30-day limit
    of 5, and the answer says so without telling Shenzhen what he had in Guangzhou."""
    gz, cert = periodic.client(GZ_HOSPITAL), {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440301199001011234"}
    mdtrt_id = gz.ok("2201", {"data": {"psn_no": SZ_PSN, "insutype": "310", "begntime": "2026-03-15 09:00:00",
                                       **cert, "ipt_otp_no": "OTP-GZ-1", "dept_code": "D01", "dept_name": "内科"}},
                     "440300")["data"]["mdtrt_id"]
    gz.ok("2204", {"feedetail": [{
        "feedetl_sn": "GZ-1", "mdtrt_id": mdtrt_id, "psn_no": SZ_PSN, "chrg_bchno": "GZ-B1",
        "fee_ocur_time": "2026-03-15 09:30:00", "med_list_codg": "EX-DRUG-A", "medins_list_codg": "H-EX-DRUG-A",
        "det_item_fee_sumamt": "70.00", "cnt": "7", "pric": "10.00", "bilg_dept_codg": "D01",
        "hosp_appr_flag": "0"}]}, "440300")

    [found] = periodic.client().ok("3101", request_3101([order("O1", "EX-DRUG-A", "1", "10.00")]))["result"]
    assert (found["rule_id"], Decimal(str(found["vola_amt"]))) == ("R-PER", Decimal("10.00"))
    assert found["vola_evid"] == "30日内数量超过5" and found["vola_cont"] == "药品甲30日限5: 30日内数量超过5"


def test_a_rule_made_twice_at_once_is_made_once_and_the_other_is_refused_naming_rule_id(ruled: Platform) -> None:
    """Another request makes R-KID and has not committed yet when the agency's POST of R-KID arrives: the POST waits
    for it and is refused as a duplicate (never an internal error)."""
    http, sz = ruled.http, auth(ruled.store, "agency", "440300")
    new = {"rule_id": "R-KID", "kind": "age", "severity": "2", "message": "儿童用药",
           "params": {"codes": ["EX-DRUG-A"], "max_age": 14}}
    reply: list[Any] = []
    with ruled.store.unit_of_work() as s:
        s.add(AnalysisRule(admdvs="440300", rule_id="R-KID", name="R-KID", kind="age", severity="2",
                           message="other", params=new["params"], source="api", active=True,
                           created_at=datetime(2026, 3, 16, 9, 0)))
        s.flush()
        post = threading.Thread(target=lambda: reply.append(
            http.post("/api/v1/agency/analysis-rules", headers=sz, json=new)))
        post.start()
        post.join(1.5)  # the POST is now waiting for this transaction (PostgreSQL: on the row; SQLite: to begin)
    post.join(60)
    [answer] = reply
    assert answer.status_code == 422 and answer.json()["detail"].startswith("rule_id: R-KID is already a rule")
    listed = http.get("/api/v1/agency/analysis-rules", headers=sz).json()
    assert [r["message"] for r in listed if r["rule_id"] == "R-KID"] == ["other"]
