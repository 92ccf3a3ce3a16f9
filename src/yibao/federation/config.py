"""A node's configuration, from the environment.

YIBAO_PROVINCES: the provinces (2-digit codes) this node owns, e.g. `44`; YIBAO_FEDERATION_PEERS: the other nodes,
each named by the province it owns, e.g. `14,34`; YIBAO_NATS_URL (default nats://127.0.0.1:4222);
YIBAO_FEDERATION_TIME_BOX: seconds a HIS waits at most for the insured node (default 5);
YIBAO_FEDERATION_SPACE: a name keeping the streams of one federation apart from another's on the same exchange;
YIBAO_FEDERATION_KEY (required): the key every node of the federation seals its messages with (`yibao keys data`
makes one; several, comma-separated, newest first, to rotate).
Without YIBAO_PROVINCES a node is the whole platform alone, as always.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from yibao.errors import refuse


@dataclass(frozen=True)
class NodeConfig:
    provinces: tuple[str, ...]
    peers: tuple[str, ...]
    nats_url: str = "nats://127.0.0.1:4222"
    time_box: float = 5.0  # float-ok: seconds
    space: str = "yibao"
    keys: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The node's name on the exchange: its first province."""
        return self.provinces[0]

    def owns(self, admdvs: str) -> bool:
        return admdvs[:2] in self.provinces

    def node_of(self, admdvs: str) -> str | None:
        """The peer node owning the region, or None: this node's own, or no node's (settled here as always)."""
        province = admdvs[:2]
        return province if province in self.peers and province not in self.provinces else None


def _codes(raw: str, name: str) -> tuple[str, ...]:
    codes = tuple(c.strip() for c in raw.split(",") if c.strip())
    for code in codes:
        if len(code) != 2 or not code.isdigit():
            raise refuse(name, f"{code!r} is not a 2-digit province code")
    return codes


def from_env(env: dict[str, str] | None = None) -> NodeConfig | None:
    env = dict(os.environ) if env is None else env
    provinces = _codes(env.get("YIBAO_PROVINCES", ""), "YIBAO_PROVINCES")
    if not provinces:
        return None
    raw_box = env.get("YIBAO_FEDERATION_TIME_BOX", "5")
    try:
        time_box = float(raw_box)  # float-ok: seconds
    except ValueError:
        raise refuse("YIBAO_FEDERATION_TIME_BOX", f"{raw_box!r} is not a number of seconds") from None
    if not 0 < time_box <= 60:  # float-ok: seconds
        raise refuse("YIBAO_FEDERATION_TIME_BOX", "must be more than 0 and at most 60 seconds")
    space = env.get("YIBAO_FEDERATION_SPACE", "yibao")
    if not space.replace("_", "").isalnum():
        raise refuse("YIBAO_FEDERATION_SPACE", "letters, digits and _ only")
    keys = tuple(k.strip() for k in env.get("YIBAO_FEDERATION_KEY", "").split(",") if k.strip())
    if not keys:
        raise refuse("YIBAO_FEDERATION_KEY", "not set: a node seals what it sends on the exchange with the "
                                             "federation's key (make one with: yibao keys data)")
    return NodeConfig(provinces, _codes(env.get("YIBAO_FEDERATION_PEERS", ""), "YIBAO_FEDERATION_PEERS"),
                      env.get("YIBAO_NATS_URL", "nats://127.0.0.1:4222"), time_box, space, keys)
