"""The analysis rules in the agency's monthly review (docs/analysis.md): when a clerk opens a declaration under
review, the treatment region's active rules flag its settlements' fee lines; each flag is a suggestion the clerk
accepts (it becomes a rejection of the settlement or a deduction, platform/review.py) or dismisses. The engine
never rejects anything by itself."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from yibao.errors import Refusal, refuse
from yibao.platform import declaration as dc
from yibao.platform import review as rv
from yibao.platform.analysis import LOOKBACK_DAYS, active_rules, history_of
from yibao.platform.work import Work
from yibao.rules import analysis as ra
from yibao.store.models import (
    Declaration,
    FeeDetail,
    Institution,
    Person,
    ReviewRejection,
    ReviewSuggestion,
    Settlement,
    Visit,
)

ACTIONS = ("reject", "deduct")


def _declaration(work: Work, agency: str, decl_id: str) -> Declaration:
    # locked: two clerks opening it at once would both add the lines newly flagged (a duplicate suggestion); the
    # second waits, then finds them added
    decl = dc.find(work.session, decl_id, lock=True)
    if decl is None or decl.admdvs != agency:
        raise Refusal(f"decl_id: no declaration {decl_id} for the agency of {agency} to review", http_status=404)
    return decl


def suggestions(work: Work, agency: str, decl_id: str) -> list[ReviewSuggestion]:
    """The declaration's suggestions; while it is under review, the lines newly flagged are added first (a rule
    made since, a rule's new figures). A line once decided keeps its decision."""
    decl = _declaration(work, agency, decl_id)
    if decl.status == "declared":
        _flag(work, decl)
    return list(work.session.scalars(select(ReviewSuggestion).where(ReviewSuggestion.decl_id == decl_id)
                                     .order_by(ReviewSuggestion.id)))


def _flag(work: Work, decl: Declaration) -> None:
    s = work.session
    rules = active_rules(s, decl.admdvs)
    if not rules:
        return
    standing = (select(Settlement.setl_id).where(dc.covered(decl), Settlement.refd_setl_flag == "0",
                                                 Settlement.status == "settled"))
    settled = {x.setl_id: x for x in s.scalars(select(Settlement).where(Settlement.setl_id.in_(standing)))}
    if not settled:
        return
    lines: dict[str, list[FeeDetail]] = defaultdict(list)
    for line in s.scalars(select(FeeDetail).where(FeeDetail.setl_id.in_(standing)).order_by(FeeDetail.id)):
        lines[line.setl_id or ""].append(line)
    visits = {v.mdtrt_id: v for v in s.scalars(select(Visit).where(Visit.mdtrt_id.in_(
        select(Settlement.mdtrt_id).where(Settlement.setl_id.in_(standing)))))}
    persons = {p.psn_no: p for p in s.scalars(select(Person).where(Person.psn_no.in_(
        select(Settlement.psn_no).where(Settlement.setl_id.in_(standing)))))}
    inst = s.get(Institution, decl.fixmedins_code)
    first_day = min(x.setl_time for x in settled.values()).date() - timedelta(days=LOOKBACK_DAYS)
    history = history_of(s, persons, first_day)
    done = {(fee_id, rule_id) for fee_id, rule_id in s.execute(
        select(ReviewSuggestion.fee_id, ReviewSuggestion.rule_id).where(ReviewSuggestion.decl_id == decl.decl_id))}
    for setl_id, setl in sorted(settled.items()):
        visit, person = visits.get(setl.mdtrt_id), persons.get(setl.psn_no)
        mine = lines.get(setl_id, [])
        if visit is None or person is None or not mine:
            continue
        by_key = {str(x.id): x for x in mine}
        info = visit.info or {}
        dise = [visit.dise_codg or "", *(d.get("diag_code", "") for d in info.get("diseinfo") or []
                                         if isinstance(d, dict))]
        case = ra.Case(
            gend=person.gend, age=ra.age_on(person.brdy, visit.begntime.date()), hosp_lv=(inst.level or "") if inst
            else "", dept=str(info.get("dept_code") or info.get("adm_dept_codg") or ""),
            dise_codes=tuple(str(d) for d in dise if d),
            lines=tuple(ra.Line(key, x.med_list_codg, x.cnt, x.fee_ocur_time.date(), x.det_item_fee_sumamt,
                                str((x.raw or {}).get("bilg_dept_codg") or "")) for key, x in by_key.items()),
            history=tuple(c for mdtrt_id, c in history.get(person.psn_no, []) if mdtrt_id != visit.mdtrt_id))
        for v in ra.analyse(rules, case):
            amounts = dict(v.amounts)
            for key in v.lines:
                line = by_key[key]
                if (line.id, v.rule.rule_id) in done:
                    continue
                done.add((line.id, v.rule.rule_id))
                s.add(ReviewSuggestion(
                    decl_id=decl.decl_id, setl_id=setl_id, mdtrt_id=visit.mdtrt_id, fee_id=line.id,
                    feedetl_sn=line.feedetl_sn, med_list_codg=line.med_list_codg, rule_id=v.rule.rule_id,
                    sev_deg=v.rule.sev_deg, message=f"{v.rule.message}: {v.evidence}"[:500],
                    vola_amt=amounts[key], status="open", created_at=work.now))
    s.flush()


def _open(work: Work, agency: str, suggestion_id: int) -> ReviewSuggestion:
    sug = work.session.get(ReviewSuggestion, suggestion_id, with_for_update=True)
    decl = dc.find(work.session, sug.decl_id) if sug is not None else None
    if sug is None or decl is None or decl.admdvs != agency:
        raise Refusal(f"suggestion_id: no suggestion {suggestion_id} for the agency of {agency}", http_status=404)
    rv.open_declaration(work.session, agency, sug.decl_id, work.today)  # the review must still be open
    if sug.status != "open":
        raise refuse("suggestion_id", f"suggestion {suggestion_id} is already {sug.status}")
    return sug


def accept(work: Work, agency: str, suggestion_id: int, action: str, amount: Decimal | None = None,
           note: str = "") -> tuple[ReviewSuggestion, ReviewRejection | None]:
    """The clerk agrees: `reject` the settlement the line belongs to (it may already be rejected for another line,
    then that rejection stands for both), or `deduct` an amount (the line's amount in violation unless the clerk
    names one)."""
    sug = _open(work, agency, suggestion_id)
    reason = f"{sug.rule_id} {sug.feedetl_sn}: {sug.message}"[:500]
    rejection = None
    if action == "reject":
        rejection = work.session.scalar(select(ReviewRejection).where(ReviewRejection.decl_id == sug.decl_id,
                                                                      ReviewRejection.setl_id == sug.setl_id))
        if rejection is None:
            rejection = rv.reject(work.session, agency, sug.decl_id, sug.setl_id, reason, work.today, work.now)
    elif action == "deduct":
        figure = sug.vola_amt if amount is None else amount
        if figure <= 0:
            raise refuse("amount", f"the line's amount in violation is {sug.vola_amt}: name a positive amount")
        rv.deduct(work.session, agency, sug.decl_id, figure, reason, work.today, work.now, setl_id=sug.setl_id)
    else:
        raise refuse("action", f"{action!r} is not an action; one of: {', '.join(ACTIONS)}")
    sug.status, sug.action, sug.decided_at, sug.note = "accepted", action, work.now, note.strip() or None
    return sug, rejection


def dismiss(work: Work, agency: str, suggestion_id: int, note: str = "") -> ReviewSuggestion:
    sug = _open(work, agency, suggestion_id)
    sug.status, sug.decided_at, sug.note = "dismissed", work.now, note.strip() or None
    return sug


def describe(sug: ReviewSuggestion) -> dict[str, object]:
    return {k: getattr(sug, k) for k in (
        "id", "decl_id", "setl_id", "mdtrt_id", "feedetl_sn", "med_list_codg", "rule_id", "sev_deg", "message",
        "vola_amt", "status", "action", "decided_at", "note")}
