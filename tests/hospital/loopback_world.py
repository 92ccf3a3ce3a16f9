"""Real processes over loopback for test_hospital_loopback.py and test_hospital_processes.py: the demo platform,
the simulated providers and `yibao hospital serve` each started by a `Stack` on free ports, stopped together."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo.yaml"
HOSPITAL_CONFIG = ROOT / "src" / "yibao" / "hospital" / "demo.yaml"
YIBAO = Path(sys.executable).parent / "yibao"
TODAY = "2026-03-16"
WECHAT_KEY, CARD_KEY = "loopback-wechat-key", "loopback-card-key"

# examples/demo.yaml, Shenzhen (the hospital's region)
YANG = {"psn_no": "44030000000000000008", "name": "杨文博", "certno": "440305199912011177"}  # 310, balance 150.00
CHILD = {"psn_no": "44030000000000000003", "name": "陈子涵", "certno": "440304201906151062"}  # 390, mutual aid
AMOXICILLIN = "XJ01CAA040A001"  # 阿莫西林胶囊, class A: wholly in scope


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)
    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append((name, proc, log))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.ports[name]), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"{name} did not listen on {self.ports[name]}:\n{log.read_text(errors='replace')}")

    def run(self, argv: list[str], env: dict[str, str]) -> str:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        return done.stdout

    def stop(self) -> None:
        for _, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for _, proc, _ in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def ok(reply: httpx.Response, status: int = 200) -> Any:
    assert reply.status_code == status, (reply.request.method, reply.request.url, reply.status_code, reply.text)
    return reply.json()
