"""Parallel settlements: many 2207(A)s fired at the same moment from several threads, each through the gateway's
own pipeline (its own transactions), on SQLite and PostgreSQL.

One person's visits share one account and one deductible; two beneficiaries' visits share one authorizer's
account through mutual aid. The balances cannot cover every visit. Whatever order the database lets them run
in, the books must agree with the answers: the balance moves by exactly the acct_pay answered, never below 0,
the deductible is taken once, and the quota used is the sum of the mutual-aid draws. Then every settlement is
cancelled at once, in parallel too, and every figure comes back to the opening one.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from conftest import signed_headers
from fastapi.testclient import TestClient
from sqlalchemy import select

from yibao import wire
from yibao.app import create_app
from yibao.client import PlatformClient
from yibao.dataset.loader import load_document
from yibao.gateway.service import Gateway
from yibao.store.db import Store
from yibao.store.models import Account, AccountEntry, Accumulator, FeeDetail, MutualAidAuthorization, Settlement

D = Decimal
ZERO = D("0.00")
REGION, HOSP, SECRET = "440300", "H44030000201", "conc-secret-sz"
EMPLOYEE, EMPLOYEE_CERT = "44030000000000000201", "440301199001011015"
PARENT, PARENT_CERT = "44030000000000000202", "440301197001011016"
KIDS = {"44030000000000000203": "440301201801011021", "44030000000000000204": "440301201901011010"}
THREADS = 8


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)


def dataset(employee_balance: str, parent_balance: str, quota: str) -> dict[str, Any]:
    def who(psn_no: str, certno: str, insutype: str, brdy: str, balance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"psn_no": psn_no, "name": "例" + psn_no[-2:], "certno": certno, "gend": "1",
                               "brdy": brdy, "insutype": insutype, "admdvs": REGION,
                               "psn_type": "1101" if insutype == "310" else "1402"}
        if balance is not None:
            out["account"] = {"balance": balance, "admdvs": REGION}
        return out

    return {
        "today": "2026-03-16",
        "regions": [{
            "admdvs": REGION, "name": "深圳市(示例)", "acct_bookkeeping": True,
            "mutual_aid": {"enabled": True, "authorizer_min_balance": None, "relation_limits": {"child": 4}},
            "policies": [
                {"insutype": "310", "med_types": ["11"], "bucket": "outpatient", "deductible": "100.00",
                 "ratio": "0.60", "annual_cap": "5000.00", "acct_scope": "all"},
                {"insutype": "390", "med_types": ["11"], "bucket": "outpatient", "deductible": "0.00",
                 "ratio": "0.50", "annual_cap": "800.00", "acct_scope": "all"}],
            "catalog": [{"code": "EX-DRUG-A", "name": "药品甲", "chrgitm_lv": "01", "selfpay_prop": "0",
                         "pric_uplmt_amt": None, "med_chrgitm_type": "09"}]}],
        "institutions": [{"code": HOSP, "name": "示例医院", "admdvs": REGION, "kind": "hospital", "level": "3",
                          "xregion": "none", "secret": SECRET}],
        "persons": [who(EMPLOYEE, EMPLOYEE_CERT, "310", "1990-01-01", employee_balance),
                    who(PARENT, PARENT_CERT, "310", "1970-01-01", parent_balance),
                    *[who(k, c, "390", f"{c[6:10]}-{c[10:12]}-{c[12:14]}") for k, c in KIDS.items()]],
        "mutual_aid": [{"authorizer": PARENT, "beneficiary": kid, "relation": "child", "quota": quota,
                        "start": "2026-01-01", "end": "2026-12-31", "priority": 1} for kid in KIDS],
    }


class Desk:
    """A hospital's desk that prepares visits one by one, then fires their settlements all at once."""

    def __init__(self, store: Store, doc: dict[str, Any]):
        load_document(store, doc)
        self.store = store
        app = create_app(store)
        self.gateway: Gateway = app.state.gateway
        self.client = PlatformClient("http://testserver", HOSP, SECRET, REGION, opter="op01", http=TestClient(app))
        self.n = 0

    def ok(self, infno: str, input_: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.call(infno, input_, REGION)
        assert answer["infcode"] == 0, f"{infno}: {answer['err_msg']}"
        return dict(answer["output"])

    def prepared_settlement(self, psn_no: str, certno: str, insutype: str, pric: str, cnt: str) -> bytes:
        """Register, upload one line of EX-DRUG-A; the 2207A message that settles it, ready to send."""
        self.n += 1
        mdtrt_id = self.ok("2201", {"data": {"psn_no": psn_no, "insutype": insutype, "begntime": "2026-03-16 09:00:00",
                                             "mdtrt_cert_type": "02", "mdtrt_cert_no": certno,
                                             "ipt_otp_no": f"OTP-{self.n}"}})["data"]["mdtrt_id"]
        self.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "med_type": "11",
                                       "begntime": "2026-03-16 09:00:00"}, "diseinfo": []})
        amount = str((D(pric) * D(cnt)).quantize(D("0.01")))
        row = self.ok("2204", {"feedetail": [{
            "feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B1",
            "fee_ocur_time": "2026-03-16 09:30:00", "med_list_codg": "EX-DRUG-A", "medins_list_codg": "A",
            "det_item_fee_sumamt": amount, "cnt": cnt, "pric": pric}]})["result"][0]
        data = {"psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "med_type": "11",
                "medfee_sumamt": amount, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1",
                "acct_used_flag": "1", "insutype": insutype, "fulamt_ownpay_amt": str(row["fulamt_ownpay_amt"]),
                "overlmt_selfpay": str(row["overlmt_amt"]), "preselfpay_amt": str(row["preselfpay_amt"]),
                "inscp_scp_amt": str(row["inscp_scp_amt"])}
        return wire.encode(self.client.envelope("2207A", {"data": data}, REGION, self.client.sign_no()))

    def cancellation(self, info: dict[str, Any]) -> bytes:
        data = {"setl_id": info["setl_id"], "mdtrt_id": info["mdtrt_id"], "psn_no": info["psn_no"]}
        return wire.encode(self.client.envelope("2208", {"data": data}, REGION, self.client.sign_no()))

    def fire(self, bodies: list[bytes]) -> list[dict[str, Any]]:
        """Send every body at the same moment, one thread each; the answers in the order of `bodies`."""
        start = threading.Barrier(len(bodies))
        answers: list[dict[str, Any] | None] = [None] * len(bodies)
        headers = [signed_headers(HOSP, SECRET) for _ in bodies]

        def send(i: int) -> None:
            start.wait()
            answers[i] = self.gateway.handle(headers[i], bodies[i], None)[1]

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert all(a is not None for a in answers), "a thread did not answer"
        return [a for a in answers if a is not None]

    def books(self) -> dict[str, Any]:
        with self.store.unit_of_work() as s:
            return {
                "balances": {a.psn_no: a.balance for a in s.scalars(select(Account).order_by(Account.psn_no))},
                "quota_used": {g.beneficiary: g.quota_used for g in s.scalars(select(MutualAidAuthorization))},
                "accumulators": {a.psn_no: (a.deductible_used, a.fund_paid) for a in s.scalars(select(Accumulator))},
            }

    def journal_sum(self, psn_no: str, kind: str) -> Decimal:
        with self.store.unit_of_work() as s:
            return sum(s.scalars(select(AccountEntry.amount).where(AccountEntry.psn_no == psn_no,
                                                                   AccountEntry.kind == kind)), ZERO)


def settled(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The setlinfo of each answer; every one must have succeeded (nothing here is a reason to refuse)."""
    problems = [a["err_msg"] for a in answers if a["infcode"] != 0]
    assert not problems, f"{len(problems)} of {len(answers)} refused: {problems[:3]}"
    out = [dict(a["output"]["setlinfo"]) for a in answers]
    for info in out:  # rules.md 4 step 8 on every answer
        assert info["medfee_sumamt"] == info["fund_pay_sumamt"] + info["psn_part_amt"]
        assert info["psn_part_amt"] == info["acct_pay"] + info["psn_cash_pay"]
        assert 0 <= info["acct_mulaid_pay"] <= info["acct_pay"] and info["psn_cash_pay"] >= 0
    return out


def test_parallel_settlements_of_one_person_share_one_balance_and_one_deductible(store: Store) -> None:
    opening_balance = D("500.00")
    desk = Desk(store, dataset(str(opening_balance), "0.00", "0.00"))
    # each visit: inscp 200.00; the first to settle pays the 100.00 deductible (psn_part 140.00), the others
    # psn_part 80.00: 140 + 7 x 80 = 700.00 wanted from an account of 500.00
    bodies = [desk.prepared_settlement(EMPLOYEE, EMPLOYEE_CERT, "310", "100.00", "2") for _ in range(THREADS)]
    opening = desk.books()
    infos = settled(desk.fire(bodies))

    acct_paid = sum((i["acct_pay"] for i in infos), ZERO)
    after = desk.books()
    assert after["balances"][EMPLOYEE] == opening_balance - acct_paid >= 0
    assert -desk.journal_sum(EMPLOYEE, "settlement") == acct_paid
    assert all(i["acct_mulaid_pay"] == 0 for i in infos)
    # the deductible counted once, the fund as answered
    assert sum((i["act_pay_dedc"] for i in infos), ZERO) == D("100.00")
    assert after["accumulators"][EMPLOYEE] == (D("100.00"), sum((i["hifp_pay"] for i in infos), ZERO))
    # the answers form one serial history: ordered by the balance they left, each account payment is what the
    # balance before it could cover, and the deductible was taken by the first
    chain = sorted(infos, key=lambda i: (-i["balc"], -i["acct_pay"]))
    before = opening_balance
    for info in chain:
        assert info["acct_pay"] == min(info["psn_part_amt"], before), chain
        assert info["balc"] == before - info["acct_pay"]
        before = info["balc"]
    assert chain[0]["act_pay_dedc"] == D("100.00") and chain[0]["psn_part_amt"] == D("140.00")
    assert all(i["act_pay_dedc"] == 0 and i["psn_part_amt"] == D("80.00") for i in chain[1:])
    assert before == ZERO  # the account was not enough for all: it ran dry, the rest was cash
    assert sum((i["psn_cash_pay"] for i in infos), ZERO) == D("200.00")

    # cancel them all at once: everything comes back
    settled(desk.fire([desk.cancellation(i) for i in infos]))
    assert desk.books() == {**opening, "accumulators": {EMPLOYEE: (ZERO, ZERO)}}


def test_parallel_mutual_aid_of_two_beneficiaries_on_one_authorizers_account(store: Store) -> None:
    opening_parent, quota = D("250.00"), D("150.00")
    desk = Desk(store, dataset("0.00", str(opening_parent), str(quota)))
    # each visit of a resident child: inscp 100.00, hifp 50.00, psn_part 50.00 for mutual aid;
    # each child wants 200.00 against a quota of 150.00, both together 300.00 against a balance of 250.00
    bodies = [desk.prepared_settlement(kid, cert, "390", "100.00", "1")
              for _ in range(THREADS // 2) for kid, cert in KIDS.items()]
    opening = desk.books()
    infos = settled(desk.fire(bodies))

    aid_paid = sum((i["acct_mulaid_pay"] for i in infos), ZERO)
    after = desk.books()
    assert after["balances"][PARENT] == opening_parent - aid_paid >= 0
    assert -desk.journal_sum(PARENT, "mutual_aid") == aid_paid
    for info in infos:
        assert info["acct_pay"] == info["acct_mulaid_pay"] and info["psn_part_amt"] == D("50.00")
        assert info["acct_mulaid_admdvs"] == (REGION if info["acct_mulaid_pay"] else "")
    for kid in KIDS:
        drawn = sum((i["acct_mulaid_pay"] for i in infos if i["psn_no"] == kid), ZERO)
        assert after["quota_used"][kid] == drawn, f"quota_used of {kid} is not the sum of its draws"
        assert drawn <= quota
        assert after["accumulators"][kid] == (ZERO, sum((i["hifp_pay"] for i in infos if i["psn_no"] == kid), ZERO))
    # neither the balance nor the quotas could cover everything: 250.00 was drawn, the rest was cash
    assert aid_paid == opening_parent
    assert sum((i["psn_cash_pay"] for i in infos), ZERO) == D("400.00") - opening_parent

    settled(desk.fire([desk.cancellation(i) for i in infos]))
    assert desk.books() == {**opening, "accumulators": {kid: (ZERO, ZERO) for kid in KIDS}}



def _the_same_settlement_fired_at_once(store: Store) -> tuple[Desk, list[dict[str, Any]]]:
    desk = Desk(store, dataset("500.00", "0.00", "0.00"))
    body = desk.prepared_settlement(EMPLOYEE, EMPLOYEE_CERT, "310", "50.00", "2")
    return desk, desk.fire([body] * THREADS)


def test_the_same_2207_sent_from_several_threads_at_once_settles_once(store: Store) -> None:
    desk, answers = _the_same_settlement_fired_at_once(store)
    ok = [a for a in answers if a["infcode"] == 0]
    assert ok and all(a == ok[0] for a in ok), "the successful answers differ"
    info = ok[0]["output"]["setlinfo"]
    assert desk.books()["balances"][EMPLOYEE] == D("500.00") - info["acct_pay"] == D("400.00")
    assert -desk.journal_sum(EMPLOYEE, "settlement") == info["acct_pay"]
    with store.unit_of_work() as s:
        assert s.scalars(select(Accumulator.deductible_used).where(Accumulator.psn_no == EMPLOYEE)).one() == D("100.00")
    for a in answers:  # a copy that lost the race may be refused, never settled a second time
        assert a["infcode"] == 0 or "no unsettled fee lines" in a["err_msg"], a["err_msg"]


def test_every_copy_of_a_2207_sent_at_once_gets_the_stored_answer(store: Store) -> None:
    _desk, answers = _the_same_settlement_fired_at_once(store)
    assert [a["err_msg"] for a in answers if a["infcode"] != 0] == []
    assert all(a == answers[0] for a in answers)


# -- one batch, many messages (a HIS retrying after a timeout under fresh msgids) ------------------------------

def _fresh_msgids(desk: Desk, body: bytes, copies: int) -> list[bytes]:
    """The same 2207A content in `copies` envelopes, each with its own msgid."""
    envelope = wire.decode(body)
    return [wire.encode({**envelope, "msgid": desk.client.next_msgid()}) for _ in range(copies)]


def _settlements_of(store: Store, mdtrt_id: str) -> list[Settlement]:
    with store.unit_of_work() as s:
        return list(s.scalars(select(Settlement).where(Settlement.mdtrt_id == mdtrt_id)))


def test_a_batch_sent_at_once_under_fresh_msgids_settles_once(store: Store) -> None:
    desk = Desk(store, dataset("500.00", "0.00", "0.00"))
    body = desk.prepared_settlement(EMPLOYEE, EMPLOYEE_CERT, "310", "50.00", "2")
    mdtrt_id = wire.decode(body)["input"]["data"]["mdtrt_id"]
    answers = desk.fire(_fresh_msgids(desk, body, THREADS))
    ok = [a for a in answers if a["infcode"] == 0]
    assert len(ok) == 1, [a["err_msg"] for a in answers]
    for a in answers:
        assert a["infcode"] == 0 or "no unsettled fee lines" in a["err_msg"], a["err_msg"]
    rows = _settlements_of(store, mdtrt_id)
    assert [r.setl_id for r in rows] == [ok[0]["output"]["setlinfo"]["setl_id"]]
    assert desk.books()["balances"][EMPLOYEE] == D("400.00")
    assert desk.books()["accumulators"][EMPLOYEE] == (D("100.00"), ZERO)


def test_a_cancellation_racing_retries_of_its_batch_leaves_consistent_books(store: Store) -> None:
    desk = Desk(store, dataset("500.00", "0.00", "0.00"))
    body = desk.prepared_settlement(EMPLOYEE, EMPLOYEE_CERT, "310", "50.00", "2")
    mdtrt_id = wire.decode(body)["input"]["data"]["mdtrt_id"]
    first = settled(desk.fire([body]))[0]
    desk.fire([desk.cancellation(first), *_fresh_msgids(desk, body, THREADS - 1)])
    rows = _settlements_of(store, mdtrt_id)
    standing = [r for r in rows if r.status == "settled"]
    assert len(standing) <= 1  # cancelled once, and settled again at most once after it
    assert len([r for r in rows if r.status == "reversal"]) == 1
    with store.unit_of_work() as s:
        line_setl = set(s.scalars(select(FeeDetail.setl_id).where(FeeDetail.mdtrt_id == mdtrt_id)))
    assert line_setl == ({standing[0].setl_id} if standing else {None})
    paid = sum((r.acct_pay for r in standing), ZERO)
    assert desk.books()["balances"][EMPLOYEE] == D("500.00") - paid
    assert -(desk.journal_sum(EMPLOYEE, "settlement") + desk.journal_sum(EMPLOYEE, "refund")) == paid
