"""Parallel settlements: many 2207(A)s fired at the same moment from several threads, each through the gateway's
own pipeline (its own transactions), on SQLite and PostgreSQL.

One person's visits share one account and one deductible; two beneficiaries' visits share one authorizer's
account through mutual aid. The balances cannot cover every visit. Whatever order the database lets them run
in, the books must agree with the answers: the balance moves by exactly the acct_pay answered, never below 0,
the deductible is taken once, and the quota used is the sum of the mutual-aid draws. Then every settlement is
cancelled at once, in parallel too, and every figure comes back to the opening one.
"""

from __future__ import annotations

from typing import Any

import pytest
from concurrency_world import (
    EMPLOYEE,
    EMPLOYEE_CERT,
    KIDS,
    PARENT,
    REGION,
    THREADS,
    ZERO,
    D,
    Desk,
    dataset,
    settled,
)
from sqlalchemy import select

from yibao import wire
from yibao.store.db import Store
from yibao.store.models import Accumulator, FeeDetail, Settlement


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)


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
