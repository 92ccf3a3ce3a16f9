"""Running the platform under uvicorn, one process or several."""

from __future__ import annotations

import logging
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

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


def run(host: str, port: int, workers: int = 1, access_log: bool = True) -> None:
    config = _Config("yibao.app:create_app", factory=True, host=host, port=port, workers=workers,
                     log_level="info", access_log=access_log)
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.Server(config).run()
