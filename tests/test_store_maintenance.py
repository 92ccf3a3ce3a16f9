"""Flat cost as data grows (docs/performance.md): reference data cached per process until the database's reference
version moves; the audit log by month on PostgreSQL with a retention; the answers kept for replay pruned past
their window."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from yibao.store.db import Store
from yibao.store.models import MessageLog, MessageReplay, Policy, Region
from yibao.store.partitions import maintain
from yibao.store.reference import reference


def _deductible(store: Store) -> object:
    with store.unit_of_work() as s:
        rows = reference(s).policies(s, "440300", "310")
        return sorted(p.deductible for p in rows)


def test_a_change_to_reference_data_is_seen_by_the_next_unit_of_work(world: Store, database_url: str) -> None:
    before = _deductible(world)
    other = Store(database_url)  # another process on the same database, as far as the cache knows
    try:
        with other.unit_of_work() as s:
            s.execute(update(Policy).where(Policy.admdvs == "440300").values(deductible=123))
        assert _deductible(world) != before and set(_deductible(world)) == {123}  # type: ignore[arg-type]
    finally:
        other.dispose()


def test_reference_rows_are_read_once_while_the_version_stands(world: Store) -> None:
    with world.unit_of_work() as s:
        first = reference(s).regions(s)
    with world.unit_of_work() as s:
        again = reference(s).regions(s)
        assert again is first  # the same copy: no statement read the regions again
        s.execute(update(Region).where(Region.admdvs == "440300").values(name="深圳"))
    with world.unit_of_work() as s:
        assert reference(s).regions(s)["440300"].name == "深圳"


def test_replay_answers_past_their_window_are_pruned(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YIBAO_REPLAY_DAYS", "30")
    today = date(2026, 3, 16)
    with store.unit_of_work() as s:
        for n, age in enumerate((0, 29, 31, 400)):
            s.add(MessageReplay(fixmedins_code="H1", msgid=f"M{n}", infno="2207", body_sha256="x", response="{}",
                                created_at=datetime(2026, 3, 16, 9) - timedelta(days=age)))
    done = maintain(store.engine, today)
    assert done.replay_pruned == 2
    with store.unit_of_work() as s:
        assert sorted(s.scalars(select(MessageReplay.msgid))) == ["M0", "M1"]


def test_the_audit_log_is_partitioned_by_month_with_a_retention(store: Store, database_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("partitions are PostgreSQL's")
    monkeypatch.setenv("YIBAO_AUDIT_MONTHS", "6")
    ahead = maintain(store.engine, date(2031, 1, 10))  # four years on: this month and three ahead are made
    assert ahead.created == ["message_log_203101", "message_log_203102", "message_log_203103", "message_log_203104"]
    with store.unit_of_work() as s:
        for when in (datetime(2031, 2, 3), datetime(2040, 1, 1)):
            s.add(MessageLog(received_at=when, responded_at=when, duration_ms=1, body_sha256="x", infcode=0,
                             outcome="ok", request="{}", response="{}"))
    with store.engine.connect() as conn:
        where = {r[0]: r[1] for r in conn.execute(text(
            "SELECT tableoid::regclass::text, count(*) FROM message_log GROUP BY 1"))}
    assert {k.split(".")[-1]: v for k, v in where.items()} == {"message_log_203102": 1, "message_log_default": 1}
    later = maintain(store.engine, date(2031, 9, 1))  # six months kept: the months before March 2031 go
    assert "message_log_203101" in later.dropped and "message_log_203102" in later.dropped
    assert "message_log_203103" not in later.dropped
    with store.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(MessageLog)) == 1  # the default partition's row stays
