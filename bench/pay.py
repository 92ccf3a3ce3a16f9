"""Benchmark: paying a bill (`POST /payments` of `yibao hospital`) under concurrent load, over loopback.

    .venv/bin/python bench/pay.py [--clients 4] [--payments 200] [--channels card,wechat]

Starts real processes on free loopback ports, as tests/hospital/test_hospital_loopback.py does: the platform
(`yibao load examples/demo.yaml` into a tmp SQLite file, `yibao serve`), the simulated WeChat and card providers
and the hospital (`yibao hospital init` + `serve`, src/yibao/hospital/demo.yaml with YIBAO_HOSPITAL_* overrides,
a tmp SQLite file). Prepares the bills first: the demo's 8 Shenzhen insured persons, one registration each
(today's slots), and one clinic bill (阿莫西林胶囊 10.00 x 2) per payment. Then, per channel, `--clients`
threads each pay the bills of their own patients one after another (a visit is paid by one client at a time),
with `acct_used_flag` 0 so that every payment has a cash leg through the channel:

- card: synchronous, the answer is `paid` (insurance 2203/2204/2206/2207 + the card sale);
- wechat: the answer is `paying` (insurance settled, the order PENDING at the provider) within the 5 s box.

Prints p50 / p95 / p99 / max latency of `POST /payments` and the throughput (payments per second of wall time).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo.yaml"
HOSPITAL_CONFIG = ROOT / "src" / "yibao" / "hospital" / "demo.yaml"
YIBAO = Path(sys.executable).parent / "yibao"
TODAY = "2026-03-16"
KEYS = {"wechat": "bench-wechat-key", "card": "bench-card-key"}
PERSONS = [  # examples/demo.yaml, insured in Shenzhen
    "440304198504121034", "440304198709231042", "440304201906151062", "44030519610208109X",
    "440303195811301107", "440306199403051126", "440306197608171157", "440305199912011177"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """The four processes; `stop()` ends them (only these)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.ports = {name: free_port() for name in ("platform", "wechat", "card", "hospital")}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.base = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
        self.base["YIBAO_DEMO"] = "1"  # the demo world and the hospital's demo configuration
        self.base["YIBAO_TODAY"] = TODAY
        self.env = dict(self.base)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.ports[name]), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"{name} did not listen on {self.ports[name]}")

    @staticmethod
    def _run(argv: list[str], env: dict[str, str]) -> str:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise SystemExit(f"{argv} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        platform_env = {**self.base, "YIBAO_DATABASE_URL": f"sqlite:///{self.tmp / 'platform.db'}"}
        self._run([str(YIBAO), "load", str(DEMO)], platform_env)
        self._start("platform", [str(YIBAO), "serve", "--host", "127.0.0.1", "--port", str(self.ports["platform"])],
                    platform_env)
        for kind, key in KEYS.items():
            self._start(kind, [sys.executable, "-m", "yibao.hospital.channels.simulated", "--kind", kind,
                               "--key", key, "--port", str(self.ports[kind]), "--db", str(self.tmp / f"{kind}.db")],
                        self.base)
        self.env = {**self.base, "YIBAO_HOSPITAL_CONFIG": str(HOSPITAL_CONFIG),
                    "YIBAO_HOSPITAL_DATABASE_URL": f"sqlite:///{self.tmp / 'hospital.db'}",
                    "YIBAO_HOSPITAL_PLATFORM_URL": self.url("platform"),
                    "YIBAO_HOSPITAL_PUBLIC_URL": self.url("hospital"),
                    "YIBAO_HOSPITAL_WECHAT_URL": self.url("wechat"), "YIBAO_HOSPITAL_WECHAT_KEY": KEYS["wechat"],
                    "YIBAO_HOSPITAL_CARD_URL": self.url("card"), "YIBAO_HOSPITAL_CARD_KEY": KEYS["card"]}
        self._run([str(YIBAO), "hospital", "init"], self.env)
        self._start("hospital", [str(YIBAO), "hospital", "serve", "--host", "127.0.0.1",
                                 "--port", str(self.ports["hospital"])], self.env)

    def staff_token(self) -> str:
        return self._run([str(YIBAO), "hospital", "token-staff", "bench"], self.env).strip()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def ok(reply: httpx.Response, status: int = 200) -> Any:
    if reply.status_code != status:
        raise SystemExit(f"{reply.request.method} {reply.request.url}: {reply.status_code} {reply.text}")
    return reply.json()


def register(desk: httpx.Client) -> list[tuple[int, int]]:
    """(patient_id, registration_id): the demo's Shenzhen persons, 1101 + first visit + today's registration."""
    today_slots = [s["slot_id"] for d in ok(desk.get("/doctors")) for s in d["slots"] if s["day"] == TODAY]
    visits = []
    for certno, slot_id in zip(PERSONS, today_slots, strict=False):
        found = ok(desk.post("/patients/lookup", json={"mdtrt_cert_type": "02", "mdtrt_cert_no": certno}))
        pid = ok(desk.post("/patients", json={"name": found["psn_name"], "certno": certno, "mdtrt_cert_type": "02",
                                              "mdtrt_cert_no": certno}), 201)["patient_id"]
        reg = ok(desk.post("/registrations", json={"patient_id": pid, "slot_id": slot_id}), 201)
        visits.append((pid, reg["registration_id"]))
    return visits


def bills(desk: httpx.Client, visits: list[tuple[int, int]], payments: int) -> list[tuple[int, list[str]]]:
    """`payments` clinic bills spread over the visits: (patient_id, bill_nos) per visit."""
    out: dict[int, list[str]] = {pid: [] for pid, _ in visits}
    for i in range(payments):
        pid, reg_id = visits[i % len(visits)]
        out[pid].append(ok(desk.post("/bills", json={"registration_id": reg_id, "kind": "clinic", "lines": [
            {"med_list_codg": "XJ01CAA040A001", "pric": "10.00", "cnt": "2"}]}), 201)["bill_no"])
    return list(out.items())


def run(url: str, token: str, channel: str, clients: int, work: list[tuple[int, list[str]]]) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    shares = [[w for j, w in enumerate(work) if j % clients == i] for i in range(clients)]
    terminal = "desk" if channel == "card" else "mobile"

    def client(share: list[tuple[int, list[str]]]) -> None:
        with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
            for pid, bills in share:
                for bill in bills:
                    t0 = time.perf_counter()
                    reply = http.post("/payments", json={"patient_id": pid, "bill_nos": [bill], "channel": channel,
                                                         "terminal": terminal, "payer_ref": "openid-bench",
                                                         "acct_used_flag": "0"})
                    dt = time.perf_counter() - t0
                    if reply.status_code == 200:
                        answer = reply.json()
                        status = f"{answer['status']}/{answer['cash']['status']}"
                    else:
                        status = f"HTTP {reply.status_code}: {reply.text[:120]}"
                    with lock:
                        latencies.append(dt)
                        statuses[status] += 1

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"channel": channel, "n": len(latencies), "wall": wall, "throughput": len(latencies) / wall,
            "p50": q[49], "p95": q[94], "p99": q[98], "max": max(latencies), "statuses": dict(statuses)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--payments", type=int, default=200, help="payments per channel")
    ap.add_argument("--channels", default="card,wechat")
    args = ap.parse_args()
    channels = [c for c in args.channels.split(",") if c]
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="yibao-bench-pay-") as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.start()
            token = stack.staff_token()
            with httpx.Client(base_url=stack.url("hospital"), timeout=60,
                              headers={"Authorization": f"Bearer {token}"}) as desk:
                t0 = time.perf_counter()
                visits = register(desk)
                work = {c: bills(desk, visits, args.payments) for c in channels}
                print(f"prepared {args.payments} bills per channel in {time.perf_counter() - t0:.1f} s")
            for channel in channels:
                r = run(stack.url("hospital"), token, channel, args.clients, work[channel])
                print(f"{r['channel']:7s} clients {args.clients}  n {r['n']}  wall {r['wall']:.2f} s  "
                      f"throughput {r['throughput']:.1f}/s  p50 {r['p50'] * 1000:.0f} ms  "
                      f"p95 {r['p95'] * 1000:.0f} ms  p99 {r['p99'] * 1000:.0f} ms  max {r['max'] * 1000:.0f} ms  "
                      f"statuses {r['statuses']}")
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
