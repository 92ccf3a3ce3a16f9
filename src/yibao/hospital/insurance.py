"""The hospital's side of the wire protocol: every message it sends the platform, through PlatformClient.

A committing message (2207, 2208) whose answer is lost is sent again BYTE FOR BYTE: the platform answers a
msgid it already committed with the stored answer (docs/gateway.md, msgid replay), and runs it if it did not.
So an unknown outcome is resolved by asking again, never guessed."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from yibao import wire
from yibao.client import PlatformClient, PlatformError, infcode_of
from yibao.hospital.config import HospitalConfig
from yibao.observe.metrics import PLATFORM_MESSAGES, PLATFORM_SECONDS

RETRIES = 3


class OutcomeUnknown(Exception):
    """The platform could not be reached (or did not answer) for a committing message: resend it as-is later."""


def client_for(config: HospitalConfig, http: httpx.Client | None = None) -> PlatformClient:
    return PlatformClient(config.platform_url, config.fixmedins_code, config.secret, config.admdvs,
                          fixmedins_name=config.fixmedins_name, opter=config.opter, opter_name=config.opter_name,
                          opter_type="3", http=http, timeout=10.0)


def dumps(obj: Any) -> str:
    """A platform output as JSON text, decimals exactly as they came."""
    return wire.encode(obj).decode("utf-8")


def loads(text: str | None) -> Any:
    return wire.decode(text.encode("utf-8")) if text else None


def _sent(infno: str, infcode: int | None, seconds: float) -> None:  # float-ok: seconds
    """A message to the platform, counted (yibao_hospital_platform_messages_total) and timed."""
    infno = infno if infno.isdigit() and len(infno) <= 5 else "other"
    PLATFORM_MESSAGES.labels(infno, "none" if infcode is None else str(infcode)).inc()
    PLATFORM_SECONDS.labels(infno).observe(seconds)


class Insurance:
    """The messages of one institution. Every method raises PlatformError when the platform refuses."""

    def __init__(self, client: PlatformClient):
        self.client = client
        client.on_sent = _sent

    # -- plain calls ----------------------------------------------------------------------------------
    def ok(self, infno: str, input_: Mapping[str, Any], insuplc: str = "") -> dict[str, Any]:
        try:
            return self.client.ok(infno, input_, insuplc)
        except httpx.TransportError as exc:
            raise PlatformError(infno, f"the platform is unreachable: {exc}") from None

    def lookup(self, cert_type: str, cert_no: str, card_sn: str = "", insuplc: str = "") -> dict[str, Any]:
        """1101: the person holding the credential, searched in `insuplc` (the desk's choice) or locally."""
        return self.ok("1101", {"data": {"mdtrt_cert_type": cert_type, "mdtrt_cert_no": cert_no,
                                         "card_sn": card_sn}}, insuplc)

    # -- committing calls, resent as-is when the answer is lost -------------------------------------------
    def envelope(self, infno: str, input_: Mapping[str, Any], insuplc: str) -> dict[str, Any]:
        """The message, signed in for (9001 first when this operator has no sign_no today)."""
        try:
            sign_no = self.client.sign_no()
        except httpx.TransportError as exc:
            raise PlatformError("9001", f"the platform is unreachable: {exc}") from None
        return self.client.envelope(infno, input_, insuplc, sign_no)

    def send_kept(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Send a message that must not run twice; on a lost answer send the same bytes again. The output, or
        PlatformError (refused: nothing committed), or OutcomeUnknown (still no answer)."""
        infno = str(envelope["infno"])
        last = ""
        for attempt in range(RETRIES):
            try:
                answer = self.client.send(envelope)
            except httpx.TransportError as exc:
                last = str(exc) or type(exc).__name__
                time.sleep(0.2 * (attempt + 1))
                continue
            except PlatformError as exc:  # an answer that is not an envelope (a proxy's error page)
                last = exc.err_msg
                time.sleep(0.2 * (attempt + 1))
                continue
            if infcode_of(answer) != 0:
                raise PlatformError(infno, str(answer.get("err_msg", "")), answer)
            return dict(answer.get("output") or {})
        raise OutcomeUnknown(f"{infno} msgid {envelope['msgid']}: no answer from the platform ({last})")

    def committed(self, infno: str, input_: Mapping[str, Any], insuplc: str) -> dict[str, Any]:
        """A committing message; a refusal for a stale sign-in is retried once with a fresh one."""
        try:
            return self.send_kept(self.envelope(infno, input_, insuplc))
        except PlatformError as exc:
            if not exc.err_msg.startswith("sign_no:"):
                raise
            self.client.sign_no(renew=True)
            return self.send_kept(self.envelope(infno, input_, insuplc))
