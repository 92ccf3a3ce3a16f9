"""The hospital's own database is made by its own Alembic migrations (src/yibao/hospital/migrations, version
table `hospital_alembic_version`), on SQLite and PostgreSQL, through `yibao hospital init` / `db upgrade`.

`test_migrations_match_the_models` is the test that fails when a model of yibao.hospital.db changes without a
migration: the migrated database is compared with Base.metadata by Alembic's autogenerate comparison."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from helpers import PG_SERVER
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from yibao.hospital import auth
from yibao.hospital import cli as hospital_cli
from yibao.hospital.api import create_hospital_app
from yibao.hospital.config import HospitalConfig
from yibao.hospital.database import HospitalDB
from yibao.hospital.db import Base, Department, KindSettlement, Patient, Payment
from yibao.hospital.service import Hospital
from yibao.store.db import normalise_url
from yibao.store.db import upgrade as platform_upgrade
from yibao.store.models import Base as PlatformBase

VERSION_TABLE = "hospital_alembic_version"
HEAD = HospitalDB("sqlite://").heads()[0]  # the newest revision
CREATED = datetime(2026, 3, 16, 9, 0)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, worker: str) -> Iterator[str]:
    """A PostgreSQL schema of this test alone (xdist-safe), dropped afterwards."""
    problem = request.config.pg_problem  # type: ignore[attr-defined]
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    schema = f"yibao_hosp_mig_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind (nothing in it at all)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hospital.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`yibao hospital ...` against a configuration file naming `url` (YIBAO_HOSPITAL_CONFIG)."""
    for name in ("DATABASE_URL", "FIXMEDINS_CODE", "SECRET", "ADMDVS"):
        monkeypatch.delenv(f"YIBAO_HOSPITAL_{name}", raising=False)
    runner = CliRunner()

    def run(url: str, *args: str) -> Any:
        file = tmp_path / "hospital.yaml"
        file.write_text(yaml.safe_dump({"database_url": url, "institution": {
            "fixmedins_code": "H44030000201", "secret": "s", "admdvs": "440300"}}), encoding="utf-8")
        monkeypatch.setenv("YIBAO_HOSPITAL_CONFIG", str(file))
        return runner.invoke(hospital_cli.hospital_app, list(args))

    return run


def differences(url: str, metadata: Any = Base.metadata) -> list[Any]:
    """What Alembic's autogenerate finds between the database and the models (types too)."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "version_table": VERSION_TABLE,
                "include_name": lambda name, kind, _parent: kind != "table" or name in metadata.tables})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = create_engine(normalise_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def versions(url: str, table: str = VERSION_TABLE) -> list[str]:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(text(f"SELECT version_num FROM {table}"))]
    finally:
        engine.dispose()


def test_migrations_match_the_models(empty_url: str, cli: Any) -> None:
    """`yibao hospital init` on an empty database migrates it to the newest revision, whose schema is exactly
    Base.metadata: a model changed without a migration fails here."""
    result = cli(empty_url, "init")
    assert result.exit_code == 0, result.output
    assert f"upgraded from nothing to {HEAD}" in result.stdout
    assert differences(empty_url) == []
    assert tables(empty_url) == set(Base.metadata.tables) | {VERSION_TABLE}  # no `alembic_version` of its own
    assert versions(empty_url) == list(HospitalDB(empty_url).heads()) == [HEAD]
    current = cli(empty_url, "db", "current")
    assert current.exit_code == 0 and f"at {HEAD}; newest {HEAD} (up to date)" in current.stdout


def test_upgrading_twice_changes_nothing(empty_url: str, cli: Any) -> None:
    first = cli(empty_url, "db", "upgrade")
    assert first.exit_code == 0 and f"upgraded from nothing to {HEAD}" in first.stdout, first.output
    db = HospitalDB(empty_url)
    with db.session() as s:
        s.add(Department(code="D1", name="内科"))
    second = cli(empty_url, "db", "upgrade")
    assert second.exit_code == 0 and f"at {HEAD} already" in second.stdout, second.output
    assert db.upgrade() == f"at {HEAD} already"
    init = cli(empty_url, "init")
    assert init.exit_code == 0 and f"(schema at {HEAD} already)" in init.stdout, init.output
    with db.session() as s:
        assert s.scalars(select(Department.code)).all() == ["D1"]
    db.dispose()
    assert versions(empty_url) == [HEAD] and differences(empty_url) == []


def _old_database(url: str) -> None:
    """A hospital database as the release before migrations made it (git 3a51ce2's create_all, which is the
    baseline 0001's tables), rows, no version table."""
    db = HospitalDB(url)
    command.upgrade(db.alembic_config(), "0001")
    db.dispose()
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {VERSION_TABLE}"))
    with Session(engine) as s, s.begin():
        s.add(Department(code="D1", name="内科"))
        s.add(Patient(name="张三", certno="440300199001010011", created_at=CREATED, updated_at=CREATED))
    engine.dispose()


def test_a_database_made_by_create_all_is_stamped_keeping_its_rows(empty_url: str, cli: Any) -> None:
    _old_database(empty_url)
    assert VERSION_TABLE not in tables(empty_url)
    result = cli(empty_url, "init")
    assert result.exit_code == 0, result.output
    assert f"stamped at 0001; now at {HEAD}" in result.stdout
    assert versions(empty_url) == [HEAD] and differences(empty_url) == []
    db = HospitalDB(empty_url)
    with db.session() as s:
        assert s.scalars(select(Patient.certno)).all() == ["440300199001010011"]
        assert s.scalars(select(Department.code)).all() == ["D1"]
    db.dispose()


def test_an_old_database_unlike_the_baseline_is_not_stamped(empty_url: str, cli: Any) -> None:
    """Tables unlike any release's create_all (a column renamed by hand): refused, nothing changed, rows kept."""
    _old_database(empty_url)
    engine = create_engine(normalise_url(empty_url))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE payments RENAME COLUMN env_2207 TO env_settle"))
    engine.dispose()
    result = cli(empty_url, "db", "upgrade")
    assert result.exit_code == 1
    assert "not stamped" in result.stderr and "payments.env_2207 missing" in result.stderr
    assert "payments.env_settle unknown to 0001" in result.stderr
    assert cli(empty_url, "init").exit_code == 1
    assert VERSION_TABLE not in tables(empty_url)
    db = HospitalDB(empty_url)
    with db.session() as s:
        assert s.scalars(select(Patient.certno)).all() == ["440300199001010011"]
    db.dispose()


def test_some_hospital_tables_missing_is_not_stamped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'partial.db'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables["departments"]])
    engine.dispose()
    db = HospitalDB(url)
    with pytest.raises(HospitalDB.SchemaError, match="table payments missing"):
        db.upgrade()
    assert db.current() == ()
    db.dispose()
    assert tables(url) == {"departments"}


def test_the_platform_and_a_hospital_can_share_one_database(tmp_path: Path) -> None:
    """Each keeps its own version table; neither sees the other's tables as its own."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    platform_upgrade(url)
    platform_versions = versions(url, "alembic_version")
    db = HospitalDB(url)
    assert db.upgrade() == f"upgraded from nothing to {HEAD}"  # the platform's tables are not taken for old ones
    db.dispose()
    platform_upgrade(url)
    assert versions(url, "alembic_version") == platform_versions and versions(url) == [HEAD]
    assert differences(url) == []
    assert differences(url, PlatformBase.metadata) == []


def test_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    """The Alembic configuration runs without a connection too (the URL alone), both ways."""
    url = f"sqlite:///{tmp_path / 'hospital.db'}"
    db = HospitalDB(url)
    db.upgrade()
    command.downgrade(db.alembic_config(), "base")
    assert tables(url) == {VERSION_TABLE} and db.current() == ()
    command.upgrade(db.alembic_config(), "head")
    assert db.current() == (HEAD,) and differences(url) == []
    db.dispose()


SETTLED = datetime(2026, 3, 15, 10, 30)
STAY_OUT = ('{"setlinfo": {"setl_id": "S2026031500000001", "mdtrt_id": "M2026031000000001", "psn_no": "P4403001", '
            '"insutype": "310", "setl_time": "2026-03-15 10:30:00", "medfee_sumamt": 1234.56, '
            '"fulamt_ownpay_amt": 0.00, "overlmt_selfpay": 0.00, "preselfpay_amt": 0.00, "inscp_scp_amt": 1234.56, '
            '"act_pay_dedc": 300.00, "hifp_pay": 841.10, "fund_pay_sumamt": 841.10, "psn_part_amt": 393.46, '
            '"acct_pay": 200.00, "acct_mulaid_pay": 0.00, "psn_cash_pay": 193.46, "balc": 800.00}}')
OUTPATIENT_OUT = '{"setlinfo": {"setl_id": "S2026031400000009", "medfee_sumamt": 25.00, "psn_cash_pay": 5.00}}'
OUTPATIENT_ENV = '{"infno": "2207", "msgid": "H44030000201202603140900000001"}'
STAY_LINE = {"feedetl_sn": "ZY0001-0001", "med_list_codg": "001101000010000", "name": "床位费", "pric": "617.28",
             "cnt": "2", "det_item_fee_sumamt": "1234.56", "fulamt_ownpay_amt": "0.00", "overlmt_amt": "0.00",
             "preselfpay_amt": "0.00", "inscp_scp_amt": "1234.56"}


def _old_rows(url: str) -> None:
    """What the old release kept: a registration paid online (2207 columns), an inpatient stay settled at the
    desk and a retail sale cancelled (settlement columns on kind_settlements), a sale that failed."""
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        pid = conn.scalar(text("SELECT id FROM patients"))
        conn.execute(text("INSERT INTO doctors (code, name, dept_code, title, intro) "
                          "VALUES ('DR1', '李医生', 'D1', '主任医师', '')"))
        conn.execute(text(
            "INSERT INTO slots (doctor_code, day, period, capacity, taken, fee, fee_code, fee_name, suspended, "
            "suspend_reason) VALUES ('DR1', :day, 'AM', 20, 1, 2500, 'F001', '挂号费', :f, '')"),
            {"day": CREATED.date(), "f": False})
        slot = conn.scalar(text("SELECT id FROM slots"))
        conn.execute(text(
            "INSERT INTO registrations (reg_no, patient_id, slot_id, insured, mdtrt_id, visit_info_sent, status, "
            "refundable, refund_reason, created_at) VALUES ('R0001', :pid, :slot, :t, 'M2026031400000009', :t, "
            "'paid', :t, '', :at)"), {"pid": pid, "slot": slot, "t": True, "at": CREATED})
        reg = conn.scalar(text("SELECT id FROM registrations"))
        conn.execute(text(
            "INSERT INTO payments (payment_no, idem_key, patient_id, registration_id, bill_nos, terminal, kind, "
            "total, status, insured, acct_used_flag, psn_no, insuplc_admdvs, mdtrt_id, chrg_bchno, "
            "insurance_status, env_2207, setl_id, out_2207, setl_time, channel, cash_amount, out_trade_no, "
            "cash_status, last_sequence, paid_at, error, created_at, updated_at) VALUES ('P260314090000AB12CD', "
            "'bills:B0001', :pid, :reg, '[\"B0001\"]', 'mobile', 'outpatient', 2500, 'paid', :t, '1', 'P4403001', "
            "'440300', 'M2026031400000009', 'P260314090000AB12CD', 'settled', :env, 'S2026031400000009', :out, "
            ":at, 'wechat', 500, 'P260314090000AB12CD', 'PAID', 2, :at, '', :at, :at)"),
            {"pid": pid, "reg": reg, "t": True, "env": OUTPATIENT_ENV, "out": OUTPATIENT_OUT, "at": CREATED})
        payment = conn.scalar(text("SELECT id FROM payments"))
        conn.execute(text(
            "INSERT INTO bills (bill_no, patient_id, registration_id, kind, dept_code, doctor_code, amount, status, "
            "payment_id, created_at, paid_at) VALUES ('B0001', :pid, :reg, 'registration', 'D1', 'DR1', 2500, "
            "'paid', :pay, :at, :at)"), {"pid": pid, "reg": reg, "pay": payment, "at": CREATED})
        stays = text(
            "INSERT INTO kind_settlements (no, kind, patient_id, psn_no, insutype, insuplc_admdvs, mdtrt_id, status, "
            "acct_used_flag, lines, outs_2301, out_pre, out_settle, out_cancel, setl_id, total, cash_amount, "
            "channel, setl_time, created_at, updated_at) VALUES (:no, :kind, :pid, 'P4403001', '310', '440300', "
            ":mdtrt, :status, '1', :lines, '[]', NULL, :out, :cancel, :setl, :total, :cash, 'desk', :setl_time, "
            ":at, :at)")
        conn.execute(stays, {"no": "ZY0001", "kind": "inpatient", "pid": pid, "mdtrt": "M2026031000000001",
                             "status": "settled", "lines": f"[{json.dumps(STAY_LINE)}]", "out": STAY_OUT,
                             "cancel": None, "setl": "S2026031500000001", "total": 123456, "cash": 19346,
                             "setl_time": SETTLED, "at": CREATED})
        conn.execute(stays, {"no": "S260315110000EE01", "kind": "retail", "pid": pid, "mdtrt": "M20260315RT01",
                             "status": "cancelled", "lines": "[]", "out": '{"setlinfo": {"setl_id": "S77"}}',
                             "cancel": '{"setlinfo": {"setl_id": "S77"}}', "setl": "S2026031500000077",
                             "total": 3000, "cash": 0, "setl_time": SETTLED, "at": CREATED})
        conn.execute(stays, {"no": "S260315120000EE02", "kind": "retail", "pid": pid, "mdtrt": None,
                             "status": "failed", "lines": "[]", "out": None, "cancel": None, "setl": None,
                             "total": 1000, "cash": None, "setl_time": None, "at": CREATED})
    engine.dispose()


def test_a_database_of_the_release_before_migrations_is_upgraded_moving_its_settlements(
        empty_url: str, cli: Any) -> None:
    """The old release's tables and rows (0001, unversioned) are stamped and migrated: the 2207 columns renamed,
    each settled or cancelled stay and sale given a payment holding its settlement, its slip still served."""
    _old_database(empty_url)
    _old_rows(empty_url)
    result = cli(empty_url, "init")
    assert result.exit_code == 0, result.output
    assert f"stamped at 0001; now at {HEAD}" in result.stdout
    assert versions(empty_url) == [HEAD] and differences(empty_url) == []
    db = HospitalDB(empty_url)
    with db.session() as s:
        outpatient = s.scalar(select(Payment).where(Payment.payment_no == "P260314090000AB12CD"))
        assert outpatient is not None and outpatient.out_settle == OUTPATIENT_OUT
        assert outpatient.env_settle == OUTPATIENT_ENV and outpatient.out_cancel is None
        assert outpatient.stay_no is None and outpatient.registration_id is not None
        stays = {k.no: k for k in s.scalars(select(KindSettlement))}
        assert {no: k.status for no, k in stays.items()} == {
            "ZY0001": "settled", "S260315110000EE01": "cancelled", "S260315120000EE02": "open"}
        assert stays["S260315120000EE02"].payment_no is None
        moved = {p.stay_no: p for p in s.scalars(select(Payment).where(Payment.stay_no.is_not(None)))}
        assert set(moved) == {"ZY0001", "S260315110000EE01"}
        stay = moved["ZY0001"]
        assert stays["ZY0001"].payment_no == stay.payment_no == "PZY0001"
        assert (stay.setl_id, stay.out_settle, stay.cash_amount, stay.status, stay.insurance_status) == (
            "S2026031500000001", STAY_OUT, Decimal("193.46"), "paid", "settled")
        assert (stay.total, stay.kind, stay.idem_key, stay.channel, stay.cash_status, stay.paid_at) == (
            Decimal("1234.56"), "inpatient", "stay:ZY0001", "desk", "PAID", SETTLED)
        assert stay.registration_id is None and stay.bill_nos == [] and stay.out_trade_no is None
        sale = moved["S260315110000EE01"]
        assert (sale.status, sale.insurance_status, sale.cash_status, sale.setl_id, sale.out_cancel) == (
            "refunded", "cancelled", "none", "S2026031500000077", '{"setlinfo": {"setl_id": "S77"}}')
        assert stays["S260315110000EE01"].payment_no == sale.payment_no
    command.downgrade(db.alembic_config(), "0002")
    with pytest.raises(NotImplementedError, match="payment"):  # the old schema cannot hold a stay's payment
        command.downgrade(db.alembic_config(), "0001")
    assert versions(empty_url) == ["0002"]
    command.upgrade(db.alembic_config(), "head")
    db.dispose()
    assert versions(empty_url) == [HEAD] and differences(empty_url) == []

    hospital = Hospital(HospitalConfig(fixmedins_code="H44030000201", secret="s", admdvs="440300",
                                       fixmedins_name="深圳示例医院", database_url=empty_url, auth_key="k"),
                        platform_http=httpx.Client(base_url="http://platform.invalid"))
    try:
        desk = TestClient(create_hospital_app(hospital), headers={
            "Authorization": f"Bearer {auth.issue(b'k', 'staff', 'desk01', 1.0)}"})
        got = desk.get("/inpatient/stays/ZY0001")
        assert got.status_code == 200, got.text
        view = got.json()
        assert view["status"] == "settled" and view["setl_id"] == "S2026031500000001"
        assert view["payment"]["payment_no"] == "PZY0001" and view["payment"]["status"] == "paid"
        assert Decimal(str(view["payment"]["insurance"]["psn_cash_pay"])) == Decimal("193.46")
        html = desk.get("/slips/S2026031500000001.html")
        assert html.status_code == 200, html.text
        for label, figure in (("医疗费总额", "1234.56"), ("基金支付总额", "841.10"), ("个人账户支付", "200.00"),
                              ("个人现金支付", "193.46")):
            assert f'<th>{label}</th><td class="amount">{figure}</td>' in html.text, label
        assert "床位费" in html.text and "ZY0001" in html.text and "PZY0001" in html.text
        assert desk.get("/slips/S2026031400000009.html").status_code == 200  # the outpatient one, too
    finally:
        hospital.close()
