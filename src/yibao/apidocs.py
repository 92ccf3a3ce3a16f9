"""/docs that works offline: the Swagger UI page of a service with its script and style served by the service
itself (the `swagger-ui-py` package ships Swagger UI 5, which reads OpenAPI 3.1), never fetched from a CDN.
ReDoc is not served: it would need a script from the internet. Used by the platform and by the hospital; each
creates its FastAPI app with docs_url=None and redoc_url=None and calls `install`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, PlainTextResponse, Response

ASSETS = "/docs-assets"
#: the only files served of the package's folder (it holds an editor too)
SERVED = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def assets_folder() -> Path:
    import swagger_ui  # imported when the first page is asked for: the `yibao` command stays quick to start

    return Path(swagger_ui.__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Plain routes, as FastAPI's own /docs are: public, outside the OpenAPI document."""

    async def docs(request: Request) -> Response:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - API",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
                                   oauth2_redirect_url="/docs/oauth2-redirect")

    async def oauth2_redirect(request: Request) -> Response:
        return get_swagger_ui_oauth2_redirect_html()

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in SERVED:
            return PlainTextResponse(f"no asset {name}", status_code=404)
        return FileResponse(assets_folder() / name, headers={"Cache-Control": "public, max-age=86400"})

    app.add_route("/docs", docs, include_in_schema=False)
    app.add_route("/docs/oauth2-redirect", oauth2_redirect, include_in_schema=False)
    app.add_route(ASSETS + "/{name}", asset, include_in_schema=False)
