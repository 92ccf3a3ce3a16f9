"""How a one-time sign-in code reaches an insured person: a `CodeSender` (an SMS gateway in a deployment).

The simulated sender of the demo and the tests writes the code to a file (YIBAO_CONSOLE_OUTBOX) and the server
log, where the demo reads it. It is used only when asked for (YIBAO_CONSOLE_SENDER=simulated) or in the demo
(YIBAO_DEMO=1): a deployment without a sender offers staff sign-in only, never a code in its log.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger("yibao.console.codes")


class CodeSender(Protocol):
    def send(self, psn_no: str, name: str, code: str) -> None:
        """Deliver `code` to the person (his registered phone); raise on failure."""


class SimulatedSender:
    """Appends `time psn_no name code` to a file, and logs it."""

    def __init__(self, outbox: Path | None = None):
        self.outbox = outbox
        self._lock = threading.Lock()

    def send(self, psn_no: str, name: str, code: str) -> None:
        line = f"{datetime.now():%Y-%m-%d %H:%M:%S} {psn_no} {name} {code}"
        log.warning("simulated sign-in code for %s (%s): %s", psn_no, name, code)
        if self.outbox is not None:
            with self._lock:
                self.outbox.parent.mkdir(parents=True, exist_ok=True)
                with self.outbox.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")

    def last_code(self, psn_no: str) -> str:
        """The latest code sent to the person (for the demo and the tests)."""
        if self.outbox is None or not self.outbox.exists():
            return ""
        codes = [line.split()[-1] for line in self.outbox.read_text(encoding="utf-8").splitlines()
                 if len(line.split()) >= 5 and line.split()[2] == psn_no]
        return codes[-1] if codes else ""


def sender_from_env() -> CodeSender | None:
    wanted = os.environ.get("YIBAO_CONSOLE_SENDER", "").strip()
    if wanted == "simulated" or (not wanted and os.environ.get("YIBAO_DEMO") == "1"):
        outbox = os.environ.get("YIBAO_CONSOLE_OUTBOX", "").strip()
        return SimulatedSender(Path(outbox) if outbox else None)
    return None
