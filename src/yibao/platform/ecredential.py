"""A simulated e-credential authorization (医保电子凭证授权): the payAuthNo a patient's WeChat/Alipay
authorization yields, and the ecToken (1101 `baseinfo.exp_content.business_token`) issued with it.

The person's e-credential is activated or not (persons.ecard_activated, `activate`): across regions his personal
account pays by e-credential only once it is (粤医保规〔2021〕4号 第三十九条; rules/filing.py).

One authorization names one person and one institution, and is valid for 30 minutes of the business clock.
Only that institution may use it: in 1101 (mdtrt_cert_type 01, mdtrt_cert_no = payAuthNo), in 6201 and 6202
(payAuthNo or ecToken), and in 6203 (or the order's revsToken).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.platform.persons import pooling_region
from yibao.store.models import PayAuth, Person

VALIDITY = timedelta(minutes=30)
PREFIX = "AUTH"


def issue(session: Session, psn_no: str, fixmedins_code: str, now: datetime) -> PayAuth:
    """A new authorization of person `psn_no` for institution `fixmedins_code`, valid 30 minutes from `now`."""
    auth = PayAuth(pay_auth_no=PREFIX + secrets.token_hex(14).upper(), ec_token=secrets.token_hex(16),
                   psn_no=psn_no, fixmedins_code=fixmedins_code, issued_at=now, expires_at=now + VALIDITY)
    session.add(auth)
    return auth


def _find(session: Session, number: str) -> PayAuth | None:
    return session.scalar(select(PayAuth).where(or_(PayAuth.pay_auth_no == number, PayAuth.ec_token == number)))


def _check(auth: PayAuth, fixmedins_code: str, now: datetime, field: str) -> PayAuth:
    if auth.fixmedins_code != fixmedins_code:
        raise refuse(field, "this authorization was given for another institution; only that one may use it")
    if now > auth.expires_at:
        raise refuse(field, f"this authorization expired at {auth.expires_at:%Y-%m-%d %H:%M:%S} (valid "
                            f"{int(VALIDITY.total_seconds() // 60)} minutes); the patient authorizes again")
    return auth


def live(session: Session, fixmedins_code: str, now: datetime, *, pay_auth_no: str = "", ec_token: str = "",
         field_prefix: str = "data.") -> PayAuth:
    """The live authorization named by payAuthNo and/or ecToken (both, when sent, must be the same one)."""
    if not pay_auth_no and not ec_token:
        raise refuse(f"{field_prefix}payAuthNo", "is required (or ecToken): the patient's e-credential "
                                                 "authorization")
    found: PayAuth | None = None
    for field, number, column in (("payAuthNo", pay_auth_no, "pay_auth_no"), ("ecToken", ec_token, "ec_token")):
        if not number:
            continue
        auth = session.scalar(select(PayAuth).where(getattr(PayAuth, column) == number))
        if auth is None:
            raise refuse(f"{field_prefix}{field}", "is not an e-credential authorization of this platform")
        if found is not None and auth.pay_auth_no != found.pay_auth_no:
            raise refuse(f"{field_prefix}ecToken", "belongs to another authorization than payAuthNo")
        found = _check(auth, fixmedins_code, now, f"{field_prefix}{field}")
    assert found is not None
    return found


def holder_for_lookup(session: Session, number: str, fixmedins_code: str, now: datetime,
                      insuplc_admdvs: str = "") -> tuple[Person, PayAuth] | None:
    """1101 with mdtrt_cert_type 01: the person a payAuthNo (or ecToken) names, when `number` is one;
    None when it is not (then it is an e-credential number, looked up as before). Refused when it is one but
    expired, given for another institution, or the message names another insured region. The authorization
    is national: without insuplc_admdvs the holder is found wherever he is insured."""
    auth = _find(session, number)
    if auth is None:
        return None
    _check(auth, fixmedins_code, now, "input.data.mdtrt_cert_no")
    person = session.get(Person, auth.psn_no)
    if person is None:
        raise refuse("input.data.mdtrt_cert_no", "the authorization names no insured person of this platform")
    if insuplc_admdvs and pooling_region(session, insuplc_admdvs) != person.admdvs:
        raise refuse("insuplc_admdvs", f"the holder of this authorization is insured in {person.admdvs}, "
                                       f"not {insuplc_admdvs}")
    return person, auth


def activate(session: Session, psn_no: str, activated: bool) -> Person:
    """The person activates (or gives up) his e-credential; it is his own act, made through the API."""
    person = session.get(Person, psn_no, with_for_update=True)
    if person is None:
        raise refuse("psn_no", f"no insured person {psn_no}")
    person.ecard_activated = activated
    return person
