"""The answers kept for msgid replay (message_replay): a message retried under its msgid is answered with what
it was answered the first time, never run again. The answers name persons, so they are kept sealed
(store/vault.py); what a reversal needs of the original (the id of what it made) is kept beside in the clear."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from yibao import wire
from yibao.store.models import MessageReplay
from yibao.store.vault import PREFIX as SEALED
from yibao.store.vault import Vault


def kept(session: Session, fixmedins_code: str, msgid: str) -> MessageReplay | None:
    return session.get(MessageReplay, (fixmedins_code, msgid))


def keep(session: Session, vault: Vault, *, fixmedins_code: str, msgid: str, infno: str, fingerprint: str,
         answer: dict[str, Any]) -> None:
    output = answer.get("output")
    effect = effect_of(output) if isinstance(output, dict) else None
    session.add(MessageReplay(fixmedins_code=fixmedins_code, msgid=msgid, infno=infno, body_sha256=fingerprint,
                              created_at=datetime.now(), effect_id=effect,
                              response=vault.seal(wire.encode(answer).decode("utf-8"))))


def answer_of(vault: Vault, row: MessageReplay) -> dict[str, Any]:
    return wire.decode(vault.open(row.response).encode("utf-8"))


def effect_of(output: dict[str, Any]) -> str | None:
    """The id of what a message made: a settlement's setl_id, else a registration's or admission's mdtrt_id."""
    for node, key in (("setlinfo", "setl_id"), ("data", "mdtrt_id"), ("result", "mdtrt_id")):
        value = output.get(node)
        if isinstance(value, dict) and isinstance(value.get(key), str):
            return value[key][:30]
    return None


def legacy_effect(response: str) -> str:
    """effect_of an answer kept before answers were sealed (no effect_id; plain text): read from it."""
    if response.startswith(SEALED):
        return ""
    output = wire.decode(response.encode("utf-8")).get("output")
    return (effect_of(output) if isinstance(output, dict) else None) or ""
