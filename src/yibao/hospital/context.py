"""What every use case of the hospital works with: its configuration, its database, its link to the platform,
its payment channels, the time box's clock, the worker threads that call the channels, and the business date.

`Context` holds them and nothing else; the use cases (directory.py, patients.py, visits.py, the cashier, the
deposit, stays and sales) take it as their first argument, and `service.Hospital` is the context with the use
cases that are methods. Keeping it apart from them is what lets every module import it without a cycle."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from functools import cached_property
from typing import Any

import httpx

from yibao.client import PlatformClient
from yibao.clock import business_date, business_now
from yibao.hospital.channels import make_channel
from yibao.hospital.channels.metered import Metered
from yibao.hospital.config import HospitalConfig
from yibao.hospital.database import HospitalDB
from yibao.hospital.errors import invalid
from yibao.hospital.insurance import Insurance, client_for
from yibao.throttle import SignInThrottle
from yibao.timebox import Clock


def new_no(prefix: str, now: datetime) -> str:
    """A number unique in practice: prefix + yyMMddHHmmss + 6 hex digits (at most 19 characters)."""
    return f"{prefix}{now:%y%m%d%H%M%S}{secrets.token_hex(3).upper()}"


class Context:
    """One hospital's resources: configuration, database, link to the platform and payment channels."""

    def __init__(self, config: HospitalConfig, db: HospitalDB | None = None, *,
                 platform_http: httpx.Client | None = None, client: PlatformClient | None = None,
                 channels: dict[str, Any] | None = None, clock: Clock | None = None):
        self.config = config
        #: the time box's clock (answer_within): the monotonic clock; tests drive one of their own
        self.clock = clock or Clock()
        self.db = db or HospitalDB(config.database_url)
        self.db.upgrade()  # Alembic: made, migrated or stamped (HospitalDB.upgrade)
        self.insurance = Insurance(client or client_for(config, platform_http))
        self._channels = channels
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="hospital-channel")

    # -- clock and channels -----------------------------------------------------------------------------
    def today(self) -> date:
        """The business date: YIBAO_TODAY, else the configuration's `today`, else the real date."""
        return business_date(self.config.today)

    def now(self) -> datetime:
        return business_now(self.config.today)

    @property
    def channels(self) -> dict[str, Any]:
        if self._channels is None:
            self._channels = {kind: make_channel(kind, s.base_url, s.key, s.timeout)
                              for kind, s in self.config.channels.items()}
        return self._channels

    def channel(self, kind: str, device: str | None = None) -> Any:
        """The channel of `kind`; a card channel at the terminal `device` when one is named."""
        found = self.channels.get(kind)
        if found is None:
            raise invalid(f"channel: {kind!r} is not configured here; configured: "
                          f"{', '.join(sorted(self.channels)) or 'none'}")
        if device and hasattr(found, "at"):
            found = found.at(device)
        return Metered(found, kind)

    @cached_property
    def sign_in(self) -> SignInThrottle:
        """The patients' failed sign-ins, per code and per address (yibao.throttle): one count for every app
        over this hospital in this process, and for every process when the storage is shared (Redis)."""
        return SignInThrottle(f"hospital {self.config.fixmedins_code} patient sign-in", self.config.throttle_storage)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        for ch in (self._channels or {}).values():
            dispose = getattr(ch, "dispose", None)
            if dispose:
                dispose()
        self.db.dispose()
