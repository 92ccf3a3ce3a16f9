"""Pricing and settling a visit's bill, one use case per kind, and cancelling a settlement (rules.md 4):
an outpatient batch (2206/2207), a stay (2303/2304), a pharmacy sale (2101/2102); 2208 / 2305 / 2103.

`price_*` computes what the settlement would be and changes nothing; `settle_*` computes it with the accounts
and the accumulator locked, and commits it in the caller's unit of work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from yibao.errors import refuse
from yibao.platform import fees, mapping, prescriptions, settlement
from yibao.platform.ids import new_id
from yibao.platform.regions import region_setting
from yibao.platform.settlement import Committed, Computation
from yibao.platform.visits import final_settlement, patient, visit_of
from yibao.platform.work import Work
from yibao.rules import prescriptions as separate_rx
from yibao.rules.splitting import LineSplit, Sums
from yibao.store.models import FeeDetail, Person, Settlement, SettlementFund, Visit


@dataclass(frozen=True)
class Claim:
    """The amounts a message says its lines sum to; each must be what the platform computed (None: not sent)."""

    medfee_sumamt: Decimal | None
    fulamt_ownpay_amt: Decimal | None = None
    overlmt_selfpay: Decimal | None = None
    preselfpay_amt: Decimal | None = None
    inscp_scp_amt: Decimal | None = None

    def check(self, sums: Sums, lines_label: str, *, full: bool, at: str = "input.data") -> None:
        claims = [("medfee_sumamt", sums.medfee_sumamt)]
        if full:
            claims += [("fulamt_ownpay_amt", sums.fulamt_ownpay_amt), ("overlmt_selfpay", sums.overlmt_selfpay),
                       ("preselfpay_amt", sums.preselfpay_amt), ("inscp_scp_amt", sums.inscp_scp_amt)]
        for name, computed in claims:
            sent: Decimal | None = getattr(self, name)
            if sent is not None and sent != computed:
                raise refuse(f"{at}.{name}", f"{sent} sent, but {lines_label} sum to {computed}")


@dataclass(frozen=True)
class Bill:
    """What a pre-settlement or settlement message asks of a visit (2206/2207, 2303/2304)."""

    psn_no: str
    mdtrt_id: str
    insutype: str
    acct_used_flag: str
    claim: Claim
    med_type: str = ""
    chrg_bchno: str = ""
    suppl_flag: str = "0"
    mid_setl_flag: str = "0"
    invono: str = ""


@dataclass
class Priced:
    visit: Visit
    lines: list[FeeDetail]
    comp: Computation


@dataclass
class Settled:
    """A committed settlement and what its answer shows."""

    row: Settlement
    funds: list[SettlementFund]
    person: Person
    visit: Visit
    lines: list[FeeDetail]


def supplementary_day(work: Work, suppl_flag: str, visit_day: date,
                      field: str = "input.data.suppl_flag") -> date | None:
    """Supplementary bookkeeping (补记账, seed 004 art. 16): a settlement that failed for a system fault is
    made later under the rules of the visit day, within the treatment region's
    `settings.supplementary_bookkeeping_days`. Returns the day whose rules apply, or None (a normal one)."""
    if suppl_flag != "1":
        return None
    days = region_setting(work.session, work.here.admdvs, "supplementary_bookkeeping_days")
    if not isinstance(days, int) or days <= 0:
        raise refuse(field, f"region {work.here.admdvs} has no supplementary bookkeeping "
                            "(settings.supplementary_bookkeeping_days)")
    late = (work.today - visit_day).days
    if late > days:
        raise refuse(field, f"the visit of {visit_day} is {late} days ago; supplementary bookkeeping in region "
                            f"{work.here.admdvs} is allowed within {days} days")
    if late < 0:
        raise refuse(field, f"the visit day {visit_day} is after today {work.today}")
    return visit_day


def _commit(work: Work, priced: Priced, kind: str, **details: object) -> Settled:
    done: Committed = settlement.settle(work.session, priced.comp, mdtrt_id=priced.visit.mdtrt_id,
                                       institution=work.here, kind=kind, now=work.now, msgid=work.msgid,
                                       opter=work.caller.opter, opter_name=work.caller.opter_name,
                                       lines=priced.lines, **details)  # type: ignore[arg-type]
    return Settled(done.settlement, done.funds, priced.comp.person, priced.visit, priced.lines)


# -- an outpatient batch (2206 / 2207) ---------------------------------------------------------------------

def _disease(visit: Visit, lines: list[FeeDetail], med_type: str = "") -> str | None:
    """The one disease of the settlement: the batch's code, else the visit's (2203). Under med_type 14 no
    general-outpatient line is settled with it (art. 15)."""
    general = separate_rx.mixed_line(med_type, [(x.feedetl_sn, x.dise_codg) for x in lines])
    if general:
        raise refuse("input.data.chrg_bchno", f"line {general} carries no disease code: a general-outpatient line "
                                              f"is not settled under med_type 14 with the disease's prescription; "
                                              f"settle it separately ({separate_rx.ARTICLE_15})")
    codes = {x.dise_codg for x in lines if x.dise_codg}
    if len(codes) > 1:
        raise refuse("input.data.chrg_bchno", f"the lines to settle carry {len(codes)} disease codes "
                                              f"({', '.join(sorted(codes))}): one disease per settlement")
    return next(iter(codes), None) or visit.dise_codg


def price_outpatient(work: Work, bill: Bill, *, lock: bool = False, full: bool = False) -> Priced:
    visit = visit_of(work, bill.mdtrt_id, bill.psn_no, "outpatient")
    lines = prescriptions.chargeable(fees.unsettled(work.session, visit.mdtrt_id, bill.chrg_bchno or None))
    label = f"the unsettled lines of batch {bill.chrg_bchno}" if bill.chrg_bchno else "the unsettled lines of the visit"
    if not lines:
        raise refuse("input.data.chrg_bchno", f"no unsettled fee lines to settle ({label})")
    person = patient(work, bill.psn_no)
    comp = settlement.compute(work.session, person=person, institution=work.here, kind="outpatient",
                              med_type=bill.med_type, insutype=bill.insutype,
                              splits=[fees.split_to_line(x) for x in lines], acct_used_flag=bill.acct_used_flag,
                              today=work.today, lock=lock, dise_codg=_disease(visit, lines, bill.med_type),
                              visit_day=visit.begntime.date(), mdtrt_cert_type=visit.mdtrt_cert_type or "",
                              as_of=supplementary_day(work, bill.suppl_flag, visit.begntime.date()))
    bill.claim.check(comp.sums, label, full=full)
    work.warnings.extend(comp.warnings)
    return Priced(visit, lines, comp)


def settle_outpatient(work: Work, bill: Bill) -> Settled:
    priced = price_outpatient(work, bill, lock=True, full=True)
    return _commit(work, priced, "outpatient", chrg_bchno=bill.chrg_bchno or None, invono=bill.invono,
                   dise_codg=_disease(priced.visit, priced.lines), dise_name=priced.visit.dise_name,
                   suppl_flag=bill.suppl_flag)


# -- a stay (2303 / 2304) -----------------------------------------------------------------------------------

def price_stay(work: Work, bill: Bill, *, lock: bool = False) -> Priced:
    visit = visit_of(work, bill.mdtrt_id, bill.psn_no, "inpatient")
    if bill.mid_setl_flag != "1" and visit.status != "discharged":
        raise refuse("input.data.mid_setl_flag", "the stay is not discharged (2402): settle it as an interim "
                                                 "settlement (mid_setl_flag 1) or discharge first")
    if final_settlement(work, visit):
        raise refuse("input.data.mdtrt_id", "the stay is already settled")
    lines = fees.unsettled(work.session, visit.mdtrt_id)
    if not lines:
        raise refuse("input.data.mdtrt_id", "no unsettled fee lines in this stay")
    person = patient(work, bill.psn_no)
    comp = settlement.compute(work.session, person=person, institution=work.here, kind="inpatient",
                              med_type=visit.med_type or "21", insutype=bill.insutype,
                              splits=[fees.split_to_line(x) for x in lines], acct_used_flag=bill.acct_used_flag,
                              today=work.today, lock=lock, visit_day=visit.begntime.date(),
                              as_of=supplementary_day(work, bill.suppl_flag, (visit.endtime or visit.begntime).date()),
                              dise_codg=visit.dise_codg if visit.med_type == "14" else None,
                              mdtrt_cert_type=visit.mdtrt_cert_type or "")
    bill.claim.check(comp.sums, "the unsettled lines of the stay", full=True)
    work.warnings.extend(comp.warnings)
    return Priced(visit, lines, comp)


def settle_stay(work: Work, bill: Bill) -> Settled:
    priced = price_stay(work, bill, lock=True)
    return _commit(work, priced, "inpatient", mid_setl_flag=bill.mid_setl_flag, invono=bill.invono,
                   dise_codg=priced.visit.dise_codg, dise_name=priced.visit.dise_name, suppl_flag=bill.suppl_flag)


# -- a pharmacy sale (2101 / 2102) --------------------------------------------------------------------------

@dataclass(frozen=True)
class Sale:
    """A pharmacy purchase: no registration, the lines come with the settlement."""

    psn_no: str
    insutype: str
    mdtrt_cert_type: str
    acct_used_flag: str
    claim: Claim
    lines: list[fees.LineIn]
    med_type: str = "41"
    begntime: datetime | None = None  # the purchase time; by default now
    dise_codg: str = ""
    dise_name: str = ""
    suppl_flag: str = "0"
    invono: str = ""


@dataclass
class PricedSale:
    person: Person
    catalog_admdvs: str
    splits: list[LineSplit]
    comp: Computation


def price_sale(work: Work, sale: Sale, *, lock: bool = False) -> PricedSale:
    if work.here.kind != "pharmacy":
        raise refuse("infno", "2101/2102 settle pharmacy purchases; this institution is a hospital (use 2201-2208)")
    person = patient(work, sale.psn_no, field="input.druginfo.psn_no")
    case = settlement.case_for(person, work.here, "pharmacy")
    seen: set[str] = set()
    for line in sale.lines:
        fees.check_amount(line)
        if line.cnt <= 0:
            raise refuse(f"{line.path}.cnt", "must be positive")
        if line.feedetl_sn in seen:
            raise refuse(f"{line.path}.feedetl_sn", f"{line.feedetl_sn} appears twice")
        seen.add(line.feedetl_sn)
    prescriptions.check(work.session, person.psn_no, sale.lines)
    mapping.check_lines(work, sale.lines)  # the region's mapping_check (docs/mapping.md)
    splits = fees.split_lines(work.session, case.catalog_admdvs, sale.insutype, sale.lines)
    visit_day = sale.begntime.date() if sale.begntime else work.today
    comp = settlement.compute(work.session, person=person, institution=work.here, kind="pharmacy",
                              med_type=sale.med_type, insutype=sale.insutype, splits=splits,
                              acct_used_flag=sale.acct_used_flag, today=work.today, lock=lock,
                              dise_codg=sale.dise_codg or None, visit_day=visit_day,
                              mdtrt_cert_type=sale.mdtrt_cert_type,
                              as_of=supplementary_day(work, sale.suppl_flag, visit_day, "input.druginfo.suppl_flag"))
    sale.claim.check(comp.sums, "the drugdetail lines", full=True, at="input.druginfo")
    work.warnings.extend(comp.warnings)
    return PricedSale(person, case.catalog_admdvs, splits, comp)


def sale_key(psn_no: str, lines: list[fees.LineIn]) -> str:
    """What makes two 2102 messages the same sale: the person and every line (serial, item, price, quantity,
    time), in any order. A pharmacy retrying a sale under a fresh msgid sends the same lines."""
    rows = sorted((x.feedetl_sn, x.med_list_codg, str(x.pric), str(x.cnt), x.fee_ocur_time.isoformat())
                  for x in lines)
    return hashlib.sha256(repr((psn_no, rows)).encode("utf-8")).hexdigest()


def settle_sale(work: Work, sale: Sale) -> tuple[Settled, PricedSale]:
    priced = price_sale(work, sale, lock=True)
    person, inst = priced.person, work.here
    key = sale_key(person.psn_no, sale.lines)
    twin = work.session.scalar(select(Visit.mdtrt_id).where(
        Visit.fixmedins_code == inst.code, Visit.sale_key == key, Visit.status != "cancelled"))
    if twin:  # sequential case; concurrent twins meet the unique index uq_visits_open_sale_key at commit
        raise refuse("input.drugdetail", f"this sale was already settled (mdtrt_id {twin}); a retry is answered "
                                         "by resending its msgid, or cancel it (2103) to sell it again")
    visit = Visit(mdtrt_id=new_id(inst.admdvs, work.now), fixmedins_code=inst.code, psn_no=person.psn_no,
                  insutype=sale.insutype, kind="pharmacy", med_type=sale.med_type, insuplc_admdvs=person.admdvs,
                  mdtrtarea_admvs=inst.admdvs, begntime=sale.begntime or work.now, endtime=work.now,
                  dise_codg=sale.dise_codg or None, dise_name=sale.dise_name or None,
                  mdtrt_cert_type=sale.mdtrt_cert_type, status="open", info={}, created_at=work.now, sale_key=key)
    work.session.add(visit)
    rows = fees.store_lines(work.session, visit, priced.catalog_admdvs, sale.insutype, sale.lines,
                            allow_returns=False)
    done = _commit(work, Priced(visit, rows, priced.comp), "pharmacy", invono=sale.invono,
                   dise_codg=visit.dise_codg, dise_name=visit.dise_name, suppl_flag=sale.suppl_flag)
    return done, priced


# -- cancelling (2208 / 2305 / 2103) ------------------------------------------------------------------------

@dataclass
class Cancelled:
    original: Settlement
    reversal: Settlement
    person: Person
    funds: list[SettlementFund]


def cancel_settlement(work: Work, original: Settlement) -> Cancelled:
    """Reverse a settlement of this institution exactly (settlement.cancel); a purchase's visit ends with it."""
    person = patient(work, original.psn_no)
    reversal, _balc = settlement.cancel(work.session, original, now=work.now, msgid=work.msgid,
                                        opter=work.caller.opter, opter_name=work.caller.opter_name)
    if original.kind == "pharmacy":
        visit = work.session.get(Visit, original.mdtrt_id)
        if visit is not None:
            visit.status = "cancelled"  # a purchase has no second settlement: the returned drugs end the visit
    return Cancelled(original, reversal, person, settlement.funds_of(work.session, original.setl_id))


def cancel(work: Work, setl_id: str, mdtrt_id: str, psn_no: str, kind: str) -> Cancelled:
    """2208 / 2103 / 2305: the institution's own settlement of that visit, person and kind, cancelled."""
    original = settlement.find_settlement(work.session, work.here, setl_id, mdtrt_id, psn_no, (kind,))
    return cancel_settlement(work, original)
