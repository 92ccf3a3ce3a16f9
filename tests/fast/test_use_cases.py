"""The outpatient use cases called directly, as a face calls them: one `Work` (a unit of work, the business clock,
the calling institution) per message, over an SQLite copy of the migrated template; no HTTP, no gateway, no server.

The figures are rules.md's worked examples to the cent (A: Shenzhen employee; B: a Taiyuan child paid from the
parent's account by mutual aid), the same the wire tests (tests/test_outpatient.py) read from the answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from outpatient_world import (
    CHILD,
    EMPLOYEE,
    EXAMPLE_A,
    EXAMPLE_B,
    PARENT,
    SZ_HOSP,
    TY_HOSP,
    ZERO,
    D,
    balance,
    base_doc,
    id_card,
    person,
    person_in,
    quota_used,
    usage,
)
from sqlalchemy import func, select

from yibao.dataset.loader import load_document
from yibao.errors import Refusal
from yibao.platform import checkout, fees, mutual_aid, uploads, visits
from yibao.platform.checkout import Bill, Claim
from yibao.platform.work import Caller, Work, working
from yibao.store.db import Store
from yibao.store.models import Institution, MutualAidAuthorization, Settlement

SPOUSE = "14010000000000000103"  # a Taiyuan employee without money of his own, for a binding made here
AT = datetime(2026, 3, 16, 9, 0, 0)


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The business date is the dataset's (2026-03-16), whatever the shell has set."""
    monkeypatch.delenv("YIBAO_TODAY", raising=False)


def dataset() -> dict[str, Any]:
    """The conformance dataset (outpatient_world.base_doc) and a Taiyuan spouse with an empty account."""
    doc = base_doc()
    doc["persons"].append(person(SPOUSE, "例配", id_card("14010119720101102"), "310", "140100", "1101", "0.00"))
    return doc


@pytest.fixture
def books(store: Store) -> Store:
    load_document(store, dataset())
    return store


_msgids = iter(range(1, 10**6))


@contextmanager
def desk(store: Store, code: str) -> Iterator[Work]:
    """One message of institution `code`: its Work, committed when the block ends, rolled back on a refusal."""
    with working(store, Caller("institution", code, "op01", "测试"), msgid=f"{code}{next(_msgids):016d}") as work:
        work.institution = work.session.get(Institution, code)
        yield work


def who(psn_no: str) -> dict[str, Any]:
    return person_in(dataset(), psn_no)


def lines(batch: str, items: list[tuple[str, str, str]]) -> list[fees.LineIn]:
    return [fees.LineIn(f"input.feedetail[{i}]", f"{batch}-{i + 1:03d}", code, "H-" + code, D(pric), D(cnt),
                        (D(pric) * D(cnt)).quantize(D("0.01")), AT, chrg_bchno=batch)
            for i, (code, pric, cnt) in enumerate(items)]


def open_and_upload(store: Store, code: str, psn_no: str, items: list[tuple[str, str, str]],
                    batch: str = "B1", otp: str = "OTP-1") -> tuple[str, dict[str, Decimal]]:
    """2201 + 2203 + 2204 as use cases: the visit's id and the sums of its split lines."""
    p = who(psn_no)
    with desk(store, code) as work:
        visit = visits.open_visit(work, visits.Opening("outpatient", psn_no, p["insutype"], AT, "02", otp,
                                                       p["certno"]), at="input.data")
        mdtrt_id = visit.mdtrt_id
    with desk(store, code) as work:
        visits.describe(work, visits.visit_of(work, mdtrt_id, psn_no, "outpatient"), med_type="11",
                        replace_disease=True)
    with desk(store, code) as work:
        rows = uploads.upload(work, "outpatient", mdtrt_id, psn_no, lines(batch, items))
        sums = {k: sum((getattr(r, k) for r in rows), ZERO) for k in
                ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")}
    return mdtrt_id, sums


def bill(psn_no: str, mdtrt_id: str, sums: dict[str, Decimal], insutype: str = "310", batch: str = "B1",
         **claim: Decimal) -> Bill:
    """What a 2207 asks: the amounts it says the lines sum to (each may be overridden)."""
    said = {"medfee_sumamt": sums["det_item_fee_sumamt"], "fulamt_ownpay_amt": sums["fulamt_ownpay_amt"],
            "overlmt_selfpay": sums["overlmt_amt"], "preselfpay_amt": sums["preselfpay_amt"],
            "inscp_scp_amt": sums["inscp_scp_amt"], **claim}
    return Bill(psn_no, mdtrt_id, insutype, "1", Claim(**said), med_type="11", chrg_bchno=batch)


def settlements(store: Store) -> int:
    with store.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(Settlement)) or 0)


def exactly(row: Any, **want: str) -> None:
    """Each figure to the cent, kept with two places."""
    for key, value in want.items():
        got = getattr(row, key)
        assert got == D(value), f"{key}: got {got}, want {value}"
        assert -got.as_tuple().exponent == 2, f"{key} is kept as {got}, not with two places"


def test_worked_example_a_open_upload_presettle_settle_refuse_again_and_cancel(books: Store) -> None:
    mdtrt_id, sums = open_and_upload(books, SZ_HOSP, EMPLOYEE, EXAMPLE_A)
    # rules.md 3: the split of the lines
    assert sums == {"det_item_fee_sumamt": D("250.00"), "fulamt_ownpay_amt": D("30.00"), "overlmt_amt": D("20.00"),
                    "preselfpay_amt": D("10.00"), "inscp_scp_amt": D("190.00")}

    # 2206: priced, nothing written
    with desk(books, SZ_HOSP) as work:
        comp = checkout.price_outpatient(work, bill(EMPLOYEE, mdtrt_id, sums)).comp
        exactly(comp.shares, act_pay_dedc="100.00", hifp_pay="54.00", fund_pay_sumamt="54.00",
                psn_part_amt="196.00")
        assert (comp.acct_pay, comp.psn_cash_pay, comp.balc) == (D("196.00"), D("0.00"), D("304.00"))
    assert balance(books, EMPLOYEE) == D("500.00") and settlements(books) == 0

    # 2207: settled, the account and the year's accumulator moved
    with desk(books, SZ_HOSP) as work:
        done = checkout.settle_outpatient(work, bill(EMPLOYEE, mdtrt_id, sums))
        setl_id = done.row.setl_id
        exactly(done.row, medfee_sumamt="250.00", fulamt_ownpay_amt="30.00", overlmt_selfpay="20.00",
                preselfpay_amt="10.00", inscp_scp_amt="190.00", act_pay_dedc="100.00", hifp_pay="54.00",
                fund_pay_sumamt="54.00", psn_part_amt="196.00", acct_pay="196.00", acct_mulaid_pay="0.00",
                psn_cash_pay="0.00", balc="304.00")
        assert done.row.pool_prop_selfpay == D("0.6000")
    assert balance(books, EMPLOYEE) == D("304.00")
    assert usage(books, EMPLOYEE) == (D("100.00"), D("54.00"))

    # the same batch a second time: nothing left to settle, nothing written
    with pytest.raises(Refusal) as refused, desk(books, SZ_HOSP) as work:
        checkout.settle_outpatient(work, bill(EMPLOYEE, mdtrt_id, sums))
    assert refused.value.err_msg.startswith("input.data.chrg_bchno: no unsettled fee lines"), refused.value.err_msg
    assert settlements(books) == 1 and balance(books, EMPLOYEE) == D("304.00")

    # 2208: reversed exactly
    with desk(books, SZ_HOSP) as work:
        cancelled = checkout.cancel(work, setl_id, mdtrt_id, EMPLOYEE, "outpatient")
        exactly(cancelled.reversal, medfee_sumamt="-250.00", hifp_pay="-54.00", acct_pay="-196.00")
    assert balance(books, EMPLOYEE) == D("500.00")
    assert usage(books, EMPLOYEE) == (D("0.00"), D("0.00"))
    with books.unit_of_work() as s:
        assert s.get(Settlement, setl_id).status == "cancelled"  # type: ignore[union-attr]
    with pytest.raises(Refusal) as again, desk(books, SZ_HOSP) as work:
        checkout.cancel(work, setl_id, mdtrt_id, EMPLOYEE, "outpatient")
    assert "already cancelled" in again.value.err_msg


def test_a_claim_that_is_not_the_lines_sum_is_refused_naming_the_field(books: Store) -> None:
    mdtrt_id, sums = open_and_upload(books, SZ_HOSP, EMPLOYEE, EXAMPLE_A)
    with pytest.raises(Refusal) as refused, desk(books, SZ_HOSP) as work:
        checkout.settle_outpatient(work, bill(EMPLOYEE, mdtrt_id, sums, inscp_scp_amt=D("180.00")))
    assert refused.value.err_msg == ("input.data.inscp_scp_amt: 180.00 sent, but the unsettled lines of batch B1 "
                                     "sum to 190.00"), refused.value.err_msg
    assert settlements(books) == 0 and balance(books, EMPLOYEE) == D("500.00")


def test_another_institution_cannot_reach_the_visit(books: Store) -> None:
    mdtrt_id, sums = open_and_upload(books, SZ_HOSP, EMPLOYEE, EXAMPLE_A)
    with pytest.raises(Refusal) as refused, desk(books, TY_HOSP) as work:
        checkout.price_outpatient(work, bill(EMPLOYEE, mdtrt_id, sums))
    assert refused.value.err_msg == f"input.data.mdtrt_id: no visit {mdtrt_id} at this institution"


def test_worked_example_b_the_child_pays_from_the_parents_account(books: Store) -> None:
    mdtrt_id, sums = open_and_upload(books, TY_HOSP, CHILD, EXAMPLE_B)
    with desk(books, TY_HOSP) as work:
        done = checkout.settle_outpatient(work, bill(CHILD, mdtrt_id, sums, insutype="390"))
        exactly(done.row, medfee_sumamt="230.00", fulamt_ownpay_amt="30.00", inscp_scp_amt="200.00",
                hifp_pay="100.00", psn_part_amt="130.00", acct_pay="130.00", acct_mulaid_pay="130.00",
                psn_cash_pay="0.00")
    assert (balance(books, PARENT), quota_used(books, PARENT, CHILD)) == (D("2870.00"), D("130.00"))


def test_a_binding_made_by_the_use_case_pays_within_its_quota_and_a_second_is_refused(books: Store) -> None:
    binding = mutual_aid.Binding(PARENT, SPOUSE, "spouse", D("150.00"), date(2026, 3, 16), date(2026, 12, 31), None,
                                 "TY-2024-v1", AT)
    with desk(books, TY_HOSP) as work:
        grant = mutual_aid.bind(work.session, binding, now=work.now, today=work.today, actor=PARENT)
        assert (grant.status, grant.quota, grant.quota_used) == ("active", D("150.00"), D("0.00"))
    with pytest.raises(Refusal) as refused, desk(books, TY_HOSP) as work:
        mutual_aid.bind(work.session, binding, now=work.now, today=work.today, actor=PARENT)
    assert "beneficiary: an active authorization for this beneficiary already exists" in refused.value.err_msg
    with books.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(MutualAidAuthorization).where(
            MutualAidAuthorization.beneficiary == SPOUSE)) == 1

    # worked example A's bill for the spouse: 196.00 to pay from accounts, 150.00 of it by the parent's grant
    mdtrt_id, sums = open_and_upload(books, TY_HOSP, SPOUSE, EXAMPLE_A)
    with desk(books, TY_HOSP) as work:
        done = checkout.settle_outpatient(work, bill(SPOUSE, mdtrt_id, sums))
        exactly(done.row, hifp_pay="54.00", psn_part_amt="196.00", acct_pay="150.00", acct_mulaid_pay="150.00",
                psn_cash_pay="46.00")
    assert (balance(books, PARENT), quota_used(books, PARENT, SPOUSE)) == (D("2850.00"), D("150.00"))
