"""The web console (网上服务大厅) on the platform's app: its routers under /console, its assets (shipped in the
package, nothing from a CDN) and its refusals as pages in Chinese, where the JSON API answers problem details."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from yibao.console import agency, agency_whatif, centre, institution, person, signin, staff, staff_admin
from yibao.console.sender import CodeSender, sender_from_env
from yibao.console.web import PREFIX, Console, PageError, SignInNeeded, redirect, render
from yibao.errors import Refusal
from yibao.store.db import Store

log = logging.getLogger("yibao.console")
ROUTERS = (signin.router, person.router, staff.router, institution.router, staff_admin.router, agency.router,
           agency_whatif.router, centre.router)
TITLES = {400: "请求有误", 401: "未登录", 403: "无权访问", 404: "页面不存在", 405: "不支持的操作", 409: "操作冲突",
          422: "无法办理", 429: "操作过于频繁", 500: "系统错误", 503: "暂不可用"}
Handler = Callable[[Request, Any], Awaitable[Response]]


def error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = render(request, "error.html", status, title=TITLES.get(status, "出错了"), message=message)
    response.headers.update(headers or {})
    return response


def mount(app: FastAPI, store: Store, sender: CodeSender | None = None) -> None:
    """Serve the console on `app` (after problem.install, whose handlers it keeps for every other path)."""
    app.state.console = Console(store, sender if sender is not None else sender_from_env())
    app.mount(f"{PREFIX}/static", StaticFiles(directory=Path(__file__).parent / "static"), name="console-static")
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return error_page(request, exc.status, exc.message, exc.headers)

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        return redirect(f"{PREFIX}/signin")

    def on_console(kind: type[Exception], page: Callable[[Request, Any], Response]) -> None:
        """`page` answers the console's paths; the handler installed before answers the others."""
        other: Handler | None = app.exception_handlers.get(kind)  # type: ignore[assignment]

        async def handler(request: Request, exc: Any) -> Response:
            if request.url.path.startswith(PREFIX) or other is None:
                return page(request, exc)
            return await other(request, exc)

        app.add_exception_handler(kind, handler)

    said = {404: "您要找的页面不存在，或不属于您。", 405: "不支持此操作。"}
    on_console(StarletteHTTPException, lambda r, e: error_page(r, e.status_code,
                                                               said.get(e.status_code, str(e.detail))))
    on_console(RequestValidationError, lambda r, e: error_page(r, 422, "提交的内容不符合要求：" + "；".join(
        f"{'.'.join(str(p) for p in err['loc'][1:])} {err['msg']}" for err in e.errors())))
    on_console(Refusal, lambda r, e: error_page(r, e.http_status if e.http_status >= 400 else 422, e.err_msg))

    def fault(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_page(request, 500, "系统内部错误，未做任何更改。请稍后重试。")

    on_console(Exception, fault)
