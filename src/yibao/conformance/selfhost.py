"""`--self`: a yibao of the kit's own, on a fresh SQLite database in a temporary folder, loaded with the kit's
dataset (dataset.yaml), served on a free loopback port until the run ends."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import httpx


class SelfHostFailed(RuntimeError):
    """The kit's own yibao did not start: says which command and shows the end of its log."""


def dataset_path() -> Path:
    return Path(str(resources.files("yibao.conformance") / "dataset.yaml"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _yibao(*args: str) -> list[str]:
    return [sys.executable, "-m", "yibao.cli", *args]


@contextmanager
def selfhost(timeout: float = 60.0) -> Iterator[str]:  # float-ok: seconds
    """The base URL of a fresh yibao loaded with the kit's dataset; stopped and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="yibao-kit-") as tmp:
        folder = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
        # the kit's dataset ships its secrets: this yibao is a test platform, like the demo
        env.update(YIBAO_DATABASE_URL=f"sqlite:///{folder / 'kit.db'}", YIBAO_DEMO="1")
        for args in (("db", "upgrade"), ("load", str(dataset_path()))):
            done = subprocess.run(_yibao(*args), env=env, capture_output=True, text=True, timeout=timeout)
            if done.returncode:
                raise SelfHostFailed(f"yibao {' '.join(args)} failed: {(done.stdout + done.stderr)[-800:]}")
        for attempt in range(3):
            port = _free_port()
            log = folder / f"serve-{attempt}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(_yibao("serve", "--host", "127.0.0.1", "--port", str(port),
                                               "--no-access-log", "--log-format", "text"),
                                        env=env, stdout=out, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}"
            try:
                if _wait_ready(proc, url, log, timeout):
                    yield url
                    return
            finally:
                _stop(proc)
        raise SelfHostFailed(f"yibao serve found no free port in 3 tries: {_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-800:]


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> bool:  # float-ok: seconds
    """True once this process listens on `url` (its log says so: another program that took the port in between
    would answer /ready too) and is ready; False when the port was taken, to try another."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            if "address already in use" in _tail(log).lower():
                return False
            raise SelfHostFailed(f"yibao serve exited with {proc.returncode}: {_tail(log)}")
        if f"running on {url}" in log.read_text(errors="replace"):
            try:
                if httpx.get(f"{url}/ready", timeout=1.0).status_code == 200:  # float-ok: seconds
                    return True
            except httpx.HTTPError:
                pass
        if time.monotonic() > deadline:
            raise SelfHostFailed(f"yibao serve was not ready within {timeout:.0f} s: {_tail(log)}")
        time.sleep(0.1)  # float-ok: seconds
