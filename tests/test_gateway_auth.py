"""The gateway's door: x-tif signatures, timestamps, nonces, the institution named in the message."""

from __future__ import annotations

import time

import pytest
from helpers import count, envelope, signed_headers

from yibao.gateway.auth import signature

LOOKUP = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440301199001011234"}}


def _signed_in(platform) -> str:
    return platform.client().sign_no()


def test_a_correctly_signed_message_is_served(platform):
    sign_no = _signed_in(platform)
    status, out = platform.post_raw(envelope("1101", LOOKUP, sign_no=sign_no))
    assert status == 200 and out["infcode"] == 0
    assert out["output"]["baseinfo"]["psn_no"] == "44030000000000000001"
    assert len(out["inf_refmsgid"]) == 30 and out["inf_refmsgid"].startswith("440300")
    assert len(out["refmsg_time"]) == 17 and len(out["respond_time"]) == 17


def test_infno_in_the_url_is_served_and_must_agree_with_the_body(platform):
    sign_no = _signed_in(platform)
    base = "/fsi/api/rsfComIfsService/callService"
    status, out = platform.post_raw(envelope("1101", LOOKUP, sign_no=sign_no), path=base + "/1101")
    assert out["infcode"] == 0
    status, out = platform.post_raw(envelope("1101", LOOKUP, sign_no=sign_no, msgid="H44030000001202603160930000002"),
                                    path=base + "/2207")
    assert out["infcode"] == -1 and out["err_msg"].startswith("infno:") and "2207" in out["err_msg"]


def _headers(**over):
    ts = over.pop("ts", str(int(time.time())))
    nonce = over.pop("nonce", "n-" + str(time.time_ns()))
    secret = over.pop("secret", "test-secret-sz")
    h = {"Content-Type": "application/json", "x-tif-paasid": "H44030000001", "x-tif-timestamp": ts,
         "x-tif-nonce": nonce, "x-tif-signature": signature(ts, secret, nonce)}
    h.update(over)
    return h


@pytest.mark.parametrize("headers, header", [
    (lambda: _headers(secret="wrong-secret"), "x-tif-signature"),
    (lambda: {**_headers(), "x-tif-signature": "0" * 64}, "x-tif-signature"),
    (lambda: _headers(ts=str(int(time.time()) - 301)), "x-tif-timestamp"),
    (lambda: _headers(ts=str(int(time.time()) + 400)), "x-tif-timestamp"),
    (lambda: _headers(ts="yesterday"), "x-tif-timestamp"),
    (lambda: {k: v for k, v in _headers().items() if k != "x-tif-nonce"}, "x-tif-nonce"),
    (lambda: {k: v for k, v in _headers().items() if k != "x-tif-signature"}, "x-tif-signature"),
    (lambda: {**_headers(), "x-tif-paasid": "H99999999999"}, "x-tif-paasid"),
])
def test_bad_signatures_are_refused_and_only_audited(platform, headers, header):
    before = count(platform.store, "message_log")
    status, out = platform.post_raw(envelope("9001", {"signIn": {"opter_no": "op01"}}), headers=headers())
    assert status == 401
    assert out["infcode"] == -1 and header in out["err_msg"]
    assert count(platform.store, "sign_ins") == 0
    assert count(platform.store, "message_log") == before + 1


def test_timestamp_within_300_seconds_is_accepted(platform):
    status, out = platform.post_raw(envelope("9001", {"signIn": {"opter_no": "op01"}}),
                                    headers=_headers(ts=str(int(time.time()) - 250)))
    assert status == 200 and out["infcode"] == 0


def test_a_replayed_nonce_is_refused(platform):
    headers = _headers(nonce="fixed-nonce-1")
    status, out = platform.post_raw(envelope("9001", {"signIn": {"opter_no": "op01"}}), headers=headers)
    assert out["infcode"] == 0
    # the very same signed request again: captured and replayed by someone else
    status, out = platform.post_raw(envelope("9001", {"signIn": {"opter_no": "op01"}},
                                             msgid="H44030000001202603160930000009"), headers=headers)
    assert status == 401 and out["infcode"] == -1 and "x-tif-nonce" in out["err_msg"]
    assert count(platform.store, "sign_ins") == 1


def test_the_same_nonce_from_another_institution_is_its_own(platform):
    sz = _headers(nonce="shared-nonce")
    assert platform.post_raw(envelope("9001", {"signIn": {"opter_no": "op01"}}), headers=sz)[1]["infcode"] == 0
    gz = signed_headers("H44010000001", "test-secret-gz", nonce="shared-nonce")
    env = envelope("9001", {"signIn": {"opter_no": "op01"}}, code="H44010000001", area="440100",
                   msgid="H44010000001202603160930000001")
    assert platform.post_raw(env, code="H44010000001", headers=gz)[1]["infcode"] == 0


def test_fixmedins_code_must_be_the_authenticated_institution(platform):
    env = envelope("9001", {"signIn": {"opter_no": "op01"}}, code="H44010000001", area="440100")
    status, out = platform.post_raw(env, headers=signed_headers("H44030000001", "test-secret-sz"))
    assert out["infcode"] == -1
    assert out["err_msg"].startswith("fixmedins_code:") and "H44030000001" in out["err_msg"]
    assert count(platform.store, "sign_ins") == 0


def test_mdtrtarea_admvs_must_be_the_institutions_region(platform):
    status, out = platform.post_raw(envelope("9001", {"signIn": {"opter_no": "op01"}}, area="440100"))
    assert out["infcode"] == -1 and out["err_msg"].startswith("mdtrtarea_admvs:")
