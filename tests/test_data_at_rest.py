"""Personal data at rest and shipped keys (docs/reliability.md): the stored answers kept for msgid replay are
sealed, so no ID number can be read from that table; a deployment that is not the demo refuses to start with a
secret or key the project ships."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from yibao.cli import app as cli
from yibao.dataset.loader import load_file
from yibao.store.db import Store
from yibao.store.models import Institution, MessageReplay
from yibao.store.vault import VaultError, key_file_of, vault_for

ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LOOKUP = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440301199001011234"}}


def _replay_rows(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(MessageReplay.__table__))]


def test_no_id_number_is_readable_in_the_replay_table_and_replays_still_answer(platform: Any) -> None:
    client = platform.client()
    env = client.envelope("1101", LOOKUP, "", client.sign_no())
    first = client.send(env)
    assert first["infcode"] == 0 and first["output"]["baseinfo"]["certno"] == "440301199001011234"
    rows = _replay_rows(platform.store)
    assert rows, "the answer was kept for replay"
    for row in rows:
        for value in row:
            assert not ID_NUMBER.search(str(value)), f"an ID number is readable at rest: {value!r:.80}"
    again = client.send(env)  # the same msgid: the stored answer, opened
    assert again["output"] == first["output"] and again["inf_refmsgid"] == first["inf_refmsgid"]


def test_a_reversal_finds_the_original_through_its_kept_effect(platform: Any) -> None:
    client = platform.client()
    answer = client.ok("2201", {"data": {"psn_no": "44030000000000000001", "insutype": "310",
                                         "begntime": "2026-03-16 09:00:00", "mdtrt_cert_type": "02",
                                         "ipt_otp_no": "OTP-REST"}})
    with platform.store.unit_of_work() as s:
        kept = s.scalars(select(MessageReplay).where(MessageReplay.infno == "2201")).one()
        assert kept.effect_id == answer["data"]["mdtrt_id"] and kept.response.startswith("f1:")
        msgid = kept.msgid
    out = client.ok("2601", {"data": {"psn_no": "44030000000000000001", "omsgid": msgid, "oinfno": "2201"}})
    assert out["data"]["rvs_rslt"] == "reversed"


def test_the_embedded_deployment_keeps_its_key_beside_its_database(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_DATA_KEY")
    url = f"sqlite:///{tmp_path / 'p.db'}"
    sealed = vault_for(url).seal("440301199001011234")
    key = key_file_of(url)
    assert key == tmp_path / "p.db.key" and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert "440301199001011234" not in sealed and vault_for(url).open(sealed) == "440301199001011234"


def test_a_postgresql_deployment_needs_a_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_DATA_KEY")
    with pytest.raises(VaultError, match="YIBAO_DATA_KEY is not set"):
        vault_for("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("YIBAO_DATA_KEY", "not-a-key")
    with pytest.raises(VaultError, match="32 url-safe base64"):
        vault_for("postgresql+psycopg://postgres@127.0.0.1:5432/test")


def test_keys_rotate_the_new_one_seals_the_old_one_still_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    old = os.environ["YIBAO_DATA_KEY"]
    sealed_before = vault_for("sqlite://").seal("kept")
    monkeypatch.setenv("YIBAO_DATA_KEY", f"{'AAAA' * 10 + 'AAA='}, {old}")
    rotated = vault_for("sqlite://")
    assert rotated.open(sealed_before) == "kept" and rotated.open(rotated.seal("new")) == "new"


def test_serve_refuses_the_demos_shipped_secrets_unless_it_is_the_demo(database_url: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(database_url)
    load_file(store, EXAMPLES / "demo.yaml")
    store.dispose()
    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    monkeypatch.delenv("YIBAO_DEMO", raising=False)
    refused = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert refused.exit_code == 2
    assert "institution H44030000001's secret" in refused.output and "YIBAO_DEMO=1" in refused.output
    assert "institutions[].secret" in refused.output


def test_serve_refuses_to_start_without_a_data_key_on_postgresql(world: Store, database_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite keeps its own key file")
    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    monkeypatch.delenv("YIBAO_DATA_KEY")
    refused = CliRunner().invoke(cli, ["serve", "--port", "1"])
    assert refused.exit_code == 2 and "YIBAO_DATA_KEY is not set" in refused.output


def test_hospital_serve_refuses_the_shipped_demo_configuration(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    config = Path(__file__).resolve().parent.parent / "src" / "yibao" / "hospital" / "demo.yaml"
    monkeypatch.setenv("YIBAO_HOSPITAL_CONFIG", str(config))
    monkeypatch.setenv("YIBAO_HOSPITAL_DATABASE_URL", f"sqlite:///{tmp_path / 'h.db'}")
    monkeypatch.delenv("YIBAO_DEMO", raising=False)
    refused = CliRunner().invoke(cli, ["hospital", "serve", "--port", "1"])
    assert refused.exit_code == 2, refused.output
    assert "auth_key" in refused.output and "channels.wechat.key" in refused.output


def test_every_secret_in_the_shipped_demo_files_is_known_as_shipped() -> None:
    from yibao.demo_keys import SHIPPED

    root = Path(__file__).resolve().parent.parent
    text = "".join((root / name).read_text() for name in (
        "examples/demo.yaml", "src/yibao/hospital/demo.yaml", "src/yibao/conformance/dataset.yaml",
        "src/yibao/conformance/profile.yaml"))
    found = set(re.findall(r"(?:secret|key|auth_key): ([A-Za-z0-9._-]+)", text))
    assert found and found <= SHIPPED, found - SHIPPED


def test_a_world_of_its_own_secrets_starts(world: Store, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from yibao.cli import startup_problem

    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    monkeypatch.delenv("YIBAO_DEMO", raising=False)
    assert startup_problem() is None
    with world.unit_of_work() as s:
        s.execute(update(Institution).where(Institution.code == "H44030000001").values(secret="demo-card-key"))
    assert "H44030000001" in (startup_problem() or "")


def test_keys_data_prints_a_key_the_vault_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    printed = CliRunner().invoke(cli, ["keys", "data"])
    assert printed.exit_code == 0
    monkeypatch.setenv("YIBAO_DATA_KEY", printed.output.strip())
    vault = vault_for("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    assert vault.open(vault.seal("x")) == "x"
