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
        port = _free_port()
        log = folder / "serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(_yibao("serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                                           "--log-format", "text"), env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(proc, url, log, timeout)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:  # float-ok: seconds
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SelfHostFailed(f"yibao serve exited with {proc.returncode}: {log.read_text(errors='replace')[-800:]}")
        try:
            if httpx.get(f"{url}/ready", timeout=1.0).status_code == 200:  # float-ok: seconds
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SelfHostFailed(f"yibao serve was not ready within {timeout:.0f} s: "
                                 f"{log.read_text(errors='replace')[-800:]}")
        time.sleep(0.1)  # float-ok: seconds
