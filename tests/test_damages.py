"""违约金 imposed in review (揭阳 揭医保〔2021〕82号, forwarding 粤医保规〔2021〕4号, art. 30), over the monthly cycle's
world (tests/test_monthly_cycle.py): through the JSON API and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_monthly_cycle import (  # noqa: F401  (_clock: that world's clock, an autouse fixture)
    EXAMPLE_A,
    GZ,
    GZ_EMP,
    MARCH,
    SZ,
    SZ_EMP,
    SZ_H,
    Month,
    _clock,
    agency,
    centre,
    institution,
    m,
    outbox,
    totals,
)
from typer.testing import CliRunner

from yibao.cli import app as cli_app

D = Decimal


@pytest.fixture
def cycle(store, monkeypatch) -> Month:
    return Month(store, monkeypatch)


def test_damages_reduce_the_institutions_payment_beside_deductions_and_show_in_the_tables(cycle: Month) -> None:
    """揭医保〔2021〕82号 (粤医保规〔2021〕4号) art. 30: the treatment region's agency deducts the amounts of
    violations (they reduce the insured region's charge) and deals with 违约金 imposed under the service
    agreement, which the treatment region keeps. March: s1 a Shenzhen employee (agency pays 54.00 fund +
    196.00 account), s3 a Guangzhou employee (centre pays 133.00 + 117.00) at SZ_H; in review 20.00 is deducted
    from s3 and 违约金 of 25.00 (API) and 5.00 (CLI) imposed: approved 500.00 - 20.00 - 30.00 = 450.00, the
    agency pays 220.00, the centre 230.00."""
    month = cycle
    s1 = month.settle(SZ_H, SZ_EMP, EXAMPLE_A)
    s3 = month.settle(SZ_H, GZ_EMP, EXAMPLE_A)
    assert (s1["fund_pay_sumamt"], s3["fund_pay_sumamt"]) == (D("54.00"), D("133.00"))
    month.on("2026-04-02")
    decl = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=MARCH)
    path = f"/agency/declarations/{decl['decl_id']}"

    month.on("2026-04-11")
    month.post(f"{path}/deductions", agency(SZ), 201, amount="20.00", reason="串换项目", setl_id=s3["setl_id"])
    imposed = month.post(f"{path}/damages", agency(SZ), 201, amount="25.00", reason="未按协议公示收费标准")
    assert (imposed["fixmedins_code"], m(imposed["amount"]), imposed["insutype"]) == (SZ_H, D("25.00"), "310")
    # the rules: within what the declaration still pays, by the declaration's agency, a known insutype
    assert month.refused("POST", f"{path}/damages", agency(SZ), json={"amount": "455.01", "reason": "x"}) == (
        f"amount: 455.01 exceeds what declaration {decl['decl_id']} still pays the institution (455.00)")
    assert month.refused("POST", f"{path}/damages", agency(SZ), json={
        "amount": "1.00", "reason": "x", "insutype": "390"}).startswith(f"insutype: declaration {decl['decl_id']} "
                                                                       "has no 390 settlements to pay (it has 310)")
    month.call("POST", f"{path}/damages", agency(GZ), 404, json={"amount": "1.00", "reason": "x"})
    month.call("POST", f"{path}/damages", institution(SZ_H), 403, json={"amount": "1.00", "reason": "x"})
    month.mp.setenv("YIBAO_DATABASE_URL", month.store.engine.url.render_as_string(hide_password=False))
    by_cli = CliRunner().invoke(cli_app, ["review", "damages", SZ, decl["decl_id"], "5.00", "--reason", "拒不配合检查"])
    assert by_cli.exit_code == 0 and by_cli.stdout.startswith("违约金 "), by_cli.output

    # the single list of what the allocation withholds, for a ledger to post
    withheld = month.get(f"{path}/subtractions", agency(SZ))
    assert [(x["kind"], x["insu_admdvs"], m(x["amount"]), x["reason"]) for x in withheld] == [
        ("deduction", GZ, D("20.00"), "串换项目"), ("damages", SZ, D("25.00"), "未按协议公示收费标准"),
        ("damages", SZ, D("5.00"), "拒不配合检查")]
    month.call("GET", f"{path}/subtractions", agency(GZ), 404)

    done = month.post(f"{path}/finish", agency(SZ))
    assert (m(done["approved"]), m(done["deducted"])) == (D("450.00"), D("20.00"))
    assert sorted((i["payer"], i["charged_admdvs"], i["part"], m(i["amount"])) for i in done["plan"]) == [
        ("agency", SZ, "acct", D("196.00")), ("agency", SZ, "damages", D("-30.00")), ("agency", SZ, "fund", D("54.00")),
        ("centre", GZ, "acct", D("117.00")), ("centre", GZ, "fund", D("113.00"))]
    assert month.refused("POST", f"{path}/damages", agency(SZ), json={"amount": "1.00", "reason": "x"}).endswith(
        "is reviewed: its review is finished")

    # the review tables
    notes = month.get(f"/institution/reports/{MARCH}/review-notes", institution(SZ_H))
    assert [(r["item"], D(r["amount"])) for r in notes["rows"]] == [
        ("申报", D("500.00")), ("违规扣款", D("-20.00")), ("违约金", D("-25.00")), ("违约金", D("-5.00"))]
    assert totals(notes)["amount"] == D("450.00")
    payment = month.get(f"/agency/reports/{MARCH}/review-payment", agency(SZ))
    assert [(r["insu_admdvs"], D(r["declared"]), D(r["deducted"]), D(r["damages"]), D(r["approved"]))
            for r in payment["rows"]] == [(GZ, D("250.00"), D("20.00"), D("0.00"), D("230.00")),
                                          (SZ, D("250.00"), D("0.00"), D("30.00"), D("220.00"))]
    plan = month.get(f"/agency/reports/{MARCH}/allocation-plan", agency(SZ))
    assert ("违约金(扣减)", D("-30.00")) in [(r["part"], D(r["amount"])) for r in plan["rows"]]
    assert totals(plan)["amount"] == D("450.00")

    # the allocation pays declared - deductions - 违约金
    month.on("2026-04-21")
    assert m(month.post(f"/agency/allocations/{MARCH}", agency(SZ))["total"]) == D("220.00")
    assert m(month.post(f"/centre/allocations/{MARCH}", centre("440000"))["total"]) == D("230.00")
    assert outbox(month.store) == sorted([("FUND-440300", SZ, D("220.00"), SZ_H),
                                          ("CENTRE-440000", "440000", D("230.00"), SZ_H)])

    # the fund ledger (docs/ledger.md): the 违约金 is the treatment region's income, and once allocated nothing
    # stays owed to the institution in Shenzhen's book
    april = month.get("/agency/ledger/trial-balance", agency(SZ), month="2026-04")
    assert april["balanced"] and april["tied"], april
    closing = {r["code"]: D(str(r["closing"])) for r in april["accounts"]}
    assert closing["liquidated_damages"] == D("-30.00")
    assert closing["payable_institution"] == D("0.00")


def test_damages_on_an_institution_paid_only_by_the_centre_are_repaid_to_the_treatment_region(cycle: Month) -> None:
    """揭医保〔2021〕82号 (粤医保规〔2021〕4号) art. 30: 违约金 stays with the treatment region, whatever region's
    insured the month was for. SZ_H treated only a Guangzhou employee (the centre pays 250.00); 违约金 of 10.00
    makes the Shenzhen agency's part -10.00: the institution pays it to the Shenzhen fund, the centre still
    pays the 250.00 charged to Guangzhou."""
    month = cycle
    month.settle(SZ_H, GZ_EMP, EXAMPLE_A)
    month.on("2026-04-02")
    decl = month.post("/institution/declarations", institution(SZ_H), 201, setl_ym=MARCH)
    month.on("2026-04-11")
    month.post(f"/agency/declarations/{decl['decl_id']}/damages", agency(SZ), 201, amount="10.00", reason="违约")
    done = month.post(f"/agency/declarations/{decl['decl_id']}/finish", agency(SZ))
    assert m(done["approved"]) == D("240.00")
    month.on("2026-04-21")
    assert m(month.post(f"/agency/allocations/{MARCH}", agency(SZ))["total"]) == D("-10.00")
    month.post(f"/centre/allocations/{MARCH}", centre("440000"))
    assert outbox(month.store) == sorted([(SZ_H, SZ, D("10.00"), "FUND-440300"),
                                          ("CENTRE-440000", "440000", D("250.00"), SZ_H)])
