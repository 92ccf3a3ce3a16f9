"""/docs of both services renders offline: the Swagger UI script and style come from the service itself, and no
request leaves 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from browser_world import Opened, Served


@pytest.mark.parametrize("service", ["platform_server", "hospital_server"])
def test_docs_render_offline(service: str, request: pytest.FixtureRequest,
                             open_page: Callable[..., Opened]) -> None:
    served: Served = request.getfixturevalue(service)
    opened = open_page(1280, 900)
    page = opened.page
    page.goto(served.url + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", state="visible")
    title = page.locator(".swagger-ui .info .title").inner_text()
    assert ("yibao platform" if service == "platform_server" else "yibao hospital") in title
    assert page.locator(".swagger-ui .opblock").count() > 5  # the operations are listed
    assert opened.blocked == []
    assert page.request.get(served.url + "/redoc").status == 404  # ReDoc would need a CDN: not served
