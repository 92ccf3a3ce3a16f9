"""Running the platform under uvicorn, one process or several."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile

import uvicorn
from uvicorn.supervisors import Multiprocess

from yibao.observe.logs import log_config

log = logging.getLogger("yibao.serving")


class _Config(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        """The listening socket, made with proto IPPROTO_TCP. uvicorn makes it with proto 0, and asyncio then
        skips TCP_NODELAY on the connections it accepts: every keep-alive answer waits ~40 ms for the
        client's delayed ACK (Nagle). One process never binds here, so it is only the several-worker case."""
        family = socket.AF_INET6 if self.host and ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.set_inheritable(True)
        log.info("listening on %s:%d with %d workers", self.host, sock.getsockname()[1], self.workers)
        return sock


def run(host: str, port: int, workers: int = 1, access_log: bool = True, log_format: str = "json") -> None:
    """Serve; every worker logs in `log_format` (yibao.observe.logs), its access lines naming the infno."""
    config = _Config("yibao.app:create_app", factory=True, host=host, port=port, workers=workers,
                     log_level="info", access_log=False, log_config=log_config(log_format, access_log),
                     # a worker starting on a loaded machine may take longer than uvicorn's 5 s to answer the
                     # supervisor's first ping: it would be killed and restarted over and over
                     timeout_worker_healthcheck=60)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    # the workers' metrics: each writes its own files in a fresh directory, a scrape of any one sums them all
    # (prometheus-client's multiprocess mode; set before the workers start, which read it as they import)
    metrics_dir = tempfile.mkdtemp(prefix="yibao-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
