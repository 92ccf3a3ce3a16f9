"""A settled month for the console's staff pages (tests/console/test_staff_pages.py, tests/browser/
test_staff_journeys.py): Shenzhen (440300) and Guangzhou (440100) in Guangdong, settlements made over the wire on
2026-03-16 (the HIS helpers of outpatient_world.py); the business date then moves with YIBAO_TODAY.

    a  Shenzhen employee at SZ_H, worked example A (fund 54.00, account 196.00); drug A ×2 flagged by R-QTY
    b  Guangzhou employee at SZ_H (cross-region in the province: a 3260 row of SZ_H, the centre's part)
    c  Shenzhen employee at GZ_H (another institution, another region)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outpatient_world import EXAMPLE_A, EXAMPLE_B, Hub, base_doc, id_card, one_of, person, policy, region

from yibao.store.db import Store

SZ, GZ, GD = "440300", "440100", "440000"
SZ_H, GZ_H = "H44030000301", "H44010000301"
SZ_EMP, SZ_PARENT, SZ_CHILD = "44030000000000000301", "44030000000000000302", "44030000000000000303"
GZ_EMP = "44010000000000000301"
RULE = {"rule_id": "R-QTY", "kind": "qty_per_visit", "severity": "1", "message": "药品甲单次就诊限1",
        "params": {"codes": ["EX-DRUG-A"], "max_qty": "1"}}


def _hospital(code: str, admdvs: str) -> dict[str, Any]:
    return {"code": code, "name": f"示例医院{code[-4:]}", "admdvs": admdvs, "kind": "hospital", "level": "3",
            "xregion": "provincial", "internet": False, "secret": f"secret-{code.lower()}"}


def world_doc() -> dict[str, Any]:
    doc = base_doc()
    resident = policy("390", "0.00", "0.50", "800.00")
    doc["regions"] = [
        region(SZ, "深圳市(示例)", [policy("310", "100.00", "0.60", "5000.00"), resident],
               settings={"prepayment_initial": "1000.00"}, analysis_rules=[RULE],
               switches=[{"name": "epidemic_outpatient", "on": True, "from": "2026-01-01"}]),
        region(GZ, "广州市(示例)", [policy("310", "0.00", "0.70", "3000.00"), resident],
               settings={"prepayment_initial": "2000.00"}),
    ]
    doc["institutions"] = [_hospital(SZ_H, SZ), _hospital(GZ_H, GZ)]
    doc["persons"] = [
        person(SZ_EMP, "深甲", id_card("44030119900101003"), "310", SZ, "1101", "500.00"),
        person(SZ_PARENT, "深父", id_card("44030119700101005"), "310", SZ, "1101", "3000.00"),
        person(SZ_CHILD, "深童", id_card("44030120180101007"), "390", SZ, "1402"),
        person(GZ_EMP, "穗甲", id_card("44010619850101003"), "310", GZ, "1101", "1000.00"),
    ]
    doc["mutual_aid"] = [{"authorizer": SZ_PARENT, "beneficiary": SZ_CHILD, "relation": "child", "quota": "800.00",
                          "start": "2026-01-01", "end": "2026-12-31", "priority": 1}]
    return doc


@dataclass(frozen=True)
class Settled:
    hub: Hub
    a: str
    b: str
    c: str


def settle(hub: Hub, code: str, psn_no: str, items: list[tuple[str, str, str]], acct: str = "1") -> str:
    visit = hub.his(code).visit(hub.who(psn_no), items, acct_used_flag=acct)
    return str(one_of(visit.settle("2207A"))["setl_id"])


def settled_month(store: Store) -> Settled:
    """The world loaded into `store` and its three settlements of 2026-03-16 (YIBAO_TODAY must be unset)."""
    hub = Hub(store).load(lambda doc: (doc.clear(), doc.update(world_doc())))
    return Settled(hub, settle(hub, SZ_H, SZ_EMP, EXAMPLE_A), settle(hub, SZ_H, GZ_EMP, EXAMPLE_A),
                   settle(hub, GZ_H, SZ_EMP, EXAMPLE_B, acct="0"))
