"""A scenario: its name, its default variables and its steps, read from a YAML document (docs/conformance.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

STEP_KEYS = {"send", "id", "as", "insuplc", "input", "expect", "refused", "msgid", "lose_answer", "secret",
             "sign_no", "note", "detail_file", "pull_details", "resend"}
DOC_KEYS = {"id", "title", "covers", "note", "vars", "steps", "cleanup"}


class BadScenario(ValueError):
    """A scenario document the kit cannot read: names the file, the step and the rule."""


@dataclass(frozen=True)
class Step:
    send: str  # the infno
    where: str  # "file step n" for messages
    id: str = ""
    role: str = "hospital"
    insuplc: str = ""
    input: Any = field(default_factory=dict)
    expect: Mapping[str, Any] = field(default_factory=dict)
    refused: str | None = None  # the answer must be infcode -1, its err_msg containing this text
    msgid: str = ""
    resend: str = ""  # the id of an earlier step whose very envelope is sent again (a resend after a lost answer)
    lose_answer: bool = False
    secret: str = ""
    sign_no: str | None = None
    note: str = ""
    detail_file: Mapping[str, Any] | None = None
    pull_details: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    path: str
    vars: Mapping[str, Any]
    steps: tuple[Step, ...]
    covers: tuple[str, ...] = ()
    #: steps sent after a failure, whatever they answer, to leave the target as the scenario found it
    cleanup: tuple[Step, ...] = ()


def shipped_dir() -> Path:
    return Path(str(resources.files("yibao.conformance") / "scenarios"))


def load_file(path: Path) -> Scenario:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BadScenario(f"{path}: cannot be read as YAML ({exc})") from None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("steps"), list) or not doc["steps"]:
        raise BadScenario(f"{path}: a scenario is a mapping with a non-empty list `steps`")
    sid = str(doc.get("id") or path.stem)
    steps = tuple(_step(path, n, raw) for n, raw in enumerate(doc["steps"], 1))
    cleanup = tuple(_step(path, n, raw, "cleanup step") for n, raw in enumerate(doc.get("cleanup") or [], 1))
    unknown = set(doc) - DOC_KEYS
    if unknown:
        raise BadScenario(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; a scenario has "
                          f"{', '.join(sorted(DOC_KEYS))}")
    return Scenario(sid, str(doc.get("title") or sid), str(path), dict(doc.get("vars") or {}), steps,
                    tuple(str(x) for x in doc.get("covers") or ()), cleanup)


def _step(path: Path, n: int, raw: Any, kind: str = "step") -> Step:
    where = f"{path.name} {kind} {n}"
    if not isinstance(raw, Mapping):
        raise BadScenario(f"{where}: a step is a mapping")
    unknown = set(raw) - STEP_KEYS
    if unknown:
        raise BadScenario(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; a step has "
                          f"{', '.join(sorted(STEP_KEYS))}")
    send = str(raw.get("send") or ("9101" if raw.get("detail_file") else "3202" if raw.get("pull_details") else ""))
    if not send:
        raise BadScenario(f"{where}: `send` (the infno) is required")
    expect = raw.get("expect") or {}
    if not isinstance(expect, Mapping):
        raise BadScenario(f"{where}: `expect` maps paths of the answer to what they must be")
    return Step(send=send, where=f"{where} ({send})", id=str(raw.get("id") or ""),
                role=str(raw.get("as") or "hospital"),
                insuplc=str(raw.get("insuplc") or ""), input=raw.get("input") or {}, expect=dict(expect),
                refused=None if raw.get("refused") is None else str(raw["refused"]), msgid=str(raw.get("msgid") or ""),
                resend=str(raw.get("resend") or ""),
                lose_answer=bool(raw.get("lose_answer")), secret=str(raw.get("secret") or ""),
                sign_no=None if raw.get("sign_no") is None else str(raw["sign_no"]), note=str(raw.get("note") or ""),
                detail_file=raw.get("detail_file"), pull_details=raw.get("pull_details"))


def load(paths: list[Path] | None = None, only: list[str] | None = None) -> list[Scenario]:
    """The scenarios of the given files and folders (the shipped ones by default), in file order; `only` keeps
    those whose id is named."""
    files: list[Path] = []
    for p in paths or [shipped_dir()]:
        files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    scenarios = [load_file(f) for f in files]
    if only:
        unknown = set(only) - {s.id for s in scenarios}
        if unknown:
            raise BadScenario(f"no scenario {', '.join(sorted(unknown))}; known: {', '.join(s.id for s in scenarios)}")
        scenarios = [s for s in scenarios if s.id in only]
    return scenarios
