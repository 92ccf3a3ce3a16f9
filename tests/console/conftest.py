"""Fixtures of the console tests: the console over world.yaml (console_world.py), on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_world import ConsoleWorld

from yibao.store.db import Store


@pytest.fixture
def console(world: Store, tmp_path: Path) -> ConsoleWorld:
    return ConsoleWorld(world, tmp_path)
