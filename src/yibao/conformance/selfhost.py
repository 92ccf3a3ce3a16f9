"""`--self`: a yibao of the kit's own, on a fresh SQLite database in a temporary folder, loaded with the kit's
dataset (dataset.yaml), served on a free loopback port until the run ends."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from yibao.served import ServeFailed, serving


class SelfHostFailed(ServeFailed):
    """The kit's own yibao did not start: says which command and shows the end of its log."""


def dataset_path() -> Path:
    return Path(str(resources.files("yibao.conformance") / "dataset.yaml"))


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
        try:
            with serving(env, folder, timeout) as url:
                yield url
        except ServeFailed as exc:
            raise SelfHostFailed(str(exc)) from None
