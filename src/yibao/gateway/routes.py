"""The HTTP face of the gateway: two routes (the infno in the body, or appended to the URL as production HIS
clients send it), both answered by the same pipeline (gateway/service.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

import yibao.gateway.handlers  # noqa: F401  (registers the interfaces)
from yibao import wire
from yibao.gateway.service import Gateway
from yibao.web import read_limited

BASE = "/fsi/api/rsfComIfsService/callService"


def router(gateway: Gateway) -> APIRouter:
    routes = APIRouter(tags=["two-designated-institution interface (两定接口)"])

    async def serve(request: Request, infno: str | None) -> Response:
        body = await read_limited(request, gateway.max_body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        status, envelope = await run_in_threadpool(gateway.handle, headers, body, infno)
        return Response(wire.encode(envelope), status_code=status, media_type="application/json; charset=utf-8")

    @routes.post(BASE, summary="Call an interface (infno in the body)")
    async def call_service(request: Request) -> Response:
        return await serve(request, None)

    @routes.post(BASE + "/{infno}", summary="Call an interface (infno in the URL)")
    async def call_service_infno(infno: str, request: Request) -> Response:
        return await serve(request, infno)

    return routes
