"""What a run tells the vendor: a readable summary, and JUnit XML for its CI (xml.etree)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import simplejson

from yibao.conformance.runner import Exchange, Outcome

SHOWN = 4000  # characters of a message shown with a failure


def _json(obj: Any) -> str:
    text = simplejson.dumps(obj, use_decimal=True, ensure_ascii=False, indent=2, default=str)
    return text if len(text) <= SHOWN else text[:SHOWN] + f"\n... ({len(text) - SHOWN} more characters)"


def failure_detail(outcome: Outcome) -> str:
    """Each failure, then the message sent and the answer of the step that failed."""
    lines = [*outcome.failures]
    last: Exchange | None = outcome.exchanges[-1] if outcome.exchanges else None
    if last is not None and last.sent is not None:
        lines += ["", f"sent ({last.where}):", _json(last.sent)]
    if last is not None and last.answer is not None:
        lines += ["", "answered:", _json(last.answer)]
    return "\n".join(lines)


def summary(outcomes: list[Outcome], target: str) -> str:
    out = [f"yibao conformance kit against {target}", ""]
    for o in outcomes:
        mark = "ok    " if o.passed else "FAILED"
        out.append(f"{mark} {o.scenario.id:<28} {o.scenario.title} ({len(o.scenario.steps)} steps, {o.seconds:.1f} s)")
    failed = [o for o in outcomes if not o.passed]
    for o in failed:
        out += ["", f"--- {o.scenario.id}: {o.scenario.title} ({o.scenario.path})",
                *("    " + line for line in failure_detail(o).splitlines())]
    passed = len(outcomes) - len(failed)
    sent = sorted({step.send for o in outcomes for step in o.scenario.steps})
    out += ["", f"messages sent: {' '.join(sent)}",
            f"{passed} passed, {len(failed)} failed, {len(outcomes)} scenarios"]
    return "\n".join(out) + "\n"


def junit(outcomes: list[Outcome], target: str) -> ET.ElementTree:
    failed = [o for o in outcomes if not o.passed]
    suite = ET.Element("testsuite", name="yibao-conformance", tests=str(len(outcomes)), failures=str(len(failed)),
                       errors="0", skipped="0", time=f"{sum(o.seconds for o in outcomes):.3f}")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="target", value=target)
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname=f"conformance.{o.scenario.id}", name=o.scenario.title,
                             file=o.scenario.path, time=f"{o.seconds:.3f}")
        if not o.passed:
            node = ET.SubElement(case, "failure", message=o.failures[0], type="ConformanceFailure")
            node.text = failure_detail(o)
    root = ET.Element("testsuites", tests=str(len(outcomes)), failures=str(len(failed)))
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(outcomes: list[Outcome], target: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit(outcomes, target).write(path, encoding="utf-8", xml_declaration=True)
