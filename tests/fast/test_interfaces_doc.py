"""docs/interfaces.md says what the gateway serves: its table's "yes" rows are exactly the registered interfaces."""

from __future__ import annotations

import re
from pathlib import Path

import yibao.gateway.handlers  # noqa: F401  (registers the interfaces)
from yibao.gateway.registry import INTERFACES

DOC = Path(__file__).resolve().parents[2] / "docs" / "interfaces.md"
ROW = re.compile(r"^\| (\d{4,5}[A-Z]?) \| ([^|]+) \| (yes|no) \| ([^|]*) \|$")


def rows() -> dict[str, tuple[str, str, str]]:
    out: dict[str, tuple[str, str, str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            infno, name, served, reading = match.groups()
            assert infno not in out, f"{infno} twice in docs/interfaces.md"
            out[infno] = (name.strip(), served, reading.strip())
    return out


def test_the_served_rows_are_the_registered_interfaces() -> None:
    table = rows()
    assert {infno for infno, (_, served, _) in table.items() if served == "yes"} == set(INTERFACES)


def test_every_served_interface_says_how_yibao_reads_it() -> None:
    assert [infno for infno, (_, served, reading) in rows().items() if served == "yes" and not reading] == []


def test_the_table_names_each_interface_as_the_gateway_does() -> None:
    differ = {infno: (name, INTERFACES[infno].name) for infno, (name, served, _) in rows().items()
              if served == "yes" and name != INTERFACES[infno].name}
    assert differ == {}
