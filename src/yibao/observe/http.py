"""The operator's side of an HTTP service: a middleware that gives every request an id, times it, counts it and
logs its access line; and the routes an operator's tools call: /health, /ready and /metrics.

/metrics answers without a token, for the operator's scraper: bind the service, or route that path, to the
private network only (docs/operations.md). /health says the process answers; /ready says it can work: every
check of the service passes, else 503 naming the checks that failed."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yibao import problem
from yibao.observe import metrics
from yibao.observe.logs import REQUEST

access = logging.getLogger("yibao.access")
#: a request id the client sent is kept if it looks like one (no header injection, no log flooding)
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
#: the operator's own routes: counted, not written to the access log every scrape
QUIET = frozenset({"/health", "/ready", "/metrics"})

#: a readiness check: None when it passes, else what is wrong
Check = Callable[[], str | None]


class Observed:
    """ASGI middleware: request id (x-request-id in, or made; echoed in the answer), the HTTP metrics by route
    template, and one access line per request carrying what the handler noted (the infno of a gateway call)."""

    def __init__(self, app: ASGIApp, service: str):
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1").strip()
        request_id = sent if _GOOD_ID.match(sent) else uuid.uuid4().hex
        context: dict[str, Any] = {"request_id": request_id}
        token = REQUEST.set(context)
        status = 500
        start = time.perf_counter()

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            took = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(self.service, route, method, str(status)).inc()
            metrics.HTTP_SECONDS.labels(self.service, route, method).observe(took)
            if scope["path"] not in QUIET:
                infno = context.get("infno")
                access.info("%s %s %s%s", method, scope["path"], status, f" infno {infno}" if infno else "",
                            extra={"method": method, "path": scope["path"], "route": route, "status": status,
                                   "duration_ms": round(took * 1000, 1)})
            REQUEST.reset(token)


def once_passed(check: Check) -> Check:
    """`check`, no longer run once it has passed: what cannot come undone under a running process (its schema
    migrated) is not read again at every probe."""
    passed = False

    def run() -> str | None:
        nonlocal passed
        if passed:
            return None
        problem = check()
        passed = problem is None
        return problem
    return run


def ready(checks: Mapping[str, Check]) -> tuple[int, dict[str, Any]]:
    """Run every check: (200, {"status": "ready", "checks"}) or (503, {"failed": [names], "checks"}), the 503
    answered as a problem (problem.py) with those two members."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            problem = check()
        except Exception as exc:  # noqa: BLE001 - a check that fails to run is a failed check
            problem = f"{type(exc).__name__}: {exc}"[:300]
        results[name] = "ok" if problem is None else problem
    failed = [name for name, result in results.items() if result != "ok"]
    if failed:
        return 503, {"failed": failed, "checks": results}
    return 200, {"status": "ready", "checks": results}


def install(app: FastAPI, service: str, checks: Callable[[], Mapping[str, Check]],
            readings: Callable[[], metrics.Readings | None], health: bool = True) -> None:
    """The middleware and the operator's routes on `app` (`health`: add /health too, where the app has none)."""
    app.add_middleware(Observed, service=service)  # type: ignore[arg-type]

    if health:
        @app.get("/health", summary="Liveness: the process answers", tags=["operations"])
        async def alive() -> dict[str, str]:
            return {"status": "ok"}

    # /ready and /metrics are the operator's tools', outside the API's OpenAPI document (docs/operations.md)
    @app.get("/ready", include_in_schema=False)
    async def readiness() -> JSONResponse:
        """Readiness: every check passes (200), else 503 naming the checks that failed."""
        status, body = await run_in_threadpool(ready, checks())
        if status == 200:
            return JSONResponse(body)
        return problem.problem(503, f"not ready: {', '.join(body['failed'])}", **body)

    @app.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:
        """Prometheus text; no token (the scraper's): bind the service to the private network."""
        text, content_type = await run_in_threadpool(metrics.exposition, readings())
        return Response(text, media_type=content_type)
