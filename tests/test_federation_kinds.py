"""A Taiyuan person at a Shenzhen pharmacy (2101, 2102, 2103) and in a Shenzhen hospital (2401-2404, 2301, 2304,
2305) settled across two nodes (docs/federation.md): to the cent what one node computes, the insured node's books
moved once, a cancellation reversing both sides — on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from federation_world import Node, balance, federation_doc, inbox, instructions, settlements, usage
from outpatient_world import PARENT, SZ_HOSP, person_in
from test_federation import World, agree, urls  # noqa: F401 - the fixture of both databases

from yibao.client import PlatformClient
from yibao.federation.exchange import FakeNetwork
from yibao.store.db import Store

D = Decimal
ZERO = D("0.00")
PHARMACY, PHARMACY_SECRET = "P44030000901", "fed-secret-ph"
FIGURES = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
           "act_pay_dedc", "hifp_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "balc")


def kinds_doc() -> dict[str, Any]:
    """The federation's dataset with inpatient and pharmacy policies and a Shenzhen pharmacy open to the nation."""
    doc = federation_doc()
    for region in doc["regions"]:
        region["policies"] += [
            {"insutype": "310", "med_types": ["21"], "bucket": "inpatient", "deductible": "300.00", "ratio": "0.90",
             "annual_cap": "200000.00", "acct_scope": "policy"},
            {"insutype": "310", "med_types": ["41"], "bucket": "pharmacy", "deductible": "0.00", "ratio": "0",
             "annual_cap": "0.00", "acct_scope": "all"}]
    doc["institutions"].append({"code": PHARMACY, "name": "深圳示例药房(跨省)", "admdvs": "440300",
                                "kind": "pharmacy", "level": "1", "xregion": "national", "internet": False,
                                "secret": PHARMACY_SECRET})
    return doc


class Kinds(World):
    def __init__(self, urls: list[str]):  # noqa: F811
        self.net = FakeNetwork()
        self.sz = Node("44", urls[0], ("14",), self.net.exchange("44"), kinds_doc())
        self.ty = Node("14", urls[1], ("44",), self.net.exchange("14"), kinds_doc())
        self.single_url = urls[2]


@pytest.fixture
def world(urls: list[str]) -> Iterator[Kinds]:  # noqa: F811
    w = Kinds(urls)
    yield w
    w.close()


def client(http: Any, code: str, secret: str) -> PlatformClient:
    return PlatformClient("http://testserver", code, secret, "440300", opter="op01", http=http)


def single_node(url: str) -> tuple[Store, Any]:
    from fastapi.testclient import TestClient

    from yibao.app import create_app
    from yibao.dataset.loader import load_document

    store = Store(url)
    load_document(store, kinds_doc())
    return store, TestClient(create_app(store))


# -- pharmacy ---------------------------------------------------------------------------------------------------

def druginfo(total: str = "180.00") -> dict[str, Any]:
    return {"psn_no": PARENT, "mdtrt_cert_type": "02", "mdtrt_cert_no": person_in(kinds_doc(), PARENT)["certno"],
            "begntime": "2026-03-16 10:00:00", "medfee_sumamt": total, "insutype": "310", "acct_used_flag": "1",
            "med_type": "41"}


DRUGS = [{"feedetl_sn": "D1", "rxno": "", "rx_circ_flag": "0", "fee_ocur_time": "2026-03-16 10:00:00",
          "med_list_codg": "EX-DRUG-A", "medins_list_codg": "P-A", "det_item_fee_sumamt": "60.00", "cnt": "3",
          "pric": "20.00"},
         {"feedetl_sn": "D2", "fee_ocur_time": "2026-03-16 10:00:00", "med_list_codg": "EX-DRUG-B",
          "medins_list_codg": "P-B", "det_item_fee_sumamt": "120.00", "cnt": "1", "pric": "120.00"}]


def purchase() -> dict[str, Any]:
    return {"druginfo": druginfo(), "drugdetail": DRUGS}


def test_a_pharmacy_purchase_across_two_nodes_is_what_one_node_computes(world: Kinds) -> None:
    store, http = single_node(world.single_url)
    alone = client(http, PHARMACY, PHARMACY_SECRET).ok("2102", purchase(), "140100")["setlinfo"]
    store.dispose()

    ph = client(world.sz.http, PHARMACY, PHARMACY_SECRET)
    pre = ph.ok("2101", purchase(), "140100")["setlinfo"]
    assert balance(world.ty, PARENT) == D("3000.00") and inbox(world.ty) == {}  # priced there, applied nowhere
    out = ph.ok("2102", purchase(), "140100")["setlinfo"]
    assert {k: out[k] for k in FIGURES} == {k: alone[k] for k in FIGURES} == {k: pre[k] for k in FIGURES}
    assert (out["acct_pay"], out["fund_pay_sumamt"], out["balc"]) == (D("180.00"), ZERO, D("2820.00"))
    assert balance(world.ty, PARENT) == D("2820.00")
    assert balance(world.sz, PARENT) == D("3000.00")  # the treatment node's copy is reference data
    assert instructions(world.sz) == [] and [c for c, _, _ in instructions(world.ty)] == ["acct_021"]
    assert inbox(world.ty) == {out["setl_id"]: "applied"}
    assert agree(world) == 1

    back = ph.ok("2103", {"data": {"setl_id": out["setl_id"], "mdtrt_id": out["mdtrt_id"], "psn_no": PARENT}},
                 "140100")["setlinfo"]
    assert back["balc"] == D("3000.00")
    assert balance(world.ty, PARENT) == D("3000.00")
    assert [c for c, _, _ in instructions(world.ty)] == ["acct_021", "acct_023"]
    assert inbox(world.ty) == {out["setl_id"]: "cancelled", "C" + out["setl_id"]: "done"}
    assert sorted(s.status for s in settlements(world.sz)) == ["cancelled", "reversal"]
    assert agree(world) == 1


# -- inpatient ----------------------------------------------------------------------------------------------------

def admit(h: PlatformClient, ipt_no: str = "IPT-F1") -> str:
    who = person_in(kinds_doc(), PARENT)
    out = h.ok("2401", {"mdtrtinfo": {"psn_no": PARENT, "insutype": "310", "begntime": "2026-03-10 08:00:00",
                                      "mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"], "med_type": "21",
                                      "ipt_no": ipt_no, "adm_dept_codg": "W1"}, "diseinfo": []}, "140100")
    return str(out["result"]["mdtrt_id"])


def line(sn: str, mdtrt_id: str, code: str, pric: str, cnt: str) -> dict[str, Any]:
    amount = (D(pric) * D(cnt)).quantize(D("0.01"))
    return {"feedetl_sn": sn, "init_feedetl_sn": "", "mdtrt_id": mdtrt_id, "psn_no": PARENT,
            "fee_ocur_time": "2026-03-11 09:00:00", "med_list_codg": code, "medins_list_codg": "H-" + code,
            "det_item_fee_sumamt": str(amount), "cnt": cnt, "pric": pric}


def stay(h: PlatformClient) -> dict[str, Any]:
    """Admission, fees, discharge and settlement of a stay: 1800.00 in scope, 100.00 wholly self-paid."""
    mdtrt_id = admit(h)
    h.ok("2301", {"feedetail": [line("L1", mdtrt_id, "EX-DRUG-A", "10.00", "180"),
                                line("L2", mdtrt_id, "EX-ITEM-C", "50.00", "2")]}, "140100")
    h.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": PARENT, "endtime": "2026-03-15 10:00:00",
                               "dscg_way": "1"}, "diseinfo": []}, "140100")
    data = {"psn_no": PARENT, "mdtrt_cert_type": "02", "medfee_sumamt": "1900.00", "mdtrt_id": mdtrt_id,
            "insutype": "310", "acct_used_flag": "1", "mid_setl_flag": "0", "fulamt_ownpay_amt": "100.00",
            "overlmt_selfpay": "0.00", "preselfpay_amt": "0.00", "inscp_scp_amt": "1800.00"}
    return dict(h.ok("2304", {"data": data}, "140100")["setlinfo"])


def test_an_inpatient_stay_across_two_nodes_is_what_one_node_computes(world: Kinds) -> None:
    store, http = single_node(world.single_url)
    alone = stay(client(http, SZ_HOSP, "conf-secret-sz"))
    store.dispose()

    h = client(world.sz.http, SZ_HOSP, "conf-secret-sz")
    out = stay(h)
    assert {k: out[k] for k in FIGURES} == {k: alone[k] for k in FIGURES}
    # inpatient: deductible 300.00, 0.90 of the rest: 1350.00; the account pays the scope part 450.00
    assert (out["act_pay_dedc"], out["hifp_pay"], out["acct_pay"], out["psn_cash_pay"], out["balc"]) == (
        D("300.00"), D("1350.00"), D("450.00"), D("100.00"), D("2550.00"))
    assert usage(world.ty, PARENT, "inpatient") == (D("300.00"), D("1350.00"))
    assert usage(world.sz, PARENT, "inpatient") == (ZERO, ZERO)
    assert balance(world.ty, PARENT) == D("2550.00") and balance(world.sz, PARENT) == D("3000.00")
    assert inbox(world.ty) == {out["setl_id"]: "applied"}
    assert agree(world) == 1

    h.ok("2305", {"data": {"mdtrt_id": out["mdtrt_id"], "setl_id": out["setl_id"], "psn_no": PARENT}}, "140100")
    assert usage(world.ty, PARENT, "inpatient") == (ZERO, ZERO)
    assert balance(world.ty, PARENT) == D("3000.00")
    assert inbox(world.ty) == {out["setl_id"]: "cancelled", "C" + out["setl_id"]: "done"}
    assert agree(world) == 1
    h.ok("2405", {"data": {"mdtrt_id": out["mdtrt_id"], "psn_no": PARENT}}, "140100")  # back in hospital
    h.ok("2404", {"data": {"mdtrt_id": out["mdtrt_id"], "psn_no": PARENT}}, "140100")  # the admission undone
    assert balance(world.ty, PARENT) == D("3000.00") and len(inbox(world.ty)) == 2


def test_every_message_of_a_stay_delivered_twice_moves_the_insured_node_once(world: Kinds) -> None:
    world.net.duplicate = True
    h = client(world.sz.http, SZ_HOSP, "conf-secret-sz")
    out = stay(h)
    assert usage(world.ty, PARENT, "inpatient") == (D("300.00"), D("1350.00"))
    assert balance(world.ty, PARENT) == D("2550.00") and out["balc"] == D("2550.00")
    h.ok("2305", {"data": {"mdtrt_id": out["mdtrt_id"], "setl_id": out["setl_id"], "psn_no": PARENT}}, "140100")
    assert usage(world.ty, PARENT, "inpatient") == (ZERO, ZERO) and balance(world.ty, PARENT) == D("3000.00")
    assert [c for c, _, _ in instructions(world.ty)] == ["acct_021", "acct_023"]
    assert agree(world) == 1
