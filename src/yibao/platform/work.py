"""One piece of work for the platform: the open unit of work, the business clock and who asks.

Every face (the wire, the JSON API, the mobile-payment centre, the CLI) turns its request into a `Work` and
calls a use case with it; the use case reads and writes through `work.session`, in one transaction that the
face commits whole or rolls back whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from yibao.clock import business_date, business_now
from yibao.store.db import Store
from yibao.store.models import Institution


@dataclass(frozen=True)
class Caller:
    """Who asks. kind: institution (subject: its code; opter: the operator at the desk), person (psn_no),
    agency (its region), centre (its province) or system (a command run by the operator of the platform)."""

    kind: str
    subject: str
    opter: str = ""
    opter_name: str = ""


SYSTEM = Caller("system", "cli")


@dataclass
class Work:
    session: Session
    today: date
    now: datetime
    caller: Caller = SYSTEM
    #: the calling institution's row, when the caller is one
    institution: Institution | None = None
    #: the message being answered: recorded on what it makes (a settlement's medins_setl_id)
    msgid: str = ""
    #: the insured region the desk named for the patient (envelope insuplc_admdvs; "" names the local region)
    insuplc_admdvs: str = ""
    #: what the answer should tell besides its result (warn_msg)
    warnings: list[str] = field(default_factory=list)

    @property
    def here(self) -> Institution:
        """The calling institution; a use case for institutions only is never called without one."""
        if self.institution is None:
            raise RuntimeError("this use case is an institution's, and the work names none")
        return self.institution


@contextmanager
def working(store: Store, caller: Caller = SYSTEM, *, durable: bool = True, read: bool = False,
            **facts: object) -> Iterator[Work]:
    """A Work in a new unit of work on the business clock, committed when the block ends (`read`: one that
    cannot write, Store.unit_of_work)."""
    with store.unit_of_work(durable=durable, read=read) as session:
        stored = store.stored_today(session)
        yield Work(session, business_date(stored), business_now(stored), caller, **facts)  # type: ignore[arg-type]
