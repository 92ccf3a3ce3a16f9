"""Pre- and mid-event analysis (事前事中分析, interface-integration.md section 6; docs/analysis.md): a region's
rules, kept by its agency (and loaded from the dataset); 3101/3102 applies the rules of the institution's region to
the orders a HIS sends and keeps each violation under a `jr_id`; 3103 records what the HIS did about it.

An institution sees only its own results; the history a period rule counts is the person's charges on other
visits (any institution), of which an answer tells only the rule broken."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import Refusal, refuse
from yibao.platform.work import Work
from yibao.rules import analysis as ra
from yibao.sqlkit import insert_or_ignore
from yibao.store.models import AnalysisResult, AnalysisRule, FeeDetail, Person, Visit

#: how far back the history of a person reaches for period rules and days of use
LOOKBACK_DAYS = 366
#: the most results (violations) and details (orders named by them) one answer holds: past either the message is
#: refused, so an answer stays a size a HIS can read whatever rules a region sets
MAX_RESULTS = 2000
MAX_DETAILS = 20000


# -- the rules of a region -----------------------------------------------------------------------------------

def active_rules(session: Session, admdvs: str) -> list[ra.Rule]:
    rows = session.scalars(select(AnalysisRule).where(AnalysisRule.admdvs == admdvs, AnalysisRule.active)
                           .order_by(AnalysisRule.rule_id))
    return [ra.rule_of(r.rule_id, r.kind, r.severity, r.message, r.params, name=r.name,
                       vola_bhvr_type=r.vola_bhvr_type) for r in rows]


def rules_of(work: Work, admdvs: str) -> list[AnalysisRule]:
    return list(work.session.scalars(select(AnalysisRule).where(AnalysisRule.admdvs == admdvs)
                                     .order_by(AnalysisRule.rule_id)))


def create_rule(work: Work, admdvs: str, doc: ra.RuleDoc) -> AnalysisRule:
    # one INSERT that leaves an existing rule alone: a twin request making the same rule at the same moment is
    # refused like a later one (a look first, then an insert, would let both through to the primary key)
    made = insert_or_ignore(work.session, AnalysisRule, admdvs=admdvs, rule_id=doc.rule_id,
                            name=doc.name or doc.rule_id, kind=doc.kind, severity=doc.severity,
                            vola_bhvr_type=doc.vola_bhvr_type, message=doc.message, params=doc.params, source="api",
                            active=True, created_at=work.now)
    if not made:
        raise refuse("rule_id", f"{doc.rule_id} is already a rule of region {admdvs} (disabled rules keep their id)")
    row = work.session.get(AnalysisRule, (admdvs, doc.rule_id))
    assert row is not None  # just inserted in this transaction
    return row


def disable_rule(work: Work, admdvs: str, rule_id: str) -> AnalysisRule:
    """A disabled rule flags nothing from now on; what it flagged before keeps its rule_id."""
    row = work.session.get(AnalysisRule, (admdvs, rule_id), with_for_update=True)
    if row is None:
        raise Refusal(f"rule_id: no rule {rule_id} in region {admdvs}", http_status=404)
    if not row.active:
        raise refuse("rule_id", f"rule {rule_id} is already disabled (since {row.disabled_at:%Y-%m-%d %H:%M:%S})")
    row.active, row.disabled_at = False, work.now
    return row


# -- history -------------------------------------------------------------------------------------------------

def history_of(session: Session, psn_nos: Iterable[str], since: date) -> dict[str, list[tuple[str, ra.Charge]]]:
    """(mdtrt_id, charge) of each person's uploaded lines since `since`, cancelled visits left out."""
    wanted = sorted(set(psn_nos))
    out: dict[str, list[tuple[str, ra.Charge]]] = {p: [] for p in wanted}
    if not wanted:
        return out
    rows = session.execute(
        select(Visit.psn_no, FeeDetail.mdtrt_id, FeeDetail.med_list_codg, FeeDetail.cnt, FeeDetail.fee_ocur_time)
        .join(Visit, Visit.mdtrt_id == FeeDetail.mdtrt_id)
        .where(Visit.psn_no.in_(wanted), Visit.status != "cancelled",
               FeeDetail.fee_ocur_time >= datetime.combine(since, datetime.min.time())))
    for psn_no, mdtrt_id, code, cnt, at in rows:
        out[psn_no].append((mdtrt_id, ra.Charge(code, cnt, at.date())))
    return out


# -- 3101 / 3102 ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Order:
    rx_id: str
    code: str
    qty: Decimal
    day: date
    amount: Decimal
    dept: str


@dataclass(frozen=True)
class Encounter:
    mdtrt_id: str
    adm_date: date
    dept: str
    dise_codes: tuple[str, ...]
    orders: tuple[Order, ...]


@dataclass(frozen=True)
class Patient:
    patn_id: str
    gend: str
    brdy: date
    encounters: tuple[Encounter, ...]


@dataclass(frozen=True)
class Finding:
    """One violation answered: its jr_id, the rule, and each order concerned as (jrd_id, rx_id, type, amount)."""

    jr_id: str
    violation: ra.Violation
    patn_id: str
    mdtrt_id: str
    task_id: str
    details: tuple[tuple[str, str, str, Decimal], ...]


def judge(work: Work, infno: str, trig_scen: str, task_id: str, patients: Sequence[Patient],
          only: set[str] | frozenset[str] = frozenset()) -> list[Finding]:
    """The violations of the institution's region's rules (those named in `only`, when it names some) by each
    encounter's orders, each kept for 3103."""
    inst = work.here
    rules = [r for r in active_rules(work.session, inst.admdvs) if not only or r.rule_id in only]
    if not rules:
        return []
    known = set(work.session.scalars(select(Person.psn_no).where(Person.psn_no.in_({p.patn_id for p in patients}))))
    history = history_of(work.session, known, work.today - timedelta(days=LOOKBACK_DAYS))
    found: list[tuple[str, str, ra.Violation]] = []
    for patient in patients:
        for enc in patient.encounters:
            past = tuple(c for mdtrt_id, c in history.get(patient.patn_id, []) if mdtrt_id != enc.mdtrt_id)
            case = ra.Case(gend=patient.gend, age=ra.age_on(patient.brdy, enc.adm_date), hosp_lv=inst.level or "",
                           dept=enc.dept, dise_codes=enc.dise_codes, history=past,
                           lines=tuple(ra.Line(o.rx_id, o.code, o.qty, o.day, o.amount, o.dept) for o in enc.orders))
            found.extend((patient.patn_id, enc.mdtrt_id, v) for v in ra.analyse(rules, case))
    details = sum(len(v.lines) + len(v.involved) for _, _, v in found)
    if len(found) > MAX_RESULTS or details > MAX_DETAILS:
        raise refuse("input.data.patient_dtos", f"the orders break the rules {len(found)} times naming orders "
                     f"{details} times, more than {MAX_RESULTS} results or {MAX_DETAILS} details one answer holds: "
                     "send the orders in smaller parts")
    return [_keep(work, infno, trig_scen, task_id, patn_id, mdtrt_id, v) for patn_id, mdtrt_id, v in found]


def _keep(work: Work, infno: str, trig_scen: str, task_id: str, patn_id: str, mdtrt_id: str,
          v: ra.Violation) -> Finding:
    jr_id = f"JR{work.now:%Y%m%d%H%M%S}{uuid.uuid4().hex[:16].upper()}"
    amounts = dict(v.amounts)
    details = [(key, "1", amounts[key]) for key in v.lines] + [(key, "2", Decimal("0.00")) for key in v.involved]
    work.session.add(AnalysisResult(
        jr_id=jr_id, fixmedins_code=work.here.code, infno=infno, trig_scen=trig_scen, task_id=task_id,
        patn_id=patn_id, mdtrt_id=mdtrt_id, admdvs=work.here.admdvs, rule_id=v.rule.rule_id, sev_deg=v.rule.sev_deg,
        vola_amt=v.amount, items=list(v.lines), created_at=work.now))
    return Finding(jr_id, v, patn_id, mdtrt_id, task_id,
                   tuple((f"{jr_id}-{n}", key, kind, amount) for n, (key, kind, amount) in enumerate(details, 1)))


# -- 3103 ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Feedback:
    warn_rslt_id: str
    dspo_way: str
    dspo_way_rea: str


def feedback(work: Work, warn_type: str, warns: Sequence[Feedback]) -> list[AnalysisResult]:
    """The HIS's decision on each result: 1 continue the order (a reason is required), 2 go back and amend it. A
    later feedback on the same result replaces the earlier one (the doctor may amend after all); a result of
    another institution is unknown here."""
    out = []
    seen: set[str] = set()
    for i, w in enumerate(warns):
        at = f"input.data.warns[{i}]"
        if w.warn_rslt_id in seen:
            raise refuse(f"{at}.warn_rslt_id", f"{w.warn_rslt_id} appears twice in one feedback")
        seen.add(w.warn_rslt_id)
        row = work.session.get(AnalysisResult, w.warn_rslt_id, with_for_update=True)
        if row is None or row.fixmedins_code != work.here.code:
            raise refuse(f"{at}.warn_rslt_id", f"no analysis result {w.warn_rslt_id} of this institution")
        if w.dspo_way == "1" and not w.dspo_way_rea.strip():
            raise refuse(f"{at}.dspo_way_rea", "is required when the order goes on against the warning (dspo_way 1)")
        row.warn_type, row.dspo_way, row.dspo_way_rea = warn_type, w.dspo_way, w.dspo_way_rea.strip() or None
        row.fed_back_at, row.fed_back_by = work.now, work.caller.opter or None
        out.append(row)
    return out


def describe_rule(row: AnalysisRule) -> dict[str, Any]:
    return {"rule_id": row.rule_id, "name": row.name, "kind": row.kind, "severity": row.severity,
            "vola_bhvr_type": row.vola_bhvr_type or ra.rule_of(row.rule_id, row.kind, row.severity, row.message,
                                                                row.params).vola_bhvr_type,
            "message": row.message, "params": row.params, "source": row.source, "active": row.active,
            "created_at": row.created_at, "disabled_at": row.disabled_at}
