"""The adversarial suite's figures, summed where pytest reports (the xdist controller, or the only process), printed
at the end of the run and written to var/adversarial-report.json for the docs to quote.

Each test of tests/adversarial records its figures with the `figures` fixture (tests/adversarial/conftest.py):
a user property ("adversarial", {suite, test, numbers...}) that travels with the test's report from any worker.
This module is a plugin loaded by tests/conftest.py (`pytest_plugins`): a conftest below tests/ is not loaded by
the xdist controller, which does not collect, so it could not print the summary itself.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

REPORT = Path(__file__).resolve().parents[2] / "var" / "adversarial-report.json"

#: per suite: the figures summed, and the one that must be zero (or, for races, equal to the scenarios)
SUITES: dict[str, tuple[str, ...]] = {
    "races": ("scenarios", "requests", "effects", "wanted", "extra_effects"),
    "crash": ("answered", "present_once", "resent", "doubled", "reversed", "reversal_traces"),
    "fuzz": ("requests", "server_errors"),
    "authz": ("cells", "leaks"),
}
WATCHED = {"races": "extra_effects", "crash": "doubled", "fuzz": "server_errors", "authz": "leaks"}


class _Figures:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.outcomes: dict[str, str] = {}
        self.started = time.monotonic()


_STATE = _Figures()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/adversarial/" not in report.nodeid.replace("\\", "/"):
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _STATE.outcomes[report.nodeid] = report.outcome
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "adversarial" and isinstance(value, dict):
            _STATE.records.append(value)


def summary() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for suite, keys in SUITES.items():
        records = [r for r in _STATE.records if r.get("suite") == suite]
        totals = {k: sum(int(r.get(k, 0) or 0) for r in records) for k in keys}
        tests = sorted({r["test"] for r in records})
        out[suite] = {"tests": len(tests), **totals,
                      "failed": sorted(t for t, o in _STATE.outcomes.items() if o == "failed" and
                                       _suite_of(t) == suite)}
    return out


def _suite_of(nodeid: str) -> str:
    for suite, module in (("races", "test_races"), ("crash", "test_crash"), ("fuzz", "test_fuzz"),
                          ("authz", "test_authz_matrix")):
        if module in nodeid:
            return suite
    return ""


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _STATE.outcomes:
        return
    figures = summary()
    tr = terminalreporter
    tr.section("adversarial suite")
    lines = [
        "races: {scenarios} scenarios, {requests} requests sent, {effects} effects counted "
        "({wanted} wanted), {extra_effects} extra".format(**figures["races"]),
        "crash: {answered} answered with infcode 0, {present_once} present exactly once, {resent} resent, "
        "{doubled} doubled; {reversed} reversed by 2601, {reversal_traces} left a trace".format(**figures["crash"]),
        "fuzz: {requests} requests, {server_errors} answered 5xx".format(**figures["fuzz"]),
        "authz: {cells} cells, {leaks} leaks".format(**figures["authz"]),
    ]
    for line in lines:
        tr.write_line(line)
    for suite, data in figures.items():
        if data["failed"]:
            tr.write_line(f"{suite} failing: {', '.join(t.split('::', 1)[-1] for t in data['failed'])}")
    document = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "exitstatus": int(exitstatus),
                "seconds": round(time.monotonic() - _STATE.started, 1),
                "workers": os.environ.get("PYTEST_XDIST_WORKER_COUNT") or config.getoption("numprocesses", None),
                **figures, "records": _STATE.records}
    try:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        tr.write_line(f"figures written to {REPORT.relative_to(REPORT.parents[1])}")
    except OSError as exc:
        tr.write_line(f"could not write {REPORT}: {exc}")
