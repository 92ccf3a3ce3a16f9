"""2601 reversal (冲正): undo a committing message whose answer the institution lost (platform/reversal.py)."""

from __future__ import annotations

from yibao.gateway.fields import Id, Text
from yibao.gateway.registry import Node, interface
from yibao.platform import reversal
from yibao.platform.work import Work


class Data2601(Node):
    psn_no: Id
    omsgid: Id
    oinfno: Text


class Input2601(Node):
    data: Data2601


@interface("2601", "冲正交易", Input2601)
def reverse(work: Work, data: Input2601) -> dict:
    d = data.data
    done = reversal.reverse(work, d.psn_no, d.omsgid, d.oinfno)
    out = {"omsgid": d.omsgid, "oinfno": d.oinfno}
    if done.setl_id is not None:
        out["setl_id"] = done.setl_id
    if done.mdtrt_id is not None:
        out["mdtrt_id"] = done.mdtrt_id
    return {"data": {**out, "rvs_rslt": done.rvs_rslt}}
