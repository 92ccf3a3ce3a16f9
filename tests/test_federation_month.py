"""A simulated month across three provinces' nodes, the exchange in memory (docs/federation.md): nodes 44, 14 and
34, each its own database loaded with only its own province, the others' reference data arriving as snapshots.
A few hundred visits spread over March 2026 — local ones at each node, Taiyuan and Hefei persons at the Shenzhen
hospital and pharmacy, a Shenzhen person at the Taiyuan hospital, outpatient 2207, pharmacy 2102, inpatient stays
2304, about one in twenty cancelled (2208, 2103, 2305), some reversed by 2601 after the HIS lost its answer — with
failures injected at random points (messages delivered twice, held and delivered in reverse, an answer lost past
the time box, a node dropped for two days). At the end, once the sweepers owe nothing: every settlement on both
sides or on neither, each insured node's accounts, accumulators and mutual-aid quota exactly what the settlements
of every node that still stand add up to, the month cleared for each payer and paid through the simulated bank,
`yibao federation check` clean, each voucher and each book balanced — on SQLite and on PostgreSQL.

Deterministic: one random.Random(SEED) draws every choice; the business day is set by the test (YIBAO_TODAY).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from outpatient_world import CHILD, EMPLOYEE, HF_HOSP, MOTHER, PARENT, SON, SZ_HOSP, TY_HOSP, His, person_in
from sqlalchemy import select
from test_federation import urls  # noqa: F401 - the fixture of both databases
from test_federation_kinds import PHARMACY, kinds_doc
from typer.testing import CliRunner

from yibao import cli
from yibao.app import create_app
from yibao.bank.adapter import HttpBankAdapter
from yibao.bank.outbox import deliver_due
from yibao.bank.simulated import SimulatedBank
from yibao.client import PlatformClient
from yibao.dataset.loader import load_document
from yibao.federation.config import NodeConfig
from yibao.federation.exchange import FakeNetwork
from yibao.platform import federation_check, national_clearing, province_transfers, recovery, trial_balance
from yibao.platform.remote import Remote
from yibao.store.db import Store
from yibao.store.models import (
    Account,
    Accumulator,
    BankInstruction,
    FederationInbox,
    FederationOutbox,
    FederationSnapshot,
    FederationVisitor,
    FederationVoucher,
    MutualAidAuthorization,
    Person,
    Settlement,
)

D = Decimal
ZERO = D("0.00")
SEED = int(os.environ.get("YIBAO_MONTH_SEED", "20260301"))  # another seed: another month
MONTH = "2026-03"
MARCH_END = datetime(2026, 3, 31, 23, 0)
PROVINCES = ("44", "14", "34")
VISITS_A_DAY = 8
ITEMS = ("EX-DRUG-A", "EX-DRUG-B", "EX-ITEM-C")
FAMILIES = {PARENT: (PARENT, CHILD), MOTHER: (MOTHER, SON), EMPLOYEE: (EMPLOYEE,)}  # account owners, and who draws
# who visits where: (person, hospital) — the hospital's node is the treatment node
LOCAL = [(EMPLOYEE, SZ_HOSP), (PARENT, TY_HOSP), (CHILD, TY_HOSP), (MOTHER, HF_HOSP), (SON, HF_HOSP)]
CROSS = [(PARENT, SZ_HOSP), (CHILD, SZ_HOSP), (MOTHER, SZ_HOSP), (SON, SZ_HOSP), (EMPLOYEE, TY_HOSP)]
NODE_OF = {SZ_HOSP: "44", PHARMACY: "44", TY_HOSP: "14", HF_HOSP: "34"}


def month_doc() -> dict[str, Any]:
    """The federation's dataset with inpatient and pharmacy policies, the Shenzhen pharmacy, the Taiyuan hospital
    open to the nation for a Shenzhen employee living in Taiyuan, and larger accounts."""
    doc = kinds_doc()
    for inst in doc["institutions"]:
        if inst["code"] == TY_HOSP:
            inst["xregion"] = "national"
    for p in doc["persons"]:  # accounts that last the month (the son's own 40.00 does not: his mother's pays)
        if "account" in p and p["psn_no"] != SON:
            p["account"]["balance"] = "8000.00"
    doc["filings"].append({"psn_no": EMPLOYEE, "type": "long_term_resident", "dest_admdvs": "140100",
                           "start": "2026-01-01", "end": "2026-12-31"})
    return doc


def later() -> datetime:
    """The sweeper's "now": past every time box of the test."""
    return datetime.now() + timedelta(minutes=5)


def dated(value: Any, day: str) -> Any:
    """A message of the HIS written on `day` (the sample messages are written on 2026-03-16)."""
    if isinstance(value, str):
        return value.replace("2026-03-16", day)
    if isinstance(value, dict):
        return {k: dated(v, day) for k, v in value.items()}
    if isinstance(value, list):
        return [dated(v, day) for v in value]
    return value


class DayHis(His):
    """A HIS whose messages carry the business day the test is at."""

    day = "2026-03-16"

    def call(self, infno: str, input_: dict[str, Any], insuplc: str = "") -> dict[str, Any]:
        return self.client.call(infno, dated(input_, self.day), insuplc)


class MonthNode:
    """One province's node: only its own province loaded; its HIS, one per institution."""

    def __init__(self, province: str, url: str, net: FakeNetwork, doc: dict[str, Any]):
        self.province, self.doc = province, doc
        self.store = Store(url)
        load_document(self.store, doc, (province,))
        peers = tuple(p for p in PROVINCES if p != province)
        self.remote = Remote(NodeConfig((province,), peers, time_box=1.0), net.exchange(province), self.store)
        self.his_of: dict[str, DayHis] = {}

    def connect(self) -> None:
        self.remote.start()  # publishes its snapshots, applies the ones published before
        self.http = TestClient(create_app(self.store))

    def his(self, code: str) -> DayHis:
        if code not in self.his_of:
            inst = next(i for i in self.doc["institutions"] if i["code"] == code)
            client = PlatformClient("http://testserver", code, inst["secret"], inst["admdvs"], opter="op01",
                                    http=self.http)
            self.his_of[code] = DayHis(client, self.store)
        return self.his_of[code]

    def close(self) -> None:
        self.remote.close()
        self.store.dispose()


class Month:
    """The federation and the month's traffic, every choice drawn from one seeded generator."""

    def __init__(self, urls: list[str]):  # noqa: F811
        self.rng = random.Random(SEED)
        self.net = FakeNetwork()
        self.doc = month_doc()
        self.nodes = {p: MonthNode(p, url, self.net, self.doc) for p, url in zip(PROVINCES, urls, strict=True)}
        for node in self.nodes.values():
            node.connect()
        self.counts: Counter[str] = Counter()
        self.answered: dict[str, str] = {}  # setl_id -> treatment node, for each settlement the HIS was told of
        self.cancelled: set[str] = set()  # the settlements whose cancellation the HIS sent (answered or not)
        self.retry: list[tuple[DayHis, Callable[[], None]]] = []  # refused as not settled: the HIS sends again
        # each settlement's cancellation as its HIS would send it: (HIS, infno, input, insuplc)
        self.cancellable: dict[str, tuple[DayHis, str, dict[str, Any], str]] = {}
        self.to_cancel: list[tuple[int, str]] = []  # (the day it is sent, setl_id)
        self.day = 1
        self.at_once: list[Callable[[], None]] = []
        self.trouble = False  # a failure is injected: a refusal "not settled"/"not cancelled" is expected

    # -- the traffic ------------------------------------------------------------------------------------------

    def who(self, psn_no: str) -> dict[str, Any]:
        return person_in(self.doc, psn_no)

    def up(self, code: str) -> bool:
        return NODE_OF[code] not in self.net.down

    def items(self) -> list[tuple[str, str, str]]:
        return [(self.rng.choice(ITEMS), self.cents(100, 2500), str(self.rng.randint(1, 3)))
                for _ in range(self.rng.randint(1, 3))]

    def cents(self, low: int, high: int) -> str:
        """A price drawn in cents, written in yuan."""
        return str(D(self.rng.randint(low, high)).scaleb(-2))

    def again(self, his: DayHis, send: Callable[[], None]) -> None:
        """A visit refused as not settled: the HIS sends it again at once, or after the day's sweep."""
        if not self.net.down and self.rng.random() < 0.5:  # once the failure is over, before any sweep
            self.counts["sent again at once"] += 1
            self.at_once.append(send)
        else:
            self.retry.append((his, send))

    def outcome(self, infno: str, answer: dict[str, Any], cross: bool) -> dict[str, Any] | None:
        """The settlement information of an answer, or None for a refusal a failure explains."""
        if answer["infcode"] == 0:
            return dict(answer["output"]["setlinfo"])
        err = str(answer["err_msg"])
        assert cross and (self.trouble or self.net.down) and err.startswith("not settled"), f"{infno}: {err}"
        self.counts["not settled"] += 1
        return None

    def settled(self, his: DayHis, infno: str, info: dict[str, Any], cancel: dict[str, Any], insuplc: str) -> None:
        self.answered[info["setl_id"]] = NODE_OF[his.client.code]
        self.counts[infno] += 1
        self.cancellable[info["setl_id"]] = (his, {"2207": "2208", "2102": "2103", "2304": "2305"}[infno], cancel,
                                             insuplc)
        if self.rng.random() < 0.05:  # cancelled at the end of that day or the next
            self.to_cancel.append((self.day + self.rng.randint(0, 1), info["setl_id"]))

    def outpatient(self, psn_no: str, code: str, cross: bool) -> None:
        who = self.who(psn_no)
        his = self.nodes[NODE_OF[code]].his(code)
        reg = his.call("2201", his.registration(who), who["admdvs"])
        if reg["infcode"] != 0:  # a visitor first met while his node is down: not even registered
            assert cross and self.net.down, reg["err_msg"]
            self.counts["not registered"] += 1
            return
        mdtrt_id = str(reg["output"]["data"]["mdtrt_id"])
        his.visit_info(who, mdtrt_id)
        batch = f"B{psn_no[-4:]}{his._n}"
        rows = his.upload(who, mdtrt_id, batch, self.items())
        from outpatient_world import Visit_

        visit = Visit_(his, who, mdtrt_id, batch, rows, "11", "1")
        if cross and self.rng.random() < 0.05:  # the HIS loses the answer to its 2207, then reverses it by 2601
            self.lost_to_the_his(his, visit)
            return
        self.settle_visit(his, visit, cross)

    def settle_visit(self, his: DayHis, visit: Any, cross: bool) -> None:
        info = self.outcome("2207", his.call("2207", visit.data_2207(), visit.who["admdvs"]), cross)
        if info is None:
            self.again(his, lambda: self.settle_visit(his, visit, cross))
            return
        self.settled(his, "2207", info, visit.cancel_input(info["setl_id"]), visit.who["admdvs"])

    def lost_to_the_his(self, his: DayHis, visit: Any) -> None:
        client = his.client
        env = client.envelope("2207", dated(visit.data_2207(), his.day), visit.who["admdvs"],
                              sign_no=client.sign_no())
        lost = client.send(env)  # the HIS never sees this answer: it reverses the message, then settles again
        ref = {"data": {"psn_no": visit.who["psn_no"], "omsgid": env["msgid"], "oinfno": "2207"}}
        out = his.call("2601", ref, visit.who["admdvs"])
        self.counts["2601"] += 1
        if lost["infcode"] == 0:
            assert out["infcode"] == 0 and out["output"]["data"]["rvs_rslt"] == "reversed", out
            self.answered[lost["output"]["setlinfo"]["setl_id"]] = NODE_OF[client.code]
            self.cancelled.add(lost["output"]["setlinfo"]["setl_id"])
        else:  # what it lost was a refusal as not settled: nothing to reverse here
            assert self.net.down or self.trouble, lost["err_msg"]
            self.counts["not settled"] += 1
            result = out["output"]["data"]["rvs_rslt"] if out["infcode"] == 0 else out["err_msg"]
            self.counts[f"2601 of a 2207 not settled: {result}"] += 1
        self.again(his, lambda: self.settle_visit(his, visit, True))

    def pharmacy(self, psn_no: str) -> None:
        who = self.who(psn_no)
        his = self.nodes["44"].his(PHARMACY)
        lines = [{"feedetl_sn": f"D{n}", "rxno": "", "rx_circ_flag": "0", "fee_ocur_time": "2026-03-16 10:00:00",
                  "med_list_codg": code, "medins_list_codg": "P-" + code, "det_item_fee_sumamt": str(D(p) * int(c)),
                  "cnt": c, "pric": p} for n, (code, p, c) in enumerate(self.items(), 1)]
        total = str(sum((D(line["det_item_fee_sumamt"]) for line in lines), ZERO))
        data = {"druginfo": {"psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"],
                             "begntime": "2026-03-16 10:00:00", "medfee_sumamt": total, "insutype": who["insutype"],
                             "acct_used_flag": "1", "med_type": "41"}, "drugdetail": lines}
        cross = psn_no != EMPLOYEE
        self.purchase(his, who, data, cross)

    def purchase(self, his: DayHis, who: dict[str, Any], data: dict[str, Any], cross: bool) -> None:
        psn_no = who["psn_no"]
        info = self.outcome("2102", his.call("2102", data, who["admdvs"]), cross)
        if info is None:
            self.again(his, lambda: self.purchase(his, who, data, cross))
        else:
            self.settled(his, "2102", info, {"data": {"setl_id": info["setl_id"], "mdtrt_id": info["mdtrt_id"],
                                                      "psn_no": psn_no}}, who["admdvs"])

    def stay(self, psn_no: str, day: date) -> None:
        """Admitted four days before `day`, discharged and settled on it."""
        who = self.who(psn_no)
        his = self.nodes["44"].his(SZ_HOSP)
        admitted = (day - timedelta(days=4)).isoformat()
        out = his.ok("2401", {"mdtrtinfo": {"psn_no": psn_no, "insutype": "310", "begntime": f"{admitted} 08:00:00",
                                            "mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"],
                                            "med_type": "21", "ipt_no": f"IPT-{psn_no[-4:]}-{day.day}",
                                            "adm_dept_codg": "W1"}, "diseinfo": []}, who["admdvs"])
        mdtrt_id = str(out["output"]["result"]["mdtrt_id"])
        fees = [(f"L{n}", code, self.cents(1000, 5000), str(self.rng.randint(5, 40)))
                for n, code in enumerate(ITEMS, 1)]
        uploaded = his.ok("2301", {"feedetail": [
            {"feedetl_sn": sn, "init_feedetl_sn": "", "mdtrt_id": mdtrt_id, "psn_no": psn_no,
             "fee_ocur_time": f"{admitted} 09:00:00", "med_list_codg": code, "medins_list_codg": "H-" + code,
             "det_item_fee_sumamt": str((D(p) * int(c)).quantize(D("0.01"))), "cnt": c, "pric": p}
            for sn, code, p, c in fees]}, who["admdvs"])
        his.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "endtime": f"{day.isoformat()} 10:00:00",
                                     "dscg_way": "1"}, "diseinfo": []}, who["admdvs"])
        rows = uploaded["output"]["result"]

        def total(key: str) -> str:
            return str(sum((D(str(r[key])) for r in rows), ZERO))
        data = {"psn_no": psn_no, "mdtrt_cert_type": "02", "medfee_sumamt": total("det_item_fee_sumamt"),
                "mdtrt_id": mdtrt_id, "insutype": "310", "acct_used_flag": "1", "mid_setl_flag": "0",
                "fulamt_ownpay_amt": total("fulamt_ownpay_amt"), "overlmt_selfpay": total("overlmt_amt"),
                "preselfpay_amt": total("preselfpay_amt"), "inscp_scp_amt": total("inscp_scp_amt")}
        info = self.outcome("2304", his.call("2304", {"data": data}, who["admdvs"]), psn_no != EMPLOYEE)
        assert info is not None
        self.settled(his, "2304", info, {"data": {"mdtrt_id": mdtrt_id, "setl_id": info["setl_id"],
                                                  "psn_no": psn_no}}, who["admdvs"])

    def cancel_due(self, day: int = 99) -> None:
        """The cancellations due: refused as not cancelled while the insured node is down, then completed by the
        sweeper."""
        due, self.to_cancel = self.to_cancel, []
        for when, setl_id in due:
            his = self.cancellable[setl_id][0]
            if when > day or not self.up(his.client.code):
                self.to_cancel.append((when, setl_id))
            elif setl_id not in self.cancelled:
                self.cancel(setl_id)

    def cancel(self, setl_id: str) -> None:
        his, infno, data, insuplc = self.cancellable[setl_id]
        lost = NODE_OF[his.client.code] != insuplc[:2] and self.rng.random() < 0.2
        if lost:  # the insured node reverses its part, its answer lost: completed by the sweeper
            self.net.hold = lambda m: m["kind"] == "answer" and m["id"].startswith("C")
            self.counts["cancellation's answer lost"] += 1
        try:
            answer = his.call(infno, data, insuplc)
        finally:
            self.net.hold = None
        self.cancelled.add(setl_id)
        self.counts[infno] += 1
        if answer["infcode"] != 0:
            assert (self.net.down or lost) and str(answer["err_msg"]).startswith("not cancelled"), answer["err_msg"]
            self.counts["not cancelled"] += 1

    # -- the failures ---------------------------------------------------------------------------------------

    def injected(self, visit: Callable[[], None]) -> None:
        """A cross-province visit, perhaps with a failure of the exchange."""
        r = self.rng.random()
        if r < 0.08:  # every message delivered twice
            self.net.duplicate, self.trouble = True, True
            self.counts["duplicated"] += 1
        elif r < 0.12:  # the insured node's answer lost past the time box, delivered much later
            self.net.hold = lambda m: m["kind"] == "answer" and m["body"].get("state") == "applied"
            self.trouble = True
            self.counts["answer lost"] += 1
        elif r < 0.15:  # the settlement held back: its compensation overtakes it, and it arrives last
            self.net.hold = lambda m: m["kind"] == "settle"
            self.net.duplicate = self.rng.random() < 0.5  # and the rest delivered twice
            self.trouble = True
            self.counts["reordered"] += 1
        try:
            visit()
        finally:
            reordered = self.net.hold is not None and r >= 0.12
            self.net.duplicate, self.net.hold, self.trouble = False, None, False
        at_once, self.at_once = self.at_once, []
        for send in at_once:
            send()
        if reordered:
            self.sweep()
            self.net.release(reverse=True)
            self.net.pump()
        elif r < 0.15:
            self.net.release()

    def sweep(self) -> dict[str, int]:
        """One round of every node's sweeper: owed cancellations, questions owed (SQLite), transfers."""
        done: Counter[str] = Counter()
        for node in self.nodes.values():
            done.update(node.remote.sweep(later()))
            done["confirmed"] += recovery.confirm(node.remote, later()) or 0
        self.net.pump()
        return dict(done)

    # -- the month --------------------------------------------------------------------------------------------

    def run(self, monkeypatch: pytest.MonkeyPatch) -> None:
        stays = {8: PARENT, 17: MOTHER, 25: EMPLOYEE}
        down = {11: "14", 12: "14", 21: "34", 22: "34", 27: "44"}
        for n in range(1, 32):
            day = date(2026, 3, n)
            monkeypatch.setenv("YIBAO_TODAY", day.isoformat())
            for node in self.nodes.values():
                for his in node.his_of.values():
                    his.day = day.isoformat()
            if n in down:
                self.net.down.add(down[n])
            for node in self.nodes.values():  # each HIS of the day
                for code in (SZ_HOSP, TY_HOSP, HF_HOSP, PHARMACY):
                    if NODE_OF[code] == node.province:
                        node.his(code).day = day.isoformat()
            self.day = n
            if n in stays:
                self.stay(stays[n], day)
                if n == 17:  # the Hefei stay cancelled the next day (2305)
                    self.to_cancel.append((18, list(self.cancellable)[-1]))
            for _ in range(VISITS_A_DAY):
                r = self.rng.random()
                if r < 0.35:
                    psn_no, code = self.rng.choice(LOCAL)
                    if self.up(code):
                        self.outpatient(psn_no, code, cross=False)
                elif r < 0.80:
                    psn_no, code = self.rng.choice(CROSS)
                    if self.up(code):
                        self.injected(lambda: self.outpatient(psn_no, code, cross=True))  # noqa: B023 - now
                else:
                    psn_no = self.rng.choice((PARENT, MOTHER, SON, EMPLOYEE))
                    if not self.up(PHARMACY):
                        continue
                    if psn_no == EMPLOYEE:
                        self.pharmacy(psn_no)
                    else:
                        self.injected(lambda: self.pharmacy(psn_no))  # noqa: B023 - called now
            self.cancel_due(n)
            if n in down and n - 1 not in down:  # a settlement of a person of the dropped node cancelled now
                self.cancel(self.rng.choice([  # in the order settled: the ids themselves carry the real time
                    k for k, (his, _, _, insuplc) in self.cancellable.items()
                    if insuplc[:2] == down[n] and k not in self.cancelled and self.up(his.client.code)]))
            if n in down and n + 1 not in down:  # the node is back: the sweepers run
                self.net.down.discard(down[n])
                self.counts["node dropped"] += 1
            self.sweep()
            retry, self.retry = self.retry, []
            for his, send in retry:  # the HIS sends again what was refused as not settled
                if self.up(his.client.code):
                    send()
                else:
                    self.retry.append((his, send))
        rounds = 0
        while self.to_cancel or self.retry:
            self.cancel_due()
            retry, self.retry = self.retry, []
            for _, send in retry:
                send()
            rounds += 1
            assert rounds < 3

    def settle_the_rest(self) -> int:
        """The sweepers run until nothing is owed; how many rounds it took."""
        for rounds in range(1, 6):
            self.net.release()
            self.net.pump()
            done = self.sweep()
            if not any(done.values()):
                return rounds
        raise AssertionError(f"still owed after 5 rounds: {done}")

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()


# -- reading the books --------------------------------------------------------------------------------------------

def standing(nodes: dict[str, MonthNode]) -> list[Settlement]:
    """The settlements of every node that still stand (settled, not cancelled)."""
    out: list[Settlement] = []
    for node in nodes.values():
        with node.store.unit_of_work() as s:
            out += list(s.scalars(select(Settlement).where(Settlement.status == "settled")))
    return out


def insured_node(psn_no: str, nodes: dict[str, MonthNode]) -> MonthNode:
    return nodes[psn_no[:2]]


def check_books_of_the_insured(w: Month, initial: dict[str, Decimal]) -> dict[str, Decimal]:
    """Each insured node's accounts, accumulators and quota used, against the settlements of every node that still
    stand, and each account against its own bank instructions. The figures compared, for the report."""
    live = standing(w.nodes)
    sums: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    aid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in live:
        sums[(row.psn_no, row.bucket)][0] += row.act_pay_dedc
        sums[(row.psn_no, row.bucket)][1] += row.hifp_pay
        paid[row.psn_no] += row.acct_pay
        aid[row.psn_no] += row.acct_mulaid_pay
    figures: dict[str, Decimal] = {}
    for owner, family in FAMILIES.items():
        node = insured_node(owner, w.nodes)
        with node.store.unit_of_work() as s:
            accounts = {p: s.get(Account, p) for p in family}
            balances = {p: a.balance for p, a in accounts.items() if a is not None}
            drawn = sum((initial[p] for p in balances), ZERO) - sum(balances.values(), ZERO)
            assert drawn == sum((paid[p] for p in family), ZERO), (owner, drawn)
            figures[f"drawn {owner}"] = drawn
            for p, bal in balances.items():  # the account against its own bank instructions
                moved = ZERO
                for b in s.scalars(select(BankInstruction).where(BankInstruction.psn_no == p)):
                    moved += -b.amount if b.code == "acct_021" else b.amount if b.code == "acct_023" else ZERO
                assert bal == initial[p] + moved, (p, bal, moved)
            for p in family:
                for acc in s.scalars(select(Accumulator).where(Accumulator.psn_no == p, Accumulator.year == 2026)):
                    want = sums.get((p, acc.bucket), [ZERO, ZERO])
                    assert (acc.deductible_used, acc.fund_paid) == (want[0], want[1]), (p, acc.bucket, want)
                    figures[f"fund {p} {acc.bucket}"] = acc.fund_paid
                buckets = {a.bucket for a in s.scalars(select(Accumulator).where(Accumulator.psn_no == p))}
                assert {b for (q, b), v in sums.items() if q == p and any(v)} <= buckets, p
                used = sum(s.scalars(select(MutualAidAuthorization.quota_used).where(
                    MutualAidAuthorization.beneficiary == p)), ZERO)
                assert used == aid[p], (p, used, aid[p])
    return figures


def check_both_sides(w: Month) -> None:
    """Every settlement the HIS was told of exists once on its treatment node, and on the insured node too when
    cross-province; every one refused as not settled is on neither (compensated or fenced)."""
    rows: dict[str, Settlement] = {}
    for node in w.nodes.values():
        with node.store.unit_of_work() as s:
            for row in s.scalars(select(Settlement).where(Settlement.refd_setl_flag == "0")):
                assert row.setl_id not in rows
                rows[row.setl_id] = row
    inboxes: dict[str, dict[str, str]] = {}
    outboxes: dict[str, dict[str, FederationOutbox]] = {}
    for name, node in w.nodes.items():
        with node.store.unit_of_work() as s:
            inboxes[name] = {r.msg_id: r.state for r in s.scalars(select(FederationInbox))}
            outboxes[name] = {r.msg_id: r for r in s.scalars(select(FederationOutbox))}
    for setl_id, where in w.answered.items():
        row = rows[setl_id]
        assert row.status == ("cancelled" if setl_id in w.cancelled else "settled"), (setl_id, row.status)
        peer = row.insu_admdvs[:2]
        if peer != where:
            assert inboxes[peer][setl_id] == ("cancelled" if setl_id in w.cancelled else "applied")
            assert outboxes[where][setl_id].state == "answered"
    assert set(rows) == set(w.answered)
    compensated = 0
    for box in outboxes.values():
        for msg_id, out in box.items():
            assert out.state in ("answered", "compensated", "refused"), (msg_id, out.state)
            if out.kind == "settle" and out.state == "compensated":
                compensated += 1
                assert msg_id not in rows
                assert inboxes[out.peer].get(msg_id, "absent") in ("cancelled", "fenced", "absent")
    assert compensated == w.counts["not settled"]


def books_balance(node: MonthNode, region: str) -> None:
    with node.store.unit_of_work() as s:
        tb = trial_balance.trial_balance(s, region, MONTH)
    assert tb["balanced"] and tb["tied"], (region, tb["ties"])


@pytest.fixture
def month(urls: list[str]) -> Iterator[Month]:  # noqa: F811
    w = Month(urls)
    yield w
    w.close()


def test_a_month_across_three_nodes_ends_agreed_to_the_cent(month: Month, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    w = month
    started = time.monotonic()
    initial = {p["psn_no"]: D(p["account"]["balance"]) for p in w.doc["persons"] if "account" in p}
    for province, node in w.nodes.items():  # only its own province loaded; the others' reference as snapshots
        with node.store.unit_of_work() as s:
            assert {a[:2] for a in s.scalars(select(Person.admdvs))} == {province}
            assert {(r.province, r.kind) for r in s.scalars(select(FederationSnapshot))} == {
                (p, k) for p in PROVINCES for k in ("regions", "policies")}
    w.run(monkeypatch)
    rounds = w.settle_the_rest()
    ran = time.monotonic() - started

    assert len(w.answered) >= 200 and w.counts["not settled"] >= 5
    # nothing owed, nothing in flight, both sides the same
    report = federation_check.check({p: n.store for p, n in w.nodes.items()})
    assert report.differences == [] and report.in_flight == [], (report.differences, report.in_flight)
    check_both_sides(w)
    for province, node in w.nodes.items():  # of another province a node holds only the visitors it met
        with node.store.unit_of_work() as s:
            others = set(s.scalars(select(Person.psn_no).where(Person.admdvs.not_like(f"{province}%"))))
            assert others == set(s.scalars(select(FederationVisitor.psn_no))), province
    figures = check_books_of_the_insured(w, initial)

    # the month cleared for each payer on its payee's node, every payer's voucher paid through the bank
    live = standing(w.nodes)
    vouchers = []
    for payee, payer in (("44", "14"), ("44", "34"), ("14", "44")):
        agreed = national_clearing.clear(w.nodes[payee].remote, payer, MONTH, MARCH_END)
        assert agreed["state"] == "agreed", agreed
        mine = [r for r in live if r.insu_admdvs[:2] == payer and NODE_OF[r.fixmedins_code] == payee]
        assert D(agreed["fund"]) == sum((r.fund_pay_sumamt for r in mine), ZERO)
        assert D(agreed["acct"]) == sum((r.acct_pay for r in mine), ZERO)
        vouchers.append((payee, payer, agreed["voucher_id"], agreed["lines"], agreed["total"]))
    sim = SimulatedBank(str(tmp_path / "bank" / "bank.db"))
    http = TestClient(sim.app)
    try:
        adapter = HttpBankAdapter("http://bank.test", http=http)
        for node in w.nodes.values():
            while deliver_due(node.store, adapter).delivered:
                pass
        moved = Counter[str]()
        for node in w.nodes.values():
            moved.update(province_transfers.advance(node.remote))
        assert (moved["posted"], moved["told"]) == (3, 3), moved
        out: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for _, payer, vid, _, total in vouchers:
            out[payer] += D(total)
            with w.nodes[payer].store.unit_of_work() as s:
                (mine,) = [v for v in province_transfers.listing(s, payer) if v["voucher_id"] == vid]
                assert (mine["bank"], mine["posted"], mine["payee_told"]) == ("delivered", True, True)
        for province, amount in out.items():  # each fund account's transfers out at the bank: its vouchers
            assert D(sim.account(f"FUND-{province}0000")["debits"]) == amount, province
    finally:
        http.close()
        sim.dispose()

    report = federation_check.check({p: n.store for p, n in w.nodes.items()})
    assert (report.differences, report.in_flight, report.vouchers) == ([], [], 3)
    for node in w.nodes.values():
        with node.store.unit_of_work() as s:
            for v in s.scalars(select(FederationVoucher)):
                assert national_clearing.balanced(v), v.voucher_id
    done = CliRunner().invoke(cli.app, ["federation", "check", *[a for p, n in w.nodes.items()
                                                                 for a in ("--node", f"{p}={n.store.url}")]])
    assert done.exit_code == 0, done.output
    for province, region in (("44", "440000"), ("14", "140000"), ("34", "340000"),
                             ("44", "440300"), ("14", "140100"), ("34", "340100")):
        node = w.nodes[province]
        books_balance(node, region)

    print(f"\nmonth on {w.nodes['44'].store.engine.dialect.name}: {dict(sorted(w.counts.items()))}, "
          f"{len(w.answered)} told the HIS, sweeper rounds at the end {rounds}, compared {report.compared}, "
          f"vouchers {vouchers}, "
          f"{len(live)} standing, traffic {ran:.1f} s, all {time.monotonic() - started:.1f} s, {figures}")
