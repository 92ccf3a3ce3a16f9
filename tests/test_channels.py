"""The hospital's payment channels (docs/channels.md): one interface over WeChat, Alipay and a card terminal, each
adapter speaking to its simulated provider in-process (or over a loopback port where a timeout must be real),
callbacks signed by the provider and checked by the hospital, taken once and in order, and lost answers found
by query, never guessed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from yibao.hospital.channels import (
    BadCallback,
    CallbackEvent,
    CallbackInbox,
    CashOrder,
    Channel,
    ChannelRejected,
    ChannelResult,
    ChannelTimeout,
    InboxRecord,
    MemoryInboxStore,
    Status,
    Verdict,
    make_channel,
    resolve,
)
from yibao.hospital.channels.card import CardChannel
from yibao.hospital.channels.simulated import SimulatedProvider, refunds

D = Decimal
KEY = "shared-key-of-H44030000001"
NOTIFY = "http://hospital.test/notify"
KINDS = ("wechat", "alipay", "card")
APP_KINDS = ("wechat", "alipay")  # the payer pays later, in the app
# what a payment that failed in the app reads as: Alipay has no failed state, it closes the trade
UNPAID = {"wechat": Status.FAILED, "alipay": Status.CLOSED}


class Hospital:
    """The least a hospital does with callbacks: check the signature, ask the inbox, answer the provider."""

    def __init__(self) -> None:
        self.channel: Channel | None = None
        self.inbox = CallbackInbox(MemoryInboxStore())
        self.taken: list[tuple[CallbackEvent, Verdict]] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.app = FastAPI()

        @self.app.post("/notify")
        async def notify(request: Request) -> Response:
            body = await request.body()
            self.received.append((dict(request.headers), body))
            assert self.channel is not None
            try:
                event = self.channel.parse_callback(request.headers, body)
            except BadCallback as exc:
                return Response(str(exc), 400)
            self.taken.append((event, self.inbox.accept(event)))
            status, text = self.channel.callback_answer()
            return Response(text, status)

    def verdicts(self) -> list[tuple[Status, Verdict]]:
        return [(event.status, verdict) for event, verdict in self.taken]


@dataclass
class Rig:
    kind: str
    sim: SimulatedProvider
    http: TestClient  # the provider's HTTP face: admin switches, the payer
    channel: Channel
    hospital: Hospital
    closers: list[Any] = field(default_factory=list)

    def order(self, no: str, amount: str = "58.60", notify: bool = True) -> CashOrder:
        return CashOrder(no, D(amount), "门诊缴费 outpatient fees", payer_ref="o-patient-1",
                         notify_url=NOTIFY if notify else None)

    def paid(self, no: str, amount: str = "58.60") -> ChannelResult:
        """An order created and paid: at the terminal, or by the payer in the app."""
        result = self.channel.pay(self.order(no, amount))
        if self.kind != "card":
            assert result.status is Status.PENDING
            self.payer(no, "paid")
            result = self.channel.query(no)
        assert result.status is Status.PAID
        return result

    def payer(self, no: str, outcome: str) -> None:
        reply = self.http.post(f"/payer/{no}", json={"outcome": outcome})
        assert reply.status_code == 200, reply.text

    def mode(self, mode: str, **kw: Any) -> None:
        reply = self.http.post("/admin/mode", json={"mode": mode, **kw})
        assert reply.status_code == 200, reply.text

    def callbacks(self, mode: str) -> None:
        reply = self.http.post("/admin/callbacks", json={"mode": mode})
        assert reply.status_code == 200, reply.text


def make_rig(kind: str, tmp_path: Path) -> Rig:
    hospital = Hospital()
    notify = TestClient(hospital.app)
    sim = SimulatedProvider(kind, KEY, str(tmp_path / kind / "ledger.db"), notify=notify)
    http = TestClient(sim.app)
    channel = make_channel(kind, "http://provider.test", KEY, http=http)
    hospital.channel = channel
    return Rig(kind, sim, http, channel, hospital, [http, notify])


@pytest.fixture(params=KINDS)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    yield from _rig(request.param, tmp_path)


@pytest.fixture(params=APP_KINDS)
def app_rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    yield from _rig(request.param, tmp_path)


def _rig(kind: str, tmp_path: Path) -> Iterator[Rig]:
    rig = make_rig(kind, tmp_path)
    yield rig
    for closer in rig.closers:
        closer.close()
    rig.sim.dispose()


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app over real HTTP (uvicorn in a thread, on a loopback port), so that timeouts are real."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


# -- paying -----------------------------------------------------------------------------------------------------


def test_the_payer_pays_in_the_app_and_the_signed_callback_tells_the_hospital(app_rig: Rig) -> None:
    rig = app_rig
    created = rig.channel.pay(rig.order("OP20260316001", "58.60"))
    assert created.status is Status.PENDING and created.pay_url and created.channel_trade_no is None
    assert rig.channel.query("OP20260316001").status is Status.PENDING
    assert rig.hospital.taken == []

    rig.payer("OP20260316001", "paid")

    (event, verdict), = rig.hospital.taken
    found = rig.channel.query("OP20260316001")
    assert verdict is Verdict.NEW
    assert (event.out_trade_no, event.status, event.amount, event.sequence) == ("OP20260316001", Status.PAID,
                                                                                D("58.60"), 1)
    assert event.channel_trade_no == found.channel_trade_no is not None
    assert found.status is Status.PAID and found.amount == D("58.60") and found.paid_at is not None
    assert found.pay_url is None and found.refunded == D("0.00")


def test_a_payment_that_fails_in_the_app_is_final_and_not_paid(app_rig: Rig) -> None:
    rig = app_rig
    rig.channel.pay(rig.order("OP-FAIL-1"))
    rig.payer("OP-FAIL-1", "failed")
    assert rig.hospital.verdicts() == [(UNPAID[rig.kind], Verdict.NEW)]
    assert rig.channel.query("OP-FAIL-1").status is UNPAID[rig.kind]
    assert resolve(rig.channel, "OP-FAIL-1", attempts=1).status.final


def test_the_card_terminal_answers_at_once(tmp_path: Path) -> None:
    rig = make_rig("card", tmp_path)
    bedside = make_channel("card", "http://provider.test", KEY, http=rig.http, terminal_id="BED-12A")
    assert isinstance(bedside, CardChannel) and bedside.terminal_id == "BED-12A"

    paid = bedside.pay(rig.order("CARD-1", "1234567.89", notify=False))
    assert paid.status is Status.PAID and paid.amount == D("1234567.89")
    assert paid.channel_trade_no and paid.paid_at is not None and paid.pay_url is None
    assert bedside.pay(rig.order("CARD-1", "1234567.89", notify=False)) == paid  # sent again: not paid twice

    rig.mode("ok", card_declines=True)
    declined = bedside.pay(rig.order("CARD-2", "10.00", notify=False))
    assert declined.status is Status.FAILED and declined.channel_trade_no is None
    rig.mode("ok")
    assert bedside.pay(rig.order("CARD-2", "10.00", notify=False)).status is Status.FAILED  # another card: new no
    rig.http.close()


def test_the_same_order_sent_again_is_the_same_order_and_another_amount_is_refused(rig: Rig) -> None:
    first = rig.channel.pay(rig.order("OP-AGAIN", "20.00"))
    assert rig.channel.pay(rig.order("OP-AGAIN", "20.00")) == first
    with pytest.raises(ChannelRejected):
        rig.channel.pay(rig.order("OP-AGAIN", "20.01"))
    assert rig.sim.get("OP-AGAIN").amount == D("20.00")


def test_a_failing_provider_refuses_and_records_nothing(rig: Rig) -> None:
    rig.mode("fail")
    with pytest.raises(ChannelRejected):
        rig.channel.pay(rig.order("OP-REFUSED"))
    rig.mode("ok")
    assert rig.channel.query("OP-REFUSED").status is Status.NOT_FOUND


def test_money_is_decimal_with_two_places_at_the_door() -> None:
    with pytest.raises(ValueError):
        CashOrder("OP-1", 12.3, "float")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        CashOrder("OP-1", D("12.345"), "three places")
    with pytest.raises(ValueError):
        CashOrder("OP-1", D("0.00"), "nothing")
    with pytest.raises(ValueError):
        CashOrder("OP 1/2", D("1.00"), "not a number a provider takes")


# -- callbacks ----------------------------------------------------------------------------------------------------


def test_a_callback_sent_twice_is_applied_once(rig: Rig) -> None:
    rig.callbacks("duplicate")
    rig.paid("OP-DUP")
    assert rig.hospital.verdicts() == [(Status.PAID, Verdict.NEW), (Status.PAID, Verdict.DUPLICATE)]
    (first, _), (second, _) = rig.hospital.taken
    assert first == second
    assert [e["sends"] for e in rig.sim.events()] == [2]


def test_an_older_callback_arriving_after_a_newer_one_is_stale(rig: Rig) -> None:
    rig.callbacks("hold")
    rig.paid("OP-ORDER", "100.00")
    rig.channel.refund("OP-ORDER", "RF-1", D("30.00"))
    assert rig.hospital.taken == []

    reply = rig.http.post("/admin/callbacks/release", json={"reverse": True})  # the newest first
    assert reply.json() == {"released": 2}

    assert rig.hospital.verdicts() == [(Status.PARTIALLY_REFUNDED, Verdict.NEW), (Status.PAID, Verdict.STALE)]
    assert [e.sequence for e, _ in rig.hospital.taken] == [2, 1]
    last = rig.hospital.inbox.last("OP-ORDER")
    assert last is not None and last.status is Status.PARTIALLY_REFUNDED and last.sequence == 2


def test_a_lost_callback_is_made_up_for_by_query(app_rig: Rig) -> None:
    rig = app_rig
    rig.callbacks("drop")
    rig.channel.pay(rig.order("OP-LOST"))
    rig.payer("OP-LOST", "paid")
    assert rig.hospital.taken == []
    assert [e["state"] for e in rig.sim.events()] == ["dropped"]

    waits: list[float] = []  # float-ok: seconds
    result = resolve(rig.channel, "OP-LOST", attempts=5, wait=2.0, sleep=waits.append)
    assert result.status is Status.PAID and result.amount == D("58.60") and waits == []


def test_resolve_never_guesses_paid(app_rig: Rig) -> None:
    rig = app_rig
    rig.channel.pay(rig.order("OP-WAITING"))
    waits: list[float] = []  # float-ok: seconds
    result = resolve(rig.channel, "OP-WAITING", attempts=3, wait=0.5, sleep=waits.append)
    assert result.status is Status.PENDING and waits == [0.5, 0.5]
    assert resolve(rig.channel, "OP-NEVER-SENT", attempts=2, wait=0, sleep=waits.append).status is Status.NOT_FOUND


def test_a_callback_whose_signature_does_not_check_is_refused(rig: Rig) -> None:
    rig.paid("OP-SIGNED")
    (headers, body), = rig.hospital.received
    assert rig.channel.parse_callback(headers, body).status is Status.PAID

    tampered = body.replace(b"58", b"85", 1)
    assert tampered != body
    with pytest.raises(BadCallback):
        rig.channel.parse_callback(headers, tampered)
    forger = make_channel(rig.kind, "http://provider.test", "not-the-key", http=rig.http)
    with pytest.raises(BadCallback):
        forger.parse_callback(headers, body)
    with pytest.raises(BadCallback):
        rig.channel.parse_callback(headers, b"\xff not a callback")

    notify = rig.closers[1]
    reply = notify.post(NOTIFY, content=tampered, headers=headers)
    assert reply.status_code == 400
    assert len(rig.hospital.taken) == 1


def test_the_provider_checks_the_hospitals_signature_too(rig: Rig) -> None:
    wrong = make_channel(rig.kind, "http://provider.test", "not-the-key", http=rig.http)
    with pytest.raises(ChannelTimeout, match="signature"):  # refused, in an answer the wrong key cannot check
        wrong.pay(rig.order("OP-FORGED"))
    assert rig.sim.get("OP-FORGED") is None


# -- timeouts -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["card", "wechat"])
def test_a_timeout_is_unknown_and_a_later_query_finds_what_happened(kind: str, tmp_path: Path) -> None:
    rig = make_rig(kind, tmp_path)
    with served(rig.sim.app) as url:
        channel = make_channel(kind, url, KEY, timeout=0.15)
        rig.mode("timeout", delay_seconds="0.6")  # does the work, answers after the client gave up
        with pytest.raises(ChannelTimeout, match="within 0.15 s"):
            channel.pay(rig.order("OP-TIMEOUT", "88.00", notify=False))
        rig.mode("ok")
        found = resolve(channel, "OP-TIMEOUT", attempts=1)
        if kind == "card":
            assert found.status is Status.PAID and found.amount == D("88.00")
            rig.mode("timeout", delay_seconds="0.6")  # a refund whose answer is lost, sent again: refunded once
            with pytest.raises(ChannelTimeout):
                channel.refund("OP-TIMEOUT", "RF-T", D("88.00"))
            rig.mode("ok")
            assert channel.refund("OP-TIMEOUT", "RF-T", D("88.00")).refunded == D("88.00")
        else:  # created, not paid: the patient has not scanned yet
            assert found.status is Status.PENDING
            rig.payer("OP-TIMEOUT", "paid")
            assert resolve(channel, "OP-TIMEOUT", attempts=1).status is Status.PAID
        channel.dispose()
    rig.http.close()
    rig.sim.dispose()


def test_a_request_lost_on_the_way_is_not_found_and_closing_it_makes_that_final(tmp_path: Path) -> None:
    rig = make_rig("alipay", tmp_path)
    with served(rig.sim.app) as url:
        channel = make_channel("alipay", url, KEY, timeout=0.15)
        rig.mode("timeout", delay_seconds="0.6", lost=True)
        with pytest.raises(ChannelTimeout):
            channel.pay(rig.order("OP-NEVER-ARRIVED"))
        rig.mode("ok")
        assert resolve(channel, "OP-NEVER-ARRIVED", attempts=2, wait=0).status is Status.NOT_FOUND
        assert channel.close("OP-NEVER-ARRIVED").status is Status.CLOSED
        with pytest.raises(ChannelRejected):  # the request arriving late now is refused
            channel.pay(rig.order("OP-NEVER-ARRIVED"))
        channel.dispose()
    rig.http.close()
    rig.sim.dispose()


def test_an_unreachable_provider_is_a_timeout(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    channel = make_channel("wechat", f"http://127.0.0.1:{port}", KEY, timeout=0.5)
    with pytest.raises(ChannelTimeout, match="unreachable"):
        channel.query("OP-ANY")
    channel.dispose()


# -- refunds and closing ----------------------------------------------------------------------------------------------


def test_refunds_in_part_and_in_full_each_once_per_refund_no(rig: Rig) -> None:
    rig.paid("OP-RF", "100.00")
    part = rig.channel.refund("OP-RF", "RF-1", D("30.00"))
    assert (part.status, part.refunded, part.amount) == (Status.PARTIALLY_REFUNDED, D("30.00"), D("100.00"))
    assert rig.channel.refund("OP-RF", "RF-1", D("30.00")) == part  # again: nothing more refunded
    with pytest.raises(ChannelRejected):
        rig.channel.refund("OP-RF", "RF-1", D("40.00"))  # the same refund_no with another amount
    with pytest.raises(ChannelRejected):
        rig.channel.refund("OP-RF", "RF-2", D("70.01"))  # more than is left
    rest = rig.channel.refund("OP-RF", "RF-2", D("70.00"))
    assert (rest.status, rest.refunded) == (Status.REFUNDED, D("100.00"))
    assert rig.channel.query("OP-RF") == rest
    with pytest.raises(ChannelRejected):
        rig.channel.refund("OP-RF", "RF-3", D("0.01"))
    with rig.sim.engine.connect() as conn:
        assert sorted((r.refund_no, r.amount) for r in conn.execute(refunds.select())) == [("RF-1", "30.00"),
                                                                                           ("RF-2", "70.00")]
    assert [(s, v) for s, v in rig.hospital.verdicts()] == [(Status.PAID, Verdict.NEW),
                                                           (Status.PARTIALLY_REFUNDED, Verdict.NEW),
                                                           (Status.REFUNDED, Verdict.NEW)]


def test_nothing_is_refunded_of_an_order_not_paid(app_rig: Rig) -> None:
    app_rig.channel.pay(app_rig.order("OP-UNPAID"))
    with pytest.raises(ChannelRejected):
        app_rig.channel.refund("OP-UNPAID", "RF-X", D("1.00"))
    with pytest.raises(ChannelRejected):
        app_rig.channel.refund("OP-NOWHERE", "RF-Y", D("1.00"))


def test_an_unpaid_order_is_closed_and_can_no_longer_be_paid(app_rig: Rig) -> None:
    rig = app_rig
    rig.channel.pay(rig.order("OP-CLOSE"))
    closed = rig.channel.close("OP-CLOSE")
    assert closed.status is Status.CLOSED and closed.amount == D("58.60")
    assert rig.channel.close("OP-CLOSE") == closed
    assert rig.http.post("/payer/OP-CLOSE", json={"outcome": "paid"}).status_code == 409
    with pytest.raises(ChannelRejected):
        rig.channel.pay(rig.order("OP-CLOSE"))
    assert resolve(rig.channel, "OP-CLOSE", attempts=1).status is Status.CLOSED


def test_a_paid_order_is_not_closed_but_refunded(rig: Rig) -> None:
    rig.paid("OP-PAID")
    with pytest.raises(ChannelRejected):
        rig.channel.close("OP-PAID")
    assert rig.channel.query("OP-PAID").status is Status.PAID


def test_a_card_sale_closed_before_it_happened_cannot_happen(tmp_path: Path) -> None:
    rig = make_rig("card", tmp_path)
    assert rig.channel.close("CARD-VOID").status is Status.CLOSED
    with pytest.raises(ChannelRejected):
        rig.channel.pay(rig.order("CARD-VOID"))
    rig.http.close()


# -- the inbox and resolve, on their own -------------------------------------------------------------------------------


def ev(event_id: str, status: Status, amount: str, sequence: int, no: str = "OP-1") -> CallbackEvent:
    return CallbackEvent(event_id, no, status, D(amount), "4200001", sequence)


def test_the_inbox_tells_new_from_duplicate_from_stale() -> None:
    inbox = CallbackInbox()
    assert inbox.accept(ev("E1", Status.PAID, "50.00", 1)) is Verdict.NEW
    assert inbox.accept(ev("E1", Status.PAID, "50.00", 1)) is Verdict.DUPLICATE  # the same event again
    assert inbox.accept(ev("E1-bis", Status.PAID, "50.00", 1)) is Verdict.DUPLICATE  # re-notified under a new id
    assert inbox.accept(ev("E3", Status.PARTIALLY_REFUNDED, "10.00", 3)) is Verdict.NEW
    assert inbox.accept(ev("E2", Status.PAID, "50.00", 2)) is Verdict.DUPLICATE
    assert inbox.accept(ev("E2b", Status.FAILED, "50.00", 2)) is Verdict.STALE  # older news
    assert inbox.accept(ev("E4", Status.PARTIALLY_REFUNDED, "25.00", 4)) is Verdict.NEW  # a second partial refund
    assert inbox.accept(ev("E5", Status.REFUNDED, "50.00", 5)) is Verdict.NEW
    assert inbox.accept(ev("X1", Status.PAID, "9.00", 1, no="OP-2")) is Verdict.NEW  # another order
    record = inbox.last("OP-1")
    assert record is not None and (record.status, record.sequence, record.version) == (Status.REFUNDED, 5, 4)
    assert record.event_ids == {"E1", "E3", "E4", "E5"}


def test_the_inbox_decides_again_when_another_writer_came_first() -> None:
    class Racing(MemoryInboxStore):
        """Another worker applies the same event between our read and our write."""

        def __init__(self) -> None:
            super().__init__()
            self.raced = False

        def put(self, record: InboxRecord, previous: InboxRecord | None) -> bool:
            if not self.raced:
                self.raced = True
                assert super().put(record, previous)  # the other worker's write
                return super().put(record, previous)  # ours, on a record that changed meanwhile: refused
            return super().put(record, previous)

    store = Racing()
    assert CallbackInbox(store).accept(ev("E1", Status.PAID, "50.00", 1)) is Verdict.DUPLICATE
    assert store.records["OP-1"].version == 1


class Flaky(Channel):
    """A provider that answers query() from a script: a result, or None for no answer."""

    name = "flaky"

    def __init__(self, script: list[ChannelResult | None]):
        self.script, self.asked = script, 0

    def query(self, out_trade_no: str) -> ChannelResult:
        self.asked += 1
        answer = self.script.pop(0)
        if answer is None:
            raise ChannelTimeout("no answer")
        return answer

    def pay(self, order: CashOrder) -> ChannelResult:
        raise NotImplementedError

    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> ChannelResult:
        raise NotImplementedError

    def close(self, out_trade_no: str) -> ChannelResult:
        raise NotImplementedError

    def parse_callback(self, headers: Any, body: bytes) -> CallbackEvent:
        raise NotImplementedError


def result(status: Status) -> ChannelResult:
    return ChannelResult("OP-1", status, D("50.00"), None, None, D("0.00"))


def test_resolve_waits_through_timeouts_and_pending_until_final() -> None:
    flaky = Flaky([None, result(Status.PENDING), None, result(Status.PAID), result(Status.REFUNDED)])
    assert resolve(flaky, "OP-1", attempts=10, wait=0, sleep=lambda s: None).status is Status.PAID
    assert flaky.asked == 4


def test_resolve_gives_up_with_the_last_known_status_or_none_at_all() -> None:
    flaky = Flaky([result(Status.PENDING), None, None])
    assert resolve(flaky, "OP-1", attempts=3, wait=0, sleep=lambda s: None).status is Status.PENDING
    with pytest.raises(ChannelTimeout, match="no answer to 2 queries"):
        resolve(Flaky([None, None]), "OP-1", attempts=2, wait=0, sleep=lambda s: None)
