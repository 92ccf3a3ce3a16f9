"""Malformed envelopes a clumsy HIS sends: each is refused with infcode -1 naming the field, never an internal
error, and writes nothing but the audit row."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import envelope, snapshot

from yibao.gateway import wire

EMPLOYEE = "44030000000000000001"


def _send(platform: Any, env: dict[str, Any] | bytes) -> dict[str, Any]:
    status, answer = platform.post_raw(env)
    assert status < 500
    return answer


def test_a_nul_character_anywhere_is_refused_naming_its_path(platform: Any) -> None:
    sign_no = platform.client().sign_no()
    before = snapshot(platform.store)
    answer = _send(platform, envelope("2201", {"data": {"psn_no": EMPLOYEE + "\x00", "insutype": "310",
                                                        "begntime": "2026-03-16 09:00:00", "mdtrt_cert_type": "02",
                                                        "ipt_otp_no": "X"}}, sign_no=sign_no))
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("input.data.psn_no: must not contain a NUL")
    assert snapshot(platform.store) == before


@pytest.mark.parametrize(("value", "rule"), [
    ("1e308", "must be below"), (1e308, "must be below"), ("-1e400", "must be below"),  # float-ok: bad input
    ("0.0000001", "at most 6 decimal places"), ("NaN", "finite"), ("12.345", "at most 2 decimal places"),
])
def test_absurd_amounts_are_refused_naming_the_field(platform: Any, value: Any, rule: str) -> None:
    sign_no = platform.client().sign_no()
    data = {"psn_no": EMPLOYEE, "mdtrt_cert_type": "02", "med_type": "11", "medfee_sumamt": value,
            "mdtrt_id": "X", "insutype": "310"}
    answer = _send(platform, envelope("2206", {"data": data}, sign_no=sign_no))
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("input.data.medfee_sumamt:"), answer["err_msg"]
    assert rule in answer["err_msg"] or "decimal" in answer["err_msg"]


def test_a_deeply_nested_body_is_refused(platform: Any) -> None:
    body = b'{"infno": "1101", "input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer = _send(platform, body)
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("body:")


def test_a_body_over_the_limit_is_refused_with_413(platform: Any) -> None:
    env = envelope("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "x" * (1024 * 1024)}})
    status, answer = platform.post_raw(wire.encode(env))
    assert status == 413 and answer["infcode"] == -1 and answer["err_msg"].startswith("body:")
