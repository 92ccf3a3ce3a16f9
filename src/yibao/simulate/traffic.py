"""A day of synthetic traffic over the wire: visits chosen by the random generator, sent by PlatformClient."""

from __future__ import annotations

import random
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import httpx

from yibao.client import PlatformClient, PlatformError, SignInCache
from yibao.money import ZERO, round2
from yibao.simulate.world import (
    CANCEL_SHARE,
    CONSULT_TYPES,
    CROSS_REGION_SHARE,
    DRUG_TYPES,
    MUTUAL_AID_SHARE,
    OPTER,
    OUTPATIENT_TYPES,
    PHARMACY_SHARE,
    PRICE_FACTORS,
    Inst,
    Psn,
    World,
)

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


