"""A payment channel counted and timed (yibao_hospital_channel_calls_total, ..._duration_seconds): what the
hospital asked of which channel, and what came back. Everything else passes through untouched."""

from __future__ import annotations

import time
from typing import Any

from yibao.hospital.channels.base import ChannelRejected, ChannelTimeout
from yibao.observe.metrics import CHANNEL_CALLS, CHANNEL_SECONDS

CALLS = ("pay", "query", "refund", "close")


class Metered:
    def __init__(self, channel: Any, kind: str):
        self._channel, self._kind = channel, kind

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._channel, name)
        if name in CALLS:
            return self._timed(name, found)
        if name == "at":  # a card channel at a terminal is still the card channel
            return lambda device: Metered(found(device), self._kind)
        return found

    def _timed(self, call: str, fn: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            start, result = time.perf_counter(), "error"
            try:
                answer = fn(*args, **kwargs)
                result = str(getattr(getattr(answer, "status", None), "value", "unknown"))
                return answer
            except ChannelTimeout:
                result = "timeout"
                raise
            except ChannelRejected:
                result = "rejected"
                raise
            finally:
                CHANNEL_CALLS.labels(self._kind, call, result).inc()
                CHANNEL_SECONDS.labels(self._kind, call).observe(time.perf_counter() - start)
        return run
