"""The secrets and keys shipped with the demo (examples/demo.yaml, hospital/demo.yaml, the Makefile's simulated
providers) and with the conformance kit (conformance/dataset.yaml) are public: anyone can sign as a demo
institution with them. A deployment refuses to start with any of them unless it says it is the demo (YIBAO_DEMO=1,
which `make demo` sets, and which the kit's own platform of `yibao conformance run --self` sets)."""

from __future__ import annotations

import os
from collections.abc import Iterable

SHIPPED = frozenset({
    *(f"{kind}-secret-{city}-{n}" for kind in ("demo", "kit")
      for city, count in (("sz", 4), ("gz", 3), ("hf", 3), ("hk", 2), ("jy", 2), ("ty", 3))
      for n in range(1, count + 1)),
    "demo-hospital-token-key-not-for-production", "demo-wechat-key", "demo-alipay-key", "demo-card-key",
})


class ShippedKey(Exception):
    """A deployment that is not the demo was given a key the project ships."""


def is_demo() -> bool:
    return os.environ.get("YIBAO_DEMO", "").strip().lower() in ("1", "true", "yes")


def refuse_shipped(named: Iterable[tuple[str, str]], how: str) -> None:
    """`named`: (where the value is set, the value). Raises naming every shipped one and how to set one's own."""
    if is_demo():
        return
    found = [where for where, value in named if value in SHIPPED]
    if found:
        raise ShippedKey(f"{', '.join(found)}: the demo's shipped value, public to anyone; {how} "
                         "(or, for the demo only, set YIBAO_DEMO=1)")
