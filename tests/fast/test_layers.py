"""The platform's layers (docs/architecture.md): every import of `src/yibao` points down, read from the source.

A unit is a top-level module or package of yibao. Each has a floor; a unit may import only units on lower floors
(the shared bottom floor may import within itself, without a cycle). The hospital is a separate system: it reaches
the platform only over the wire. tests/test_hospital_structure.py checks the hospital package inside.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "yibao"

SHARED = 0
FLOORS = {
    # value types, dictionaries, the clock, the wire's JSON and signature, plumbing every part uses
    **{name: SHARED for name in ("money", "codes", "clock", "errors", "wire", "xtif", "validation", "throttle",
                                 "timebox", "tokens", "web", "httpcall", "demo_keys", "demo_help", "sqlkit",
                                 "problem", "serving", "served", "healthcheck", "apidocs", "observe")},
    "rules": 1,
    # the exchange between the nodes of a federation: configuration and transport only (docs/federation.md)
    "federation": 1,
    "client": 1,  # the HIS side of the wire: an institution's program, not the platform's
    "conformance": 2,  # the conformance kit: scenarios sent through the client, to any platform that speaks the wire
    "store": 2,
    "platform": 3,
    "dataset": 3,  # beside the use cases (it imports none of them): the what-if checks its rows by it
    "reports": 4,
    "whatif": 4,  # replays stored settlements under changed policy with the rules live settlement uses
    "bank": 4,
    "gateway": 5,
    "api": 5,
    # the mobile-payment centre answers 6202 with 2207's setlinfo: it borrows the gateway's field types and
    # rendering (never its handlers, which it once called with made-up envelopes)
    "mobilepay": 6,
    # the web console (网上服务大厅): pages over the use cases, beside the JSON API, never through it
    "console": 6,
    "hospital": 7,  # uses the mobile-payment centre's sealed envelope (mobilepay/envelope.py) from the other side
    "simulate": 7,
    "app": 8,
    "cli": 9,
}
#: what the hospital may use of yibao: it talks to the platform only by the wire protocol (client)
HOSPITAL_MAY_USE = {"client", "mobilepay", *(name for name, floor in FLOORS.items() if floor == SHARED)}
#: modules allowed over MAX_LINES: declarations of tables
DECLARATIONS = {"yibao/store/models.py", "yibao/hospital/db.py"}
MAX_LINES = 500


def _modules() -> Iterator[tuple[Path, str]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(SRC)
        if "migrations" in rel.parts:
            continue
        yield path, rel.parts[1].removesuffix(".py")


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """(the yibao module named, line) for every import of the file, at any depth, TYPE_CHECKING ones included."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith("yibao."):
                yield name, node.lineno


def _unit_of(module: str) -> str | None:
    head = module.split(".")[1]
    return head if head in FLOORS else None


def edges() -> dict[str, set[tuple[str, str]]]:
    """unit -> {(unit it imports, where)}."""
    out: dict[str, set[tuple[str, str]]] = {unit: set() for unit in FLOORS}
    for path, unit in _modules():
        for module, line in _imports(path):
            target = _unit_of(module)
            if target is not None and target != unit:
                out[unit].add((target, f"{path.relative_to(SRC)}:{line}"))
    return out


def test_every_unit_has_a_floor() -> None:
    units = {unit for _path, unit in _modules()} - {"__init__"}
    assert units - set(FLOORS) == set(), "give every new top-level module of yibao its floor here"


def test_no_import_runs_back_up() -> None:
    upward = sorted(f"{where}: {unit} (floor {FLOORS[unit]}) imports {target} (floor {FLOORS[target]})"
                    for unit, targets in edges().items() for target, where in targets
                    if FLOORS[target] > FLOORS[unit] or (FLOORS[target] == FLOORS[unit] != SHARED))
    assert upward == []


def test_the_shared_floor_has_no_cycle() -> None:
    graph = {unit: {t for t, _ in targets if FLOORS[t] == SHARED}
             for unit, targets in edges().items() if FLOORS[unit] == SHARED}
    done: set[str] = set()

    def visit(unit: str, path: tuple[str, ...]) -> None:
        assert unit not in path, f"cycle: {' -> '.join(path + (unit,))}"
        if unit in done:
            return
        for target in graph[unit]:
            visit(target, path + (unit,))
        done.add(unit)

    for unit in graph:
        visit(unit, ())


def test_the_hospital_reaches_the_platform_only_over_the_wire() -> None:
    assert sorted(f"{where}: {target}" for target, where in edges()["hospital"] if target not in HOSPITAL_MAY_USE) == []


def test_the_gateway_handlers_only_translate() -> None:
    """They call use cases; the store is the use cases' business."""
    found = sorted(f"{path.relative_to(SRC)}:{line} {module}"
                   for path in (PACKAGE / "gateway" / "handlers").glob("*.py")
                   for module, line in _imports(path) if module.startswith("yibao.store"))
    assert found == []


def test_mobile_pay_calls_use_cases_not_handlers() -> None:
    found = sorted(f"{path.relative_to(SRC)}:{line} {module}"
                   for path in (PACKAGE / "mobilepay").glob("*.py")
                   for module, line in _imports(path)
                   if module.startswith(("yibao.gateway.handlers", "yibao.gateway.service",
                                         "yibao.gateway.registry.INTERFACES")))
    assert found == []


def test_no_module_is_over_500_lines_but_the_declarations() -> None:
    long = {str(path.relative_to(SRC)): n for path, _unit in _modules()
            if str(path.relative_to(SRC)) not in DECLARATIONS
            and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
