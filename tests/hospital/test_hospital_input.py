"""The hospital's API refuses bad input with a 4xx naming the field, never a 500, and answers every refusal in
one shape: RFC 9457 problem details (yibao.problem; docs/hospital.md "Refusals").

Runs on SQLite and PostgreSQL (the platform's and the hospital's databases of one kind): on PostgreSQL an id
beyond a 32-bit integer, a NUL byte or a string longer than its column used to fail in the database (500).
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hospital_world import EMPLOYEE, PERSONS, TODAY, Desk, World, bearer, patient_headers
from pydantic import BaseModel

from yibao.hospital.api import create_hospital_app

PROBLEM = "application/problem+json"
HUGE = 10_000_000_000_000  # beyond PostgreSQL's integer (2**31 - 1)


def staff_client(desk: Desk) -> TestClient:
    """The desk's API with a staff token, a fault of ours answered (500) rather than raised in the test."""
    return TestClient(create_hospital_app(desk.hospital), headers=bearer("staff", "desk01"),
                      raise_server_exceptions=False)


def is_problem(reply: Any, status: int, *words: str) -> dict[str, Any]:
    """The reply is a problem of `status` whose detail names every word (a field, a rule)."""
    assert reply.status_code == status, (reply.status_code, reply.text)
    assert reply.headers["content-type"] == PROBLEM, reply.headers
    body = reply.json()
    assert body["status"] == status and body["type"].startswith("urn:yibao:problem:") and body["title"], body
    for word in words:
        assert word in body["detail"], (word, body)
    return dict(body)


def params_of(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    """(where, ModelField) of every parameter of a route, its dependencies' included."""
    for where in ("path", "query", "header", "body"):
        for field in getattr(dependant, f"{where}_params"):
            yield where, field
    for sub in dependant.dependencies:
        yield from params_of(sub)


def routes(desk: Desk) -> list[APIRoute]:
    return [r for r in create_hospital_app(desk.hospital).routes if isinstance(r, APIRoute)]


def is_int(annotation: Any) -> bool:
    return annotation is int or (typing.get_origin(annotation) in (typing.Union, types.UnionType)
                                 and int in typing.get_args(annotation))


def is_str(annotation: Any) -> bool:
    return annotation is str or (typing.get_origin(annotation) in (typing.Union, types.UnionType)
                                 and str in typing.get_args(annotation))


def max_length(field_info: Any) -> int | None:
    for m in field_info.metadata:
        if getattr(m, "max_length", None) is not None:
            return int(m.max_length)
    return None


def path_of(route: APIRoute, **values: Any) -> str:
    """The route's path with `values` for its parameters (1 for the others)."""
    return re.sub(r"\{([^}]+)\}", lambda m: quote(str(values.get(m.group(1), 1)), safe=""), route.path)


# == 1. no 500 on bad input ==========================================================================================

def test_the_timetable_refuses_a_range_out_of_bounds(world: World) -> None:
    desk = world.hospital()
    anon = TestClient(create_hospital_app(desk.hospital), raise_server_exceptions=False)  # a public route
    is_problem(anon.get("/doctors", params={"days": -4940165, "start": "0068-05-11"}), 422, "days", "start")
    for params, field in [({"days": 0}, "days"), ({"days": 61}, "days"), ({"start": "1999-12-31"}, "start"),
                          ({"start": "2100-01-01"}, "start"), ({"days": "many"}, "days")]:
        is_problem(anon.get("/doctors", params=params), 422, field)
        is_problem(anon.get("/departments/D01/doctors", params=params), 422, field)
    is_problem(anon.get("/doctors", params={"dept_code": "D\x0001"}), 422, "dept_code", "NUL")
    wide = anon.get("/doctors", params={"days": 60, "start": TODAY})
    assert wide.status_code == 200 and len(wide.json()[0]["slots"]) == 4


def test_every_integer_id_is_bounded(world: World) -> None:
    """Every integer path parameter of the three route modules: 1 .. 2**31-1, else 422 naming it."""
    desk = world.hospital()
    http = staff_client(desk)
    checked = 0
    for route in routes(desk):
        for where, field in params_of(route.dependant):
            if where != "path" or not is_int(field.field_info.annotation):
                continue
            for bad in (HUGE, 2**31, 0, -1):
                for method in route.methods:
                    reply = http.request(method, path_of(route, **{field.name: bad}), json={"reason": "x"})
                    is_problem(reply, 422, field.name)
            checked += 1
    assert checked >= 12, checked
    # the two of the issue, as a patient's phone would send them
    pid = desk.patient(EMPLOYEE, ecard=PERSONS[EMPLOYEE]["ecard"])
    phone = TestClient(create_hospital_app(desk.hospital), headers=patient_headers(pid),
                       raise_server_exceptions=False)
    is_problem(phone.get(f"/patients/{HUGE}/deposit"), 422, "patient_id")
    is_problem(phone.post(f"/registrations/{HUGE}/refund", json={"reason": "x"}), 422, "reg_id")
    # ids in bodies too
    for path, body, field in [
        ("/bookings", {"patient_id": HUGE, "slot_id": 1}, "patient_id"),
        ("/bookings", {"patient_id": pid, "slot_id": 2**31}, "slot_id"),
        ("/registrations", {"patient_id": pid, "booking_id": HUGE}, "booking_id"),
        ("/bills", {"registration_id": HUGE, "lines": [{"med_list_codg": "X", "pric": "1", "cnt": "1"}]},
         "registration_id"),
        ("/payments", {"patient_id": HUGE, "bill_nos": ["B1"]}, "patient_id"),
        ("/deposits/withdraw", {"patient_id": 0}, "patient_id"),
        ("/inpatient/stays", {"patient_id": HUGE}, "patient_id"),
        ("/pharmacy/sales", {"patient_id": HUGE, "lines": [{"med_list_codg": "X", "pric": "1", "cnt": "1"}]},
         "patient_id"),
    ]:
        is_problem(http.post(path, json=body), 422, field)


def test_no_route_answers_500_to_a_nul_byte_or_an_overlong_string(world: World) -> None:
    """Every string path and query parameter: a NUL byte or 1000 characters is a 4xx naming it."""
    desk = world.hospital()
    http = staff_client(desk)
    checked = 0
    for route in routes(desk):
        for where, field in params_of(route.dependant):
            if where not in ("path", "query") or not is_str(field.field_info.annotation):
                continue
            for bad in ("A\x00B", "9" * 1000):
                for method in route.methods:
                    if where == "path":
                        reply = http.request(method, path_of(route, **{field.name: bad}))
                    else:
                        reply = http.request(method, path_of(route), params={field.name: bad})
                    problem = is_problem(reply, 422, field.name)
                    assert any(w in problem["detail"] for w in ("NUL", "at most", "must match")), problem
            checked += 1
    assert checked >= 14, checked


def test_every_string_a_route_takes_has_a_bound(world: World) -> None:
    """Every string a route takes (path, query, header, each field of each body model) has a max_length: the
    database's column, or a bound that keeps the message to the platform sane."""
    desk = world.hospital()
    unbounded = []

    def model_fields(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            annotation = info.annotation
            args = typing.get_args(annotation)
            inner = [a for a in (annotation, *args) if inspect.isclass(a) and issubclass(a, BaseModel)]
            if inner:
                model_fields(inner[0], f"{prefix}.{name}")
            elif typing.get_origin(annotation) is list:
                item = args[0]
                if inspect.isclass(item) and issubclass(item, BaseModel):
                    model_fields(item, f"{prefix}.{name}[]")
                    continue
                if max_length(info) is None:
                    unbounded.append(f"{prefix}.{name} (how many)")
                if item is str or (typing.get_origin(item) is typing.Annotated and not any(
                        max_length(m) for m in item.__metadata__ if hasattr(m, "metadata"))):
                    unbounded.append(f"{prefix}.{name}[]")
            elif is_str(annotation) and max_length(info) is None:
                unbounded.append(f"{prefix}.{name}")

    for route in routes(desk):
        for where, field in params_of(route.dependant):
            annotation = field.field_info.annotation
            if where == "body":
                models = [a for a in (annotation, *typing.get_args(annotation))
                          if inspect.isclass(a) and issubclass(a, BaseModel)]
                model_fields(models[0], f"{route.path} body")
            elif is_str(annotation) and max_length(field.field_info) is None:
                unbounded.append(f"{route.path} {where} {field.name}")
    assert unbounded == [], unbounded


def test_bodies_refuse_nul_bytes_and_strings_longer_than_their_columns(world: World) -> None:
    desk = world.hospital()
    http = staff_client(desk)
    who = PERSONS[EMPLOYEE]
    good = {"name": who["name"], "certno": who["certno"], "mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"]}
    for field, bad, rule in [("name", "例\x00甲", "NUL"), ("phone", "1" * 31, "at most 30"),
                             ("ecard", "E" * 101, "at most 100"), ("card_sn", "C" * 33, "at most 32"),
                             ("insuplc_admdvs", "4403001", "at most 6"), ("health_code", "H\x00", "NUL")]:
        is_problem(http.post("/patients", json={**good, field: bad}), 422, field, rule)
    pid = int(http.post("/patients", json=good).json()["patient_id"])
    reg = desk.register(pid, "DR02", "pm")
    bill = reg["fee_bill"]["bill_no"]
    is_problem(http.post("/payments", json={"patient_id": pid, "bill_nos": [bill], "payer_ref": "p" * 65}), 422,
               "payer_ref")
    is_problem(http.post("/payments", json={"patient_id": pid, "bill_nos": [bill + "\x00"]}), 422, "bill_nos")
    is_problem(http.post("/payments", json={"patient_id": pid, "bill_nos": [bill]},
                         headers={"Idempotency-Key": "k" * 151}), 422, "idempotency-key")
    line = {"med_list_codg": "EX-DRUG-A", "pric": "1.00", "cnt": "1"}
    for field, bad in [("med_list_codg", "X" * 51), ("name", "n\x00"), ("pric", "1e40"), ("cnt", "1.0000001")]:
        is_problem(http.post("/bills", json={"registration_id": reg["registration_id"],
                                             "lines": [{**line, field: bad}]}), 422, field)
    for fee in ("1e20", "-1.00"):
        is_problem(http.post("/slots", json={"doctor_code": "DR01", "day": TODAY, "period": "am", "capacity": 1,
                                             "fee": fee}), 422, "fee")
    is_problem(http.post("/slots", json={"doctor_code": "DR01", "day": "0068-05-11", "period": "am",
                                         "capacity": 1, "fee": "1.00"}), 422, "day")
    is_problem(http.post("/deposits/top-up", json={"code": "c", "amount": "1e18", "channel": "card"}), 422,
               "amount")
    is_problem(http.post("/reconciliation", json={"begin": "0001-01-01", "end": TODAY}), 422, "begin")
    is_problem(http.post("/reconciliation", json={"begin": TODAY, "end": "2026-03-01"}), 422, "end")
    # nothing of it was kept
    assert http.get(f"/patients/{pid}").json()["phone"] == ""


# == 2. one refusal shape ============================================================================================

def test_every_kind_of_refusal_is_a_problem(world: World) -> None:
    desk = world.hospital()
    anon = TestClient(create_hospital_app(desk.hospital), raise_server_exceptions=False)
    http = staff_client(desk)
    pid = desk.patient(None, name="甲", certno="440301199202021012", health_code="EHC-A")
    phone = TestClient(create_hospital_app(desk.hospital), headers=patient_headers(pid),
                       raise_server_exceptions=False)

    unauthenticated = anon.get(f"/patients/{pid}")
    body = is_problem(unauthenticated, 401, "bearer token")
    assert body["type"] == "urn:yibao:problem:unauthenticated" and body["instance"] == f"/patients/{pid}"
    assert unauthenticated.headers["www-authenticate"] == "Bearer"
    assert is_problem(phone.post("/payments/sweep"), 403, "staff")["type"] == "urn:yibao:problem:forbidden"
    assert is_problem(http.get("/patients/999"), 404, "patient 999")["type"] == "urn:yibao:problem:not-found"
    assert is_problem(phone.get("/patients/999"), 404, "patient 999")["type"] == "urn:yibao:problem:not-found"
    is_problem(anon.get("/no/such/route"), 404)
    assert is_problem(anon.delete("/hospital"), 405)["type"] == "urn:yibao:problem:method-not-allowed"
    invalid = is_problem(http.post("/patients", json={"name": "", "certno": "44", "colour": "red"}), 422,
                         "name", "certno", "colour")
    assert invalid["type"] == "urn:yibao:problem:invalid"
    assert {e["field"] for e in invalid["errors"]} == {"name", "certno", "colour"}
    slot = desk.slot("DR01", "am")["slot_id"]
    assert http.post("/bookings", json={"patient_id": pid, "slot_id": slot}).status_code == 201
    twice = is_problem(http.post("/bookings", json={"patient_id": pid, "slot_id": slot}), 409)
    assert twice["type"] == "urn:yibao:problem:conflict"
    refused = is_problem(http.post("/payments", json={"patient_id": pid, "bill_nos": ["B1"], "channel": "alipay"}),
                         422, "channel")
    assert refused["type"] == "urn:yibao:problem:refused"  # a rule said no (HospitalError), not malformed input
    gz = PERSONS["44010000000000000201"]
    upstream = is_problem(http.post("/patients/lookup", json={"mdtrt_cert_type": "02", "mdtrt_cert_no": gz["certno"]}),
                          422, "1101")
    assert upstream["type"] == "urn:yibao:problem:refused"  # the platform said no: the request cannot succeed


def test_a_fault_of_ours_is_a_problem_without_a_traceback(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = world.hospital()

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(desk.hospital, "departments", broken)
    reply = TestClient(create_hospital_app(desk.hospital), raise_server_exceptions=False).get("/departments")
    body = is_problem(reply, 500, "nothing was changed")
    assert "secret" not in reply.text and body["type"] == "urn:yibao:problem:internal"
