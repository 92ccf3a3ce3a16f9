"""Fuzzing: schemathesis over both OpenAPI documents, and a corpus of malformed gateway envelopes.

- The platform (`yibao serve` on a fresh PostgreSQL schema: NUL bytes and 64-bit overflows reach a database that
  minds them) and the hospital (`yibao hospital serve` beside the demo platform), each fuzzed over HTTP from its own
  `/openapi.json`: every operation, POSITIVE and NEGATIVE examples (a bounded number, derandomized: the same cases
  every run), each sent with a valid token of the kind the route wants. No answer may be a 5xx, and every refusal of
  a JSON API must be RFC 9457 problem details (`application/problem+json`).
- The gateway's corpus: wrong types, 1e308, NaN, Infinity, negative amounts, unicode oddities, NUL bytes, 10 000
  levels of nesting, a body over 1 MiB, bad signatures, missing fields, unknown infno, junk in coded fields — each
  sent signed (but for the signature cases). Each must be answered by an envelope with infcode -1 and its reason,
  none by a 5xx or the platform's internal error, and the business tables must hold exactly the rows they held
  before (all but `message_log` and `nonces`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from helpers import signed_headers
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from yibao import wire
from yibao.api.tokens import issue

from .conftest import (
    DRUG,
    GZ,
    HOSP_A,
    HOSP_B,
    INSTITUTIONS,
    SERVICE,
    SZ,
    TODAY,
    TOKEN_KEY,
    Desk,
    HospitalStack,
    Platform,
    employee,
    hospital_stack,
    served_platform,
    world,
)

#: examples per operation and generation mode
EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 8}
PERSON, OTHER = employee(401), employee(402, GZ)
PROBLEM = "application/problem+json"


@dataclass
class Exchange:
    label: str
    mode: str
    method: str
    url: str
    status: int
    content_type: str
    body: str


@dataclass
class Fuzzed:
    exchanges: list[Exchange] = field(default_factory=list)
    not_generated: list[str] = field(default_factory=list)

    def server_errors(self) -> list[Exchange]:
        return [x for x in self.exchanges if x.status >= 500]


def fuzz(spec: dict[str, Any], base_url: str, headers_for: Callable[[str], dict[str, str]]) -> Fuzzed:
    """Every operation of `spec`, EXAMPLES cases each, sent to `base_url`; every exchange kept."""
    out = Fuzzed()
    schema = schemathesis.openapi.from_dict(spec)
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, count in EXAMPLES.items():
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception as exc:  # noqa: BLE001 - an operation without a negative form
                out.not_generated.append(f"{operation.label} {mode.value}: {exc}")
                continue

            send = _sender(out, session, base_url, headers_for, operation, mode, count, strategy)
            try:
                send()
            except Exception as exc:  # noqa: BLE001 - hypothesis could not generate: recorded, not hidden
                out.not_generated.append(f"{operation.label} {mode.value}: {type(exc).__name__}: {exc}"[:300])
    session.close()
    return out


def _sender(out: Fuzzed, session: requests.Session, base_url: str, headers_for: Callable[[str], dict[str, str]],
            operation: Any, mode: GenerationMode, count: int, strategy: Any) -> Callable[[], None]:
    @settings(max_examples=count, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=strategy)
    def send(case: Any) -> None:
        headers = {**(case.headers or {}), **headers_for(operation.path)}
        try:
            reply = case.call(base_url=base_url, session=session, headers=headers, timeout=60)
        except requests.RequestException as exc:
            out.exchanges.append(Exchange(operation.label, mode.value, case.method, case.formatted_path, 599, "",
                                          f"no answer: {exc}"))
            return
        content_type = reply.headers.get("content-type", "")
        if isinstance(content_type, list):  # schemathesis keeps every value of a header
            content_type = ", ".join(content_type)
        out.exchanges.append(Exchange(operation.label, mode.value, case.method, reply.request.url or "",
                                      reply.status_code, content_type, reply.text[:20_000]))

    return send


def problem_shape_errors(fuzzed: Fuzzed, wanted: Callable[[Exchange], bool]) -> list[str]:
    """4xx answers of JSON API routes that are not problem details (RFC 9457)."""
    wrong = []
    for x in fuzzed.exchanges:
        if not (400 <= x.status < 500) or not wanted(x):
            continue
        try:
            body = json.loads(x.body) if x.body.endswith("}") else {}
        except ValueError:
            body = {}
        if not x.content_type.startswith(PROBLEM) or not {"type", "title", "status", "detail"} <= set(body) \
                or body.get("status") != x.status:
            wrong.append(f"{x.status} {x.method} {x.url} ({x.content_type}): {x.body[:120]}")
    return wrong


def summary(errors: list[Exchange]) -> str:
    by_label: dict[str, list[Exchange]] = {}
    for x in errors:
        by_label.setdefault(x.label, []).append(x)
    return "\n".join(f"{label}: {len(xs)} x {xs[0].status} e.g. {xs[0].url} -> {xs[0].body[:160]}"
                     for label, xs in sorted(by_label.items()))


# -- the platform's OpenAPI ---------------------------------------------------------------------------------------

def platform_token(path: str) -> dict[str, str]:
    """The token of the kind each route wants (the JSON API); the gateway and mobile payment sign otherwise."""
    key = TOKEN_KEY.encode()
    if path.startswith(("/api/v1/me/", "/api/v1/ecredential", "/api/v1/insurance-products")):
        token = issue(key, "person", PERSON.psn_no)
    elif path.startswith("/api/v1/institution/"):
        token = issue(key, "institution", HOSP_A)
    elif path.startswith("/api/v1/centre/"):
        token = issue(key, "centre", "440000")
    elif path.startswith("/api/v1/"):
        token = issue(key, "agency", SZ)
    else:
        return {}
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp("fuzz-platform")
    with served_platform("postgresql", world([PERSON, OTHER, employee(403)]), tmp, request.config, workers=1,
                         label="fuzz") as p:
        yield p


@pytest.fixture(scope="module")
def platform_fuzzed(platform: Platform) -> Fuzzed:
    spec = httpx.get(platform.url + "/openapi.json", timeout=60).json()
    return fuzz(spec, platform.url, platform_token)


@pytest.mark.xdist_group("adversarial-fuzz-platform")
def test_platform_openapi_fuzzed_answers_no_5xx(platform: Platform, platform_fuzzed: Fuzzed, figures: Any) -> None:
    errors = platform_fuzzed.server_errors()
    figures("fuzz", requests=len(platform_fuzzed.exchanges), server_errors=len(errors))
    assert len(platform_fuzzed.exchanges) > 500, platform_fuzzed.not_generated[:5]
    assert not errors, f"{len(errors)} answers >= 500 of {len(platform_fuzzed.exchanges)}:\n{summary(errors)}"


@pytest.mark.xdist_group("adversarial-fuzz-platform")
def test_platform_api_refusals_are_problem_details(platform_fuzzed: Fuzzed) -> None:
    wrong = problem_shape_errors(platform_fuzzed, lambda x: "/api/v1/" in x.url)
    assert not wrong, f"{len(wrong)} refusals of /api/v1 are not {PROBLEM}, e.g.:\n" + "\n".join(wrong[:8])


# -- the hospital's OpenAPI ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hospital(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HospitalStack]:
    with hospital_stack(tmp_path_factory.mktemp("fuzz-hospital")) as stack:
        yield stack


@pytest.fixture(scope="module")
def hospital_fuzzed(hospital: HospitalStack) -> Fuzzed:
    staff = hospital.headers("staff", "fuzz01")
    # something to find: a patient with a pending registration fee
    with httpx.Client(base_url=hospital.url, headers=staff, timeout=60) as http:
        pid = http.post("/patients", json={"name": "甲", "certno": "440301199202021012"}).json()["patient_id"]
        doctors = http.get("/doctors").json()
        slot = next(s for d in doctors for s in d["slots"] if s["day"] == TODAY)
        http.post("/registrations", json={"patient_id": pid, "slot_id": slot["slot_id"]})
    spec = httpx.get(hospital.url + "/openapi.json", timeout=60).json()
    return fuzz(spec, hospital.url, lambda path: staff)


@pytest.mark.xdist_group("adversarial-fuzz-hospital")
def test_hospital_openapi_fuzzed_answers_no_5xx(hospital: HospitalStack, hospital_fuzzed: Fuzzed,
                                                figures: Any) -> None:
    errors = hospital_fuzzed.server_errors()
    figures("fuzz", requests=len(hospital_fuzzed.exchanges), server_errors=len(errors))
    assert len(hospital_fuzzed.exchanges) > 400, hospital_fuzzed.not_generated[:5]
    assert not errors, f"{len(errors)} answers >= 500 of {len(hospital_fuzzed.exchanges)}:\n{summary(errors)}"


@pytest.mark.xdist_group("adversarial-fuzz-hospital")
def test_hospital_api_refusals_are_problem_details(hospital_fuzzed: Fuzzed) -> None:
    wrong = problem_shape_errors(hospital_fuzzed, lambda x: "/callbacks/" not in x.url)
    assert not wrong, f"{len(wrong)} refusals of the hospital are not {PROBLEM}, e.g.:\n" + "\n".join(wrong[:8])


# -- the gateway's corpus of malformed envelopes ------------------------------------------------------------------

@dataclass
class Malformed:
    name: str
    body: bytes
    headers: dict[str, str] | None = None  # None: freshly signed for HOSP_A
    path: str = SERVICE


def corpus(desk: Desk, mdtrt_id: str) -> list[Malformed]:
    psn, cert = PERSON.psn_no, PERSON.certno
    sign_no = desk.client.sign_no()

    def env(infno: str, input_: Any, **over: Any) -> dict[str, Any]:
        out = desk.client.envelope(infno, input_, "", sign_no)
        out.update(over)
        return out

    def raw(obj: Any) -> bytes:
        return wire.encode(obj)

    reg = {"psn_no": psn, "insutype": "310", "begntime": f"{TODAY} 09:00:00", "mdtrt_cert_type": "02",
           "mdtrt_cert_no": cert, "ipt_otp_no": "FUZZ-1"}

    numbers = iter(range(2, 10**6))

    def register(**over: Any) -> bytes:
        """A 2201 with its own visit number, so that each case is refused for its own junk or not at all."""
        return raw(env("2201", {"data": {**reg, "ipt_otp_no": f"FUZZ-{next(numbers)}", **over}}))

    line = {"feedetl_sn": "F1", "mdtrt_id": mdtrt_id, "psn_no": psn, "chrg_bchno": "FB1",
            "fee_ocur_time": f"{TODAY} 09:30:00", "med_list_codg": DRUG, "medins_list_codg": "A",
            "det_item_fee_sumamt": "100.00", "cnt": "1", "pric": "100.00"}

    def upload(**over: Any) -> bytes:
        return raw(env("2204", {"feedetail": [{**line, **over}]}))

    def upload_text(field_name: str, token: str) -> bytes:
        """A 2204 whose field is a bare JSON token (NaN, Infinity, 1e308...) the encoder would not write."""
        text = upload(**{field_name: "@@TOKEN@@"}).decode("utf-8")
        return text.replace('"@@TOKEN@@"', token).encode("utf-8")

    settle = {"psn_no": psn, "mdtrt_cert_type": "02", "mdtrt_cert_no": cert, "med_type": "11",
              "medfee_sumamt": "100.00", "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "FB1",
              "acct_used_flag": "1", "insutype": "310"}

    def settlement(**over: Any) -> bytes:
        return raw(env("2207", {"data": {**settle, **over}}))

    good = env("2201", {"data": reg})
    without = {k: v for k, v in good.items()}
    deep = '{"data": ' + "[" * 10_000 + "]" * 10_000 + "}"
    ts = str(int(time.time()))
    secret = INSTITUTIONS[HOSP_A][0]
    cases = [
        Malformed("not JSON", b"{not json"),
        Malformed("empty body", b""),
        Malformed("a JSON array", b"[]"),
        Malformed("a JSON number 1e308", b"1e308"),
        Malformed("a JSON string", b'"2201"'),
        Malformed("invalid UTF-8", b'{"infno": "\xff\xfe"}'),
        Malformed("UTF-16 body", json.dumps(good, ensure_ascii=False).encode("utf-16")),
        Malformed("byte order mark before junk", b"\xef\xbb\xbf" + raw({**good, "infno": 2201})),
        Malformed("missing infno", raw({k: v for k, v in without.items() if k != "infno"})),
        Malformed("missing msgid", raw({k: v for k, v in without.items() if k != "msgid"})),
        Malformed("missing input", raw({k: v for k, v in without.items() if k != "input"})),
        Malformed("input is a list", raw({**good, "input": [reg]})),
        Malformed("input is a string", raw({**good, "input": "data"})),
        Malformed("input is null", raw({**good, "input": None})),
        Malformed("infno is a number", raw({**good, "infno": 2201})),
        Malformed("msgid is an object", raw({**good, "msgid": {"$gt": ""}})),
        Malformed("msgid of 4000 characters", raw({**good, "msgid": "M" * 4000})),
        Malformed("opter_type 9", raw({**good, "opter_type": "9"})),
        Malformed("inf_time not a time", raw({**good, "inf_time": "yesterday"})),
        Malformed("another institution's code", raw({**good, "fixmedins_code": HOSP_B})),
        Malformed("another region", raw({**good, "mdtrtarea_admvs": GZ})),
        Malformed("unknown infno", raw({**good, "infno": "9999"})),
        Malformed("infno with a path", raw({**good, "infno": "../../etc/passwd"})),
        Malformed("infno of 100 letters", raw({**good, "infno": "A" * 100})),
        Malformed("URL infno differs", raw(good), path=SERVICE + "/2207"),
        Malformed("URL infno junk", raw(good), path=SERVICE + "/%00%ff"),
        Malformed("duplicate keys", raw(good)[:-1] + b', "infno": "9999"}'),
        Malformed("no sign_no", raw({**good, "sign_no": ""})),
        Malformed("sign_no of someone else", raw({**good, "sign_no": "X" * 30})),
        Malformed("mdtrt_cert_type 1e308", register(mdtrt_cert_type="1e308")),
        Malformed("mdtrt_cert_type NaN", register(mdtrt_cert_type="NaN")),
        Malformed("mdtrt_cert_type a number", register(mdtrt_cert_type=2)),
        Malformed("mdtrt_cert_type null", register(mdtrt_cert_type=None)),
        Malformed("mdtrt_cert_type a list", register(mdtrt_cert_type=["02"])),
        Malformed("insutype junk", register(insutype="3१0")),
        Malformed("insutype 1e308", register(insutype="1e308")),
        Malformed("psn_no with a NUL byte", register(psn_no=psn + "\u0000")),
        Malformed("ipt_otp_no with a NUL byte", register(ipt_otp_no="FUZZ\u0000-1")),
        Malformed("ipt_otp_no with a lone surrogate", register(ipt_otp_no="FUZZ@@").replace(b"@@", b"\\ud800")),
        Malformed("psn_no with a right-to-left override", register(psn_no="\u202e" + psn)),
        Malformed("certno with zero-width characters and an emoji", register(mdtrt_cert_no=cert[:9] + "\u200b\ufeff🦠"
                                                                              + cert[9:])),
        Malformed("ipt_otp_no of 100 000 characters", register(ipt_otp_no="Z" * 100_000)),
        Malformed("begntime not a time", register(begntime="2026-02-30 25:61:61")),
        Malformed("begntime year 99999", register(begntime="99999-01-01 00:00:00")),
        Malformed("certno unicode digits", register(mdtrt_cert_no="４４０３０１１９９００１０１１２３４")),
        Malformed("amount 1e308", upload(det_item_fee_sumamt="1e308", pric="1e308")),
        Malformed("amount 1e308 as a number", upload_text("det_item_fee_sumamt", "1e308")),
        Malformed("amount NaN as a token", upload_text("det_item_fee_sumamt", "NaN")),
        Malformed("amount Infinity as a token", upload_text("pric", "Infinity")),
        Malformed("amount -Infinity as a token", upload_text("cnt", "-Infinity")),
        Malformed("amount NaN as a string", upload(det_item_fee_sumamt="NaN")),
        Malformed("amount Infinity as a string", upload(pric="Infinity")),
        Malformed("amount negative", upload(det_item_fee_sumamt="-100.00", pric="-100.00")),
        Malformed("amount with three places", upload(det_item_fee_sumamt="100.005", pric="100.005")),
        Malformed("amount 1e-308", upload_text("det_item_fee_sumamt", "1e-308")),
        Malformed("amount a word", upload(det_item_fee_sumamt="a hundred")),
        Malformed("amount true", upload(det_item_fee_sumamt=True)),
        Malformed("count 0", upload(cnt="0", det_item_fee_sumamt="0.00")),
        Malformed("count 1e308", upload(cnt="1e308")),
        Malformed("unknown catalog code", upload(med_list_codg="NO-SUCH\u0000CODE")),
        Malformed("visit of nobody", upload(mdtrt_id="4403002026031600000000000000")),
        Malformed("line list empty", raw(env("2204", {"feedetail": []}))),
        Malformed("ten thousand levels of nesting", raw(env("2204", {"feedetail": []}))[:-2] + b", "
                  + deep.encode() + b"}}"),
        Malformed("nesting in the input", ('{"infno": "2204", "input": ' + "{\"a\": " * 10_000 + "1"
                                           + "}" * 10_000 + "}").encode()),
        Malformed("over 1 MiB", raw({**good, "padding": "x" * (1024 * 1024 + 10)})),
        Malformed("settlement total negative", settlement(medfee_sumamt="-100.00")),
        Malformed("settlement total 1e308", settlement(medfee_sumamt="1e308")),
        Malformed("settlement acct_used_flag junk", settlement(acct_used_flag="1e308")),
        Malformed("settlement med_type junk", settlement(med_type="\u0000")),
        Malformed("settlement psn_setlway junk", settlement(psn_setlway="99")),
        Malformed("cancel of no settlement", raw(env("2208", {"data": {"setl_id": "S" * 30, "mdtrt_id": mdtrt_id,
                                                                       "psn_no": psn}}))),
        Malformed("reversal of junk infno", raw(env("2601", {"data": {"psn_no": psn, "omsgid": "X",
                                                                       "oinfno": "2207; DROP TABLE"}}))),
        Malformed("sign-in of another operator", raw(env("9001", {"signIn": {"opter_no": "someone", "mac": "",
                                                                              "ip": ""}}))),
        Malformed("bad signature", register(), headers={**signed_headers(HOSP_A, secret), "x-tif-signature": "0" * 64}),
        Malformed("signed with another secret", register(), headers=signed_headers(HOSP_A, "not-the-secret")),
        Malformed("stale timestamp", register(), headers=signed_headers(HOSP_A, secret, ts=str(int(ts) - 3600))),
        Malformed("timestamp from the future", register(), headers=signed_headers(HOSP_A, secret,
                                                                                    ts=str(int(ts) + 3600))),
        Malformed("timestamp 1e308", register(), headers=signed_headers(HOSP_A, secret, ts="1e308")),
        Malformed("timestamp a word", register(), headers=signed_headers(HOSP_A, secret, ts="now")),
        Malformed("unknown paasid", register(), headers=signed_headers("H99999999999", secret)),
        Malformed("no headers", register(), headers={"Content-Type": "application/json"}),
        Malformed("nonce of 10 000 characters", register(), headers=signed_headers(HOSP_A, secret,
                                                                                     nonce="n" * 10_000)),
    ]
    reused = signed_headers(HOSP_A, secret)
    cases += [Malformed("nonce reused (first use refused for its body)", register(psn_no="nobody"), headers=reused),
              Malformed("nonce reused", register(), headers=reused)]
    return cases


@pytest.mark.xdist_group("adversarial-fuzz-platform")
def test_gateway_corpus_of_malformed_envelopes_is_refused_and_writes_nothing(platform: Platform,
                                                                             figures: Any) -> None:
    desk = Desk(platform.url, HOSP_A, opter=f"fz{uuid.uuid4().hex[:6]}")
    try:
        registered = desk.ok("2201", {"data": {"psn_no": PERSON.psn_no, "insutype": "310",
                                               "begntime": f"{TODAY} 09:00:00", "mdtrt_cert_type": "02",
                                               "mdtrt_cert_no": PERSON.certno, "ipt_otp_no": "FUZZ-0"}})
        mdtrt_id = registered["data"]["mdtrt_id"]
        desk.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": PERSON.psn_no, "med_type": "11",
                                       "begntime": f"{TODAY} 09:00:00"}, "diseinfo": []})
        cases = corpus(desk, mdtrt_id)
        before = platform.books.counts()
        problems = []
        server_errors = 0
        with httpx.Client(timeout=120) as http:
            for case in cases:
                headers = case.headers or signed_headers(HOSP_A, INSTITUTIONS[HOSP_A][0])
                reply = http.post(platform.url + case.path, content=case.body, headers=headers)
                try:
                    answer = wire.decode(reply.content)
                except ValueError:
                    answer = None
                err = str(answer.get("err_msg", "")) if isinstance(answer, dict) else ""
                if reply.status_code >= 500 or err.startswith("platform internal error"):
                    server_errors += 1
                    problems.append(f"{case.name}: HTTP {reply.status_code}, {err or reply.text[:200]}")
                elif not isinstance(answer, dict) or answer.get("infcode") != -1 or not err.strip():
                    problems.append(f"{case.name}: HTTP {reply.status_code}, not a refusal: {reply.text[:200]}")
        after = platform.books.counts()
    finally:
        desk.close()
    figures("fuzz", requests=len(cases), server_errors=server_errors)
    written = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert not problems, f"{len(problems)} of {len(cases)} malformed envelopes:\n" + "\n".join(problems)
    assert not written, f"refused envelopes wrote business rows (before, after): {written}"
