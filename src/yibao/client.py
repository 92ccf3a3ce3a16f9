"""The HIS-side client: builds envelopes, signs them (x-tif), sends them, signs in per operator per day.

    client = PlatformClient("http://127.0.0.1:8000", "H44030000001", "secret", "440300", opter="op01")
    out = client.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": "4403..."}})
"""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

from yibao import wire
from yibao.observe.logs import REQUEST
from yibao.xtif import signature

SERVICE_PATH = "/fsi/api/rsfComIfsService/callService"


class PlatformError(Exception):
    """The platform answered infcode -1 (or something that is not an envelope)."""

    def __init__(self, infno: str, err_msg: str, response: Mapping[str, Any] | None = None):
        super().__init__(f"{infno}: {err_msg}")
        self.infno = infno
        self.err_msg = err_msg
        self.response = response or {}


def infcode_of(response: Mapping[str, Any]) -> int:
    """Gateways send infcode as a number or as a string: read both."""
    try:
        return int(str(response.get("infcode", "")).strip())
    except ValueError:
        return -1


class SignInCache:
    """sign_no per (platform, institution, operator, day); optionally kept in a file between CLI runs."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self._lock = threading.Lock()
        self._memory: dict[str, str] = {}
        if path and path.exists():
            try:
                self._memory = json.loads(path.read_text())
            except (OSError, ValueError):
                self._memory = {}

    @staticmethod
    def key(url: str, code: str, opter: str, day: date) -> str:
        return f"{url}|{code}|{opter}|{day.isoformat()}"

    def get(self, key: str) -> str | None:
        return self._memory.get(key)

    def put(self, key: str, sign_no: str | None) -> None:
        if sign_no is None:
            self._memory.pop(key, None)
        else:
            self._memory[key] = sign_no
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            today = date.today().isoformat()
            self.path.write_text(json.dumps({k: v for k, v in self._memory.items() if k.endswith(today)}))

    @property
    def lock(self) -> threading.Lock:
        return self._lock


#: each institution's msgid sequence in this process, from a random start (another process starts elsewhere)
_SEQUENCES: dict[str, int] = {}
_SEQ_LOCK = threading.Lock()


class PlatformClient:
    def __init__(self, base_url: str, fixmedins_code: str, secret: str, mdtrtarea_admvs: str, *,
                 fixmedins_name: str = "", opter: str = "his01", opter_name: str = "HIS", opter_type: str = "1",
                 infno_in_url: bool = False, http: httpx.Client | None = None,
                 sign_in_cache: SignInCache | None = None, timeout: float = 10.0,  # float-ok: seconds
                 extra_envelope: Mapping[str, Any] | None = None):
        self.base_url = base_url.rstrip("/")
        self.code, self.secret, self.area = fixmedins_code, secret, mdtrtarea_admvs
        self.name, self.opter, self.opter_name, self.opter_type = fixmedins_name, opter, opter_name, opter_type
        self.infno_in_url = infno_in_url
        self.http = http or httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(
            # headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm holds the
            # body until the server's delayed ACK (40 ms) on every call
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]))
        self.cache = sign_in_cache or SignInCache()
        self.extra_envelope = dict(extra_envelope or {})
        #: told every message sent: (infno, infcode answered or None, seconds); the hospital's metrics
        self.on_sent: Callable[[str, int | None, float], None] | None = None

    # -- building -----------------------------------------------------------------------------
    def next_msgid(self) -> str:
        """fixmedins_code + yyyyMMddHHmmss + 4-digit sequence (interface.md 1.1). The sequence is the process's
        for each institution, so its clients (one per desk, per thread) never meet on a msgid."""
        with _SEQ_LOCK:
            seq = _SEQUENCES[self.code] = (_SEQUENCES.get(self.code, random.randrange(10000)) + 1) % 10000
        return f"{self.code}{datetime.now():%Y%m%d%H%M%S}{seq:04d}"

    def envelope(self, infno: str, input_: Mapping[str, Any], insuplc_admdvs: str = "", sign_no: str = "",
                 msgid: str | None = None) -> dict[str, Any]:
        return {
            "infno": infno, "msgid": msgid or self.next_msgid(), "mdtrtarea_admvs": self.area,
            "insuplc_admdvs": insuplc_admdvs, "recer_sys_code": "YIBAO", "dev_no": "", "dev_safe_info": "",
            "cainfo": "", "signtype": "", "infver": "V1.0", "opter_type": self.opter_type, "opter": self.opter,
            "opter_name": self.opter_name, "inf_time": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "fixmedins_code": self.code, "fixmedins_name": self.name, "sign_no": sign_no,
            **self.extra_envelope, "input": dict(input_),
        }

    def headers(self) -> dict[str, str]:
        ts = str(int(time.time()))
        nonce = secrets.token_hex(16)
        headers = {"Content-Type": "application/json; charset=utf-8", "x-tif-paasid": self.code,
                   "x-tif-timestamp": ts, "x-tif-nonce": nonce, "x-tif-signature": signature(ts, self.secret, nonce)}
        request = REQUEST.get()
        if request and request.get("request_id"):  # sent while answering a request: the platform logs the same id
            headers["x-request-id"] = str(request["request_id"])
        return headers

    # -- sending ------------------------------------------------------------------------------
    def send(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """POST one envelope and return the parsed answer (decimals as Decimal)."""
        url = self.base_url + SERVICE_PATH + (f"/{envelope['infno']}" if self.infno_in_url else "")
        infno, start, infcode = str(envelope.get("infno")), time.perf_counter(), None
        try:
            reply = self.http.post(url, content=wire.encode(envelope), headers=self.headers())
            try:
                answer = wire.decode(reply.content)
            except ValueError:
                raise PlatformError(infno, f"HTTP {reply.status_code}, not JSON") from None
            if not isinstance(answer, dict):
                raise PlatformError(infno, f"HTTP {reply.status_code}, not an envelope")
            infcode = infcode_of(answer)
            return answer
        finally:
            if self.on_sent is not None:
                self.on_sent(infno, infcode, time.perf_counter() - start)

    def call(self, infno: str, input_: Mapping[str, Any], insuplc_admdvs: str = "") -> dict[str, Any]:
        """Send a business message, signing in first if this operator has no sign_no for today."""
        if infno == "9001":
            return self.send(self.envelope(infno, input_, insuplc_admdvs))
        answer = self.send(self.envelope(infno, input_, insuplc_admdvs, self.sign_no()))
        if infcode_of(answer) != 0 and str(answer.get("err_msg", "")).startswith("sign_no:"):
            # the platform's business day moved on (or someone signed us out): sign in once more
            answer = self.send(self.envelope(infno, input_, insuplc_admdvs, self.sign_no(renew=True)))
        return answer

    def ok(self, infno: str, input_: Mapping[str, Any], insuplc_admdvs: str = "") -> dict[str, Any]:
        """The output of a successful call; PlatformError on infcode -1."""
        answer = self.call(infno, input_, insuplc_admdvs)
        if infcode_of(answer) != 0:
            raise PlatformError(infno, str(answer.get("err_msg", "")), answer)
        return answer.get("output") or {}

    # -- sign-in ------------------------------------------------------------------------------
    def sign_no(self, renew: bool = False) -> str:
        key = SignInCache.key(self.base_url, self.code, self.opter, date.today())
        with self.cache.lock:
            cached = None if renew else self.cache.get(key)
            if cached:
                return cached
            answer = self.send(self.envelope("9001", {"signIn": {"opter_no": self.opter, "mac": "", "ip": ""}}))
            if infcode_of(answer) != 0:
                raise PlatformError("9001", str(answer.get("err_msg", "")), answer)
            sign_no = str((answer.get("output") or {}).get("signinoutb", {}).get("sign_no", ""))
            if not sign_no:
                raise PlatformError("9001", "the answer carries no sign_no", answer)
            self.cache.put(key, sign_no)
            return sign_no

    def sign_out(self) -> dict[str, Any]:
        key = SignInCache.key(self.base_url, self.code, self.opter, date.today())
        sign_no = self.cache.get(key)
        if not sign_no:
            raise PlatformError("9002", "this operator is not signed in today")
        answer = self.send(self.envelope("9002", {"signOut": {"sign_no": sign_no, "opter_no": self.opter}},
                                         sign_no=sign_no))
        if infcode_of(answer) != 0:
            raise PlatformError("9002", str(answer.get("err_msg", "")), answer)
        self.cache.put(key, None)
        return answer.get("output") or {}


def client_from_env(**overrides: Any) -> PlatformClient:
    """A client configured by YIBAO_URL, YIBAO_FIXMEDINS_CODE, YIBAO_SECRET, YIBAO_ADMDVS, YIBAO_OPTER."""
    def pick(name: str, env: str, default: str | None = None) -> str:
        value = overrides.get(name) or os.environ.get(env) or default
        if not value:
            raise ValueError(f"{name} is not set: pass --{name.replace('_', '-')} or set {env}")
        return value

    cache_file = Path(os.environ.get("YIBAO_SIGNIN_CACHE", Path.home() / ".cache" / "yibao" / "signin.json"))
    return PlatformClient(pick("url", "YIBAO_URL", "http://127.0.0.1:8000"), pick("code", "YIBAO_FIXMEDINS_CODE"),
                          pick("secret", "YIBAO_SECRET"), pick("admdvs", "YIBAO_ADMDVS"),
                          opter=pick("opter", "YIBAO_OPTER", "his01"), sign_in_cache=SignInCache(cache_file))
