"""Every failure docs/cli.md lists, run as a user runs it (the `yibao` program in a subprocess): a short message
on stderr naming what is wrong and what to do, a non-zero exit, never a traceback (only with --debug)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

YIBAO = Path(sys.executable).parent / "yibao"
WORLD = Path(__file__).parent / "data" / "world.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def yibao(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
    clean["YIBAO_SIGNIN_CACHE"] = str(cwd / "signin.json")
    return subprocess.run([str(YIBAO), *args], cwd=cwd, env={**clean, **env}, capture_output=True, text=True,
                          timeout=120)


def short_failure(out: subprocess.CompletedProcess[str], code: int, *phrases: str, lines: int = 2) -> None:
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr + out.stdout
    said = out.stderr.strip().splitlines()
    assert 1 <= len(said) <= lines, out.stderr
    for phrase in phrases:
        assert phrase in out.stderr, (phrase, out.stderr)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A directory and an SQLite platform database holding the test world."""
    where = tmp_path_factory.mktemp("cli")
    url = f"sqlite:///{where / 'platform.db'}"
    out = yibao(where, "load", str(WORLD), YIBAO_DATABASE_URL=url)
    assert out.returncode == 0, out.stderr
    return where, url


def test_no_database_url_is_refused_and_no_database_is_made(tmp_path: Path) -> None:
    for args in (["db", "upgrade"], ["load", str(WORLD)], ["token", "agency", "440300"]):
        short_failure(yibao(tmp_path, *args), 2, "YIBAO_DATABASE_URL is not set", "sqlite:///")
    assert list(tmp_path.glob("*.db")) == []


def test_not_a_database_url(tmp_path: Path) -> None:
    short_failure(yibao(tmp_path, "db", "upgrade", YIBAO_DATABASE_URL="yibao.db"), 2,
                  "YIBAO_DATABASE_URL is not a database URL", "postgresql://")


def test_an_unreachable_database(tmp_path: Path) -> None:
    url = f"postgresql://nobody:hunter2@127.0.0.1:{free_port()}/yibao"
    out = yibao(tmp_path, "db", "upgrade", YIBAO_DATABASE_URL=url)
    short_failure(out, 2, "cannot use the database", "Connection refused", "check YIBAO_DATABASE_URL")
    assert "hunter2" not in out.stderr


def test_call_with_the_platform_down_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    out = yibao(tmp_path, "call", "1101", "--url", f"http://127.0.0.1:{port}", "--code", "H44030000001",
                "--secret", "secret-123", "--admdvs", "440300")
    short_failure(out, 2, f"cannot reach http://127.0.0.1:{port}/", "is it running?", lines=1)


def test_call_without_credentials_or_with_bad_input(tmp_path: Path) -> None:
    short_failure(yibao(tmp_path, "call", "1101", "--url", "http://127.0.0.1:9"), 2,
                  "code is not set: pass --code or set YIBAO_FIXMEDINS_CODE")
    short_failure(yibao(tmp_path, "call", "1101", "--input", "{oops"), 2, "--input: not JSON")


def test_a_token_for_someone_the_database_does_not_hold_is_refused(loaded: tuple[Path, str]) -> None:
    where, url = loaded
    short_failure(yibao(where, "token", "person", "99999999999999999999", YIBAO_DATABASE_URL=url), 1,
                  "no insured person 99999999999999999999 in the database", "yibao load")
    short_failure(yibao(where, "token", "agency", "990000", YIBAO_DATABASE_URL=url), 1, "no region 990000")
    short_failure(yibao(where, "token", "institution", "H00000000000", YIBAO_DATABASE_URL=url), 1,
                  "no institution H00000000000")
    good = yibao(where, "token", "person", "44030000000000000001", YIBAO_DATABASE_URL=url)
    assert good.returncode == 0 and good.stdout.count(".") >= 1, good.stderr


def test_a_refused_operation_and_a_bad_argument(loaded: tuple[Path, str]) -> None:
    where, url = loaded
    short_failure(yibao(where, "mutual-aid", "unbind", "1", "--as", "nobody", YIBAO_DATABASE_URL=url), 1)
    out = yibao(where, "mutual-aid", "bind", "44030000000000000001", "44030000000000000002", "--relation",
                "spouse", "--start", "2026-13-01", "--commitment-version", "v1", YIBAO_DATABASE_URL=url)
    short_failure(out, 2, "month must be in 1..12", "--help")


def test_usage_errors_are_two_lines(tmp_path: Path) -> None:
    short_failure(yibao(tmp_path, "load", str(tmp_path / "missing.yaml")), 2, "does not exist",
                  "see `yibao load --help`")
    short_failure(yibao(tmp_path, "db", "frob"), 2, "No such command 'frob'", "see `yibao db --help`")
    short_failure(yibao(tmp_path, "token", "person"), 2, "Missing argument")


def test_serve_with_a_shipped_demo_key_is_refused(loaded: tuple[Path, str]) -> None:
    where, url = loaded
    out = yibao(where, "serve", "--port", str(free_port()), YIBAO_DATABASE_URL=url, YIBAO_TOKEN_KEY="demo-card-key")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    refusal = [line for line in out.stderr.splitlines() if line.startswith("yibao serve:")]
    assert len(refusal) == 1 and "YIBAO_TOKEN_KEY: the demo's shipped value" in refusal[0]


def test_reconcile_with_the_bank_down(loaded: tuple[Path, str]) -> None:
    where, url = loaded
    short_failure(yibao(where, "bank", "reconcile", "--url", f"http://127.0.0.1:{free_port()}",
                        YIBAO_DATABASE_URL=url), 2, "cannot read the bank's ledger")


def test_hospital_without_an_institution(tmp_path: Path) -> None:
    short_failure(yibao(tmp_path, "hospital", "serve", "--port", str(free_port()),
                        YIBAO_HOSPITAL_DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}"), 2)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    out = yibao(tmp_path, "--debug", "db", "upgrade")
    assert out.returncode != 0 and "Traceback" in out.stderr and "NoDatabase" in out.stderr
    out = yibao(tmp_path, "db", "upgrade", YIBAO_DEBUG="1")
    assert out.returncode != 0 and "Traceback" in out.stderr
