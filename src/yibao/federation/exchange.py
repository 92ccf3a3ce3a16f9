"""The exchange between nodes: what a node may do with it, and an in-memory one for tests.

A message is a JSON object: `id` (chosen by its sender; a duplicate carries the same id), `kind` (settle, cancel,
quote; answer), `sender` and `to` (node names), `reply` (the sending worker, which its answer goes back to) and
`body`. Delivery is at least once, in any order: the receiving node makes each id count once (its inbox).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]
#: a node's handler of a request: the answer's body (None: not handled now; delivered again later)
Handler = Callable[[Message], "dict[str, Any] | None"]


class Unreachable(Exception):
    """The exchange did not take the message."""


class Exchange:
    """One worker's connection to the exchange."""

    node: str
    worker: str

    def start(self, handler: Handler | None) -> None:
        """Connect; with a handler, take this node's requests (shared between the node's workers)."""
        raise NotImplementedError

    def send(self, to: str, kind: str, msg_id: str, body: dict[str, Any]) -> None:
        """Publish a request to node `to`, its answer to come back to this worker. Unreachable if not taken."""
        raise NotImplementedError

    def wait(self, msg_id: str, timeout: float) -> dict[str, Any] | None:  # float-ok: seconds
        """The answer's body to request `msg_id`, or None when none came within `timeout` seconds."""
        raise NotImplementedError

    def broadcast(self, kind: str, msg_id: str, body: dict[str, Any]) -> None:
        """Publish this node's reference snapshot of `kind` to every node following it; the latest of each kind
        is kept for a node that follows later. Unreachable if not taken."""
        raise NotImplementedError

    def follow(self, handler: Handler) -> None:
        """Take the snapshots the peers broadcast (shared between the node's workers, each applied by one); the
        handler's answer is not sent back (None: not applied now, delivered again)."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Waiters:
    """Answers by request id, for the threads waiting on them."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._answers: dict[str, dict[str, Any]] = {}

    def put(self, msg_id: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._answers[msg_id] = body
            self._lock.notify_all()

    def take(self, msg_id: str, timeout: float) -> dict[str, Any] | None:  # float-ok: seconds
        with self._lock:
            self._lock.wait_for(lambda: msg_id in self._answers, timeout)
            return self._answers.pop(msg_id, None)

    def forget(self, msg_id: str) -> None:
        with self._lock:
            self._answers.pop(msg_id, None)


# -- in memory ------------------------------------------------------------------------------------------------

class FakeNetwork:
    """The exchange in one process, for tests: queues per node, delivered when a waiting worker pumps them (no
    thread, no clock: a node that is `down` keeps its queue, and a wait for its answer ends at once, as a time box
    would). `duplicate`, `hold` and `reorder` let a test deliver every message twice, hold some back, reverse a
    queue."""

    def __init__(self) -> None:
        self.queues: dict[str, list[Message]] = {}
        self.nodes: dict[str, FakeExchange] = {}
        self.down: set[str] = set()
        self.exchange_down = False
        self.duplicate = False
        self.held: list[Message] = []
        self.hold: Callable[[Message], bool] | None = None
        self.delivered: list[Message] = []
        self.retained: dict[tuple[str, str], Message] = {}  # the latest snapshot per (province, kind)
        self.followers: set[str] = set()

    def exchange(self, node: str, worker: str = "w1") -> FakeExchange:
        return FakeExchange(self, node, worker)

    def post(self, to: str, msg: Message) -> None:
        if self.exchange_down:
            raise Unreachable("the exchange is down")
        if self.hold is not None and self.hold(msg):
            self.held.append(msg)
            return
        copies = 2 if self.duplicate else 1
        self.queues.setdefault(to, []).extend(dict(msg) for _ in range(copies))

    def broadcast(self, msg: Message) -> None:
        if self.exchange_down:
            raise Unreachable("the exchange is down")
        self.retained[(msg["body"]["province"], msg["kind"])] = msg
        for node in sorted(self.followers - {msg["sender"]}):
            self._now_or_later(node, {**msg, "to": node})

    def follow(self, node: str) -> None:
        self.followers.add(node)
        for _, msg in sorted(self.retained.items()):
            if msg["sender"] != node:
                self._now_or_later(node, {**msg, "to": node})

    def _now_or_later(self, node: str, msg: Message) -> None:
        """A snapshot is applied by a follower that is up at once (a test need not pump for it); held, or
        queued for a node that is down."""
        if self.hold is not None and self.hold(msg):
            self.held.append(msg)
        elif node in self.down or node not in self.nodes or not self.nodes[node].deliver(msg):
            self.queues.setdefault(node, []).append(msg)
        else:
            self.delivered.append(msg)

    def release(self, reverse: bool = False) -> None:
        """Deliver the held messages (last first with `reverse`)."""
        held, self.held = self.held, []
        for msg in reversed(held) if reverse else held:
            self.queues.setdefault(msg["to"], []).append(msg)

    def pump(self) -> int:
        """Deliver what every node that is up can take; how many were delivered."""
        moved = 0
        progress = True
        while progress:
            progress = False
            for name, queue in list(self.queues.items()):
                node = self.nodes.get(name)
                if name in self.down or node is None or not queue:
                    continue
                msg = queue.pop(0)
                if node.deliver(msg):
                    moved += 1
                    self.delivered.append(msg)
                    progress = True
                else:
                    queue.append(msg)
        return moved


class FakeExchange(Exchange):
    def __init__(self, network: FakeNetwork, node: str, worker: str):
        self.network, self.node, self.worker = network, node, worker
        self.handler: Handler | None = None
        self.follower: Handler | None = None
        self.waiters = _Waiters()

    def start(self, handler: Handler | None) -> None:
        self.handler = handler
        self.network.nodes[self.node] = self

    def send(self, to: str, kind: str, msg_id: str, body: dict[str, Any]) -> None:
        self.network.post(to, {"id": msg_id, "kind": kind, "sender": self.node, "to": to, "reply": self.worker,
                               "body": body})

    def broadcast(self, kind: str, msg_id: str, body: dict[str, Any]) -> None:
        self.network.broadcast({"id": msg_id, "kind": kind, "sender": self.node, "to": "*", "reply": self.worker,
                                "body": body, "snapshot": True})

    def follow(self, handler: Handler) -> None:
        self.follower = handler
        self.network.follow(self.node)

    def deliver(self, msg: Message) -> bool:
        if msg["kind"] == "answer":
            self.waiters.put(msg["id"], msg["body"])
            return True
        if msg.get("snapshot"):
            return self.follower is not None and self.follower(msg) is not None
        if self.handler is None:
            return False
        body = self.handler(msg)
        if body is None:
            return False
        self.network.post(msg["sender"], {"id": msg["id"], "kind": "answer", "sender": self.node,
                                          "to": msg["sender"], "reply": msg["reply"], "body": body})
        return True

    def wait(self, msg_id: str, timeout: float) -> dict[str, Any] | None:  # float-ok: seconds
        self.network.pump()
        return self.waiters.take(msg_id, 0)
