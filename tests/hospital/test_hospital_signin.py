"""A patient's sign-in (POST /auth/patient: a linked code + the ID number's last 6 characters) is throttled per
code and per client address (yibao.throttle over the `limits` package): failures lock the code out, and the
address that made them, with a 429 problem saying when to retry; nobody else is locked out. The counts live in
memory, or in Redis (YIBAO_THROTTLE_STORAGE / `throttle_storage`) to be shared between processes.

Deterministic: nothing sleeps. The window is 15 minutes, far longer than a test; a lockout ends either by a
success of the same code (clears its count) or, in yibao.throttle's own test, by a driven clock of its own.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hospital_world import Desk, World

from yibao import throttle
from yibao.hospital.api import create_hospital_app

REDIS = "redis://127.0.0.1:6379/0"


def phone(desk: Desk, address: str) -> TestClient:
    """A phone (or a kiosk) at `address`, without a token."""
    return TestClient(create_hospital_app(desk.hospital), client=(address, 40000))


def patient(desk: Desk, certno: str) -> tuple[int, str]:
    """A patient on file with a health code unique to this run (the Redis counts outlive a test)."""
    code = f"EHC-{uuid.uuid4().hex[:12]}"
    return desk.patient(None, name="甲", certno=certno, health_code=code), code


def address() -> str:
    """A client address unique to this run (documentation range 192.0.2.0/24 + a random tail)."""
    return f"192.0.2.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"


def sign_in(client: TestClient, code: str, tail: str) -> Any:
    return client.post("/auth/patient", json={"code": code, "certno_tail": tail})


def throttled(reply: Any, by: str) -> int:
    """A 429 problem naming what is locked and when to retry (Retry-After, in seconds, and in the body)."""
    assert reply.status_code == 429, (reply.status_code, reply.text)
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    retry = int(reply.headers["retry-after"])
    assert 0 < retry <= 15 * 60 and body["retry_after"] == retry, (retry, body)
    assert body["type"] == "urn:yibao:problem:throttled" and body["status"] == 429
    assert by in body["detail"] and f"retry after {retry} s" in body["detail"] and "retry_at" in body, body
    return retry


def test_wrong_tails_lock_the_code_out_and_no_one_else(world: World) -> None:
    desk = world.hospital()
    _a, code_a = patient(desk, "440301199202021012")
    _b, code_b = patient(desk, "440301199303031013")
    here, elsewhere = phone(desk, address()), phone(desk, address())
    for _ in range(5):
        assert sign_in(here, code_a, "000000").status_code == 401
    # the sixth attempt is not even checked: the right tail is refused too, from any address
    throttled(sign_in(here, code_a, "021012"), "code")
    throttled(sign_in(elsewhere, code_a, "021012"), "code")
    # another patient signs in from the same address and from another: not locked by A's failures
    assert sign_in(here, code_b, "031013").status_code == 200
    assert sign_in(elsewhere, code_b, "031013").status_code == 200


def test_two_hundred_wrong_tails_get_no_further_than_five(world: World) -> None:
    """The issue's case: 200 wrong tails were all checked. Now 5 are, the other 195 are throttled."""
    desk = world.hospital()
    _pid, code = patient(desk, "440301199202021012")
    client = phone(desk, address())
    answers = [sign_in(client, code, f"{n:06d}").status_code for n in range(200)]
    assert answers.count(401) == 5 and answers.count(429) == 195


def test_failures_on_many_codes_lock_the_address_only(world: World) -> None:
    desk = world.hospital()
    pid, code = patient(desk, "440301199202021012")
    guesser, other = phone(desk, address()), phone(desk, address())
    for n in range(30):  # 30 codes tried once each: no code reaches its limit, the address does
        assert sign_in(guesser, f"EHC-GUESS-{n}-{uuid.uuid4().hex[:6]}", "000000").status_code == 401
    throttled(sign_in(guesser, code, "021012"), "address")  # even a right one, from there
    ok = sign_in(other, code, "021012")  # the same patient from his own phone
    assert ok.status_code == 200 and ok.json()["patient_id"] == pid


def test_a_success_clears_the_codes_count(world: World) -> None:
    desk = world.hospital()
    _pid, code = patient(desk, "440301199202021012")
    client = phone(desk, address())
    for _ in range(4):
        assert sign_in(client, code, "000000").status_code == 401
    assert sign_in(client, code, "021012").status_code == 200  # the 5th attempt, right: the count starts over
    for _ in range(5):
        assert sign_in(client, code, "000000").status_code == 401
    throttled(sign_in(client, code, "021012"), "code")


def test_the_counts_are_shared_through_redis_and_not_in_memory(world: World) -> None:
    """Two hospital processes over one database (two Hospital objects, each with its own throttle, as two
    `yibao hospital serve` have): with the Redis storage one's failures lock the code out at the other."""
    first = world.hospital()
    _pid, code = patient(first, "440301199202021012")

    def twin(storage: str) -> Desk:
        config = dataclasses.replace(first.hospital.config, throttle_storage=storage)
        from yibao.hospital.service import Hospital

        twin = Hospital(config, platform_http=world.platform_http, channels=first.channels)
        world.hospitals.append(twin)
        return Desk(twin, first.channels)

    # in memory (the default): each process counts its own
    a, b = phone(first, address()), phone(twin(""), address())
    for _ in range(5):
        assert sign_in(a, code, "000000").status_code == 401
    throttled(sign_in(a, code, "021012"), "code")
    assert sign_in(b, code, "021012").status_code == 200
    # in Redis: counted once for both
    _pid, code = patient(first, "440301199303031013")
    left, right = twin(REDIS), twin(REDIS)
    assert left.hospital.sign_in is not right.hospital.sign_in
    a, b = phone(left, address()), phone(right, address())
    for n in range(5):
        assert sign_in(a if n % 2 else b, code, "000000").status_code == 401
    throttled(sign_in(a, code, "031013"), "code")
    throttled(sign_in(b, code, "031013"), "code")


def test_the_storage_comes_from_the_configuration_or_the_variable(world: World, monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    from yibao.hospital.config import load_config

    env = {"YIBAO_HOSPITAL_FIXMEDINS_CODE": "H1", "YIBAO_HOSPITAL_SECRET": "s", "YIBAO_HOSPITAL_ADMDVS": "440300"}
    assert load_config(env=env).throttle_storage == ""
    assert load_config(env={**env, "YIBAO_HOSPITAL_THROTTLE_STORAGE": REDIS}).throttle_storage == REDIS
    file = tmp_path / "h.yaml"
    file.write_text(f"throttle_storage: {REDIS}\n", encoding="utf-8")
    assert load_config(file, env=env).throttle_storage == REDIS
    assert throttle.storage_uri("") == "memory://"
    monkeypatch.setenv(throttle.ENV, REDIS)
    assert throttle.storage_uri("") == REDIS and throttle.storage_uri("memory://") == "memory://"
    desk = world.hospital()
    assert desk.hospital.sign_in.uri == REDIS  # the shared variable, when the hospital names none


class Clock:
    """Time for yibao.throttle's Retry-After: the real time until the test drives it."""

    def __init__(self) -> None:
        self.now: float | None = None  # float-ok: seconds since the epoch

    def __call__(self) -> float:  # float-ok
        return time.time() if self.now is None else self.now


@pytest.mark.parametrize("storage", ["memory://", REDIS])
def test_the_throttle_alone(storage: str) -> None:
    """yibao.throttle by itself, on each storage: limits, Retry-After and the per-scope separation."""
    scope = f"test {uuid.uuid4().hex}"
    clock = Clock()
    gate = throttle.SignInThrottle(scope, storage, throttle.Limits("3 per 10 minutes", "4 per 10 minutes"), clock)
    other_scope = throttle.SignInThrottle(scope + " other", storage)
    for _ in range(3):
        gate.check("alice", "10.0.0.1")
        gate.failed("alice", "10.0.0.1")
    assert gate.remaining("alice", "10.0.0.1") == (0, 1)
    with pytest.raises(throttle.Throttled) as locked:
        gate.check("alice", "10.0.0.9")
    assert locked.value.by == "credential" and 0 < locked.value.retry_after <= 600
    other_scope.check("alice", "10.0.0.1")  # another kind of sign-in counts its own
    gate.check("bob", "10.0.0.1")
    gate.failed("bob", "10.0.0.1")
    with pytest.raises(throttle.Throttled) as by_address:
        gate.check("carol", "10.0.0.1")
    assert by_address.value.by == "address"
    gate.check("carol", "10.0.0.2")
    gate.succeeded("alice", "10.0.0.2")
    gate.check("alice", "10.0.0.2")  # a success cleared alice's count
    # Retry-After is the time left until the oldest failure leaves the window, by the throttle's clock
    reset = gate.limiter.get_window_stats(gate.per_address, scope, "address", "10.0.0.1").reset_time
    clock.now = reset - 42.2
    with pytest.raises(throttle.Throttled) as late:
        gate.check("dave", "10.0.0.1")
    assert late.value.retry_after == 43
    clock.now = reset + 5
    with pytest.raises(throttle.Throttled) as past:
        gate.check("dave", "10.0.0.1")
    assert past.value.retry_after == 1  # never 0 while still refused
