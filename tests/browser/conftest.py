"""The browser tests: Playwright driving Debian's chromium (/usr/bin/chromium, never a downloaded browser) against
real servers started here, offline: every request not for 127.0.0.1 is blocked and recorded, and a test fails if
any was made.

Fixtures:
- `platform_server` (per module): `yibao serve` on the demo world (examples/demo.yaml, SQLite, YIBAO_DEMO=1) with
  the simulated code sender writing to a file (`platform_server.last_code(psn_no)`), `platform_server.cli(...)`
  runs a `yibao` command on its database (e.g. `staff add`);
- `hospital_server` (per module): `yibao hospital serve` on the demo configuration beside that platform;
- `open_page(width=390, height=844)`: a page in a fresh browser profile (a phone's width unless told), whose
  `blocked` list holds the URLs it tried to reach beyond 127.0.0.1.
What tests import (Served, Opened, DEMO_PERSON) is in browser_world.py.

Chromium missing: the tests skip (under CI=true they fail); `make test` installs it (ensure_chromium.sh).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from adversarial.conftest import DEMO, HOSPITAL_CONFIG, YIBAO, Process, base_env, free_port, run_cli
from browser_world import Opened, Served, local

CHROMIUM = os.environ.get("YIBAO_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-dev-shm-usage", "--no-first-run"]
TODAY = "2026-03-16"


@pytest.fixture(scope="module")
def platform_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("browser-platform")
    outbox = tmp / "codes.txt"
    env = base_env(YIBAO_DATABASE_URL=f"sqlite:///{tmp / 'platform.db'}", YIBAO_TODAY=TODAY, YIBAO_DEMO="1",
                   YIBAO_CONSOLE_SENDER="simulated", YIBAO_CONSOLE_OUTBOX=str(outbox))
    run_cli(["load", str(DEMO)], env)
    port = free_port()
    process = Process("platform", [YIBAO, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
                      env, port, tmp / "platform.log")
    process.start()
    try:
        yield Served(process, env, outbox)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def hospital_server(platform_server: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("browser-hospital")
    port = free_port()
    env = base_env(YIBAO_TODAY=TODAY, YIBAO_DEMO="1", YIBAO_HOSPITAL_CONFIG=str(HOSPITAL_CONFIG),
                   YIBAO_HOSPITAL_DATABASE_URL=f"sqlite:///{tmp / 'hospital.db'}",
                   YIBAO_HOSPITAL_PLATFORM_URL=platform_server.url,
                   YIBAO_HOSPITAL_PUBLIC_URL=f"http://127.0.0.1:{port}", YIBAO_HOSPITAL_SWEEP_EVERY="0")
    process = Process("hospital", [YIBAO, "hospital", "serve", "--host", "127.0.0.1", "--port", str(port)], env,
                      port, tmp / "hospital.log", cwd=tmp)
    done = subprocess.run([YIBAO, "hospital", "init"], env=env, cwd=tmp, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    process.start(ready_path="/hospital")
    try:
        yield Served(process, env)
    finally:
        process.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"chromium is missing at {CHROMIUM} (tests/browser/ensure_chromium.sh installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def open_page(playwright: Any, tmp_path: Path) -> Iterator[Callable[..., Opened]]:
    contexts: list[Any] = []

    def opener(width: int = 390, height: int = 844) -> Opened:
        profile = tmp_path / f"profile-{len(contexts)}"
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": width, "height": height}, locale="zh-CN", service_workers="block")
        contexts.append(context)
        opened = Opened(context.pages[0] if context.pages else context.new_page())

        def guard(route: Any) -> None:
            if local(route.request.url):
                route.continue_()
            else:
                opened.blocked.append(route.request.url)
                route.abort()

        context.route(re.compile(".*"), guard)
        context.set_default_timeout(20_000)
        return opened

    yield opener
    for context in contexts:
        context.close()
