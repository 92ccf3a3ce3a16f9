"""`yibao simulate`: a month of synthetic traffic over the wire, then the whole monthly cycle, then the reports.

1. A fresh SQLite database under `out/<month>/` gets the schema and the dataset.
2. `yibao serve` runs as a subprocess on a free port against it; the business date is the database's `today`
   setting (never YIBAO_TODAY), which the gateway reads on every request, so the simulation moves the clock by
   updating that row.
3. Each day of the month, `visits_per_day` visits go over HTTP with `yibao.client.PlatformClient`, chosen with
   `random.Random(seed)`: local outpatient visits and pharmacy purchases, cross-region visits in the province
   (pairs the qualification and filing rules allow), mutual-aid beneficiaries at home, and about 5 %
   cancellations of a settlement made earlier that day. Refusals are counted by their field, not fatal.
4. The cycle of month M on the days of M+1 its regions allow (by default: declaration and the 3260/3261
   clearing confirmation over the wire on day 5, review on day 15, allocation, mutual-aid clearing and the
   month's clearing on day 22), in process with explicit dates on the same database.
5. The tables of each region with declarations (json, xlsx, pdf) in `out/<month>/reports/<region>/`, and
   `out/<month>/summary.json`.

Deterministic for a given seed apart from generated ids and times of day."""

from __future__ import annotations

import calendar
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.client import PlatformClient, PlatformError, SignInCache
from yibao.codes import province as province_code
from yibao.dataset.loader import load_file
from yibao.errors import Refusal
from yibao.money import ZERO, round2
from yibao.platform import allocation as al
from yibao.platform import declaration as dc
from yibao.platform import review
from yibao.reports import monthly as rp
from yibao.reports.render import Report, write_all
from yibao.rules.filing import FilingTerms, covers, filing_needed
from yibao.rules.monthly import Cycle, month_end, month_start, parse_ym, shift, window
from yibao.rules.selection import qualification_problem, settlement_case
from yibao.store.db import Store, upgrade
from yibao.store.models import (
    Account,
    AllocationItem,
    CatalogItem,
    Declaration,
    Filing,
    Institution,
    MutualAidAuthorization,
    Person,
    Region,
    Setting,
    Settlement,
)

#: shares of the visits: cross-region, mutual aid (the rest are local), and the chance of a cancellation after each
CROSS_REGION_SHARE = 0.25  # float-ok: a share of visits, not money
MUTUAL_AID_SHARE = 0.20  # float-ok
CANCEL_SHARE = 0.05  # float-ok
#: an employee beneficiary whose opening balance is below this is "short" and leans on mutual aid
SHORT_BALANCE = Decimal("500.00")
PHARMACY_SHARE = 0.35  # float-ok: of the visits to a person's home region that go to a pharmacy, when it has one
CONSULT_TYPES = ("02", "12")
OUTPATIENT_TYPES = ("03", "04", "05", "08", "09", "10", "11", "13", "14")
DRUG_TYPES = ("09", "10", "11")
PRICE_FACTORS = (Decimal("0.50"), Decimal("0.80"), Decimal("1"), Decimal("1"), Decimal("1.20"))
PAGE = 100  # 3260 answers pages of 100 rows
REJECT_REASON = "模拟审核：检查项目与诊断不符（示例拒付）"
OPTER = "sim01"


# -- the world, as loaded ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Inst:
    code: str
    admdvs: str
    kind: str
    level: str | None
    xregion: str
    secret: str


@dataclass(frozen=True)
class Psn:
    psn_no: str
    name: str
    certno: str
    insutype: str
    admdvs: str
    balance: Decimal | None


@dataclass(frozen=True)
class Item:
    code: str
    kind: str  # med_chrgitm_type
    cap: Decimal | None


@dataclass(frozen=True)
class Grant:
    beneficiary: str
    start: date
    end: date | None


@dataclass
class World:
    regions: dict[str, Region]
    institutions: list[Inst]
    persons: list[Psn]
    catalog: dict[str, list[Item]]
    filings: dict[str, list[FilingTerms]]
    grants: list[Grant]

    @classmethod
    def read(cls, session: Session) -> World:
        regions = {r.admdvs: r for r in session.scalars(select(Region).order_by(Region.admdvs))}
        for r in regions.values():
            session.expunge(r)
        balances = {a.psn_no: a.balance for a in session.scalars(select(Account)) if a.status == "open"}
        institutions = [Inst(i.code, i.admdvs, i.kind, i.level, i.xregion, i.secret)
                        for i in session.scalars(select(Institution).order_by(Institution.code))]
        persons = [Psn(p.psn_no, p.name, p.certno, p.insutype, p.admdvs, balances.get(p.psn_no))
                   for p in session.scalars(select(Person).order_by(Person.psn_no))]
        catalog: dict[str, list[Item]] = defaultdict(list)
        for c in session.scalars(select(CatalogItem).order_by(CatalogItem.admdvs, CatalogItem.code)):
            catalog[c.admdvs].append(Item(c.code, c.med_chrgitm_type, c.pric_uplmt_amt))
        filings: dict[str, list[FilingTerms]] = defaultdict(list)
        for f in session.scalars(select(Filing).where(Filing.status == "active").order_by(Filing.id)):
            filings[f.psn_no].append(FilingTerms(f.id, f.type, f.dest_admdvs, f.dest_fixmedins, f.start, f.end))
        grants = [Grant(g.beneficiary, g.start, g.end) for g in session.scalars(
            select(MutualAidAuthorization).where(MutualAidAuthorization.status == "active")
            .order_by(MutualAidAuthorization.id))]
        return cls(regions, institutions, persons, dict(catalog), dict(filings), grants)

    def at_home(self, person: Psn) -> list[Inst]:
        return [i for i in self.institutions if i.admdvs == person.admdvs]

    def cross_region_pairs(self, day: date) -> list[tuple[Psn, Inst]]:
        """(person, institution of another region of the person's province) that the qualification, filing and
        designated-institution rules of rules.md section 6 allow on the day (the platform has the last word)."""
        out = []
        for p in self.persons:
            insured = self.regions.get(p.admdvs)
            if insured is None:
                continue
            settings = insured.settings or {}
            for i in self.institutions:
                if i.admdvs == p.admdvs or province_code(i.admdvs) != province_code(p.admdvs):
                    continue
                if qualification_problem(settlement_case(p.admdvs, i.admdvs, False), i.xregion):
                    continue
                filed = [f for f in self.filings.get(p.psn_no, [])
                         if covers(f, treatment_admdvs=i.admdvs, fixmedins_code=i.code, visit_day=day,
                                   referral_max_days=insured.referral_filing_max_days) is None]
                if filing_needed(True, insured.inprov_outpatient_filing_required) and not filed:
                    continue
                if settings.get("designated_institutions_required") and not any(
                        f.dest_fixmedins == i.code for f in filed):
                    continue
                out.append((p, i))
        return out

    def mutual_aid_people(self, day: date) -> list[Psn]:
        """Beneficiaries of an authorization valid on the day who are residents or whose own account is short."""
        valid = {g.beneficiary for g in self.grants if g.start <= day and (g.end is None or day <= g.end)}
        return [p for p in self.persons if p.psn_no in valid and self.at_home(p) and (
            p.balance is None or p.insutype != "310" or p.balance < SHORT_BALANCE)]


# -- the traffic ------------------------------------------------------------------------------------------------

@dataclass
class Tally:
    visits: int = 0
    settled: int = 0
    cancelled: int = 0
    messages: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    settled_by_scenario: Counter[str] = field(default_factory=Counter)
    cross_region_settled: int = 0
    mutual_aid_settled: int = 0
    mutual_aid_paid: Decimal = ZERO

    def as_dict(self) -> dict[str, Any]:
        return {"visits": self.visits, "settled": self.settled, "cancelled": self.cancelled,
                "refused": sum(self.refused.values()), "refused_by": dict(sorted(self.refused.items())),
                "settled_by_scenario": dict(sorted(self.settled_by_scenario.items())),
                "cross_region_settled": self.cross_region_settled, "mutual_aid_settled": self.mutual_aid_settled,
                "mutual_aid_paid": self.mutual_aid_paid, "messages": self.messages}


@dataclass(frozen=True)
class Made:
    """A settlement of the day, for the cancellations."""
    setl_id: str
    mdtrt_id: str
    person: Psn
    inst: Inst
    insuplc: str


class Traffic:
    def __init__(self, world: World, url: str, seed: int, tally: Tally):
        self.world, self.url, self.tally = world, url, tally
        self.rng = random.Random(seed)
        self.http = httpx.Client(timeout=30.0, transport=httpx.HTTPTransport(  # float-ok: seconds
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]))
        self.clients: dict[str, PlatformClient] = {}
        self.signed: set[tuple[str, date]] = set()
        self.seq = 0

    def close(self) -> None:
        self.http.close()

    def client(self, inst: Inst, day: date) -> PlatformClient:
        his = self.clients.get(inst.code)
        if his is None:
            his = self.clients[inst.code] = PlatformClient(
                self.url, inst.code, inst.secret, inst.admdvs, opter=OPTER, opter_name="模拟收费员", http=self.http,
                sign_in_cache=SignInCache())
        if (inst.code, day) not in self.signed:  # a new business day: sign in again (9001)
            self.tally.messages += 1
            his.sign_no(renew=True)
            self.signed.add((inst.code, day))
        return his

    def ok(self, his: PlatformClient, infno: str, input_: dict[str, Any], insuplc: str = "") -> dict[str, Any]:
        self.tally.messages += 1
        return his.ok(infno, input_, insuplc)

    def refused(self, error: PlatformError) -> None:
        self.tally.refused[f"{error.infno} {error.err_msg.split(':', 1)[0][:60]}"] += 1

    # -- one day ------------------------------------------------------------------------------------------

    def day(self, day: date, visits: int, last_day: bool, advance: Callable[[], None]) -> None:
        pairs = self.world.cross_region_pairs(day)
        aided = self.world.mutual_aid_people(day)
        made: list[Made] = []
        for _ in range(visits):
            scenario, person, inst = self.choose(pairs, aided)
            self.tally.visits += 1
            done = self.visit(day, scenario, person, inst)
            if done is not None:
                made.append(done)
            if made and self.rng.random() < CANCEL_SHARE:
                self.cancel(day, made.pop(self.rng.randrange(len(made))))
            advance()
        if last_day and self.tally.cancelled == 0 and made:  # the month shows at least one cancellation
            self.cancel(day, made.pop(self.rng.randrange(len(made))))

    def choose(self, pairs: list[tuple[Psn, Inst]], aided: list[Psn]) -> tuple[str, Psn, Inst]:
        r = self.rng.random()
        if r < CROSS_REGION_SHARE and pairs:
            person, inst = self.rng.choice(pairs)
            return "cross_region", person, inst
        if r < CROSS_REGION_SHARE + MUTUAL_AID_SHARE and aided:
            person = self.rng.choice(aided)
            return "mutual_aid", person, self.home_institution(person)
        person = self.rng.choice([p for p in self.world.persons if self.world.at_home(p)])
        return "local", person, self.home_institution(person)

    def home_institution(self, person: Psn) -> Inst:
        home = self.world.at_home(person)
        pharmacies = [i for i in home if i.kind == "pharmacy"]
        hospitals = [i for i in home if i.kind == "hospital"]
        if pharmacies and (not hospitals or self.rng.random() < PHARMACY_SHARE):
            return self.rng.choice(pharmacies)
        return self.rng.choice(hospitals)

    def lines(self, inst: Inst, when: datetime, tag: str) -> list[dict[str, Any]]:
        """1-4 fee lines from the treatment region's catalog: a consultation and items at a hospital, drugs at a
        pharmacy; prices around the caps (sometimes over them)."""
        items = self.world.catalog.get(inst.admdvs, [])
        if inst.kind == "pharmacy":
            pool = [x for x in items if x.kind in DRUG_TYPES]
            chosen = self.rng.sample(pool, min(len(pool), self.rng.randint(1, 3)))
        else:
            consult = [x for x in items if x.kind in CONSULT_TYPES]
            pool = [x for x in items if x.kind in OUTPATIENT_TYPES]
            chosen = ([self.rng.choice(consult)] if consult else []) + self.rng.sample(
                pool, min(len(pool), self.rng.randint(1, 3)))
        out = []
        for k, item in enumerate(chosen, 1):
            if item.cap is not None:
                pric = round2(item.cap * self.rng.choice(PRICE_FACTORS))
            else:
                pric = Decimal(self.rng.randint(300, 12000)) / 100
            cnt = 1 if item.kind in CONSULT_TYPES else self.rng.randint(1, 3)
            out.append({"feedetl_sn": f"{tag}-{k}", "fee_ocur_time": f"{when:%Y-%m-%d %H:%M:%S}",
                        "med_list_codg": item.code, "medins_list_codg": item.code,
                        "det_item_fee_sumamt": str(round2(pric * cnt)), "cnt": str(cnt), "pric": str(pric)})
        return out

    def visit(self, day: date, scenario: str, person: Psn, inst: Inst) -> Made | None:
        self.seq += 1
        tag = f"SIM{day:%Y%m%d}{self.seq:05d}"
        when = datetime.combine(day, time(8, 0)) + timedelta(minutes=self.rng.randrange(0, 600))
        lines = self.lines(inst, when, tag)
        if not lines:
            self.tally.refused["- no catalog item for the treatment region"] += 1
            return None
        insuplc = person.admdvs
        his = self.client(inst, day)
        try:
            self.ok(his, "1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno}}, insuplc)
            if inst.kind == "pharmacy":
                setl = self.pharmacy(his, person, insuplc, lines, when)
            else:
                setl = self.outpatient(his, person, insuplc, lines, when, tag)
        except PlatformError as error:
            self.refused(error)
            mdtrt_id = getattr(error, "mdtrt_id", "")
            if mdtrt_id:  # the registration of a visit that could not be settled is withdrawn (2202)
                try:
                    self.ok(his, "2202", {"data": {"psn_no": person.psn_no, "mdtrt_id": mdtrt_id}}, insuplc)
                except PlatformError as again:
                    self.refused(again)
            return None
        self.tally.settled += 1
        self.tally.settled_by_scenario[scenario] += 1
        if inst.admdvs != person.admdvs:
            self.tally.cross_region_settled += 1
        if Decimal(setl["acct_mulaid_pay"]) > 0:
            self.tally.mutual_aid_settled += 1
            self.tally.mutual_aid_paid += Decimal(setl["acct_mulaid_pay"])
        return Made(setl["setl_id"], setl["mdtrt_id"], person, inst, insuplc)

    def outpatient(self, his: PlatformClient, person: Psn, insuplc: str, lines: list[dict[str, Any]],
                   when: datetime, tag: str) -> dict[str, Any]:
        begn = f"{when:%Y-%m-%d %H:%M:%S}"
        reg = self.ok(his, "2201", {"data": {"psn_no": person.psn_no, "insutype": person.insutype, "begntime": begn,
                                             "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno,
                                             "ipt_otp_no": tag}}, insuplc)
        mdtrt_id = reg["data"]["mdtrt_id"]
        try:
            self.ok(his, "2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "med_type": "11",
                                                "begntime": begn}, "diseinfo": []}, insuplc)
            fees = [{**x, "mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "chrg_bchno": tag} for x in lines]
            split = self.ok(his, "2204", {"feedetail": fees}, insuplc)["result"]
            sums = {k: sum((Decimal(r[k]) for r in split), ZERO) for k in
                    ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")}
            data = {"psn_no": person.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno,
                    "med_type": "11", "medfee_sumamt": str(sums["det_item_fee_sumamt"]), "mdtrt_id": mdtrt_id,
                    "chrg_bchno": tag, "acct_used_flag": "1", "insutype": person.insutype}
            self.ok(his, "2206", {"data": data}, insuplc)
            data.update(fulamt_ownpay_amt=str(sums["fulamt_ownpay_amt"]), overlmt_selfpay=str(sums["overlmt_amt"]),
                        preselfpay_amt=str(sums["preselfpay_amt"]), inscp_scp_amt=str(sums["inscp_scp_amt"]))
            return self.ok(his, "2207A", {"data": data}, insuplc)["setlinfo"]
        except PlatformError as error:
            raise _Registered(error, mdtrt_id) from error

    def pharmacy(self, his: PlatformClient, person: Psn, insuplc: str, lines: list[dict[str, Any]],
                 when: datetime) -> dict[str, Any]:
        total = sum((Decimal(x["det_item_fee_sumamt"]) for x in lines), ZERO)
        info = {"psn_no": person.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": person.certno,
                "begntime": f"{when:%Y-%m-%d %H:%M:%S}", "medfee_sumamt": str(total), "insutype": person.insutype,
                "acct_used_flag": "1", "med_type": "41"}
        cut = self.ok(his, "2101", {"druginfo": info, "drugdetail": lines}, insuplc)["detlcutinfo"]
        info.update({k: str(sum((Decimal(r[src]) for r in cut), ZERO)) for k, src in (
            ("fulamt_ownpay_amt", "fulamt_ownpay_amt"), ("overlmt_selfpay", "overlmt_amt"),
            ("preselfpay_amt", "preselfpay_amt"), ("inscp_scp_amt", "inscp_scp_amt"))})
        return self.ok(his, "2102A", {"druginfo": info, "drugdetail": lines}, insuplc)["setlinfo"]

    def cancel(self, day: date, made: Made) -> None:
        his = self.client(made.inst, day)
        infno = "2103" if made.inst.kind == "pharmacy" else "2208"
        try:
            self.ok(his, infno, {"data": {"setl_id": made.setl_id, "mdtrt_id": made.mdtrt_id,
                                          "psn_no": made.person.psn_no}}, made.insuplc)
        except PlatformError as error:
            self.refused(error)
            return
        self.tally.cancelled += 1


class _Registered(PlatformError):
    """A refusal after 2201 registered the visit: its mdtrt_id, so the registration can be withdrawn."""

    def __init__(self, error: PlatformError, mdtrt_id: str):
        super().__init__(error.infno, error.err_msg, error.response)
        self.mdtrt_id = mdtrt_id


# -- the server ---------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(url: str, log: Path, timeout: float = 30.0) -> Iterator[str]:  # float-ok: seconds
    """`yibao serve` on a free port against the database; its business date comes from the database."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "YIBAO_TODAY"}
    env["YIBAO_DATABASE_URL"] = url
    env["YIBAO_DEMO"] = "1"  # the demo world, with its shipped secrets
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "yibao.cli", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), "--no-access-log"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = clock.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"yibao serve exited with {proc.returncode}; see {log}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):  # float-ok: seconds
                    break
            except OSError:
                if clock.monotonic() > deadline:
                    raise RuntimeError(f"yibao serve did not listen on port {port} within {timeout} s; "
                                       f"see {log}") from None
                clock.sleep(0.1)  # float-ok: seconds
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _set_today(store: Store, day: date) -> None:
    with store.unit_of_work() as s:
        row = s.get(Setting, "today")
        if row is None:
            s.add(Setting(key="today", value=day.isoformat()))
        else:
            row.value = day.isoformat()


# -- the monthly cycle --------------------------------------------------------------------------------------------

def _clamp(day: date, span: tuple[date, date]) -> date:
    return min(max(day, span[0]), span[1])


def _on(ym: str, day_of_month: int) -> date:
    """That day of month ym+1 (the month's last day if it is shorter)."""
    year, month = parse_ym(shift(ym, 1))
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


@dataclass(order=True)
class Step:
    day: date
    order: int
    label: str = field(compare=False)
    run: Callable[[Session, date, datetime], Any] = field(compare=False)
    wire: bool = field(default=False, compare=False)


class MonthlyCycle:
    """The cycle of month ym on the days of ym+1 each region's calendar allows; every step is logged."""

    def __init__(self, store: Store, traffic: Traffic, ym: str, console: Console):
        self.store, self.traffic, self.ym, self.console = store, traffic, ym, console
        self.log: list[dict[str, Any]] = []
        self.rejected: dict[str, Any] | None = None

    def regions(self) -> dict[str, list[str]]:
        """The treatment regions whose institutions settled in the month, with those institutions."""
        with self.store.unit_of_work() as s:
            rows = s.execute(select(Institution.admdvs, Institution.code).join(
                Settlement, Settlement.fixmedins_code == Institution.code)
                .where(Settlement.setl_time >= month_start(self.ym), Settlement.setl_time < month_end(self.ym),
                       Settlement.kind != "coordination").distinct().order_by(Institution.admdvs, Institution.code))
            out: dict[str, list[str]] = defaultdict(list)
            for admdvs, code in rows:
                out[admdvs].append(code)
            return dict(out)

    def plan(self) -> list[Step]:
        ym = self.ym
        with self.store.unit_of_work() as s:
            cycles = {r.admdvs: Cycle.of(r.settings) for r in s.scalars(select(Region))}
        steps: list[Step] = []
        allocate_days: dict[str, list[date]] = defaultdict(list)
        for admdvs, codes in self.regions().items():
            c = cycles.get(admdvs) or Cycle.of(None)
            declare_day = _clamp(_on(ym, 5), window(ym, "declare", c))
            confirm_day = _clamp(_on(ym, 5), (_on(ym, 1), _on(ym, c.confirm_last_day)))
            review_day = _clamp(_on(ym, 15), window(ym, "review", c))
            allocate_day = _clamp(_on(ym, 22), window(ym, "allocate", c))
            for code in codes:
                steps.append(Step(declare_day, 0, f"declare {ym} {code}", self._declare(code)))
                steps.append(Step(confirm_day, 1, f"3260/3261 {ym} {code}", self._confirm(code), wire=True))
            steps.append(Step(review_day, 2, f"review {ym} {admdvs}", self._review(admdvs)))
            steps.append(Step(allocate_day, 4, f"allocate agency {admdvs} {ym}", self._allocate("agency", admdvs)))
            allocate_days[al.province_of(admdvs)].append(allocate_day)
        for prov, days in sorted(allocate_days.items()):
            first, last = min(days), max(days)
            # the advances must exist before the first allocation: the clearing of the month before
            steps.append(Step(first, 3, f"initial prepayment {prov} ({shift(ym, -1)})",
                              self._advances(prov, shift(ym, -1))))
            for day in sorted(set(days)):
                steps.append(Step(day, 5, f"allocate centre {prov} {ym}", self._allocate("centre", prov)))
            steps.append(Step(last, 6, f"mutual-aid clearing {prov} {ym}", self._mutual_aid(prov)))
            steps.append(Step(last, 7, f"month's clearing {prov} {ym}", self._advances(prov, ym)))
        return sorted(steps)

    def run(self) -> None:
        today: date | None = None
        for step in self.plan():
            if step.day != today:
                today = step.day
                _set_today(self.store, today)
                self.console.print(f"[bold]{today}[/bold]")
            now = datetime.combine(today, time(10, 0)) + timedelta(minutes=len(self.log))
            try:
                if step.wire:
                    result = step.run(None, today, now)  # type: ignore[arg-type]
                else:
                    with self.store.unit_of_work() as s:
                        result = step.run(s, today, now)
                outcome, detail = "done", _brief(result)
            except Refusal as r:
                outcome, detail = "skipped", r.err_msg
            except PlatformError as e:
                outcome, detail = "skipped", f"{e.infno}: {e.err_msg}"
            self.log.append({"day": today, "step": step.label, "outcome": outcome, "detail": detail})
            colour = "green" if outcome == "done" else "yellow"
            self.console.print(f"  [{colour}]{outcome:7}[/{colour}] {step.label}: {detail}")

    # -- the steps ------------------------------------------------------------------------------------------

    def _declare(self, code: str) -> Callable[[Session, date, datetime], Any]:
        def step(s: Session, day: date, now: datetime) -> Any:
            inst = s.get(Institution, code)
            if inst is None:
                raise Refusal(f"no institution {code}")
            d = dc.declare(s, inst, self.ym, day, now)
            return {"decl_id": d.decl_id, "setl_cnt": d.setl_cnt, "payable": d.payable}
        return step

    def _allocate(self, payer: str, scope: str) -> Callable[[Session, date, datetime], Any]:
        def step(s: Session, day: date, now: datetime) -> Any:
            return al.allocate(s, payer, scope, self.ym, day, now)
        return step

    def _advances(self, prov: str, ym: str) -> Callable[[Session, date, datetime], Any]:
        def step(s: Session, _day: date, now: datetime) -> Any:
            return al.settle_advances(s, prov, ym, now)
        return step

    def _mutual_aid(self, prov: str) -> Callable[[Session, date, datetime], Any]:
        def step(s: Session, _day: date, now: datetime) -> Any:
            return al.clear_mutual_aid(s, prov, self.ym, now)
        return step

    def _confirm(self, code: str) -> Callable[[Session, date, datetime], Any]:
        """Over the wire: the month's extract (3260, pages of 100) confirmed whole (3261, cnfm_flag 1)."""
        def step(_s: Session, day: date, _now: datetime) -> Any:
            inst = next(i for i in self.traffic.world.institutions if i.code == code)
            his = self.traffic.client(inst, day)
            year, month = parse_ym(self.ym)
            rows: list[dict[str, Any]] = []
            total = None
            while total is None or len(rows) < total:
                page = self.traffic.ok(his, "3260", {"data": {"trt_year": year, "trt_month": month,
                                                              "startrow": len(rows) + 1}})
                total = int(page["totalrow"])
                if not page["data"]:
                    break
                rows += page["data"]
            if not rows:
                return "no cross-region rows to confirm"
            detail = [{"certno": r["certno"] or "", "mdtrt_id": r["mdtrt_id"], "mdtrt_setl_time": r["mdtrt_setl_time"],
                       "setl_sn": r["setl_sn"], "medfee_sumamt": r["medfee_sumamt"],
                       "optins_pay_sumamt": r["optins_pay_sumamt"], "cnfm_flag": "1"} for r in rows]
            out = self.traffic.ok(his, "3261", {"data": {"trt_year": year, "trt_month": month, "totalrow": len(rows)},
                                                "detail": detail})["result"]
            return {k: out[k] for k in ("otransid", "totalrow", "cnfm_cnt", "cnfm_amt")}
        return step

    def _review(self, agency: str) -> Callable[[Session, date, datetime], Any]:
        def step(s: Session, day: date, now: datetime) -> Any:
            D = Declaration
            decls = list(s.scalars(select(D).where(D.admdvs == agency, D.setl_ym == self.ym, D.status == "declared")
                                   .order_by(D.decl_id)))
            if not decls:
                raise Refusal(f"no declaration of {self.ym} for the agency of {agency} to review")
            out = []
            for decl in decls:
                if self.rejected is None:
                    self._reject_one(s, agency, decl, day, now)
                done = review.finish(s, agency, decl.decl_id, day, now)
                out.append({"decl_id": done.decl_id, "approved": done.approved})
            return out
        return step

    def _reject_one(self, s: Session, agency: str, decl: Declaration, day: date, now: datetime) -> None:
        """Show the rejection flow once: the largest standing settlement of a declaration that keeps others."""
        S = Settlement
        standing = list(s.scalars(select(S).where(dc.covered(decl), S.refd_setl_flag == "0", S.status == "settled",
                                                  S.fund_pay_sumamt + S.acct_pay > 0)
                                  .order_by((S.fund_pay_sumamt + S.acct_pay).desc(), S.setl_id)))
        if len(standing) < 2:
            return
        row = review.reject(s, agency, decl.decl_id, standing[0].setl_id, REJECT_REASON, day, now)
        self.rejected = {"decl_id": decl.decl_id, "setl_id": row.setl_id, "amount": row.amount,
                         "reason": row.reason}


def _brief(result: Any) -> str:
    if isinstance(result, dict):
        if "paid" in result:
            return f"paid {len(result['paid'])} declaration(s), {result['total']}; waiting {len(result['waiting'])}"
        return ", ".join(f"{k} {v}" for k, v in result.items())
    if isinstance(result, list):
        if result and hasattr(result[0], "cleared"):
            return "; ".join(f"{r.acct_admdvs}->{r.insu_admdvs} {r.cleared}" for r in result)
        if result and isinstance(result[0], dict) and "admdvs" in result[0]:
            return "; ".join(f"{r['admdvs']} {r['paid_in']:+}" for r in result)
        if result and isinstance(result[0], dict) and "decl_id" in result[0]:
            return "; ".join(f"{r['decl_id']} approved {r['approved']}" for r in result)
        return f"{len(result)} item(s)" if result else "nothing to do"
    return str(result)


# -- reports and summary --------------------------------------------------------------------------------------

def _region_reports(session: Session, ym: str, region: str) -> list[Report]:
    decls = list(session.scalars(select(Declaration).where(Declaration.setl_ym == ym, Declaration.admdvs == region)
                                 .order_by(Declaration.fixmedins_code)))
    level3 = [rp.declaration(session, d, cls, 3) for cls in ("employee", "resident") for d in decls]
    return rp.month_reports(session, ym, region) + level3


def _totals(session: Session, ym: str) -> dict[str, Any]:
    S, In, D, A = Settlement, Institution, Declaration, AllocationItem
    out: dict[str, dict[str, Any]] = defaultdict(dict)
    for admdvs, cnt, refd, medfee, fund, acct, mulaid in session.execute(
            select(In.admdvs, func.count(), func.sum(func.cast(S.refd_setl_flag == "1", S.year.type)),
                   func.sum(S.medfee_sumamt), func.sum(S.fund_pay_sumamt), func.sum(S.acct_pay),
                   func.sum(S.acct_mulaid_pay))  # sum(a + b) of Money columns would come back as fen
            .join(In, In.code == S.fixmedins_code)
            .where(S.setl_time >= month_start(ym), S.setl_time < month_end(ym), S.kind != "coordination")
            .group_by(In.admdvs)):
        out[admdvs].update(settlement_rows=int(cnt), cancellations=int(refd or 0), medfee_sumamt=medfee,
                           payable=fund + acct, acct_mulaid_pay=mulaid)
    for admdvs, cnt, payable, approved, rejected in session.execute(
            select(D.admdvs, func.count(), func.sum(D.payable), func.sum(D.approved), func.sum(D.rejected))
            .where(D.setl_ym == ym).group_by(D.admdvs)):
        out[admdvs].update(declarations=int(cnt), declared_payable=payable, approved=approved, rejected=rejected)
    for admdvs, status, cnt in session.execute(select(D.admdvs, D.status, func.count()).where(D.setl_ym == ym)
                                               .group_by(D.admdvs, D.status)):
        out[admdvs].setdefault("declaration_status", {})[status] = int(cnt)
    for admdvs, payer, amount in session.execute(
            select(D.admdvs, A.payer, func.sum(A.amount)).join(D, D.decl_id == A.decl_id)
            .where(A.setl_ym == ym, A.status == "paid").group_by(D.admdvs, A.payer)):
        out[admdvs].setdefault("allocated", {})[payer] = amount
    return dict(sorted(out.items()))


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console)


def run(month: str, dataset: Path, out: Path, visits_per_day: int, seed: int) -> Path:
    """Simulate month `month` on `dataset`; the folder of the reports (out/<month>/reports)."""
    year, mon = parse_ym(month)
    ym = f"{year:04d}-{mon:02d}"
    console = Console()
    if not console.is_terminal:  # a log or a pipe: wide enough for the tables
        console = Console(width=120)
    started = clock.monotonic()
    folder = out / ym
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "simulation.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    reports = folder / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    url = f"sqlite:///{db.resolve()}"
    upgrade(url)
    store = Store(url)
    tally = Tally()
    try:
        report = load_file(store, dataset)
        console.print(f"loaded {dataset}: {report.summary()}")
        with store.unit_of_work() as s:
            world = World.read(s)
        days = [date(year, mon, 1) + timedelta(days=k) for k in range((month_end(ym) - month_start(ym)).days)]
        with _server(url, folder / "serve.log") as base:
            console.print(f"yibao serve on {base}, database {db}")
            traffic = Traffic(world, base, seed, tally)
            try:
                with _progress(console) as progress:
                    task = progress.add_task(f"traffic {ym}", total=len(days) * visits_per_day)
                    for day in days:
                        _set_today(store, day)
                        progress.update(task, description=f"traffic {day}")
                        traffic.day(day, visits_per_day, day == days[-1], lambda: progress.advance(task))
                    progress.update(task, description=f"traffic {ym}")
                console.print(f"traffic: {tally.settled} settled, {tally.cancelled} cancelled, "
                              f"{sum(tally.refused.values())} refused, {tally.messages} messages")
                cycle = MonthlyCycle(store, traffic, ym, console)
                cycle.run()
            finally:
                traffic.close()
        with store.unit_of_work() as s:
            regions = list(s.scalars(select(Declaration.admdvs).where(Declaration.setl_ym == ym).distinct()
                                     .order_by(Declaration.admdvs)))
            written = 0
            failed: list[dict[str, str]] = []
            with _progress(console) as progress:
                todo = [(r, rep) for r in regions for rep in _region_reports(s, ym, r)]
                task = progress.add_task("reports", total=len(todo))
                for region, rep in todo:
                    try:
                        written += len(write_all(rep, reports / region))
                    except (TypeError, ValueError) as exc:  # a table the renderer refuses: listed, not fatal
                        failed.append({"region": region, "report": rep.code, "error": f"{type(exc).__name__}: {exc}"})
                        console.print(f"[red]report {region}/{rep.code} not written[/red]: {exc}")
                    progress.advance(task)
            totals = _totals(s, ym)
            provinces = sorted({al.province_of(r) for r in regions})
            centre = {p: al.centre_view(s, p) for p in provinces}
        summary = {"month": ym, "dataset": str(dataset), "seed": seed, "visits_per_day": visits_per_day,
                   "database": str(db), "reports": str(reports), "files": written, "report_errors": failed,
                   "traffic": tally.as_dict(),
                   "cycle": cycle.log, "rejected": cycle.rejected, "regions": totals, "centre": centre,
                   "seconds": round(clock.monotonic() - started, 1)}
        (folder / "summary.json").write_text(json.dumps(summary, default=_json, ensure_ascii=False, indent=1),
                                             encoding="utf-8")
        _print_summary(console, summary)
        return reports
    finally:
        store.dispose()


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    t = summary["traffic"]
    console.print(f"{summary['month']}: {t['visits']} visits, {t['settled']} settled "
                  f"({t['cross_region_settled']} cross-region, {t['mutual_aid_settled']} with mutual aid), "
                  f"{t['cancelled']} cancelled, {t['refused']} refused; {summary['files']} report files "
                  f"in {summary['seconds']} s")
    table = Table(title=f"{summary['month']} by treatment region")
    for title in ("region", "settlements", "cancelled", "declared", "approved", "agency paid", "centre paid",
                  "declarations"):
        table.add_column(title, justify="left" if title in ("region", "declarations") else "right", no_wrap=True)
    for admdvs, r in summary["regions"].items():
        allocated = r.get("allocated", {})
        table.add_row(admdvs, str(r.get("settlement_rows", 0)), str(r.get("cancellations", 0)),
                      str(r.get("declared_payable", "")), str(r.get("approved", "")),
                      str(allocated.get("agency", ZERO)), str(allocated.get("centre", ZERO)),
                      ", ".join(f"{k} {v}" for k, v in sorted(r.get("declaration_status", {}).items())))
    console.print(table)
    if t["refused_by"]:
        refused = Table(title="refused")
        refused.add_column("infno field")
        refused.add_column("count", justify="right")
        for key, n in t["refused_by"].items():
            refused.add_row(key, str(n))
        console.print(refused)
