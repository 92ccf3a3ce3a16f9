"""9001 sign-in and 9002 sign-out (interface.md 1.3)."""

from __future__ import annotations

from pydantic import StrictStr

from yibao.gateway.registry import Node, interface
from yibao.platform import signin
from yibao.platform.work import Work


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
def sign_in(work: Work, data: Input9001) -> dict:
    node = data.signIn
    row = signin.sign_in(work, node.opter_no, node.mac, node.ip)
    return {"signinoutb": {"sign_time": work.now.strftime("%Y-%m-%d %H:%M:%S"), "sign_no": row.sign_no}}


@interface("9002", "签退", Input9002, needs_sign_in=False)
def sign_out(work: Work, data: Input9002) -> dict:
    row = signin.sign_out(work, data.signOut.sign_no, data.signOut.opter_no)
    return {"signoutoutb": {"sign_time": work.now.strftime("%Y-%m-%d %H:%M:%S"), "sign_no": row.sign_no}}
