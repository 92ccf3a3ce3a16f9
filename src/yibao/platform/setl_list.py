"""Settlement lists (医疗保障基金结算清单, 4101A): an institution uploads the list of one of its standing
settlements; the platform checks it against the settlement and keeps every upload as a version, the latest
being the settlement's list. The monthly declaration reads which settlements have one (`listed_ids`).

A retried message (same msgid) is answered from the gateway's replay record and makes no new version; a new
message for the same settlement is a correction and becomes the next version."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from yibao.errors import refuse
from yibao.platform.ids import new_id
from yibao.platform.settlement import funds_of
from yibao.platform.work import Work
from yibao.rules.setl_list import Listed, Settled, list_problem
from yibao.store.models import SetlList, Settlement

CURRENT = "1"
SUPERSEDED = "0"


@dataclass(frozen=True)
class Upload:
    setl_id: str
    mdtrt_id: str
    psn_no: str
    figures: Listed
    #: the nodes as sent, JSON-ready: what the list says is kept whole
    content: dict[str, Any]


def _standing_settlement(work: Work, up: Upload) -> Settlement:
    # locked: two corrections of one list at once take their versions one after the other
    row = work.session.scalar(select(Settlement).where(Settlement.setl_id == up.setl_id).with_for_update())
    if row is None or row.fixmedins_code != work.here.code:
        raise refuse("input.setlinfo.setl_id", f"no settlement {up.setl_id} of this institution")
    if row.refd_setl_flag == "1":
        raise refuse("input.setlinfo.setl_id", f"{up.setl_id} is the cancellation record of settlement "
                                               f"{row.init_setl_id}: a list describes a settlement")
    if row.status != "settled":
        raise refuse("input.setlinfo.setl_id", f"settlement {up.setl_id} was cancelled: it has no settlement list")
    if row.mdtrt_id != up.mdtrt_id:
        raise refuse("input.setlinfo.mdtrt_id", f"settlement {up.setl_id} belongs to visit {row.mdtrt_id}")
    if row.psn_no != up.psn_no:
        raise refuse("input.setlinfo.psn_no", f"settlement {up.setl_id} belongs to another person")
    return row


def settled_figures(work: Work, row: Settlement) -> Settled:
    return Settled(row.setl_id, row.medfee_sumamt, row.fund_pay_sumamt, row.acct_pay, row.psn_cash_pay,
                   row.psn_part_amt, row.fulamt_ownpay_amt, row.kind,
                   {f.fund_pay_type: f.fund_payamt for f in funds_of(work.session, row.setl_id)})


def upload(work: Work, up: Upload) -> SetlList:
    """Check the list against its settlement and store it as the settlement's current list."""
    row = _standing_settlement(work, up)
    problem = list_problem(settled_figures(work, row), up.figures)
    if problem:
        raise refuse(*problem)
    previous = work.session.scalar(select(SetlList).where(SetlList.setl_id == row.setl_id,
                                                          SetlList.vali_flag == CURRENT))
    version = 1
    if previous is not None:
        previous.vali_flag = SUPERSEDED
        version = previous.version + 1
        # the old row must leave the "current" index before the new one enters it
        work.session.flush()
    new = SetlList(setl_list_id=new_id(work.here.admdvs, work.now), setl_id=row.setl_id, version=version,
                   vali_flag=CURRENT, fixmedins_code=work.here.code, mdtrt_id=row.mdtrt_id, psn_no=row.psn_no,
                   msgid=work.msgid or None, opter=work.caller.opter or None, uploaded_at=work.now, content=up.content)
    work.session.add(new)
    work.session.flush()
    return new


def history(work: Work, setl_id: str) -> list[SetlList]:
    """Every version of a settlement's list of this institution, oldest first."""
    return list(work.session.scalars(select(SetlList).where(SetlList.setl_id == setl_id,
                                                            SetlList.fixmedins_code == work.here.code)
                                     .order_by(SetlList.version)))


def listed_ids(work: Work, setl_ids: Iterable[str]) -> dict[str, str]:
    """The current list id of each of these settlements that has one."""
    ids = sorted(set(setl_ids))
    if not ids:
        return {}
    rows = work.session.execute(select(SetlList.setl_id, SetlList.setl_list_id)
                                .where(SetlList.setl_id.in_(ids), SetlList.vali_flag == CURRENT))
    return {setl_id: list_id for setl_id, list_id in rows}
