"""The platform's web application: the gateway (the national interface), the JSON API (/api/v1) and the
mobile-payment centre, each a face over the same use cases (platform/), on one Store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import Depends, FastAPI

from yibao import __version__, apidocs, problem
from yibao.api import (
    analysis,
    coordination,
    crossregion,
    duties,
    ecredential,
    federation,
    filing,
    insurance,
    ledger,
    monthly,
    mutual_aid,
    registry,
    whatif,
)
from yibao.api.params import storable_text
from yibao.bank.outbox import backlog, worker_from_env
from yibao.console.app import mount as mount_console
from yibao.gateway import routes as gateway_routes
from yibao.gateway.registry import INTERFACES
from yibao.gateway.service import Gateway
from yibao.mobilepay import routes as mobilepay_routes
from yibao.observe import http as observe_http
from yibao.observe.http import Check
from yibao.observe.metrics import Readings, pool_readings
from yibao.platform import remote
from yibao.store.db import Store, database_problem, schema_problem

API_ROUTERS = (mutual_aid, insurance, filing, crossregion, registry, coordination, monthly, ecredential, analysis,
               ledger, duties, whatif, federation)


def create_app(store: Store | None = None) -> FastAPI:
    store = store or Store()
    gateway = Gateway(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """With YIBAO_BANK_URL set, a background thread delivers the bank outbox (docs/bank.md)."""
        worker = app.state.bank_worker = worker_from_env(store)
        # with YIBAO_PROVINCES set, this process is a worker of a federation's node (docs/federation.md)
        node = app.state.federation = remote.node_from_env(store)
        if node is not None:
            node.start()
            node.start_sweeping()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            if node is not None:
                node.close()

    app = FastAPI(title="yibao platform", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="The national two-designated-institution interface (两定接口), the JSON API for "
                              "insured persons, institutions, agencies and the provincial centre, and the "
                              "mobile-payment centre. See docs/gateway.md and docs/api.md.")
    apidocs.install(app)  # /docs with its assets served here: it works offline
    app.include_router(gateway_routes.router(gateway))

    @app.get("/health", summary="Liveness and the interfaces served")
    async def health() -> dict:
        return {"status": "ok", "version": __version__, "interfaces": sorted(INTERFACES)}

    # text PostgreSQL cannot store (NUL) is refused as invalid input of any API route, not failed on (500)
    for api in API_ROUTERS:
        app.include_router(api.router, dependencies=[Depends(storable_text)], responses=problem.RESPONSES)
    app.include_router(mobilepay_routes.router)

    # the gateway and mobile-payment routes answer every refusal in their own envelopes before this is reached
    problem.install(app)
    mount_console(app, store)  # the web console's pages answer refusals as pages, on its own paths only
    migrations = observe_http.once_passed(lambda: schema_problem(store.engine))
    observe_http.install(app, "platform", lambda: _checks(app, store, migrations), lambda: scrape_readings(store),
                         health=False)

    app.state.store = store
    app.state.bank_worker = None
    app.state.federation = None
    app.state.gateway = gateway
    return app


def _checks(app: FastAPI, store: Store, migrations: Check) -> dict[str, Check]:
    """What /ready checks: the database answers, its schema is the newest, the outbox worker (if any) runs."""
    checks: dict[str, Check] = {"database": lambda: database_problem(store.engine), "migrations": migrations}
    worker = app.state.bank_worker
    if worker is not None:
        checks["bank_outbox_worker"] = lambda: None if worker.thread.is_alive() else "the delivery thread has ended"
    return checks


def scrape_readings(store: Store) -> Readings:
    """What /metrics reads at scrape time: the bank outbox's backlog and this process's connection pool."""
    def pending() -> float:  # float-ok: a gauge sample (instructions waiting)
        return float(backlog(store)[0])  # float-ok

    def oldest_age() -> float:  # float-ok: seconds
        oldest = backlog(store)[1]
        return max(0.0, (datetime.now() - oldest).total_seconds()) if oldest is not None else 0.0

    return Readings([("yibao_bank_outbox_pending", "Bank instructions not yet delivered", pending),
                     ("yibao_bank_outbox_oldest_pending_age_seconds",
                      "Age of the oldest bank instruction not yet delivered (0: none)", oldest_age),
                     *pool_readings(store.engine)])
