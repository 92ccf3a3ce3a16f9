"""The conformance kit end to end: `yibao conformance run --self` passes every shipped scenario; the whole set
passes again against the same platform on the same business day; a scenario broken on purpose fails with the
figure expected, the figure answered, the message sent and the answer, in the summary and in the JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yibao.cli import app
from yibao.conformance import profile, scenario
from yibao.conformance.runner import Runner
from yibao.conformance.selfhost import selfhost

SHIPPED = scenario.shipped_dir()


@pytest.fixture(scope="module")
def kit_platform() -> Iterator[str]:
    with selfhost() as url:
        yield url


def test_self_passes_every_shipped_scenario_and_writes_junit(tmp_path: Path) -> None:
    junit = tmp_path / "kit.xml"
    result = CliRunner().invoke(app, ["conformance", "run", "--self", "--junit", str(junit)])
    count = len(scenario.load())
    assert result.exit_code == 0, result.output
    assert f"{count} passed, 0 failed, {count} scenarios" in result.output
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == (str(count), "0")
    assert {c.get("classname") for c in suite.findall("testcase")} == {f"conformance.{s.id}" for s in
                                                                       scenario.load()}


def test_the_scenarios_pass_again_the_same_business_day(kit_platform: str) -> None:
    prof = profile.load(profile.self_profile_path())
    for _ in range(2):
        runner = Runner(kit_platform, prof)
        try:
            failed = {o.scenario.id: o.failures for o in map(runner.run, scenario.load()) if not o.passed}
        finally:
            runner.close()
        assert failed == {}


def test_a_broken_scenario_fails_with_a_clear_diff(kit_platform: str, tmp_path: Path) -> None:
    text = (SHIPPED / "05_outpatient.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace('output.setlinfo.hifp_pay: "54.00"\n      output.setlinfo.fund_pay_sumamt',
                                   'output.setlinfo.hifp_pay: "55.00"\n      output.setlinfo.fund_pay_sumamt'),
                      encoding="utf-8")
    junit = tmp_path / "broken.xml"
    result = CliRunner().invoke(app, ["conformance", "run", "--target", kit_platform, "--profile",
                                      str(profile.self_profile_path()), "--scenarios", str(broken),
                                      "--junit", str(junit)])
    assert result.exit_code == 1, result.output
    assert "FAILED outpatient" in result.output
    assert "broken.yaml step 6 (2207): output.setlinfo.hifp_pay: expected 55.00, got 54.00" in result.output
    assert '"infno": "2207"' in result.output and '"hifp_pay": 54.00' in result.output  # sent and answered
    assert "0 passed, 1 failed, 1 scenarios" in result.output
    failure = ET.parse(junit).getroot().find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "broken.yaml step 6 (2207): output.setlinfo.hifp_pay: expected 55.00, got 54.00"
    # the cleanup cancelled the settlement: the shipped scenario still passes on this platform
    again = CliRunner().invoke(app, ["conformance", "run", "--target", kit_platform, "--profile",
                                     str(profile.self_profile_path()), "--only", "outpatient"])
    assert again.exit_code == 0, again.output


def test_a_run_needs_a_profile_or_self() -> None:
    result = CliRunner().invoke(app, ["conformance", "run", "--target", "http://127.0.0.1:9"])
    assert result.exit_code == 2 and "--profile" in result.output


def test_an_unreachable_target_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(app, ["conformance", "run", "--target", "http://127.0.0.1:9", "--profile",
                                      str(profile.self_profile_path())])
    assert result.exit_code == 2 and "cannot reach http://127.0.0.1:9" in result.output
