"""Nodes of a federation as real processes (docs/federation.md): each node `yibao serve` on a PostgreSQL database
of its own, the exchange NATS JetStream at 127.0.0.1:4222 (YIBAO_TEST_NATS), the streams of one test apart from
every other's by YIBAO_FEDERATION_SPACE. Used by test_federation_nats.py and bench/federation.py.

Without NATS the tests that need it are skipped, except under CI=true, where it is a failure (as PostgreSQL).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from yibao.dataset.loader import load_document
from yibao.store.db import Store, upgrade
from yibao.store.vault import Vault

BIN = Path(sys.executable).parent
NATS_URL = os.environ.get("YIBAO_TEST_NATS", "nats://127.0.0.1:4222")
PG_SERVER = os.environ.get("YIBAO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def nats_problem() -> str | None:
    host, port = NATS_URL.removeprefix("nats://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return None
    except OSError as exc:
        return f"NATS at {NATS_URL} not reachable: {exc}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Databases:
    """A PostgreSQL database of its own for each node of a run, migrated and loaded, dropped at the end."""

    def __init__(self) -> None:
        self.admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def new(self, doc: dict[str, Any], provinces: tuple[str, ...] | None = None) -> str:
        """The node's database URL; `provinces`: it loads only those it owns (YIBAO_PROVINCES), else everything."""
        name = f"yibao_node_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.made.append(name)
        url = f"{PG_SERVER.rsplit('/', 1)[0]}/{name}"
        upgrade(url)
        store = Store(url)
        load_document(store, doc, provinces)
        store.dispose()
        return url

    def drop(self) -> None:
        with self.admin.connect() as conn:
            for name in self.made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


#: what seals the test federations' messages (YIBAO_FEDERATION_KEY, set by conftest.py)
SEALER = Vault([os.environ["YIBAO_FEDERATION_KEY"].encode("ascii")])


class ServedNode:
    """`yibao serve` for one province's node; kill() is kill -9, start() again after it."""

    def __init__(self, province: str, peers: tuple[str, ...], url: str, space: str, log_dir: Path,
                 time_box: float = 2.0, workers: int = 1, nats_url: str = NATS_URL):  # float-ok: seconds
        self.province, self.url = province, url
        self.port = free_port()
        self.log = log_dir / f"node-{province}.log"
        self.workers = workers
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")},
                    "YIBAO_DATABASE_URL": url, "YIBAO_DATA_KEY": os.environ["YIBAO_DATA_KEY"],
                    "YIBAO_PROVINCES": province, "YIBAO_FEDERATION_PEERS": ",".join(peers),
                    "YIBAO_NATS_URL": nats_url, "YIBAO_FEDERATION_SPACE": space,
                    "YIBAO_FEDERATION_TIME_BOX": str(time_box),
                    "YIBAO_FEDERATION_KEY": os.environ["YIBAO_FEDERATION_KEY"]}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServedNode:  # float-ok: seconds
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "yibao"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers)], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node {self.province} exited:\n{self.log.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"node {self.province} did not listen:\n{self.log.read_text(errors='replace')}")

    def kill(self) -> None:
        """kill -9 of the node's processes (its workers with it)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None


def wait_until(check: Any, timeout: float = 60.0, every: float = 0.2) -> Any:  # float-ok: seconds
    """Poll `check` until it returns something true; its last value (a wait, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = check()
    return value


class PrivateExchange:
    """A NATS server with JetStream of the test's own (nats-server on PATH), to stop and start again; its
    streams kept on disk between runs."""

    def __init__(self, store_dir: Path):
        self.port = free_port()
        self.store_dir = store_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> PrivateExchange:
        self.proc = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd",
                                      str(self.store_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        if not wait_until(lambda: _listening(self.port), timeout=15):
            raise RuntimeError("nats-server did not listen")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        self.proc = None


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
