"""What crosses the exchange is sealed with the federation's key (docs/federation.md): on the real JetStream, a
request reaches a node holding the key and is answered; the stream on the exchange's disk holds no readable
person data; a message sealed with another key, or not sealed, is set aside and never applied."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import nats
import pytest
from federation_served import NATS_URL, SEALER, nats_problem, wait_until

from yibao.federation.jetstream import JetStreamExchange
from yibao.store.vault import Vault, new_key

CERTNO = "140101199001011234"
T = TypeVar("T")


@pytest.fixture
def space() -> str:
    problem = nats_problem()
    if problem:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"required in CI: {problem}")
        pytest.skip(problem)
    return f"k{uuid.uuid4().hex[:10]}"


def _in_own_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """The coroutine run to its end on a loop of its own, in a thread of its own: the test's thread may already
    run a loop (another test's browser, say)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result(30)


def _raw(space: str, stream: str) -> list[bytes]:
    async def read() -> list[bytes]:
        nc = await nats.connect(NATS_URL)
        try:
            js = nc.jetstream()
            info = await js.stream_info(stream)
            return [(await js.get_msg(stream, seq)).data or b""
                    for seq in range(info.state.first_seq, info.state.last_seq + 1)]
        finally:
            await nc.close()
    return _in_own_loop(read)


def _publish_plain(subject: str, msg: dict[str, Any]) -> None:
    async def send() -> None:
        nc = await nats.connect(NATS_URL)
        try:
            await nc.jetstream().publish(subject, json.dumps(msg).encode())
        finally:
            await nc.close()
    _in_own_loop(send)


def test_messages_are_sealed_and_a_stranger_is_set_aside(space: str) -> None:
    seen: list[dict[str, Any]] = []
    lock = threading.Lock()

    def handler(msg: dict[str, Any]) -> dict[str, Any]:
        with lock:
            seen.append(msg)
        return {"state": "found", "certno": CERTNO}

    asker = JetStreamExchange(NATS_URL, "44", ("14",), space, sealer=SEALER)
    owner = JetStreamExchange(NATS_URL, "14", ("44",), space, sealer=SEALER)
    # a stranger on the same stream as node 44, sealing with a key that is not the federation's
    stranger = JetStreamExchange(NATS_URL, "44", ("14",), space, sealer=Vault([new_key().encode("ascii")]))
    try:
        owner.start(handler)
        asker.start(None)
        asker.send("14", "person", "P1", {"cred": {"kind": "02", "number": CERTNO}})
        assert asker.wait("P1", 10) == {"state": "found", "certno": CERTNO}
        # on the exchange's disk, both ways: sealed, no ID number readable
        for stream in (f"{space}_44_14", f"{space}_14_44"):
            for data in _raw(space, stream):
                assert data.startswith(b"f1:") and CERTNO.encode() not in data
        # a node with another key, and a plain message, reach the stream but are never applied
        stranger.start(None)
        stranger.send("14", "person", "P2", {"cred": {"kind": "02", "number": CERTNO}})
        _publish_plain(f"{space}.44.14.req", {"id": "P3", "kind": "person", "sender": "44", "to": "14",
                                               "reply": "x", "body": {}})
        asker.send("14", "person", "P4", {"cred": {"kind": "02", "number": CERTNO}})  # after both: in order
        assert asker.wait("P4", 10) is not None
        assert wait_until(lambda: len(seen) >= 2, timeout=5)
        assert [m["id"] for m in seen] == ["P1", "P4"]
        assert stranger.wait("P2", 1) is None
    finally:
        for ex in (asker, owner, stranger):
            ex.close()
