"""One handler per interface, keyed by infno, each with the typed model of its `input`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from yibao.platform.work import Work
from yibao.rules.sign_in import reads_only


@dataclass(frozen=True)
class Interface:
    infno: str
    name: str
    input_model: type[BaseModel]
    run: Callable[[Work, Any], dict[str, Any]]
    #: None: as the sign-in policy decides (rules/sign_in.py); False: never (9001/9002); True: always
    needs_sign_in: bool | None = None
    #: whether the interface writes (commits money or records); by default judged from its infno
    writes: bool = True


INTERFACES: dict[str, Interface] = {}


def interface(infno: str, name: str, input_model: type[BaseModel], *, needs_sign_in: bool | None = None,  # type: ignore[no-untyped-def]
              writes: bool | None = None):
    def register(fn: Callable[[Work, Any], dict[str, Any]]) -> Callable[[Work, Any], dict[str, Any]]:
        if infno in INTERFACES:
            raise RuntimeError(f"interface {infno} registered twice")
        INTERFACES[infno] = Interface(infno, name, input_model, fn, needs_sign_in,
                                      writes if writes is not None else not reads_only(infno))
        return fn

    return register


def interface_with_a_form(infno: str, name: str, input_model: type[BaseModel]):  # type: ignore[no-untyped-def]
    """Register `infno` and its "A" form (seed 000: same input, the mutual-aid fields added to the output)
    for one function taking (work, data, a_form)."""

    def register(fn: Callable[[Work, Any, bool], dict[str, Any]]) -> Callable[[Work, Any, bool], dict[str, Any]]:
        interface(infno, name, input_model)(lambda work, data: fn(work, data, False))
        interface(infno + "A", name + "A", input_model)(lambda work, data: fn(work, data, True))
        return fn

    return register


class Node(BaseModel):
    """Base of input nodes: unknown fields are tolerated (HIS vendors add their own)."""

    model_config = {"extra": "allow"}
