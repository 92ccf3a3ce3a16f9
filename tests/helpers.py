"""Small helpers shared by test modules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from yibao.store.db import Store
from yibao.store.models import Base

#: tables the gateway itself writes for every message; everything else is business state
GATEWAY_TABLES = {"message_log", "nonces"}


def snapshot(store: Store, skip: set[str] = GATEWAY_TABLES) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but `skip`), in primary-key order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def count(store: Store, table: str) -> int:
    t = Base.metadata.tables[table]
    with store.engine.connect() as conn:
        return len(conn.execute(select(t)).all())


def envelope(infno: str, input_: dict, *, code: str = "H44030000001", area: str = "440300", sign_no: str = "",
             msgid: str = "H44030000001202603160930000001", **over: Any) -> dict:
    env = {"infno": infno, "msgid": msgid, "mdtrtarea_admvs": area, "insuplc_admdvs": "", "recer_sys_code": "T",
           "dev_no": "", "dev_safe_info": "", "cainfo": "", "signtype": "", "infver": "V1.0", "opter_type": "1",
           "opter": "op01", "opter_name": "tester", "inf_time": "2026-03-16 09:30:00", "fixmedins_code": code,
           "fixmedins_name": "深圳示例医院", "sign_no": sign_no, "input": input_}
    env.update(over)
    return env
