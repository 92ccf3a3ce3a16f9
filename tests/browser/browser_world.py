"""What the browser tests share besides their fixtures (conftest.py): the served processes, an opened page."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from adversarial.conftest import YIBAO, Process, run_cli

#: the demo world's Shenzhen employee (examples/demo.yaml)
DEMO_PERSON = {"psn_no": "44030000000000000008", "name": "杨文博", "certno": "440305199912011177"}


@dataclass
class Served:
    process: Process
    env: dict[str, str]
    outbox: Path | None = None

    @property
    def url(self) -> str:
        return self.process.url

    def cli(self, *argv: str, stdin: str | None = None) -> str:
        if stdin is None:
            return run_cli(argv, self.env)
        done = subprocess.run([YIBAO, *argv], env=self.env, input=stdin, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def last_code(self, psn_no: str) -> str:
        """The latest sign-in code the simulated sender wrote for the person."""
        assert self.outbox is not None
        lines = [line.split() for line in self.outbox.read_text(encoding="utf-8").splitlines()] \
            if self.outbox.exists() else []
        codes = [parts[-1] for parts in lines if len(parts) >= 5 and parts[2] == psn_no]
        assert codes, f"no code was sent to {psn_no}"
        return codes[-1]


@dataclass
class Opened:
    """A page of a fresh browser profile, and the URLs beyond 127.0.0.1 it tried (blocked)."""

    page: Any
    blocked: list[str] = field(default_factory=list)


def local(url: str) -> bool:
    """Whether a request stays on this machine (127.0.0.1, or data the page holds itself)."""
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"
