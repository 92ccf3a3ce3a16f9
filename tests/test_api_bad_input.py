"""Bad input to the platform's JSON API (/api/v1, docs/api.md), on SQLite and PostgreSQL: every refusal is a
problem (RFC 9457, application/problem+json) naming the field, nothing is written, and no bad input reaches
the database to fail there (HTTP 500). The gateway and the mobile-payment centre keep their own envelopes.

The world is tests/data/world.yaml: Shenzhen (440300) with 张三 (…0001, an authorizer of grant 1 for 李四
…0002), Guangzhou (440100) with 王五, Taiyuan (140100) with 赵六 (filing 1, to Shenzhen)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import snapshot
from httpx import Response

from yibao.api.tokens import issue, signing_key
from yibao.app import create_app
from yibao.problem import MEDIA_TYPE
from yibao.store.db import Store

SZ, GZ = "440300", "440100"
SZ_PSN, SZ_KID, GZ_PSN = "44030000000000000001", "44030000000000000002", "44010000000000000001"
SZ_HOSP, GZ_HOSP = "H44030000001", "H44010000001"
PROBLEM_KEYS = {"type", "title", "status", "detail"}


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)


class Api:
    """The platform over HTTP with a token of each kind; a fault of ours comes back as a response (500), not
    as an exception, so that a test sees what a client would see."""

    def __init__(self, store: Store):
        self.store = store
        self.http = TestClient(create_app(store), raise_server_exceptions=False)
        key = signing_key(store)
        self.tokens = {"person": issue(key, "person", SZ_PSN), "agency": issue(key, "agency", SZ),
                       "institution": issue(key, "institution", SZ_HOSP), "centre": issue(key, "centre", "440000")}

    def call(self, method: str, path: str, who: str | None = None, **kw: Any) -> Response:
        headers = dict(kw.pop("headers", None) or {})
        if who:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return self.http.request(method, path, headers=headers, **kw)


@pytest.fixture
def api(world: Store) -> Iterator[Api]:
    yield Api(world)


def problem(reply: Response, status: int) -> dict[str, Any]:
    """The problem body of a refusal, checked for its shape."""
    assert reply.status_code == status, (reply.status_code, reply.text)
    assert reply.headers["content-type"].startswith(MEDIA_TYPE), reply.headers["content-type"]
    body = reply.json()
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == status and body["type"].startswith("urn:yibao:problem:"), body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert "error" not in body, body
    return body


def fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body.get("errors", [])]


# -- one shape for every refusal ------------------------------------------------------------------------------

def test_authentication_and_authorization_refusals_are_problems(api: Api) -> None:
    missing = problem(api.call("GET", "/api/v1/me/filings"), 401)
    assert missing["type"] == "urn:yibao:problem:unauthenticated" and "bearer token is required" in missing["detail"]
    assert api.call("GET", "/api/v1/me/filings").headers["www-authenticate"] == "Bearer"
    forged = problem(api.call("GET", "/api/v1/me/filings", headers={"Authorization": "Bearer yb1.a.b"}), 401)
    assert forged["detail"] == "token signature does not match"
    wrong = problem(api.call("GET", "/api/v1/me/filings", "agency"), 403)
    assert wrong["type"] == "urn:yibao:problem:forbidden"
    assert wrong["detail"] == "this operation is an insured person's own"


def test_not_found_and_method_not_allowed_are_problems(api: Api) -> None:
    unknown = problem(api.call("DELETE", "/api/v1/me/filings/999", "person"), 404)
    assert unknown["type"] == "urn:yibao:problem:not-found" and unknown["detail"] == "no filing 999 of yours"
    assert unknown["instance"] == "/api/v1/me/filings/999"
    assert problem(api.call("GET", "/api/v1/no-such-thing", "person"), 404)["detail"] == "Not Found"
    assert problem(api.call("PUT", "/api/v1/me/filings", "person"), 405)["type"] == (
        "urn:yibao:problem:method-not-allowed")


def test_invalid_input_names_each_field(api: Api) -> None:
    before = snapshot(api.store)
    body = problem(api.call("POST", "/api/v1/agency/suspensions", "agency", json={"reason": "", "extra": 1}), 422)
    assert body["type"] == "urn:yibao:problem:invalid"
    assert body["errors"] == [{"field": "psn_no", "rule": "is required"},
                              {"field": "reason", "rule": "must have at least 1 characters"},
                              {"field": "extra", "rule": "is not a known key"}]
    assert body["detail"] == "psn_no: is required; reason: must have at least 1 characters; extra: is not a known key"
    nested = problem(api.call("POST", "/api/v1/me/mutual-aid", "person", json={
        "beneficiary_psn_no": SZ_KID, "relation": "child", "start": "2026-03-16", "commitment": {"version": "v1"}}),
        422)
    assert fields(nested) == ["commitment.accepted_at"]
    query = problem(api.call("GET", "/api/v1/agency/coordination?status=lost", "agency"), 422)
    assert fields(query) == ["status"]
    # a body that is not JSON, or no body at all
    broken = problem(api.call("POST", "/api/v1/agency/suspensions", "agency", content=b'{"psn_no": ',
                              headers={"Content-Type": "application/json"}), 422)
    assert fields(broken) == ["body"] and "is not valid JSON" in broken["detail"]
    assert fields(problem(api.call("POST", "/api/v1/agency/suspensions", "agency"), 422)) == ["body"]
    # a JSON value Python reads as a non-finite float is refused, not echoed back (JSON cannot carry it)
    nan = problem(api.call("POST", "/api/v1/agency/suspensions", "agency", content=b'{"psn_no": "x", "reason": NaN}',
                           headers={"Content-Type": "application/json"}), 422)
    assert fields(nan) == ["reason"]
    assert snapshot(api.store) == before


def test_the_openapi_document_shows_the_problem_shape(api: Api) -> None:
    paths, _ = _schemas(api)
    shown = {(m, p): set(op["responses"]) for p, ops in paths.items() if p.startswith("/api/") for m, op in ops.items()}
    assert shown and all("4XX" in codes and "422" not in codes for codes in shown.values()), shown
    refusal = paths["/api/v1/me/filings"]["post"]["responses"]["4XX"]["content"]
    assert list(refusal) == [MEDIA_TYPE]
    assert refusal[MEDIA_TYPE]["schema"]["required"] == ["type", "title", "status", "detail"]

def test_a_broken_rule_is_a_problem(api: Api) -> None:
    before = snapshot(api.store)
    own = problem(api.call("POST", "/api/v1/agency/suspensions", "agency", json={"psn_no": SZ_PSN, "reason": "x"}),
                  422)
    assert own["type"] == "urn:yibao:problem:refused"
    assert own["detail"].startswith("psn_no: the person is insured in 440300")
    assert snapshot(api.store) == before


def test_a_fault_of_ours_is_a_problem_without_a_traceback(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from yibao.platform import filing

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(filing, "mine", broken)
    body = problem(api.call("GET", "/api/v1/me/filings", "person"), 500)
    assert body["type"] == "urn:yibao:problem:internal" and "secret" not in body["detail"]


def test_the_gateway_and_mobile_payment_keep_their_envelopes(api: Api) -> None:
    gateway = api.call("POST", "/fsi/api/rsfComIfsService/callService", content=b"garbage",
                       headers={"Content-Type": "application/json"})
    assert gateway.headers["content-type"].startswith("application/json;")
    assert gateway.json()["infcode"] == -1 and gateway.json()["err_msg"].startswith("header x-tif-paasid")
    mobile = api.call("POST", "/org/local/api/hos/uldFeeInfo", content=b"garbage",
                      headers={"Content-Type": "application/json"})
    assert mobile.status_code == 401 and set(mobile.json()) == {"code", "message"}


# -- integer ids: PostgreSQL's integer ends at 2**31 - 1 -------------------------------------------------------

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
ID_ROUTES = [  # (method, path with {id}, who, body, the parameter's name)
    ("DELETE", "/api/v1/me/filings/{id}", "person", None, "filing_id"),
    ("POST", "/api/v1/me/filings/{id}/change", "person", {}, "filing_id"),
    ("DELETE", "/api/v1/agency/filings/{id}", "agency", None, "filing_id"),
    ("PATCH", "/api/v1/me/mutual-aid/{id}", "person", {"priority": 1}, "grant_id"),
    ("DELETE", "/api/v1/me/mutual-aid/{id}", "person", None, "grant_id"),
    ("GET", "/api/v1/me/mutual-aid/{id}/usage", "person", None, "grant_id"),
    ("POST", "/api/v1/agency/mutual-aid/{id}/end", "agency", {"reason": "x"}, "grant_id"),
    ("GET", "/api/v1/agency/coordination/{id}", "agency", None, "coord_id"),
    ("POST", "/api/v1/agency/coordination/{id}/dispatch", "agency", None, "coord_id"),
    ("POST", "/api/v1/agency/coordination/{id}/pay", "agency", {"method": "cash"}, "coord_id"),
    ("POST", "/api/v1/agency/suspensions/{id}/lift", "agency", {"reason": "x"}, "suspension_id"),
    ("POST", "/api/v1/agency/rejections/{id}/agree", "agency", None, "rejection_id"),
    ("DELETE", "/api/v1/agency/rejections/{id}", "agency", None, "rejection_id"),
]


def test_an_id_out_of_range_is_invalid_input_naming_the_parameter(api: Api) -> None:
    before = snapshot(api.store)
    wrong = []
    for method, path, who, body, name in ID_ROUTES:
        for value in (0, -1, INT4_MAX + 1, 1_000_000_000_000, 10**30):
            reply = api.call(method, path.format(id=value), who, json=body)
            if reply.status_code != 422 or fields(problem(reply, 422)) != [name]:
                wrong.append((method, path, value, reply.status_code, reply.text[:200]))
        # the largest id is valid, and merely unknown (the review's rejections answer unknown ids with a refusal)
        reply = api.call(method, path.format(id=INT4_MAX), who, json=body)
        if reply.status_code not in (404, 422) or problem(reply, reply.status_code)["type"] not in (
                "urn:yibao:problem:not-found", "urn:yibao:problem:refused"):
            wrong.append((method, path, INT4_MAX, reply.status_code, reply.text[:200]))
    assert wrong == []
    assert snapshot(api.store) == before


def test_an_id_in_a_body_out_of_range_is_invalid_input(api: Api) -> None:
    before = snapshot(api.store)
    terms = {"psn_no": SZ_PSN, "type": "long_term_resident", "dest_admdvs": GZ, "start": "2026-03-16",
             "end": "2026-12-31"}
    for value in (0, INT4_MAX + 1, 1_000_000_000_000):
        reply = api.call("POST", "/api/v1/agency/filings", "agency", json={**terms, "replaces_id": value})
        assert fields(problem(reply, 422)) == ["replaces_id"], value
    for value in (INT4_MIN - 1, INT4_MAX + 1):
        reply = api.call("PATCH", "/api/v1/me/mutual-aid/1", "person",
                         json={"priority": value})
        assert fields(problem(reply, 422)) == ["priority"], value
        reply = api.call("POST", "/api/v1/me/mutual-aid", "person", json={
            "beneficiary_psn_no": GZ_PSN, "relation": "spouse", "start": "2026-03-16", "priority": value,
            "commitment": {"version": "v1", "accepted_at": "2026-03-16T09:00:00"}})
        assert fields(problem(reply, 422)) == ["priority"], value
    assert snapshot(api.store) == before


def _schemas(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = api.http.app.openapi()  # type: ignore[attr-defined]
    return doc["paths"], doc.get("components", {}).get("schemas", {})


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A schema and the branches of its anyOf (an optional field is `T | None`)."""
    return [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]


def _unbounded(schema: dict[str, Any]) -> bool:
    return any(b.get("type") == "integer" and not (b.get("minimum", INT4_MIN - 1) >= INT4_MIN
                                                  and b.get("maximum", INT4_MAX + 1) <= INT4_MAX)
               for b in _branches(schema))


def test_every_integer_the_api_takes_is_bounded_to_the_database_integer(api: Api) -> None:
    """Guards the routes and bodies to come: an integer without bounds is an HTTP 500 on PostgreSQL."""
    paths, schemas = _schemas(api)
    unbounded = []
    for path, operations in paths.items():
        if not path.startswith("/api/"):
            continue
        for method, op in operations.items():
            unbounded += [f"{method} {path} {p['name']}" for p in op.get("parameters", []) if _unbounded(p["schema"])]
    for name, model in schemas.items():
        unbounded += [f"{name}.{prop}" for prop, schema in model.get("properties", {}).items() if _unbounded(schema)]
    assert unbounded == []


# -- NUL (PostgreSQL: "a string literal cannot contain NUL") and unpaired surrogates, anywhere ----------------

GRANT = {"beneficiary_psn_no": GZ_PSN, "relation": "spouse", "start": "2026-03-16",
         "commitment": {"version": "v1", "accepted_at": "2026-03-16T09:00:00"}}
NUL_CASES = [  # (method, path, who, body, the field named)
    ("GET", "/api/v1/agency/filings?status=%00", "agency", None, "status"),
    ("GET", "/api/v1/agency/filings?psn_no=a%00", "agency", None, "psn_no"),
    ("GET", "/api/v1/agency/mutual-aid?status=%00", "agency", None, "status"),
    ("GET", "/api/v1/agency/suspensions?active=true&psn_no=%00", "agency", None, "psn_no"),
    ("GET", "/api/v1/agency/suspensions?x%00=1", "agency", None, "query"),
    ("GET", "/api/v1/agency/declarations?setl_ym=2026-03%00", "agency", None, "setl_ym"),
    ("GET", "/api/v1/agency/diseases/a%00b", "agency", None, "psn_no"),
    ("DELETE", f"/api/v1/agency/diseases/{SZ_PSN}/M%0001600", "agency", None, "code"),
    ("POST", "/api/v1/agency/institutions/H4403%0000001/agreement", "agency",
     {"change": "opened", "effective": "2026-03-16"}, "code"),
    ("POST", "/api/v1/me/insurance-purchases/a%00/refund", "person", None, "purchase_id"),
    ("POST", "/api/v1/agency/insurance-products/a%00/withdraw", "agency", None, "code"),
    ("POST", "/api/v1/agency/declarations/a%00/finish", "agency", None, "decl_id"),
    ("GET", "/api/v1/agency/declarations/a%00/reports/review-notes", "agency", None, "decl_id"),
    ("GET", "/api/v1/institution/reports/2026-02%00/declaration-1", "institution", None, "setl_ym"),
    ("GET", "/api/v1/centre/regions/44%000", "centre", None, "admdvs"),
    ("POST", "/api/v1/agency/persons/a%00/transfer", "agency", {"to_admdvs": GZ}, "psn_no"),
    ("POST", "/api/v1/agency/accounts/a%00/close", "agency", {"status": "closed"}, "psn_no"),
    ("POST", "/api/v1/agency/suspensions", "agency", {"psn_no": "a\x00", "reason": "x"}, "psn_no"),
    ("POST", "/api/v1/agency/suspensions", "agency", {"psn_no": GZ_PSN, "reason": "a\x00b"}, "reason"),
    ("POST", "/api/v1/agency/institutions/H44030000001/agreement", "agency",
     {"change": "suspended", "effective": "2026-03-16", "memo": "a\x00"}, "memo"),
    ("POST", "/api/v1/me/insurance-purchases", "person", {"product_code": "a\x00"}, "product_code"),
    ("POST", "/api/v1/ecredential/pay-auth", "person", {"fixmedins_code": "a\x00"}, "fixmedins_code"),
    ("POST", "/api/v1/me/mutual-aid", "person", {**GRANT, "commitment": {"version": "v1\x00", "accepted_at":
                                                                          "2026-03-16T09:00:00"}},
     "commitment.version"),
    ("POST", "/api/v1/me/mutual-aid", "person", {**GRANT, "beneficiary_psn_no": None, "beneficiary_certno": "a\x00",
                                                 "beneficiary_name": "x"}, "beneficiary_certno"),
    ("POST", "/api/v1/agency/mutual-aid/1/end", "agency", {"reason": "x\x00"}, "reason"),
    ("POST", "/api/v1/agency/coordination", "agency", {"psn_no": SZ_PSN, "fixmedins_code": GZ_HOSP,
                                                       "begndate": "2026-03-02", "enddate": "2026-03-03",
                                                       "memo": "a\x00"}, "memo"),
    ("POST", "/api/v1/agency/diseases", "agency", {"psn_no": SZ_KID, "code": "M01600", "since": "2026-01-01",
                                                   "memo": "\x00"}, "memo"),
    ("POST", "/api/v1/agency/insurance-products", "agency",
     {"code": "P1", "name": "n", "insurer": "i\x00", "premium": "10.00"}, "insurer"),
    ("POST", "/api/v1/me/filings", "person", {"type": "long_term_resident", "dest_admdvs": GZ, "start": "2026-03-16",
                                              "end": "2026-12-31", "memo": "\x00"}, "memo"),
]


def test_a_nul_anywhere_is_invalid_input_naming_the_field(api: Api) -> None:
    before = snapshot(api.store)
    wrong = []
    for method, path, who, body, name in NUL_CASES:
        reply = api.call(method, path, who, json=body)
        if reply.status_code != 422 or fields(problem(reply, 422)) != [name]:
            wrong.append((method, path, name, reply.status_code, reply.text[:200]))
    assert wrong == []
    assert snapshot(api.store) == before


def test_an_unpaired_surrogate_in_a_body_is_invalid_input(api: Api) -> None:
    """JSON may escape half a UTF-16 pair ("\\ud800"); no database can store it as text."""
    before = snapshot(api.store)
    for raw, name in ((b'{"psn_no": "44010000000000000001", "reason": "a\\ud800"}', "reason"),
                      (b'{"psn_no": "44010000000000000001", "reason": "x", "\\udfff": 1}', "body")):
        reply = api.call("POST", "/api/v1/agency/suspensions", "agency", content=raw,
                         headers={"Content-Type": "application/json"})
        body = problem(reply, 422)
        assert fields(body) == [name], body
    assert snapshot(api.store) == before


def test_every_api_route_refuses_unstorable_text(api: Api) -> None:
    """Every route of the OpenAPI document, routes to come included: a NUL in the query string is refused before
    anything else is looked at (no token needed to see it)."""
    paths, _ = _schemas(api)
    routes = [(method.upper(), path) for path, ops in paths.items() if path.startswith("/api/") for method in ops]
    wrong = []
    for method, path in routes:
        concrete = re.sub(r"\{[a-z_]*id\}", "1", path)
        concrete = re.sub(r"\{setl_ym\}", "2026-02", re.sub(r"\{[a-z_]+\}", "X", concrete))
        reply = api.call(method, concrete + "?note=%00")
        if reply.status_code != 422 or fields(problem(reply, 422)) != ["note"]:
            wrong.append((method, path, reply.status_code, reply.text[:200]))
    assert wrong == [] and len(routes) > 40


# -- amounts, dates, months, lengths, tokens --------------------------------------------------------------------

def test_an_amount_beyond_what_a_column_holds_is_invalid_input(api: Api) -> None:
    """Money is kept in integer fen (bigint): 1e20 yuan overflows it, 1e30 does not even round to the cent."""
    before = snapshot(api.store)
    wrong = []
    for amount in ("1e20", "1e30", "1e999999999", "-1e20", "10000000000.00"):
        for method, path, who, body, name in (
                ("POST", "/api/v1/me/mutual-aid", "person", {**GRANT, "quota": amount}, "quota"),
                ("PATCH", "/api/v1/me/mutual-aid/1", "person", {"quota": amount}, "quota"),
                ("POST", "/api/v1/agency/insurance-products", "agency",
                 {"code": "P1", "name": "n", "insurer": "i", "premium": amount}, "premium"),
                ("POST", "/api/v1/agency/declarations/D1/deductions", "agency", {"amount": amount, "reason": "r"},
                 "amount")):
            reply = api.call(method, path, who, json=body)
            if reply.status_code != 422 or fields(problem(reply, 422)) != [name]:
                wrong.append((method, path, amount, reply.status_code, reply.text[:200]))
    assert wrong == []
    assert snapshot(api.store) == before
    # the largest amount is a valid one
    made = api.call("POST", "/api/v1/agency/insurance-products", "agency",
                    json={"code": "P1", "name": "n", "insurer": "i", "premium": "9999999999.99"})
    assert made.status_code == 201 and made.json()["premium"] == "9999999999.99", made.text


DAY_CASES = [  # (method, path, who, body with {day}, the field named)
    ("POST", "/api/v1/me/filings", "person", {"type": "emergency", "dest_admdvs": GZ, "start": "{day}"}, "start"),
    ("POST", "/api/v1/agency/filings", "agency", {"psn_no": SZ_PSN, "type": "emergency", "dest_admdvs": GZ,
                                                  "start": "{day}"}, "start"),
    ("POST", "/api/v1/agency/filings", "agency", {"psn_no": SZ_PSN, "type": "referral", "dest_admdvs": GZ,
                                                  "start": "2026-03-16", "end": "{day}"}, "end"),
    ("POST", "/api/v1/me/mutual-aid", "person", {**GRANT, "start": "{day}"}, "start"),
    ("POST", "/api/v1/me/mutual-aid", "person",
     {**GRANT, "commitment": {"version": "v1", "accepted_at": "{day}T00:00:00+14:00"}}, "commitment.accepted_at"),
    ("PATCH", "/api/v1/me/mutual-aid/1", "person", {"end": "{day}"}, "end"),
    ("POST", "/api/v1/agency/coordination", "agency", {"psn_no": SZ_PSN, "fixmedins_code": GZ_HOSP,
                                                       "begndate": "{day}", "enddate": "2026-03-03"}, "begndate"),
    ("POST", "/api/v1/agency/diseases", "agency", {"psn_no": SZ_KID, "code": "M01600", "since": "2026-01-01",
                                                   "until": "{day}"}, "until"),
    ("POST", "/api/v1/agency/institutions/H44030000001/agreement", "agency",
     {"change": "suspended", "effective": "{day}"}, "effective"),
    ("GET", "/api/v1/registry/institutions?on={day}", None, None, "on"),
]


def test_a_day_outside_1900_to_2099_is_invalid_input(api: Api) -> None:
    """9999-12-31 + 9 days (an emergency filing's end) overflows Python's dates; 0001-01-01 at +14:00 is a time
    PostgreSQL stores in year 0 and cannot read back."""
    before = snapshot(api.store)
    wrong = []
    for method, path, who, body, name in DAY_CASES:
        for day in ("0001-01-01", "1899-12-31", "2100-01-01", "9999-12-31"):
            filled = path.format(day=day)
            data = None if body is None else json.loads(json.dumps(body).replace("{day}", day))
            reply = api.call(method, filled, who, json=data)
            if reply.status_code != 422 or fields(problem(reply, 422)) != [name]:
                wrong.append((method, path, day, reply.status_code, reply.text[:200]))
    assert wrong == []
    assert snapshot(api.store) == before
    # a listing still reads (nothing unreadable was stored)
    assert api.call("GET", "/api/v1/me/mutual-aid", "person").status_code == 200


def test_a_month_outside_1900_to_2099_is_refused(api: Api) -> None:
    """Month M is declared in M+1: 9999-12 would be declared in year 10000."""
    before = snapshot(api.store)
    for ym in ("9999-12", "0000-01", "1899-12", "2100-01"):
        body = problem(api.call("POST", "/api/v1/institution/declarations", "institution", json={"setl_ym": ym}), 422)
        assert body["detail"].startswith("setl_ym: "), body
        body = problem(api.call("GET", f"/api/v1/agency/reports/{ym}/review-summary", "agency"), 422)
        assert body["detail"].startswith("setl_ym: "), body
    assert fields(problem(api.call("POST", "/api/v1/institution/declarations", "institution",
                                   json={"setl_ym": "2026-03" * 100}), 422)) == ["setl_ym"]
    assert snapshot(api.store) == before


def test_a_string_longer_than_its_column_is_invalid_input(api: Api) -> None:
    before = snapshot(api.store)
    long = "4" * 101
    terms = {"type": "long_term_resident", "dest_admdvs": GZ, "start": "2026-03-16", "end": "2026-12-31"}
    wrong = []
    for method, path, who, body, name in (
            ("POST", "/api/v1/me/filings", "person", {**terms, "type": long}, "type"),
            ("POST", "/api/v1/me/filings", "person", {**terms, "dest_admdvs": long}, "dest_admdvs"),
            ("POST", "/api/v1/me/filings", "person", {**terms, "dest_admdvs": None, "dest_fixmedins": long},
             "dest_fixmedins"),
            ("POST", "/api/v1/me/filings/1/change", "person", {"dest_fixmedins": long}, "dest_fixmedins"),
            ("POST", "/api/v1/me/mutual-aid", "person", {**GRANT, "beneficiary_psn_no": long}, "beneficiary_psn_no"),
            ("POST", "/api/v1/me/mutual-aid", "person", {**GRANT, "relation": long}, "relation"),
            ("POST", "/api/v1/me/mutual-aid", "person", {**GRANT, "beneficiary_psn_no": None,
                                                         "beneficiary_certno": long, "beneficiary_name": "x"},
             "beneficiary_certno"),
            ("POST", "/api/v1/agency/suspensions", "agency", {"psn_no": GZ_PSN, "reason": "r" * 501}, "reason"),
            ("POST", "/api/v1/agency/mutual-aid/1/end", "agency", {"reason": "r" * 201}, "reason")):
        reply = api.call(method, path, who, json=body)
        if reply.status_code != 422 or fields(problem(reply, 422)) != [name]:
            wrong.append((method, path, name, reply.status_code, reply.text[:200]))
    assert wrong == []
    assert snapshot(api.store) == before


def test_every_string_a_body_takes_is_bounded(api: Api) -> None:
    """Guards the bodies to come: a string without a maximum length fails on PostgreSQL once longer than its
    column ("value too long for type character varying")."""
    _, schemas = _schemas(api)
    unbounded = [f"{name}.{prop}" for name, model in schemas.items() if name not in ("HTTPValidationError",
                                                                                    "ValidationError")
                 for prop, schema in model.get("properties", {}).items()
                 for b in _branches(schema) if b.get("type") == "string"
                 and not ({"maxLength", "enum", "const", "pattern", "format"} & set(b))]
    assert unbounded == []


def test_a_null_where_the_record_needs_a_value_is_invalid_input(api: Api) -> None:
    """An authorization always has a start: null is not "no start" (PATCH answered 500: date < None)."""
    before = snapshot(api.store)
    body = problem(api.call("PATCH", "/api/v1/me/mutual-aid/1", "person", json={"start": None}), 422)
    assert fields(body) == ["start"], body
    assert snapshot(api.store) == before

def test_a_token_that_is_not_ascii_is_refused_not_failed_on(api: Api) -> None:
    for token in (b"yb1.x.\xe9", b"yb1.\xe9.x", b"\xff"):
        reply = api.http.get("/api/v1/me/filings", headers={"Authorization": b"Bearer " + token})
        assert problem(reply, 401)["detail"] == "malformed token", token
