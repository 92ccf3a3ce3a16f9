"""A reading unit of work (Store.unit_of_work(read=True), what a what-if runs in): the database refuses any write
in it, and on SQLite it does not hold the one write lock, so settlements go on while it reads."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from yibao.store.db import Store
from yibao.store.models import Region


def test_reading_refuses_a_write_and_the_next_unit_of_work_writes(world: Store) -> None:
    with world.unit_of_work() as s:
        admdvs, name = s.execute(select(Region.admdvs, Region.name)).first()  # type: ignore[misc]
    with pytest.raises(DBAPIError), world.unit_of_work(read=True) as s:
        s.execute(update(Region).where(Region.admdvs == admdvs).values(name="改"))
    with world.unit_of_work(read=True) as s:  # the connection back from the pool is read-only again
        with pytest.raises(DBAPIError):
            s.execute(update(Region).where(Region.admdvs == admdvs).values(name="改"))
    with world.unit_of_work() as s:  # and a writing one after it writes
        assert s.execute(update(Region).where(Region.admdvs == admdvs).values(name=name)).rowcount == 1


def test_a_long_read_does_not_stop_a_write(world: Store) -> None:
    """While a reading unit of work is open (a what-if replaying), another writes and commits at once."""
    with world.unit_of_work() as s:
        admdvs, name = s.execute(select(Region.admdvs, Region.name)).first()  # type: ignore[misc]
    done = threading.Event()
    failed: list[BaseException] = []

    def write() -> None:
        try:
            with world.unit_of_work() as s:
                s.execute(update(Region).where(Region.admdvs == admdvs).values(name=name + "x"))
            done.set()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failed.append(exc)

    with world.unit_of_work(read=True) as s:
        s.execute(select(Region)).all()  # the read has begun and holds its snapshot
        writer = threading.Thread(target=write)
        writer.start()
        # a busy SQLite write lock would keep the writer waiting its 30 s busy timeout
        assert done.wait(10), failed or "the write waited for the reading unit of work"
        assert s.scalar(select(Region.name).where(Region.admdvs == admdvs)) == name  # its own snapshot
    writer.join()
    with world.unit_of_work() as s:
        assert s.scalar(select(Region.name).where(Region.admdvs == admdvs)) == name + "x"
        s.execute(update(Region).where(Region.admdvs == admdvs).values(name=name))
