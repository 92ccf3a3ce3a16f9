"""`yibao hospital`: the hospital service beside a HIS (docs/hospital.md). Configured by YIBAO_HOSPITAL_CONFIG
(a YAML or TOML file) and YIBAO_HOSPITAL_* variables.

    yibao hospital init                          create or migrate the hospital's database, load the file's `setup`
    yibao hospital db upgrade                    create or migrate the hospital's database (Alembic), nothing else
    yibao hospital db current                    the database's migration revision and the newest one
    yibao hospital serve --host H --port P       the internet-hospital API
    yibao hospital confirm-clearing YYYY-MM [--exclude SETL_SN ...]      3260 every page, 3261 every row
    yibao hospital rollback-clearing YYYY-MM OTRANSID                    3262
    yibao hospital token-staff OPERATOR [--days N]       a staff token (HIS, cashier desk, terminals, admin)
    yibao hospital token-patient PATIENT_ID [--days N]   a patient's token (his own records only)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from yibao.demo_keys import ShippedKey, refuse_shipped
from yibao.hospital import auth, clearing
from yibao.hospital.api import create_hospital_app
from yibao.hospital.api_base import plain
from yibao.hospital.config import ConfigError, HospitalConfig, load_config
from yibao.hospital.database import HospitalDB
from yibao.hospital.errors import HospitalError
from yibao.hospital.service import Hospital
from yibao.observe.logs import choose, configure, log_config

hospital_app = typer.Typer(no_args_is_help=True, add_completion=False,
                           help="The hospital service: internet-hospital API, payments, slips, clearing")

db_app = typer.Typer(no_args_is_help=True, add_completion=False,
                     help="The hospital's database schema (its own Alembic migrations)")
hospital_app.add_typer(db_app, name="db")

ConfigOption = Annotated[Path | None, typer.Option("--config", help="YAML/TOML file [YIBAO_HOSPITAL_CONFIG]",
                                                   dir_okay=False)]


def _config(config: Path | None) -> HospitalConfig:
    try:
        return load_config(config)
    except ConfigError as exc:
        typer.echo(f"configuration: {exc}", err=True)
        raise typer.Exit(2) from None


def _hospital(config: Path | HospitalConfig | None, db: HospitalDB | None = None) -> Hospital:
    """The hospital of the configuration (its database migrated first); `config` a path or a loaded one."""
    try:
        return Hospital(config if isinstance(config, HospitalConfig) else _config(config), db)
    except ConfigError as exc:
        typer.echo(f"configuration: {exc}", err=True)
        raise typer.Exit(2) from None
    except HospitalDB.SchemaError as exc:
        typer.echo(f"database: {exc}", err=True)
        raise typer.Exit(1) from None


def _upgrade(db: HospitalDB) -> str:
    """Migrate the hospital's database to the newest revision; what was done."""
    try:
        return db.upgrade()
    except HospitalDB.SchemaError as exc:
        db.dispose()
        typer.echo(f"database: {exc}", err=True)
        raise typer.Exit(1) from None


def _print(obj: Any) -> None:
    typer.echo(json.dumps(plain(obj), ensure_ascii=False, indent=2))


def _run(config: Path | None, fn: Any) -> None:
    hospital = _hospital(config)
    try:
        _print(fn(hospital))
    except HospitalError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from None
    finally:
        hospital.close()


@hospital_app.command()
def init(config: ConfigOption = None) -> None:
    """Create or migrate the hospital's database (its own tables and Alembic migrations; nothing of the
    platform's; tables made before migrations existed are stamped, keeping their rows) and load the `setup` of
    the configuration file (departments, doctors, slots), keeping what exists."""
    settings = _config(config)
    db = HospitalDB(settings.database_url)
    schema = _upgrade(db)
    hospital = _hospital(settings, db)
    try:
        added = hospital.load_setup(hospital.config.setup)
        typer.echo(f"hospital database ready: {_safe(hospital.db.url)} (schema {schema}); added " +
                   ", ".join(f"{k}: {v}" for k, v in added.items()))
    finally:
        hospital.close()


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create or migrate the hospital's database to the newest revision (a database whose tables were made
    before migrations existed is stamped at 0001 after checking them, keeping every row); nothing else."""
    db = HospitalDB(_config(config).database_url)
    try:
        typer.echo(f"hospital database {_safe(db.url)}: {_upgrade(db)}")
    finally:
        db.dispose()


@db_app.command("current")
def db_current(config: ConfigOption = None) -> None:
    """Print the revision the hospital's database is at and the newest one (changes nothing)."""
    db = HospitalDB(_config(config).database_url)
    try:
        current, heads = db.current(), db.heads()
        state = "up to date" if set(current) == set(heads) else "needs `yibao hospital db upgrade`"
        typer.echo(f"hospital database {_safe(db.url)}: at {', '.join(current) or 'no revision'}; "
                   f"newest {', '.join(heads)} ({state})")
    finally:
        db.dispose()


@hospital_app.command()
def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port to listen on")] = 8020,
          config: ConfigOption = None,
          log_format: Annotated[str | None, typer.Option(help="json (one object a line) or text; default: text on "
                                                              "a terminal, json otherwise")] = None,
          access_log: Annotated[bool, typer.Option(help="log every HTTP request line")] = True) -> None:
    """Serve the internet-hospital API (OpenAPI at /docs); the database is created first. /health, /ready and
    /metrics are for the operator (docs/operations.md)."""
    try:
        fmt = choose(log_format)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    configure(fmt, access_log)
    hospital: Hospital = _hospital(config)
    c = hospital.config
    try:
        refuse_shipped([("auth_key", c.auth_key), ("institution.secret", c.secret),
                        *((f"channels.{kind}.key", ch.key) for kind, ch in c.channels.items())],
                       "set your own in the configuration file or its YIBAO_HOSPITAL_* variables (docs/hospital.md)")
    except ShippedKey as exc:
        hospital.close()
        typer.echo(f"yibao hospital serve: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(create_hospital_app(hospital), host=host, port=port, log_level="info", access_log=False,
                log_config=log_config(fmt, access_log))
    hospital.close()


@hospital_app.command("confirm-clearing")
def confirm_clearing(month: Annotated[str, typer.Argument(help="YYYY-MM")],
                     exclude: Annotated[list[str] | None, typer.Option(help="setl_sn to answer cnfm_flag 0")] = None,
                     config: ConfigOption = None) -> None:
    """3260 (every page), then 3261 confirming every row (cnfm_flag 1) but the excluded ones."""
    _run(config, lambda h: clearing.confirm(h, month, set(exclude or [])))


@hospital_app.command("rollback-clearing")
def rollback_clearing(month: Annotated[str, typer.Argument(help="YYYY-MM")],
                      otransid: Annotated[str, typer.Argument(help="the confirmation to roll back")],
                      config: ConfigOption = None) -> None:
    """3262: roll a month's confirmation back."""
    _run(config, lambda h: clearing.roll_back(h, month, otransid))


def _token(config: Path | None, kind: str, subject: str, days: float) -> None:  # float-ok: days
    if days <= 0:
        typer.echo("--days: must be above 0", err=True)
        raise typer.Exit(2)
    hospital = _hospital(config)
    try:
        if kind == "patient" and auth.patient_record(hospital, int(subject)) is None:
            typer.echo(f"patient {subject} is not known", err=True)
            raise typer.Exit(1)
        typer.echo(auth.issue(auth.signing_key(hospital), kind, subject, days))
    finally:
        hospital.close()


@hospital_app.command("token-staff")
def token_staff(operator: Annotated[str, typer.Argument(help="the operator id (a person or a terminal)")],
                days: Annotated[float, typer.Option(help="days the token lasts")] = 30.0,  # float-ok: days
                config: ConfigOption = None) -> None:
    """Print a staff bearer token: every operation of the API (the HIS, the cashier desk, clinic-room and
    bedside terminals, reconciliation, clearing)."""
    if not operator.strip():
        typer.echo("OPERATOR: must not be empty", err=True)
        raise typer.Exit(2)
    _token(config, "staff", operator.strip(), days)


@hospital_app.command("token-patient")
def token_patient(patient_id: Annotated[int, typer.Argument(help="the hospital's patient_id")],
                  days: Annotated[float, typer.Option(help="days the token lasts")] = 1.0,  # float-ok: days
                  config: ConfigOption = None) -> None:
    """Print a patient's bearer token: his own record, bookings, registrations, bills, payments, slips and
    refunds only."""
    _token(config, "patient", str(patient_id), days)


def _safe(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":  # python -m yibao.hospital.cli ... until `yibao hospital` is registered
    hospital_app()
