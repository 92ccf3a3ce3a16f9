"""Inpatient stays (2401, 2301, 2402, 2303, 2304, 2305) and retail pharmacy sales (2101, 2102, 2103) through the
hospital's API, staff only, and their slips (住院结算单 / 药店购药结算单) with mutual aid on its own line.

The platform and the hospital run in-process as in test_hospital.py; its dataset is reused and given inpatient
and pharmacy policies and a pharmacy institution here."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_hospital import AUTH_KEY, CHILD, EMPLOYEE, PARENT, PERSONS, SECRETS, SZ_HOSP, TODAY, TY_HOSP, bearer, dataset

from yibao.dataset.loader import load_document
from yibao.gateway.app import create_app
from yibao.hospital.api import create_hospital_app
from yibao.hospital.config import HospitalConfig
from yibao.hospital.db import KindSettlement
from yibao.hospital.insurance import loads
from yibao.hospital.service import Hospital
from yibao.store.db import Store
from yibao.store.models import Account, Settlement

D = Decimal
PHARMACY = "P44030000201"
FIGURES = ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")


def kinds_dataset() -> dict[str, Any]:
    doc = copy.deepcopy(dataset())
    sz, _gz, ty = doc["regions"]
    sz["policies"] += [
        {"insutype": "310", "med_types": ["21"], "bucket": "inpatient", "deductible": "300.00", "ratio": "0.90",
         "annual_cap": "200000.00", "acct_scope": "policy"},
        {"insutype": "310", "med_types": ["41"], "bucket": "pharmacy", "deductible": "0.00", "ratio": "0",
         "annual_cap": "0.00", "acct_scope": "all"}]
    ty["policies"] += [
        {"insutype": "390", "med_types": ["21"], "bucket": "inpatient", "deductible": "0.00", "ratio": "0.50",
         "annual_cap": "10000.00", "acct_scope": "all"}]
    doc["institutions"].append({"code": PHARMACY, "name": "深圳示例药店", "admdvs": "440300", "kind": "pharmacy",
                                "xregion": "provincial", "secret": "pharmacy-secret"})
    return doc


class Desk:
    def __init__(self, hospital: Hospital):
        self.hospital = hospital
        self.http = TestClient(create_hospital_app(hospital), headers=bearer("staff", "desk01"))

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 200, **kw: Any) -> Any:
        reply = self.http.post(path, json=body or {}, **kw)
        assert reply.status_code == expect, (path, reply.status_code, reply.text)
        return reply.json()

    def patient(self, psn_no: str) -> int:
        p = PERSONS[psn_no]
        body = {"name": p["name"], "certno": p["certno"], "mdtrt_cert_type": "02", "mdtrt_cert_no": p["certno"]}
        return int(self.post("/patients", body, 201)["patient_id"])

    def kept(self, no: str) -> KindSettlement:
        with self.hospital.db.session() as s:
            row = s.scalar(select(KindSettlement).where(KindSettlement.no == no))
            assert row is not None
            return row


class World:
    def __init__(self, store: Store, tmp: Path):
        self.store, self.tmp = store, tmp
        load_document(store, kinds_dataset())
        self.platform_http = TestClient(create_app(store))
        self.hospitals: list[Hospital] = []

    def desk(self, code: str = SZ_HOSP) -> Desk:
        secret, admdvs, name = SECRETS[code] if code in SECRETS else ("pharmacy-secret", "440300", "深圳示例药店")
        config = HospitalConfig(fixmedins_code=code, secret=secret, admdvs=admdvs, fixmedins_name=name,
                                database_url=f"sqlite:///{self.tmp / f'kinds-{code}-{len(self.hospitals)}.db'}",
                                platform_url="http://testserver", auth_key=AUTH_KEY)
        hospital = Hospital(config, platform_http=self.platform_http, channels={})
        self.hospitals.append(hospital)
        return Desk(hospital)

    def settlement(self, setl_id: str) -> Settlement:
        with self.store.unit_of_work() as s:
            row = s.get(Settlement, setl_id)
            assert row is not None
            return row

    def balance(self, psn_no: str) -> Decimal:
        with self.store.unit_of_work() as s:
            acct = s.get(Account, psn_no)
            assert acct is not None
            return acct.balance


@pytest.fixture
def world(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("YIBAO_TODAY", TODAY)
    w = World(store, tmp_path)
    yield w
    for h in w.hospitals:
        h.close()


def same_as_platform(world: World, desk: Desk, done: dict[str, Any]) -> dict[str, Any]:
    """The answer's figures, the kept settlement output and the platform's settlement agree."""
    row = desk.kept(done["no"])
    info = loads(row.out_settle)["setlinfo"]
    platform = world.settlement(done["setl_id"])
    for key in FIGURES:
        assert D(done["insurance"][key]) == info[key] == getattr(platform, key), key
    assert D(done["total"]) == platform.medfee_sumamt
    assert D(done["cash"]["amount"]) == platform.psn_cash_pay and done["cash"]["status"] == "paid at the desk"
    return dict(info)


def slip_shows(desk: Desk, setl_id: str, info: dict[str, Any], title: str) -> str:
    html = desk.http.get(f"/slips/{setl_id}.html").text
    assert title in html
    for label, key in (("医疗费总额", "medfee_sumamt"), ("基金支付总额", "fund_pay_sumamt"),
                       ("个人账户支付", "acct_pay"), ("其中：个人账户共济支付", "acct_mulaid_pay"),
                       ("个人现金支付", "psn_cash_pay")):
        assert f"<th>{label}</th><td class=\"amount\">{info[key]:.2f}</td>" in html, label
    pdf = desk.http.get(f"/slips/{setl_id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"STSong-Light" in pdf.content
    return html


def test_an_inpatient_stay_settled_slipped_and_cancelled(world: World) -> None:
    desk = world.desk()
    pid = desk.patient(EMPLOYEE)
    stay = desk.post("/inpatient/stays", {"patient_id": pid, "begntime": "2026-03-10T08:00:00",
                                          "adm_dept_codg": "W1"}, 201)
    assert stay["status"] == "admitted" and stay["mdtrt_id"]
    no = stay["no"]
    up = desk.post(f"/inpatient/stays/{no}/fees", {"lines": [
        {"med_list_codg": "EX-DRUG-A", "name": "药品甲", "pric": "10.00", "cnt": "200"},
        {"med_list_codg": "EX-ITEM-C", "name": "项目丙", "pric": "50.00", "cnt": "2"}]})
    first = up["lines"][0]["feedetl_sn"]
    up = desk.post(f"/inpatient/stays/{no}/fees", {"lines": [
        {"med_list_codg": "EX-DRUG-A", "name": "药品甲退", "pric": "10.00", "cnt": "-20", "init_feedetl_sn": first}]})
    assert up["total"] == "1900.00" and len(up["lines"]) == 3
    row = desk.kept(no)
    assert len(row.outs_2301) == 2 and loads(row.outs_2301[0])["result"][1]["fulamt_ownpay_amt"] == D("100.00")

    done = desk.post(f"/inpatient/stays/{no}/settle", {"endtime": "2026-03-15T10:00:00"})
    assert done["status"] == "settled", done
    info = same_as_platform(world, desk, done)
    # deductible 300, ratio 0.90: hifp 1350.00; the account (12.00) within the policy scope, cash the rest
    assert (info["hifp_pay"], info["acct_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"]) == (
        D("1350.00"), D("12.00"), D("0.00"), D("538.00"))
    assert loads(desk.kept(no).out_pre)["setlinfo"]["hifp_pay"] == D("1350.00")  # 2303 kept too
    assert world.balance(EMPLOYEE) == D("0.00")
    html = slip_shows(desk, done["setl_id"], info, "住院结算单")
    assert "药品甲退" in html and "门诊医保结算单" not in html
    desk.post(f"/inpatient/stays/{no}/settle", {}, 409)  # settled once

    back = desk.post(f"/inpatient/stays/{no}/cancel")
    assert back["status"] == "cancelled" and loads(desk.kept(no).out_cancel)["setlinfo"]
    assert world.settlement(done["setl_id"]).status == "cancelled"
    assert world.balance(EMPLOYEE) == D("12.00")
    assert "已撤销" in desk.http.get(f"/slips/{done['setl_id']}.html").text
    desk.post(f"/inpatient/stays/{no}/cancel", {}, 409)


def test_an_inpatient_stay_paid_by_family_mutual_aid(world: World) -> None:
    desk = world.desk(TY_HOSP)
    child = desk.patient(CHILD)
    no = desk.post("/inpatient/stays", {"patient_id": child}, 201)["no"]
    desk.post(f"/inpatient/stays/{no}/fees", {"lines": [{"med_list_codg": "EX-DRUG-A", "pric": "100.00",
                                                         "cnt": "2"}]})
    done = desk.post(f"/inpatient/stays/{no}/settle", {"acct_used_flag": "1"})
    info = same_as_platform(world, desk, done)
    assert info["acct_mulaid_pay"] > 0
    assert (info["medfee_sumamt"], info["hifp_pay"], info["acct_pay"], info["acct_mulaid_pay"],
            info["psn_cash_pay"]) == (D("200.00"), D("100.00"), D("100.00"), D("100.00"), D("0.00"))
    assert world.balance(PARENT) == D("2900.00")
    slip_shows(desk, done["setl_id"], info, "住院结算单")
    desk.post(f"/inpatient/stays/{no}/cancel")
    assert world.balance(PARENT) == D("3000.00")


def test_a_pharmacy_sale_settled_slipped_and_cancelled(world: World) -> None:
    desk = world.desk(PHARMACY)
    pid = desk.patient(EMPLOYEE)
    sale = desk.post("/pharmacy/sales", {"patient_id": pid, "lines": [
        {"med_list_codg": "EX-DRUG-A", "name": "药品甲", "pric": "20.00", "cnt": "3"},
        {"med_list_codg": "EX-DRUG-B", "name": "药品乙", "pric": "120.00", "cnt": "1"}]}, 201)
    assert sale["status"] == "settled", sale
    info = same_as_platform(world, desk, sale)
    assert (info["medfee_sumamt"], info["fund_pay_sumamt"], info["acct_pay"], info["psn_cash_pay"]) == (
        D("180.00"), D("0.00"), D("12.00"), D("168.00"))
    row = desk.kept(sale["no"])
    assert loads(row.out_pre)["setlinfo"]["mdtrt_id"] == "" and loads(row.out_settle)["detlcutinfo"]
    html = slip_shows(desk, sale["setl_id"], info, "药店购药结算单")
    assert "药品乙" in html
    back = desk.post(f"/pharmacy/sales/{sale['no']}/cancel")
    assert back["status"] == "cancelled" and loads(desk.kept(sale["no"]).out_cancel)["setlinfo"]
    assert world.settlement(sale["setl_id"]).status == "cancelled"
    assert world.balance(EMPLOYEE) == D("12.00")
    assert "已撤销" in desk.http.get(f"/slips/{sale['setl_id']}.html").text
    desk.post(f"/pharmacy/sales/{sale['no']}/cancel", {}, 409)


def test_the_new_kinds_are_for_staff_only(world: World) -> None:
    desk = world.desk()
    pid = desk.patient(EMPLOYEE)
    phone = bearer("patient", pid)
    assert desk.http.post("/inpatient/stays", json={"patient_id": pid}, headers=phone).status_code == 403
    assert desk.http.post("/pharmacy/sales", json={"patient_id": pid, "lines": [
        {"med_list_codg": "EX-DRUG-A", "pric": "1", "cnt": "1"}]}, headers=phone).status_code == 403
    desk.post("/inpatient/stays/NOSUCH/settle", {}, 404)
