"""Reimbursement coordination (零星报销协办, seed 004 art. 17-18): Chinese working-day deadlines, the request
from the insured region, the dispatch by the treatment region, the institution's upload (2560) computed by
the cross-region rules under the policy in force on the day of computation, payment, and the overdue list."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import chinese_calendar
import pytest
import yaml
from helpers import WORLD, Platform
from sqlalchemy import select

from yibao.api.tokens import issue, signing_key
from yibao.dataset.loader import load_document
from yibao.rules.calendar import CalendarUnknown, YearDays, overdue, working_days_after
from yibao.store.models import (
    Account,
    AccountEntry,
    BankInstruction,
    CalendarYear,
    CoordinationRequest,
    FeeDetail,
    Settlement,
)

GZ_PSN = "44010000000000000001"  # insured in Guangzhou (employee, account 4200.00)
SZ_HOSP = "H44030000001"  # Shenzhen, level 3, national qualification
GZ_HOSP = "H44010000001"
D = date.fromisoformat


# -- the calendar (pure) ---------------------------------------------------------------------------------

def test_the_package_knows_national_day_2025_and_spring_festival_2026():
    # National Day and Mid-autumn 2025: Oct 1-8 off; Sunday Sep 28 and Saturday Oct 11 are working days
    assert [chinese_calendar.is_workday(D(f"2025-10-{d:02d}")) for d in range(1, 9)] == [False] * 8
    assert chinese_calendar.is_workday(D("2025-09-28")) and chinese_calendar.is_workday(D("2025-10-11"))
    assert not chinese_calendar.is_workday(D("2025-09-27"))  # an ordinary Saturday
    # Spring Festival 2026: Feb 15-23 off; Saturdays Feb 14 and Feb 28 are working days
    assert [chinese_calendar.is_workday(D(f"2026-02-{d}")) for d in range(15, 24)] == [False] * 9
    assert chinese_calendar.is_workday(D("2026-02-14")) and chinese_calendar.is_workday(D("2026-02-28"))


@pytest.mark.parametrize(("start", "n", "expected"), [
    ("2025-09-26", 3, "2025-09-30"),  # Fri: Sun 28 (adjusted), Mon 29, Tue 30
    ("2025-09-30", 3, "2025-10-11"),  # the holiday: Thu Oct 9, Fri 10, Sat 11 (adjusted)
    ("2025-09-30", 1, "2025-10-09"),
    ("2025-09-29", 5, "2025-10-13"),  # Sep 30, Oct 9, 10, 11, 13
    ("2025-10-09", 5, "2025-10-15"),  # Oct 10, 11, 13, 14, 15
    ("2025-09-27", 1, "2025-09-28"),  # a request on a Saturday: the adjusted Sunday is the first working day
    ("2025-10-03", 3, "2025-10-11"),  # filed during the holiday
    ("2026-02-12", 3, "2026-02-24"),  # Thu: Fri 13, Sat 14 (adjusted), then Tue 24 after the Spring Festival
    ("2026-02-13", 5, "2026-02-27"),  # Sat 14, Tue 24, 25, 26, 27
    ("2026-02-24", 5, "2026-03-02"),  # 25, 26, 27, Sat 28 (adjusted), Mon Mar 2
    ("2026-03-13", 3, "2026-03-18"),  # an ordinary week: weekend skipped
    ("2026-03-13", 0, "2026-03-13"),
])
def test_working_days_after(start, n, expected):
    assert working_days_after(D(start), n) == D(expected)


def test_a_year_the_calendar_does_not_know_is_refused_not_guessed():
    with pytest.raises(CalendarUnknown, match="no working-day calendar for the year 2027") as refused:
        working_days_after(D("2026-12-30"), 3)
    assert "calendar section" in str(refused.value)


#: a made-up year (no real calendar is claimed): National Day Oct 1-7, Sunday Sep 28 and Saturday Oct 11 worked
YEAR_2031 = YearDays(holidays=frozenset(D(f"2031-10-{d:02d}") for d in range(1, 8)),
                     workdays=frozenset({D("2031-09-28"), D("2031-10-11")}))


def test_a_loaded_year_is_used_and_wins_over_the_package():
    assert working_days_after(D("2031-09-26"), 3, {2031: YEAR_2031}) == D("2031-09-30")
    assert working_days_after(D("2031-09-30"), 5, {2031: YEAR_2031}) == D("2031-10-13")
    # a loaded 2025 without holidays replaces the package's National Day 2025
    assert working_days_after(D("2025-09-30"), 3, {2025: YearDays()}) == D("2025-10-03")
    with pytest.raises(CalendarUnknown, match="2032"):
        working_days_after(D("2031-12-30"), 3, {2031: YEAR_2031})


def test_overdue_counts_calendar_days_past_the_end_of_the_deadline_day():
    deadline = D("2025-09-30")
    assert overdue(deadline, None, D("2025-09-30")) is None
    assert overdue(deadline, None, D("2025-10-01")) == 1
    assert overdue(deadline, None, D("2025-10-09")) == 9
    assert overdue(deadline, datetime(2025, 9, 29, 16, 0), D("2025-10-20")) is None  # done in time
    assert overdue(deadline, datetime(2025, 10, 9, 9, 0), D("2025-10-20")) == 9  # done late: frozen
    assert overdue(deadline, D("2025-09-30"), D("2025-10-20")) is None


# -- the world ---------------------------------------------------------------------------------------------

@pytest.fixture
def co(store, monkeypatch):
    """Guangzhou's outpatient policy changed on 2025-10-01 (ratio 0.70, no deductible, before; 0.75 after a
    50.00 deductible): a September visit computed in October is paid under October's policy (art. 18)."""
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    gz = doc["regions"][1]
    gz["policies"][0]["to"] = "2025-09-30"
    gz["policies"].append({"insutype": "310", "med_types": ["11"], "bucket": "outpatient", "deductible": "50.00",
                           "ratio": "0.75", "annual_cap": "3000.00", "acct_scope": "policy", "from": "2025-10-01"})
    load_document(store, doc)
    p = Platform(store)
    key = signing_key(store)
    p.gz, p.sz, p.ty = ({"Authorization": "Bearer " + issue(key, "agency", r)} for r in ("440100", "440300", "140100"))
    p.monkeypatch = monkeypatch
    return p


def on(p, day: str) -> None:
    p.monkeypatch.setenv("YIBAO_TODAY", day)


def file(p, begndate="2025-09-20", enddate="2025-09-20", psn_no=GZ_PSN, code=SZ_HOSP, headers=None):
    return p.http.post("/api/v1/agency/coordination", headers=headers or p.gz,
                       json={"psn_no": psn_no, "fixmedins_code": code, "begndate": begndate, "enddate": enddate,
                             "memo": "门诊费用零星报销"})


def late(p, headers) -> list[tuple]:
    reply = p.http.get("/api/v1/agency/coordination/overdue", headers=headers)
    assert reply.status_code == 200, reply.text
    return [(x["id"], x["step"], x["deadline"], x["done_on"], x["days_late"]) for x in reply.json()["late"]]


LINES = [  # rules.md worked example A's lines, by the Shenzhen catalog
    {"feedetl_sn": "1", "fee_ocur_time": "2025-09-20 09:10:00", "med_list_codg": "EX-DRUG-A",
     "det_item_fee_sumamt": "100.00", "cnt": "2", "pric": "50.00"},
    {"feedetl_sn": "2", "fee_ocur_time": "2025-09-20 09:10:00", "med_list_codg": "EX-DRUG-B",
     "det_item_fee_sumamt": "120.00", "cnt": "1", "pric": "120.00"},
    {"feedetl_sn": "3", "fee_ocur_time": "2025-09-20 09:20:00", "med_list_codg": "EX-ITEM-C",
     "det_item_fee_sumamt": "30.00", "cnt": "1", "pric": "30.00"},
]


def upload(p, coord_id: int, code: str = SZ_HOSP, psn_no: str = GZ_PSN, lines=None):
    return p.client(code).call("2560", {"data": {"coord_id": coord_id, "psn_no": psn_no, "med_type": "11"},
                                        "feedetail": lines or LINES}, "440100")


# -- the flow -----------------------------------------------------------------------------------------------

def test_request_dispatch_upload_and_pay_to_the_account(co):
    on(co, "2025-09-26")  # a Friday before the National Day holiday
    reply = file(co)
    assert reply.status_code == 201, reply.text
    req = reply.json()
    cid = req["id"]
    assert (req["status"], req["requested_on"], req["dispatch_deadline"], req["treatment_admdvs"]) == (
        "requested", "2025-09-26", "2025-09-30", "440300")
    # the treatment region sees it incoming; the insured region outgoing; a third region nothing
    incoming = co.http.get("/api/v1/agency/coordination?side=incoming", headers=co.sz).json()
    assert [x["id"] for x in incoming] == [cid]
    assert co.http.get("/api/v1/agency/coordination?side=incoming", headers=co.gz).json() == []
    assert [x["id"] for x in co.http.get("/api/v1/agency/coordination?side=outgoing", headers=co.gz).json()] == [cid]
    assert co.http.get("/api/v1/agency/coordination", headers=co.ty).json() == []

    on(co, "2025-09-29")
    reply = co.http.post(f"/api/v1/agency/coordination/{cid}/dispatch", headers=co.sz)
    assert reply.status_code == 200, reply.text
    # five working days after Monday Sep 29: Sep 30, Oct 9, 10, 11 (adjusted Saturday), 13
    assert (reply.json()["status"], reply.json()["dispatched_on"], reply.json()["upload_deadline"]) == (
        "dispatched", "2025-09-29", "2025-10-13")

    on(co, "2025-10-13")
    out = upload(co, cid)
    assert out["infcode"] == 0, out.get("err_msg")
    info, result = out["output"]["setlinfo"], out["output"]["result"]
    # lines by the Shenzhen catalog (treatment region): A 100.00 甲; B 120.00 over its 100.00 cap by 20.00,
    # 10% self-pay of 100.00 = 10.00, in scope 90.00; C not in the catalog, 30.00 own pay
    assert [(r["feedetl_sn"], r["det_item_fee_sumamt"], r["fulamt_ownpay_amt"], r["overlmt_amt"],
             r["preselfpay_amt"], r["inscp_scp_amt"]) for r in result] == [
        ("1", Decimal("100.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("100.00")),
        ("2", Decimal("120.00"), Decimal("0.00"), Decimal("20.00"), Decimal("10.00"), Decimal("90.00")),
        ("3", Decimal("30.00"), Decimal("30.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))]
    # Guangzhou's policy in force on the day of computation (Oct 13), not the visit day's (Sep 20):
    # in scope 190.00; deductible 50.00; round2(140.00 x 0.75) = 105.00 (September's would pay 133.00)
    # person: 250.00 - 105.00 = 145.00, all in cash (no account at the institution)
    assert {k: info[k] for k in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                                 "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay",
                                 "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "clr_optins",
                                 "insu_admdvs", "coord_id")} == {
        "medfee_sumamt": Decimal("250.00"), "fulamt_ownpay_amt": Decimal("30.00"),
        "overlmt_selfpay": Decimal("20.00"), "preselfpay_amt": Decimal("10.00"),
        "inscp_scp_amt": Decimal("190.00"), "act_pay_dedc": Decimal("50.00"), "hifp_pay": Decimal("105.00"),
        "pool_prop_selfpay": Decimal("0.7500"), "fund_pay_sumamt": Decimal("105.00"),
        "psn_part_amt": Decimal("145.00"), "acct_pay": Decimal("0.00"), "psn_cash_pay": Decimal("145.00"),
        "clr_optins": "440100", "insu_admdvs": "440100", "coord_id": cid}
    assert out["output"]["setldetail"][0]["fund_payamt"] == Decimal("105.00")
    setl_id = info["setl_id"]
    with co.store.unit_of_work() as s:
        row = s.get(Settlement, setl_id)
        assert (row.kind, row.clr_type, row.catalog_admdvs, row.policy_admdvs, row.pay_loc, row.year) == (
            "coordination", "11", "440300", "440100", "3", 2025)
        assert "零星报销协办" in row.explanation[-1] and f"request {cid}" in row.explanation[-1]
        req_row = s.get(CoordinationRequest, cid)
        assert (req_row.status, req_row.setl_id, req_row.mdtrt_id) == ("uploaded", setl_id, info["mdtrt_id"])
        assert {f.setl_id for f in s.scalars(select(FeeDetail).where(FeeDetail.mdtrt_id == req_row.mdtrt_id))} == {
            setl_id}
    # the institution cannot cancel a claim as if it were its own settlement
    cancel = co.client().call("2208", {"data": {"setl_id": setl_id, "mdtrt_id": info["mdtrt_id"], "psn_no": GZ_PSN}},
                              "440100")
    assert cancel["infcode"] == -1 and "is a coordination settlement" in cancel["err_msg"]
    assert late(co, co.gz) == [] and late(co, co.sz) == []  # each step in time

    on(co, "2025-10-15")
    reply = co.http.post(f"/api/v1/agency/coordination/{cid}/pay", headers=co.gz, json={"method": "account"})
    assert reply.status_code == 200, reply.text
    paid = reply.json()
    assert (paid["status"], paid["pay_method"], paid["paid_amount"], paid["paid_on"]) == (
        "paid", "account", "105.00", "2025-10-15")
    assert paid["claim"]["fund_pay_sumamt"] == "105.00" and paid["claim"]["computed_on"] == "2025-10-13"
    with co.store.unit_of_work() as s:
        assert s.get(Account, GZ_PSN).balance == Decimal("4305.00")
        entry = s.scalars(select(AccountEntry).where(AccountEntry.setl_id.is_not(None))).one()  # not the opening
        assert (entry.kind, entry.amount, entry.balance_after, entry.setl_id) == (
            "reimbursement", Decimal("105.00"), Decimal("4305.00"), setl_id)
        order = s.scalars(select(BankInstruction).where(BankInstruction.psn_no == GZ_PSN)).one()
        assert (order.code, order.amount, order.acct_admdvs, order.setl_id, order.status, order.journal_id) == (
            "acct_023", Decimal("105.00"), "440100", setl_id, "pending", entry.id)
        assert s.get(CoordinationRequest, cid).journal_id == entry.id
    again = co.http.post(f"/api/v1/agency/coordination/{cid}/pay", headers=co.gz, json={"method": "cash"})
    assert again.status_code == 422 and "already paid (account, 105.00) on 2025-10-15" in again.json()["detail"]
    with co.store.unit_of_work() as s:
        assert s.get(Account, GZ_PSN).balance == Decimal("4305.00")
        assert len(s.scalars(select(BankInstruction)).all()) == 1


def test_cash_payment_is_recorded_and_moves_no_account(co):
    on(co, "2026-03-16")
    cid = file(co, "2026-03-02", "2026-03-03").json()["id"]
    assert co.http.post(f"/api/v1/agency/coordination/{cid}/dispatch", headers=co.sz).status_code == 200
    lines = [{**LINES[0], "fee_ocur_time": "2026-03-03 10:00:00"}]
    out = upload(co, cid, lines=lines)
    # March 2026: the 0.75 policy; the year's deductible 50.00 first: round2(50.00 x 0.75) = 37.50
    assert out["output"]["setlinfo"]["fund_pay_sumamt"] == Decimal("37.50")
    reply = co.http.post(f"/api/v1/agency/coordination/{cid}/pay", headers=co.gz, json={"method": "cash"})
    assert reply.status_code == 200 and (reply.json()["pay_method"], reply.json()["paid_amount"]) == ("cash", "37.50")
    with co.store.unit_of_work() as s:
        assert s.get(Account, GZ_PSN).balance == Decimal("4200.00")
        assert s.scalars(select(AccountEntry).where(AccountEntry.setl_id.is_not(None))).all() == []
        assert s.scalars(select(BankInstruction)).all() == []


# -- deadlines ----------------------------------------------------------------------------------------------

def test_overdue_steps_before_and_after_the_deadlines_across_the_holiday(co):
    on(co, "2025-09-30")  # 3 working days: Oct 9, 10 and the adjusted Saturday Oct 11
    cid = file(co).json()["id"]
    req = co.http.get(f"/api/v1/agency/coordination/{cid}", headers=co.sz).json()
    assert req["dispatch_deadline"] == "2025-10-11"
    on(co, "2025-10-08")  # a week of holiday later: nothing is late yet
    assert late(co, co.sz) == [] and late(co, co.gz) == []
    on(co, "2025-10-11")
    assert late(co, co.sz) == []
    on(co, "2025-10-13")
    assert late(co, co.sz) == late(co, co.gz) == [(cid, "dispatch", "2025-10-11", None, 2)]
    assert late(co, co.ty) == []  # another region's requests are not listed
    listed = co.http.get("/api/v1/agency/coordination/overdue", headers=co.gz).json()
    assert listed["as_of"] == "2025-10-13" and listed["late"][0]["responsible"] == "440300"

    reply = co.http.post(f"/api/v1/agency/coordination/{cid}/dispatch", headers=co.sz)
    assert reply.json()["upload_deadline"] == "2025-10-20"  # Oct 14, 15, 16, 17, 20
    # the late dispatch stays on the list, its lateness frozen at the day it was done
    assert late(co, co.sz) == [(cid, "dispatch", "2025-10-11", "2025-10-13", 2)]
    on(co, "2025-10-20")
    assert late(co, co.sz) == [(cid, "dispatch", "2025-10-11", "2025-10-13", 2)]
    on(co, "2025-10-22")
    steps = late(co, co.gz)
    assert steps == [(cid, "dispatch", "2025-10-11", "2025-10-13", 2), (cid, "upload", "2025-10-20", None, 2)]
    upload_step = co.http.get("/api/v1/agency/coordination/overdue", headers=co.gz).json()["late"][1]
    assert (upload_step["responsible"], upload_step["status"]) == (SZ_HOSP, "dispatched")
    assert upload(co, cid)["infcode"] == 0  # a late upload is still taken, and listed as late
    on(co, "2025-11-03")
    assert late(co, co.sz)[1] == (cid, "upload", "2025-10-20", "2025-10-22", 2)


def test_a_request_on_an_adjusted_working_sunday(co):
    on(co, "2025-09-28")  # the adjusted working Sunday: Sep 29, Sep 30, then Oct 9
    assert file(co).json()["dispatch_deadline"] == "2025-10-09"


# -- the calendar as data (dataset `calendar:`) ------------------------------------------------------------

CALENDAR_2031 = {2031: {"holidays": [f"2031-10-{d:02d}" for d in range(1, 8)],
                        "workdays": ["2031-09-28", "2031-10-11"]}}


def test_deadlines_across_the_holidays_of_a_year_loaded_from_the_dataset(co):
    """揭阳 揭医保〔2021〕82号 art. 17: 3 working days to dispatch, 5 to upload, over a year the package does not
    know, loaded from the dataset (a made-up 2031)."""
    on(co, "2031-09-26")
    reply = file(co, "2031-09-20", "2031-09-20")
    assert reply.status_code == 422 and "no working-day calendar for the year 2031" in reply.json()["detail"]
    assert "calendar section" in reply.json()["detail"]
    load_document(co.store, {"calendar": CALENDAR_2031})
    reply = file(co, "2031-09-20", "2031-09-20")  # Fri: Sun 28 (adjusted), Mon 29, Tue 30
    assert reply.status_code == 201, reply.text
    assert reply.json()["dispatch_deadline"] == "2031-09-30"
    on(co, "2031-09-30")  # then Oct 8, 9, 10, Sat 11 (adjusted), Mon 13
    reply = co.http.post(f"/api/v1/agency/coordination/{reply.json()['id']}/dispatch", headers=co.sz)
    assert reply.status_code == 200, reply.text
    assert reply.json()["upload_deadline"] == "2031-10-13"
    with co.store.unit_of_work() as s:
        assert s.get(CalendarYear, 2031).workdays == ["2031-09-28", "2031-10-11"]


def test_a_year_in_the_dataset_wins_over_the_package(co):
    load_document(co.store, {"calendar": {2025: {"holidays": [], "workdays": []}}})  # made up: no holidays
    on(co, "2025-09-30")
    assert file(co).json()["dispatch_deadline"] == "2025-10-03"


def test_a_deadline_in_a_year_nobody_knows_is_refused_naming_the_year(co):
    on(co, "2032-03-01")
    reply = file(co, "2032-02-20", "2032-02-20")
    assert reply.status_code == 422, reply.text
    assert "no working-day calendar for the year 2032" in reply.json()["detail"]
    assert "calendar: {2032: {holidays: [...], workdays: [...]}}" in reply.json()["detail"]
    assert co.http.get("/api/v1/agency/coordination", headers=co.gz).json() == []  # nothing written


# -- refusals ----------------------------------------------------------------------------------------------

def test_refusals(co):
    on(co, "2025-09-26")
    cid = file(co).json()["id"]
    # upload before dispatch
    out = upload(co, cid)
    assert out["infcode"] == -1 and f"request {cid} has not been dispatched" in out["err_msg"]
    # only the treatment region's agency dispatches; a third region does not see the request
    reply = co.http.post(f"/api/v1/agency/coordination/{cid}/dispatch", headers=co.gz)
    assert reply.status_code == 403 and "treatment region's agency (440300)" in reply.json()["detail"]
    assert co.http.post(f"/api/v1/agency/coordination/{cid}/dispatch", headers=co.ty).status_code == 404
    assert co.http.get(f"/api/v1/agency/coordination/{cid}", headers=co.ty).status_code == 404
    person = {"Authorization": "Bearer " + issue(signing_key(co.store), "person", GZ_PSN)}
    assert co.http.get("/api/v1/agency/coordination", headers=person).status_code == 403
    # pay before upload
    reply = co.http.post(f"/api/v1/agency/coordination/{cid}/pay", headers=co.gz, json={"method": "account"})
    assert reply.status_code == 422 and "no claim to pay" in reply.json()["detail"]

    assert co.http.post(f"/api/v1/agency/coordination/{cid}/dispatch", headers=co.sz).status_code == 200
    again = co.http.post(f"/api/v1/agency/coordination/{cid}/dispatch", headers=co.sz)
    assert again.status_code == 422 and "already dispatched on 2025-09-26" in again.json()["detail"]
    # another institution uploads
    out = upload(co, cid, code=GZ_HOSP)
    assert out["infcode"] == -1 and f"no coordination request {cid} for this institution" in out["err_msg"]
    # another person, a line outside the request's days
    out = upload(co, cid, psn_no="44030000000000000001")
    assert out["infcode"] == -1 and "for another person" in out["err_msg"]
    out = upload(co, cid, lines=[{**LINES[0], "fee_ocur_time": "2025-09-21 09:00:00"}])
    assert out["infcode"] == -1 and "input.feedetail[0].fee_ocur_time: 2025-09-21 is outside" in out["err_msg"]
    assert upload(co, cid)["infcode"] == 0
    out = upload(co, cid)
    assert out["infcode"] == -1 and "already uploaded" in out["err_msg"]
    # only the insured region pays
    reply = co.http.post(f"/api/v1/agency/coordination/{cid}/pay", headers=co.sz, json={"method": "account"})
    assert reply.status_code == 403
    assert co.http.post(f"/api/v1/agency/coordination/{cid}/pay", headers=co.gz,
                        json={"method": "cheque"}).status_code == 422
    assert co.http.post(f"/api/v1/agency/coordination/{cid}/pay", headers=co.gz,
                        json={"method": "account"}).status_code == 200
    reply = co.http.post(f"/api/v1/agency/coordination/{cid}/pay", headers=co.gz, json={"method": "account"})
    assert reply.status_code == 422 and "already paid" in reply.json()["detail"]
    with co.store.unit_of_work() as s:  # computed on Sep 26 under September's policy: 0.70 x 190.00 = 133.00
        assert s.get(Account, GZ_PSN).balance == Decimal("4333.00")
        assert len(s.scalars(select(AccountEntry).where(AccountEntry.setl_id.is_not(None))).all()) == 1


def test_refused_requests(co):
    on(co, "2025-09-26")
    # a person of another region, an institution of the agency's own region, an unqualified case, bad days
    reply = file(co, headers=co.sz)
    assert reply.status_code == 422 and f"no insured person {GZ_PSN} in region 440300" in reply.json()["detail"]
    reply = file(co, code=GZ_HOSP)
    assert reply.status_code == 422 and "needs no coordination across regions" in reply.json()["detail"]
    reply = file(co, psn_no="14010000000000000001", code=GZ_HOSP, headers=co.ty)  # Taiyuan at a provincial one
    assert reply.status_code == 422 and "cross-province cases need national" in reply.json()["detail"]
    assert file(co, "2025-09-21", "2025-09-20").status_code == 422
    reply = file(co, "2025-09-20", "2025-09-27")
    assert reply.status_code == 422 and "after today 2025-09-26" in reply.json()["detail"]
    assert file(co).status_code == 201
    reply = file(co, "2025-09-19", "2025-09-22")
    assert reply.status_code == 422 and "already covers these days" in reply.json()["detail"]


def test_a_suspended_person_still_gets_the_claim_computed(co):
    """A suspension stops direct settlement at the hospital and sends the person to claim at home: the claim
    itself is computed (art. 17-18 and 29)."""
    on(co, "2026-03-16")
    assert co.http.post("/api/v1/agency/suspensions", headers=co.sz,
                        json={"psn_no": GZ_PSN, "reason": "稽核中"}).status_code in (200, 201)
    cid = file(co, "2026-03-02", "2026-03-03").json()["id"]
    assert co.http.post(f"/api/v1/agency/coordination/{cid}/dispatch", headers=co.sz).status_code == 200
    out = upload(co, cid, lines=[{**LINES[0], "fee_ocur_time": "2026-03-03 10:00:00"}])
    assert out["infcode"] == 0, out["err_msg"]
    assert out["output"]["setlinfo"]["fund_pay_sumamt"] == Decimal("37.50")
