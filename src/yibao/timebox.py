"""The clock of a time box: how long a request waits for a slow party (a payment channel) before it answers
without it (seed 003: a payment is answered within 5 seconds), and what is done with the answer that comes later.

Production uses `Clock` (the monotonic clock). Tests use `DrivenClock`: its time moves only when the test
moves it, so "the channel took longer than the box" is a fact the test states, not a race against the machine's
load, and a late answer is waited for by an event, not by polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

T = TypeVar("T")


class Clock:
    """Monotonic seconds (`now`), a future waited for until a deadline (`wait`), its late answer (`later`)."""

    def now(self) -> float:  # float-ok: monotonic seconds
        return time.monotonic()

    def deadline(self, seconds: float) -> float:  # float-ok: seconds
        return self.now() + seconds

    def wait(self, future: Future[T], deadline: float) -> T:  # float-ok: monotonic seconds
        """The future's result, or concurrent.futures.TimeoutError once `deadline` has passed without it."""
        return future.result(timeout=max(deadline - self.now(), 0.0))

    def later(self, future: Future[T], then: Callable[[Future[T]], Any]) -> None:
        """`then(future)` when the future is done (in the thread that completes it)."""
        future.add_done_callback(then)


class DrivenClock(Clock):
    """A clock that moves only by `advance()`. `wait` returns when the future is done or the driven time reaches
    the deadline, whichever comes first; `settle()` waits until every late answer handed to `later` was applied.
    A real-time limit (`patience`) keeps a broken test from hanging: past it, AssertionError."""

    def __init__(self, start: float = 1000.0, patience: float = 30.0):  # float-ok: seconds
        self._now = start
        self.patience = patience
        self._changed = threading.Condition()
        self._late: list[threading.Event] = []

    def now(self) -> float:  # float-ok
        with self._changed:
            return self._now

    def advance(self, seconds: float) -> None:  # float-ok
        with self._changed:
            self._now += seconds
            self._changed.notify_all()

    def _poke(self, _future: Future[Any]) -> None:
        with self._changed:
            self._changed.notify_all()

    def wait(self, future: Future[T], deadline: float) -> T:  # float-ok
        future.add_done_callback(self._poke)
        with self._changed:
            if not self._changed.wait_for(lambda: future.done() or self._now >= deadline, timeout=self.patience):
                raise AssertionError(f"DrivenClock: neither done nor past the box within {self.patience} s")
        if future.done():
            return future.result()
        raise FutureTimeout()

    def later(self, future: Future[T], then: Callable[[Future[T]], Any]) -> None:
        applied = threading.Event()

        def run(done: Future[T]) -> None:
            try:
                then(done)
            finally:
                applied.set()

        with self._changed:
            self._late.append(applied)
        future.add_done_callback(run)

    def settle(self) -> int:
        """Wait until every late answer so far was applied; how many there were."""
        with self._changed:
            late = list(self._late)
        for applied in late:
            if not applied.wait(self.patience):
                raise AssertionError(f"DrivenClock: a late answer was not applied within {self.patience} s")
        return len(late)
