"""The pooled funds' double-entry ledger (docs/ledger.md), on SQLite and PostgreSQL: settlements, a cancellation,
the review (a rejection and a deduction, 揭阳 揭医保〔2021〕82号 art. 30), the prepayment and the allocation
(art. 5, 26, 41), mutual aid between regions (广东省《个人账户家庭共济异地使用定点医药机构接入改造指引》 case (1)) and
the month's clearing, each a balanced entry written with its effect; the trial balance of each month, from the
agency API and the CLI, balances and ties to the settlements, the bank instructions and the centre's books to the
cent.

The world is test_monthly_cycle.py's (Shenzhen 440300 and Guangzhou 440100 in Guangdong)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from test_coordination import LINES, co, file, on, upload  # noqa: F401  (co: the fixture)
from test_monthly_cycle import EXAMPLE_A, EXAMPLE_B, GD, GZ, GZ_EMP, SZ, SZ_CHILD, SZ_EMP, SZ_H, Month
from typer.testing import CliRunner

from yibao.cli import app as cli_app
from yibao.platform import fund_ledger as posting
from yibao.platform.trial_balance import trial_balance, unbalanced_entries
from yibao.rules import fund_ledger as fl
from yibao.store.db import Store
from yibao.store.models import Account, FundJournalLine, Settlement

D = Decimal
ZERO = D("0.00")
MARCH, APRIL = "2026-03", "2026-04"
DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.yaml"


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)


@pytest.fixture
def month(store: Store, monkeypatch: pytest.MonkeyPatch) -> Month:
    return Month(store, monkeypatch)


def agency(admdvs: str) -> tuple[str, str]:
    return ("agency", admdvs)


def centre(province: str) -> tuple[str, str]:
    return ("centre", province)


def entry(store: Store, entry_id: str) -> list[tuple[str, str, str | None, Decimal]]:
    with store.unit_of_work() as s:
        return [(x.book, x.account, x.party, x.amount) for x in s.scalars(
            select(FundJournalLine).where(FundJournalLine.entry_id == entry_id).order_by(FundJournalLine.line))]


def closing(tb: dict[str, Any]) -> dict[str, Decimal]:
    """Each account's closing balance (debit positive) of an API trial balance."""
    return {r["code"]: D(str(r["closing"])) for r in tb["accounts"]}


def assert_ties(tb: dict[str, Any]) -> None:
    assert tb["balanced"] and tb["unbalanced_entries"] == [], tb
    assert D(str(tb["totals"]["debits"])) == D(str(tb["totals"]["credits"]))
    for name, tie in tb["ties"].items():
        assert D(str(tie["ledger"])) == D(str(tie["record"])), (name, tie)
    assert tb["tied"]


def test_a_month_of_settlements_review_and_allocation_posts_balanced_entries_that_tie(month: Month) -> None:
    """Settlement posts the fund's expense by fund and the payable to the institution; cancellation (2208) its
    negation; the review withholds a rejection and a deduction (揭阳 揭医保〔2021〕82号 art. 30); allocation pays the
    payable out of the agency's bank account or the centre's advance (art. 5, 26, 41); mutual aid between regions
    is cleared (广东省《个人账户家庭共济异地使用定点医药机构接入改造指引》 case (1)); every trial balance balances
    and ties to the settlements and the fund_031 instructions."""
    store = month.store
    s1 = month.settle(SZ_H, SZ_EMP, EXAMPLE_A)  # fund 54.00, account 196.00
    s2 = month.settle(SZ_H, SZ_CHILD, EXAMPLE_B)  # fund 100.00 (resident), 130.00 from a Guangzhou account
    s3 = month.settle(SZ_H, GZ_EMP, EXAMPLE_A)  # Guangzhou insured: fund 133.00, account 117.00
    s4 = month.settle(SZ_H, GZ_EMP, EXAMPLE_B, acct="0")  # fund 140.00, cash 90.00
    s5 = month.settle(SZ_H, SZ_EMP, EXAMPLE_B)  # fund 120.00, account 110.00, cancelled the same day
    s5_neg = month.cancel(s5)

    assert entry(store, "S" + s1["setl_id"]) == [(SZ, "expense.310100", None, D("54.00")),
                                                  (SZ, "personal_accounts", None, D("196.00")),
                                                  (SZ, "payable_institution", SZ_H, D("-250.00"))]
    # the mutual aid drawn on a Guangzhou account: due from Guangzhou in Shenzhen's book, owed on in Guangzhou's
    assert entry(store, "S" + s2["setl_id"]) == [(SZ, "expense.390100", None, D("100.00")),
                                                  (SZ, "mulaid_receivable", GZ, D("130.00")),
                                                  (GZ, "personal_accounts", None, D("130.00")),
                                                  (GZ, "mulaid_payable", SZ, D("-130.00")),
                                                  (SZ, "payable_institution", SZ_H, D("-230.00"))]
    assert entry(store, "S" + s3["setl_id"])[0] == (GZ, "expense.310100", None, D("133.00"))
    assert entry(store, "S" + s5_neg) == [(b, a, p, -x) for b, a, p, x in entry(store, "S" + s5["setl_id"])]
    assert entry(store, "S" + s4["setl_id"])[-1] == (GZ, "payable_institution", SZ_H, D("-140.00"))

    march_sz = month.get("/agency/ledger/trial-balance", agency(SZ), month=MARCH)
    assert_ties(march_sz)
    assert march_sz["ties"]["fund_expense"]["ledger"] == "154.00"  # 54.00 + 100.00 + 120.00 - 120.00
    assert closing(march_sz) == {"mulaid_receivable": D("130.00"), "payable_institution": D("-480.00"),
                                 "personal_accounts": D("196.00"), "expense.310100": D("54.00"),
                                 "expense.390100": D("100.00")}
    march_gz = month.get("/agency/ledger/trial-balance", agency(GZ), month=MARCH)
    assert_ties(march_gz)
    assert closing(march_gz)["payable_institution"] == D("-390.00")

    # ---- April: declaration, review with a rejection and a deduction, prepayment, allocation ----------------
    month.on("2026-04-02")
    decl = month.post("/institution/declarations", ("institution", SZ_H), 201, setl_ym=MARCH)
    month.on("2026-04-11")
    path = f"/agency/declarations/{decl['decl_id']}"
    month.post(f"{path}/rejections", agency(SZ), 201, setl_id=s4["setl_id"], reason="超量开药，不予支付")
    month.post(f"{path}/deductions", agency(SZ), 201, amount="20.00", reason="串换项目收费(第三十条)",
               setl_id=s3["setl_id"])
    month.post(f"{path}/finish", agency(SZ))
    month.post(f"/centre/clearing/{MARCH}", centre(GD))  # the initial prepayment: 2000.00 and 1000.00
    month.on("2026-04-21")
    month.post(f"/agency/allocations/{MARCH}", agency(SZ))  # 480.00 to SZ_H from Shenzhen's fund
    month.post(f"/centre/allocations/{MARCH}", centre(GD))  # 230.00 to SZ_H from Guangzhou's advance
    month.post(f"/centre/mutual-aid/{MARCH}", centre(GD))  # 130.00 to Shenzhen, charged to Guangzhou
    month.post(f"/centre/clearing/{MARCH}", centre(GD))  # Guangzhou gets 920.00 back

    april_sz = month.get("/agency/ledger/trial-balance", agency(SZ), month=APRIL)
    assert_ties(april_sz)
    sz = closing(april_sz)
    # everything owed to the institution was paid; Guangzhou's mutual aid came in through the centre
    assert (sz["payable_institution"], sz["mulaid_receivable"]) == (ZERO, ZERO)
    assert (sz["bank"], sz["advance_centre"]) == (D("-1350.00"), D("1000.00"))  # -1000 - 480 + 130
    april_gz = month.get("/agency/ledger/trial-balance", agency(GZ), month=APRIL)
    assert_ties(april_gz)
    gz = closing(april_gz)
    assert (gz["payable_institution"], gz["rejected_claims"], gz["review_deductions"], gz["mulaid_payable"]) == (
        ZERO, D("-140.00"), D("-20.00"), ZERO)
    # the advance Guangzhou holds with the centre, as the centre's own books say: 2000 - 230 - 130 - 920
    assert gz["advance_centre"] == D("720.00") == D(month.get("/centre/ledger", centre(GD))["advances"][GZ])
    assert D(april_gz["ties"]["bank"]["record"]) == D("-2000.00") + D("920.00")

    with store.unit_of_work() as s:
        assert unbalanced_entries(s) == []
        books = dict(s.execute(select(FundJournalLine.book, func.sum(FundJournalLine.amount))
                               .group_by(FundJournalLine.book)).all())
        assert set(books) == {SZ, GZ} and all(v == 0 for v in books.values())

    # the CLI prints the same, exit 0 when it balances and ties
    month.mp.setenv("YIBAO_DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    result = CliRunner().invoke(cli_app, ["ledger", "trial-balance", "--region", GZ, "--month", APRIL])
    assert result.exit_code == 0, result.output
    assert "balanced" in result.output and "DIFFERS" not in result.output
    assert "审核拒付挂账 claims rejected in review" in result.output
    as_json = CliRunner().invoke(cli_app, ["ledger", "trial-balance", "--region", SZ, "--month", APRIL, "--json"])
    by_cli = json.loads(as_json.output, parse_float=D)["ties"]
    assert {k: (by_cli[k]["ledger"], by_cli[k]["record"]) for k in by_cli} == {
        k: (D(t["ledger"]), D(t["record"])) for k, t in april_sz["ties"].items()}


def test_the_trial_balance_is_the_agencys_own_and_refuses_a_bad_month(month: Month) -> None:
    month.call("GET", "/agency/ledger/trial-balance", ("institution", SZ_H), 403, params={"month": MARCH})
    assert month.refused("GET", "/agency/ledger/trial-balance", agency(SZ), params={"month": "2026-13"}).startswith(
        "month: '2026-13' is not a month")
    empty = month.get("/agency/ledger/trial-balance", agency(SZ), month=MARCH)
    assert (empty["accounts"], empty["balanced"], empty["tied"]) == ([], True, True)
    month.mp.setenv("YIBAO_DATABASE_URL", month.store.engine.url.render_as_string(hide_password=False))
    for args, said in ((["--region", "999999", "--month", MARCH], "region: no region 999999"),
                       (["--region", SZ, "--month", "March"], "month: 'March' is not a month")):
        result = CliRunner().invoke(cli_app, ["ledger", "trial-balance", *args])
        assert result.exit_code == 1 and said in result.output, result.output


def test_an_unbalanced_entry_rolls_the_settlement_back(month: Month, monkeypatch: pytest.MonkeyPatch) -> None:
    """The balance is checked before commit: a settlement whose entry would not balance is not made at all (no
    settlement, no account debited, no journal line)."""
    def lopsided(s: fl.SettledAmounts) -> list[fl.Line]:
        return [fl.Line(s.insu_admdvs, fl.PAYABLE, -s.fund_pay_sumamt, s.payee)]  # no expense: off by the fund pay

    monkeypatch.setattr(fl, "settlement", lopsided)
    his = month.his(SZ_H)
    visit = his.visit(month.who(SZ_EMP), EXAMPLE_A)
    answer = his.call("2207A", visit.data_2207(), SZ)
    assert answer["infcode"] != 0
    with month.store.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Settlement)) == 0
        assert s.scalar(select(func.count()).select_from(FundJournalLine)) == 0
        assert s.get(Account, SZ_EMP).balance == D("500.00")  # type: ignore[union-attr]


def test_liquidated_damages_post_against_the_payable(store: Store) -> None:
    """The 违约金 posting the review will call: withheld from the institution's payable, the fund's income."""
    with store.unit_of_work() as s:
        entry_id = posting.post_liquidated_damages(s, region=SZ, fixmedins_code=SZ_H, amount=D("300.00"),
                                                   reference="DH44030000301202603", now=datetime(2026, 4, 12, 9))
        tb = trial_balance(s, SZ, APRIL)
    assert entry_id is not None and entry_id.startswith("D")
    assert {r["code"]: r["closing"] for r in tb["accounts"]} == {"payable_institution": D("300.00"),
                                                                 "liquidated_damages": D("-300.00")}
    assert tb["balanced"]


def test_a_coordination_claim_is_owed_to_the_person_and_paid_in_cash(co: Any) -> None:  # noqa: F811 (fixture)
    """Reimbursement coordination (揭阳 揭医保〔2021〕82号 art. 17-18): the claim is the insured region's expense,
    owed to the person, not to the institution; paid in cash it leaves the payable at zero."""
    on(co, "2026-03-16")
    cid = file(co, "2026-03-02", "2026-03-03").json()["id"]
    assert co.http.post(f"/api/v1/agency/coordination/{cid}/dispatch", headers=co.sz).status_code == 200
    upload(co, cid, lines=[{**LINES[0], "fee_ocur_time": "2026-03-03 10:00:00"}])
    with co.store.unit_of_work() as s:
        owed = {r["code"]: r["closing"] for r in trial_balance(s, GZ, MARCH)["accounts"]}
    assert owed == {"payable_insured": D("-37.50"), "expense.310100": D("37.50")}
    assert co.http.post(f"/api/v1/agency/coordination/{cid}/pay", headers=co.gz, json={"method": "cash"}).is_success
    with co.store.unit_of_work() as s:
        tb = trial_balance(s, GZ, MARCH)
    assert {r["code"]: r["closing"] for r in tb["accounts"]} == {
        "cash_disbursed": D("-37.50"), "payable_insured": ZERO, "expense.310100": D("37.50")}
    assert tb["balanced"] and tb["tied"] and tb["ties"]["fund_expense"]["record"] == D("37.50")


# -- a simulated month --------------------------------------------------------------------------------------


def test_a_simulated_month_balances_and_ties_in_every_region(tmp_path: Path) -> None:
    """`yibao simulate`: 310 visits over the wire of a real server, then the monthly cycle (review with a rejection,
    prepayment, allocation, mutual aid, clearing). Each region's trial balance of March (the settlements) and of
    April (the cycle) balances and ties; over all books the fund expense is the month's fund pay to the cent."""
    result = CliRunner().invoke(cli_app, ["simulate", "--month", MARCH, "--dataset", str(DEMO), "--out",
                                          str(tmp_path), "--visits", "10", "--seed", "1"])
    assert result.exit_code == 0, result.output
    store = Store(f"sqlite:///{tmp_path / MARCH / 'simulation.db'}")
    try:
        with store.unit_of_work() as s:
            assert unbalanced_entries(s) == []
            books = sorted(s.scalars(select(FundJournalLine.book).distinct()))
            assert len(books) >= 4
            expense = ZERO
            for book in books:
                for ym in (MARCH, APRIL):
                    tb = trial_balance(s, book, ym)
                    assert tb["balanced"] and tb["tied"], (book, ym, tb["ties"], tb["unbalanced_entries"])
                    expense += tb["ties"]["fund_expense"]["ledger"] if ym == MARCH else ZERO
                april = {r["code"]: r["closing"] for r in trial_balance(s, book, APRIL)["accounts"]}
                # every declaration was allocated: nothing is owed to an institution any more
                assert april.get("payable_institution", ZERO) == 0, book
            S = Settlement
            fund_pay = s.scalar(select(func.sum(S.fund_pay_sumamt)).where(S.setl_time < datetime(2026, 4, 1)))
            assert expense == fund_pay and fund_pay > D("10000.00")
            assert s.scalar(select(func.count()).select_from(S)) > 300
            # the rejection of the simulated review waits in its own account
            rejected = s.scalar(select(func.sum(FundJournalLine.amount)).where(FundJournalLine.account == fl.REJECTED))
            assert rejected is not None and rejected < 0
    finally:
        store.dispose()
