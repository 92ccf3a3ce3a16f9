"""Family mutual aid as a property (hypothesis): random families, random outpatient settlements and random
cancellations, all through the wire (2201 / 2204 / 2207(A) / 2208), checked against a model of rules.md 4-5.

A family: an authorizer with a random balance; sometimes a second authorizer; one to three beneficiaries,
residents (no own account) or employees (a random own balance), each with an authorization from the first
authorizer and maybe one from the second, with random quotas and priorities. Any member, or an authorizer
for himself, settles visits; settlements are cancelled at random, then every one left is cancelled.

After every step: the platform's answer is the model's to the cent (own account first, then the
authorizations by priority then age, each within min(balance, quota left, what is uncovered)); the journal
and the bank instructions move exactly those amounts between exactly those accounts; no balance, quota or
fund cap is below zero; money is conserved (balances + cash + fund of the live settlements = opening balances +
their medical fees). After the last cancellation every balance, quota and accumulator is its opening value.

Each example is a new family with fresh psn_nos loaded into the same database, so examples do not interfere.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from outpatient_world import TY_HOSP, base_doc, fee_lines, id_card
from sqlalchemy import select

from yibao.app import create_app
from yibao.client import PlatformClient
from yibao.dataset.loader import load_document
from yibao.store.db import Store
from yibao.store.models import Account, AccountEntry, Accumulator, BankInstruction, MutualAidAuthorization

D = Decimal
ZERO = D("0.00")
REGION = "140100"
YEAR = 2026
# Taiyuan's general outpatient in the conformance dataset: (deductible, ratio, annual cap), account scope all
POLICY = {"390": (D("0.00"), D("0.50"), D("800.00")), "310": (D("100.00"), D("0.60"), D("5000.00"))}
ITEMS = ("EX-DRUG-A", "EX-DRUG-B", "EX-ITEM-C")


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)


def r2(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def cents(lo: int, hi: int) -> st.SearchStrategy[Decimal]:
    return st.integers(lo * 100, hi * 100).map(lambda n: D(n).scaleb(-2))


# -- families ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grant:
    authorizer: int            # 0 or 1
    beneficiary: int
    quota: Decimal | None
    priority: int | None


@dataclass(frozen=True)
class Settle:
    who: str                   # "b0".."b2" a beneficiary, "a0"/"a1" an authorizer for himself
    lines: tuple[tuple[str, Decimal, int], ...]
    a_form: bool
    acct_used_flag: str


@dataclass(frozen=True)
class Cancel:
    pick: int                  # which live settlement, modulo their number


@dataclass(frozen=True)
class Family:
    authorizers: tuple[Decimal, ...]            # balances
    beneficiaries: tuple[Decimal | None, ...]   # own balance, None: a resident
    grants: tuple[Grant, ...]
    steps: tuple[Settle | Cancel, ...]


@st.composite
def families(draw: st.DrawFn) -> Family:
    authorizers = tuple(draw(st.lists(cents(0, 600), min_size=1, max_size=2)))
    beneficiaries = tuple(draw(st.lists(st.none() | cents(0, 150), min_size=1, max_size=3)))
    quota = st.none() | cents(1, 300)
    priority = st.none() | st.integers(0, 2)
    grants = [Grant(0, b, draw(quota), draw(priority)) for b in range(len(beneficiaries))]
    if len(authorizers) == 2:
        grants += [Grant(1, b, draw(quota), draw(priority)) for b in range(len(beneficiaries)) if draw(st.booleans())]
    who = st.sampled_from([f"b{i}" for i in range(len(beneficiaries))] * 3 + [f"a{i}" for i in range(len(authorizers))])
    line = st.tuples(st.sampled_from(ITEMS), cents(1, 250), st.integers(1, 3))
    settle = st.builds(Settle, who, st.lists(line, min_size=1, max_size=3).map(tuple), st.booleans(),
                       st.sampled_from(["1", "1", "1", "0"]))
    steps = draw(st.lists(st.one_of(settle, settle, st.builds(Cancel, st.integers(0, 9))), min_size=1, max_size=5))
    return Family(authorizers, beneficiaries, tuple(grants), tuple(steps))


_serial = itertools.count(1)


@dataclass
class Person:
    psn_no: str
    certno: str
    insutype: str


def new_person(insutype: str) -> Person:
    n = next(_serial)
    born = date(1940, 1, 1) + timedelta(days=n)
    return Person(f"1401009{n:06d}0000000"[:20], id_card(f"140101{born:%Y%m%d}{101 + n % 800:03d}"), insutype)


# -- the model -------------------------------------------------------------------------------------------

@dataclass
class Live:
    setl_id: str
    mdtrt_id: str
    psn_no: str
    medfee: Decimal
    fund: Decimal
    acct_pay: Decimal
    cash: Decimal
    dedc: Decimal
    own: Decimal
    draws: dict[int, Decimal]   # authorization id -> amount


@dataclass
class Model:
    balances: dict[str, Decimal]
    quota_used: dict[int, Decimal]
    quotas: dict[int, Decimal | None]
    accumulators: dict[str, tuple[Decimal, Decimal]]
    order: dict[str, list[tuple[int, str]]]          # beneficiary -> [(authorization id, authorizer)] in draw order
    live: list[Live] = field(default_factory=list)

    def expect(self, who: Person, medfee: Decimal, inscp: Decimal, flag: str) -> dict[str, Any]:
        deductible, ratio, cap = POLICY[who.insutype]
        used_dedc, used_fund = self.accumulators.get(who.psn_no, (ZERO, ZERO))
        dedc = min(inscp, max(ZERO, deductible - used_dedc))
        hifp = min(r2((inscp - dedc) * ratio), max(ZERO, cap - used_fund))
        part = medfee - hifp
        own, draws, left = ZERO, {}, part
        if flag == "1":
            if who.psn_no in self.balances:
                own = min(left, self.balances[who.psn_no])
                left -= own
            for gid, authorizer in self.order.get(who.psn_no, []):
                quota = self.quotas[gid]
                limit = self.balances[authorizer] if quota is None else min(self.balances[authorizer],
                                                                            quota - self.quota_used[gid])
                amount = min(left, max(ZERO, limit))
                if amount > 0:
                    draws[gid] = amount
                    left -= amount
        return {"dedc": dedc, "hifp": hifp, "part": part, "own": own, "draws": draws, "cash": left}

    def apply(self, live: Live, authorizer_of: dict[int, str], sign: int) -> None:
        """sign -1: the settlement's debits; +1: its refund."""
        if live.own:
            self.balances[live.psn_no] += sign * live.own
        for gid, amount in live.draws.items():
            self.balances[authorizer_of[gid]] += sign * amount
            self.quota_used[gid] -= sign * amount
        dedc, fund = self.accumulators.get(live.psn_no, (ZERO, ZERO))
        self.accumulators[live.psn_no] = (dedc - sign * live.dedc, fund - sign * live.fund)


# -- the platform ----------------------------------------------------------------------------------------

class Desk:
    def __init__(self, store: Store):
        load_document(store, base_doc())
        self.store = store
        inst = next(i for i in base_doc()["institutions"] if i["code"] == TY_HOSP)
        self.client = PlatformClient("http://testserver", TY_HOSP, inst["secret"], REGION, opter="op01",
                                     http=TestClient(create_app(store)))
        self.n = 0

    def ok(self, infno: str, input_: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.call(infno, input_, REGION)
        assert answer["infcode"] == 0, f"{infno}: {answer['err_msg']}"
        return answer

    def visit(self, who: Person, lines: tuple[tuple[str, Decimal, int], ...]) -> tuple[str, dict[str, Any]]:
        """Register and upload; the 2207 input that settles the visit (amounts from the 2204 split)."""
        self.n += 1
        mdtrt_id = self.ok("2201", {"data": {"psn_no": who.psn_no, "insutype": who.insutype, "begntime":
                                             "2026-03-16 09:00:00", "mdtrt_cert_type": "02",
                                             "mdtrt_cert_no": who.certno, "ipt_otp_no": f"P{who.psn_no}-{self.n}"}}
                           )["output"]["data"]["mdtrt_id"]
        items = [(code, str(pric), str(cnt)) for code, pric, cnt in lines]
        rows = self.ok("2204", {"feedetail": fee_lines(mdtrt_id, who.psn_no, "B1", items)})["output"]["result"]

        def total(key: str) -> str:
            return str(sum((r[key] for r in rows), ZERO))

        return mdtrt_id, {"psn_no": who.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": who.certno,
                          "med_type": "11", "medfee_sumamt": total("det_item_fee_sumamt"), "psn_setlway": "01",
                          "mdtrt_id": mdtrt_id, "chrg_bchno": "B1", "insutype": who.insutype,
                          "fulamt_ownpay_amt": total("fulamt_ownpay_amt"), "overlmt_selfpay": total("overlmt_amt"),
                          "preselfpay_amt": total("preselfpay_amt"), "inscp_scp_amt": total("inscp_scp_amt")}

    def state(self, psn_nos: list[str], grant_ids: list[int]) -> tuple[dict[str, Decimal], dict[int, Decimal],
                                                                       dict[str, tuple[Decimal, Decimal]]]:
        with self.store.unit_of_work() as s:
            balances = {a.psn_no: a.balance for a in s.scalars(select(Account).where(Account.psn_no.in_(psn_nos)))}
            quotas = {g.id: g.quota_used for g in s.scalars(select(MutualAidAuthorization).where(
                MutualAidAuthorization.id.in_(grant_ids)))}
            accs = {a.psn_no: (a.deductible_used, a.fund_paid) for a in s.scalars(select(Accumulator).where(
                Accumulator.psn_no.in_(psn_nos), Accumulator.year == YEAR, Accumulator.bucket == "outpatient"))}
        return balances, quotas, {k: v for k, v in accs.items() if v != (ZERO, ZERO)}

    def movements(self, setl_id: str) -> tuple[list[tuple[str, Decimal, int | None]], list[tuple[str, str, Decimal]]]:
        with self.store.unit_of_work() as s:
            journal = [(e.psn_no, e.amount, e.authorization_id) for e in s.scalars(
                select(AccountEntry).where(AccountEntry.setl_id == setl_id).order_by(AccountEntry.id))]
            bank = [(b.code, b.psn_no, b.amount) for b in s.scalars(
                select(BankInstruction).where(BankInstruction.setl_id == setl_id).order_by(BankInstruction.journal_id))]
        return journal, bank


@pytest.fixture
def desk(store: Store) -> Desk:
    return Desk(store)


def load_family(desk: Desk, fam: Family) -> tuple[dict[str, Person], Model, dict[int, str]]:
    people = {f"a{i}": new_person("310") for i in range(len(fam.authorizers))}
    people.update({f"b{i}": new_person("390" if own is None else "310") for i, own in enumerate(fam.beneficiaries)})
    opening = {people[f"a{i}"].psn_no: bal for i, bal in enumerate(fam.authorizers)}
    opening.update({people[f"b{i}"].psn_no: own for i, own in enumerate(fam.beneficiaries) if own is not None})
    persons = []
    for key, p in people.items():
        doc: dict[str, Any] = {"psn_no": p.psn_no, "name": "例" + key, "certno": p.certno, "gend": "1",
                               "brdy": f"{p.certno[6:10]}-{p.certno[10:12]}-{p.certno[12:14]}", "insutype": p.insutype,
                               "admdvs": REGION, "psn_type": "1101" if p.insutype == "310" else "1402"}
        if p.psn_no in opening:
            doc["account"] = {"balance": str(opening[p.psn_no]), "admdvs": REGION}
        persons.append(doc)
    grants = [{"authorizer": people[f"a{g.authorizer}"].psn_no, "beneficiary": people[f"b{g.beneficiary}"].psn_no,
               "relation": "child", "quota": None if g.quota is None else str(g.quota), "start": "2026-01-01",
               "end": "2026-12-31", "priority": g.priority} for g in fam.grants]
    load_document(desk.store, {"persons": persons, "mutual_aid": grants})
    with desk.store.unit_of_work() as s:
        rows = list(s.scalars(select(MutualAidAuthorization).where(MutualAidAuthorization.beneficiary.in_(
            [people[f"b{i}"].psn_no for i in range(len(fam.beneficiaries))])).order_by(MutualAidAuthorization.id)))
    assert [(r.authorizer, r.beneficiary) for r in rows] == [(g["authorizer"], g["beneficiary"]) for g in grants]
    authorizer_of = {r.id: r.authorizer for r in rows}
    order: dict[str, list[tuple[int, str]]] = {}
    # in the beneficiary's priority order (none last), then oldest first (here: all loaded at once, by id)
    for r in sorted(rows, key=lambda r: (r.priority is None, r.priority or 0, r.id)):
        order.setdefault(r.beneficiary, []).append((r.id, r.authorizer))
    model = Model(dict(opening), {r.id: ZERO for r in rows}, {r.id: r.quota for r in rows}, {}, order)
    return people, model, authorizer_of


def check_books(desk: Desk, model: Model, people: dict[str, Person], opening: dict[str, Decimal]) -> None:
    balances, quota_used, accumulators = desk.state([p.psn_no for p in people.values()], list(model.quota_used))
    assert balances == model.balances
    assert quota_used == model.quota_used
    assert accumulators == {k: v for k, v in model.accumulators.items() if v != (ZERO, ZERO)}
    assert all(b >= 0 for b in balances.values()), balances
    for gid, used in quota_used.items():
        quota = model.quotas[gid]
        assert used >= 0 and (quota is None or used <= quota), (gid, used, quota)
    for psn_no, (dedc, fund) in accumulators.items():
        insutype = next(p.insutype for p in people.values() if p.psn_no == psn_no)
        assert 0 <= dedc <= POLICY[insutype][0] and 0 <= fund <= POLICY[insutype][2]
    # money is conserved: the medical fees of the live settlements were paid by the fund, cash and exactly what
    # left the accounts (the accounts paid nothing else, and got nothing from anywhere else)
    live = model.live
    assert sum(balances.values(), ZERO) + sum((x.medfee for x in live), ZERO) == (
        sum(opening.values(), ZERO) + sum((x.fund + x.cash for x in live), ZERO))
    assert sum(opening.values(), ZERO) - sum(balances.values(), ZERO) == sum((x.acct_pay for x in live), ZERO)


VISIT = (("EX-DRUG-A", D("100.00"), 2),)  # a resident: 100.00 pooled, 100.00 for the accounts


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fam=families())
# priority first: the second authorizer (priority 0, quota 30.00) pays before the first (priority 2)
@example(fam=Family((D("100.00"), D("100.00")), (None,), (Grant(0, 0, None, 2), Grant(1, 0, D("30.00"), 0)),
                    (Settle("b0", VISIT, True, "1"), Settle("b0", VISIT, False, "1"), Cancel(0))))
# no priority: the oldest first; an employee beneficiary's own balance before both
@example(fam=Family((D("50.00"), D("80.00")), (D("20.00"),), (Grant(0, 0, None, None), Grant(1, 0, None, None)),
                    (Settle("b0", VISIT, True, "1"), Settle("a1", VISIT, True, "1"))))
def test_random_families_settle_and_cancel_without_losing_a_cent(desk: Desk, fam: Family) -> None:
    people, model, authorizer_of = load_family(desk, fam)
    opening = dict(model.balances)

    def cancel(live: Live) -> None:
        info = desk.ok("2208", {"data": {"setl_id": live.setl_id, "mdtrt_id": live.mdtrt_id,
                                         "psn_no": live.psn_no}})["output"]["setlinfo"]
        assert (info["acct_pay"], info["acct_mulaid_pay"]) == (live.acct_pay, live.acct_pay - live.own)
        model.live.remove(live)
        model.apply(live, authorizer_of, +1)
        journal, bank = desk.movements(info["refd_setl_id"])
        want = ([(live.psn_no, live.own, None)] if live.own else []) + [
            (authorizer_of[gid], amount, gid) for gid, amount in live.draws.items()]
        assert sorted(journal, key=str) == sorted(want, key=str)
        assert sorted(bank) == sorted(("acct_023", psn, amount) for psn, amount, _g in want)

    for step in fam.steps:
        if isinstance(step, Cancel):
            if model.live:
                cancel(model.live[step.pick % len(model.live)])
            check_books(desk, model, people, opening)
            continue
        who = people[step.who]
        mdtrt_id, data = desk.visit(who, step.lines)
        want = model.expect(who, D(data["medfee_sumamt"]), D(data["inscp_scp_amt"]), step.acct_used_flag)
        answer = desk.ok("2207A" if step.a_form else "2207", {"data": {**data, "acct_used_flag": step.acct_used_flag}})
        info = answer["output"]["setlinfo"]
        aid = sum(want["draws"].values(), ZERO)
        assert (info["act_pay_dedc"], info["hifp_pay"], info["psn_part_amt"], info["acct_pay"],
                info["acct_mulaid_pay"], info["psn_cash_pay"]) == (
            want["dedc"], want["hifp"], want["part"], want["own"] + aid, aid, want["cash"]), (step, want)
        if step.acct_used_flag == "1" and who.psn_no in model.balances:
            assert info["balc"] == model.balances[who.psn_no] - want["own"]
        if step.a_form:
            assert info["acct_mulaid_admdvs"] == (REGION if aid else "")
            assert info["acct_admdvs"] == (REGION if want["own"] else "")
        live = Live(info["setl_id"], mdtrt_id, who.psn_no, info["medfee_sumamt"], info["fund_pay_sumamt"],
                    info["acct_pay"], info["psn_cash_pay"], want["dedc"], want["own"], want["draws"])
        model.live.append(live)
        model.apply(live, authorizer_of, -1)
        journal, bank = desk.movements(live.setl_id)
        expected = ([(who.psn_no, -want["own"], None)] if want["own"] else []) + [
            (authorizer_of[gid], -amount, gid) for gid, amount in want["draws"].items()]
        assert journal == expected
        assert bank == [("acct_021", psn, -amount) for psn, amount, _g in expected]
        check_books(desk, model, people, opening)

    for live in list(reversed(model.live)):
        cancel(live)
    check_books(desk, model, people, opening)
    assert model.balances == opening
    assert all(used == ZERO for used in model.quota_used.values())
    assert model.accumulators == {k: (ZERO, ZERO) for k in model.accumulators}
