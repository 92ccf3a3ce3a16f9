"""`yibao load` behaviour through the public API: validation with path-named problems, all-or-nothing writes,
idempotent reloads, balances moved only by the change of the stated figure, the simulation clock."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, update

from yibao.clock import business_date
from yibao.dataset.loader import DatasetError, LoadReport, load_document, load_file
from yibao.store import models as m
from yibao.store.db import Store

TESTS = Path(__file__).parent
WORLD = TESTS / "data" / "world.yaml"
DEMO = TESTS.parent / "examples" / "demo.yaml"
CONFORMANCE = Path("/work/shared/conformance/dataset.json")

SZ_EMPLOYEE = "44030000000000000001"  # 张三, 310, account 500.00 in world.yaml
SZ_RESIDENT = "44030000000000000002"  # 李四, 390, no account
TY_EMPLOYEE = "14010000000000000001"  # 赵六, insured in Shanxi


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The business date must come from the document, whatever the shell running the tests has set."""
    monkeypatch.delenv("YIBAO_TODAY", raising=False)


# -- helpers ------------------------------------------------------------------------------------------------

def world_doc() -> dict[str, Any]:
    """A fresh copy of tests/data/world.yaml as the loader receives it from YAML."""
    return copy.deepcopy(_WORLD)


_WORLD: dict[str, Any] = yaml.safe_load(WORLD.read_text(encoding="utf-8"))

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [int(index) if index else key for key, index in _STEP.findall(path)]


def _parent(doc: Any, path: str) -> tuple[Any, str | int]:
    *head, last = _steps(path)
    node = doc
    for step in head:
        node = node[step]
    return node, last


def set_at(doc: Any, path: str, value: Any) -> None:
    """Set the value a problem path names (`regions[0].policies[0].ratio`)."""
    node, last = _parent(doc, path)
    node[last] = value


def del_at(doc: Any, path: str) -> None:
    node, last = _parent(doc, path)
    del node[last]


def id_card(first17: str) -> str:
    """An ID card number with a valid GB 11643 check digit."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def refused(store: Store, raw: Any) -> list[str]:
    """Load a document that must be refused; its problems as "path: rule" texts."""
    with pytest.raises(DatasetError) as caught:
        load_document(store, raw)
    problems = caught.value.problems
    assert problems, "a refusal names at least one problem"
    for p in problems:
        assert str(p) == (f"{p.path}: {p.rule}" if p.path else p.rule)
    assert str(caught.value) == "\n".join(str(p) for p in problems)
    return [str(p) for p in problems]


def row_counts(store: Store) -> dict[str, int]:
    """Rows of every business table (reference_version is the schema's own counter, made by its migration)."""
    with store.engine.connect() as conn:
        return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in m.Base.metadata.sorted_tables
                if t.name != "reference_version"}


def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered by primary key."""
    with store.engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in m.Base.metadata.sorted_tables}


def account(store: Store, psn_no: str) -> m.Account:
    with store.unit_of_work() as s:
        row = s.get(m.Account, psn_no)
        assert row is not None
        return row


def journal(store: Store, psn_no: str) -> list[m.AccountEntry]:
    with store.unit_of_work() as s:
        return list(s.scalars(select(m.AccountEntry).where(m.AccountEntry.psn_no == psn_no)
                              .order_by(m.AccountEntry.id)))


def person_index(doc: dict[str, Any], psn_no: str) -> int:
    return next(i for i, p in enumerate(doc["persons"]) if p["psn_no"] == psn_no)


# -- one bad thing at a time: the exact path and rule ---------------------------------------------------------

@dataclass(frozen=True)
class Bad:
    mutate: Callable[[dict[str, Any]], None]
    expected: tuple[tuple[str, str], ...]  # every problem the document has: (exact path, key phrase of the rule)


def _setting(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: set_at(doc, path, value)


def _deleting(path: str) -> Callable[[dict[str, Any]], None]:
    return lambda doc: del_at(doc, path)


def _rename_key(path: str, new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node, last = _parent(doc, path)
        node[new] = node.pop(last)
    return mutate


def _policy_window(doc: dict[str, Any]) -> None:
    doc["regions"][1]["policies"][0].update({"from": date(2026, 6, 1), "to": date(2026, 1, 1)})


def _duplicate_psn_no(doc: dict[str, Any]) -> None:
    twin = copy.deepcopy(doc["persons"][3])
    twin.update(certno=id_card("14010119700102101"), card_no="SSC-TY-0002")
    doc["persons"].append(twin)


BAD: dict[str, Bad] = {
    "ratio above 1": Bad(
        _setting("regions[0].policies[0].ratio", "1.05"),
        (("regions[0].policies[0].ratio", "must be a decimal between 0 and 1"),)),
    "ratio as a number": Bad(
        _setting("regions[1].policies[0].ratio", 0.7),
        (("regions[1].policies[0].ratio", "quoted decimal string"),)),
    "money as a float": Bad(
        _setting("persons[0].account.balance", 500.0),
        (("persons[0].account.balance", 'must be an amount of money written as a quoted decimal string'),)),
    "money as an int": Bad(
        _setting("regions[0].policies[0].annual_cap", 5000),
        (("regions[0].policies[0].annual_cap", "quoted decimal string"),)),
    "money with 3 decimals": Bad(
        _setting("regions[0].policies[0].deductible", "100.001"),
        (("regions[0].policies[0].deductible", "at most 2 decimal places"),)),
    "negative money": Bad(
        _setting("persons[2].account.balance", "-0.01"),
        (("persons[2].account.balance", "not below 0"),)),
    "admdvs of 5 digits": Bad(
        _setting("regions[2].admdvs", "14010"),
        (("regions[2].admdvs", "must be a 6-digit region code"),)),
    "admdvs as an int": Bad(
        _setting("institutions[0].admdvs", 440300),
        (("institutions[0].admdvs", "must be a quoted string (a 6-digit region code)"),)),
    "unknown key (typo)": Bad(
        _rename_key("persons[0].card_no", "card_nO"),
        (("persons[0].card_nO", "is not a known key"),)),
    "unknown top-level key": Bad(
        _setting("filing", []),
        (("filing", "is not a known key"),)),
    "missing name": Bad(
        _deleting("persons[1].name"),
        (("persons[1].name", "is required"),)),
    "ID card check digit": Bad(
        _setting("persons[1].certno", "440301201506010027"),
        (("persons[1].certno", "not a valid ID card number"),)),
    "impossible date": Bad(
        _setting("persons[1].brdy", "2015-02-30"),
        (("persons[1].brdy", "must be an ISO date (yyyy-mm-dd)"),)),
    "non-ISO date": Bad(
        _setting("mutual_aid[0].start", "01/01/2026"),
        (("mutual_aid[0].start", "must be an ISO date (yyyy-mm-dd)"),)),
    "chrgitm_lv 04": Bad(
        _setting("regions[0].catalog[0].chrgitm_lv", "04"),
        (("regions[0].catalog[0].chrgitm_lv", "must be one of 01, 02, 03"),)),
    "selfpay_prop key not an insutype": Bad(
        _setting("regions[0].catalog[1].selfpay_prop", {"310": "0.10", "320": "0.15"}),
        (("regions[0].catalog[1].selfpay_prop", "key '320' must be an insutype"),)),
    "institution kind": Bad(
        _setting("institutions[1].kind", "clinic"),
        (("institutions[1].kind", "must be one of hospital, pharmacy"),)),
    "institution secret too short": Bad(
        _setting("institutions[1].secret", "short"),
        (("institutions[1].secret", "at least 8 characters"),)),
    "institution in an undefined region": Bad(
        _setting("institutions[1].admdvs", "450100"),
        (("institutions[1].admdvs", "region 450100 is not defined"),)),
    "hospital without level": Bad(
        _deleting("institutions[0].level"),
        (("institutions[0].level", "is required for a hospital"),)),
    "account on a resident (390)": Bad(
        _setting("persons[1].account", {"balance": "10.00", "admdvs": "440300"}),
        (("persons[1].account", "only employees (insutype 310) have a personal account"),)),
    "chronic disease not of the region": Bad(
        _setting("persons[0].chronic[0].code", "M99999"),
        (("persons[0].chronic[0].code", "M99999 is not a disease of region 440300"),)),
    "duplicate psn_no": Bad(
        _duplicate_psn_no,
        (("persons", f"{TY_EMPLOYEE} appears 2 times"),)),
    "duplicate certno": Bad(
        _setting("persons[3].certno", "440106198408211031"),
        (("persons[2].certno", "is used by another person"), ("persons[3].certno", "is used by another person"))),
    "duplicate catalog code": Bad(
        _setting("regions[0].catalog[1].code", "EX-DRUG-A"),
        (("regions[0].catalog[0].code", "EX-DRUG-A appears more than once"),
         ("regions[0].catalog[1].code", "EX-DRUG-A appears more than once"))),
    "mutual_aid to an unknown person": Bad(
        _setting("mutual_aid[0].beneficiary", "44030000000000000099"),
        (("mutual_aid[0].beneficiary", "person 44030000000000000099 is not defined"),)),
    "mutual_aid from an unknown person": Bad(
        _setting("mutual_aid[0].authorizer", "44030000000000000098"),
        (("mutual_aid[0].authorizer", "person 44030000000000000098 is not defined"),)),
    "mutual_aid authorizer == beneficiary": Bad(
        _setting("mutual_aid[0].beneficiary", SZ_EMPLOYEE),
        (("mutual_aid[0].beneficiary", "cannot authorize himself"),)),
    "mutual_aid authorizer without account": Bad(
        lambda doc: doc["mutual_aid"][0].update(authorizer=SZ_RESIDENT, beneficiary=SZ_EMPLOYEE),
        (("mutual_aid[0].authorizer", "must be an employee (310) with a personal account"),)),
    "mutual_aid ends before it starts": Bad(
        _setting("mutual_aid[0].end", date(2025, 12, 31)),
        (("mutual_aid[0].end", "ends (2025-12-31) before it starts (2026-01-01)"),)),
    "mutual_aid across provinces": Bad(
        _setting("mutual_aid[0].beneficiary", TY_EMPLOYEE),
        (("mutual_aid[0].beneficiary", "insured in province 14, the authorizer in 44"),)),
    "filing with both destinations": Bad(
        _setting("filings[0].dest_fixmedins", "H44030000001"),
        (("filings[0]", "needs exactly one destination"),)),
    "filing with no destination": Bad(
        _setting("filings[0].dest_admdvs", None),
        (("filings[0]", "needs exactly one destination"),)),
    "filing to an unknown institution": Bad(
        lambda doc: doc["filings"][0].update(dest_admdvs=None, dest_fixmedins="H99999999999"),
        (("filings[0].dest_fixmedins", "institution H99999999999 is not defined"),)),
    "filing of an unknown person": Bad(
        _setting("filings[0].psn_no", "14010000000000000009"),
        (("filings[0].psn_no", "person 14010000000000000009 is not defined"),)),
    "policy to before from": Bad(
        _policy_window,
        (("regions[1].policies[0].to", "ends (2026-01-01) before it starts (2026-06-01)"),)),
    "calendar day in another year": Bad(
        _setting("calendar", {2031: {"holidays": ["2031-10-01", "2032-01-01"]}}),
        (("calendar[2031].holidays[1]", "2032-01-01 is not in 2031"),)),
    "calendar adjusted working day on a weekday": Bad(
        _setting("calendar", {2031: {"workdays": ["2031-09-29"]}}),
        (("calendar[2031].workdays[0]", "is a Monday: an adjusted working day is a Saturday or Sunday"),)),
    "calendar day both holiday and working day": Bad(
        _setting("calendar", {2031: {"holidays": ["2031-10-04"], "workdays": ["2031-10-04"]}}),
        (("calendar[2031].workdays[0]", "also among the holidays"),)),
    "calendar impossible date": Bad(
        _setting("calendar", {2031: {"holidays": ["2031-02-30"]}}),
        (("calendar[2031].holidays[0]", "must be an ISO date"),)),
    "policy with no med_types": Bad(
        _setting("regions[0].policies[0].med_types", []),
        (("regions[0].policies[0].med_types", "must not be empty"),)),
}


@pytest.mark.parametrize("case", list(BAD.values()), ids=list(BAD))
def test_a_bad_document_is_refused_naming_path_and_rule(store: Store, case: Bad) -> None:
    doc = world_doc()
    case.mutate(doc)
    problems = refused(store, doc)
    assert len(problems) == len(case.expected), problems
    for path, phrase in case.expected:
        assert any(p.startswith(f"{path}: ") and phrase in p for p in problems), (path, phrase, problems)
    assert set(row_counts(store).values()) == {0}


def test_the_unmutated_base_document_of_the_table_loads(store: Store) -> None:
    """Guards the table above: each case is refused for its mutation, not for the base document."""
    assert load_document(store, world_doc()).changed


def test_a_document_that_is_not_a_mapping_is_refused(store: Store) -> None:
    assert refused(store, [world_doc()]) == [
        "the document must be a mapping with keys regions, institutions, persons..."]


def test_an_unreadable_file_is_refused_naming_the_file(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("regions: [ {admdvs: '440300'\n", encoding="utf-8")
    with pytest.raises(DatasetError) as caught:
        load_file(store, bad)
    [problem] = caught.value.problems
    assert problem.path == str(bad)
    assert "is not valid YAML or JSON" in problem.rule


# -- every problem in one pass ------------------------------------------------------------------------------

def test_all_shape_problems_are_reported_in_one_pass(store: Store) -> None:
    doc = world_doc()
    set_at(doc, "regions[0].policies[0].ratio", "1.20")
    set_at(doc, "regions[0].catalog[1].chrgitm_lv", "04")
    set_at(doc, "persons[0].account.balance", 500)
    set_at(doc, "persons[3].brdy", "1970-02-30")
    doc["institutions"][1]["levle"] = "2"
    problems = refused(store, doc)
    paths = sorted(p.split(": ", 1)[0] for p in problems)
    assert paths == sorted(["regions[0].policies[0].ratio", "regions[0].catalog[1].chrgitm_lv",
                            "persons[0].account.balance", "persons[3].brdy", "institutions[1].levle"])


def test_all_reference_problems_are_reported_in_one_pass(store: Store) -> None:
    doc = world_doc()
    set_at(doc, "institutions[1].admdvs", "450100")
    set_at(doc, "persons[1].account", {"balance": "1.00", "admdvs": "440300"})
    set_at(doc, "mutual_aid[0].end", date(2025, 1, 1))
    set_at(doc, "filings[0].dest_fixmedins", "H44010000001")
    problems = refused(store, doc)
    paths = sorted(p.split(": ", 1)[0] for p in problems)
    assert paths == sorted(["institutions[1].admdvs", "persons[1].account", "mutual_aid[0].end", "filings[0]"])


# -- a refused document writes nothing ----------------------------------------------------------------------

def _bad_late(doc: dict[str, Any]) -> dict[str, Any]:
    """A document whose only problem is in its last section, after everything it would otherwise write."""
    set_at(doc, "filings[0].dest_fixmedins", "H44030000001")
    return doc


def test_a_refused_document_writes_nothing_into_an_empty_database(store: Store) -> None:
    assert set(row_counts(store).values()) == {0}
    refused(store, _bad_late(world_doc()))
    assert set(row_counts(store).values()) == {0}


def test_a_refused_document_writes_nothing_into_a_loaded_database(store: Store) -> None:
    load_document(store, world_doc())
    counts, rows = row_counts(store), snapshot(store)
    doc = world_doc()
    doc["today"] = date(2026, 4, 1)
    doc["regions"][0]["name"] = "深圳市(改)"
    doc["regions"][0]["policies"][0]["ratio"] = "0.65"
    doc["regions"][0]["catalog"].append({"code": "EX-NEW", "name": "新药", "chrgitm_lv": "01", "selfpay_prop": "0",
                                         "med_chrgitm_type": "09"})
    doc["persons"][0]["account"]["balance"] = "900.00"
    doc["persons"].append({"psn_no": "44030000000000000003", "name": "新人", "certno": id_card("44030119800101123"),
                           "gend": "1", "brdy": date(1980, 1, 1), "insutype": "310", "admdvs": "440300",
                           "psn_type": "1101", "account": {"balance": "1.00", "admdvs": "440300"}})
    set_at(doc, "mutual_aid[0].end", date(2025, 6, 30))
    assert refused(store, doc) == ["mutual_aid[0].end: ends (2025-06-30) before it starts (2026-01-01)"]
    assert row_counts(store) == counts
    assert snapshot(store) == rows


def test_a_refusal_while_writing_rolls_back_what_was_already_written(store: Store) -> None:
    """A stated balance whose change would take the account below 0 is found only while writing: the
    unit of work must still leave the database exactly as it was."""
    load_document(store, world_doc())
    with store.unit_of_work() as s:
        s.execute(update(m.Account).where(m.Account.psn_no == SZ_EMPLOYEE).values(balance=Decimal("100.00")))
    rows = snapshot(store)
    doc = world_doc()
    doc["today"] = date(2026, 5, 1)                 # written before the accounts
    doc["regions"][0]["name"] = "深圳市(改)"          # written before the accounts
    doc["persons"][person_index(doc, SZ_EMPLOYEE)]["account"]["balance"] = "0.00"  # 100.00 - 500.00 < 0
    [problem] = refused(store, doc)
    path, rule = problem.split(": ", 1)
    assert path == f"persons[{person_index(doc, SZ_EMPLOYEE)}].account.balance"
    assert "would take the balance below 0" in rule
    assert snapshot(store) == rows


def test_identities_already_in_the_database_cannot_be_taken_by_a_new_person(store: Store) -> None:
    load_document(store, world_doc())
    newcomer = {"psn_no": "44030000000000000099", "name": "新人", "certno": "440301199001011234", "gend": "1",
                "brdy": date(1990, 1, 1), "insutype": "390", "admdvs": "440300", "psn_type": "1501",
                "ecard": "ECARD-SZ-0002", "card_no": "SSC-SZ-0001"}
    rows = snapshot(store)
    problems = refused(store, {"persons": [newcomer]})
    assert any(p.startswith("persons[0].certno: is already used by person 44030000000000000001") for p in problems)
    assert any(p.startswith("persons[0].ecard: is already used by person 44030000000000000002") for p in problems)
    assert any(p.startswith("persons[0].card_no: is already used by person 44030000000000000001") for p in problems)
    assert snapshot(store) == rows


def test_repeated_keys_inside_lists_are_refused(store: Store) -> None:
    doc = world_doc()
    region = doc["regions"][0]
    region["diseases"].append(dict(region["diseases"][0]))
    person = doc["persons"][0]
    person["chronic"].append(dict(person["chronic"][0]))
    person["contributions"].append(dict(person["contributions"][0]))
    doc["mutual_aid"].append(dict(doc["mutual_aid"][0]))
    doc["filings"].append(dict(doc["filings"][0]))
    problems = refused(store, doc)
    for path in ("regions[0].diseases[1].code", "persons[0].chronic[1].code", "persons[0].contributions[2].ym",
                 "mutual_aid[1]", "filings[1]"):
        assert any(p.startswith(path + ":") for p in problems), (path, problems)
    assert set(row_counts(store).values()) == {0}


# -- idempotence --------------------------------------------------------------------------------------------

def test_loading_twice_changes_nothing(store: Store) -> None:
    first = load_file(store, WORLD)
    assert first.changed
    assert first.changes["persons"] == [4, 0, 0]
    assert first.changes["policies"] == [2, 0, 0]
    rows = snapshot(store)
    assert sum(map(len, rows.values())) > 20
    second = load_file(store, WORLD)
    assert isinstance(second, LoadReport)
    assert second.changed is False
    assert second.summary().startswith("nothing changed")
    assert snapshot(store) == rows


def test_json_and_yaml_forms_of_the_same_document_load_to_the_same_rows(store: Store, tmp_path: Path) -> None:
    doc = world_doc()
    as_json = tmp_path / "world.json"
    as_json.write_text(json.dumps(doc, ensure_ascii=False, default=lambda d: d.isoformat()), encoding="utf-8")
    as_yaml = tmp_path / "world.yml"
    as_yaml.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert '"brdy": "1990-01-01"' in as_json.read_text(encoding="utf-8")  # JSON has no dates: strings
    assert load_file(store, as_json).changed
    rows = snapshot(store)
    again = load_file(store, as_yaml)
    assert not again.changed, again.summary()
    assert snapshot(store) == rows


# -- balances move by the change of the stated figure --------------------------------------------------------

def test_a_reload_moves_a_balance_only_by_the_change_of_the_stated_figure(store: Store) -> None:
    doc = world_doc()
    i = person_index(doc, SZ_EMPLOYEE)
    load_document(store, doc)
    assert account(store, SZ_EMPLOYEE).balance == Decimal("500.00")
    [opening] = journal(store, SZ_EMPLOYEE)
    assert (opening.kind, opening.amount, opening.balance_after) == ("opening", Decimal("500.00"), Decimal("500.00"))

    doc["persons"][i]["account"]["balance"] = "800.00"
    report = load_document(store, doc)
    assert report.changes["accounts"] == [0, 1, 0]
    assert account(store, SZ_EMPLOYEE).balance == Decimal("800.00")
    entries = journal(store, SZ_EMPLOYEE)
    assert len(entries) == 2
    added = entries[-1]
    assert (added.kind, added.amount, added.balance_after) == ("adjustment", Decimal("300.00"), Decimal("800.00"))
    assert added.entry_time.date() == date(2026, 3, 16)  # the business date of the document
    with store.unit_of_work() as s:
        adjustments = s.scalar(select(func.count()).select_from(m.AccountEntry)
                               .where(m.AccountEntry.kind == "adjustment"))
    assert adjustments == 1  # nobody else's balance moved

    # a settlement debits 100.00 in between; reloading the same document keeps it
    with store.unit_of_work() as s:
        s.execute(update(m.Account).where(m.Account.psn_no == SZ_EMPLOYEE)
                  .values(balance=m.Account.balance - Decimal("100.00")))
    assert account(store, SZ_EMPLOYEE).balance == Decimal("700.00")
    report = load_document(store, doc)
    assert not report.changed, report.summary()
    assert account(store, SZ_EMPLOYEE).balance == Decimal("700.00")
    assert len(journal(store, SZ_EMPLOYEE)) == 2

    # stating 750.00 instead of 800.00 moves the balance by -50.00, not to 750.00
    doc["persons"][i]["account"]["balance"] = "750.00"
    load_document(store, doc)
    assert account(store, SZ_EMPLOYEE).balance == Decimal("650.00")
    last = journal(store, SZ_EMPLOYEE)[-1]
    assert (last.kind, last.amount, last.balance_after) == ("adjustment", Decimal("-50.00"), Decimal("650.00"))


def test_a_reload_moves_year_to_date_usage_only_by_the_change_of_the_stated_figure(store: Store) -> None:
    doc = world_doc()
    load_document(store, doc)
    key = (SZ_EMPLOYEE, 2026, "outpatient")
    with store.unit_of_work() as s:
        acc = s.get(m.Accumulator, key)
        assert (acc.deductible_used, acc.fund_paid) == (Decimal("20.00"), Decimal("0.00"))
        acc.deductible_used += Decimal("30.00")  # a settlement in between
        acc.fund_paid += Decimal("12.00")
    doc["persons"][person_index(doc, SZ_EMPLOYEE)]["used"]["outpatient"] = {"deductible": "25.00", "fund": "0.00"}
    load_document(store, doc)
    with store.unit_of_work() as s:
        acc = s.get(m.Accumulator, key)
        assert (acc.deductible_used, acc.fund_paid) == (Decimal("55.00"), Decimal("12.00"))
    assert not load_document(store, doc).changed


# -- policies: a row is its content -------------------------------------------------------------------------

def _policies(store: Store) -> dict[int, tuple[str, str, str, Decimal]]:
    with store.unit_of_work() as s:
        return {p.id: (p.admdvs, p.fingerprint, p.insutype, p.ratio) for p in s.scalars(select(m.Policy))}


def test_changing_one_policy_row_replaces_that_row_only(store: Store) -> None:
    doc = world_doc()
    resident = copy.deepcopy(doc["regions"][0]["policies"][0])
    resident.update(insutype="390", ratio="0.50", annual_cap="800.00")
    doc["regions"][0]["policies"].append(resident)
    load_document(store, doc)
    before = _policies(store)
    assert len(before) == 3

    doc["regions"][0]["policies"][0]["ratio"] = "0.65"
    report = load_document(store, doc)
    assert report.changes["policies"] == [1, 0, 1]
    after = _policies(store)
    assert len(after) == 3

    [old_id] = [i for i, (admdvs, _, insutype, _) in before.items() if (admdvs, insutype) == ("440300", "310")]
    [new_id] = [i for i, (admdvs, _, insutype, _) in after.items() if (admdvs, insutype) == ("440300", "310")]
    assert old_id not in after, "the old row is deleted"
    assert new_id not in before, "the changed row is a new row"
    assert after[new_id][3] == Decimal("0.65")
    assert after[new_id][1] != before[old_id][1]
    assert before[old_id][1] not in {fp for _, fp, _, _ in after.values()}
    untouched = {i: v for i, v in before.items() if i != old_id}
    assert {i: after[i] for i in untouched} == untouched  # same ids, same fingerprints, same content

    assert not load_document(store, doc).changed


def test_a_policy_row_dropped_from_the_document_is_deleted(store: Store) -> None:
    doc = world_doc()
    load_document(store, doc)
    doc["regions"][1]["policies"] = []
    report = load_document(store, doc)
    assert report.changes["policies"] == [0, 0, 1]
    assert {admdvs for admdvs, *_ in _policies(store).values()} == {"440300"}


# -- the simulation clock -----------------------------------------------------------------------------------

def test_today_is_stored_and_dates_the_load(store: Store) -> None:
    load_document(store, world_doc())
    with store.unit_of_work() as s:
        assert s.get(m.Setting, "today").value == "2026-03-16"
        assert store.stored_today(s) == date(2026, 3, 16)
        assert {a.year for a in s.scalars(select(m.Accumulator))} == {2026}
    assert {e.entry_time.date() for e in journal(store, SZ_EMPLOYEE)} == {date(2026, 3, 16)}

    doc = world_doc()
    doc["today"] = date(2026, 4, 1)
    report = load_document(store, doc)
    assert report.changes["settings"] == [0, 1, 0]
    with store.unit_of_work() as s:
        assert store.stored_today(s) == date(2026, 4, 1)


def test_yibao_today_wins_over_the_stored_today(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    load_document(store, world_doc())
    with store.unit_of_work() as s:
        stored = store.stored_today(s)
    assert stored == date(2026, 3, 16)
    assert business_date(stored) == date(2026, 3, 16)
    monkeypatch.setenv("YIBAO_TODAY", "2027-02-01")
    assert business_date(stored) == date(2027, 2, 1)
    assert business_date(None) == date(2027, 2, 1)
    monkeypatch.delenv("YIBAO_TODAY")
    assert business_date(None) == date.today()


def test_yibao_today_dates_what_a_load_writes_but_is_not_stored(store: Store,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_TODAY", "2027-02-01")
    load_document(store, world_doc())
    with store.unit_of_work() as s:
        assert store.stored_today(s) == date(2026, 3, 16)  # the document's figure
        assert {a.year for a in s.scalars(select(m.Accumulator))} == {2027}
    assert {e.entry_time.date() for e in journal(store, SZ_EMPLOYEE)} == {date(2027, 2, 1)}


# -- the shipped datasets -----------------------------------------------------------------------------------

def test_the_demo_dataset_loads_and_is_rich_enough(store: Store) -> None:
    report = load_file(store, DEMO)
    assert report.changed
    with store.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(m.Person)) >= 20
        regions = set(s.scalars(select(m.Region.admdvs)))
        assert len(regions) >= 6
        per_region = dict(s.execute(select(m.CatalogItem.admdvs, func.count()).group_by(m.CatalogItem.admdvs)).all())
        assert set(per_region) == regions
        assert min(per_region.values()) >= 30, per_region
        institutions = list(s.scalars(select(m.Institution)))
    assert {i.xregion for i in institutions} >= {"national", "provincial", "none"}
    assert any(i.kind == "pharmacy" for i in institutions)
    assert any(i.kind == "hospital" and i.internet for i in institutions)
    assert not load_file(store, DEMO).changed


def test_the_conformance_dataset_loads(store: Store) -> None:
    raw = json.loads(CONFORMANCE.read_text(encoding="utf-8"))
    report = load_file(store, CONFORMANCE)
    assert report.changed
    counts = row_counts(store)
    assert counts["regions"] == len(raw["regions"])
    assert counts["institutions"] == len(raw["institutions"])
    assert counts["persons"] == len(raw["persons"])
    assert counts["accounts"] == sum(1 for p in raw["persons"] if p.get("account"))
    assert not load_file(store, CONFORMANCE).changed


def test_a_reload_keeps_recognitions_made_since_by_institutions(store: Store) -> None:
    """Only the document's own chronic diseases follow the document: a 2503 recognition stays."""
    load_document(store, world_doc())
    with store.unit_of_work() as s:
        s.add(m.PersonDisease(psn_no=SZ_EMPLOYEE, code="M09999", since=date(2026, 3, 1),
                              recognized_by="H44030000001", status="active"))
    doc = world_doc()
    doc["persons"][person_index(doc, SZ_EMPLOYEE)]["chronic"] = []
    load_document(store, doc)
    with store.unit_of_work() as s:
        codes = {d.code for d in s.scalars(select(m.PersonDisease).where(m.PersonDisease.psn_no == SZ_EMPLOYEE))}
    assert codes == {"M09999"}  # the document's M01600 went, the institution's recognition stayed
