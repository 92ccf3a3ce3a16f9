"""`yibao whatif` (docs/whatif.md): a region's month replayed under changed policy, through the CLI, on SQLite and
PostgreSQL over a month settled over the wire (whatif_world.py), and on a month of `yibao simulate` (SQLite)."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import snapshot
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from staff_world import GZ_H, SZ_EMP, SZ_H
from typer.testing import CliRunner
from whatif_world import GZ, LOWER_DEDUCTIBLE, MONTH, SZ, Month, settled_month

from yibao.cli import app
from yibao.store.db import Store
from yibao.store.models import CatalogItem, FeeDetail, Settlement
from yibao.store.readonly import read_only
from yibao.whatif import Changes, source
from yibao.whatif import whatif as whatif_report

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.yaml"


@pytest.fixture
def month(store: Store, monkeypatch: pytest.MonkeyPatch) -> Month:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.setenv("YIBAO_DATABASE_URL", store.url)
    return settled_month(store)


def whatif(tmp_path: Path, *args: str, changes: str | None = None, code: int = 0) -> Any:
    extra: list[str] = []
    if changes is not None:
        path = tmp_path / "changes.yaml"
        path.write_text(changes, encoding="utf-8")
        extra = ["--changes", str(path)]
    result = CliRunner().invoke(app, ["whatif", *args, *extra])
    assert result.exit_code == code, result.output
    return result


def report(tmp_path: Path, region: str, changes: str | None = None) -> dict[str, Any]:
    out = whatif(tmp_path, "--region", region, "--month", MONTH, "--format", "json", changes=changes).output
    return json.loads(out, parse_float=Decimal)


def test_unchanged_every_settlement_replays_as_stored_and_nothing_is_written(month: Month, tmp_path: Path) -> None:
    before = snapshot(month.hub.store)
    for changes in (None, "", "policies: []\n"):
        r = report(tmp_path, SZ, changes)
        total = r["total"]
        assert total["settlements"] == 5  # a1, a2, g, k, p (cancelled); z is Guangzhou's
        assert total["changed"] == 0
        for name in ("fund_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"):
            assert total[name]["before"] == total[name]["after"], name
        assert total["acct_mulaid_pay"]["before"] > 0  # the child's visit drew on his father's account
        assert r["largest_changes"] == []
    assert report(tmp_path, GZ)["total"]["settlements"] == 1
    assert snapshot(month.hub.store) == before


def test_a_lowered_deductible_costs_the_fund_more_explained_per_region(month: Month, tmp_path: Path) -> None:
    r = report(tmp_path, SZ, LOWER_DEDUCTIBLE)
    fund = r["total"]["fund_pay"]
    # worked example A used the whole deductible of 100.00: at 20.00, 80.00 more is pooled at 60 %
    assert fund["change"] == Decimal("48.00")
    assert fund["after"] == fund["before"] + Decimal("48.00")
    # the father's first visit changes too, and its cancellation takes the change back
    assert r["total"]["changed"] == 2
    by_region = {g["region"]: g for g in r["by_region"]}
    assert by_region[SZ]["fund_pay"]["change"] == Decimal("48.00")
    assert by_region[GZ]["fund_pay"]["change"] == 0  # his visit there came after the deductible was used up
    assert {c["setl_id"] for c in r["largest_changes"]} == {month.setl_ids["a1"], month.setl_ids["p"]}
    assert r["fund_effect"] == Decimal("48.00") and r["months"] == [MONTH]
    by_institution = {g["institution"]: g for g in r["by_institution"]}
    assert by_institution[SZ_H]["fund_pay"]["change"] == Decimal("48.00") and by_institution[SZ_H]["name"]
    assert by_institution[GZ_H]["fund_pay"]["change"] == 0
    assert [g["insured_region"] for g in r["by_insured_region"]] == [SZ]
    assert {g["med_type"] for g in r["by_med_type"]} >= {"11"}
    assert sum(g["fund_pay"]["change"] for g in r["by_inst_level"]) == Decimal("48.00")
    # the employee of worked example A alone pays less; the cancelled visit of the other father nets out
    [employee] = r["most_affected_persons"]
    assert employee["psn_no"] == SZ_EMP and employee["fund_pay"]["change"] == Decimal("48.00")
    # what the fund pays more the person pays less: from his account first, then in cash
    changed = next(c for c in r["largest_changes"] if c["setl_id"] == month.setl_ids["a1"])
    assert changed["acct_pay"]["change"] + changed["psn_cash_pay"]["change"] == Decimal("-48.00")
    text = whatif(tmp_path, "--region", SZ, "--month", MONTH, changes=LOWER_DEDUCTIBLE).output
    assert "5 settlements replayed, 2 changed" in text
    assert "+48.00" in text
    assert "effect on the fund: +48.00" in text and "by institution level" in text


def test_withheld_mutual_aid_and_a_changed_ratio_from_a_day(month: Month, tmp_path: Path) -> None:
    r = report(tmp_path, SZ, 'mutual_aid:\n  - {insutype: "390", withheld: true}\n')
    aid = r["total"]["acct_mulaid_pay"]
    assert aid["before"] > 0 and aid["after"] == 0
    assert r["total"]["psn_cash_pay"]["change"] == aid["before"]
    later = report(tmp_path, SZ, 'policies:\n  - {insutype: "310", ratio: "0.9", from: 2026-03-17}\n')
    assert later["total"]["changed"] == 0  # the month was settled on the 16th
    sooner = report(tmp_path, SZ, 'policies:\n  - {insutype: "310", ratio: "0.9", from: 2026-03-16}\n')
    assert sooner["total"]["fund_pay"]["change"] > 0


def test_the_report_as_an_xlsx_workbook(month: Month, tmp_path: Path) -> None:
    out = tmp_path / "whatif.xlsx"
    result = whatif(tmp_path, "--region", SZ, "--month", MONTH, "--format", "xlsx", "--out", str(out),
                    changes=LOWER_DEDUCTIBLE)
    assert str(out) in result.output
    book = load_workbook(io.BytesIO(out.read_bytes()))
    assert book.sheetnames[0] == "by region" and book.sheetnames[-2:] == ["largest changes", "changes"]
    rows = list(book["by region"].iter_rows(values_only=True))
    head, total = rows[1], rows[-1]
    assert total[0] == "total" and total[2] == 5
    assert Decimal(str(total[head.index("fund_pay change")])) == Decimal("48.00")
    largest = [row[0] for row in book["largest changes"].iter_rows(min_row=2, values_only=True)]
    assert sorted(largest) == sorted([month.setl_ids["a1"], month.setl_ids["p"]])


@pytest.mark.parametrize(("changes", "said"), [
    ("policies:\n  - {insutype: '310', deductable: '1.00'}\n", "policies[0].deductable: is not a field here"),
    ("policies:\n  - {insutype: '310', deductible: 1.5}\n", "policies[0].deductible: must be a decimal"),
    ("policies:\n  - {insutype: '310', deductible: '-1'}\n", "policies[0].deductible: must be 0 or more"),
    ("policies:\n  - {insutype: '310', ratio: '1.2'}\n", "policies[0].ratio: must be a share from 0 to 1"),
    ("policies:\n  - {insutype: '510', med_type: '11', deductible: '0'}\n",
     "policies[0]: matches no policy row of region 440300"),
    ("switches:\n  - {name: no_such, 'on': true}\n", "switches[0].name: region 440300 has no switch 'no_such'"),
    ("mutual_aid:\n  - {insutype: '390', withheld: false}\n", "mutual_aid[0].withheld: must be true"),
    ("budget: 1\n", "changes.budget: is not a part of a change document"),
    ("policies: [\n", "changes: is not YAML"),
])
def test_bad_changes_are_refused_naming_the_field(month: Month, tmp_path: Path, changes: str, said: str) -> None:
    result = whatif(tmp_path, "--region", SZ, "--month", MONTH, changes=changes, code=1)
    assert said in result.output


def test_bad_region_month_and_options_are_refused(month: Month, tmp_path: Path) -> None:
    assert "region: no region '449999'" in whatif(tmp_path, "--region", "449999", "--month", MONTH, code=1).output
    assert "month:" in whatif(tmp_path, "--region", SZ, "--month", "2026-13", code=1).output
    assert "--out" in whatif(tmp_path, "--region", SZ, "--month", MONTH, "--format", "xlsx", code=2).output
    missing = whatif(tmp_path, "--region", SZ, "--month", MONTH, "--changes", str(tmp_path / "none.yaml"), code=1)
    assert "changes: cannot read" in missing.output


def test_consecutive_months_replay_as_one_period_carrying_the_accumulators(month: Month, tmp_path: Path) -> None:
    # the employee's second visit moved to April: a period of March and April replays it after his March visits
    with month.hub.store.engine.begin() as conn:
        conn.execute(update(Settlement).where(Settlement.setl_id == month.setl_ids["a2"])
                     .values(setl_time=datetime(2026, 4, 2, 9, 0, 0)))
    raised = 'policies:\n  - {insutype: "310", med_type: "11", deductible: "250.00"}\n'

    def period(first: str, months: int, changes: str | None = None) -> dict[str, Any]:
        out = whatif(tmp_path, "--base", SZ, "--month", first, "--months", str(months), "--format", "json",
                     changes=changes).output
        return json.loads(out, parse_float=Decimal)

    both = period("2026-03", 2)
    assert both["months"] == ["2026-03", "2026-04"] and both["month"] == "2026-03"
    assert both["total"]["settlements"] == 5 and both["total"]["changed"] == 0
    assert period("2026-04", 1)["total"]["settlements"] == 1
    march, april, carried = (period("2026-03", 1, raised), period("2026-04", 1, raised),
                             period("2026-03", 2, raised))
    # April alone opens on the stored accumulator (100.00 of 250.00 used): its visit pays deductible again.
    # Carried, March's replayed visits have used the whole 250.00: the April visit is as stored
    assert april["fund_effect"] < 0 and april["total"]["changed"] == 1
    assert carried["fund_effect"] == march["fund_effect"] == Decimal("-90.00")
    assert carried["total"]["changed"] == march["total"]["changed"]
    # over the new year: the accumulator's year key opens 2027 apart, and an empty period is no error
    assert period("2026-12", 3)["total"]["settlements"] == 0
    assert "months: must be a whole number of months from 1 to 12" in whatif(
        tmp_path, "--region", SZ, "--month", MONTH, "--months", "13", code=1).output


def test_the_replay_runs_on_a_connection_that_cannot_write(month: Month, monkeypatch: pytest.MonkeyPatch) -> None:
    store = month.hub.store
    before = snapshot(store)
    sneaky = update(Settlement).where(Settlement.setl_id == month.setl_ids["a1"]).values(psn_cash_pay=0)
    places = source.institutions

    def writing_places(session: Session) -> Any:
        session.execute(sneaky)  # a slip in the replay: the database refuses it
        return places(session)

    monkeypatch.setattr(source, "institutions", writing_places)
    with pytest.raises(DBAPIError), store.unit_of_work() as session:
        whatif_report(session, SZ, MONTH, Changes())
    assert snapshot(store) == before
    # the mode ends with the block: the same session and connection write again after it
    session = Session(store.engine)
    try:
        with read_only(session), pytest.raises(DBAPIError):
            session.execute(sneaky)
        assert session.execute(sneaky).rowcount == 1
    finally:
        session.rollback()
        session.close()
    assert snapshot(store) == before


def test_a_raised_selfpay_share_of_an_item_moves_exactly_the_settlements_holding_it(month: Month,
                                                                                    tmp_path: Path) -> None:
    # EX-DRUG-B (class 02, 10 % self-paid, capped at 100.00) is on worked example A's lines only: a1, and the
    # father's visit p, whose cancellation released its lines (the pair nets out as stored). At 50 %, 40.00 more
    # of a1's 100.00 in scope is self-paid before pooling
    r = report(tmp_path, SZ, 'catalog:\n  - {code: EX-DRUG-B, selfpay_prop: "0.50"}\n')
    assert [c["setl_id"] for c in r["largest_changes"]] == [month.setl_ids["a1"]]
    assert r["total"]["changed"] == 1
    a1 = next(c for c in r["largest_changes"] if c["setl_id"] == month.setl_ids["a1"])
    assert a1["fund_pay"]["change"] == Decimal("-24.00")  # 40.00 less pooled at 60 %
    assert a1["acct_pay"]["change"] + a1["psn_cash_pay"]["change"] == Decimal("24.00")
    assert r["fund_effect"] == Decimal("-24.00")  # the cancelled visit nets out
    assert r["total"]["psn_cash_pay"]["change"] + r["total"]["acct_pay"]["change"] == Decimal("24.00")
    assert r["changes"]["catalog"] == [{"code": "EX-DRUG-B", "selfpay_prop": {"*": Decimal("0.50")}}]
    # from a day after the month's settlements: nothing moves
    later = report(tmp_path, SZ, 'catalog:\n  - {code: EX-DRUG-B, selfpay_prop: "0.50", from: 2026-03-17}\n')
    assert later["total"]["changed"] == 0


def test_region_settings_withhold_the_accounts_or_a_residents_mutual_aid(month: Month, tmp_path: Path) -> None:
    off = report(tmp_path, SZ, "region: {acct_bookkeeping: false}\n")
    total = off["total"]
    assert total["acct_pay"]["before"] > 0 and total["acct_pay"]["after"] == 0
    assert total["psn_cash_pay"]["change"] == total["acct_pay"]["before"]
    assert off["fund_effect"] == 0
    # the child (a resident) drew on his father's account for an outpatient visit (med_type 11)
    aid = report(tmp_path, SZ, 'region:\n  settings: {resident_mutual_aid_med_types: ["14"]}\n')["total"]
    assert aid["acct_mulaid_pay"]["before"] > 0 and aid["acct_mulaid_pay"]["after"] == 0
    assert aid["psn_cash_pay"]["change"] == aid["acct_mulaid_pay"]["before"]


@pytest.mark.parametrize(("changes", "said"), [
    ("catalog:\n  - {code: EX-DRUG-B, selfpay_prop: '1.5'}\n",
     "catalog[0].selfpay_prop: must be a decimal between 0 and 1"),
    ("catalog:\n  - {code: EX-DRUG-B, chrgitm_lv: '07'}\n", "catalog[0].chrgitm_lv: must be one of 01, 02, 03"),
    ("catalog:\n  - {code: EX-DRUG-B, selfpay: '0.5'}\n", "catalog[0].selfpay: is not a known key"),
    ("catalog:\n  - {code: EX-DRUG-B}\n  - {code: EX-DRUG-B}\n",
     "catalog[0].code: EX-DRUG-B appears more than once in this catalog"),
    ("catalog:\n  - {code: NO-SUCH, selfpay_prop: '0.5'}\n",
     "catalog[0].code: NO-SUCH is not in the catalog of region 440300"),
    ("region: {acct_bookkeeping: 'no'}\n", "region.acct_bookkeeping: must be true or false"),
    ("region:\n  settings: {resident_mutual_aid_med_types: [xx]}\n",
     "region.settings.resident_mutual_aid_med_types: xx is not a med_type code"),
    ("region: {inprov_outpatient_filing_required: true}\n",
     "region.inprov_outpatient_filing_required: is not a setting a replay prices"),
])
def test_catalog_rows_and_region_settings_are_refused_as_a_dataset_would(month: Month, tmp_path: Path,
                                                                          changes: str, said: str) -> None:
    assert said in whatif(tmp_path, "--region", SZ, "--month", MONTH, changes=changes, code=1).output


# -- a simulated month -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def simulated(simulated_month: tuple[Path, str]) -> Path:
    """The month `yibao simulate` made (conftest.py), shared with test_simulate.py."""
    return simulated_month[0] / MONTH / "simulation.db"


def test_a_simulated_month_replays_to_the_cent_and_a_lowered_deductible_costs_more(
        simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_DATABASE_URL", f"sqlite:///{simulated}")
    replayed = 0
    for region in ("440300", "440100", "445200", "140100", "340100"):
        r = report(tmp_path, region)
        assert r["total"]["changed"] == 0, (region, r["largest_changes"])
        replayed += r["total"]["settlements"]
    assert replayed > 40
    lowered = report(tmp_path, "440300", 'policies:\n  - {insutype: "310", deductible: "0.00"}\n')
    assert lowered["total"]["fund_pay"]["change"] > 0
    assert lowered["total"]["changed"] > 0
    assert sum(g["fund_pay"]["change"] for g in lowered["by_region"]) == lowered["total"]["fund_pay"]["change"]


def test_in_a_simulated_month_an_item_made_self_paid_moves_the_settlements_holding_it(
        simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{simulated}"
    monkeypatch.setenv("YIBAO_DATABASE_URL", url)
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            held = conn.execute(
                select(FeeDetail.med_list_codg, Settlement.setl_id, Settlement.psn_no, Settlement.setl_time)
                .join(Settlement, Settlement.setl_id == FeeDetail.setl_id)
                .join(CatalogItem, (CatalogItem.admdvs == Settlement.catalog_admdvs)
                      & (CatalogItem.code == FeeDetail.med_list_codg))
                .where(Settlement.policy_admdvs == "440300", Settlement.catalog_admdvs == "440300",
                       CatalogItem.chrgitm_lv != "03")).all()
            month_rows = {x[0]: (x[1], x[2]) for x in conn.execute(
                select(Settlement.setl_id, Settlement.psn_no, Settlement.setl_time)
                .where(Settlement.policy_admdvs == "440300"))}
    finally:
        store.dispose()
    code = Counter(r[0] for r in held).most_common(1)[0][0]
    holding = {r[1] for r in held if r[0] == code}
    first = {}
    for r in sorted(held, key=lambda r: r[3]):
        if r[0] == code:
            first.setdefault(r[2], r[3])
    out = whatif(tmp_path, "--region", "440300", "--month", MONTH, "--format", "json", "--top", "1000",
                 changes=f'catalog:\n  - {{code: "{code}", chrgitm_lv: "03"}}\n').output
    r = json.loads(out, parse_float=Decimal)
    changed = {c["setl_id"]: c for c in r["largest_changes"]}
    assert len(changed) == r["total"]["changed"] < 1000
    assert holding and holding <= set(changed)  # every settlement holding the item, its lines now self-paid
    for setl_id in holding:
        c = changed[setl_id]
        assert c["fund_pay"]["change"] <= 0 and c["acct_pay"]["change"] + c["psn_cash_pay"]["change"] >= 0
        assert c["acct_pay"]["change"] + c["psn_cash_pay"]["change"] == -c["fund_pay"]["change"]
    # any other settlement that moved came after one holding it, by the same person's accumulator
    for setl_id in set(changed) - holding:
        psn, when = month_rows[setl_id]
        assert psn in first and first[psn] <= when, setl_id
    assert r["fund_effect"] < 0
