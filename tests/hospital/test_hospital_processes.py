"""Two hospital processes on one PostgreSQL database: a stay's steps are one at a time across processes.

The platform (`yibao serve` over a tmp SQLite file loaded with examples/demo.yaml) and two `yibao hospital
serve` processes sharing one PostgreSQL schema each run as their own process. Fee uploads (2301) for one stay
are fired at both at once: each upload numbers its lines from the lines kept so far, so two interleaved uploads
would number theirs alike (the platform keeps one line per number: one of them lost or refused). Every upload
must be kept, every line numbered once, and the platform must hold exactly those lines.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import HospitalSchemas
from loopback_world import DEMO, HOSPITAL_CONFIG, TODAY, YANG, YIBAO, Stack, free_port, ok
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from yibao.hospital.db import KindSettlement
from yibao.store.models import FeeDetail

UPLOADS_EACH = 6  # uploads fired at each process at once
LINES = [("XJ01CAA040A001", "12.50", "2")]  # 阿莫西林胶囊 (examples/demo.yaml), one line per upload


@pytest.fixture
def two_hospitals(tmp_path: Path, hospital_schemas: HospitalSchemas) -> Iterator[tuple[Stack, str]]:
    """The platform and two hospital processes over one PostgreSQL schema; the schema's URL."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
    base["YIBAO_TODAY"] = TODAY
    base["YIBAO_DEMO"] = "1"  # the demo world and the hospital's demo configuration
    s = Stack(tmp_path, base, {name: free_port() for name in ("platform", "hospital-a", "hospital-b")})
    url = hospital_schemas.url(0)
    try:
        platform_env = {**base, "YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'platform.db'}"}
        s.run([str(YIBAO), "load", str(DEMO)], platform_env)
        s.start("platform", [str(YIBAO), "serve", "--host", "127.0.0.1", "--port", str(s.ports["platform"])],
                platform_env)
        s.env = {**base, "YIBAO_HOSPITAL_CONFIG": str(HOSPITAL_CONFIG), "YIBAO_HOSPITAL_DATABASE_URL": url,
                 "YIBAO_HOSPITAL_PLATFORM_URL": s.url("platform"), "YIBAO_HOSPITAL_SWEEP_EVERY": "0",
                 "YIBAO_HOSPITAL_AUTH_KEY": "two-processes-key"}
        assert "hospital database ready" in s.run([str(YIBAO), "hospital", "init"], s.env)
        for name in ("hospital-a", "hospital-b"):
            s.start(name, [str(YIBAO), "hospital", "serve", "--host", "127.0.0.1", "--port", str(s.ports[name])],
                    s.env)
        yield s, url
    finally:
        s.stop()


@pytest.mark.parametrize("hospital_kind", ["postgresql"], indirect=True)
def test_concurrent_uploads_to_one_stay_from_two_processes_are_kept_and_numbered_once(
        hospital_kind: str, two_hospitals: tuple[Stack, str]) -> None:
    stack, url = two_hospitals
    token = stack.run([str(YIBAO), "hospital", "token-staff", "desk01"], stack.env).strip()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=stack.url("hospital-a"), timeout=60, headers=headers) as a, \
            httpx.Client(base_url=stack.url("hospital-b"), timeout=60, headers=headers) as b:
        pid = ok(a.post("/patients", json={"name": YANG["name"], "certno": YANG["certno"], "mdtrt_cert_type": "02",
                                           "mdtrt_cert_no": YANG["certno"]}), 201)["patient_id"]
        stay = ok(b.post("/inpatient/stays", json={"patient_id": pid, "begntime": f"{TODAY}T08:00:00"}), 201)
        no, mdtrt_id = stay["no"], stay["mdtrt_id"]
        body = {"lines": [{"med_list_codg": c, "pric": p, "cnt": n} for c, p, n in LINES]}
        start = threading.Barrier(2 * UPLOADS_EACH)

        def upload(client: httpx.Client) -> tuple[int, Any]:
            start.wait(timeout=30)  # every request leaves at once
            reply = client.post(f"/inpatient/stays/{no}/fees", json=body)
            return reply.status_code, reply.json()

        with ThreadPoolExecutor(max_workers=2 * UPLOADS_EACH) as pool:
            answers = list(pool.map(upload, [a, b] * UPLOADS_EACH))
        assert [status for status, _ in answers] == [200] * (2 * UPLOADS_EACH), answers

        # the hospital kept every upload, each line numbered once and in order, each 2301 output kept
        total = 2 * UPLOADS_EACH * len(LINES)
        kept = ok(a.get(f"/inpatient/stays/{no}"))
        numbers = [line["feedetl_sn"] for line in kept["lines"]]
        assert numbers == [f"{no}-{i:04d}" for i in range(1, total + 1)], numbers
        engine = create_engine(url)
        try:
            with Session(engine) as s:
                row = s.scalar(select(KindSettlement).where(KindSettlement.no == no))
                assert row is not None and len(row.outs_2301) == 2 * UPLOADS_EACH and row.pending is None
        finally:
            engine.dispose()
        # and the platform holds exactly those lines
        platform = create_engine(f"sqlite:///file:{stack.tmp / 'platform.db'}?mode=ro&uri=true")
        try:
            with Session(platform) as s:
                held = sorted(s.scalars(select(FeeDetail.feedetl_sn).where(FeeDetail.mdtrt_id == mdtrt_id)))
        finally:
            platform.dispose()
        assert held == numbers
