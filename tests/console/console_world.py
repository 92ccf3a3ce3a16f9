"""The web console in-process over tests/data/world.yaml: a browser's cookies and forms through Starlette's test
client, the simulated code sender writing to a file, and a wall clock the test moves (no timed tests)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response

from yibao.app import create_app
from yibao.console.sender import SimulatedSender
from yibao.platform import console_access as access
from yibao.platform.work import working
from yibao.store.db import Store

#: world.yaml: two Shenzhen persons (an employee with an account, his child), a Guangzhou employee
SZ_EMPLOYEE = ("44030000000000000001", "440301199001011234")
SZ_CHILD = ("44030000000000000002", "440301201506010026")
GZ_EMPLOYEE = ("44010000000000000001", "440106198408211031")
STAFF_PASSWORD = "correct-horse-battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CHALLENGE = re.compile(r'name="challenge" value="([^"]+)"')


class Clock:
    """The console's wall clock, in seconds; `advance` moves it."""

    def __init__(self, now: int = 1_800_000_000):
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


class ConsoleWorld:
    def __init__(self, store: Store, tmp: Path):
        self.store = store
        self.app = create_app(store)
        self.clock = Clock()
        self.sender = SimulatedSender(tmp / "codes.txt")
        self.app.state.console.clock = self.clock
        self.app.state.console.sender = self.sender

    def browser(self) -> Browser:
        """A fresh browser: cookies of its own."""
        return Browser(self, TestClient(self.app, follow_redirects=False))

    def add_staff(self, username: str, role: str, scope: str, password: str = STAFF_PASSWORD) -> None:
        with working(self.store) as w:
            access.add_staff(w.session, username, role, scope, password, now=w.now, created_by="test")


class Browser:
    def __init__(self, world: ConsoleWorld, http: TestClient):
        self.world, self.http = world, http
        self.csrf = ""

    def get(self, path: str) -> Response:
        reply = self.http.get(path)
        found = CSRF.search(reply.text)
        if found:
            self.csrf = found.group(1)
        return reply

    def post(self, path: str, data: dict[str, str] | None = None, csrf: bool = True) -> Response:
        """A form as the page sent it (with the token of the last page read unless `csrf` is False)."""
        form = {**(data or {}), **({"csrf": self.csrf} if csrf else {})}
        reply = self.http.post(path, data=form)
        found = CSRF.search(reply.text)
        if found:
            self.csrf = found.group(1)
        return reply

    def ask_code(self, certno: str) -> Response:
        self.get("/console/signin")
        return self.post("/console/signin/person", {"certno": certno})

    def sign_in_person(self, psn_no: str, certno: str) -> Response:
        """The whole sign-in: ID number, the code the sender wrote, the home page."""
        asked = self.ask_code(certno)
        challenge = CHALLENGE.search(asked.text)
        assert asked.status_code == 200 and challenge, asked.text
        done = self.post("/console/signin/code", {"challenge": challenge.group(1),
                                                  "code": self.world.sender.last_code(psn_no)})
        assert done.status_code == 303 and done.headers["location"] == "/console/me", done.text
        self.get("/console/me")
        return done

    def sign_in_staff(self, username: str, password: str = STAFF_PASSWORD) -> Response:
        self.get("/console/signin")
        return self.post("/console/signin/staff", {"username": username, "password": password})
