"""Races over real processes: `yibao serve --workers 2` on a fresh PostgreSQL schema (the point: two processes, row
locks), and `yibao serve` with one worker on an SQLite file.

Each committing message is prepared over the wire (9001, 2201/2203/2204 for a visit, 2401/2301/2402 for a stay,
2101 for a pharmacy sale, 6201 for a mobile-pay order), then N copies are fired at once, each from its own thread
on its own HTTP connection: (a) each with a fresh msgid (a HIS that resends under a new number), (b) all with the
same msgid (a HIS that retries the same message). Whatever the interleaving, the database must hold exactly one
settlement, the account, the year's accumulators and the mutual-aid quota must be what one settlement leaves, to
the cent, and every answer with infcode 0 must carry the same setl_id; the others must be refusals with a reason.

Also: 2208 racing the 2207 it cancels, N bindings of one mutual-aid pair, N identical filings.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from yibao import wire
from yibao.api.tokens import issue
from yibao.mobilepay.envelope import open_sealed, seal

from .conftest import (
    DRUG,
    GZ,
    HOSP_A,
    INSTITUTIONS,
    PHARMACY,
    TODAY,
    TOKEN_KEY,
    Desk,
    Platform,
    Who,
    base_env,
    child,
    employee,
    fire,
    run_cli,
    served_platform,
    world,
)

pytestmark = pytest.mark.xdist_group("adversarial-races")  # one worker starts the processes, once

D = Decimal
N = 8  # copies fired at once
OPENING = D("500.00")
MODES = ["fresh-msgids", "same-msgid"]

# one person (or pair) per scenario, so that every scenario's books are its own on the shared server
OUTPATIENT = {"fresh-msgids": employee(101), "same-msgid": employee(102)}
AID_PARENT = {"fresh-msgids": employee(111), "same-msgid": employee(112)}
AID_CHILD = {"fresh-msgids": child(113), "same-msgid": child(114)}
STAY = {"fresh-msgids": employee(121), "same-msgid": employee(122)}
SALE = {"fresh-msgids": employee(131), "same-msgid": employee(132)}
MOBILE = {"fresh-msgids": employee(141), "same-msgid": employee(142)}
CANCEL_RACE = employee(151)
BINDER, SPOUSE = employee(161), employee(162)
FILER = employee(171)

PERSONS = [*OUTPATIENT.values(), *AID_PARENT.values(), *AID_CHILD.values(), *STAY.values(), *SALE.values(),
           *MOBILE.values(), CANCEL_RACE, BINDER, SPOUSE, FILER]
GRANTS = [(AID_PARENT[m], AID_CHILD[m], "300.00") for m in MODES]


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp(f"races-{request.param}")
    with served_platform(request.param, world(PERSONS, GRANTS), tmp, request.config, label="races") as p:
        yield p


@pytest.fixture(scope="module")
def desk(platform: Platform) -> Iterator[Desk]:
    d = Desk(platform.url, HOSP_A)
    yield d
    d.close()


@pytest.fixture(scope="module")
def pharmacy(platform: Platform) -> Iterator[Desk]:
    d = Desk(platform.url, PHARMACY)
    yield d
    d.close()


# -- preparing over the wire ------------------------------------------------------------------------------------

_serial = iter(range(1, 10**6))


def outpatient_visit(desk: Desk, who: Who, pric: str, cnt: str) -> dict[str, Any]:
    """2201, 2203, 2204 (one line of the drug): the 2207 input that settles the batch."""
    n = next(_serial)
    registered = desk.ok("2201", {"data": {"psn_no": who.psn_no, "insutype": who.insutype,
                                           "begntime": f"{TODAY} 09:00:00", "mdtrt_cert_type": "02",
                                           "mdtrt_cert_no": who.certno, "ipt_otp_no": f"ADV-OTP-{n}"}})
    mdtrt_id = registered["data"]["mdtrt_id"]
    desk.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": who.psn_no, "med_type": "11",
                                   "begntime": f"{TODAY} 09:00:00"}, "diseinfo": []})
    amount = str((D(pric) * D(cnt)).quantize(D("0.01")))
    row = desk.ok("2204", {"feedetail": [{
        "feedetl_sn": f"ADV{n}-1", "mdtrt_id": mdtrt_id, "psn_no": who.psn_no, "chrg_bchno": f"B{n}",
        "fee_ocur_time": f"{TODAY} 09:30:00", "med_list_codg": DRUG, "medins_list_codg": "A",
        "det_item_fee_sumamt": amount, "cnt": cnt, "pric": pric}]})["result"][0]
    return {"data": {"psn_no": who.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno, "med_type": "11",
                     "medfee_sumamt": amount, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": f"B{n}",
                     "acct_used_flag": "1", "insutype": who.insutype,
                     "fulamt_ownpay_amt": str(row["fulamt_ownpay_amt"]), "overlmt_selfpay": str(row["overlmt_amt"]),
                     "preselfpay_amt": str(row["preselfpay_amt"]), "inscp_scp_amt": str(row["inscp_scp_amt"])}}


def stay(desk: Desk, who: Who) -> dict[str, Any]:
    """2401, 2301 (200 x 10.00 of the drug), 2402: the 2304 input that settles the stay."""
    n = next(_serial)
    mdtrt_id = desk.ok("2401", {"mdtrtinfo": {"psn_no": who.psn_no, "insutype": "310",
                                              "begntime": "2026-03-10 08:00:00", "mdtrt_cert_type": "02",
                                              "mdtrt_cert_no": who.certno, "med_type": "21", "ipt_no": f"ADV-IPT-{n}",
                                              "adm_dept_codg": "W1"}, "diseinfo": []})["result"]["mdtrt_id"]
    rows = desk.ok("2301", {"feedetail": [{
        "feedetl_sn": f"ADV{n}-L1", "init_feedetl_sn": "", "mdtrt_id": mdtrt_id, "psn_no": who.psn_no,
        "fee_ocur_time": "2026-03-11 09:00:00", "med_list_codg": DRUG, "medins_list_codg": "H-A",
        "det_item_fee_sumamt": "2000.00", "cnt": "200", "pric": "10.00"}]})["result"]
    desk.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": who.psn_no, "endtime": "2026-03-15 10:00:00",
                                  "dscg_way": "1"}, "diseinfo": []})

    def total(key: str) -> str:
        return str(sum((D(str(r[key])) for r in rows), D("0.00")))

    return {"data": {"psn_no": who.psn_no, "mdtrt_cert_type": "02", "medfee_sumamt": "2000.00", "mdtrt_id": mdtrt_id,
                     "insutype": "310", "acct_used_flag": "1", "mid_setl_flag": "0",
                     "fulamt_ownpay_amt": total("fulamt_ownpay_amt"), "overlmt_selfpay": total("overlmt_amt"),
                     "preselfpay_amt": total("preselfpay_amt"), "inscp_scp_amt": total("inscp_scp_amt")}}


def sale(pharmacy: Desk, who: Who) -> dict[str, Any]:
    """A pharmacy sale (3 x 20.00 of the drug), its lines numbered for this sale alone; 2101 prices it first."""
    n = next(_serial)
    input_ = {"druginfo": {"psn_no": who.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno,
                           "begntime": f"{TODAY} 10:00:00", "medfee_sumamt": "60.00", "insutype": "310",
                           "acct_used_flag": "1", "med_type": "41"},
              "drugdetail": [{"feedetl_sn": f"ADV-SALE-{n}-1", "rxno": "", "rx_circ_flag": "0",
                              "fee_ocur_time": f"{TODAY} 10:00:00", "med_list_codg": DRUG, "medins_list_codg": "P-A",
                              "det_item_fee_sumamt": "60.00", "cnt": "3", "pric": "20.00"}]}
    pre = pharmacy.ok("2101", input_)
    assert pre["setlinfo"]["acct_pay"] == D("60.00"), pre
    return input_


def copies(desk: Desk, infno: str, input_: dict[str, Any], mode: str) -> list[bytes]:
    if mode == "same-msgid":
        return [wire.encode(desk.envelope(infno, input_))] * N
    return [wire.encode(desk.envelope(infno, input_)) for _ in range(N)]


# -- judging -----------------------------------------------------------------------------------------------------

def judged(answers: list[Any], node: str = "setlinfo", key: str = "setl_id") -> tuple[list[dict], set[str]]:
    """The answers with infcode 0 and the setl_ids they carry; every other answer must be a refusal with a reason,
    and none may be a server error."""
    errors = [a for a in answers if isinstance(a, Exception)]
    assert not errors, f"{len(errors)} requests failed outright: {errors[:3]}"
    assert all(status < 500 for status, _ in answers), [s for s, _ in answers]
    ok = [a for _, a in answers if a.get("infcode") == 0]
    refused = [a for _, a in answers if a.get("infcode") != 0]
    assert all(str(a.get("err_msg", "")).strip() for a in refused), refused[:3]
    return ok, {str(a["output"][node][key]) for a in ok}


def report(figures: Any, effects: int) -> None:
    figures("races", scenarios=1, requests=N, effects=effects, wanted=1, extra_effects=max(0, effects - 1))


def assert_one_settlement(platform: Platform, mdtrt_id: str, ok: list[dict], setl_ids: set[str],
                          figures: Any) -> Any:
    rows = platform.books.settlements(mdtrt_id=mdtrt_id, refd_setl_flag="0")
    report(figures, len(rows))
    assert len(rows) == 1, (f"{len(rows)} settlements of one visit/order from {N} copies on {platform.backend} "
                            f"with {platform.workers} worker(s): {[r.setl_id for r in rows]}")
    assert ok, "no copy succeeded"
    assert setl_ids == {rows[0].setl_id}, f"the answers with infcode 0 carry {setl_ids}, the database {rows[0].setl_id}"
    assert platform.books.settlements(mdtrt_id=mdtrt_id, refd_setl_flag="1") == []
    return rows[0]


# -- the races ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_2207_copies_settle_one_outpatient_visit_once(platform: Platform, desk: Desk, mode: str,
                                                      figures: Any) -> None:
    who = OUTPATIENT[mode]
    input_ = outpatient_visit(desk, who, "100.00", "2")
    ok, setl_ids = judged(desk.fire(copies(desk, "2207", input_, mode)))
    row = assert_one_settlement(platform, input_["data"]["mdtrt_id"], ok, setl_ids, figures)
    # 200.00 in scope: deductible 100.00, 60 % of the rest from the fund, 140.00 from the account
    assert (row.act_pay_dedc, row.hifp_pay, row.acct_pay, row.psn_cash_pay) == (
        D("100.00"), D("60.00"), D("140.00"), D("0.00"))
    assert platform.books.balance(who.psn_no) == OPENING - D("140.00")
    assert platform.books.accumulator(who.psn_no, "outpatient") == (D("100.00"), D("60.00"))


@pytest.mark.parametrize("mode", MODES)
def test_2207_copies_draw_family_mutual_aid_once(platform: Platform, desk: Desk, mode: str, figures: Any) -> None:
    kid, parent = AID_CHILD[mode], AID_PARENT[mode]
    input_ = outpatient_visit(desk, kid, "100.00", "1")
    ok, setl_ids = judged(desk.fire(copies(desk, "2207", input_, mode)))
    row = assert_one_settlement(platform, input_["data"]["mdtrt_id"], ok, setl_ids, figures)
    # a resident child: 50 % from the fund, the other 50.00 from the parent's account by mutual aid
    assert (row.hifp_pay, row.acct_pay, row.acct_mulaid_pay) == (D("50.00"), D("50.00"), D("50.00"))
    assert platform.books.balance(parent.psn_no) == OPENING - D("50.00")
    assert platform.books.quota_used(kid.psn_no) == D("50.00")
    assert platform.books.accumulator(kid.psn_no, "outpatient") == (D("0.00"), D("50.00"))


@pytest.mark.parametrize("mode", MODES)
def test_2304_copies_settle_one_stay_once(platform: Platform, desk: Desk, mode: str, figures: Any) -> None:
    who = STAY[mode]
    input_ = stay(desk, who)
    ok, setl_ids = judged(desk.fire(copies(desk, "2304", input_, mode)))
    row = assert_one_settlement(platform, input_["data"]["mdtrt_id"], ok, setl_ids, figures)
    # 2000.00 in scope: deductible 300.00, 90 % of 1700.00 = 1530.00 from the fund, 470.00 from the account
    assert (row.act_pay_dedc, row.hifp_pay, row.acct_pay, row.psn_cash_pay) == (
        D("300.00"), D("1530.00"), D("470.00"), D("0.00"))
    assert platform.books.balance(who.psn_no) == OPENING - D("470.00")
    assert platform.books.accumulator(who.psn_no, "inpatient") == (D("300.00"), D("1530.00"))


@pytest.mark.parametrize("mode", MODES)
def test_2102_copies_settle_one_pharmacy_sale_once(platform: Platform, pharmacy: Desk, mode: str,
                                                   figures: Any) -> None:
    """The sale is its drugdetail lines (feedetl_sn numbered for this sale alone): a pharmacy has no visit before
    2102, so copies of the sale under fresh msgids are told apart from a new sale by those lines."""
    who = SALE[mode]
    input_ = sale(pharmacy, who)
    ok, setl_ids = judged(pharmacy.fire(copies(pharmacy, "2102", input_, mode)))
    rows = platform.books.settlements(psn_no=who.psn_no, refd_setl_flag="0")
    report(figures, len(rows))
    assert len(rows) == 1, (f"{len(rows)} settlements of one sale from {N} copies on {platform.backend} with "
                            f"{platform.workers} worker(s): {[r.setl_id for r in rows]}")
    assert setl_ids == {rows[0].setl_id}, setl_ids
    assert rows[0].acct_pay == D("60.00") and rows[0].hifp_pay == D("0.00")
    assert platform.books.balance(who.psn_no) == OPENING - D("60.00")
    assert platform.books.accumulator(who.psn_no, "pharmacy") == (D("0.00"), D("0.00"))


# -- mobile payment: 6201 then N copies of 6202 ------------------------------------------------------------------

@pytest.fixture(scope="module")
def mobile_app(platform: Platform) -> dict[str, str]:
    out = run_cli(["mobilepay", "register", HOSP_A], base_env(YIBAO_DATABASE_URL=platform.db_url))
    return dict(json.loads(out))


MOBILE_BASE = "/org/local/api/hos"


def sealed_post(platform: Platform, app: dict[str, str], path: str, data: dict[str, Any],
                http: httpx.Client | None = None, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    secret = INSTITUTIONS[HOSP_A][0]
    raw = body if body is not None else wire.encode(seal(data, app["app_id"], secret, app["private_key"]))
    reply = (http or httpx).post(platform.url + f"{MOBILE_BASE}/{path}", content=raw,
                                 headers={"Content-Type": "application/json"}, timeout=120)
    answer = wire.decode(reply.content)
    if answer.get("code") == 0:
        answer = {**answer, "opened": open_sealed(answer, secret, app["platform_public_key"])}
    return reply.status_code, answer


def pay_auth(platform: Platform, who: Who) -> str:
    token = issue(TOKEN_KEY.encode(), "person", who.psn_no)
    reply = httpx.post(platform.url + "/api/v1/ecredential/pay-auth", json={"fixmedins_code": HOSP_A},
                       headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["pay_auth_no"])


def mobile_order(platform: Platform, app: dict[str, str], who: Who, auth: str) -> dict[str, Any]:
    n = next(_serial)
    line = {"feedetlSn": f"MP{n}-001", "feeOcurTime": f"{TODAY} 09:30:00", "medListCodg": DRUG,
            "medinsListCodg": "H-A", "detItemFeeSumamt": "200.00", "cnt": "2", "pric": "100.00", "rxCircFlag": "0",
            "bilgDeptCodg": "D01", "bilgDeptName": "内科", "bilgDrCodg": "DR01", "bilgDrName": "医生",
            "hospApprFlag": "0"}
    data = {"orgCodg": HOSP_A, "psnNo": who.psn_no, "insutype": who.insutype, "medOrgOrd": f"ADV-ORD-{n}",
            "begntime": f"{TODAY} 09:00:00", "idNo": who.certno, "userName": who.name, "idType": "01",
            "insuCode": who.admdvs, "iptOtpNo": f"ADV-MP-{n}", "deptName": "内科", "deptCode": "D01", "caty": "A03",
            "medType": "11", "feeType": "01", "psnSetlway": "01", "chrgBchno": f"MB{n}", "pubHospRfomFlag": "0",
            "medfeeSumamt": "200.00", "payAuthNo": auth, "atddrNo": "DR01", "drName": "医生", "acctUsedFlag": "1",
            "feedetailList": [line]}
    status, answer = sealed_post(platform, app, "uldFeeInfo", data)
    assert status == 200 and answer.get("code") == 0, answer
    return dict(answer["opened"])


@pytest.mark.parametrize("mode", ["fresh-seals", "same-body"])
def test_6202_copies_settle_one_mobile_pay_order_once(platform: Platform, desk: Desk, mobile_app: dict[str, str],
                                                      mode: str, figures: Any) -> None:
    who = MOBILE["fresh-msgids" if mode == "fresh-seals" else "same-msgid"]
    auth = pay_auth(platform, who)
    order = mobile_order(platform, mobile_app, who, auth)
    data = {"payOrdId": order["payOrdId"], "payToken": order["payToken"], "payAuthNo": auth, "orgCodg": HOSP_A}
    secret = INSTITUTIONS[HOSP_A][0]
    if mode == "same-body":
        bodies = [wire.encode(seal(data, mobile_app["app_id"], secret, mobile_app["private_key"]))] * N
    else:
        bodies = [wire.encode(seal(data, mobile_app["app_id"], secret, mobile_app["private_key"])) for _ in range(N)]
    answers = fire([lambda http, b=b: sealed_post(platform, mobile_app, "pay_order", {}, http, b) for b in bodies])
    errors = [a for a in answers if isinstance(a, Exception)]
    assert not errors, errors[:3]
    assert all(status < 500 for status, _ in answers), [s for s, _ in answers]
    ok = [a["opened"] for _, a in answers if a.get("code") == 0]
    assert all(str(a.get("message", "")).strip() for _, a in answers if a.get("code") != 0)
    setl_ids = {str(o["setlId"]) for o in ok}
    row = assert_one_settlement(platform, str(order["mdtrtId"]), ok, setl_ids, figures)
    assert (row.act_pay_dedc, row.hifp_pay, row.acct_pay) == (D("100.00"), D("60.00"), D("140.00"))
    assert platform.books.balance(who.psn_no) == OPENING - D("140.00")
    assert platform.books.accumulator(who.psn_no, "outpatient") == (D("100.00"), D("60.00"))


# -- 2208 racing the 2207 it cancels ----------------------------------------------------------------------------

def test_2208_racing_the_2207_of_one_visit_leaves_consistent_books(platform: Platform, desk: Desk,
                                                                   figures: Any) -> None:
    """The HIS resends its 2207 (same msgid) while the cashier, having one answer, cancels it (2208, fresh msgids):
    the visit ends settled once and not cancelled, or settled and cancelled once with the balance back."""
    who = CANCEL_RACE
    input_ = outpatient_visit(desk, who, "100.00", "2")
    settle_body = wire.encode(desk.envelope("2207", input_))
    known = threading.Event()
    first: dict[str, Any] = {}

    def settle(http: httpx.Client) -> tuple[str, int, dict[str, Any]]:
        status, answer = desk.post(settle_body, http)
        if answer.get("infcode") == 0 and not known.is_set():
            first.update(answer["output"]["setlinfo"])
            known.set()
        return "2207", status, answer

    def cancel(http: httpx.Client) -> tuple[str, int, dict[str, Any]]:
        assert known.wait(240), "no 2207 copy was answered"
        data = {"setl_id": first["setl_id"], "mdtrt_id": input_["data"]["mdtrt_id"], "psn_no": who.psn_no}
        return ("2208", *desk.post(wire.encode(desk.envelope("2208", {"data": data})), http))

    answers = fire([settle] * N + [cancel] * (N // 2))
    errors = [a for a in answers if isinstance(a, Exception)]
    assert not errors, errors[:3]
    assert all(status < 500 for _, status, _ in answers)
    settled_ok = [a for infno, _, a in answers if infno == "2207" and a.get("infcode") == 0]
    cancelled_ok = [a for infno, _, a in answers if infno == "2208" and a.get("infcode") == 0]
    assert all(str(a.get("err_msg", "")).strip() for _, _, a in answers if a.get("infcode") != 0)

    mdtrt_id = input_["data"]["mdtrt_id"]
    originals = platform.books.settlements(mdtrt_id=mdtrt_id, refd_setl_flag="0")
    reversals = platform.books.settlements(mdtrt_id=mdtrt_id, refd_setl_flag="1")
    effects = len(originals) + len(reversals)
    wanted = 1 + (1 if cancelled_ok else 0)
    figures("races", scenarios=1, requests=len(answers), effects=effects, wanted=wanted,
            extra_effects=max(0, effects - wanted))
    assert len(originals) == 1, f"{len(originals)} settlements of one visit: {[r.setl_id for r in originals]}"
    assert len(reversals) == (1 if cancelled_ok else 0), (len(reversals), len(cancelled_ok))
    assert {a["output"]["setlinfo"]["setl_id"] for a in settled_ok} == {originals[0].setl_id}
    if cancelled_ok:
        assert originals[0].status == "cancelled"
        assert {str(a["output"]["setlinfo"]["setl_id"]) for a in cancelled_ok} == {originals[0].setl_id}
        assert {str(a["output"]["setlinfo"]["refd_setl_id"]) for a in cancelled_ok} == {reversals[0].setl_id}
        assert platform.books.balance(who.psn_no) == OPENING
        assert platform.books.accumulator(who.psn_no, "outpatient") == (D("0.00"), D("0.00"))
    else:
        assert originals[0].status == "settled"
        assert platform.books.balance(who.psn_no) == OPENING - originals[0].acct_pay


# -- the JSON API: one binding of one pair, one filing ------------------------------------------------------------

def api_copies(platform: Platform, who: Who, path: str, body: dict[str, Any]) -> list[Any]:
    token = issue(TOKEN_KEY.encode(), "person", who.psn_no)
    headers = {"Authorization": f"Bearer {token}"}
    return fire([lambda http: http.post(platform.url + path, json=body, headers=headers) for _ in range(N)])


def test_parallel_bindings_of_one_mutual_aid_pair_make_one_authorization(platform: Platform,
                                                                         figures: Any) -> None:
    body = {"beneficiary_psn_no": SPOUSE.psn_no, "relation": "spouse", "quota": "100.00", "start": TODAY,
            "end": "2026-12-31", "commitment": {"version": "adv-v1", "accepted_at": f"{TODAY}T09:00:00"}}
    replies = api_copies(platform, BINDER, "/api/v1/me/mutual-aid", body)
    assert not [r for r in replies if isinstance(r, Exception)]
    rows = platform.books.authorizations(BINDER.psn_no, SPOUSE.psn_no)
    report(figures, len(rows))
    assert all(r.status_code < 500 for r in replies), [(r.status_code, r.text[:200]) for r in replies]
    assert len(rows) == 1, f"{len(rows)} authorizations of one pair from {N} parallel bindings"
    assert [r.status_code for r in replies].count(201) == 1, [r.status_code for r in replies]
    assert all(400 <= r.status_code < 500 for r in replies if r.status_code != 201)


def test_parallel_identical_filings_make_one_filing(platform: Platform, figures: Any) -> None:
    body = {"type": "long_term_resident", "dest_admdvs": GZ, "start": TODAY, "end": "2026-12-31"}
    replies = api_copies(platform, FILER, "/api/v1/me/filings", body)
    assert not [r for r in replies if isinstance(r, Exception)]
    rows = platform.books.filings(FILER.psn_no)
    report(figures, len(rows))
    assert all(r.status_code < 500 for r in replies), [(r.status_code, r.text[:200]) for r in replies]
    assert len(rows) == 1, f"{len(rows)} filings from {N} identical requests"
    assert [r.status_code for r in replies].count(201) == 1, [r.status_code for r in replies]
