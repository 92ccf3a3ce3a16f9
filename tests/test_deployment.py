"""The deployment files (Dockerfile, compose.yaml, LICENSE; docs/deployment.md), checked without a container
engine: the Dockerfile lints clean (hadolint), compose.yaml has its services, health checks and required
secrets and ships none, and the image's command and the health-check command lines work when run as they are
written against real `yibao serve`, `yibao bank deliver --loop` and `yibao hospital serve` processes."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from yibao.demo_keys import SHIPPED
from yibao.healthcheck import url_problem

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD)$")


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def instruction(name: str) -> str:
    (value,) = [v for k, v in instructions() if k == name]
    return value


def exec_form(value: str) -> list[str]:
    words = json.loads(value)
    assert isinstance(words, list) and all(isinstance(w, str) for w in words), value
    return words


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def substitute(words: list[str], port: int, **paths: str) -> list[str]:
    """A command line of the image as run here: this machine's port and paths, compose's defaults."""
    out = []
    for word in words:
        word = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", word)
        word = word.replace("0.0.0.0", "127.0.0.1").replace(":8000", f":{port}").replace(":8020", f":{port}")
        for old, new in paths.items():
            word = word.replace(old, new)
        out.append(str(port) if word in ("8000", "8020") else word)
    return out


def run_check(test: list[str], port: int, **paths: str) -> subprocess.CompletedProcess[str]:
    kind, *words = test
    assert kind == "CMD" and words[0] == "python", test
    return subprocess.run([sys.executable, *substitute(words[1:], port, **paths)], capture_output=True, text=True,
                          timeout=60)


# -- the files --------------------------------------------------------------------------------------------

def test_the_dockerfile_lints_clean() -> None:
    out = subprocess.run([str(BIN / "hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_image_is_slim_runs_as_a_user_and_starts_yibao() -> None:
    assert re.fullmatch(r"python:3\.\d+-slim(-\w+)?", instruction("FROM")), instruction("FROM")
    user = instruction("USER").split(":")[0]
    assert user not in ("0", "root"), user
    assert exec_form(instruction("ENTRYPOINT")) == ["yibao"]
    assert exec_form(instruction("CMD"))[0] == "serve"
    check = instruction("HEALTHCHECK")
    assert "--interval=" in check and exec_form(check.split("CMD", 1)[1])[:3] == ["python", "-m", "yibao.healthcheck"]


def test_the_license_is_the_apache_2_text_pyproject_names() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert 'license = { text = "Apache-2.0" }' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License\n") and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and len(text.splitlines()) > 190


def test_compose_runs_the_database_platform_outbox_worker_and_hospital_each_with_a_health_check() -> None:
    assert set(SERVICES) == {"db", "platform", "outbox", "hospital"}
    for name, service in SERVICES.items():
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    assert SERVICES["db"]["image"].startswith("postgres:")
    commands = {name: SERVICES[name]["command"][:3] for name in ("platform", "outbox", "hospital")}
    assert commands == {"platform": ["serve", "--host", "0.0.0.0"], "outbox": ["bank", "deliver", "--loop"],
                        "hospital": ["hospital", "serve", "--host"]}
    # the worker delivers the outbox: the platform starts no delivery thread of its own (YIBAO_BANK_URL unset)
    assert "YIBAO_BANK_URL" not in SERVICES["platform"]["environment"]
    beat = SERVICES["outbox"]["command"][SERVICES["outbox"]["command"].index("--heartbeat") + 1]
    assert SERVICES["outbox"]["healthcheck"]["test"][4:6] == ["--beat", beat]
    for name in ("platform", "outbox", "hospital"):
        assert SERVICES[name]["depends_on"], name
        for key, value in SERVICES[name]["environment"].items():
            assert "localhost" not in value and "127.0.0.1" not in value, (name, key)


def test_compose_requires_every_secret_and_ships_none() -> None:
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert not [key for key in SHIPPED if key in text]
    assert "YIBAO_DEMO" not in text
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert {"YIBAO_DB_PASSWORD", "YIBAO_DATA_KEY", "YIBAO_TOKEN_KEY", "YIBAO_BANK_URL", "YIBAO_HOSPITAL_SECRET",
            "YIBAO_HOSPITAL_AUTH_KEY", "YIBAO_HOSPITAL_FIXMEDINS_CODE", "YIBAO_HOSPITAL_ADMDVS"} <= required
    for name, service in SERVICES.items():
        for key, value in service.get("environment", {}).items():
            if SECRET_NAME.search(key):  # its value is the operator's: required, or (optional ones) empty
                assert re.fullmatch(r"\$\{[A-Z_]+:(\?[^}]+|-)\}", value), (name, key, value)
    for name, service in SERVICES.items():  # the database password goes in by reference only
        for value in service.get("environment", {}).values():
            if "@db:" in value:
                assert value.startswith("postgresql://yibao:${YIBAO_DB_PASSWORD:?"), (name, value)


# -- the command lines, run as written ---------------------------------------------------------------------

@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """The image's entry command (ENTRYPOINT + CMD) on this machine: `yibao serve` on an SQLite database."""
    port = free_port()
    words = exec_form(instruction("ENTRYPOINT")) + exec_form(instruction("CMD"))
    env = {**os.environ, "YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'platform.db'}",
           "YIBAO_TOKEN_KEY": secrets.token_hex(16)}
    env.pop("YIBAO_BANK_URL", None)
    proc = subprocess.Popen([str(BIN / words[0]), *substitute(words[1:], port)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=(tmp_path / "serve.log").open("wb"))
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc, tmp_path / "serve.log")
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while url_problem(url, timeout=2) is not None:
        assert proc.poll() is None, log.read_text(errors="replace")
        assert time.monotonic() < deadline, f"{url} never answered: {log.read_text(errors='replace')}"
        time.sleep(0.2)


def test_the_image_command_serves_and_the_health_checks_pass_then_fail_when_it_stops(
        served: tuple[int, subprocess.Popen[bytes]]) -> None:
    port, proc = served
    in_image = ["CMD", *exec_form(instruction("HEALTHCHECK").split("CMD", 1)[1])]
    for test in (in_image, SERVICES["platform"]["healthcheck"]["test"]):
        ok = run_check(test, port)
        assert ok.returncode == 0, ok.stderr
    proc.terminate()
    proc.wait(timeout=30)
    down = run_check(SERVICES["platform"]["healthcheck"]["test"], port)
    assert down.returncode == 1 and down.stderr.startswith("unhealthy: ") and len(down.stderr.splitlines()) == 1


def test_the_outbox_worker_beats_and_its_health_check_follows(served: tuple[int, subprocess.Popen[bytes]],
                                                             tmp_path: Path) -> None:
    port, _ = served
    beat = str(tmp_path / "outbox.beat")
    words = substitute(SERVICES["outbox"]["command"], port, **{"/tmp/yibao-outbox.beat": beat})
    test = SERVICES["outbox"]["healthcheck"]["test"]
    assert run_check(test, port, **{"/tmp/yibao-outbox.beat": beat}).returncode == 1  # no pass yet
    env = {**os.environ, "YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'platform.db'}",
           "YIBAO_BANK_URL": f"http://127.0.0.1:{free_port()}"}
    worker = subprocess.Popen([str(BIN / "yibao"), *words], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not Path(beat).exists():
            assert worker.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        ok = run_check(test, port, **{"/tmp/yibao-outbox.beat": beat})
        assert ok.returncode == 0, ok.stderr
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    an_hour_ago = time.time() - 3600
    os.utime(beat, (an_hour_ago, an_hour_ago))
    stale = run_check(test, port, **{"/tmp/yibao-outbox.beat": beat})
    assert stale.returncode == 1 and "more than 60" in stale.stderr


def test_the_hospital_command_serves_and_its_health_check_passes(served: tuple[int, subprocess.Popen[bytes]],
                                                                  tmp_path: Path) -> None:
    platform_port, _ = served
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_HOSPITAL_") and k != "YIBAO_DEMO"}
    env.update({"YIBAO_HOSPITAL_DATABASE_URL": f"sqlite:///{tmp_path / 'hospital.db'}",
                "YIBAO_HOSPITAL_PLATFORM_URL": f"http://127.0.0.1:{platform_port}",
                "YIBAO_HOSPITAL_FIXMEDINS_CODE": "H44030000001", "YIBAO_HOSPITAL_ADMDVS": "440300",
                "YIBAO_HOSPITAL_SECRET": secrets.token_hex(12), "YIBAO_HOSPITAL_AUTH_KEY": secrets.token_hex(16)})
    words = substitute(SERVICES["hospital"]["command"], port)
    log = tmp_path / "hospital.log"
    proc = subprocess.Popen([str(BIN / "yibao"), *words], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("wb"))
    try:
        wait_healthy(f"http://127.0.0.1:{port}/hospital", proc, log)
        ok = run_check(SERVICES["hospital"]["healthcheck"]["test"], port)
        assert ok.returncode == 0, ok.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_health_check_refuses_a_call_without_a_target() -> None:
    out = subprocess.run([sys.executable, "-m", "yibao.healthcheck"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "give a URL or --beat FILE" in out.stderr
