"""A settled month for the what-if tests (tests/test_whatif.py, tests/test_whatif_api.py): the staff pages' world
(staff_world.py: Shenzhen 440300 with a deductible of 100.00 for employees, Guangzhou 440100), settled over the
wire on 2026-03-16:

    a1  Shenzhen employee at SZ_H, worked example A: the whole deductible (100.00) used
    a2  the same employee again at SZ_H: no deductible left
    g   the same employee at GZ_H (another region), without his account
    k   his child (resident) at SZ_H, paid from his father's account by family mutual aid
    p   the father at SZ_H, then cancelled
    z   a Guangzhou employee at SZ_H (Guangzhou's policy: not Shenzhen's month)
"""

from __future__ import annotations

from dataclasses import dataclass

from outpatient_world import EXAMPLE_A, EXAMPLE_B, Hub, one_of
from staff_world import GZ_EMP, GZ_H, SZ_CHILD, SZ_EMP, SZ_H, SZ_PARENT, settle, world_doc

from yibao.store.db import Store

SZ, GZ = "440300", "440100"
MONTH = "2026-03"
LOWER_DEDUCTIBLE = 'policies:\n  - {insutype: "310", med_type: "11", deductible: "20.00"}\n'


@dataclass(frozen=True)
class Month:
    hub: Hub
    setl_ids: dict[str, str]


def settled_month(store: Store) -> Month:
    """YIBAO_TODAY must be unset (the dataset's today, 2026-03-16)."""
    hub = Hub(store).load(lambda doc: (doc.clear(), doc.update(world_doc())))
    ids = {"a1": settle(hub, SZ_H, SZ_EMP, EXAMPLE_A), "a2": settle(hub, SZ_H, SZ_EMP, EXAMPLE_B),
           "g": settle(hub, GZ_H, SZ_EMP, EXAMPLE_B, acct="0"), "k": settle(hub, SZ_H, SZ_CHILD, EXAMPLE_B)}
    father = hub.his(SZ_H).visit(hub.who(SZ_PARENT), EXAMPLE_A, acct_used_flag="1")
    ids["p"] = str(one_of(father.settle("2207A"))["setl_id"])
    father.cancel(ids["p"])
    ids["z"] = settle(hub, SZ_H, GZ_EMP, EXAMPLE_A)
    return Month(hub, ids)
