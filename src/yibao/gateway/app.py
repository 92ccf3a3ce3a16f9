"""The HTTP face of the gateway (FastAPI): two routes, both answered by the same pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

import yibao.gateway.handlers  # noqa: F401  (registers the interfaces)
from yibao import __version__, problem, wire
from yibao.api import coordination as coordination_api
from yibao.api import crossregion as crossregion_api
from yibao.api import ecredential as ecredential_api
from yibao.api import filing as filing_api
from yibao.api import insurance as insurance_api
from yibao.api import monthly as monthly_api
from yibao.api import mutual_aid as mutual_aid_api
from yibao.api import registry as registry_api
from yibao.api.params import storable_text
from yibao.gateway.registry import INTERFACES
from yibao.gateway.service import Gateway
from yibao.mobilepay import routes as mobilepay_routes
from yibao.store.db import Store

BASE = "/fsi/api/rsfComIfsService/callService"


def create_app(store: Store | None = None) -> FastAPI:
    store = store or Store()
    gateway = Gateway(store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        """With YIBAO_BANK_URL set, a background thread delivers the bank outbox (docs/bank.md)."""
        from yibao.bank.outbox import worker_from_env

        worker = _app.state.bank_worker = worker_from_env(store)
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(title="yibao platform", version=__version__, lifespan=lifespan,
                  description="The national two-designated-institution interface (两定接口). See docs/gateway.md.")

    async def _serve(request: Request, infno: str | None) -> Response:
        body = await _read_limited(request, gateway.max_body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        status, envelope = await _in_thread(gateway.handle, headers, body, infno)
        return Response(wire.encode(envelope), status_code=status, media_type="application/json; charset=utf-8")

    @app.post(BASE, summary="Call an interface (infno in the body)")
    async def call_service(request: Request) -> Response:
        return await _serve(request, None)

    @app.post(BASE + "/{infno}", summary="Call an interface (infno in the URL)")
    async def call_service_infno(infno: str, request: Request) -> Response:
        return await _serve(request, infno)

    @app.get("/health", summary="Liveness and the interfaces served")
    async def health() -> dict:
        return {"status": "ok", "version": __version__, "interfaces": sorted(INTERFACES)}

    # text PostgreSQL cannot store (NUL) is refused as invalid input of any API route, not failed on (500)
    for api in (mutual_aid_api, insurance_api, filing_api, crossregion_api, registry_api, coordination_api,
                monthly_api, ecredential_api):
        app.include_router(api.router, dependencies=[Depends(storable_text)], responses=problem.RESPONSES)
    app.include_router(mobilepay_routes.router)

    # the gateway and mobile-payment routes answer every refusal in their own envelopes before this is reached
    problem.install(app)

    app.state.store = store
    app.state.bank_worker = None
    app.state.gateway = gateway
    return app


async def _read_limited(request: Request, limit: int) -> bytes:
    """Stop reading at one byte past the limit: an oversize body is refused without being held in memory."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


async def _in_thread(fn, *args):  # type: ignore[no-untyped-def]
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)
