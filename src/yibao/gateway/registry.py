"""One handler per interface, keyed by infno, each with the typed model of its `input`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from yibao.gateway.envelope import RequestEnvelope
from yibao.store.models import Institution


@dataclass
class Call:
    """What a handler gets: the open unit of work and the facts of this message."""

    session: Session
    institution: Institution
    envelope: RequestEnvelope
    today: date
    now: datetime
    warnings: list[str]


@dataclass(frozen=True)
class Interface:
    infno: str
    name: str
    input_model: type[BaseModel]
    run: Callable[[Call, Any], dict[str, Any]]
    needs_sign_in: bool = True


INTERFACES: dict[str, Interface] = {}


def interface(infno: str, name: str, input_model: type[BaseModel], *, needs_sign_in: bool = True):  # type: ignore[no-untyped-def]
    def register(fn: Callable[[Call, Any], dict[str, Any]]) -> Callable[[Call, Any], dict[str, Any]]:
        if infno in INTERFACES:
            raise RuntimeError(f"interface {infno} registered twice")
        INTERFACES[infno] = Interface(infno, name, input_model, fn, needs_sign_in)
        return fn

    return register


def interface_with_a_form(infno: str, name: str, input_model: type[BaseModel]):  # type: ignore[no-untyped-def]
    """Register `infno` and its "A" form (seed 000: same input, the mutual-aid fields added to the output)
    for one function taking (call, data, a_form)."""

    def register(fn: Callable[[Call, Any, bool], dict[str, Any]]) -> Callable[[Call, Any, bool], dict[str, Any]]:
        interface(infno, name, input_model)(lambda call, data: fn(call, data, False))
        interface(infno + "A", name + "A", input_model)(lambda call, data: fn(call, data, True))
        return fn

    return register


class Node(BaseModel):
    """Base of input nodes: unknown fields are tolerated (HIS vendors add their own)."""

    model_config = {"extra": "allow"}
