"""The `yibao` command: db upgrade, load (good, bad, again), and serve + call end to end."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, func, inspect, select
from typer.testing import CliRunner

from yibao.cli import app
from yibao.store.db import Store
from yibao.store.models import Base

TESTS = Path(__file__).parent
WORLD = TESTS / "data" / "world.yaml"
DEMO = TESTS.parent / "examples" / "demo.yaml"
YIBAO = Path(sys.executable).parent / "yibao"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    return CliRunner()


def row_counts(url: str) -> dict[str, int]:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
                    if t.name != "reference_version"}  # the schema's own counter, made by its migration
    finally:
        store.dispose()


def test_db_upgrade_creates_the_schema_of_a_new_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("YIBAO_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "schema up to date" in result.stdout
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"} <= tables


def test_db_upgrade_of_an_up_to_date_database_exits_0(cli: CliRunner) -> None:
    result = cli.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "schema up to date" in result.stdout


def test_load_a_good_file_then_again(cli: CliRunner, database_url: str) -> None:
    first = cli.invoke(app, ["load", str(WORLD)])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith(f"loaded {WORLD}")
    assert "persons: +4" in first.stdout
    counts = row_counts(database_url)
    assert counts["persons"] == 4 and counts["regions"] == 3

    second = cli.invoke(app, ["load", str(WORLD)])
    assert second.exit_code == 0, second.output
    assert "loaded" in second.stdout
    assert "nothing changed" in second.stdout
    assert row_counts(database_url) == counts


def test_load_a_bad_file_exits_1_names_every_problem_on_stderr_and_writes_nothing(
        cli: CliRunner, database_url: str, tmp_path: Path) -> None:
    doc: dict[str, Any] = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    doc["regions"][0]["policies"][0]["ratio"] = "1.50"
    doc["persons"][1]["nmae"] = doc["persons"][1].pop("name")
    doc["institutions"][0]["admdvs"] = 440300
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")

    result = cli.invoke(app, ["load", str(bad)])
    assert result.exit_code == 1, result.output
    assert f"{bad}: not loaded, 4 problem(s)" in result.stderr
    for line in ("regions[0].policies[0].ratio: must be a decimal between 0 and 1",
                 "persons[1].name: is required",
                 "persons[1].nmae: is not a known key",
                 "institutions[0].admdvs: must be a quoted string"):
        assert line in result.stderr, result.stderr
    assert "loaded" not in result.stdout
    assert set(row_counts(database_url).values()) == {0}


def test_load_a_missing_file_is_a_usage_error(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["load", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


# -- serve + call, end to end -------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(proc: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"yibao serve exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"yibao serve did not listen on {port} within {timeout} s:\n{log.read_text(errors='replace')}")


def _call(env: dict[str, str], infno: str, input_: dict[str, Any], *extra: str) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run([str(YIBAO), "call", infno, "--input", json.dumps(input_), *extra],
                          env=env, capture_output=True, text=True, timeout=60)
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"yibao call printed no JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.returncode, answer, done.stderr


def test_serve_and_call_end_to_end(world: Store, database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
    env["YIBAO_DATABASE_URL"] = database_url
    env["YIBAO_DATA_KEY"] = os.environ["YIBAO_DATA_KEY"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(YIBAO), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(server, port, log)
        client_env = {**env, "YIBAO_URL": f"http://127.0.0.1:{port}", "YIBAO_FIXMEDINS_CODE": "H44030000001",
                      "YIBAO_SECRET": "test-secret-sz", "YIBAO_ADMDVS": "440300",
                      "YIBAO_SIGNIN_CACHE": str(tmp_path / "signin.json")}

        code, answer, err = _call(client_env, "1101", {"data": {"mdtrt_cert_type": "02",
                                                                "mdtrt_cert_no": "440301199001011234"}})
        assert code == 0, (answer, err)
        assert int(answer["infcode"]) == 0
        assert answer["output"]["baseinfo"]["psn_no"] == "44030000000000000001"
        assert (tmp_path / "signin.json").exists(), "the CLI signed in (9001) and kept the sign_no"

        # insured in Guangzhou, asked for at a Shenzhen desk without naming the insured region
        code, answer, err = _call(client_env, "1101", {"data": {"mdtrt_cert_type": "02",
                                                                "mdtrt_cert_no": "440106198408211031"}})
        assert code == 1, (answer, err)
        assert int(answer["infcode"]) == -1
        assert "insuplc_admdvs" in answer["err_msg"]

        # naming it finds him
        code, answer, err = _call(client_env, "1101", {"data": {"mdtrt_cert_type": "02",
                                                                "mdtrt_cert_no": "440106198408211031"}},
                                  "--insuplc", "440100")
        assert code == 0, (answer, err)
        assert answer["output"]["baseinfo"]["psn_no"] == "44010000000000000001"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_mobilepay_register_prints_keys_that_seal_and_open(cli: CliRunner) -> None:
    from yibao.mobilepay.envelope import open_sealed, public_key_of, seal

    assert cli.invoke(app, ["load", str(DEMO)]).exit_code == 0
    result = cli.invoke(app, ["mobilepay", "register", "H44030000001"])
    assert result.exit_code == 0, result.output
    keys = json.loads(result.output)
    assert keys["app_id"].startswith("H44030000001")
    platform_key = cli.invoke(app, ["mobilepay", "platform-key"]).output.strip()
    assert platform_key == keys["platform_public_key"]
    # what the institution seals with its private key opens with its public key and the shared secret
    sealed = seal({"payOrdId": "P1"}, keys["app_id"], "demo-secret-sz-1", keys["private_key"])
    assert open_sealed(sealed, "demo-secret-sz-1", public_key_of(keys["private_key"])) == {"payOrdId": "P1"}
    unknown = cli.invoke(app, ["mobilepay", "register", "NOPE"])
    assert unknown.exit_code == 1 and "fixmedins_code" in unknown.output
