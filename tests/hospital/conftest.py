"""Fixtures of the hospital tests (tests/hospital/): the one hospital `world`, overriding tests/conftest.py's
world.yaml for this folder, and the staff's headers. What is not a fixture is in hospital_world.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import HospitalURLs
from hospital_world import TODAY, World, bearer

from yibao import throttle
from yibao.store.db import Store


@pytest.fixture
def world(request: pytest.FixtureRequest, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          hospital_urls: HospitalURLs) -> Iterator[World]:
    """The platform over hospital_world.dataset() (or the module's own `WORLD`, a World of its dataset) on the
    test's database, and the hospitals the test makes, each closed afterwards. The business date is TODAY; the
    sign-in throttle keeps its counts in memory whatever the shell has set."""
    monkeypatch.setenv("YIBAO_TODAY", TODAY)
    monkeypatch.delenv(throttle.ENV, raising=False)
    make: type[World] = getattr(request.module, "WORLD", World)
    w = make(store, tmp_path, hospital_urls)
    yield w
    w.close()


@pytest.fixture
def staff_headers() -> dict[str, str]:
    """What the HIS, the cashier desk and the terminals send."""
    return bearer("staff", "desk01")
