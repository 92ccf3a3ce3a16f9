"""The agencies' duties of 揭阳 揭医保〔2021〕82号 (forwarding 粤医保规〔2021〕4号), through the JSON API with bearer
tokens and through the CLI, on SQLite and PostgreSQL: the centre's view of suspensions (art. 29), agreement
changes reported late (art. 21), complaints (art. 28) and region switches changed from a date (art. 38).
违约金 (art. 30) is in tests/test_damages.py, over the monthly cycle's world."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import yaml
from helpers import WORLD, Platform, snapshot
from test_registry import GZ_PSN, SZ_PSN, settle
from typer.testing import CliRunner

from yibao.api.tokens import issue, signing_key
from yibao.cli import app as cli_app
from yibao.dataset.loader import load_document

SZ, GZ = "440300", "440100"
SZ_H = "H44030000001"  # the Shenzhen hospital; GZ_PSN (insured in Guangzhou) is treated there
EPIDEMIC = "epidemic_outpatient"


class World(Platform):
    """test_registry's world with Guangzhou's preset epidemic outpatient benefit (switch off, fund pays all)."""

    def __init__(self, store, monkeypatch):
        doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
        gz = doc["regions"][1]
        ordinary = {"insutype": "310", "med_types": ["11"], "bucket": "outpatient", "deductible": "0.00",
                    "ratio": "0.70", "annual_cap": "3000.00", "acct_scope": "all", "hosp_lv": ["3"]}
        gz["policies"] += [ordinary, {**ordinary, "ratio": "1.00", "switch": EPIDEMIC}]
        gz["switches"] = [{"name": EPIDEMIC, "on": False}]
        load_document(store, doc)
        super().__init__(store)
        self.mp = monkeypatch
        self.on("2026-03-16")
        self.mp.setenv("YIBAO_DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
        key = signing_key(store)
        self.auth = {(kind, who): {"Authorization": "Bearer " + issue(key, kind, who)}
                     for kind, who in (("agency", SZ), ("agency", GZ), ("centre", "440000"), ("centre", "140000"),
                                       ("person", GZ_PSN), ("person", SZ_PSN))}

    def on(self, day: str) -> None:
        self.mp.setenv("YIBAO_TODAY", day)

    def call(self, method: str, path: str, who: tuple[str, str], status: int, **kw):
        reply = self.http.request(method, "/api/v1" + path, headers=self.auth[who], **kw)
        assert reply.status_code == status, f"{method} {path}: {reply.status_code} {reply.text}"
        return reply.json() if reply.content else None

    def refused(self, method: str, path: str, who: tuple[str, str], **kw) -> str:
        """Refused by a rule (422), writing nothing; the message."""
        before = snapshot(self.store)
        detail = self.call(method, path, who, 422, **kw)["detail"]
        assert snapshot(self.store) == before
        return str(detail)

    def cli(self, *args: str, code: int = 0):
        result = CliRunner().invoke(cli_app, list(args))
        assert result.exit_code == code, result.output
        return json.loads(result.stdout) if code == 0 and result.stdout.lstrip().startswith(("[", "{")) else result


@pytest.fixture
def world(store, monkeypatch) -> World:
    return World(store, monkeypatch)


def agency(admdvs: str) -> tuple[str, str]:
    return ("agency", admdvs)


def centre(province: str) -> tuple[str, str]:
    return ("centre", province)


def person(psn_no: str) -> tuple[str, str]:
    return ("person", psn_no)


# -- art. 29: suspensions reported to the provincial centre ------------------------------------------------------

def test_the_centre_sees_every_suspension_of_its_province_with_who_when_and_why(world: World) -> None:
    """揭医保〔2021〕82号 (粤医保规〔2021〕4号) art. 29: the treatment region's agency suspends the direct settlement
    of a person with serious violations and reports it to the provincial centre, which coordinates with the
    insured region: the centre lists the suspension (API and CLI), another province's centre does not."""
    made = world.call("POST", "/agency/suspensions", agency(SZ), 201, json={"psn_no": GZ_PSN, "reason": "冒名就医"})
    seen = world.call("GET", "/centre/suspensions", centre("440000"), 200)
    assert [(s["id"], s["psn_no"], s["insured_admdvs"], s["suspended_by"], s["reason"], s["active"])
            for s in seen] == [(made["id"], GZ_PSN, GZ, SZ, "冒名就医", True)]
    assert seen[0]["since"].startswith("2026-03-16")
    assert world.call("GET", "/centre/suspensions", centre("140000"), 200) == []
    world.call("GET", "/centre/suspensions", agency(SZ), 403)  # the centre's own view

    world.call("POST", f"/agency/suspensions/{made['id']}/lift", agency(SZ), 200, json={"reason": "核查后恢复"})
    assert world.call("GET", "/centre/suspensions", centre("440000"), 200, params={"active": True}) == []
    by_cli = world.cli("centre", "suspensions", "440000")
    assert [(s["psn_no"], s["active"], s["lifted_reason"]) for s in by_cli] == [(GZ_PSN, False, "核查后恢复")]


# -- art. 21: agreement changes reported within 10 working days --------------------------------------------------

def test_agreement_changes_reported_after_10_working_days_are_listed_late_for_the_centre(world: World) -> None:
    """揭医保〔2021〕82号 (粤医保规〔2021〕4号) art. 21: a suspension, resumption, end or new service of an
    institution's agreement is reported to the provincial centre within 10 working days. Reported on Monday
    2026-03-16: a suspension effective Sunday 2026-03-01 was due by Friday 03-13 (late, 3 days); a resumption
    effective Monday 03-02 was due by 03-16 itself (in time)."""
    path = f"/agency/institutions/{SZ_H}/agreement"
    late = world.call("POST", path, agency(SZ), 201, json={"change": "suspended", "effective": "2026-03-01"})
    world.call("POST", path, agency(SZ), 201, json={"change": "resumed", "effective": "2026-03-02"})
    every = world.call("GET", "/centre/agreement-changes", centre("440000"), 200)
    assert [(c["change"], c["effective"], c["deadline"], c["late"], c["days_late"]) for c in every] == [
        ("suspended", "2026-03-01", "2026-03-13", True, 3), ("resumed", "2026-03-02", "2026-03-16", False, 0)]
    assert every[0]["recorded_at"].startswith("2026-03-16") and every[0]["reported_by"] == SZ
    listed = world.call("GET", "/centre/agreement-changes", centre("440000"), 200, params={"late": True})
    assert [c["id"] for c in listed] == [late["id"]]
    assert world.call("GET", "/centre/agreement-changes", centre("140000"), 200) == []
    world.call("GET", "/centre/agreement-changes", agency(SZ), 403)
    assert [c["id"] for c in world.cli("centre", "agreement-changes", "440000", "--late")] == [late["id"]]


# -- art. 28: complaints -------------------------------------------------------------------------------------------

def test_a_complaint_is_accepted_answered_seen_by_the_patient_and_a_serious_one_reported_up(world: World) -> None:
    """揭医保〔2021〕82号 (粤医保规〔2021〕4号) art. 28: the treatment region's agency keeps a complaint channel for
    cross-region patients, accepts complaints and tells the result to the complainant; serious violations
    found are reported up. Each sees his own: the patient his complaints, the agency those about its
    region's institutions, the centre the serious violations reported."""
    settled = settle(world, GZ_PSN, GZ, "C1")
    assert settled["infcode"] == 0, settled
    setl_id = settled["output"]["setlinfo"]["setl_id"]
    filed = world.call("POST", "/me/complaints", person(GZ_PSN), 201,
                       json={"setl_id": setl_id, "content": "收费与清单不符"})
    assert (filed["fixmedins_code"], filed["treatment_admdvs"], filed["status"], filed["deadline"]) == (
        SZ_H, SZ, "filed", "2026-03-30")  # 10 working days after Monday 2026-03-16
    # the rules of filing
    assert world.refused("POST", "/me/complaints", person(SZ_PSN), json={"setl_id": setl_id, "content": "x"}) == (
        f"setl_id: {setl_id} is not a settlement of yours")
    assert world.refused("POST", "/me/complaints", person(SZ_PSN), json={"fixmedins_code": SZ_H, "content": "x"}
                         ).startswith(f"fixmedins_code: {SZ_H} is in your insured region 440300")
    assert world.refused("POST", "/me/complaints", person(GZ_PSN), json={"content": "x"}).startswith(
        "fixmedins_code: a complaint names the institution")
    other = world.call("POST", "/me/complaints", person(GZ_PSN), 201, json={"fixmedins_code": SZ_H,
                                                                             "content": "候诊时间过长"})
    # who sees what
    assert world.call("GET", "/me/complaints", person(SZ_PSN), 200) == []
    assert world.call("GET", "/agency/complaints", agency(GZ), 200) == []
    assert [c["id"] for c in world.call("GET", "/agency/complaints", agency(SZ), 200)] == [filed["id"], other["id"]]
    world.call("POST", f"/agency/complaints/{filed['id']}/accept", agency(GZ), 404)
    world.call("GET", "/agency/complaints", person(GZ_PSN), 403)

    # handled: accepted, answered with a serious violation found
    assert world.refused("POST", f"/agency/complaints/{filed['id']}/answer", agency(SZ),
                         json={"answer": "x"}).endswith("is filed: accept it first")
    world.call("POST", f"/agency/complaints/{filed['id']}/accept", agency(SZ), 200)
    world.on("2026-03-20")
    answered = world.call("POST", f"/agency/complaints/{filed['id']}/answer", agency(SZ), 200,
                          json={"answer": "查实串换收费，已按协议处理", "serious_violation": True})
    assert (answered["status"], answered["serious_violation"], answered["reported_at"][:10]) == (
        "answered", True, "2026-03-20")
    mine = world.call("GET", "/me/complaints", person(GZ_PSN), 200)
    assert [(c["id"], c["status"], c["answer"]) for c in mine] == [
        (filed["id"], "answered", "查实串换收费，已按协议处理"), (other["id"], "filed", None)]
    reported = world.call("GET", "/centre/complaints", centre("440000"), 200)
    assert [(c["id"], c["fixmedins_code"], c["answer"]) for c in reported] == [
        (filed["id"], SZ_H, "查实串换收费，已按协议处理")]
    assert world.call("GET", "/centre/complaints", centre("140000"), 200) == []

    # open past the deadline: listed as overdue from the day after it (API and CLI)
    world.on("2026-03-30")
    assert world.call("GET", "/agency/complaints", agency(SZ), 200, params={"overdue": True}) == []
    world.on("2026-03-31")
    overdue = world.call("GET", "/agency/complaints", agency(SZ), 200, params={"overdue": True})
    assert [(c["id"], c["overdue"]) for c in overdue] == [(other["id"], True)]
    assert [c["id"] for c in world.cli("complaint", "list", "--agency", SZ, "--overdue")] == [other["id"]]
    # the agency answers through the CLI too; the patient reads it
    world.cli("complaint", "accept", SZ, str(other["id"]))
    world.cli("complaint", "answer", SZ, str(other["id"]), "--answer", "已督促医院改进")
    assert [c["answer"] for c in world.cli("complaint", "list", "--person", GZ_PSN)] == [
        "查实串换收费，已按协议处理", "已督促医院改进"]
    assert [c["id"] for c in world.cli("centre", "complaints", "440000")] == [filed["id"]]


def test_the_complaint_deadline_is_a_region_setting_in_working_days(store, monkeypatch) -> None:
    """揭医保〔2021〕82号 (粤医保规〔2021〕4号) art. 28 "及时受理": `settings.complaint_answer_working_days` of the
    treatment region sets the deadline (3 working days after Monday 2026-03-16: Thursday 03-19)."""
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    doc["regions"][0].setdefault("settings", {})["complaint_answer_working_days"] = 3
    load_document(store, doc)
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-16")
    p = Platform(store)
    me = {"Authorization": "Bearer " + issue(signing_key(store), "person", GZ_PSN)}
    made = p.http.post("/api/v1/me/complaints", headers=me, json={"fixmedins_code": SZ_H, "content": "态度差"})
    assert made.status_code == 201 and made.json()["deadline"] == "2026-03-19"


# -- art. 38: switches changed by the agency from a date -----------------------------------------------------------

def test_a_switch_turned_on_from_a_date_applies_to_settlements_from_that_date(world: World) -> None:
    """揭医保〔2021〕82号 (粤医保规〔2021〕4号) art. 38: the preset epidemic outpatient benefit is switched on when
    policy says so. Guangzhou's agency turns it on from 2026-03-18 (recorded on 03-16 with who and why): a
    settlement on 03-16 keeps the ordinary 0.70, one on 03-18 is paid by the epidemic row at 1.00; turned off
    through the CLI from 03-20, a settlement that day is at 0.70 again."""
    before = settle(world, GZ_PSN, GZ, "S1")
    assert before["output"]["setlinfo"]["fund_pay_sumamt"] == Decimal("7.00"), before
    change = world.call("POST", f"/agency/switches/{EPIDEMIC}", agency(GZ), 201,
                        json={"on": True, "effective": "2026-03-18", "why": "省疫情防控指挥部通知"})
    assert (change["admdvs"], change["on"], change["effective"], change["changed_by"], change["why"]) == (
        GZ, True, "2026-03-18", f"agency:{GZ}", "省疫情防控指挥部通知")
    assert change["recorded_at"].startswith("2026-03-16")
    again = settle(world, GZ_PSN, GZ, "S2")  # the same day: the switch is not on yet
    assert again["output"]["setlinfo"]["fund_pay_sumamt"] == Decimal("7.00")
    state = world.call("GET", "/agency/switches", agency(GZ), 200, params={"on": "2026-03-18"})
    assert state["switches"] == {EPIDEMIC: True} and [c["id"] for c in state["changes"]] == [change["id"]]
    assert world.call("GET", "/agency/switches", agency(GZ), 200)["switches"] == {EPIDEMIC: False}

    world.on("2026-03-18")
    after = settle(world, GZ_PSN, GZ, "S3")
    assert after["output"]["setlinfo"]["fund_pay_sumamt"] == Decimal("10.00"), after

    # the rules of a change
    assert world.refused("POST", "/agency/switches/no_such", agency(GZ), json={
        "on": True, "effective": "2026-03-18", "why": "x"}).startswith("name: region 440100 has no switch 'no_such'")
    assert world.refused("POST", f"/agency/switches/{EPIDEMIC}", agency(GZ), json={
        "on": False, "effective": "2026-03-17", "why": "x"}).startswith("effective: a switch changes from today")
    world.call("POST", f"/agency/switches/{EPIDEMIC}", person(GZ_PSN), 403,
               json={"on": False, "effective": "2026-03-20", "why": "x"})
    assert world.refused("POST", f"/agency/switches/{EPIDEMIC}", agency(SZ), json={
        "on": False, "effective": "2026-03-20", "why": "x"}).startswith("name: region 440300 has no switch")

    off = world.cli("switch", "set", GZ, EPIDEMIC, "off", "--from", "2026-03-20", "--why", "疫情结束",
                    "--by", "张科长")
    assert (off["on"], off["changed_by"], off["effective"]) == (False, "张科长", "2026-03-20")
    assert settle(world, GZ_PSN, GZ, "S4")["output"]["setlinfo"]["fund_pay_sumamt"] == Decimal("10.00")
    world.on("2026-03-20")
    assert settle(world, GZ_PSN, GZ, "S5")["output"]["setlinfo"]["fund_pay_sumamt"] == Decimal("7.00")
    shown = world.cli("switch", "show", GZ, "--on", "2026-03-19")
    assert shown["switches"] == {EPIDEMIC: True} and [c["why"] for c in shown["changes"]] == [
        "省疫情防控指挥部通知", "疫情结束"]
