"""One refusal shape for every JSON API (the platform's /api/v1 and the hospital's): RFC 9457 problem details.

    HTTP/1.1 404
    Content-Type: application/problem+json

    {"type": "urn:yibao:problem:not-found", "title": "Not Found", "status": 404,
     "detail": "no filing 7 of yours", "instance": "/api/v1/me/filings/7",
     "errors": [{"field": "filing_id", "rule": "..."}]}      # only for invalid input, one per field

`type` names the class of refusal (the list below), `detail` says what is wrong in words that name the field and
the rule, `errors` lists each invalid field when there are several. A throttled request (429) carries
`Retry-After`. The gateway does not use this shape: it answers in the national envelope (infcode -1, err_msg).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from yibao.errors import Refusal
from yibao.validation import problems_of

log = logging.getLogger("yibao.problem")

MEDIA_TYPE = "application/problem+json"

#: the `type` of each refusal class, by HTTP status
TYPES = {
    400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
    409: "conflict", 413: "too-large", 415: "unsupported-media-type", 422: "invalid", 429: "throttled",
    500: "internal", 502: "upstream", 503: "unavailable", 504: "upstream-timeout",
}


#: a refusal in OpenAPI terms, so that /docs shows the shape answered (include_router(..., responses=RESPONSES))
SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {"type": {"type": "string", "example": "urn:yibao:problem:invalid"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"}, "instance": {"type": "string"},
                   "errors": {"type": "array", "items": {"type": "object", "required": ["field", "rule"],
                                                         "properties": {"field": {"type": "string"},
                                                                        "rule": {"type": "string"}}}}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"description": "Refused (docs/api.md): `errors` names each invalid field",
            "content": {MEDIA_TYPE: {"schema": SCHEMA}}}}


def type_of(status: int, kind: str | None = None) -> str:
    return "urn:yibao:problem:" + (kind or TYPES.get(status, "error"))


def problem(status: int, detail: str, *, kind: str | None = None, instance: str | None = None,
            errors: Sequence[tuple[str, str]] = (), headers: Mapping[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    """The response of one refusal. `kind` overrides the class derived from the status (e.g. `refused`: a
    business rule said no, as opposed to `invalid`: the input is malformed)."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {"type": type_of(status, kind), "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [{"field": f, "rule": r} for f, r in errors]
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=MEDIA_TYPE)


_SOURCES = ("path", "query", "body", "header", "cookie")


def _located(error: Mapping[str, Any]) -> dict[str, Any]:
    """FastAPI's location starts with where the value came from (path, query, body); the client knows the field
    by its own name. A body that is missing, not an object or not JSON at all is the field `body`."""
    source, *rest = error["loc"] or ("body",)
    if error["type"] == "json_invalid":  # its location is a character offset, not a field
        reason = (error.get("ctx") or {}).get("error", "")
        return {**error, "type": "value_error", "loc": ["body"],
                "ctx": {"error": f"is not valid JSON: {reason} (at character {rest[0] if rest else 0})"}}
    if source not in _SOURCES:
        return dict(error)
    return {**error, "loc": rest or [source]}


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    class _Wrapped:  # problems_of reads a pydantic ValidationError's .errors(); FastAPI's has the same method
        def __init__(self, errors: Sequence[Any]):
            self._errors = errors

        def errors(self, include_url: bool = False) -> Sequence[Any]:
            return self._errors

    found = problems_of(_Wrapped([_located(e) for e in exc.errors()]))  # type: ignore[arg-type]
    detail = "; ".join(f"{f}: {r}" if f else r for f, r in found) or "the request is not valid"
    return problem(422, detail, instance=request.url.path, errors=found)


def install(app: FastAPI) -> None:
    """Every refusal of `app` in the problem shape: HTTP errors, invalid input, broken rules and our own faults."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem(exc.status_code, detail, instance=request.url.path, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(request, exc)

    @app.exception_handler(Refusal)
    async def refused(request: Request, exc: Refusal) -> JSONResponse:
        """A broken rule: 422 with the rule's text (which names the field and the figures)."""
        status = exc.http_status if exc.http_status >= 400 else 422
        return problem(status, exc.err_msg, kind="refused" if status == 422 else None, instance=request.url.path)

    @app.exception_handler(Exception)
    async def fault(request: Request, exc: Exception) -> JSONResponse:
        """A fault of ours: logged in full, answered without a traceback (the transaction was rolled back)."""
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal error; nothing was changed. Retry later or report the time of the request",
                       instance=request.url.path)
