"""Shared machinery of the adversarial suite: real `yibao serve` processes on fresh databases, a small world built
for them, a desk that speaks the wire protocol, direct reads of the books, and the figures every test reports.

Everything here talks to the platform the way the outside world does: subprocesses (`yibao db upgrade`, `yibao
load`, `yibao serve`, `yibao hospital serve`), HTTP on loopback ports chosen free, and SQL reads of the database
afterwards. Every process is started in a process group of its own and that group is killed on teardown.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import PG_SERVER, signed_headers
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

from yibao import wire
from yibao.client import PlatformClient
from yibao.store.db import normalise_url
from yibao.store.models import (
    Account,
    Accumulator,
    Base,
    Filing,
    MutualAidAuthorization,
    Settlement,
)

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
YIBAO = str(Path(sys.executable).parent / "yibao")
TODAY = "2026-03-16"
SERVICE = "/fsi/api/rsfComIfsService/callService"
#: tables the gateway writes for every message whatever its outcome; everything else is business state
QUIET_TABLES = {"message_log", "nonces"}
#: the API token key every platform process of this suite is started with (YIBAO_TOKEN_KEY)
TOKEN_KEY = "adversarial-token-key"
#: the key sealing personal data at rest (YIBAO_DATA_KEY, a Fernet key), one per test process: a restarted server
#: opens what its predecessor sealed
DATA_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")

SZ, GZ = "440300", "440100"
HOSP_A, HOSP_B, PHARMACY, GZ_HOSP = "H44030000901", "H44030000902", "P44030000901", "H44010000901"
INSTITUTIONS = {
    HOSP_A: ("adv-secret-hosp-a", SZ, "hospital"),
    HOSP_B: ("adv-secret-hosp-b", SZ, "hospital"),
    PHARMACY: ("adv-secret-pharmacy", SZ, "pharmacy"),
    GZ_HOSP: ("adv-secret-gz-hosp", GZ, "hospital"),
}
DRUG = "EX-DRUG-A"  # class A, wholly in scope, no price cap


# -- the world ------------------------------------------------------------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def certno(district: str, birth: str, seq: int) -> str:
    """A valid resident ID number (GB 11643): district, yyyymmdd, a 3-digit sequence, the check character."""
    body = f"{district}{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class Who:
    psn_no: str
    certno: str
    insutype: str
    admdvs: str
    name: str
    balance: str | None = None

    def doc(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "psn_no": self.psn_no, "name": self.name, "certno": self.certno,
            "gend": "1" if int(self.certno[16]) % 2 else "2",
            "brdy": f"{self.certno[6:10]}-{self.certno[10:12]}-{self.certno[12:14]}", "insutype": self.insutype,
            "admdvs": self.admdvs, "psn_type": "1101" if self.insutype == "310" else "1402",
            "ecard": f"EC-{self.psn_no}", "card_no": f"SC{self.psn_no[-10:]}"}
        if self.balance is not None:
            out["account"] = {"balance": self.balance, "admdvs": self.admdvs}
        return out


def employee(n: int, admdvs: str = SZ, balance: str = "500.00") -> Who:
    district = "440301" if admdvs == SZ else "440106"
    return Who(f"{admdvs}0000{n:010d}", certno(district, "19800101", n % 1000), "310", admdvs, f"职工{n}", balance)


def child(n: int, admdvs: str = SZ) -> Who:
    district = "440301" if admdvs == SZ else "440106"
    return Who(f"{admdvs}0000{n:010d}", certno(district, "20180101", n % 1000), "390", admdvs, f"儿童{n}")


def world(persons: Sequence[Who], grants: Sequence[tuple[Who, Who, str]] = (), today: str = TODAY) -> dict[str, Any]:
    """Shenzhen (outpatient, inpatient and pharmacy policies, mutual aid) and Guangzhou; two Shenzhen hospitals, a
    Shenzhen pharmacy, a Guangzhou hospital; `grants` are (authorizer, child beneficiary, quota)."""
    catalog = [{"code": DRUG, "name": "药品甲", "chrgitm_lv": "01", "selfpay_prop": "0", "pric_uplmt_amt": None,
                "med_chrgitm_type": "09"}]

    def region(admdvs: str, name: str, policies: list[dict[str, Any]]) -> dict[str, Any]:
        return {"admdvs": admdvs, "name": name, "acct_bookkeeping": True,
                "inprov_outpatient_filing_required": False, "referral_filing_max_days": 90,
                "mutual_aid": {"enabled": True, "authorizer_min_balance": None,
                               "relation_limits": {"spouse": 1, "father": 1, "mother": 1, "child": 4}},
                "local_only_diseases": [], "diseases": [], "policies": policies, "catalog": list(catalog)}

    def policy(insutype: str, med: str, bucket: str, ded: str, ratio: str, cap: str, scope: str) -> dict[str, Any]:
        return {"insutype": insutype, "med_types": [med], "bucket": bucket, "deductible": ded, "ratio": ratio,
                "annual_cap": cap, "acct_scope": scope}

    return {
        "today": today,
        "regions": [
            region(SZ, "深圳市(对抗)", [policy("310", "11", "outpatient", "100.00", "0.60", "5000.00", "all"),
                                     policy("390", "11", "outpatient", "0.00", "0.50", "800.00", "all"),
                                     policy("310", "21", "inpatient", "300.00", "0.90", "200000.00", "policy"),
                                     policy("310", "41", "pharmacy", "0.00", "0", "0.00", "all")]),
            region(GZ, "广州市(对抗)", [policy("310", "11", "outpatient", "0.00", "0.70", "4000.00", "all")]),
        ],
        "institutions": [
            {"code": code, "name": f"对抗{code}", "admdvs": admdvs, "kind": kind,
             **({"level": "3"} if kind == "hospital" else {}), "xregion": "national", "secret": secret}
            for code, (secret, admdvs, kind) in INSTITUTIONS.items()],
        "persons": [p.doc() for p in persons],
        "mutual_aid": [{"authorizer": a.psn_no, "beneficiary": b.psn_no, "relation": "child", "quota": quota,
                        "start": "2026-01-01", "end": "2026-12-31", "priority": 1} for a, b, quota in grants],
    }


# -- processes ------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    """The environment of every process started here: no YIBAO_* of the caller's shell, the suite's token key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
    env.update({"YIBAO_TOKEN_KEY": TOKEN_KEY, "YIBAO_DATA_KEY": DATA_KEY, "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def run_cli(argv: Sequence[str], env: dict[str, str], timeout: float = 180) -> str:  # float-ok: seconds
    done = subprocess.run([YIBAO, *argv], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-4000:])
    return done.stdout


@dataclass
class Process:
    """A server in its own process group (uvicorn's supervisor and its workers die together)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log: Path
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str | None = "/health", timeout: float = 120) -> None:  # float-ok: seconds
        """Start and wait until `ready_path` answers (None: until the port accepts a connection)."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True, cwd=self.cwd)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if ready_path is None:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                        return
                elif httpx.get(self.url + ready_path, timeout=5).status_code < 500:
                    return
            except (OSError, httpx.HTTPError):
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"{self.name} did not answer {ready_path} on {self.port} within {timeout} s:\n{self.tail()}")

    def tail(self, chars: int = 6000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def _signal(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill9(self) -> None:
        """SIGKILL to the whole group, at once: no shutdown of any kind runs."""
        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        self._signal(signal.SIGKILL)  # the workers too, whatever the supervisor did
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None


def platform_process(url: str, tmp: Path, workers: int, name: str = "platform") -> Process:
    port = free_port()
    argv = [YIBAO, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--no-access-log"]
    return Process(name, argv, base_env(YIBAO_DATABASE_URL=url), port, tmp / f"{name}.log")


def pg_available(config: pytest.Config) -> None:
    problem = getattr(config, "pg_problem", None)
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")


@contextmanager
def pg_schema(label: str) -> Iterator[str]:
    """A fresh, empty schema of the test server; its URL as `yibao` reads it (plain postgresql://, search_path in
    the options). Dropped afterwards."""
    schema = f"adv_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    server = PG_SERVER.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        yield f"{server}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def prepare_database(url: str, doc: dict[str, Any], tmp: Path) -> None:
    """`yibao db upgrade` then `yibao load` of `doc`, as an operator would."""
    env = base_env(YIBAO_DATABASE_URL=url)
    run_cli(["db", "upgrade"], env)
    path = tmp / f"world-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    run_cli(["load", str(path)], env)


@dataclass
class Platform:
    """A served platform: its process, its database URL and the direct reads of its books."""

    process: Process
    db_url: str
    backend: str
    workers: int
    books: Books = field(init=False)

    def __post_init__(self) -> None:
        self.books = Books(self.db_url)

    @property
    def url(self) -> str:
        return self.process.url

    def close(self) -> None:
        self.process.stop()
        self.books.dispose()


@contextmanager
def served_platform(backend: str, doc: dict[str, Any], tmp: Path, config: pytest.Config, workers: int = 0,
                    label: str = "p") -> Iterator[Platform]:
    """`yibao serve` on a fresh database loaded with `doc`: PostgreSQL with 2 workers, or an SQLite file with one."""
    if backend == "postgresql":
        pg_available(config)
        with pg_schema(label) as url:
            prepare_database(url, doc, tmp)
            platform = Platform(platform_process(url, tmp, workers or 2, f"platform-{label}"), url, backend,
                                workers or 2)
            try:
                platform.process.start()
                yield platform
            finally:
                platform.close()
        return
    url = f"sqlite:///{tmp / f'{label}.db'}"
    prepare_database(url, doc, tmp)
    platform = Platform(platform_process(url, tmp, workers or 1, f"platform-{label}"), url, backend, workers or 1)
    try:
        platform.process.start()
        yield platform
    finally:
        platform.close()


# -- the hospital beside the demo platform ---------------------------------------------------------------------

DEMO = ROOT / "examples" / "demo.yaml"
HOSPITAL_CONFIG = ROOT / "src" / "yibao" / "hospital" / "demo.yaml"
HOSPITAL_KEY = "adversarial-hospital-key"
CARD_KEY = "adversarial-card-key"
#: examples/demo.yaml, Shenzhen (the demo hospital H44030000001's region)
DEMO_INSURED = {"psn_no": "44030000000000000008", "name": "杨文博", "certno": "440305199912011177"}


@dataclass
class HospitalStack:
    """The demo platform (SQLite, one worker), the simulated card provider and `yibao hospital serve`."""

    platform: Process
    card: Process
    hospital: Process
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.hospital.url

    def token(self, kind: str, subject: str | int, days: float = 1.0) -> str:  # float-ok: days
        from yibao.hospital import auth

        return auth.issue(HOSPITAL_KEY.encode(), kind, subject, days)

    def headers(self, kind: str, subject: str | int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(kind, subject)}"}


@contextmanager
def hospital_stack(tmp: Path) -> Iterator[HospitalStack]:
    platform_db = f"sqlite:///{tmp / 'demo-platform.db'}"
    common = base_env(YIBAO_TODAY=TODAY, YIBAO_DEMO="1")  # the demo world, with its shipped secrets
    platform_env = {**common, "YIBAO_DATABASE_URL": platform_db}
    run_cli(["load", str(DEMO)], platform_env)
    ports = {name: free_port() for name in ("platform", "card", "hospital")}
    platform = Process("demo-platform", [YIBAO, "serve", "--host", "127.0.0.1", "--port", str(ports["platform"]),
                                         "--no-access-log"], platform_env, ports["platform"], tmp / "demo-platform.log")
    card = Process("card", [sys.executable, "-m", "yibao.hospital.channels.simulated", "--kind", "card", "--key",
                            CARD_KEY, "--port", str(ports["card"]), "--db", str(tmp / "card.db")], common,
                   ports["card"], tmp / "card.log")
    env = {**common, "YIBAO_HOSPITAL_CONFIG": str(HOSPITAL_CONFIG),
           "YIBAO_HOSPITAL_DATABASE_URL": f"sqlite:///{tmp / 'hospital.db'}",
           "YIBAO_HOSPITAL_PLATFORM_URL": platform.url, "YIBAO_HOSPITAL_PUBLIC_URL": f"http://127.0.0.1:{ports['hospital']}",
           "YIBAO_HOSPITAL_CARD_URL": card.url, "YIBAO_HOSPITAL_CARD_KEY": CARD_KEY,
           "YIBAO_HOSPITAL_AUTH_KEY": HOSPITAL_KEY, "YIBAO_HOSPITAL_SWEEP_EVERY": "0"}
    hospital = Process("hospital", [YIBAO, "hospital", "serve", "--host", "127.0.0.1", "--port",
                                    str(ports["hospital"])], env, ports["hospital"], tmp / "hospital.log", cwd=tmp)
    try:
        platform.start()
        card.start(ready_path=None)
        done = subprocess.run([YIBAO, "hospital", "init"], env=env, cwd=tmp, capture_output=True, text=True,
                              timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        hospital.start(ready_path="/hospital")
        yield HospitalStack(platform, card, hospital, env)
    finally:
        for process in (hospital, card, platform):
            process.stop()


# -- the books, read directly -----------------------------------------------------------------------------------

class Books:
    """Read-only SQL on the platform's database."""

    def __init__(self, url: str):
        url = normalise_url(url)
        self.engine: Engine = create_engine(url, pool_pre_ping=True) if not url.startswith("sqlite") else \
            create_engine(url, connect_args={"timeout": 30})

    def dispose(self) -> None:
        self.engine.dispose()

    def settlements(self, **where: Any) -> list[Settlement]:
        with self.engine.connect() as conn:
            q = select(Settlement.__table__).filter_by(**where).order_by(Settlement.setl_time, Settlement.setl_id)
            return list(conn.execute(q).all())  # type: ignore[arg-type]

    def balance(self, psn_no: str) -> Decimal:
        with self.engine.connect() as conn:
            return conn.execute(select(Account.balance).where(Account.psn_no == psn_no)).scalar_one()

    def accumulator(self, psn_no: str, bucket: str) -> tuple[Decimal, Decimal]:
        with self.engine.connect() as conn:
            row = conn.execute(select(Accumulator.deductible_used, Accumulator.fund_paid).where(
                Accumulator.psn_no == psn_no, Accumulator.year == int(TODAY[:4]), Accumulator.bucket == bucket)).first()
        return (D("0.00"), D("0.00")) if row is None else (row[0], row[1])

    def quota_used(self, beneficiary: str) -> Decimal:
        with self.engine.connect() as conn:
            return conn.execute(select(func.coalesce(func.sum(MutualAidAuthorization.quota_used), 0)).where(
                MutualAidAuthorization.beneficiary == beneficiary)).scalar_one()

    def authorizations(self, authorizer: str, beneficiary: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(MutualAidAuthorization.__table__).where(
                MutualAidAuthorization.authorizer == authorizer,
                MutualAidAuthorization.beneficiary == beneficiary)).all())

    def filings(self, psn_no: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(Filing.__table__).where(Filing.psn_no == psn_no)).all())

    def counts(self, skip: set[str] = QUIET_TABLES) -> dict[str, int]:
        """Rows in every table but `skip`."""
        with self.engine.connect() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in Base.metadata.sorted_tables if t.name not in skip}


# -- the desk: the wire protocol ----------------------------------------------------------------------------------

class Desk:
    """One institution's HIS over HTTP: one signing client for the preparation, and `fire` for the races."""

    def __init__(self, base_url: str, code: str, opter: str = "adv01"):
        secret, admdvs, _ = INSTITUTIONS[code]
        self.base_url, self.code, self.secret, self.admdvs = base_url, code, secret, admdvs
        self.client = PlatformClient(base_url, code, secret, admdvs, opter=opter, timeout=120)

    def close(self) -> None:
        self.client.http.close()

    def ok(self, infno: str, input_: dict[str, Any], insuplc: str = "") -> dict[str, Any]:
        answer = self.client.call(infno, input_, insuplc)
        assert answer.get("infcode") == 0, f"{infno}: {answer.get('err_msg')}"
        return dict(answer["output"])

    def envelope(self, infno: str, input_: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        return self.client.envelope(infno, input_, "", self.client.sign_no(), msgid)

    def post(self, body: bytes, http: httpx.Client | None = None) -> tuple[int, dict[str, Any]]:
        """POST one encoded envelope with fresh x-tif headers; (status, answer) — the answer {} when not JSON."""
        own = http is None
        http = http or httpx.Client(timeout=120)
        try:
            reply = http.post(self.base_url + SERVICE, content=body, headers=signed_headers(self.code, self.secret))
        finally:
            if own:
                http.close()
        try:
            answer = wire.decode(reply.content)
        except ValueError:
            answer = {}
        return reply.status_code, answer if isinstance(answer, dict) else {}

    def fire(self, bodies: Sequence[bytes]) -> list[tuple[int, dict[str, Any]]]:
        """Every body at the same moment, one thread and one HTTP connection each; answers in order."""
        return fire([lambda http, b=b: self.post(b, http) for b in bodies])


def fire(calls: Sequence[Callable[[httpx.Client], Any]], timeout: float = 300) -> list[Any]:  # float-ok: seconds
    """Run each call in its own thread with its own HTTP client, all released by one barrier; their results in
    order (an exception is returned in its place)."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    clients = [httpx.Client(timeout=120) for _ in calls]

    def run(i: int) -> None:
        try:
            start.wait(timeout=60)
            results[i] = calls[i](clients[i])
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    for c in clients:
        c.close()
    assert not any(t.is_alive() for t in threads), "a request never came back"
    return results


# -- figures -----------------------------------------------------------------------------------------------------

@pytest.fixture
def figures(record_property: Callable[[str, object], None], request: pytest.FixtureRequest) -> Callable[..., None]:
    """figures(suite, **numbers): what this test measured, summed by tests/adversarial/report.py on the
    controller (it travels as a user property, so pytest-xdist carries it from the workers)."""

    def record(suite: str, **numbers: Any) -> None:
        record_property("adversarial", {"suite": suite, "test": request.node.nodeid, **numbers})

    return record
