"""`yibao serve` as a subprocess for the simulation, and the business date it reads."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time as clock
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from yibao.store.db import Store
from yibao.store.models import (
    Setting,
)

# -- the server ---------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(url: str, log: Path, timeout: float = 30.0) -> Iterator[str]:  # float-ok: seconds
    """`yibao serve` on a free port against the database; its business date comes from the database."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "YIBAO_TODAY"}
    env["YIBAO_DATABASE_URL"] = url
    env["YIBAO_DEMO"] = "1"  # the demo world, with its shipped secrets
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "yibao.cli", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), "--no-access-log"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = clock.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"yibao serve exited with {proc.returncode}; see {log}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):  # float-ok: seconds
                    break
            except OSError:
                if clock.monotonic() > deadline:
                    raise RuntimeError(f"yibao serve did not listen on port {port} within {timeout} s; "
                                       f"see {log}") from None
                clock.sleep(0.1)  # float-ok: seconds
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def set_today(store: Store, day: date) -> None:
    with store.unit_of_work() as s:
        row = s.get(Setting, "today")
        if row is None:
            s.add(Setting(key="today", value=day.isoformat()))
        else:
            row.value = day.isoformat()


