"""The analysis rules in the agency's monthly review (docs/analysis.md), on SQLite and PostgreSQL: 张三's three
March visits at the Shenzhen hospital are settled over the wire, declared on April 2, and reviewed on April 11.
The rules flag a line of each; the clerk turns one into a rejection, one into a deduction and dismisses the third,
and the approved amount and the allocation plan reflect exactly what the clerk decided."""

from __future__ import annotations

import copy
import itertools
import threading
from decimal import Decimal
from typing import Any

import pytest
import yaml
from helpers import WORLD, Platform, snapshot

from yibao.api.tokens import issue, signing_key
from yibao.dataset.loader import load_document

PSN, CERTNO, HOSPITAL = "44030000000000000001", "440301199001011234", "H44030000001"
DAY = "2026-03-16"
RULES = [
    {"rule_id": "R-QTY", "kind": "qty_per_visit", "severity": "1", "message": "药品甲单次就诊限2",
     "params": {"codes": ["EX-DRUG-A"], "max_qty": "2"}},
    {"rule_id": "R-DUP", "kind": "duplicate", "severity": "2", "message": "同日重复收费", "params": {}},
]
_serial = itertools.count(1)


@pytest.fixture
def ruled(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Platform:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    doc = copy.deepcopy(yaml.safe_load(WORLD.read_text(encoding="utf-8")))
    doc["regions"][0]["analysis_rules"] = RULES
    doc["regions"][0]["catalog"][1]["lmt_cond"] = {"dise_prefixes": ["E11"]}  # drug B only for diabetes
    load_document(platform.store, doc)
    return platform


def settle(platform: Platform, items: list[tuple[str, str, str]]) -> dict[str, Any]:
    """2201, 2203, 2204 and 2207 of one outpatient visit of 张三: the 2207 setlinfo."""
    his, n = platform.client(), next(_serial)
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO}
    mdtrt_id = his.ok("2201", {"data": {"psn_no": PSN, "insutype": "310", "begntime": f"{DAY} 09:00:00", **cert,
                                        "ipt_otp_no": f"OTP-RS{n}", "dept_code": "D01", "dept_name": "内科"}},
                      )["data"]["mdtrt_id"]
    his.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": PSN, "med_type": "11", "begntime": f"{DAY} 09:00:00",
                                  "dise_codg": "I10", "dise_name": "高血压"}, "diseinfo": []})
    batch = f"RS{n}"
    lines = [{"feedetl_sn": f"{batch}-{i}", "mdtrt_id": mdtrt_id, "psn_no": PSN, "chrg_bchno": batch,
              "fee_ocur_time": f"{DAY} 09:30:00", "med_list_codg": code, "medins_list_codg": "H-" + code,
              "det_item_fee_sumamt": str(Decimal(pric) * Decimal(cnt)), "cnt": cnt, "pric": pric,
              "bilg_dept_codg": "D01", "hosp_appr_flag": "0"} for i, (code, pric, cnt) in enumerate(items, 1)]
    result = his.ok("2204", {"feedetail": lines})["result"]

    def total(key: str) -> str:
        return str(sum((Decimal(str(r[key])) for r in result), Decimal("0.00")))

    return his.ok("2207", {"data": {
        "psn_no": PSN, **cert, "med_type": "11", "medfee_sumamt": total("det_item_fee_sumamt"), "psn_setlway": "01",
        "mdtrt_id": mdtrt_id, "chrg_bchno": batch, "acct_used_flag": "1", "insutype": "310",
        "fulamt_ownpay_amt": total("fulamt_ownpay_amt"), "overlmt_selfpay": total("overlmt_amt"),
        "preselfpay_amt": total("preselfpay_amt"), "inscp_scp_amt": total("inscp_scp_amt")}})["setlinfo"]


def asks(setl: dict[str, Any]) -> Decimal:
    """What a settlement asks of the platform: the fund and the account."""
    return Decimal(str(setl["fund_pay_sumamt"])) + Decimal(str(setl["acct_pay"]))


class Api:
    def __init__(self, platform: Platform):
        self.http, self.key = platform.http, signing_key(platform.store)

    def __call__(self, method: str, path: str, who: tuple[str, str], status: int, **kw: Any) -> Any:
        reply = self.http.request(method, "/api/v1" + path, json=kw or None,
                                  headers={"Authorization": f"Bearer {issue(self.key, *who)}"})
        assert reply.status_code == status, f"{method} {path}: {reply.status_code} {reply.text}"
        return reply.json() if reply.content else None


def test_flagged_lines_become_what_the_clerk_decides_and_the_allocation_follows(
        ruled: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    api, sz, gz = Api(ruled), ("agency", "440300"), ("agency", "440100")
    over = settle(ruled, [("EX-DRUG-A", "50.00", "3")])  # 3 of drug A, 2 allowed a visit
    twice = settle(ruled, [("EX-DRUG-A", "50.00", "1"), ("EX-DRUG-A", "50.00", "1")])  # charged twice a day
    drug_b = settle(ruled, [("EX-DRUG-B", "20.00", "1")])  # drug B for hypertension, not diabetes
    payable = asks(over) + asks(twice) + asks(drug_b)

    monkeypatch.setenv("YIBAO_TODAY", "2026-04-02")
    decl = api("POST", "/institution/declarations", ("institution", HOSPITAL), 201, setl_ym="2026-03")
    assert Decimal(str(decl["payable"])) == payable
    monkeypatch.setenv("YIBAO_TODAY", "2026-04-11")
    path = f"/agency/declarations/{decl['decl_id']}/suggestions"
    flagged = api("GET", path, sz, 200)
    by_rule = {s["rule_id"]: s for s in flagged}
    assert set(by_rule) == {"R-QTY", "R-DUP", "LMT-EX-DRUG-B"} and len(flagged) == 3
    assert (by_rule["R-QTY"]["setl_id"], by_rule["R-QTY"]["status"], Decimal(str(by_rule["R-QTY"]["vola_amt"]))) \
        == (over["setl_id"], "open", Decimal("50.00"))  # the third unit
    assert by_rule["R-DUP"]["setl_id"] == twice["setl_id"] and by_rule["R-DUP"]["feedetl_sn"].endswith("-2")
    assert by_rule["LMT-EX-DRUG-B"]["setl_id"] == drug_b["setl_id"] and by_rule["R-QTY"]["sev_deg"] == "1"
    assert api("GET", path, sz, 200) == flagged  # opening it again flags nothing twice
    assert api("GET", path, gz, 404)["detail"].startswith("decl_id: no declaration")  # not Guangzhou's

    # the clerk: reject the settlement with too much drug A, deduct the duplicate charge, dismiss drug B
    qty, dup, lmt = by_rule["R-QTY"]["id"], by_rule["R-DUP"]["id"], by_rule["LMT-EX-DRUG-B"]["id"]
    foreign = api("POST", f"/agency/suggestions/{qty}/accept", gz, 404, action="reject")
    assert foreign["detail"].startswith("suggestion_id: no suggestion")
    before = snapshot(ruled.store)
    assert api("POST", f"/agency/suggestions/{qty}/accept", sz, 422, action="approve")["errors"][0]["field"] \
        == "action"
    assert snapshot(ruled.store) == before
    rejected = api("POST", f"/agency/suggestions/{qty}/accept", sz, 200, action="reject", note="超量")
    assert (rejected["status"], rejected["action"]) == ("accepted", "reject") and rejected["rejection_id"]
    deducted = api("POST", f"/agency/suggestions/{dup}/accept", sz, 200, action="deduct")
    assert deducted["action"] == "deduct"
    dismissed = api("POST", f"/agency/suggestions/{lmt}/dismiss", sz, 200, note="诊断另有依据")
    assert (dismissed["status"], dismissed["note"]) == ("dismissed", "诊断另有依据")
    assert api("POST", f"/agency/suggestions/{lmt}/accept", sz, 422, action="reject")["detail"] \
        == f"suggestion_id: suggestion {lmt} is already dismissed"

    done = api("POST", f"/agency/declarations/{decl['decl_id']}/finish", sz, 200)
    rejected_amount, deducted_amount = asks(over), Decimal("50.00")
    assert (Decimal(str(done["rejected"])), Decimal(str(done["deducted"]))) == (rejected_amount, deducted_amount)
    assert Decimal(str(done["approved"])) == payable - rejected_amount - deducted_amount
    assert sum((Decimal(str(i["amount"])) for i in done["plan"]), Decimal("0")) == Decimal(str(done["approved"]))
    # the review is over: nothing more is decided on its suggestions, and none is added
    assert api("POST", f"/agency/suggestions/{dup}/dismiss", sz, 422)["detail"].endswith(
        "is reviewed: its review is finished")
    assert {s["rule_id"]: s["status"] for s in api("GET", path, sz, 200)} == {
        "R-QTY": "accepted", "R-DUP": "accepted", "LMT-EX-DRUG-B": "dismissed"}


def test_a_declaration_without_rules_has_no_suggestions(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    api = Api(platform)
    settle(platform, [("EX-DRUG-A", "50.00", "3")])
    monkeypatch.setenv("YIBAO_TODAY", "2026-04-02")
    decl = api("POST", "/institution/declarations", ("institution", HOSPITAL), 201, setl_ym="2026-03")
    assert api("GET", f"/agency/declarations/{decl['decl_id']}/suggestions", ("agency", "440300"), 200) == []
    assert api("GET", f"/agency/declarations/{decl['decl_id']}/suggestions", ("person", PSN), 403)


def test_two_clerks_opening_the_declaration_at_once_get_one_set_of_suggestions(
        ruled: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two clerks open the same declaration at the same moment: both are answered, and each flagged line is one
    suggestion. (Both requests are held until each has read what is already flagged, when they can be; the
    second then waits for the first.)"""
    from yibao.platform import analysis_review

    api, sz = Api(ruled), ("agency", "440300")
    settle(ruled, [("EX-DRUG-A", "50.00", "3")])
    settle(ruled, [("EX-DRUG-A", "50.00", "1"), ("EX-DRUG-A", "50.00", "1")])
    monkeypatch.setenv("YIBAO_TODAY", "2026-04-02")
    decl = api("POST", "/institution/declarations", ("institution", HOSPITAL), 201, setl_ym="2026-03")
    monkeypatch.setenv("YIBAO_TODAY", "2026-04-11")

    together = threading.Barrier(2)
    history_of = analysis_review.history_of

    def held(*args: Any) -> Any:
        try:
            together.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass  # the other request is waiting for this one
        return history_of(*args)

    monkeypatch.setattr(analysis_review, "history_of", held)
    path = f"/api/v1/agency/declarations/{decl['decl_id']}/suggestions"
    headers = {"Authorization": f"Bearer {issue(signing_key(ruled.store), *sz)}"}
    replies: list[Any] = [None, None]

    def open_it(i: int) -> None:
        replies[i] = ruled.http.get(path, headers=headers)

    threads = [threading.Thread(target=open_it, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [r.status_code for r in replies] == [200, 200], [r.text for r in replies]
    first, second = (r.json() for r in replies)
    assert first == second and sorted(s["rule_id"] for s in first) == ["R-DUP", "R-QTY"]
    monkeypatch.undo()
    assert api("GET", path[len("/api/v1"):], sz, 200) == first
