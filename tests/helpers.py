"""What test modules and conftest.py share that is not a fixture: where the test data lives, the PostgreSQL
server, the in-process platform (`Platform`), signed headers, the hospital databases' handles, and reads of the
books (`snapshot`, `count`). Fixtures are in conftest.py; no test module imports another.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Table, create_engine, select, text

from yibao import wire
from yibao.app import create_app
from yibao.client import PlatformClient
from yibao.gateway.auth import signature
from yibao.hospital.database import HospitalDB
from yibao.hospital.db import Base as HospitalBase
from yibao.store.db import Store
from yibao.store.models import Base

DATA = Path(__file__).parent / "data"
WORLD = DATA / "world.yaml"
PG_SERVER = os.environ.get("YIBAO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

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


# -- the platform in-process -----------------------------------------------------------------------------------

class Platform:
    """The platform app in-process, reached over HTTP semantics through Starlette's test client."""

    SECRETS = {"H44030000001": ("test-secret-sz", "440300"), "H44010000001": ("test-secret-gz", "440100")}

    def __init__(self, store: Store):
        self.store = store
        self.app = create_app(store)
        self.http = TestClient(self.app)
        self._clients: dict[tuple[str, str], PlatformClient] = {}

    def client(self, code: str = "H44030000001", opter: str = "op01", **kw: Any) -> PlatformClient:
        """One client per institution and operator, as a HIS has: its msgid sequence never repeats itself
        (fresh clients of one institution in the same second could draw the same 4-digit sequence)."""
        key = (code, opter)
        if kw or key not in self._clients:
            secret, area = self.SECRETS[code]
            client = PlatformClient("http://testserver", code, secret, area, opter=opter, http=self.http, **kw)
            if kw:
                return client
            self._clients[key] = client
        return self._clients[key]

    def post_raw(self, body: bytes | dict, code: str = "H44030000001", headers: dict | None = None,
                 path: str = "/fsi/api/rsfComIfsService/callService") -> tuple[int, dict]:
        raw = body if isinstance(body, bytes) else wire.encode(body)
        reply = self.http.post(path, content=raw, headers=headers or signed_headers(code, self.SECRETS[code][0]))
        return reply.status_code, wire.decode(reply.content)


def signed_headers(code: str, secret: str, ts: str | None = None, nonce: str | None = None) -> dict[str, str]:
    ts = ts or str(int(time.time()))
    nonce = nonce or uuid.uuid4().hex
    return {"Content-Type": "application/json", "x-tif-paasid": code, "x-tif-timestamp": ts,
            "x-tif-nonce": nonce, "x-tif-signature": signature(ts, secret, nonce)}


def empty_tables(conn: Connection, tables: list[Table], schema: str | None = None) -> None:
    """On PostgreSQL, what `TRUNCATE <tables> RESTART IDENTITY CASCADE` leaves (the tables empty, the sequences of
    their columns restarted) at a fraction of its cost: a TRUNCATE gives each of the ~50 tables a new file, ~0.7 s
    a test on a busy server, while deleting the few rows a test left and restarting the sequences takes ~0.02 s.
    `tables` in dependency order (metadata.sorted_tables): deleted in reverse, so no foreign key is broken.
    `schema`: the tables' schema (default: the connection's search path)."""
    owned = conn.execute(text(
        "SELECT quote_ident(sn.nspname) || '.' || quote_ident(s.relname) FROM pg_class s"
        " JOIN pg_namespace sn ON sn.oid = s.relnamespace"
        " JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i')"
        " JOIN pg_class t ON t.oid = d.refobjid"
        " WHERE s.relkind = 'S' AND sn.nspname = coalesce(:schema, current_schema()) AND t.relname = ANY(:tables)"),
        {"schema": schema, "tables": [t.name for t in tables]}).scalars().all()
    prefix = f'"{schema}".' if schema else ""
    statements = [f'DELETE FROM {prefix}"{t.name}"' for t in reversed(tables)]
    statements += [f"ALTER SEQUENCE {seq} RESTART" for seq in owned]
    conn.exec_driver_sql("; ".join(statements))


# -- the hospital's own databases ----------------------------------------------------------------------------------

class HospitalSchemas:
    """The worker's PostgreSQL schemas for hospital databases, made and migrated on first use, then reused."""

    def __init__(self, worker: str):
        self.prefix = f"yibao_hosp_{worker}_{uuid.uuid4().hex[:6]}"
        self.made: list[str] = []
        self.admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")

    def url(self, n: int) -> str:
        """The n-th schema of the worker, emptied."""
        while len(self.made) <= n:
            schema = f"{self.prefix}_{len(self.made)}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            db = HospitalDB(f"{PG_SERVER}?options=-csearch_path%3D{schema}")
            db.upgrade()
            db.dispose()
            self.made.append(schema)
        schema = self.made[n]
        with self.admin.begin() as conn:
            empty_tables(conn, HospitalBase.metadata.sorted_tables, schema)
        return f"{PG_SERVER}?options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        with self.admin.connect() as conn:
            for schema in self.made:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        self.admin.dispose()


class HospitalURLs:
    """Fresh hospital databases for one test: `new(name)` gives the next one (a file, a copy of the migrated
    `template` when there is one, or an emptied schema)."""

    def __init__(self, kind: str, tmp: Path, schemas: HospitalSchemas | None, template: Path | None = None):
        self.kind, self.tmp, self.schemas, self.template, self.count = kind, tmp, schemas, template, 0

    def new(self, name: str = "hospital") -> str:
        n, self.count = self.count, self.count + 1
        if self.schemas is None:
            path = self.tmp / f"{name}-{n}.db"
            if self.template is not None:
                shutil.copy(self.template, path)
            return f"sqlite:///{path}"
        return self.schemas.url(n)


def setl_list_input(psn_no: str, day: str, setl: dict[str, Any], fund_payamt: str, **setlinfo: Any) -> dict[str, Any]:
    """A whole 4101A (医疗保障基金结算清单) input for one outpatient settlement `setl` (its setl_id and mdtrt_id) of
    100.00 of item class 09, with every optional block filled; `setlinfo` gives acct_pay and psn_cashpay and
    overrides any other field of the setlinfo block."""
    return {
        "setlinfo": {"psn_no": psn_no, "mdtrt_id": setl["mdtrt_id"], "setl_id": setl["setl_id"], "medcasno": "MC-1",
                     "hi_no": psn_no, "ntly": "CHN", "gend": "1", "patn_cert_type": "01", "setl_begn_date": day,
                     "setl_end_date": day, "hi_paymtd": "1", "medins_fill_dept": "医保办", "medins_fill_psn": "李四",
                     "psn_selfpay": "88.00", "psn_ownpay": "0.00",
                     "bill_code": "B", "bill_no": "1", "biz_sn": "S1", **setlinfo},
        "payinfo": [{"fund_pay_type": "310100", "fund_payamt": fund_payamt}],
        "opspdiseinfo": [{"diag_name": "高血压", "diag_code": "I10.x00", "oprn_oprt_name": "", "oprn_oprt_code": ""}],
        "diseinfo": [{"diag_type": "1", "diag_code": "I10.x00", "diag_name": "高血压", "adm_cond_type": "1",
                      "maindiag_flag": "1"}],
        "iteminfo": [{"med_chrgitm": "09", "amt": "100.00", "claa_sumfee": "100.00", "clab_amt": "0.00",
                      "fulamt_ownpay_amt": "0.00", "oth_amt": "0.00"}],
        "oprninfo": [{"oprn_oprt_type": "1", "oprn_oprt_name": "换药", "oprn_oprt_code": "93.5700"}],
        "icuinfo": [{"scs_cutd_ward_type": "1", "scs_cutd_inpool_time": f"{day} 10:00:00",
                     "scs_cutd_exit_time": f"{day} 12:00:00", "scs_cutd_sum_dura": "0/2/0"}],
        "bldinfo": [{"bld_cat": "1", "bld_amt": "200", "bld_unt": "ml"}],
    }
