"""`yibao hospital`: who may call the internet-hospital API (src/yibao/hospital/auth.py, docs/hospital.md).

Every request carries a bearer token but the public ones (hospital info, the timetable, the patient's sign-in,
the providers' callbacks, the OpenAPI pages); a patient token reaches only its own patient's things (another's
answers 404, as an unknown one); the HIS's operations, the sweep, reconciliation and clearing are staff's (403).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hospital_world import (
    AUTH_KEY,
    EMPLOYEE,
    PERSONS,
    SETUP,
    SZ_HOSP,
    TODAY,
    Desk,
    World,
    bearer,
    clinic_visit,
    patient_headers,
)
from typer.testing import CliRunner

from yibao.hospital import auth
from yibao.hospital import cli as hospital_cli
from yibao.hospital.api import create_hospital_app
from yibao.hospital.channels.base import Status
from yibao.hospital.config import HospitalConfig, load_config
from yibao.hospital.service import Hospital

PUBLIC = {("GET", "/hospital"), ("GET", "/departments"), ("GET", "/departments/{dept_code}/doctors"),
          ("GET", "/doctors"), ("POST", "/auth/patient"), ("POST", "/callbacks/{channel}"),
          # the operator's: liveness, readiness and the scraper's metrics (bound to the private network)
          ("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics")}


def anonymous(desk: Desk) -> TestClient:
    """The same hospital reached without any token."""
    return TestClient(create_hospital_app(desk.hospital))


def self_paying(desk: Desk, name: str, certno: str, code: str) -> tuple[int, dict[str, Any]]:
    """A self-paying patient (no platform call) registered today, his fee bill pending."""
    pid = desk.patient(None, name=name, certno=certno, health_code=code)
    return pid, desk.register(pid, "DR02", "pm")


def test_no_token_a_bad_one_or_an_expired_one_is_401(world: World) -> None:
    desk = world.hospital()
    pid = desk.patient(None, name="甲", certno="440301199202021012")
    anon = anonymous(desk)
    reply = anon.get(f"/patients/{pid}")
    assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json() == {"type": "urn:yibao:problem:unauthenticated", "title": "Unauthorized", "status": 401,
                            "detail": "authorization: a bearer token is required", "instance": f"/patients/{pid}"}
    good = patient_headers(pid)["Authorization"]
    assert anon.get(f"/patients/{pid}", headers={"Authorization": good}).status_code == 200
    version, payload, mac = good.removeprefix("Bearer ").split(".")
    forged_payload = base64.urlsafe_b64encode(json.dumps({"k": "staff", "s": "x", "e": 9999999999}).encode()).decode()
    for bad, why in [
        (bearer("staff", "desk01", key="another-hospital-key"), "signature"),
        ({"Authorization": f"Bearer {version}.{forged_payload}.{mac}"}, "signature"),  # a patient made staff
        ({"Authorization": f"Bearer {version}.{payload}.{mac[:-2]}xx"}, "signature"),
        ({"Authorization": "Bearer not-a-token"}, "malformed"),
        ({"Authorization": f"Basic {good.removeprefix('Bearer ')}"}, "required"),
        (bearer("staff", "desk01", days=-1 / 86400), "expired"),
        (bearer("patient", pid, days=-1), "expired"),
    ]:
        reply = anon.get(f"/patients/{pid}", headers=bad)
        assert reply.status_code == 401, (bad, reply.text)
        assert why in reply.json()["detail"], (why, reply.json())


def test_every_route_but_the_public_ones_wants_a_token(world: World) -> None:
    desk = world.hospital()
    app = create_hospital_app(desk.hospital)
    anon = TestClient(app)
    seen = set()
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods:
            seen.add((method, route.path))
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            if route.path == "/callbacks/{channel}":
                path = "/callbacks/card"
            reply = anon.request(method, path, json={})
            if (method, route.path) in PUBLIC:
                assert reply.status_code != 401, (method, route.path, reply.text)
            else:
                assert reply.status_code == 401, (method, route.path, reply.status_code, reply.text)
    assert PUBLIC <= seen and len(seen) > 30
    for path in ("/hospital", "/departments", "/departments/D01/doctors", "/doctors", "/docs", "/openapi.json"):
        assert anon.get(path).status_code == 200, path
    schemes = anon.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"


def test_a_patient_signs_in_with_a_linked_code_and_the_id_numbers_last_six(world: World) -> None:
    desk = world.hospital()
    pid = desk.patient(None, name="甲", certno="44030119920202101X", health_code="EHC-A")
    anon = anonymous(desk)
    ok = anon.post("/auth/patient", json={"code": "EHC-A", "certno_tail": "02101x"})
    assert ok.status_code == 200 and ok.json()["patient_id"] == pid
    token = ok.json()["token"]
    assert anon.get(f"/patients/{pid}/bills", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    wrong_tail = anon.post("/auth/patient", json={"code": "EHC-A", "certno_tail": "021011"})
    unknown = anon.post("/auth/patient", json={"code": "EHC-NONE", "certno_tail": "02101X"})
    assert wrong_tail.status_code == unknown.status_code == 401
    assert wrong_tail.json() == unknown.json()  # nothing to tell a wrong tail from an unknown code
    assert anon.post("/auth/patient", json={"code": "EHC-A", "certno_tail": "101X"}).status_code == 422


def test_a_patient_cannot_reach_another_patients_things(world: World) -> None:
    desk = world.hospital()
    wechat = desk.channels["wechat"]
    a, reg_a = self_paying(desk, "甲", "440301199202021012", "EHC-A")
    b, _reg_b = self_paying(desk, "乙", "440301199202021020", "EHC-B")
    bill_a = reg_a["fee_bill"]["bill_no"]
    as_a, as_b = patient_headers(a), patient_headers(b)
    booking_a = desk.post("/bookings", {"patient_id": a, "slot_id": desk.slot("DR01", "am")["slot_id"]}, 201,
                          headers=as_a)
    paying = desk.pay(a, [bill_a], "wechat", "mobile", headers=as_a, idempotency_key="phone-a-1")
    assert paying["status"] == "paying"
    no = paying["payment_no"]

    # A's own things answer A
    assert desk.get(f"/patients/{a}", headers=as_a)["name"] == "甲"
    assert desk.get(f"/payments/{no}", headers=as_a)["status"] == "paying"
    assert desk.get("/patients/by-code/EHC-A", headers=as_a)["patient_id"] == a

    # ... and are unknown to B: 404, as a thing that does not exist
    for path in (f"/patients/{a}", f"/patients/{a}/bills", f"/patients/{a}/bookings",
                 f"/patients/{a}/registrations", f"/patients/{a}/payments", f"/patients/{a}/notices",
                 "/patients/by-code/EHC-A", f"/registrations/{reg_a['registration_id']}", f"/bills/{bill_a}",
                 f"/payments/{no}", f"/payments/{no}?refresh=true"):
        assert desk.http.get(path, headers=as_b).status_code == 404, path
    unknown = desk.get(f"/bills/{bill_a}", 404, headers=as_b)
    assert (unknown["type"], unknown["detail"]) == ("urn:yibao:problem:not-found", f"bill {bill_a} is not known")
    desk.post(f"/payments/{no}/cancel", expect=404, headers=as_b)
    desk.post(f"/registrations/{reg_a['registration_id']}/refund", {"reason": "x"}, 404, headers=as_b)
    desk.post(f"/bookings/{booking_a['booking_id']}/cancel", expect=404, headers=as_b)
    desk.post(f"/patients/{a}/codes", {"health_code": "EHC-STOLEN"}, 404, headers=as_b)
    desk.post("/bookings", {"patient_id": a, "slot_id": desk.slot("DR01", "pm")["slot_id"]}, 404, headers=as_b)
    desk.post("/registrations", {"patient_id": a, "slot_id": desk.slot("DR01", "pm")["slot_id"]}, 404,
              headers=as_b)
    # paying A's bill as B, or as A on B's behalf, or reusing A's idempotency key
    for body in ({"patient_id": b, "bill_nos": [bill_a]}, {"patient_id": a, "bill_nos": [bill_a]}):
        desk.post("/payments", {**body, "channel": "wechat", "terminal": "mobile"}, 404, headers=as_b)
    [bill_b] = desk.get(f"/patients/{b}/bills", headers=as_b)
    desk.post("/payments", {"patient_id": b, "bill_nos": [bill_b["bill_no"]], "channel": "wechat",
                            "terminal": "mobile", "idempotency_key": "phone-a-1"}, 409, headers=as_b)
    # nothing moved: A's order still open, A's booking still booked, A's codes unchanged
    assert desk.get(f"/payments/{no}")["status"] == "paying"
    assert desk.get(f"/patients/{a}/bookings")[0]["status"] == "booked"
    assert desk.get(f"/patients/{a}")["health_code"] == "EHC-A"
    # A gives the order up himself; A's refund of his own unpaid fee cancels the registration
    assert desk.post(f"/payments/{no}/cancel", headers=as_a)["status"] == "failed"
    assert wechat.orders[no]["status"] == Status.CLOSED
    refund = desk.post(f"/registrations/{reg_a['registration_id']}/refund", {"reason": "不看了"}, headers=as_a)
    assert refund["status"] == "cancelled", refund

    # an insured patient's slip: his, not B's
    c, reg_c, clinic = clinic_visit(desk)
    paid = desk.pay(c, [reg_c["fee_bill"]["bill_no"], clinic])  # at the desk, by card
    setl_id = paid["insurance"]["setl_id"]
    for kind in ("html", "pdf"):
        assert desk.http.get(f"/slips/{setl_id}.{kind}", headers=patient_headers(c)).status_code == 200
        assert desk.http.get(f"/slips/{setl_id}.{kind}", headers=as_b).status_code == 404


def test_a_patient_cannot_run_the_his_cashier_or_admin_operations(world: World) -> None:
    desk = world.hospital()
    pid, reg = self_paying(desk, "甲", "440301199202021012", "EHC-A")
    me = patient_headers(pid)
    slot = desk.slot("DR01", "am")["slot_id"]
    for path, body in [
        ("/slots", {"doctor_code": "DR01", "day": TODAY, "period": "am", "capacity": 1, "fee": "1.00"}),
        (f"/slots/{slot}/suspend", {"reason": "x"}),
        ("/bills", {"registration_id": reg["registration_id"], "lines": [{"med_list_codg": "X", "pric": "1",
                                                                           "cnt": "1"}]}),
        (f"/registrations/{reg['registration_id']}/seen", {}),
        ("/payments/sweep", {}),
        ("/reconciliation", {"begin": TODAY, "end": TODAY}),
        ("/clearing/2026-03/confirm", {"exclude": []}),
        ("/clearing/2026-03/rollback", {"otransid": "X"}),
    ]:
        reply = desk.http.post(path, json=body, headers=me)
        assert reply.status_code == 403 and "staff" in reply.json()["detail"], (path, reply.text)
    assert desk.http.get("/clearing/2026-03", headers=me).status_code == 403
    # paying at the desk's terminal, looking up someone else's credential, recording another person
    desk.post("/payments", {"patient_id": pid, "bill_nos": [reg["fee_bill"]["bill_no"]], "channel": "card",
                            "terminal": "desk"}, 403, headers=me)
    other = PERSONS[EMPLOYEE]["certno"]
    desk.post("/patients/lookup", {"mdtrt_cert_type": "02", "mdtrt_cert_no": other}, 403, headers=me)
    desk.post("/patients", {"name": "冒名", "certno": other}, 403, headers=me)
    # nothing was done: the slot stands, the bill is the fee alone, the registration not seen
    assert not desk.slot("DR01", "am")["suspended"]
    assert len(desk.get(f"/patients/{pid}/bills", headers=me)) == 1
    # his own record he may update
    assert desk.post("/patients", {"name": "甲", "certno": "440301199202021012", "phone": "139"}, 201,
                     headers=me)["phone"] == "139"
    # staff may do all of it
    assert desk.post(f"/registrations/{reg['registration_id']}/seen")["refundable"] is False


def test_callbacks_need_no_token_but_their_signature(world: World) -> None:
    desk = world.hospital()
    wechat = desk.channels["wechat"]
    pid, reg = self_paying(desk, "甲", "440301199202021012", "EHC-A")
    paying = desk.pay(pid, [reg["fee_bill"]["bill_no"]], "wechat", "mobile", headers=patient_headers(pid))
    anon = anonymous(desk)
    event = wechat.event(paying["payment_no"], Status.PAID)
    forged = anon.post("/callbacks/wechat", content=json.dumps(event), headers={"x-fake-sig": "forged"})
    assert forged.status_code == 400
    applied = anon.post("/callbacks/wechat", content=json.dumps(event), headers={"x-fake-sig": "ok"})
    assert applied.status_code == 200
    assert desk.get(f"/payments/{paying['payment_no']}", headers=patient_headers(pid))["status"] == "paid"


def test_without_a_configured_key_one_is_made_and_kept(world: World) -> None:
    url = world.urls.new("keyless")
    config = HospitalConfig(fixmedins_code=SZ_HOSP, secret="s", admdvs="440300", database_url=url)
    first = Hospital(config, platform_http=world.platform_http)
    try:
        key = auth.signing_key(first)
        assert len(key) == 64 and key != AUTH_KEY.encode()
        token = auth.issue(key, "staff", "admin")
        assert TestClient(create_hospital_app(first)).get(
            "/suspensions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        first.close()
    second = Hospital(config, platform_http=world.platform_http)  # another process on the same database
    try:
        assert auth.signing_key(second) == key
        assert TestClient(create_hospital_app(second)).get(
            "/suspensions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        second.close()


def test_the_token_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    file = tmp_path / "hospital.yaml"
    file.write_text(yaml.safe_dump({"database_url": f"sqlite:///{tmp_path / 'h.db'}", "auth_key": "file-key",
                                    "institution": {"fixmedins_code": SZ_HOSP, "secret": "s", "admdvs": "440300"},
                                    "setup": SETUP}), encoding="utf-8")
    monkeypatch.setenv("YIBAO_HOSPITAL_CONFIG", str(file))
    monkeypatch.setenv("YIBAO_TODAY", TODAY)
    assert load_config().auth_key == "file-key"
    runner = CliRunner()
    staff = runner.invoke(hospital_cli.hospital_app, ["token-staff", "cashier-03", "--days", "2"])
    assert staff.exit_code == 0, staff.output
    assert auth.verify(b"file-key", staff.stdout.strip()) == auth.Principal("staff", "cashier-03")
    unknown = runner.invoke(hospital_cli.hospital_app, ["token-patient", "999"])
    assert unknown.exit_code == 1 and "patient 999 is not known" in unknown.stderr
    hospital = Hospital(load_config())
    try:
        pid = hospital.create_patient(name="甲", certno="440301199202021012")["patient_id"]
    finally:
        hospital.close()
    patient = runner.invoke(hospital_cli.hospital_app, ["token-patient", str(pid)])
    assert patient.exit_code == 0, patient.output
    assert auth.verify(b"file-key", patient.stdout.strip()) == auth.Principal("patient", str(pid))
    monkeypatch.setenv("YIBAO_HOSPITAL_AUTH_KEY", "env-key")  # the variable wins over the file
    from_env = runner.invoke(hospital_cli.hospital_app, ["token-staff", "his"])
    assert auth.verify(b"env-key", from_env.stdout.strip()).subject == "his"
    with pytest.raises(auth.BadToken):
        auth.verify(b"file-key", from_env.stdout.strip())
    assert runner.invoke(hospital_cli.hospital_app, ["token-staff", "his", "--days", "0"]).exit_code == 2
