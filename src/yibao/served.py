"""`yibao serve` as a child process on a free loopback port, for the tools that drive a platform over the wire
(the conformance kit's `--self`, the simulation): started, waited for until ready, stopped afterwards."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


class ServeFailed(RuntimeError):
    """`yibao serve` did not start: says why and shows the end of its log."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], folder: Path, timeout: float = 60.0) -> Iterator[str]:  # float-ok: seconds
    """The base URL of `yibao serve` run with `env` (its database and settings), logging into `folder`; a port
    another program takes between choosing and binding it is given up for another (3 tries)."""
    for attempt in range(3):
        port = _free_port()
        log = folder / f"serve-{attempt}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "yibao.cli", "serve", "--host", "127.0.0.1", "--port",
                                     str(port), "--no-access-log", "--log-format", "text"],
                                    env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            if _ready(proc, url, log, timeout):
                yield url
                return
        finally:
            _stop(proc)
    raise ServeFailed(f"yibao serve found no free port in 3 tries: {_tail(log)}")


def _ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> bool:  # float-ok: seconds
    """True once this process listens on `url` (its log says so: another program that took the port in between
    would answer /ready too) and is ready; False when the port was taken, to try another."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            if "address already in use" in _tail(log).lower():
                return False
            raise ServeFailed(f"yibao serve exited with {proc.returncode}: {_tail(log)}")
        if f"running on {url}" in log.read_text(errors="replace"):
            try:
                if httpx.get(f"{url}/ready", timeout=1.0).status_code == 200:  # float-ok: seconds
                    return True
            except httpx.HTTPError:
                pass
        if time.monotonic() > deadline:
            raise ServeFailed(f"yibao serve was not ready within {timeout:.0f} s: {_tail(log)}")
        time.sleep(0.1)  # float-ok: seconds


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
