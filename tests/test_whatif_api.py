"""POST /api/v1/agency/whatif (docs/whatif.md): an agency replays its own region's month; refusals in the problem
shape of docs/api.md. On SQLite and PostgreSQL over the month of whatif_world.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import snapshot
from httpx import Response
from whatif_world import GZ, MONTH, SZ, Month, settled_month

from yibao.api.tokens import issue, signing_key
from yibao.app import create_app
from yibao.problem import MEDIA_TYPE
from yibao.store.db import Store

PATH = "/api/v1/agency/whatif"


@pytest.fixture
def month(store: Store, monkeypatch: pytest.MonkeyPatch) -> Month:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)
    return settled_month(store)


def post(month: Month, body: Any, who: tuple[str, str] | None = ("agency", SZ)) -> Response:
    http = TestClient(create_app(month.hub.store), raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {issue(signing_key(month.hub.store), *who)}"} if who else {}
    return http.post(PATH, json=body, headers=headers)


def problem(reply: Response, status: int, kind: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith(MEDIA_TYPE)
    body = reply.json()
    assert body["type"] == f"urn:yibao:problem:{kind}"
    return body


def test_an_agency_replays_its_month_read_only(month: Month) -> None:
    signing_key(month.hub.store)  # the first token makes the key: before the snapshot
    before = snapshot(month.hub.store)
    same = post(month, {"month": MONTH})
    assert same.status_code == 200, same.text
    assert same.json()["total"]["changed"] == 0
    assert same.json()["total"]["settlements"] == 5
    lowered = post(month, {"month": MONTH, "region": SZ, "top": 1,
                           "changes": {"policies": [{"insutype": "310", "med_type": "11", "deductible": "20.00"}]}})
    assert lowered.status_code == 200, lowered.text
    body = lowered.json()
    assert Decimal(str(body["total"]["fund_pay"]["change"])) == Decimal("48.00")
    assert len(body["largest_changes"]) == 1
    assert {g["region"] for g in body["by_region"]} == {SZ, GZ}
    assert Decimal(str(body["fund_effect"])) == Decimal("48.00")
    period = post(month, {"month": "2026-02", "months": 2})
    assert period.status_code == 200, period.text
    assert period.json()["months"] == ["2026-02", "2026-03"] and period.json()["total"]["settlements"] == 5
    item = post(month, {"month": MONTH, "changes": {"catalog": [{"code": "EX-DRUG-B", "selfpay_prop": "0.50"}]}})
    assert item.status_code == 200, item.text
    assert Decimal(str(item.json()["fund_effect"])) == Decimal("-24.00")
    assert snapshot(month.hub.store) == before


def test_refusals_are_problems(month: Month) -> None:
    assert problem(post(month, {"month": MONTH}, None), 401, "unauthenticated")
    assert problem(post(month, {"month": MONTH}, ("institution", "H44030000301")), 403, "forbidden")
    other = problem(post(month, {"month": MONTH, "region": GZ}), 403, "forbidden")
    assert "region" in other["detail"]
    bad = problem(post(month, {"month": MONTH, "changes": {"policies": [{"insutype": "310", "ratio": "2"}]}}),
                  422, "refused")
    assert bad["detail"].startswith("policies[0].ratio: must be a share from 0 to 1")
    assert problem(post(month, {"month": "2026-3x"}), 422, "refused")["detail"].startswith("month:")
    row = problem(post(month, {"month": MONTH, "changes": {"catalog": [{"code": "EX-DRUG-B", "chrgitm_lv": "7"}]}}),
                  422, "refused")
    assert row["detail"].startswith("catalog[0].chrgitm_lv: must be one of 01, 02, 03")
    invalid = problem(post(month, {"month": MONTH, "top": -1, "months": 13, "extra": 1}), 422, "invalid")
    assert sorted(e["field"] for e in invalid["errors"]) == ["extra", "months", "top"]
