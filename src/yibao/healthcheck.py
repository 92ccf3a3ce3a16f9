"""The containers' health checks (Dockerfile, compose.yaml), as a user runs them:

    python -m yibao.healthcheck http://127.0.0.1:8000/health          a server answers 2xx
    python -m yibao.healthcheck --beat /tmp/outbox.beat --within 60   a worker's last pass is recent

Exit 0 when healthy, else 1 with one line saying why. The standard library only: it runs every few seconds
and must start in milliseconds, without loading the platform.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import urllib.error
import urllib.request


def url_problem(url: str, timeout: float = 5.0) -> str | None:  # float-ok: seconds
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - a URL the operator names
            status = reply.status
    except urllib.error.HTTPError as exc:
        return f"{url}: HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url}: {getattr(exc, 'reason', exc)}"
    return None if 200 <= status < 300 else f"{url}: HTTP {status}"


def beat_problem(path: str, within: float, now: float | None = None) -> str | None:  # float-ok: seconds
    try:
        age = (time.time() if now is None else now) - os.stat(path).st_mtime
    except FileNotFoundError:
        return f"{path}: no pass finished yet"
    return None if age <= within else f"{path}: the last pass finished {age:.0f} s ago (more than {within:g})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yibao.healthcheck", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="a URL that must answer 2xx")
    parser.add_argument("--beat", help="a file a worker touches after each pass")
    parser.add_argument("--within", type=float, default=60.0, help="seconds the beat may be old")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the URL")
    args = parser.parse_args(argv)
    if bool(args.url) == bool(args.beat):
        parser.error("give a URL or --beat FILE")
    problem = url_problem(args.url, args.timeout) if args.url else beat_problem(args.beat, args.within)
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
