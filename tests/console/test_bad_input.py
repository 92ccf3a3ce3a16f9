"""Bad input to the console's forms and paths: a refusal page (4xx) naming what is wrong, never a 5xx, nothing
written — malformed dates and amounts, over-long text, NUL characters, ids out of range."""

from __future__ import annotations

import pytest
from console_world import SZ_EMPLOYEE, ConsoleWorld
from sqlalchemy import func, select

from yibao.store.models import Filing, MutualAidAuthorization

JUNK = ["", " ", "x" * 500, "2026-02-30", "-1", "1e309", "NaN", "１２３", "9" * 40, "0.001", "a\x00b", "<script>",
        "'; drop table persons; --"]
FORMS = {
    "/console/me/mutual-aid": ("certno", "name", "relation", "quota", "start", "end"),
    "/console/me/mutual-aid/{grant}/change": ("quota", "start", "end"),
    "/console/me/filings": ("type", "place", "start", "end", "memo"),
    "/console/signin/person": ("certno",),
}


def counts(console: ConsoleWorld) -> tuple[int, int]:
    with console.store.unit_of_work() as s:
        return (s.scalar(select(func.count()).select_from(MutualAidAuthorization)) or 0,
                s.scalar(select(func.count()).select_from(Filing)) or 0)


@pytest.mark.parametrize("value", JUNK)
def test_junk_in_any_field_is_refused_with_a_page(console: ConsoleWorld, value: str) -> None:
    b = console.browser()
    b.sign_in_person(*SZ_EMPLOYEE)
    with console.store.unit_of_work() as s:
        grant = s.scalars(select(MutualAidAuthorization.id)).first()
    before = counts(console)
    for path, fields in FORMS.items():
        for field in fields:
            data = {name: "2026-03-16" if name == "start" else "" for name in fields}
            data.update({field: value, "accepted": "yes"})
            reply = b.post(path.format(grant=grant), data)
            assert reply.status_code < 500, (path, field, value, reply.text[-500:])
            assert reply.status_code == 303 or reply.headers["content-type"].startswith("text/html"), (path, field)
    assert counts(console)[1] == before[1]  # no filing from junk


@pytest.mark.parametrize("path", ["/console/me/mutual-aid/0", "/console/me/mutual-aid/2147483648",
                                  "/console/me/mutual-aid/x", "/console/me/filings/-1",
                                  "/console/me/settlements/" + "9" * 200, "/console/me/filings/1e3"])
def test_odd_ids_are_pages_not_errors(console: ConsoleWorld, path: str) -> None:
    b = console.browser()
    b.sign_in_person(*SZ_EMPLOYEE)
    reply = b.get(path)
    assert reply.status_code in (404, 422) and "<html" in reply.text
