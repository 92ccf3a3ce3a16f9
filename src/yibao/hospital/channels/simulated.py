"""A simulated payment provider, one per kind (wechat | alipay | card), for the demo and the tests: its own small
ledger of orders, refunds and callback events (its own SQLite file or database, tables made here with
metadata.create_all, never the hospital's schema), the provider's wire face (sim_faces.py: the same signatures
the adapters check, checked here the other way), and admin switches.

    the provider's routes       see wechat.py, alipay.py, card.py
    POST /payer/{out_trade_no}  {"outcome": "paid" | "failed"}: the patient pays (or fails to) in the app
    POST /admin/mode            {"mode": "ok" | "fail" | "timeout" | "delay", "delay_seconds": n, "lost": bool,
                                 "card_declines": bool};  GET /admin/mode
    POST /admin/callbacks       {"mode": "send" | "duplicate" | "drop" | "hold"};  GET /admin/callbacks (the events)
    POST /admin/callbacks/release {"reverse": bool}: send the held events (and those whose delivery failed)

Modes (of the provider's routes only): `fail` refuses every request (a definite refusal: nothing done); `timeout`
does the work, then answers after `delay_seconds` (30 s if 0) — more than the client waits, so the client never
hears — or with `lost` sleeps and does nothing (the request never arrived); `delay` does the work and answers
`delay_seconds` late. Callbacks: `send` once; `duplicate` twice (same event id); `drop` never (lost: the
hospital must query); `hold` keeps them until released, `reverse` releasing the newest first (out of order).
"""

from __future__ import annotations

import argparse
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, select, update

from yibao.hospital.channels.base import Status
from yibao.hospital.channels.sim_faces import FACES, Event, Order, Refused, Unavailable
from yibao.money import ZERO, to_decimal
from yibao.sqlkit import engine_of

KINDS = ("wechat", "alipay", "card")
DEFAULT_PORTS = {"wechat": 8021, "alipay": 8022, "card": 8023}
TIMEOUT_SLEEP = Decimal(30)

metadata = MetaData()
orders = Table(
    "orders", metadata,
    Column("out_trade_no", String(32), primary_key=True),
    Column("amount", String(20), nullable=False),  # decimal text, two places
    Column("description", String(128), nullable=False),
    Column("payer_ref", String(64), nullable=True),
    Column("notify_url", String(256), nullable=True),
    Column("status", String(20), nullable=False),  # a Status value
    Column("channel_trade_no", String(32), nullable=True),
    Column("paid_at", String(26), nullable=True),
    Column("refunded", String(20), nullable=False),
    Column("sequence", Integer, nullable=False),  # the order's events so far
    Column("created_at", String(26), nullable=False),
)
refunds = Table(
    "refunds", metadata,
    Column("refund_no", String(32), primary_key=True),
    Column("out_trade_no", String(32), nullable=False, index=True),
    Column("amount", String(20), nullable=False),
    Column("created_at", String(26), nullable=False),
)
events = Table(
    "events", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("out_trade_no", String(32), nullable=False, index=True),
    Column("sequence", Integer, nullable=False),
    # the order as it was when the event happened: a late callback tells of then, not now
    Column("status", String(20), nullable=False),
    Column("amount", String(20), nullable=False),
    Column("refunded", String(20), nullable=False),
    Column("channel_trade_no", String(32), nullable=True),
    Column("paid_at", String(26), nullable=True),
    Column("notify_url", String(256), nullable=False),
    Column("state", String(10), nullable=False),  # pending | held | dropped | sending | sent | failed
    Column("sends", Integer, nullable=False),
    Column("last_answer", String(200), nullable=True),
)


class ModeIn(BaseModel):
    mode: Literal["ok", "fail", "timeout", "delay"]
    delay_seconds: Decimal = Field(default=Decimal(0), ge=0, le=600)
    lost: bool = Field(default=False, description="timeout only: the request is never applied")
    card_declines: bool = Field(default=False, description="card only: sales are declined")


class CallbacksIn(BaseModel):
    mode: Literal["send", "duplicate", "drop", "hold"]


class ReleaseIn(BaseModel):
    reverse: bool = False


class PayerIn(BaseModel):
    outcome: Literal["paid", "failed"]


def _now() -> str:
    return datetime.now().isoformat(sep=" ", timespec="seconds")


T = TypeVar("T")


class SimulatedProvider:
    """One provider's ledger and switches; `.app` is its HTTP face. `notify` is the client the callbacks go out
    through (any httpx.Client: a TestClient around the hospital's app in the tests)."""

    def __init__(self, kind: str, key: str, db: str = "channel.db", notify: httpx.Client | None = None):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        self.kind, self.key = kind, key
        self.engine = engine_of(db)  # an SQLite file or a database URL, as the simulated bank takes
        metadata.create_all(self.engine)
        self.notify = notify or httpx.Client(timeout=5)
        self._own_notify = notify is None
        self.mode, self.delay_seconds, self.lost, self.card_declines = "ok", Decimal(0), False, False
        self.callbacks = "send"
        self._lock = threading.RLock()  # one ledger change at a time; never held while a callback is out
        self.face = FACES[kind](self)
        self.app = self._make_app()

    # -- the ledger -----------------------------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self._lock, self.engine.begin() as conn:
            yield conn

    def get(self, out_trade_no: str) -> Order | None:
        with self.engine.connect() as conn:
            row = self._row(conn, out_trade_no)
        return None if row is None else Order.of(row, self.kind)

    def pay(self, out_trade_no: str, amount: Decimal, description: str, payer_ref: str | None = None,
            notify_url: str | None = None) -> Order:
        """Create the order; the same number again with the same amount returns it as it stands."""
        if amount <= 0:
            raise Refused(Refused.BAD_REQUEST, f"amount {amount} is not above 0")
        with self._tx() as conn:
            row = self._row(conn, out_trade_no)
            if row is not None:
                if row["status"] == Status.CLOSED:
                    raise Refused(Refused.CLOSED, f"{out_trade_no} is closed")
                if to_decimal(row["amount"]) != amount:
                    raise Refused(Refused.CONFLICT, f"{out_trade_no} exists with amount {row['amount']}")
                return Order.of(row, self.kind)
            conn.execute(orders.insert().values(
                out_trade_no=out_trade_no, amount=str(amount), description=description, payer_ref=payer_ref,
                notify_url=notify_url, status=Status.PENDING, refunded=str(ZERO), sequence=0, created_at=_now()))
            if self.kind == "card":  # the terminal answers at once
                self._settle(conn, out_trade_no, paid=not self.card_declines)
            row = self._row(conn, out_trade_no)
        self._deliver_pending()
        return Order.of(row, self.kind)

    def payer(self, out_trade_no: str, outcome: str) -> Order:
        """The patient pays (or fails to) in the app: a pending order becomes PAID or FAILED."""
        with self._tx() as conn:
            row = self._existing(conn, out_trade_no)
            if row["status"] != Status.PENDING:
                raise Refused(Refused.CONFLICT, f"{out_trade_no} is {row['status']}, not waiting for the payer")
            self._settle(conn, out_trade_no, paid=outcome == "paid")
            row = self._row(conn, out_trade_no)
        self._deliver_pending()
        return Order.of(row, self.kind)

    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> Order:
        """Refund part or all of a paid order, once per refund_no."""
        with self._tx() as conn:
            row = self._existing(conn, out_trade_no)
            done = conn.execute(select(refunds).where(refunds.c.refund_no == refund_no)).mappings().first()
            if done is not None:
                if done["out_trade_no"] != out_trade_no or to_decimal(done["amount"]) != amount:
                    raise Refused(Refused.CONFLICT, f"refund {refund_no} was made with other content")
                return Order.of(row, self.kind)
            if row["status"] not in (Status.PAID, Status.PARTIALLY_REFUNDED, Status.REFUNDED):
                raise Refused(Refused.NOT_PAID, f"{out_trade_no} is {row['status']}: nothing to refund")
            total, refunded = to_decimal(row["amount"]), to_decimal(row["refunded"]) + amount
            if amount <= 0 or refunded > total:
                raise Refused(Refused.TOO_MUCH, f"refund {amount} of {out_trade_no}: "
                                                f"{row['refunded']} of {total} refunded already")
            conn.execute(refunds.insert().values(refund_no=refund_no, out_trade_no=out_trade_no, amount=str(amount),
                                                 created_at=_now()))
            status = Status.REFUNDED if refunded == total else Status.PARTIALLY_REFUNDED
            self._change(conn, out_trade_no, status=status, refunded=str(refunded))
            row = self._row(conn, out_trade_no)
        self._deliver_pending()
        return Order.of(row, self.kind)

    def close(self, out_trade_no: str) -> Order:
        """Close an unpaid order; an unknown number is recorded closed, so a late request with it is refused."""
        with self._tx() as conn:
            row = self._row(conn, out_trade_no)
            if row is None:
                conn.execute(orders.insert().values(
                    out_trade_no=out_trade_no, amount=str(ZERO), description="", status=Status.CLOSED,
                    refunded=str(ZERO), sequence=0, created_at=_now()))
            elif row["status"] == Status.PENDING:
                conn.execute(update(orders).where(orders.c.out_trade_no == out_trade_no)
                             .values(status=Status.CLOSED))
            elif row["status"] not in (Status.CLOSED, Status.FAILED):
                raise Refused(Refused.PAID, f"{out_trade_no} is {row['status']}: refund it instead")
            return Order.of(self._row(conn, out_trade_no), self.kind)

    def _row(self, conn: Connection, out_trade_no: str) -> Any:
        return conn.execute(select(orders).where(orders.c.out_trade_no == out_trade_no)).mappings().first()

    def _existing(self, conn: Connection, out_trade_no: str) -> Any:
        row = self._row(conn, out_trade_no)
        if row is None:
            raise Refused(Refused.NOT_FOUND, f"no order {out_trade_no}")
        return row

    def _settle(self, conn: Connection, out_trade_no: str, paid: bool) -> None:
        if paid:
            self._change(conn, out_trade_no, status=Status.PAID, paid_at=_now(),
                         channel_trade_no=f"{self.kind[:2].upper()}{secrets.randbelow(10**18):018d}")
        else:
            self._change(conn, out_trade_no, status=Status.FAILED)

    def _change(self, conn: Connection, out_trade_no: str, **values: Any) -> None:
        """Change the order and, when it has a notify_url, record the event of it (sent after the commit)."""
        conn.execute(update(orders).where(orders.c.out_trade_no == out_trade_no)
                     .values(**values, sequence=orders.c.sequence + 1))
        row = self._row(conn, out_trade_no)
        if not row["notify_url"]:
            return
        state = {"send": "pending", "duplicate": "pending", "drop": "dropped", "hold": "held"}[self.callbacks]
        conn.execute(events.insert().values(
            event_id=f"EV{secrets.token_hex(12).upper()}", out_trade_no=out_trade_no, sequence=row["sequence"],
            status=row["status"], amount=row["amount"], refunded=row["refunded"],
            channel_trade_no=row["channel_trade_no"], paid_at=row["paid_at"], notify_url=row["notify_url"],
            state=state, sends=0))

    # -- callbacks ------------------------------------------------------------------------------------------------
    def events(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(events).order_by(events.c.seq)).mappings()]

    def release(self, reverse: bool = False) -> int:
        """Send the held events and those whose delivery failed; `reverse`: the newest first."""
        return self._deliver(("held", "failed"), newest_first=reverse)

    def _deliver_pending(self) -> None:
        self._deliver(("pending",), newest_first=False)

    def _deliver(self, states: tuple[str, ...], newest_first: bool) -> int:
        order = events.c.seq.desc() if newest_first else events.c.seq
        with self._tx() as conn:  # claimed, so that no other thread sends them too
            rows = list(conn.execute(select(events).where(events.c.state.in_(states)).order_by(order)).mappings())
            if not rows:
                return 0
            conn.execute(update(events).where(events.c.event_id.in_([r["event_id"] for r in rows]))
                         .values(state="sending"))
        times = 2 if self.callbacks == "duplicate" else 1
        for row in rows:
            event = Event(event_id=row["event_id"], sequence=row["sequence"], order=Order.of(row, self.kind),
                          notify_url=row["notify_url"])
            for _ in range(times if row["state"] == "pending" else 1):
                self._send(event)
        return len(rows)

    def _send(self, event: Event) -> None:
        headers, body = self.face.notification(event)
        try:
            reply = self.notify.post(event.notify_url, content=body, headers=headers)
            ok, answer = reply.is_success, f"{reply.status_code} {reply.text[:150]}"
        except httpx.HTTPError as exc:
            ok, answer = False, f"{type(exc).__name__}: {exc}"[:200]
        with self._tx() as conn:
            conn.execute(update(events).where(events.c.event_id == event.event_id)
                         .values(state="sent" if ok else "failed", sends=events.c.sends + 1, last_answer=answer))

    # -- the switches ---------------------------------------------------------------------------------------------
    def set_mode(self, mode: str, delay_seconds: Decimal = Decimal(0), lost: bool = False,
                 card_declines: bool = False) -> None:
        self.mode, self.delay_seconds, self.lost, self.card_declines = mode, delay_seconds, lost, card_declines

    def set_callbacks(self, mode: str) -> None:
        self.callbacks = mode

    def handle(self, work: Callable[[], T]) -> T:
        """Do one provider request under the current mode."""
        mode = self.mode
        if mode == "fail":
            raise Refused(Refused.REFUSED, "refused (simulated failure)")
        if mode == "timeout" and self.lost:
            self._sleep(self.delay_seconds or TIMEOUT_SLEEP)
            raise Unavailable("the request was lost (simulated)")
        try:
            return work()
        finally:
            if mode == "timeout":
                self._sleep(self.delay_seconds or TIMEOUT_SLEEP)
            elif mode == "delay":
                self._sleep(self.delay_seconds)

    @staticmethod
    def _sleep(seconds: Decimal) -> None:
        if seconds > 0:
            time.sleep(int(seconds * 1000) / 1000)

    # -- HTTP -----------------------------------------------------------------------------------------------------
    def _make_app(self) -> FastAPI:
        app = FastAPI(title=f"yibao simulated {self.kind} provider",
                      description="A payment provider for the hospital's cash part. See docs/channels.md.")
        self.face.register(app)

        @app.post("/payer/{out_trade_no}", summary="The patient pays (or fails to) in the app")
        def post_payer(out_trade_no: str, body: PayerIn) -> dict[str, str]:
            try:
                order = self.payer(out_trade_no, body.outcome)
            except Refused as exc:
                raise HTTPException(404 if exc.reason == Refused.NOT_FOUND else 409, exc.message) from None
            return {"out_trade_no": out_trade_no, "status": order.status}

        @app.get("/admin/mode")
        def get_mode() -> dict[str, Any]:
            return {"mode": self.mode, "delay_seconds": str(self.delay_seconds), "lost": self.lost,
                    "card_declines": self.card_declines}

        @app.post("/admin/mode", summary="ok | fail | timeout | delay")
        def post_mode(body: ModeIn) -> dict[str, Any]:
            self.set_mode(body.mode, body.delay_seconds, body.lost, body.card_declines)
            return get_mode()

        @app.get("/admin/callbacks", summary="The switch and every event with its delivery state")
        def get_callbacks() -> dict[str, Any]:
            return {"mode": self.callbacks, "events": self.events()}

        @app.post("/admin/callbacks", summary="send | duplicate | drop | hold")
        def post_callbacks(body: CallbacksIn) -> dict[str, str]:
            self.set_callbacks(body.mode)
            return {"mode": self.callbacks}

        @app.post("/admin/callbacks/release", summary="Send the held events (reverse: newest first)")
        def post_release(body: ReleaseIn) -> dict[str, int]:
            return {"released": self.release(body.reverse)}

        @app.get("/health")
        def health() -> dict[str, str]:
            return {"status": "ok", "kind": self.kind, "mode": self.mode}

        app.state.provider = self
        return app

    def dispose(self) -> None:
        if self._own_notify:
            self.notify.close()
        self.engine.dispose()


def serve(kind: str, key: str, host: str = "127.0.0.1", port: int | None = None, db: str | None = None) -> None:
    provider = SimulatedProvider(kind, key, db or f"{kind}.db")
    uvicorn.run(provider.app, host=host, port=port or DEFAULT_PORTS[kind], log_level="info")


def main(argv: list[str] | None = None) -> None:
    """python -m yibao.hospital.channels.simulated --kind wechat --key K [--port 8021] [--db var/wechat.db]"""
    ap = argparse.ArgumentParser(description="Serve a simulated payment provider (docs/channels.md).")
    ap.add_argument("--kind", choices=KINDS, required=True)
    ap.add_argument("--key", required=True, help="the key shared with the hospital")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--db", help="its ledger: an SQLite file or a database URL (default KIND.db)")
    args = ap.parse_args(argv)
    serve(args.kind, args.key, args.host, args.port, args.db)


if __name__ == "__main__":
    main()
