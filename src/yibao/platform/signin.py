"""Operators' sign-in (9001) and sign-out (9002), and the check every business message makes (interface.md
1.3): a sign_no serves one operator of one institution on one business day, until he signs out."""

from __future__ import annotations

import os
import secrets

from yibao.errors import refuse
from yibao.platform.regions import region_setting
from yibao.platform.work import Work
from yibao.rules import sign_in as sign_in_rules
from yibao.store.models import SignIn


def sign_in(work: Work, opter_no: str, mac: str, ip: str) -> SignIn:
    if not opter_no:
        raise refuse("input.signIn.opter_no", "is required")
    if opter_no != work.caller.opter:
        raise refuse("input.signIn.opter_no", f"must be the envelope's opter ({work.caller.opter}): "
                                              "a sign-in belongs to one operator")
    sign_no = work.now.strftime("%Y%m%d%H%M%S") + "".join(secrets.choice("0123456789") for _ in range(16))
    row = SignIn(sign_no=sign_no, fixmedins_code=work.here.code, opter_no=opter_no, biz_date=work.today,
                 mac=mac[:20], ip=ip[:20], signed_in_at=work.now)
    work.session.add(row)
    return row


def sign_out(work: Work, sign_no: str, opter_no: str) -> SignIn:
    row = work.session.get(SignIn, sign_no)
    if row is None or row.fixmedins_code != work.here.code:
        raise refuse("input.signOut.sign_no", f"{sign_no} is not a sign-in of this institution")
    if row.opter_no != opter_no:
        raise refuse("input.signOut.opter_no", f"the sign-in belongs to operator {row.opter_no}")
    if row.signed_out_at is not None:
        raise refuse("input.signOut.sign_no", "was already signed out")
    row.signed_out_at = work.now
    return row


def check(work: Work, sign_no: str) -> None:
    """The envelope's sign_no must be a live sign-in of this institution's operator for today."""
    if not sign_no:
        raise refuse("sign_no", "is required: sign in with 9001 first")
    row = work.session.get(SignIn, sign_no)
    if row is None or row.fixmedins_code != work.here.code:
        raise refuse("sign_no", f"{sign_no} is not a sign-in of this institution; sign in with 9001")
    if row.opter_no != work.caller.opter:
        raise refuse("sign_no", f"belongs to operator {row.opter_no}, not to opter {work.caller.opter}")
    if row.biz_date != work.today:
        raise refuse("sign_no", f"was issued for {row.biz_date}; sign in again for {work.today}")
    if row.signed_out_at is not None:
        raise refuse("sign_no", "was ended by 9002 sign-out; sign in again with 9001")


# -- the sign-in policy (rules/sign_in.py): which messages need a sign_no ------------------------------------

def deployment_policy() -> str:
    """`YIBAO_SIGN_IN` (committing, all or none; default committing), read when the gateway starts. A value
    that is none of them stops the start: a typo must not silently open or close the door."""
    value = os.environ.get("YIBAO_SIGN_IN", "").strip() or sign_in_rules.DEFAULT_POLICY
    problem = sign_in_rules.policy_problem(value)
    if problem:
        raise ValueError(f"YIBAO_SIGN_IN: {problem.replace('required must be', 'must be')}")
    return value


def check_for(work: Work, sign_no: str, *, needs_sign_in: bool | None, writes: bool, default_policy: str) -> None:
    """The sign-in check of one message: required as the institution's region (`settings.sign_in`) or the
    deployment decides; a sign_no that is sent is checked in any case. 9001/9002 (needs_sign_in False) are
    exempt whatever they carry."""
    if needs_sign_in is False:
        return
    if needs_sign_in is None:
        setting = region_setting(work.session, work.here.admdvs, "sign_in")
        needed = sign_in_rules.required(sign_in_rules.policy_of(setting, default_policy), writes=writes)
    else:
        needed = needs_sign_in
    if needed or sign_no:
        check(work, sign_no)
