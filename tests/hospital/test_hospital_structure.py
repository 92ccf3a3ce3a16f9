"""How the hospital is built (docs/hospital.md, "How the hospital is built"), checked on its source with `ast`:

- the modules of `yibao.hospital` import one another without a cycle, counting every import: at the top, under
  `if TYPE_CHECKING`, and inside functions (where one is allowed only with a comment saying which cycle it breaks);
- the hospital is a separate service: no module of it imports the platform (`yibao.store`, `yibao.platform`,
  `yibao.gateway`, `yibao.api`, `yibao.bank`) or a private name of another package, and importing all of it
  in a fresh interpreter loads none of those modules, not even through a module it uses;
- no module is over 500 lines but the declarations (db.py, migrations);
- a payment's status changes only through `states.PAYMENTS.move`, whose table is exactly the moves the code
  makes: no other code writes a `status` (of a payment, a stay, a sale or a top-up: their machines' columns),
  every call of the machine names its states literally, each of those moves is in the table, and each move of
  the table is made somewhere; the table in docs/hospital.md is the same table.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from yibao.hospital import states
from yibao.hospital.states import PAYMENT_MOVES, PAYMENTS, IllegalTransition, PaymentStatus

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "yibao" / "hospital"
#: what the hospital must never import: the platform's side of the wire (it talks to it only over the wire)
PLATFORM = ("yibao.store", "yibao.platform", "yibao.gateway", "yibao.api", "yibao.bank", "yibao.cli",
            "yibao.app")
#: modules allowed over MAX_LINES: declarations
DECLARATIONS = {"yibao.hospital.db"}
MAX_LINES = 500
#: the records whose status only their machine (states.py) writes, and the states a new one may start in
MACHINE_MODELS = {"Payment": {"NEW"}, "KindSettlement": {"ADMITTED", "REVERSING", "OPEN"}, "DepositTopUp": {"NEW"}}
PAYMENT_ENUM = {"PaymentStatus", "P"}  # the enum and the short name modules give it (P = PaymentStatus)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT / "src").with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, tuple[Path, ast.Module]]:
    """Every module of the hospital but its migrations' versions (history, not code that runs in the service)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "versions" in path.parts:
            continue
        found[module_name(path)] = (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return found


SOURCES = sources()


def imports(name: str, tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """Every module `name` imports, wherever the import stands, with the node."""
    package = name if SOURCES[name][0].name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}", node  # a submodule, or a name of `base`
                yield base, node


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in SOURCES}
    for name, (_path, tree) in SOURCES.items():
        for target, _node in imports(name, tree):
            if target in SOURCES and target != name:
                edges[name].add(target)
    return edges


def cycle_in(edges: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_graph_finds_a_cycle_when_there_is_one() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_hospitals_modules_import_one_another_without_a_cycle() -> None:
    edges = graph()
    assert len(edges) > 30 and edges["yibao.hospital.api"]  # the walk did read the package
    assert cycle_in(edges) is None, " -> ".join(cycle_in(edges) or [])


def test_an_import_inside_a_function_says_which_cycle_it_breaks() -> None:
    """None is needed now; one that some day is must say why on its line (`# cycle: ...`)."""
    unexplained = []
    for name, (path, tree) in SOURCES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Import | ast.ImportFrom) and "# cycle:" not in lines[node.lineno - 1]:
                        unexplained.append(f"{name}:{node.lineno}")
    assert unexplained == []


def test_the_hospital_imports_nothing_of_the_platform_nor_anyones_private_names() -> None:
    wrong = []
    for name, (_path, tree) in SOURCES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                targets = [(node.module, alias.name) for alias in node.names]
            else:
                continue
            for module, member in targets:
                if any(module == p or module.startswith(p + ".") for p in PLATFORM):
                    wrong.append(f"{name}:{node.lineno} imports {module}")
                outside = module.startswith("yibao.") and not module.startswith("yibao.hospital")
                private = any(part.startswith("_") for part in module.split(".")) or \
                    (member is not None and member.startswith("_") and not member.startswith("__"))
                if outside and private:
                    wrong.append(f"{name}:{node.lineno} imports a private name: {module} {member or ''}")
    assert wrong == []


def test_loading_the_hospital_loads_nothing_of_the_platform() -> None:
    """In a fresh interpreter (this one has loaded the platform for other tests): every module of the hospital
    imported, and none of the platform's among everything that came with them."""
    names = sorted(n for n in SOURCES if not n.endswith(".migrations.env"))  # env.py runs inside Alembic only
    script = (f"import importlib, sys\nfor n in {names!r}:\n    importlib.import_module(n)\n"
              "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('yibao'))))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            cwd=ROOT).stdout.split()
    assert set(names) <= set(loaded)
    assert [m for m in loaded if any(m == p or m.startswith(p + ".") for p in PLATFORM)] == []


def test_no_module_is_over_500_lines_but_the_declarations() -> None:
    long = {name: n for name, (path, _tree) in SOURCES.items()
            if name not in DECLARATIONS and "migrations" not in name
            and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


# -- the payment's state machine --------------------------------------------------------------------------------

def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _refuses_status(fn: ast.AST, mapping: str) -> bool:
    """The function raises when `"status" in <mapping>`: a `**mapping` or `setattr` in it never writes a status."""
    for node in ast.walk(fn):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) \
                and isinstance(node.test.left, ast.Constant) and node.test.left.value == "status" \
                and isinstance(node.test.ops[0], ast.In) and isinstance(node.test.comparators[0], ast.Name) \
                and node.test.comparators[0].id == mapping and isinstance(node.body[0], ast.Raise):
            return True
    return False


def _root_model(call: ast.Call) -> str | None:
    """The model of `update(Model).where(...)...values(...)`, read off the chain below `.values`."""
    node: ast.AST = call.func
    while isinstance(node, ast.Attribute | ast.Call):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "update":
            arg = node.args[0] if node.args else None
            return arg.id if isinstance(arg, ast.Name) else None
        node = node.func if isinstance(node, ast.Call) else node.value
    return None


def _enclosing(tree: ast.Module) -> dict[int, ast.AST]:
    """Each node's innermost enclosing function (the module for a node outside any)."""
    owner: dict[int, ast.AST] = {}

    def walk(node: ast.AST, fn: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            owner[id(child)] = fn
            walk(child, child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else fn)

    walk(tree, tree)
    return owner


def status_writes() -> list[str]:
    """Every place outside states.py that writes a status of a record its machine owns, or any `x.status = `."""
    found = []
    for name, (_path, tree) in SOURCES.items():
        if name == "yibao.hospital.states":
            continue
        owner = _enclosing(tree)
        for node in ast.walk(tree):
            fn = owner.get(id(node), tree)
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = [t for target in node.targets for t in ast.walk(target)]
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            # (an object setting its own `status` in __init__ is no record's: HospitalError's HTTP status)
            own = isinstance(fn, ast.FunctionDef) and fn.name == "__init__"
            if any(isinstance(t, ast.Attribute) and t.attr == "status"
                   and not (own and isinstance(t.value, ast.Name) and t.value.id == "self") for t in targets):
                found.append(f"{name}:{node.lineno} assigns .status")
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name) and node.func.id == "setattr" and not _refuses_status(fn, "values"):
                found.append(f"{name}:{node.lineno} setattr without refusing a status")
            model = _root_model(node) if isinstance(node.func, ast.Attribute) and node.func.attr == "values" else None
            if model in MACHINE_MODELS:
                for kw in node.keywords:
                    if kw.arg == "status":
                        found.append(f"{name}:{node.lineno} sets {model}.status")
                    if kw.arg is None and not (isinstance(kw.value, ast.Name) and _refuses_status(fn, kw.value.id)):
                        found.append(f"{name}:{node.lineno} **values on {model} unchecked")
                if node.args:
                    found.append(f"{name}:{node.lineno} positional values on {model}")
            if isinstance(node.func, ast.Name) and node.func.id in MACHINE_MODELS:
                for kw in node.keywords:
                    if kw.arg == "status" and not (isinstance(kw.value, ast.Attribute)
                                                   and kw.value.attr in MACHINE_MODELS[node.func.id]):
                        found.append(f"{name}:{node.lineno} a new {node.func.id} not in a first state")
    return sorted(set(found))


def _state(node: ast.AST) -> PaymentStatus:
    assert isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in PAYMENT_ENUM, \
        f"a payment's state named literally (PaymentStatus.X), not {ast.unparse(node)}"
    return PaymentStatus[node.attr]


def payment_moves_made() -> dict[tuple[PaymentStatus, PaymentStatus], list[str]]:
    """Every move a call of PAYMENTS.move can make, with where; any other use of PAYMENTS fails."""
    moves: dict[tuple[PaymentStatus, PaymentStatus], list[str]] = {}
    for name, (_path, tree) in SOURCES.items():
        if name == "yibao.hospital.states":
            continue
        calls = {id(n.func.value) for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Attribute) and n.func.attr == "move"
                 and isinstance(n.func.value, ast.Name) and n.func.value.id == "PAYMENTS"}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == "PAYMENTS" and id(node) not in calls:
                raise AssertionError(f"{name}:{node.lineno}: PAYMENTS used otherwise than PAYMENTS.move(...)")
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and id(node.func.value) in calls):
                continue
            assert len(node.args) == 4, f"{name}:{node.lineno}: PAYMENTS.move(s, where, TO, (FROM, ...), ...)"
            to, frm = node.args[2], node.args[3]
            assert isinstance(frm, ast.Tuple), f"{name}:{node.lineno}: the states left, as a literal tuple"
            for f in frm.elts:
                moves.setdefault((_state(f), _state(to)), []).append(f"{name}:{node.lineno}")
    return moves


def test_no_code_writes_a_status_its_machine_owns() -> None:
    assert status_writes() == []


def test_the_payments_table_is_exactly_the_moves_the_code_makes() -> None:
    made = payment_moves_made()
    table = {(frm, to) for frm, tos in PAYMENT_MOVES.items() for to in tos}
    assert {m: where for m, where in made.items() if m not in table} == {}, "moves the table does not hold"
    assert table - set(made) == set(), "moves of the table no code makes"


def test_the_machine_refuses_a_move_not_in_its_table_before_writing() -> None:
    for frm, to in [(PaymentStatus.PAID, PaymentStatus.FAILED), (PaymentStatus.FAILED, PaymentStatus.PAID),
                    (PaymentStatus.REFUNDED, PaymentStatus.REFUNDING), (PaymentStatus.NEW, PaymentStatus.NEW)]:
        with pytest.raises(IllegalTransition):
            PAYMENTS.move(None, None, to, (frm,))  # type: ignore[arg-type] # refused before the session is used
    with pytest.raises(IllegalTransition):
        states.STAYS.move(None, None, states.StayStatus.SETTLED, (states.StayStatus.ADMITTED,))  # type: ignore[arg-type]
    ends = {s for s in PaymentStatus if s not in PAYMENT_MOVES}
    assert ends == {PaymentStatus.FAILED, PaymentStatus.REFUNDED}  # nothing leaves them


def test_the_docs_show_the_payments_table() -> None:
    docs = (ROOT / "docs" / "hospital.md").read_text(encoding="utf-8")
    section = docs[docs.index("## How the hospital is built"):]
    rows = re.findall(r"^\| `(\w+)` \| ((?:`\w+`(?:, )?)+) \|", section, re.M)
    assert {PaymentStatus(frm): {PaymentStatus(t) for t in re.findall(r"`(\w+)`", tos)} for frm, tos in rows} == \
        {frm: set(tos) for frm, tos in PAYMENT_MOVES.items()}


def test_the_callers_x_tif_signature_is_the_gateways() -> None:
    """yibao.xtif signs as the caller (without loading the platform); the gateway checks with its own."""
    from yibao.gateway.auth import signature as checked
    from yibao.xtif import signature

    assert signature("20260316120000", "secret", "n0nce") == checked("20260316120000", "secret", "n0nce")
