"""Settling a visit: compute the shares (pure rules), then commit them in the caller's unit of work.

compute() reads and, when `lock` is set, locks what it will change (accounts in psn_no order, then the
accumulator); settle() writes the settlement, its funds, the accumulator, the account movements with
their bank instructions and the quota used; cancel() reverses all of it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from yibao.errors import Refusal, refuse
from yibao.money import ZERO
from yibao.platform import catalog, crossregion, fund_ledger, ledger, mutual_aid
from yibao.platform.ids import new_id
from yibao.platform.persons import pooling_region
from yibao.rules import aid_sources as aid
from yibao.rules.amounts import settle_amounts
from yibao.rules.cost_sharing import PolicyTerms, Shares, Usage
from yibao.rules.filing import ecredential_account_problem
from yibao.rules.invariants import Totals, violations
from yibao.rules.selection import LOCAL, Case, PolicyRow, qualification_problem, settlement_case
from yibao.rules.splitting import LineSplit, Sums, sum_lines
from yibao.rules.waterfall import AccountPayment
from yibao.store.models import (
    Account,
    AccountEntry,
    Accumulator,
    FeeDetail,
    Institution,
    MutualAidAuthorization,
    Person,
    Settlement,
    SettlementFund,
    Visit,
)
from yibao.store.reference import reference

FUND_NAMES = {"310100": "职工基本医疗保险统筹基金", "390100": "城乡居民基本医疗保险基金", "510100": "生育基金"}
POOLED_FUND = {"310": "310100", "390": "390100", "510": "510100"}
CLR_TYPE = {"outpatient": "11", "inpatient": "21", "pharmacy": "41"}


@dataclass
class Computation:
    person: Person
    case: Case
    policy: PolicyRow
    med_type: str
    sums: Sums
    shares: Shares
    payment: AccountPayment
    own_account: Account | None
    accumulator: Accumulator | None
    year: int
    aid_accounts: dict[str, Account] = field(default_factory=dict)
    aid_grants: dict[int, MutualAidAuthorization] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: settled across nodes: what the insured province's node applied (platform/remote.py), else None
    remote: Any = None

    @property
    def acct_pay(self) -> Decimal:
        return self.payment.total

    @property
    def psn_cash_pay(self) -> Decimal:
        return self.shares.psn_part_amt - self.payment.total

    @property
    def balc(self) -> Decimal:
        """The own account's balance after this settlement, used or not (rules.md 4 step 7)."""
        if self.remote is not None:
            return self.remote.balc
        own = self.aid_accounts.get(self.person.psn_no)
        if own is None or own.status != "open" or own.from_suspended_employment:
            return ZERO
        return own.balance - self.payment.own


def person_for_message(session: Session, psn_no: str, insuplc_admdvs: str, institution: Institution,
                       field_name: str = "input.data.psn_no", check_suspension: bool = True) -> Person:
    """The insured person a message names, with the envelope's insured region agreeing (interface.md 1.1).
    Queries pass check_suspension=False: a suspended person's history is still answered."""
    person = session.get(Person, psn_no)
    remote = session.info.get("remote")  # a node of a federation: a visitor is who his insured node says
    if person is None and remote is not None and insuplc_admdvs and remote.elsewhere(insuplc_admdvs):
        person = remote.visitor(session, pooling_region(session, insuplc_admdvs), psn_no=psn_no)
    if person is None:
        raise refuse(field_name, f"no insured person {psn_no}")
    # the session's identity map holds rows weakly: kept here, the next read of this person in the same unit
    # of work (a message reads him more than once) costs no statement
    session.info.setdefault("people", {})[psn_no] = person
    named = pooling_region(session, insuplc_admdvs) if insuplc_admdvs else institution.admdvs
    if named != person.admdvs:
        raise refuse("insuplc_admdvs", f"must name the person's insured region {person.admdvs}, "
                                       f"not {insuplc_admdvs or '(empty)'}")
    if check_suspension and person.suspended:
        raise Refusal(f"{field_name}: the person's benefits are suspended (psn_insu_stas 2); "
                      "settlement is refused until the insured region lifts the suspension")
    return person


def case_for(person: Person, institution: Institution, kind: str) -> Case:
    case = settlement_case(person.admdvs, institution.admdvs, kind == "inpatient")
    problem = qualification_problem(case, institution.xregion)
    if problem:
        raise refuse("fixmedins_code", problem)
    return case


def compute(session: Session, *, person: Person, institution: Institution, kind: str, med_type: str,
            insutype: str, splits: list[LineSplit], acct_used_flag: str, today: date, lock: bool,
            dise_codg: str | None = None, visit_day: date | None = None, as_of: date | None = None,
            direct: bool = True, mdtrt_cert_type: str = "") -> Computation:
    """`as_of`: the day whose policy and accumulator year apply (the visit day for supplementary
    bookkeeping); by default the business date. `direct=False` is a claim computed for the insured region
    (reimbursement coordination), not a direct settlement: suspension, agreement and filing do not apply."""
    if insutype != person.insutype:
        raise refuse("input.data.insutype", f"the person is insured under {person.insutype}, not {insutype}")
    case = case_for(person, institution, kind)
    if session.info.get("remote") is not None:  # another node's policy only from its snapshots, never stale nothing
        session.info["remote"].require_reference(session, person.admdvs)
    policy = catalog.policy_for(session, case.policy_admdvs, insutype, med_type, institution.level, as_of or today)
    sums = sum_lines(splits)
    if sums.medfee_sumamt < 0 or sums.inscp_scp_amt < 0:
        raise refuse("feedetail", f"the lines to settle sum to {sums.medfee_sumamt} (in scope "
                                  f"{sums.inscp_scp_amt}); a settlement cannot be negative")
    year = (as_of or today).year
    regions = reference(session).regions(session)
    crossregion.check(session, person=person, institution=institution, case=case, med_type=med_type,
                      dise_codg=dise_codg, visit_day=visit_day or today, regions=regions, direct=direct)
    warnings: list[str] = []

    use_accounts = acct_used_flag == "1"
    bookkeeping_here = all(regions[a].acct_bookkeeping for a in (person.admdvs, institution.admdvs) if a in regions)
    if use_accounts and not bookkeeping_here:
        use_accounts = False
        warnings.append("personal account not used: the insured region and the treatment region must both "
                        "support account bookkeeping (seed 000)")
    inactive = ecredential_account_problem(person.ecard_activated, case.kind != LOCAL, mdtrt_cert_type)
    if use_accounts and inactive:  # art. 39: the e-credential not activated
        use_accounts = False
        warnings.append(inactive)

    remote = session.info.get("remote")  # a node of a federation: the insured province's node applies this part
    if remote is not None and remote.elsewhere(person.admdvs):
        return remote.insured_part(session, person=person, institution=institution, case=case, policy=policy,
                                   med_type=med_type, kind=kind, sums=sums, use_accounts=use_accounts,
                                   today=today, as_of=as_of or today, year=year, lock=lock, warnings=warnings)
    return insured_part(session, person=person, case=case, policy=policy, med_type=med_type, sums=sums,
                        use_accounts=use_accounts, today=today, year=year, lock=lock, warnings=warnings,
                        regions=regions)


def insured_part(session: Session, *, person: Person, case: Case, policy: PolicyRow, med_type: str, sums: Sums,
                 use_accounts: bool, today: date, year: int, lock: bool, warnings: list[str],
                 regions: dict) -> Computation:
    """What only the insured region may decide: the accumulator, the personal account and the family mutual-aid
    waterfall (rules.md 4), read and with `lock` locked; the shares under the policy; the invariants checked."""
    rows: dict[int, MutualAidAuthorization] = {}
    if use_accounts:
        rows = {g.id: g for g in session.scalars(select(MutualAidAuthorization).where(
            MutualAidAuthorization.beneficiary == person.psn_no, MutualAidAuthorization.status == "active"))}
    live = aid.ordered([_grant(g) for g in rows.values()], today)
    blocked = mutual_aid.withheld(regions.get(person.admdvs), person, med_type)  # Taiyuan 五(一), 五(二)
    if live and blocked:
        warnings.append(blocked)
        live = []
    wanted = {person.psn_no} | {g.authorizer for g in live}  # own account read even unused: balc
    accounts = ledger.lock_accounts(session, wanted) if lock else (
        {a.psn_no: a for a in session.scalars(select(Account).where(Account.psn_no.in_(sorted(wanted))))}
        if wanted else {})
    if lock:  # read before the accounts were locked: read again, locked (quota_used, status, window)
        for g in live:
            session.refresh(rows[g.id], with_for_update=True)
        live = aid.ordered([_grant(rows[g.id]) for g in live], today)

    own = accounts.get(person.psn_no)
    # the account of a suspended employee insurance pays its owner's resident costs only through his
    # self-authorization (Hefei 二), never as an own account
    own_usable = use_accounts and own is not None and own.status == "open" and not own.from_suspended_employment
    if own_usable and own is not None and own.admdvs in regions and not regions[own.admdvs].acct_bookkeeping:
        own_usable = False
        warnings.append(f"own account not used: its region {own.admdvs} does not support account bookkeeping")

    sources, left_out = aid.sources(
        live, {a.psn_no: aid.AccountFacts(a.admdvs, a.status == "open", a.balance) for a in accounts.values()},
        {r.admdvs: r.acct_bookkeeping for r in regions.values()})
    warnings.extend(left_out)
    grant_by_id = {s.authorization_id: rows[s.authorization_id] for s in sources}

    accumulator = _accumulator(session, person.psn_no, year, policy.bucket, lock)
    usage = Usage(accumulator.deductible_used, accumulator.fund_paid) if accumulator else Usage()
    terms = PolicyTerms(policy.deductible, policy.ratio, policy.annual_cap, policy.acct_scope)
    amounts = settle_amounts(sums, terms, usage, use_accounts=use_accounts,
                             own_balance=own.balance if own_usable and own else None, sources=sources)
    shares, payment = amounts.shares, amounts.payment
    comp = Computation(person, case, policy, med_type, sums, shares, payment, own if own_usable else None,
                       accumulator, year, accounts, grant_by_id, warnings)
    _check_invariants(comp)
    return comp


def _grant(g: MutualAidAuthorization) -> aid.Grant:
    return aid.Grant(g.id, g.authorizer, g.status == "active", g.start, g.end, g.priority, g.created_at, g.quota,
                     g.quota_used)


def _accumulator(session: Session, psn_no: str, year: int, bucket: str, lock: bool) -> Accumulator | None:
    key = {"psn_no": psn_no, "year": year, "bucket": bucket}
    if not lock:
        return session.get(Accumulator, (psn_no, year, bucket))
    # one statement makes the row if the year has none and locks it either way (the conflict's update takes the
    # row lock): concurrent first settlements of a year never both insert, later ones queue on the row
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Accumulator).values(**key, deductible_used=0, fund_paid=0)
    stmt = stmt.on_conflict_do_update(index_elements=["psn_no", "year", "bucket"],
                                      set_={"psn_no": stmt.excluded.psn_no}).returning(Accumulator)
    return session.scalars(stmt, execution_options={"populate_existing": True}).one()


def _check_invariants(c: Computation) -> None:
    s = c.shares
    balances = {}
    if c.own_account is not None:
        balances[c.own_account.psn_no] = c.own_account.balance - c.payment.own
    quotas = {}
    for d in c.payment.draws:
        balances[d.source.authorizer] = balances.get(d.source.authorizer, d.source.balance) - d.amount
        if d.source.quota_left is not None:
            quotas[d.source.authorization_id] = d.source.quota_left - d.amount
    totals = Totals(c.sums.medfee_sumamt, s.fund_pay_sumamt, s.psn_part_amt, c.acct_pay, c.payment.mutual_aid,
                    c.psn_cash_pay, ZERO, (s.hifp_pay,))
    broken = violations(totals, balances, quotas, s.cap_left_before - s.hifp_pay)
    if broken:
        raise Refusal("settlement refused, an invariant would break: " + "; ".join(broken))


@dataclass
class Committed:
    settlement: Settlement
    funds: list[SettlementFund]


def settle(session: Session, comp: Computation, *, mdtrt_id: str, institution: Institution, kind: str,
           now: datetime, msgid: str, opter: str, opter_name: str, lines: list[FeeDetail] | None = None,
           chrg_bchno: str | None = None, mid_setl_flag: str = "0", invono: str = "",
           dise_codg: str | None = None, dise_name: str | None = None, suppl_flag: str = "0",
           claim: bool = False) -> Committed:
    """`claim`: a reimbursement-coordination claim, whose fund part the fund owes the person."""
    setl_id = comp.remote.setl_id if comp.remote is not None else new_id(institution.admdvs, now)
    s = comp.shares
    person = comp.person
    mulaid_regions = sorted({d.source.acct_admdvs for d in comp.payment.draws})
    row = Settlement(
        setl_id=setl_id, mdtrt_id=mdtrt_id, psn_no=person.psn_no, fixmedins_code=institution.code,
        insutype=person.insutype, med_type=comp.med_type, kind=kind, clr_type=CLR_TYPE[kind], setl_time=now,
        year=comp.year, bucket=comp.policy.bucket, refd_setl_flag="0", status="settled", mid_setl_flag=mid_setl_flag,
        suppl_flag=suppl_flag,
        chrg_bchno=chrg_bchno, **amounts_of(comp), catalog_admdvs=comp.case.catalog_admdvs,
        policy_admdvs=comp.case.policy_admdvs, policy_id=comp.policy.id, insu_admdvs=person.admdvs,
        acct_admdvs=comp.own_account.admdvs if comp.own_account and comp.payment.own > 0 else None,
        acct_mulaid_admdvs=",".join(mulaid_regions) or None, pay_loc=comp.case.pay_loc,
        clr_optins=comp.case.policy_admdvs, clr_way="01", msgid=msgid, invono=invono or None,
        dise_codg=dise_codg, dise_name=dise_name, opter=opter, opter_name=opter_name,
        explanation=list(s.explanation) + comp.warnings)
    session.add(row)
    funds = []
    if s.hifp_pay > 0:
        fund_type = POOLED_FUND.get(person.insutype, "310100")
        funds.append(SettlementFund(setl_id=setl_id, fund_pay_type=fund_type, fund_pay_type_name=FUND_NAMES[fund_type],
                                    inscp_scp_amt=comp.sums.inscp_scp_amt, crt_payb_lmt_amt=s.cap_left_before,
                                    fund_payamt=s.hifp_pay, setl_proc_info="; ".join(s.explanation)[:4000]))
    session.add_all(funds)
    if comp.remote is None:  # across nodes the insured province's node applied them
        apply_insured(session, comp, setl_id, now)
    fund_ledger.post_settlement(session, row, ((d.source.acct_admdvs, d.amount) for d in comp.payment.draws), now,
                                claim=claim)
    stored = [x for x in lines or [] if x.id is not None]
    if stored:  # one UPDATE for the batch rather than one per line
        marked = session.execute(update(FeeDetail).where(FeeDetail.id.in_([x.id for x in stored]),
                                                         FeeDetail.setl_id.is_(None)).values(setl_id=setl_id)
                                 .execution_options(synchronize_session=False)).rowcount
        if marked != len(stored):  # the visit lock makes this unreachable; the database still has the last word
            raise Refusal(f"feedetail: {len(stored) - marked} of the lines to settle were settled meanwhile by "
                          "another message; nothing was settled")
        for line in stored:
            set_committed_value(line, "setl_id", setl_id)
    for line in lines or []:
        if line.id is None:  # lines uploaded in this same message (pharmacy) are inserted with it
            line.setl_id = setl_id
    return Committed(row, funds)


def apply_insured(session: Session, comp: Computation, setl_id: str, now: datetime) -> None:
    """The insured region's effects of a settlement: its accumulator, the account debits with their bank
    instructions, the mutual-aid quota used."""
    s, person = comp.shares, comp.person
    if comp.accumulator is not None or s.act_pay_dedc or s.hifp_pay:
        acc = comp.accumulator
        if acc is None:  # pre-computed without lock: cannot happen in settle, which always locks
            raise RuntimeError("settle() needs a computation made with lock=True")
        acc.deductible_used += s.act_pay_dedc
        acc.fund_paid += s.hifp_pay
    if comp.own_account is not None and comp.payment.own > 0:
        ledger.move(session, comp.own_account, -comp.payment.own, kind="settlement", setl_id=setl_id, now=now,
                    beneficiary=person.psn_no)
    for draw in comp.payment.draws:
        grant = comp.aid_grants[draw.source.authorization_id]
        ledger.move(session, comp.aid_accounts[draw.source.authorizer], -draw.amount, kind="mutual_aid",
                    setl_id=setl_id, now=now, beneficiary=person.psn_no, authorization_id=grant.id)
        grant.quota_used += draw.amount


def amounts_of(c: Computation) -> dict[str, Decimal]:
    s = c.shares
    return {
        "medfee_sumamt": c.sums.medfee_sumamt, "fulamt_ownpay_amt": c.sums.fulamt_ownpay_amt,
        "overlmt_selfpay": c.sums.overlmt_selfpay, "preselfpay_amt": c.sums.preselfpay_amt,
        "inscp_scp_amt": c.sums.inscp_scp_amt, "act_pay_dedc": s.act_pay_dedc, "hifp_pay": s.hifp_pay,
        "pool_prop_selfpay": s.pool_prop_selfpay, "cvlserv_pay": ZERO, "hifes_pay": ZERO, "hifmi_pay": ZERO,
        "hifob_pay": ZERO, "maf_pay": ZERO, "oth_pay": ZERO, "fund_pay_sumamt": s.fund_pay_sumamt,
        "psn_part_amt": s.psn_part_amt, "acct_pay": c.acct_pay, "acct_mulaid_pay": c.payment.mutual_aid,
        "psn_cash_pay": c.psn_cash_pay, "hosp_part_amt": ZERO, "balc": c.balc,
    }


MONEY_FIELDS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
                "act_pay_dedc", "hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay",
                "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay",
                "hosp_part_amt")


def find_settlement(session: Session, institution: Institution, setl_id: str, mdtrt_id: str, psn_no: str,
                    kinds: tuple[str, ...]) -> Settlement:
    row = session.get(Settlement, setl_id)
    if row is None or row.fixmedins_code != institution.code or row.refd_setl_flag != "0":
        raise refuse("input.data.setl_id", f"no settlement {setl_id} of this institution")
    if row.mdtrt_id != mdtrt_id:
        raise refuse("input.data.mdtrt_id", f"settlement {setl_id} belongs to another visit")
    if row.psn_no != psn_no:
        raise refuse("input.data.psn_no", f"settlement {setl_id} belongs to another person")
    if row.kind not in kinds:
        raise refuse("input.data.setl_id", f"settlement {setl_id} is a {row.kind} settlement")
    return row


def cancel(session: Session, original: Settlement, *, now: datetime, msgid: str, opter: str,
           opter_name: str) -> tuple[Settlement, Decimal]:
    """Reverse a settlement exactly: accumulators, every account debited (each to its own account, with an
    acct_023 instruction), the quota used; a negative record (refd_setl_flag 1) keeps the books."""
    if original.status != "settled":
        raise refuse("input.data.setl_id", f"settlement {original.setl_id} was already cancelled")
    # the visit first, as a settlement of it does: a cancellation and a settlement of one visit never interleave
    session.get(Visit, original.mdtrt_id, with_for_update=True)
    remote = session.info.get("remote")  # settled across nodes: the insured province's node reverses its part
    far = remote is not None and remote.elsewhere(original.insu_admdvs)
    entries = [] if far else list(session.scalars(select(AccountEntry).where(
        AccountEntry.setl_id == original.setl_id, AccountEntry.amount < 0)))
    accounts = ledger.lock_accounts(session, {e.psn_no for e in entries})
    session.refresh(original, with_for_update=True)
    if original.status != "settled":  # cancelled by a concurrent message while we waited for the lock
        raise refuse("input.data.setl_id", f"settlement {original.setl_id} was already cancelled")
    far_balc = remote.cancel_elsewhere(session, original) if far else None
    if not far:
        acc = _accumulator(session, original.psn_no, original.year, original.bucket, True)
        assert acc is not None
        acc.deductible_used -= original.act_pay_dedc
        acc.fund_paid -= original.hifp_pay
    reversal_id = new_id(original.setl_id[:6], now)
    ledger.give_back(session, accounts, entries, setl_id=reversal_id, now=now)
    own = accounts.get(original.psn_no) or session.get(Account, original.psn_no)
    balc = own.balance if own is not None and own.status == "open" and not own.from_suspended_employment else ZERO
    if far_balc is not None:
        balc = far_balc
    reversal = Settlement(**{c.name: getattr(original, c.name) for c in Settlement.__table__.columns
                             if c.name not in ("setl_id",)})
    reversal.setl_id = reversal_id
    for name in MONEY_FIELDS:
        setattr(reversal, name, -getattr(original, name))
    reversal.balc = balc
    reversal.refd_setl_flag, reversal.init_setl_id, reversal.status = "1", original.setl_id, "reversal"
    reversal.setl_time, reversal.msgid, reversal.opter, reversal.opter_name = now, msgid, opter, opter_name
    reversal.explanation = [f"cancellation of {original.setl_id}"]
    session.add(reversal)
    fund_ledger.post_reversal(session, original, reversal_id, now)
    original.status = "cancelled"
    for line in session.scalars(select(FeeDetail).where(FeeDetail.setl_id == original.setl_id)):
        line.setl_id = None
    return reversal, balc


def funds_of(session: Session, setl_id: str) -> list[SettlementFund]:
    return list(session.scalars(select(SettlementFund).where(SettlementFund.setl_id == setl_id)))


