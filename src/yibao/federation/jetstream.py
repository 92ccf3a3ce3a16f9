"""The exchange on NATS JetStream: a stream per direction between two nodes.

Stream `<space>_<from>_<to>` holds what node `from` sends node `to`: requests on `<space>.<from>.<to>.req`, answers
on `<space>.<from>.<to>.ans.<worker>` (the worker of `to` that asked). A node's workers share one durable pull
consumer per incoming stream for requests (each request to one worker, acknowledged after its effect is committed,
delivered again otherwise); each worker reads its own answers through an ephemeral consumer. The connection
reconnects for ever: while the exchange is down, `send` fails at once (the asking settlement is refused as not
settled) and requests wait in their streams.

Reference snapshots: stream `<space>_ref_<province>` holds what a node publishes of each province it owns, on
`<space>.ref.<province>.<kind>`, the latest of each kind kept (a node starting later gets it); each other node reads
it through a durable pull consumer `<node>-ref` shared by its workers, acknowledging once applied.

Every message is sealed with the federation's key (YIBAO_FEDERATION_KEY, shared by its nodes; Fernet as
store/vault.py): a stream kept on the exchange's disk for days holds persons' ID numbers (a visitor's record), which
a copy of that disk must not give away, and a message no key opens (or not sealed) is set aside, never applied.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import nats
from nats.js import api
from nats.js.errors import BadRequestError

from yibao.federation.exchange import Exchange, Handler, Message, Unreachable, _Waiters

log = logging.getLogger("yibao.federation")
SEND_TIMEOUT = 2.0  # float-ok: seconds the exchange has to take a message
KEEP = 7 * 24 * 3600  # a message's life in its stream, seconds


class Sealer(Protocol):
    """What seals the messages (store/vault.py's Vault under the federation's key)."""

    def seal(self, text: str) -> str: ...

    def open_sealed(self, text: str) -> str: ...


class JetStreamExchange(Exchange):
    def __init__(self, url: str, node: str, peers: tuple[str, ...], space: str = "yibao", workers: int = 4, *,
                 sealer: Sealer):
        self.url, self.node, self.peers, self.space = url, node, peers, space
        self._vault = sealer
        self.worker = f"{os.getpid()}x{uuid.uuid4().hex[:6]}"
        self.waiters = _Waiters()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="federation", daemon=True)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="federation-apply")
        self._nc: Any = None
        self._js: Any = None
        self._stop = False

    def _sealed(self, msg: Message) -> bytes:
        return self._vault.seal(json.dumps(msg)).encode("ascii")

    def _opened(self, data: bytes) -> Message | None:
        """The message, or None for one not sealed by a key of this federation (logged, never applied)."""
        try:
            return json.loads(self._vault.open_sealed(data.decode("utf-8", "replace")))  # type: ignore[no-any-return]
        except Exception as exc:  # noqa: BLE001 - whatever does not open is set aside
            log.warning("federation: a message set aside, not opened with YIBAO_FEDERATION_KEY: %s", exc)
            return None

    def stream(self, sender: str, to: str) -> str:
        return f"{self.space}_{sender}_{to}"

    def subject(self, sender: str, to: str, what: str) -> str:
        return f"{self.space}.{sender}.{to}.{what}"

    # -- the loop thread ------------------------------------------------------------------------------------

    def _run(self, coro: Any, timeout: float | None = None) -> Any:  # float-ok: seconds
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self, handler: Handler | None) -> None:
        self._thread.start()
        self._run(self._start(handler), timeout=30)

    async def _start(self, handler: Handler | None) -> None:
        self._nc = await nats.connect(self.url, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                      connect_timeout=5, name=f"yibao-{self.node}-{self.worker}")
        self._js = self._nc.jetstream()
        for peer in self.peers:
            for sender, to in ((self.node, peer), (peer, self.node)):
                await self._stream(sender, to)
        await self._ref_stream(self.node)
        for peer in self.peers:
            await self._js.subscribe(self.subject(peer, self.node, f"ans.{self.worker}"),
                                     stream=self.stream(peer, self.node), cb=self._on_answer,
                                     deliver_policy=api.DeliverPolicy.NEW, inactive_threshold=60)
            if handler is not None:
                sub = await self._js.pull_subscribe(
                    self.subject(peer, self.node, "req"), durable=f"{self.node}-requests",
                    stream=self.stream(peer, self.node),
                    config=api.ConsumerConfig(ack_wait=30, max_ack_pending=1000))
                self._loop.create_task(self._serve(sub, handler))

    async def _stream(self, sender: str, to: str) -> None:
        config = api.StreamConfig(name=self.stream(sender, to), subjects=[self.subject(sender, to, ">")],
                                  storage=api.StorageType.FILE, max_age=KEEP)
        try:
            await self._js.add_stream(config)
        except BadRequestError:  # made by the other node or another worker
            await self._js.stream_info(config.name)

    async def _ref_stream(self, province: str) -> None:
        config = api.StreamConfig(name=f"{self.space}_ref_{province}", subjects=[f"{self.space}.ref.{province}.*"],
                                  storage=api.StorageType.FILE, max_msgs_per_subject=1)
        try:
            await self._js.add_stream(config)
        except BadRequestError:  # made by the node or another worker
            await self._js.stream_info(config.name)

    def broadcast(self, kind: str, msg_id: str, body: dict[str, Any]) -> None:
        msg = {"id": msg_id, "kind": kind, "sender": self.node, "to": "*", "reply": self.worker, "body": body,
               "snapshot": True}
        province = body["province"]  # the subject of the province it is of: the latest kept per province and kind
        try:
            if province != self.node:
                self._run(self._ref_stream(province), timeout=SEND_TIMEOUT + 1)
            self._run(self._js.publish(f"{self.space}.ref.{province}.{kind}", self._sealed(msg),
                                       timeout=SEND_TIMEOUT), timeout=SEND_TIMEOUT + 1)
        except Exception as exc:  # noqa: BLE001 - not taken, whatever the reason
            raise Unreachable(f"the exchange did not take the snapshot: {exc or type(exc).__name__}") from exc

    def follow(self, handler: Handler) -> None:
        self._run(self._follow(handler), timeout=30)

    async def _follow(self, handler: Handler) -> None:
        for peer in self.peers:
            await self._ref_stream(peer)
            sub = await self._js.pull_subscribe(f"{self.space}.ref.{peer}.*", durable=f"{self.node}-ref",
                                                stream=f"{self.space}_ref_{peer}",
                                                config=api.ConsumerConfig(ack_wait=60, max_ack_pending=100))
            self._loop.create_task(self._serve(sub, handler, answer=False))

    async def _on_answer(self, msg: Any) -> None:
        data = self._opened(msg.data)
        if data is not None:
            self.waiters.put(data["id"], data["body"])

    async def _serve(self, sub: Any, handler: Handler, answer: bool = True) -> None:
        while not self._stop:
            try:
                batch = await sub.fetch(16, timeout=1)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except Exception as exc:  # noqa: BLE001 - the exchange is away: try again
                log.warning("federation: fetching requests failed: %s", exc)
                await asyncio.sleep(0.5)
                continue
            await asyncio.gather(*(self._one(msg, handler, answer) for msg in batch))

    async def _one(self, raw: Any, handler: Handler, answer_it: bool = True) -> None:
        opened = self._opened(raw.data)
        if opened is None:  # no use delivering it again
            await raw.term()
            return
        msg: Message = opened
        try:
            body = await self._loop.run_in_executor(self._pool, handler, msg)
        except Exception:  # noqa: BLE001 - not applied: delivered again
            log.exception("federation: applying %s %s failed", msg.get("kind"), msg.get("id"))
            body = None
        if body is None:
            await raw.nak(delay=0.5)
            return
        if not answer_it:  # a snapshot: applied (or ignored), nobody waits for an answer
            await raw.ack()
            return
        answer = {"id": msg["id"], "kind": "answer", "sender": self.node, "to": msg["sender"],
                  "reply": msg["reply"], "body": body}
        try:
            await self._js.publish(self.subject(self.node, msg["sender"], f"ans.{msg['reply']}"),
                                   self._sealed(answer), timeout=SEND_TIMEOUT)
            await raw.ack()
        except Exception as exc:  # noqa: BLE001 - not acknowledged: delivered again, answered from the inbox
            log.warning("federation: answering %s failed: %s", msg["id"], exc)

    # -- the worker's side ----------------------------------------------------------------------------------

    def send(self, to: str, kind: str, msg_id: str, body: dict[str, Any]) -> None:
        msg = {"id": msg_id, "kind": kind, "sender": self.node, "to": to, "reply": self.worker, "body": body}
        try:
            self._run(self._js.publish(self.subject(self.node, to, "req"), self._sealed(msg),
                                       timeout=SEND_TIMEOUT), timeout=SEND_TIMEOUT + 1)
        except Exception as exc:  # noqa: BLE001 - not taken, whatever the reason
            raise Unreachable(f"the exchange did not take the message: {exc or type(exc).__name__}") from exc

    def wait(self, msg_id: str, timeout: float) -> dict[str, Any] | None:  # float-ok: seconds
        return self.waiters.take(msg_id, timeout)

    def close(self) -> None:
        self._stop = True
        if self._nc is not None:
            try:
                self._run(self._nc.close(), timeout=5)
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        if self._thread.is_alive():
            try:
                self._run(self._cancel_tasks(), timeout=5)
            except Exception:  # noqa: BLE001 - the loop stops anyway
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._pool.shutdown(wait=False)

    @staticmethod
    async def _cancel_tasks() -> None:
        """The consumers' loops ended before the loop stops (none left pending to be destroyed)."""
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
