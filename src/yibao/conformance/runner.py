"""Running scenarios against a target platform over the signed wire (yibao.client), step by step, keeping what
was sent and answered so that a failure shows both beside the expected figure."""

from __future__ import annotations

import base64
import io
import secrets
import socket
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from yibao import wire
from yibao.client import PlatformClient, PlatformError, SignInCache, infcode_of
from yibao.conformance import checks
from yibao.conformance.profile import Profile
from yibao.conformance.scenario import Scenario, Step

DETAIL_HEADER = "setl_id\tmdtrt_id\tpsn_no\tmedfee_sumamt\tfund_pay_sumamt\tacct_pay\trefd_setl_flag"


@dataclass
class Exchange:
    """One message of a scenario: what was sent and what came back."""
    where: str
    sent: Any = None
    answer: Any = None


@dataclass
class Outcome:
    scenario: Scenario
    failures: list[str] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    seconds: float = 0.0  # float-ok: duration for the report
    steps_done: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures


class StepFailed(Exception):
    def __init__(self, step: Step, problems: list[str]):
        super().__init__("; ".join(problems))
        self.step, self.problems = step, problems


class Runner:
    """The kit at one target: one client per institution of the profile, signed in once each."""

    def __init__(self, url: str, profile: Profile, run_tag: str | None = None, http: httpx.Client | None = None):
        self.url, self.profile = url.rstrip("/"), profile
        self.run_tag = run_tag or secrets.token_hex(3).upper()
        self.http = http or httpx.Client(timeout=30.0, transport=httpx.HTTPTransport(  # float-ok: seconds
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]))
        self.cache = SignInCache()
        self.clients: dict[tuple[str, str], PlatformClient] = {}

    def close(self) -> None:
        self.http.close()

    def client(self, role: str, secret: str = "") -> PlatformClient:
        inst = self.profile.institutions.get(role)
        if inst is None:
            raise checks.Unresolved(f"the profile has no institution {role!r} (it has "
                                    f"{', '.join(self.profile.institutions)})")
        key = (role, secret)
        if key not in self.clients:
            self.clients[key] = PlatformClient(self.url, inst.code, secret or inst.secret, inst.admdvs,
                                               fixmedins_name=inst.name, opter=self.profile.opter,
                                               opter_name="conformance kit", http=self.http,
                                               sign_in_cache=self.cache if not secret else SignInCache())
        return self.clients[key]

    def names(self, scenario: Scenario) -> dict[str, Any]:
        names: dict[str, Any] = {**scenario.vars, **self.profile.vars}
        names.update({role: inst.as_vars() for role, inst in self.profile.institutions.items()})
        names["run"], names["opter"] = self.run_tag, self.profile.opter
        return names

    # -- a scenario ---------------------------------------------------------------------------------------------
    def run(self, scenario: Scenario) -> Outcome:
        outcome = Outcome(scenario)
        names = self.names(scenario)
        start = time.perf_counter()
        try:
            for n, step in enumerate(scenario.steps):
                names[f"_{n}"] = None
                self.step(step, names, outcome)
                outcome.steps_done += 1
        except StepFailed as failed:
            outcome.failures = [f"{failed.step.where}: {p}" for p in failed.problems]
            self.clean_up(scenario, names)
        outcome.seconds = time.perf_counter() - start
        return outcome

    def clean_up(self, scenario: Scenario, names: dict[str, Any]) -> None:
        """The scenario's cleanup steps, best effort: one that names what the run never made is skipped."""
        for step in scenario.cleanup:
            try:
                self.exchange(step, names, Exchange(step.where))
            except (checks.Unresolved, PlatformError, httpx.HTTPError):
                continue

    def step(self, step: Step, names: dict[str, Any], outcome: Outcome) -> None:
        exchange = Exchange(step.where)
        outcome.exchanges.append(exchange)
        try:
            if step.pull_details is not None:
                record = self.pull_details(step, checks.substitute(step.pull_details, names), exchange)
            else:
                record = self.exchange(step, names, exchange)
        except checks.Unresolved as exc:
            raise StepFailed(step, [str(exc)]) from None
        except (PlatformError, httpx.HTTPError) as exc:
            raise StepFailed(step, [f"no answer to judge: {exc}"]) from None
        if step.id:
            names[step.id] = record
        if step.lose_answer:
            return
        problems = self.judge(step, record, names)
        if problems:
            raise StepFailed(step, problems)

    def exchange(self, step: Step, names: dict[str, Any], exchange: Exchange) -> dict[str, Any]:
        his = self.client(step.role, checks.substitute(step.secret, names))
        if step.detail_file is not None:
            spec = checks.substitute(step.detail_file, names)
            input_: Any = {"fsUploadIn": {"in": base64.b64encode(detail_zip(spec)).decode("ascii"),
                                          "filename": f"{spec.get('name', 'detail')}.zip", "fixmedins_code": his.code}}
        else:
            input_ = checks.substitute(step.input, names)
        insuplc = str(checks.substitute(step.insuplc, names))
        if step.sign_no is not None:
            sign_no = str(checks.substitute(step.sign_no, names))
        else:
            sign_no = "" if step.send == "9001" else self.client(step.role).sign_no()
        if step.resend:
            envelope = checks.lookup(names, f"{step.resend}.sent")
        else:
            envelope = his.envelope(step.send, input_, insuplc, sign_no,
                                    msgid=checks.substitute(step.msgid, names) or None)
        exchange.sent = envelope
        answer = his.send(envelope)
        exchange.answer = answer
        return record_of(envelope, answer)

    def judge(self, step: Step, record: Mapping[str, Any], names: Mapping[str, Any]) -> list[str]:
        problems = []
        if step.refused is not None:
            if infcode_of(record) != -1:
                problems.append(f"infcode: expected -1 (a refusal naming {step.refused!r}), got "
                                f"{record.get('infcode')!r}")
            else:
                problems += filter(None, [checks.check("err_msg", {"contains": checks.substitute(step.refused, names)},
                                                       record)])
        elif "infcode" not in step.expect and infcode_of(record) != 0:
            problems.append(f"infcode: expected 0, got {record.get('infcode')!r} ({record.get('err_msg', '')})")
        for path, want in step.expect.items():
            try:
                expected = checks.substitute(want, names)
            except checks.Unresolved as exc:
                problems.append(f"{path}: {exc}")
                continue
            problem = checks.check(path, expected, record)
            if problem:
                problems.append(problem)
        return problems

    # -- reconciliation: what the platform holds already for the window --------------------------------------
    def pull_details(self, step: Step, scope: Mapping[str, Any], exchange: Exchange) -> dict[str, Any]:
        """The settlement records the target holds for this institution and window, learnt the national way:
        an empty detail file reconciled by 3202, whose result file lists every record the file lacks."""
        his = self.client(step.role)
        sign_no = his.sign_no()

        def ok(infno: str, input_: Mapping[str, Any]) -> dict[str, Any]:
            envelope = his.envelope(infno, input_, "", sign_no)
            exchange.sent, exchange.answer = envelope, his.send(envelope)
            if infcode_of(exchange.answer) != 0:
                raise StepFailed(step, [f"{infno} refused: {exchange.answer.get('err_msg', '')}"])
            return exchange.answer.get("output") or {}

        empty = base64.b64encode(detail_zip({"name": "empty", "lines": []})).decode("ascii")
        up = ok("9101", {"fsUploadIn": {"in": empty, "filename": "empty.zip", "fixmedins_code": his.code}})
        out = ok("3202", {"data": {**scope, "file_qury_no": up.get("file_qury_no", ""), "medfee_sumamt": "0.00",
                                   "fund_pay_sumamt": "0.00", "cash_payamt": "0.00", "fixmedins_setl_cnt": 0}})
        info = out.get("fileinfo") or {}
        got = ok("9102", {"fsDownloadIn": {"file_qury_no": info.get("file_qury_no", ""),
                                           "filename": info.get("filename", ""), "fixmedins_code": his.code}})
        rows = [line.split("\t") for line in unzipped_lines(got.get("file")) if line.strip()]
        lines = [f"{r[2]}\t{r[1]}\t{r[0]}\t{r[7]}\t{r[8]}\t{r[9]}\t{r[5]}" for r in rows if len(r) >= 10]
        total = {k: sum((checks.amount(r[i], k) for r in rows if len(r) >= 10), checks.amount("0", k))
                 for k, i in (("medfee_sumamt", 7), ("fund_pay_sumamt", 8), ("acct_pay", 9))}
        return {**total, "cnt": len(lines), "lines": lines, "infcode": 0}


def record_of(envelope: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
    """The answer as a scenario reads it: with the msgid and the envelope sent, and a downloaded file's lines."""
    record = {**answer, "msgid": envelope.get("msgid"), "sent": envelope}
    output = answer.get("output")
    if isinstance(output, Mapping) and isinstance(output.get("file"), str):
        record["file_lines"] = unzipped_lines(output["file"])
    return record


def unzipped_lines(content: Any) -> list[str]:
    """The text lines of a base64 zip (every file in it), or [] when it is not one."""
    if not isinstance(content, str):
        return []
    try:
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(content))) as archive:
            return [line for name in archive.namelist()
                    for line in archive.read(name).decode("utf-8-sig").splitlines()]
    except (ValueError, zipfile.BadZipFile, UnicodeDecodeError):
        return []


def detail_zip(spec: Mapping[str, Any]) -> bytes:
    """A 3202 detail file: a zip of one tab-separated text, a header line and the given lines."""
    lines = [line for item in spec.get("lines") or [] for line in
             (item if isinstance(item, list) else str(item).splitlines()) if str(line).strip()]
    text = "\n".join([DETAIL_HEADER, *map(str, lines)]) + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{spec.get('name', 'detail')}.txt", text.encode("utf-8"))
    return buffer.getvalue()


def encoded(obj: Any) -> str:
    return wire.encode(obj).decode("utf-8")
