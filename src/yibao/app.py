"""The platform's web application: the gateway (the national interface), the JSON API (/api/v1) and the
mobile-payment centre, each a face over the same use cases (platform/), on one Store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from yibao import __version__, apidocs, problem
from yibao.api import (
    analysis,
    coordination,
    crossregion,
    duties,
    ecredential,
    filing,
    insurance,
    ledger,
    monthly,
    mutual_aid,
    registry,
)
from yibao.api.params import storable_text
from yibao.bank.outbox import worker_from_env
from yibao.console.app import mount as mount_console
from yibao.gateway import routes as gateway_routes
from yibao.gateway.registry import INTERFACES
from yibao.gateway.service import Gateway
from yibao.mobilepay import routes as mobilepay_routes
from yibao.store.db import Store

API_ROUTERS = (mutual_aid, insurance, filing, crossregion, registry, coordination, monthly, ecredential, analysis,
               ledger, duties)


def create_app(store: Store | None = None) -> FastAPI:
    store = store or Store()
    gateway = Gateway(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """With YIBAO_BANK_URL set, a background thread delivers the bank outbox (docs/bank.md)."""
        worker = app.state.bank_worker = worker_from_env(store)
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

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

    app.state.store = store
    app.state.bank_worker = None
    app.state.gateway = gateway
    return app
