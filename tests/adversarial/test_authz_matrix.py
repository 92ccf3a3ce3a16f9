"""Who may reach what: a table of roles x resources, each cell one request over HTTP (and the gateway for what is
institution-scoped), against real processes.

Platform roles: institution A and institution B (Shenzhen), the person and another person (Shenzhen), the agency of
Shenzhen and of Guangzhou, the provincial centre, and no token at all. Hospital roles: staff, the patient, another
patient, no token. A cell is either the owner's (answered 2xx; a list shows the thing) or someone else's: refused
with 401, 403 or 404 (the gateway: infcode -1), a list without the thing, a write that changes nothing. A leak is
someone else's cell answered with the thing; a denial is the owner's cell refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from yibao import wire
from yibao.api.tokens import issue

from .conftest import (
    DEMO_INSURED,
    DRUG,
    GZ,
    GZ_HOSP,
    HOSP_A,
    HOSP_B,
    SZ,
    TODAY,
    TOKEN_KEY,
    Desk,
    HospitalStack,
    Platform,
    child,
    employee,
    hospital_stack,
    served_platform,
    world,
)

pytestmark = pytest.mark.xdist_group("adversarial-authz")  # one worker starts the processes, once

PERSON, OTHER, GZ_PERSON, KID = employee(501), employee(502), employee(503, GZ), child(504)
REFUSED = {401, 403, 404}
#: the text of the person's complaint about the Guangzhou hospital (art. 28): what the owners' lists show
COMPLAINT = "authz matrix complaint"
#: the platform's business date here: within days 1-10 of April, so that March can be declared
DAY, MONTH = "2026-04-03", "2026-03"

ROLES = {
    "institution-A": ("institution", HOSP_A), "institution-B": ("institution", HOSP_B),
    "person": ("person", PERSON.psn_no), "other-person": ("person", OTHER.psn_no),
    "agency-440300": ("agency", SZ), "agency-440100": ("agency", GZ), "centre": ("centre", "440000"),
    "anonymous": None,
}


@dataclass
class World:
    platform: Platform
    ids: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        who = ROLES[role]
        return {} if who is None else {"Authorization": f"Bearer {issue(TOKEN_KEY.encode(), who[0], who[1])}"}

    def request(self, role: str, method: str, path: str, json: Any = None) -> httpx.Response:
        return httpx.request(method, self.platform.url + path.format(**self.ids), json=json,
                             headers=self.headers(role), timeout=60)


@dataclass(frozen=True)
class Resource:
    """`read` is asked by every role: `owners` must get 2xx (and see `marker` when it is a list), the others a
    refusal, or — for a list open to their kind (`lists`) — a list without `marker`. `write`, when given, is asked by
    every role but the owners and must be refused; `unchanged` then says the thing is as it was."""

    name: str
    read: tuple[str, str]
    owners: frozenset[str]
    marker: str = ""
    lists: frozenset[str] = frozenset()
    write: tuple[str, str, dict[str, Any] | None] | None = None


PLATFORM_RESOURCES = [
    Resource("person's mutual-aid grant", ("GET", "/api/v1/me/mutual-aid/{grant_id}/usage"), frozenset({"person"}),
             write=("DELETE", "/api/v1/me/mutual-aid/{grant_id}", None)),
    Resource("person's mutual-aid list", ("GET", "/api/v1/me/mutual-aid"), frozenset({"person"}),
             marker="{person}", lists=frozenset({"other-person"})),
    Resource("person's filings", ("GET", "/api/v1/me/filings"), frozenset({"person"}), marker="{person}",
             lists=frozenset({"other-person"}),
             write=("POST", "/api/v1/me/filings/{filing_id}/change", {"memo": "hijacked"})),
    Resource("institution's declarations", ("GET", "/api/v1/institution/declarations"),
             frozenset({"institution-A"}), marker="{decl_id}", lists=frozenset({"institution-B"})),
    Resource("institution's report", ("GET", "/api/v1/institution/reports/{month}/declaration-1"),
             frozenset({"institution-A"})),
    Resource("region's declarations", ("GET", "/api/v1/agency/declarations?setl_ym={month}"),
             frozenset({"agency-440300"}), marker="{decl_id}", lists=frozenset({"agency-440100"})),
    Resource("region's declaration report", ("GET", "/api/v1/agency/declarations/{decl_id}/reports/declaration-1"),
             frozenset({"agency-440300"}),
             write=("POST", "/api/v1/agency/declarations/{decl_id}/finish", None)),
    Resource("region's suspensions", ("GET", "/api/v1/agency/suspensions"), frozenset({"agency-440300"}),
             marker="{gz_person}", lists=frozenset({"agency-440100"}),
             write=("POST", "/api/v1/agency/suspensions/{suspension_id}/lift", {"reason": "lifted by a stranger"})),
    Resource("region's filings", ("GET", "/api/v1/agency/filings"), frozenset({"agency-440300"}),
             marker="{person}", lists=frozenset({"agency-440100"}),
             write=("DELETE", "/api/v1/agency/filings/{filing_id}", None)),
    Resource("region's mutual aid", ("GET", "/api/v1/agency/mutual-aid"), frozenset({"agency-440300"}),
             marker="{person}", lists=frozenset({"agency-440100"}),
             write=("POST", "/api/v1/agency/mutual-aid/{grant_id}/end", {"reason": "ended by a stranger"})),
    Resource("region's person's diseases", ("GET", "/api/v1/agency/diseases/{person}"),
             frozenset({"agency-440300"}),
             write=("POST", "/api/v1/agency/accounts/{person}/close", {"status": "closed"})),
    Resource("region's trial balance", ("GET", "/api/v1/agency/ledger/trial-balance?month={month}"),
             frozenset({"agency-440300"}), marker='"region":"440300"', lists=frozenset({"agency-440100"})),
    Resource("centre's ledger", ("GET", "/api/v1/centre/ledger"), frozenset({"centre"}),
             write=("POST", "/api/v1/centre/clearing/{month}", None)),
    Resource("centre's suspensions", ("GET", "/api/v1/centre/suspensions"), frozenset({"centre"}),
             marker="{gz_person}"),
    Resource("person's complaints", ("GET", "/api/v1/me/complaints"), frozenset({"person"}), marker=COMPLAINT,
             lists=frozenset({"other-person"})),
    Resource("region's complaints", ("GET", "/api/v1/agency/complaints"), frozenset({"agency-440100"}),
             marker=COMPLAINT, lists=frozenset({"agency-440300"}),
             write=("POST", "/api/v1/agency/complaints/{complaint_id}/accept", None)),
]


def _visit(desk: Desk) -> dict[str, str]:
    reg = desk.ok("2201", {"data": {"psn_no": PERSON.psn_no, "insutype": "310", "begntime": f"{DAY} 09:00:00",
                                    "mdtrt_cert_type": "02", "mdtrt_cert_no": PERSON.certno, "ipt_otp_no": "AZ-1"}})
    mdtrt_id = reg["data"]["mdtrt_id"]
    desk.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": PERSON.psn_no, "med_type": "11",
                                   "begntime": f"{DAY} 09:00:00"}, "diseinfo": []})
    desk.ok("2204", {"feedetail": [{"feedetl_sn": "AZ1", "mdtrt_id": mdtrt_id, "psn_no": PERSON.psn_no,
                                    "chrg_bchno": "AZB", "fee_ocur_time": f"{DAY} 09:30:00",
                                    "med_list_codg": DRUG, "medins_list_codg": "A", "det_item_fee_sumamt": "50.00",
                                    "cnt": "1", "pric": "50.00"}]})
    envelope = desk.envelope("2207", {"data": {
        "psn_no": PERSON.psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": PERSON.certno, "med_type": "11",
        "medfee_sumamt": "50.00", "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "AZB",
        "acct_used_flag": "1", "insutype": "310", "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00",
        "preselfpay_amt": "0.00", "inscp_scp_amt": "50.00"}})
    _status, answer = desk.post(wire.encode(envelope))
    assert answer.get("infcode") == 0, answer.get("err_msg")
    return {"setl_id": answer["output"]["setlinfo"]["setl_id"], "mdtrt_id": mdtrt_id, "msgid": envelope["msgid"]}


@pytest.fixture(scope="module")
def platform_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("authz-platform")
    doc = world([PERSON, OTHER, GZ_PERSON, KID], [(PERSON, KID, "300.00")], today=DAY)
    with served_platform("postgresql", doc, tmp, request.config, workers=1, label="authz") as platform:
        w = World(platform, {"person": PERSON.psn_no, "gz_person": GZ_PERSON.psn_no, "month": MONTH})
        with platform.books.engine.connect() as conn:
            from sqlalchemy import text

            w.ids["grant_id"] = str(conn.execute(text("select id from mutual_aid_authorizations")).scalar_one())
        filed = w.request("person", "POST", "/api/v1/me/filings",
                          {"type": "long_term_resident", "dest_admdvs": GZ, "start": DAY, "end": "2026-12-31"})
        assert filed.status_code == 201, filed.text
        w.ids["filing_id"] = str(filed.json()["id"])
        declared = w.request("institution-A", "POST", "/api/v1/institution/declarations", {"setl_ym": MONTH})
        assert declared.status_code == 201, declared.text
        w.ids["decl_id"] = str(declared.json()["decl_id"])
        suspended = w.request("agency-440300", "POST", "/api/v1/agency/suspensions",
                              {"psn_no": GZ_PERSON.psn_no, "reason": "authz matrix"})
        assert suspended.status_code == 201, suspended.text
        w.ids["suspension_id"] = str(suspended.json()["id"])
        complained = w.request("person", "POST", "/api/v1/me/complaints",
                               {"fixmedins_code": GZ_HOSP, "content": COMPLAINT})
        assert complained.status_code == 201, complained.text
        w.ids["complaint_id"] = str(complained.json()["id"])
        desk = Desk(platform.url, HOSP_A)
        try:
            w.ids.update(_visit(desk))
        finally:
            desk.close()
        yield w


def _cells(resources: list[Resource], roles: list[str]) -> list[Any]:
    return [pytest.param(r, role, id=f"{r.name.replace(' ', '-')}:{role}") for r in resources for role in roles]


def judge(figures: Callable[..., None], owner: bool, read: httpx.Response, marker: str, listed: bool,
          write: httpx.Response | None, unchanged: bool) -> None:
    """Record the cell, then assert it."""
    leak = False
    if not owner:
        if listed:
            leak = read.status_code < 300 and marker in read.text
        else:
            leak = read.status_code < 300
        leak = leak or (write is not None and (write.status_code < 300 or not unchanged))
    denied = owner and not (200 <= read.status_code < 300 and (not marker or marker in read.text))
    figures("authz", cells=1, leaks=int(leak), denied=int(denied))
    assert read.status_code < 500 and (write is None or write.status_code < 500), (read.text, write and write.text)
    wrote = "-" if write is None else f"{write.status_code} {write.text[:200]}"
    assert not leak, f"someone else reached it: read {read.status_code} {read.text[:200]}; write {wrote}"
    assert not denied, f"the owner was refused: {read.status_code} {read.text[:200]}"
    if not owner and not (listed and read.status_code < 300):
        assert read.status_code in REFUSED, (read.status_code, read.text[:200])
    if write is not None:
        assert write.status_code in REFUSED, (write.status_code, write.text[:200])


@pytest.mark.parametrize(("resource", "role"), _cells(PLATFORM_RESOURCES, list(ROLES)))
def test_platform_api_cell(platform_world: World, resource: Resource, role: str, figures: Any) -> None:
    w = platform_world
    owner = role in resource.owners
    listed = role in resource.lists
    marker = resource.marker.format(**w.ids)
    before = w.request(next(iter(resource.owners)), *resource.read).text
    write = None if owner or resource.write is None else w.request(role, *resource.write)
    after = w.request(next(iter(resource.owners)), *resource.read).text
    read = w.request(role, *resource.read)
    judge(figures, owner, read, marker, listed, write, before == after)


# -- the gateway: another institution's settlement -----------------------------------------------------------------

INSTITUTION_ROLES = {"institution-A": HOSP_A, "institution-B": HOSP_B, "institution-GZ": GZ_HOSP}


#: 5203/5204 read institution A's settlement; 2208 cancels it and 2601 reverses the message that made it. Only A's
#: own 5203/5204 are asked of A: its own 2208/2601 would end the settlement the other cells look at.
GATEWAY_CELLS = [pytest.param(role, infno, id=f"{infno}:{role}") for role in INSTITUTION_ROLES
                 for infno in ("5203", "5204", "2208", "2601") if role != "institution-A" or infno in ("5203", "5204")]


@pytest.mark.parametrize(("role", "infno"), GATEWAY_CELLS)
def test_gateway_cell_of_institution_as_settlement(platform_world: World, role: str, infno: str,
                                                  figures: Any) -> None:
    w = platform_world
    owner = role == "institution-A"
    ids = w.ids
    inputs = {"5203": {"data": {"psn_no": PERSON.psn_no, "setl_id": ids["setl_id"], "mdtrt_id": ids["mdtrt_id"]}},
              "5204": {"data": {"psn_no": PERSON.psn_no, "setl_id": ids["setl_id"], "mdtrt_id": ids["mdtrt_id"]}},
              "2208": {"data": {"psn_no": PERSON.psn_no, "setl_id": ids["setl_id"], "mdtrt_id": ids["mdtrt_id"]}},
              "2601": {"data": {"psn_no": PERSON.psn_no, "omsgid": ids["msgid"], "oinfno": "2207"}}}
    desk = Desk(w.platform.url, INSTITUTION_ROLES[role])
    try:
        insuplc = PERSON.admdvs if desk.admdvs != PERSON.admdvs else ""
        answer = desk.client.call(infno, inputs[infno], insuplc)
    finally:
        desk.close()
    [row] = w.platform.books.settlements(setl_id=ids["setl_id"])
    text = wire.encode(answer).decode("utf-8")
    if owner:
        leak, denied = False, answer.get("infcode") != 0
    else:
        # 2601 of a msgid this institution never sent is "nothing to reverse" by design: it must touch nothing
        shown = answer.get("infcode") == 0 and (infno != "2601" or ids["setl_id"] in text)
        leak, denied = shown or row.status != "settled", False
    figures("authz", cells=1, leaks=int(leak), denied=int(denied))
    assert not leak, f"{role} {infno} on A's settlement: {text[:300]}; the settlement is {row.status}"
    assert not denied, text[:300]


# -- the hospital: a patient's things ------------------------------------------------------------------------------

HOSPITAL_ROLES = ["staff", "patient", "other-patient", "anonymous"]


@dataclass
class Ward:
    stack: HospitalStack
    ids: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        if role == "staff":
            return self.stack.headers("staff", "authz01")
        if role == "patient":
            return self.stack.headers("patient", self.ids["patient"])
        if role == "other-patient":
            return self.stack.headers("patient", self.ids["other"])
        return {}

    def request(self, role: str, method: str, path: str, json: Any = None) -> httpx.Response:
        return httpx.request(method, self.stack.url + path.format(**self.ids), json=json, headers=self.headers(role),
                             timeout=60)


HOSPITAL_RESOURCES = [
    Resource("patient's record", ("GET", "/patients/{patient}"), frozenset({"staff", "patient"}),
             write=("POST", "/patients/{patient}/codes", {"health_code": "EHC-STOLEN"})),
    Resource("patient's registrations", ("GET", "/patients/{patient}/registrations"), frozenset({"staff", "patient"}),
             marker="{registration}"),
    Resource("patient's registration", ("GET", "/registrations/{registration}"), frozenset({"staff", "patient"}),
             write=("POST", "/registrations/{registration}/refund", {"reason": "stolen refund"})),
    Resource("patient's bills", ("GET", "/patients/{patient}/bills?status=paid"), frozenset({"staff", "patient"}),
             marker="{bill}"),
    Resource("patient's bill", ("GET", "/bills/{bill}"), frozenset({"staff", "patient"})),
    Resource("patient's payments", ("GET", "/patients/{patient}/payments"), frozenset({"staff", "patient"}),
             marker="{payment}"),
    Resource("patient's payment", ("GET", "/payments/{payment}"), frozenset({"staff", "patient"}),
             write=("POST", "/payments/{payment}/cancel", None)),
    Resource("patient's slip", ("GET", "/slips/{setl_id}.html"), frozenset({"staff", "patient"})),
    Resource("patient's slip as PDF", ("GET", "/slips/{setl_id}.pdf"), frozenset({"staff", "patient"})),
    Resource("patient's deposit", ("GET", "/patients/{patient}/deposit"), frozenset({"staff", "patient"})),
    Resource("patient's notices", ("GET", "/patients/{patient}/notices"), frozenset({"staff", "patient"})),
]


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ward]:
    with hospital_stack(tmp_path_factory.mktemp("authz-hospital")) as stack:
        staff = stack.headers("staff", "authz01")
        with httpx.Client(base_url=stack.url, headers=staff, timeout=60) as http:
            cert = DEMO_INSURED["certno"]
            pid = http.post("/patients", json={"name": DEMO_INSURED["name"], "certno": cert, "mdtrt_cert_type": "02",
                                               "mdtrt_cert_no": cert}).json()["patient_id"]
            other = http.post("/patients", json={"name": "乙", "certno": "440301199202021020"}).json()["patient_id"]
            slot = next(s for d in http.get("/doctors").json() for s in d["slots"] if s["day"] == TODAY)
            reg = http.post("/registrations", json={"patient_id": pid, "slot_id": slot["slot_id"]})
            assert reg.status_code == 201, reg.text
            bill = reg.json()["fee_bill"]["bill_no"]
            paid = http.post("/payments", json={"patient_id": pid, "bill_nos": [bill], "channel": "card",
                                                "terminal": "desk", "acct_used_flag": "0"})
            assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
        yield Ward(stack, {"patient": str(pid), "other": str(other), "registration": str(reg.json()["registration_id"]),
                           "bill": bill, "payment": paid.json()["payment_no"],
                           "setl_id": paid.json()["insurance"]["setl_id"]})


@pytest.mark.parametrize(("resource", "role"), _cells(HOSPITAL_RESOURCES, HOSPITAL_ROLES))
def test_hospital_api_cell(ward: Ward, resource: Resource, role: str, figures: Any) -> None:
    owner = role in resource.owners
    marker = resource.marker.format(**ward.ids)
    before = ward.request("staff", *resource.read).text
    write = None if owner or resource.write is None else ward.request(role, *resource.write)
    after = ward.request("staff", *resource.read).text
    read = ward.request(role, *resource.read)
    judge(figures, owner, read, marker, False, write, before == after)
