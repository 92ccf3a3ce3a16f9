"""The fast tier (tests/fast/, `make test-fast`): rules over plain values and use cases called directly with a
`Work`, without a server, HTTP or PostgreSQL. Every test here is marked `fast`.

The `store` fixture is overridden for this folder: one SQLite copy of the migrated template per test, never
PostgreSQL (the wire tests run the same logic on both databases).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from yibao.store.db import Store

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # a conftest's hook sees every item of the session: mark only this folder's
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.fast)


@pytest.fixture
def store(tmp_path: Path, sqlite_template: Path) -> Iterator[Store]:
    """A migrated, empty SQLite database of the test's own (a copy of the session's template)."""
    path = tmp_path / "yibao.db"
    shutil.copy(sqlite_template, path)
    s = Store(f"sqlite:///{path}")
    yield s
    s.dispose()
