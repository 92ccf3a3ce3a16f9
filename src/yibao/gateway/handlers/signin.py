"""9001 sign-in and 9002 sign-out (interface.md 1.3)."""

from __future__ import annotations

import secrets

from pydantic import StrictStr

from yibao.errors import refuse
from yibao.gateway.registry import Call, Node, interface
from yibao.store.models import SignIn


class SignInNode(Node):
    opter_no: StrictStr
    mac: StrictStr = ""
    ip: StrictStr = ""


class Input9001(Node):
    signIn: SignInNode


class SignOutNode(Node):
    sign_no: StrictStr
    opter_no: StrictStr


class Input9002(Node):
    signOut: SignOutNode


@interface("9001", "签到", Input9001, needs_sign_in=False)
def sign_in(call: Call, data: Input9001) -> dict:
    node = data.signIn
    if not node.opter_no:
        raise refuse("input.signIn.opter_no", "is required")
    if node.opter_no != call.envelope.opter:
        raise refuse("input.signIn.opter_no", f"must be the envelope's opter ({call.envelope.opter}): "
                                              "a sign-in belongs to one operator")
    sign_no = call.now.strftime("%Y%m%d%H%M%S") + "".join(secrets.choice("0123456789") for _ in range(16))
    call.session.add(SignIn(sign_no=sign_no, fixmedins_code=call.institution.code, opter_no=node.opter_no,
                            biz_date=call.today, mac=node.mac[:20], ip=node.ip[:20], signed_in_at=call.now))
    return {"signinoutb": {"sign_time": call.now.strftime("%Y-%m-%d %H:%M:%S"), "sign_no": sign_no}}


@interface("9002", "签退", Input9002, needs_sign_in=False)
def sign_out(call: Call, data: Input9002) -> dict:
    node = data.signOut
    row = call.session.get(SignIn, node.sign_no)
    if row is None or row.fixmedins_code != call.institution.code:
        raise refuse("input.signOut.sign_no", f"{node.sign_no} is not a sign-in of this institution")
    if row.opter_no != node.opter_no:
        raise refuse("input.signOut.opter_no", f"the sign-in belongs to operator {row.opter_no}")
    if row.signed_out_at is not None:
        raise refuse("input.signOut.sign_no", "was already signed out")
    row.signed_out_at = call.now
    return {"signoutoutb": {"sign_time": call.now.strftime("%Y-%m-%d %H:%M:%S"), "sign_no": node.sign_no}}
