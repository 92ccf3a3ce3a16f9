"""A bare TPC-B endpoint served as yibao is served: the second anchor of bench/settle.py.

    TPCB_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_settle_tpcb \\
        .venv/bin/python bench/tpcb_app.py [--port 8100] [--workers 2] [--no-access-log]

POST /tpcb with {"aid", "tid", "bid", "delta"} runs pgbench's built-in TPC-B transaction on pgbench's own tables
(`pgbench -i`): update the account, read its balance, update the teller, update the branch, insert the history
row, in one transaction (BEGIN ... COMMIT, as pgbench sends it) with a durable commit; the answer is
{"abalance": n}.

Served like `yibao serve`: the same uvicorn, the same number of worker processes, the listening socket made by
yibao.serving's config (IPPROTO_TCP, so that TCP_NODELAY applies to the accepted connections), the body read in
the event loop and the database work done in the thread pool, as yibao's gateway route does, on psycopg 3
connections kept in a pool. What it does not do is everything that is yibao: no signature, envelope, validation,
rules, ORM, replay record or audit row. The distance between the two is what the platform's own work costs.
"""

from __future__ import annotations

import argparse
import json
import os
import queue

import psycopg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from uvicorn.supervisors import Multiprocess

from yibao.serving import _Config  # yibao's own config: its bind_socket is the point

STATEMENTS = (
    "UPDATE pgbench_accounts SET abalance = abalance + %(delta)s WHERE aid = %(aid)s",
    "SELECT abalance FROM pgbench_accounts WHERE aid = %(aid)s",
    "UPDATE pgbench_tellers SET tbalance = tbalance + %(delta)s WHERE tid = %(tid)s",
    "UPDATE pgbench_branches SET bbalance = bbalance + %(delta)s WHERE bid = %(bid)s",
    "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) "
    "VALUES (%(tid)s, %(bid)s, %(aid)s, %(delta)s, CURRENT_TIMESTAMP)",
)


class Pool:
    """psycopg connections, one per concurrent request at most, kept between requests (autocommit, so that a
    transaction is exactly BEGIN, the five statements and COMMIT)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()

    def tpcb(self, params: dict[str, int]) -> int:
        try:
            conn = self.idle.get_nowait()
        except queue.Empty:
            conn = psycopg.connect(self.conninfo, autocommit=True)
        try:
            with conn.transaction():
                conn.execute(STATEMENTS[0], params)
                row = conn.execute(STATEMENTS[1], params).fetchone()
                for sql in STATEMENTS[2:]:
                    conn.execute(sql, params)
        except BaseException:
            conn.close()
            raise
        self.idle.put(conn)
        return int(row[0]) if row else 0


def create_app() -> FastAPI:
    pool = Pool(os.environ["TPCB_DATABASE_URL"])
    app = FastAPI(openapi_url=None)

    @app.post("/tpcb")
    async def tpcb(request: Request) -> Response:
        body = json.loads(await request.body())
        params = {key: int(body[key]) for key in ("aid", "tid", "bid", "delta")}
        balance = await run_in_threadpool(pool.tpcb, params)
        return Response(json.dumps({"abalance": balance}), media_type="application/json")

    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8100)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-access-log", dest="access_log", action="store_false")
    args = ap.parse_args()
    # as yibao.serving.run, with this module's app
    config = _Config("tpcb_app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                     log_level="info", access_log=args.access_log)
    if args.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
