"""The conformance kit's own rules over plain values: `${...}` substitution, values taken from earlier answers,
the expectations compared to the cent, scenario and profile documents refused with their reason, and the JUnit
XML of a run (docs/conformance.md)."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from yibao.conformance import checks, profile, report, scenario
from yibao.conformance.runner import Exchange, Outcome, detail_zip, record_of

ANSWER = {"infcode": 0, "output": {"setlinfo": {"hifp_pay": Decimal("54.00"), "insutype": "310", "setl_id": "S1"},
                                   "result": [{"cnt": 2, "amt": Decimal("10.50")}, {"cnt": 3, "amt": "4.25"}]}}
NAMES = {"run": "AB12CD", "employee": {"psn_no": "4403", "balc": "500.00"}, "fees": ANSWER, "base": {"cnt": 4}}


def test_a_path_reads_names_lists_and_every_element() -> None:
    assert checks.lookup(ANSWER, "output.setlinfo.hifp_pay") == Decimal("54.00")
    assert checks.lookup(ANSWER, "output.result[1].cnt") == 3
    assert checks.lookup(ANSWER, "output.result[*].cnt") == [2, 3]
    with pytest.raises(checks.Unresolved, match="no 'nope' there"):
        checks.lookup(ANSWER, "output.nope")
    with pytest.raises(checks.Unresolved, match=r"no element \[5\]"):
        checks.lookup(ANSWER, "output.result[5]")


def test_substitution_keeps_a_whole_value_and_fills_text() -> None:
    assert checks.substitute("${employee}", NAMES) == {"psn_no": "4403", "balc": "500.00"}
    assert checks.substitute("KIT${run}OP", NAMES) == "KITAB12CDOP"
    assert checks.substitute({"a": ["${employee.psn_no}", 7]}, NAMES) == {"a": ["4403", 7]}
    with pytest.raises(checks.Unresolved):
        checks.substitute("${nobody.psn_no}", NAMES)


def test_sums_and_differences_are_amounts_to_the_cent_and_counts_stay_whole() -> None:
    assert checks.substitute("${sum(fees.output.result[*].amt)}", NAMES) == "14.75"
    assert checks.substitute("${employee.balc - 196.00}", NAMES) == "304.00"
    assert checks.substitute("${employee.balc + 0.005}", NAMES) == "500.01"  # half up
    assert checks.substitute("${base.cnt + 1}", NAMES) == 5
    assert checks.substitute("${base.cnt + 1.00}", NAMES) == "5.00"


def test_an_amount_is_compared_to_the_cent_and_the_failure_names_both_figures() -> None:
    assert checks.check("output.setlinfo.hifp_pay", "54.00", ANSWER) is None
    assert checks.check("output.setlinfo.hifp_pay", "54.0", ANSWER) is None
    assert checks.check("output.result[1].amt", "4.25", ANSWER) is None
    assert checks.check("output.setlinfo.hifp_pay", "55.00", ANSWER) == \
        "output.setlinfo.hifp_pay: expected 55.00, got 54.00"
    assert checks.check("output.setlinfo.fund_pay_sumamt", "54.00", ANSWER) == (
        "output.setlinfo.fund_pay_sumamt: expected 54.00, got nothing (the answer has no "
        "output.setlinfo.fund_pay_sumamt)")


def test_a_code_is_compared_as_text() -> None:
    assert checks.check("output.setlinfo.insutype", "310", ANSWER) is None
    assert checks.check("output.setlinfo.insutype", "0310", ANSWER) == \
        "output.setlinfo.insutype: expected 0310, got 310"
    assert checks.check("infcode", 0, ANSWER) is None


def test_the_rules_of_an_expectation() -> None:
    assert checks.check("output.setlinfo.setl_id", {"present": True}, ANSWER) is None
    assert checks.check("output.setlinfo.balc", {"present": False}, ANSWER) is None
    assert checks.check("output.setlinfo.setl_id", {"present": False}, ANSWER) == \
        "output.setlinfo.setl_id: expected no answer there, got S1"
    assert checks.check("output.result", {"count": 2}, ANSWER) is None
    assert checks.check("output.result", {"count": 3}, ANSWER) == "output.result: expected 3 entries, got 2"
    assert checks.check("output.setlinfo.setl_id", {"contains": "S"}, ANSWER) is None
    assert checks.check("output.setlinfo.setl_id", {"startswith": "X"}, ANSWER) == \
        'output.setlinfo.setl_id: expected text starting X, got S1'
    assert checks.check("output.setlinfo.hifp_pay", {"not": "0.00"}, ANSWER) is None
    assert checks.check("output.missing", None, ANSWER) is None
    assert "not one the kit knows" in checks.check("output.setlinfo.setl_id", {"like": "S"}, ANSWER)


def test_a_record_carries_the_msgid_sent_and_a_downloaded_file_s_lines() -> None:
    content = detail_zip({"name": "d", "lines": [["S1\tM1\tP1\t1.00\t0.50\t0.50\t0"]]})
    record = record_of({"msgid": "H1"}, {"infcode": 0, "output": {"file": base64.b64encode(content).decode()}})
    assert record["msgid"] == "H1" and record["sent"] == {"msgid": "H1"}  # a later step may resend it
    assert record["file_lines"] == [
        "setl_id\tmdtrt_id\tpsn_no\tmedfee_sumamt\tfund_pay_sumamt\tacct_pay\trefd_setl_flag",
        "S1\tM1\tP1\t1.00\t0.50\t0.50\t0"]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.namelist() == ["d.txt"]


def test_the_shipped_scenarios_and_profile_load() -> None:
    shipped = scenario.load()
    ids = [s.id for s in shipped]
    assert len(ids) == len(set(ids)) >= 13
    assert {"signin", "outpatient", "reconciliation", "bad_input", "mutual_aid", "crossregion"} <= set(ids)
    prof = profile.load(profile.self_profile_path())
    roles = {step.role for s in shipped for step in s.steps}
    assert roles <= set(prof.institutions)


def test_a_bad_scenario_is_refused_naming_the_file_and_step(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nsteps:\n  - send: '1101'\n    expext: {}\n", encoding="utf-8")
    with pytest.raises(scenario.BadScenario, match=r"bad.yaml step 1: unknown key\(s\) expext"):
        scenario.load([bad])
    bad.write_text("id: x\nsteps: []\n", encoding="utf-8")
    with pytest.raises(scenario.BadScenario, match="non-empty list `steps`"):
        scenario.load([bad])
    with pytest.raises(scenario.BadScenario, match="no scenario nope"):
        scenario.load(only=["nope"])


def test_a_profile_needs_each_institution_s_code_secret_and_region(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("institutions:\n  hospital: {code: H1, admdvs: '440300'}\n", encoding="utf-8")
    with pytest.raises(profile.BadProfile, match="institutions.hospital needs code, secret, admdvs"):
        profile.load(bad)


def test_junit_xml_names_each_scenario_and_shows_the_diff() -> None:
    [one, two] = scenario.load(only=["signin", "outpatient"])
    failed = Outcome(two, failures=["05_outpatient.yaml step 6 (2207): output.setlinfo.hifp_pay: expected 55.00, "
                                    "got 54.00"],
                     exchanges=[Exchange("step 6", {"infno": "2207"}, {"infcode": 0, "output": {
                         "setlinfo": {"hifp_pay": Decimal("54.00")}}})])
    tree = report.junit([Outcome(one), failed], "http://127.0.0.1:1")
    root = ET.fromstring(ET.tostring(tree.getroot()))
    suite = root.find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = suite.findall("testcase")
    assert [c.get("classname") for c in cases] == ["conformance.signin", "conformance.outpatient"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message", "").endswith("expected 55.00, got 54.00")
    assert '"infno": "2207"' in (failure.text or "") and '"hifp_pay": 54.00' in (failure.text or "")
    text = report.summary([Outcome(one), failed], "x")
    assert "FAILED outpatient" in text and "1 passed, 1 failed, 2 scenarios" in text
