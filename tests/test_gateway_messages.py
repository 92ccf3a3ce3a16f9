"""Message discipline: sign-in, msgid replay, bad input, the audit log."""

from __future__ import annotations

import pytest
from helpers import count, envelope, snapshot
from sqlalchemy import select

from yibao.gateway.registry import INTERFACES
from yibao.store.models import MessageLog

LOOKUP = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "440301199001011234"}}


# -- sign-in (9001 / 9002) ---------------------------------------------------------------------

def test_committing_messages_need_a_sign_no_and_queries_do_not(platform):
    register = {"data": {"psn_no": "44030000000000000001", "insutype": "310", "begntime": "2026-03-16 09:00:00",
                         "mdtrt_cert_type": "02", "ipt_otp_no": "OTP-S1"}}
    status, out = platform.post_raw(envelope("2201", register))
    assert out["infcode"] == -1 and out["err_msg"].startswith("sign_no:") and "9001" in out["err_msg"]
    # the default sign-in policy (docs/gateway.md): a query is answered with sign_no ""
    assert platform.post_raw(envelope("1101", LOOKUP, msgid="H44030000001202603160930000009"))[1]["infcode"] == 0


def test_sign_in_returns_a_sign_no_that_serves_that_operator(platform):
    client = platform.client(opter="op01")
    out = client.ok("9001", {"signIn": {"opter_no": "op01", "mac": "00-11", "ip": "10.0.0.1"}})
    sign_no = out["signinoutb"]["sign_no"]
    assert len(sign_no) == 30 and out["signinoutb"]["sign_time"].startswith("2026-03-16")
    ok = platform.post_raw(envelope("1101", LOOKUP, sign_no=sign_no))[1]
    assert ok["infcode"] == 0
    other = platform.post_raw(envelope("1101", LOOKUP, sign_no=sign_no, opter="op02",
                                       msgid="H44030000001202603160930000002"))[1]
    assert other["infcode"] == -1 and "op01" in other["err_msg"] and other["err_msg"].startswith("sign_no:")


def test_sign_in_must_be_for_the_envelopes_operator(platform):
    out = platform.post_raw(envelope("9001", {"signIn": {"opter_no": "op09"}}))[1]
    assert out["infcode"] == -1 and out["err_msg"].startswith("input.signIn.opter_no:")


def test_a_sign_no_of_another_institution_is_refused(platform):
    gz_sign_no = platform.client("H44010000001").sign_no()
    out = platform.post_raw(envelope("1101", LOOKUP, sign_no=gz_sign_no))[1]
    assert out["infcode"] == -1 and "not a sign-in of this institution" in out["err_msg"]


def test_sign_out_ends_the_sign_no(platform):
    client = platform.client()
    sign_no = client.sign_no()
    client.sign_out()
    out = platform.post_raw(envelope("1101", LOOKUP, sign_no=sign_no))[1]
    assert out["infcode"] == -1 and "9002" in out["err_msg"]
    again = platform.post_raw(envelope("9002", {"signOut": {"sign_no": sign_no, "opter_no": "op01"}},
                                       msgid="H44030000001202603160930000003"))[1]
    assert again["infcode"] == -1 and "already signed out" in again["err_msg"]


def test_a_sign_no_is_for_one_business_day(platform, monkeypatch):
    sign_no = platform.client().sign_no()
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-17")
    out = platform.post_raw(envelope("1101", LOOKUP, sign_no=sign_no))[1]
    assert out["infcode"] == -1 and "2026-03-16" in out["err_msg"] and "2026-03-17" in out["err_msg"]


def test_the_client_signs_in_again_when_the_day_moved_on(platform, monkeypatch):
    client = platform.client()
    first = client.sign_no()
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-17")
    assert client.ok("1101", LOOKUP)["baseinfo"]["psn_no"] == "44030000000000000001"
    assert client.sign_no() != first


# -- msgid discipline ----------------------------------------------------------------------------

def test_a_repeated_msgid_with_the_same_body_gets_the_stored_answer(platform):
    sign_no = platform.client().sign_no()
    env = envelope("9001", {"signIn": {"opter_no": "op01"}}, sign_no=sign_no,
                   msgid="H44030000001202603160930000077")
    first = platform.post_raw(env)[1]
    second = platform.post_raw(env)[1]
    assert first["infcode"] == 0 and second == first
    assert count(platform.store, "sign_ins") == 2  # the client's sign-in and this one: not a third
    with platform.store.unit_of_work() as s:
        outcomes = list(s.scalars(select(MessageLog.outcome).where(
            MessageLog.msgid == "H44030000001202603160930000077").order_by(MessageLog.id)))
    assert outcomes == ["ok", "replayed"]


def test_key_order_and_spacing_do_not_make_a_different_message(platform):
    import json

    env = envelope("9001", {"signIn": {"opter_no": "op01"}}, msgid="H44030000001202603160930000078")
    first = platform.post_raw(json.dumps(env).encode())[1]
    reordered = json.dumps(dict(reversed(list(env.items()))), indent=2).encode()
    assert platform.post_raw(reordered)[1] == first


def test_a_repeated_msgid_with_a_different_body_is_refused(platform):
    sign_no = platform.client().sign_no()
    platform.post_raw(envelope("1101", LOOKUP, sign_no=sign_no, msgid="H44030000001202603160930000088"))
    other = {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "ECARD-SZ-0002"}}
    out = platform.post_raw(envelope("1101", other, sign_no=sign_no, msgid="H44030000001202603160930000088"))[1]
    assert out["infcode"] == -1 and out["err_msg"].startswith("msgid:") and "different message" in out["err_msg"]


def test_msgids_are_per_institution(platform):
    msgid = "X00000000000202603160930000001"
    a = platform.post_raw(envelope("9001", {"signIn": {"opter_no": "op01"}}, msgid=msgid))[1]
    b = platform.post_raw(envelope("9001", {"signIn": {"opter_no": "op01"}}, msgid=msgid, code="H44010000001",
                                   area="440100"), code="H44010000001")[1]
    assert a["infcode"] == 0 and b["infcode"] == 0
    assert a["output"]["signinoutb"]["sign_no"] != b["output"]["signinoutb"]["sign_no"]


def test_a_failed_message_can_be_retried_with_its_msgid(platform):
    env = envelope("1101", LOOKUP, msgid="H44030000001202603160930000099", sign_no="2026031500000011111111111111")
    assert platform.post_raw(env)[1]["infcode"] == -1  # a sign_no that is no sign-in: nothing was done
    env["sign_no"] = platform.client().sign_no()
    assert platform.post_raw(env)[1]["infcode"] == 0


# -- bad input: a clean -1 naming the field, and nothing written but the audit row -----------------

BAD_INPUTS = [
    ("malformed JSON", b'{"infno": "1101", "msgid": ', "body:"),
    ("not UTF-8", b'\xff\xfe{"infno": 1}', "body:"),
    ("a JSON list", b"[1, 2, 3]", "body:"),
    ("no input node", {k: v for k, v in envelope("1101", {}).items() if k != "input"}, "input: is required"),
    ("input is a string", envelope("1101", "abc"), "input: must be an object"),  # type: ignore[arg-type]
    ("no infno", {k: v for k, v in envelope("1101", LOOKUP).items() if k != "infno"}, "infno: is required"),
    ("infno a number", envelope(1101, LOOKUP), "infno: must be a string"),  # type: ignore[arg-type]
    ("unknown infno", envelope("7777", LOOKUP, sign_no="S"), "infno: 7777 is not an interface"),
    ("msgid too long", envelope("1101", LOOKUP, msgid="M" * 31), "msgid: must have at most 30"),
    ("bad inf_time", envelope("1101", LOOKUP, inf_time="2026/03/16"), "inf_time: must be a time"),
    ("bad opter_type", envelope("1101", LOOKUP, opter_type="9"), "opter_type: must match"),
    ("bad insuplc_admdvs", envelope("1101", LOOKUP, insuplc_admdvs="44"), "insuplc_admdvs: must match"),
    ("no data node", envelope("1101", {"dta": {}}, sign_no="S"), "input.data: is required"),
    ("data is a list", envelope("1101", {"data": [1]}, sign_no="S"), "input.data: must be an object"),
    ("bad cert type", envelope("1101", {"data": {"mdtrt_cert_type": "04", "mdtrt_cert_no": "x"}}, sign_no="S"),
     "input.data.mdtrt_cert_type: must be one of"),
    ("cert no a number", envelope("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": 440301}},
                                  sign_no="S"), "input.data.mdtrt_cert_no: must be a string"),
    ("signIn missing opter_no", envelope("9001", {"signIn": {"mac": "x"}}), "input.signIn.opter_no: is required"),
]


@pytest.mark.parametrize("case, body, expected", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_gets_a_clean_refusal_and_writes_nothing(platform, case, body, expected):
    before = snapshot(platform.store)
    logged = count(platform.store, "message_log")
    status, out = platform.post_raw(body)
    assert status == 200, case
    assert out["infcode"] == -1
    assert expected in out["err_msg"], out["err_msg"]
    assert "Traceback" not in out["err_msg"]
    assert snapshot(platform.store) == before
    assert count(platform.store, "message_log") == logged + 1


def test_an_oversize_body_is_refused(platform, monkeypatch):
    big = envelope("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "x" * 2_000_000}})
    before = snapshot(platform.store)
    status, out = platform.post_raw(big)
    assert status == 413 and out["infcode"] == -1 and out["err_msg"].startswith("body:")
    assert snapshot(platform.store) == before


def test_a_fault_of_the_platform_is_a_clean_refusal_without_a_trace(platform, monkeypatch):
    spec = INTERFACES["90100"]

    def broken(call, data):
        raise RuntimeError("database exploded at /srv/secret/path")

    monkeypatch.setitem(INTERFACES, "90100", type(spec)(spec.infno, spec.name, spec.input_model, broken))
    sign_no = platform.client().sign_no()
    status, out = platform.post_raw(envelope("90100", {"data": {"psn_no": "44030000000000000001"}},
                                             sign_no=sign_no))
    assert status == 200 and out["infcode"] == -1
    assert "internal error" in out["err_msg"] and "secret" not in out["err_msg"]


# -- the audit log -----------------------------------------------------------------------------------

def test_every_message_is_audited_with_id_numbers_masked(platform):
    client = platform.client()
    client.ok("1101", LOOKUP)
    with platform.store.unit_of_work() as s:
        rows = list(s.scalars(select(MessageLog).order_by(MessageLog.id)))
    assert [(r.infno, r.outcome, r.infcode) for r in rows] == [("9001", "ok", 0), ("1101", "ok", 0)]
    lookup = rows[-1]
    assert lookup.fixmedins_code == "H44030000001" and lookup.msgid and lookup.duration_ms >= 0
    assert "440301199001011234" not in lookup.request + lookup.response
    assert "440301********1234" in lookup.request and "440301********1234" in lookup.response
    assert "张三" in lookup.response  # only ID numbers are masked: the log stays readable
