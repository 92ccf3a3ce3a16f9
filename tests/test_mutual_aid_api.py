"""The family mutual-aid JSON API (/api/v1, docs/mutual_aid.md) and its CLI (`yibao mutual-aid`, `yibao person
transfer`, `yibao account close`, `yibao token`), end to end on SQLite and PostgreSQL.

Tokens; binding by psn_no or by ID number and name with the commitment (承诺书) recorded; every establishment
refusal with its rule and figures; changes by the authorizer (quota, window) and the beneficiary (priority);
unbinding, effective for the very next settlement; what a person may list and see; usage (draws, refunds,
events); the agency's region; automatic ending on transfer and account closing.

The world is the scenario world of mutual_aid_world.py (Taiyuan, Datong, Yangquan, Hefei, Shenzhen),
with mutual aid switched off in Shenzhen.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from mutual_aid_world import (
    COMMITMENT,
    DT,
    DT_PARENT,
    HF,
    HF_HOSP,
    HF_OUT,
    HF_RES,
    HF_WIFE,
    MOTHER,
    SON,
    SZ,
    SZ_EMP,
    TY,
    TY_CHILD,
    TY_HOSP,
    TY_KID2,
    TY_PARENT,
    TY_POOR,
    TY_RICH,
    TY_SPOUSE,
    YQ_CHILD,
    World,
    cert,
    entries,
    events,
    refusal,
    reversal_of,
)
from outpatient_world import EXAMPLE_B, check_amounts, one_of, person
from sqlalchemy import func, select
from typer.testing import CliRunner

from yibao.api.tokens import issue
from yibao.cli import app as cli_app
from yibao.store.db import Store
from yibao.store.models import Account, MutualAidAuthorization, MutualAidEvent

D = Decimal
SZ_KID = "44030000000000000102"   # a Shenzhen resident: Shenzhen has not opened mutual aid in this world
DATASET_GRANTS = 4                # TY_PARENT -> TY_CHILD, TY_SPOUSE, YQ_CHILD; MOTHER -> SON


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)


def _shenzhen_without_mutual_aid(doc: dict[str, Any]) -> None:
    next(r for r in doc["regions"] if r["admdvs"] == SZ)["mutual_aid"]["enabled"] = False
    doc["persons"].append(person(SZ_KID, "深童", cert("440301", "20170101", 2), "390", SZ, "1402"))


@pytest.fixture
def world(store: Store) -> World:
    return World(store).load(_shenzhen_without_mutual_aid)


def grants_and_events(store: Store) -> tuple[int, int]:
    with store.unit_of_work() as s:
        return (s.scalar(select(func.count()).select_from(MutualAidAuthorization)) or 0,
                s.scalar(select(func.count()).select_from(MutualAidEvent)) or 0)


def grant_row(store: Store, grant_id: int) -> MutualAidAuthorization:
    with store.unit_of_work() as s:
        row = s.get(MutualAidAuthorization, grant_id)
        assert row is not None
        return row


def event_rows(store: Store, grant_id: int) -> list[MutualAidEvent]:
    with store.unit_of_work() as s:
        return list(s.scalars(select(MutualAidEvent).where(MutualAidEvent.authorization_id == grant_id)
                              .order_by(MutualAidEvent.id)))


def dataset_grant(world: World, authorizer: str, beneficiary: str) -> int:
    found = [g["id"] for g in world.api.mine(authorizer)["as_authorizer"] if g["beneficiary"] == beneficiary]
    assert len(found) == 1
    return int(found[0])


# -- tokens ----------------------------------------------------------------------------------------------

def test_tokens_missing_wrong_signature_expired_or_of_the_wrong_kind_are_refused(world: World) -> None:
    http, api = world.http, world.api
    me = "/api/v1/me/mutual-aid"

    def status(headers: dict[str, str] | None, path: str = me) -> tuple[int, str]:
        reply = http.get(path, headers=headers)
        return reply.status_code, str(reply.json().get("detail", ""))

    assert status(None) == (401, "a bearer token is required (yibao token person PSN_NO / agency ADMDVS)")
    assert status({"Authorization": "Bearer not-a-token"}) == (401, "malformed token")
    forged = issue(b"another platform's key", "person", MOTHER)
    assert status({"Authorization": f"Bearer {forged}"}) == (401, "token signature does not match")
    expired = issue(api.key, "person", MOTHER, days=-1)
    assert status({"Authorization": f"Bearer {expired}"}) == (401, "token expired")
    # the right kind of token for each route
    assert status(api.auth(HF, "agency")) == (403, "this operation is an insured person's own")
    assert status(api.auth(MOTHER), "/api/v1/agency/mutual-aid") == (403, "this operation is for agency staff")
    assert http.get(f"{me}/1/usage").status_code == 401
    assert http.patch(f"{me}/1", json={"priority": 1}).status_code == 401
    assert http.delete(f"{me}/1").status_code == 401
    assert http.post(me, json={}).status_code == 401
    assert status(api.auth(MOTHER)) == (200, "")
    assert grants_and_events(world.store) == (DATASET_GRANTS, 0)


# -- binding ---------------------------------------------------------------------------------------------

def test_bind_by_psn_no_records_the_commitment(world: World) -> None:
    reply = world.api.bind(MOTHER, HF_WIFE, "spouse", quota="500.00", start="2026-03-16", end="2026-12-31",
                           priority=2)
    assert reply.status_code == 201, reply.text
    made = reply.json()
    assert {k: made[k] for k in ("authorizer", "beneficiary", "relation", "quota", "quota_used", "quota_left",
                                 "start", "end", "priority", "status", "in_force", "commitment_version",
                                 "committed_at", "source")} == {
        "authorizer": MOTHER, "beneficiary": HF_WIFE, "relation": "spouse", "quota": "500.00",
        "quota_used": "0.00", "quota_left": "500.00", "start": "2026-03-16", "end": "2026-12-31", "priority": 2,
        "status": "active", "in_force": True, "commitment_version": COMMITMENT["version"],
        "committed_at": COMMITMENT["accepted_at"], "source": "api"}
    row = grant_row(world.store, made["id"])
    assert (row.commitment_version, row.committed_at, row.quota) == (
        "HF-2019-97-v1", datetime(2026, 3, 16, 8, 30), D("500.00"))
    assert row.created_at.date().isoformat() == "2026-03-16"  # the business date
    [bound] = event_rows(world.store, made["id"])
    assert (bound.kind, bound.psn_no, bound.actor) == ("bound", MOTHER, f"person:{MOTHER}")
    assert bound.detail == {"beneficiary": HF_WIFE, "relation": "spouse", "quota": "500.00", "start": "2026-03-16",
                            "end": "2026-12-31", "commitment_version": "HF-2019-97-v1"}
    # no quota: the whole balance is available; no end: open-ended
    made = world.api.bound(MOTHER, HF_RES, "father", end=None)
    assert (made["quota"], made["quota_left"], made["end"]) == (None, None, None)


def test_bind_by_certno_and_name(world: World) -> None:
    api, wife = world.api, world.who(HF_WIFE)
    body = {"relation": "spouse", "start": "2026-01-01", "commitment": COMMITMENT}
    reply = api.http.post("/api/v1/me/mutual-aid", headers=api.auth(MOTHER),
                          json={**body, "beneficiary_certno": wife["certno"].lower(), "beneficiary_name": wife["name"]})
    assert reply.status_code == 201, reply.text
    assert reply.json()["beneficiary"] == HF_WIFE

    def bind(**who: Any) -> str:
        return refusal(api.http.post("/api/v1/me/mutual-aid", headers=api.auth(MOTHER), json={**body, **who}))

    assert bind(beneficiary_certno=wife["certno"], beneficiary_name="别人") == (
        "beneficiary_certno: no insured person with this ID number and name")
    assert bind(beneficiary_certno=wife["certno"]) == (
        "beneficiary_psn_no: name the beneficiary by psn_no, or by beneficiary_certno and name")
    assert bind(beneficiary_psn_no="34010000000000009999") == "beneficiary: no insured person 34010000000000009999"
    # the commitment is required, with a version and the moment it was accepted (schema errors: 422 too)
    for commitment in (None, {"version": "", "accepted_at": "2026-03-16T08:30:00"}, {"version": "v1"}):
        reply = api.http.post("/api/v1/me/mutual-aid", headers=api.auth(MOTHER),
                              json={**body, "beneficiary_psn_no": HF_RES, "commitment": commitment})
        assert reply.status_code == 422 and "commitment" in reply.text, reply.text
    reply = api.http.post("/api/v1/me/mutual-aid", headers=api.auth(MOTHER),
                          json={**body, "beneficiary_psn_no": HF_RES, "quota": 100.5})
    assert reply.status_code == 422, "a JSON float is not an amount"
    assert grants_and_events(world.store) == (DATASET_GRANTS + 1, 1)


def test_every_establishment_refusal_names_its_rule_and_figures(world: World) -> None:
    api = world.api
    cases = [
        (TY_POOR, TY_KID2, "child", {}, f"authorizer: balance 1000.00 must exceed 1000.00 in region {TY}"),
        (HF_RES, MOTHER, "child", {}, "authorizer: must be an employee (310) with normal insurance; is 390; "
                                      "authorizer: has no open personal account"),
        (SZ_EMP, SZ_KID, "child", {}, f"authorizer: region {SZ} has not opened family mutual aid"),
        (TY_RICH, SZ_EMP, "spouse", {}, "beneficiary: insured in province 44, the authorizer in 14: both must be "
                                        "in the same province"),
        (MOTHER, HF_OUT, "father", {}, "beneficiary: benefits are suspended: the beneficiary's status must be "
                                       "normal"),
        (MOTHER, MOTHER, "self", {}, "beneficiary: no self-authorization: only a person whose employee insurance "
                                     "is suspended may use that account for his own resident-insurance costs "
                                     "(Hefei 二)"),
        (MOTHER, MOTHER, "spouse", {}, "beneficiary: no self-authorization: only a person whose employee insurance "
                                       "is suspended may use that account for his own resident-insurance costs "
                                       "(Hefei 二); relation: an authorization of oneself has relation self"),
        (MOTHER, SON, "child", {}, "beneficiary: an active authorization for this beneficiary already exists"),
        (MOTHER, HF_WIFE, "spouse", {"start": "2026-03-01", "end": "2026-02-01"},
         "end: the window ends (2026-02-01) before it starts (2026-03-01)"),
        (MOTHER, HF_WIFE, "spouse", {"quota": "0.00"}, "quota: must be above 0 or none; is 0.00"),
        (MOTHER, HF_WIFE, "cousin", {}, "relation: must be one of spouse, father, mother, child, self"),
    ]
    for authorizer, beneficiary, relation, extra, rule in cases:
        assert refusal(api.bind(authorizer, beneficiary, relation, **extra)) == rule
    assert grants_and_events(world.store) == (DATASET_GRANTS, 0)  # nothing written by any refusal


# -- changing --------------------------------------------------------------------------------------------

def test_change_quota_and_window_by_the_authorizer_priority_by_the_beneficiary(world: World) -> None:
    api = world.api
    grant_id = api.bound(MOTHER, HF_WIFE, "spouse", quota="100.00")["id"]
    reply = api.change(MOTHER, grant_id, quota="300.00", start="2026-02-01", end="2026-06-30")
    assert reply.status_code == 200, reply.text
    assert {k: reply.json()[k] for k in ("quota", "start", "end")} == {"quota": "300.00", "start": "2026-02-01",
                                                                       "end": "2026-06-30"}
    changed = event_rows(world.store, grant_id)[-1]
    assert (changed.kind, changed.actor) == ("changed", f"person:{MOTHER}")
    assert changed.detail == {"quota_before": "100.00", "start_before": "2026-01-01", "end_before": "2026-12-31",
                              "quota": "300.00", "start": "2026-02-01", "end": "2026-06-30"}
    assert api.change(HF_WIFE, grant_id, priority=3).json()["priority"] == 3
    refused = {
        (HF_WIFE, '{"quota": "50.00"}'): "quota: only the authorizer changes quota and window; the beneficiary "
                                         "may set the priority",
        (HF_WIFE, '{"end": "2026-12-31"}'): "end: only the authorizer changes quota and window; the beneficiary "
                                            "may set the priority",
        (MOTHER, '{"end": "2026-01-31"}'): "end: the window ends (2026-01-31) before it starts (2026-02-01)",
        (MOTHER, '{"quota": "-5.00"}'): "quota: must be above 0 or none; is -5.00",
        (MOTHER, "{}"): "body: name at least one of quota, start, end, priority",
    }
    for (who, body), rule in refused.items():
        assert refusal(api.change(who, grant_id, **json.loads(body))) == rule
    assert api.change(MOTHER, grant_id, relation="child").status_code == 422  # not a changeable field
    assert api.change(SON, grant_id, priority=1).status_code == 404  # not his
    row = grant_row(world.store, grant_id)
    assert (row.quota, row.start.isoformat(), row.end and row.end.isoformat(), row.priority) == (
        D("300.00"), "2026-02-01", "2026-06-30", 3)


def test_the_beneficiarys_priority_orders_the_authorizers(world: World) -> None:
    api, his, son = world.api, world.his(HF_HOSP), world.who(SON)
    mother_grant = dataset_grant(world, MOTHER, SON)  # priority 1
    wife_grant = api.bound(HF_WIFE, SON, "mother")["id"]  # no priority: after every numbered one
    info = one_of(his.visit(son, EXAMPLE_B).settle("2207A"))
    assert [(e[0], e[2]) for e in entries(world.store, info["setl_id"])] == [(SON, D("-40.00")),
                                                                            (MOTHER, D("-90.00"))]
    assert api.change(SON, wife_grant, priority=0).status_code == 200
    info = one_of(his.visit(son, EXAMPLE_B).settle("2207A"))
    check_amounts(info, {"acct_pay": "130.00", "acct_mulaid_pay": "130.00"})
    assert [(e[0], e[2], e[3]) for e in entries(world.store, info["setl_id"])] == [
        (HF_WIFE, D("-130.00"), wife_grant)]
    assert grant_row(world.store, mother_grant).quota_used == D("90.00")


# -- unbinding -------------------------------------------------------------------------------------------

def test_unbind_is_the_authorizers_act_and_takes_effect_at_once(world: World) -> None:
    api, his = world.api, world.his(HF_HOSP)
    grant_id = dataset_grant(world, MOTHER, SON)
    visit = his.visit(world.who(SON), EXAMPLE_B)
    check_amounts(one_of(visit.presettle("2206A")), {"acct_mulaid_pay": "90.00", "psn_cash_pay": "0.00"})

    assert refusal(api.unbind(SON, grant_id)) == "id: unbinding is the authorizer's act"
    reply = api.unbind(MOTHER, grant_id)
    assert reply.status_code == 200, reply.text
    assert {k: reply.json()[k] for k in ("status", "in_force", "end_reason")} == {
        "status": "ended", "in_force": False, "end_reason": "unbound by the authorizer"}
    # the very next settlement, of the visit pre-settled a moment ago, has no mutual aid
    check_amounts(one_of(visit.settle("2207A")), {"acct_pay": "40.00", "acct_mulaid_pay": "0.00",
                                                  "psn_cash_pay": "90.00"})
    assert world.api.mine(SON)["as_beneficiary"][0]["status"] == "ended"
    assert refusal(api.unbind(MOTHER, grant_id)).startswith(f"id: authorization {grant_id} has already ended")
    assert api.unbind(TY_PARENT, grant_id).status_code == 404
    assert [e.kind for e in event_rows(world.store, grant_id)] == ["unbound"]


# -- what a person sees ----------------------------------------------------------------------------------

def test_list_mine_as_authorizer_and_as_beneficiary_shows_only_mine(world: World) -> None:
    api = world.api
    api.bound(SON, MOTHER, "mother")

    def pairs(listing: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(g["authorizer"], g["beneficiary"]) for g in listing]

    mine = api.mine(MOTHER)
    assert (pairs(mine["as_authorizer"]), pairs(mine["as_beneficiary"])) == ([(MOTHER, SON)], [(SON, MOTHER)])
    mine = api.mine(SON)
    assert (pairs(mine["as_authorizer"]), pairs(mine["as_beneficiary"])) == ([(SON, MOTHER)], [(MOTHER, SON)])
    mine = api.mine(TY_PARENT)
    assert (pairs(mine["as_authorizer"]), mine["as_beneficiary"]) == (
        [(TY_PARENT, TY_CHILD), (TY_PARENT, TY_SPOUSE), (TY_PARENT, YQ_CHILD)], [])
    assert api.mine(HF_WIFE) == {"as_authorizer": [], "as_beneficiary": []}


def test_usage_lists_the_draws_and_refunds_of_a_settlement_and_its_cancellation_and_the_events(
        world: World) -> None:
    api, his, kid = world.api, world.his(TY_HOSP), world.who(TY_KID2)
    grant_id = api.bound(TY_PARENT, TY_KID2, "child", quota="500.00")["id"]
    api.change(TY_PARENT, grant_id, quota="400.00")
    visit = his.visit(kid, EXAMPLE_B)
    first = one_of(visit.settle("2207A"))["setl_id"]
    visit.cancel(first)
    again = one_of(visit.settle("2207A"))["setl_id"]
    refund = reversal_of(world.store, first)

    for who in (TY_PARENT, TY_KID2):  # the authorizer and the beneficiary both see it
        reply = api.usage(who, grant_id)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert [(m["kind"], m["amount"], m["setl_id"], m["beneficiary"]) for m in body["movements"]] == [
            ("mutual_aid", "-130.00", first, TY_KID2), ("refund", "130.00", refund, TY_KID2),
            ("mutual_aid", "-130.00", again, TY_KID2)]
        assert body["drawn"] == "130.00"
        assert (body["authorization"]["quota_used"], body["authorization"]["quota_left"]) == ("130.00", "270.00")
        assert [(e["kind"], e["actor"]) for e in body["events"]] == [("bound", f"person:{TY_PARENT}"),
                                                                      ("changed", f"person:{TY_PARENT}")]
    # somebody else's authorization is not found, whoever asks
    assert api.usage(MOTHER, grant_id).status_code == 404
    assert api.usage(TY_CHILD, grant_id).status_code == 404
    assert api.usage(TY_KID2, dataset_grant(world, TY_PARENT, TY_CHILD)).status_code == 404


# -- agency staff ----------------------------------------------------------------------------------------

def test_agency_lists_and_ends_its_regions_authorizations_only(world: World) -> None:
    api = world.api
    api.bound(DT_PARENT, TY_KID2, "child")  # the authorizer insured in Datong, the beneficiary in Taiyuan

    def listed(admdvs: str, status: str | None = None) -> list[tuple[str, str]]:
        reply = api.agency_list(admdvs, status)
        assert reply.status_code == 200, reply.text
        return [(g["authorizer"], g["beneficiary"]) for g in reply.json()]

    assert listed(HF) == [(MOTHER, SON)]
    assert listed(TY) == [(TY_PARENT, TY_CHILD), (TY_PARENT, TY_SPOUSE), (TY_PARENT, YQ_CHILD)]
    assert listed(DT) == [(DT_PARENT, TY_KID2)]
    son_grant = dataset_grant(world, MOTHER, SON)
    ty_grant = dataset_grant(world, TY_PARENT, TY_CHILD)

    assert api.agency_end(HF, ty_grant).status_code == 404  # another region's
    reply = api.agency_end(HF, son_grant, "the commitment was false (Hefei 六)")
    assert reply.status_code == 200, reply.text
    assert (reply.json()["status"], reply.json()["end_reason"]) == ("ended", "the commitment was false (Hefei 六)")
    [ended] = event_rows(world.store, son_grant)
    assert (ended.kind, ended.actor, ended.detail) == ("ended_by_agency", f"agency:{HF}",
                                                       {"reason": "the commitment was false (Hefei 六)"})
    assert listed(HF, "active") == [] and listed(HF, "ended") == [(MOTHER, SON)]
    assert refusal(api.agency_end(HF, son_grant)).startswith(f"id: authorization {son_grant} has already ended")
    assert api.http.post(f"/api/v1/agency/mutual-aid/{son_grant}/end", headers=api.auth(HF, "agency"),
                         json={"reason": ""}).status_code == 422  # a reason is required
    assert grant_row(world.store, ty_grant).status == "active"


def test_transfer_and_account_close_end_every_authorization_of_the_authorizer(world: World) -> None:
    api = world.api
    ty_grants = [g["id"] for g in api.mine(TY_PARENT)["as_authorizer"]]
    assert api.transfer(HF, TY_PARENT, DT).status_code == 404  # not of the agency's region
    assert refusal(api.transfer(TY, TY_PARENT, "999999")) == "to_admdvs: region 999999 is not defined"
    assert refusal(api.transfer(TY, TY_PARENT, TY)) == f"to_admdvs: the person is already insured in {TY}"
    reply = api.transfer(TY, TY_PARENT, DT)
    assert reply.json() == {"psn_no": TY_PARENT, "admdvs": DT, "authorizations_ended": 3}
    for grant_id in ty_grants:
        row = grant_row(world.store, grant_id)
        assert (row.status, row.end_reason) == ("ended", f"insurance moved from {TY} to {DT}")
        assert [(e.kind, e.actor) for e in event_rows(world.store, grant_id)] == [
            ("ended_by_transfer", f"agency:{TY}")]
    assert events(world.store, TY_PARENT)[-1] == (None, "transferred")
    assert api.transfer(TY, TY_PARENT, TY).status_code == 404  # now Datong's person

    son_grant = dataset_grant(world, MOTHER, SON)
    assert refusal(api.close(HF, HF_RES, "closed")) == f"psn_no: person {HF_RES} has no personal account"
    assert api.close(HF, MOTHER, "frozen").status_code == 422
    reply = api.close(HF, MOTHER, "closed")
    assert reply.json() == {"psn_no": MOTHER, "status": "closed", "authorizations_ended": 1}
    assert [e.kind for e in event_rows(world.store, son_grant)] == ["ended_by_account_closed"]
    assert events(world.store, MOTHER)[-1] == (None, "account_closed")
    with world.store.unit_of_work() as s:
        account = s.get(Account, MOTHER)
        assert account is not None and (account.status, account.balance) == ("closed", D("2000.00"))
    # a closed account cannot authorize again
    assert refusal(api.bind(MOTHER, HF_WIFE, "spouse")) == "authorizer: has no open personal account"


# -- the CLI ---------------------------------------------------------------------------------------------

@pytest.fixture
def cli(world: World, database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("YIBAO_DATABASE_URL", database_url)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0) -> Any:
    result = cli.invoke(cli_app, list(args))
    assert result.exit_code == code, (args, result.output)
    if code:
        assert result.stdout == "", result.stdout
        return result.stderr.strip()
    out = result.stdout.strip()
    return json.loads(out, parse_float=D) if out.startswith("{") else out


def test_cli_tokens_bind_list_change_unbind_usage(world: World, cli: CliRunner) -> None:
    token = run(cli, "token", "person", MOTHER)
    assert world.http.get("/api/v1/me/mutual-aid", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    token = run(cli, "token", "agency", HF, "--days", "1")
    assert world.http.get("/api/v1/agency/mutual-aid", headers={"Authorization": f"Bearer {token}"}).json()[0][
        "authorizer"] == MOTHER

    made = run(cli, "mutual-aid", "bind", MOTHER, HF_WIFE, "--relation", "spouse", "--start", "2026-01-01",
               "--end", "2026-12-31", "--quota", "500.00", "--commitment-version", "HF-2019-97-v1")
    grant_id = made["id"]
    assert (made["authorizer"], made["beneficiary"], made["quota"], made["status"], made["commitment_version"]) == (
        MOTHER, HF_WIFE, D("500.00"), "active", "HF-2019-97-v1")
    assert run(cli, "mutual-aid", "bind", TY_POOR, TY_KID2, "--relation", "child", "--start", "2026-01-01",
               "--commitment-version", "v1", code=1) == (
        f"authorizer: balance 1000.00 must exceed 1000.00 in region {TY}")
    assert run(cli, "mutual-aid", "bind", MOTHER, HF_RES, "--relation", "father", "--start", "2026-05-01", "--end",
               "2026-04-01", "--commitment-version", "v1", code=1) == (
        "end: the window ends (2026-04-01) before it starts (2026-05-01)")

    assert run(cli, "mutual-aid", "bind", MOTHER, HF_RES, "--relation", "father", "--start", "2026-01-01",
               "--commitment-version", "", code=1) == (
        "commitment_version: the authorizer must accept the commitment (承诺书) text")

    listing = run(cli, "mutual-aid", "list", MOTHER)
    assert [(g["beneficiary"], g["relation"]) for g in listing["as_authorizer"]] == [(SON, "child"),
                                                                                      (HF_WIFE, "spouse")]
    assert run(cli, "mutual-aid", "list", HF_WIFE)["as_beneficiary"][0]["id"] == grant_id

    changed = run(cli, "mutual-aid", "change", str(grant_id), "--as", MOTHER, "--quota", "600.00",
                  "--start", "2026-01-02", "--end", "2026-09-30")
    assert (changed["quota"], changed["start"], changed["end"]) == (D("600.00"), "2026-01-02", "2026-09-30")
    assert run(cli, "mutual-aid", "change", str(grant_id), "--as", HF_WIFE, "--quota", "1.00", code=1) == (
        "quota: only the authorizer changes quota and window; the beneficiary may set the priority")
    assert run(cli, "mutual-aid", "change", str(grant_id), "--as", HF_WIFE, "--priority", "2")["priority"] == 2
    assert run(cli, "mutual-aid", "change", str(grant_id), "--as", MOTHER, "--quota", "none")["quota"] is None

    assert run(cli, "mutual-aid", "unbind", str(grant_id), "--as", HF_WIFE, code=1) == (
        "id: unbinding is the authorizer's act")
    assert run(cli, "mutual-aid", "unbind", str(grant_id), "--as", MOTHER)["status"] == "ended"
    assert run(cli, "mutual-aid", "unbind", str(grant_id), "--as", MOTHER, code=1).startswith(
        f"id: authorization {grant_id} has already ended")
    assert run(cli, "mutual-aid", "unbind", "99999", "--as", MOTHER, code=1) == "id: no authorization 99999"

    # usage: a settlement drawn on the mother for her son, then the events of the spouse's authorization
    son_grant = dataset_grant(world, MOTHER, SON)
    setl_id = one_of(world.his(HF_HOSP).visit(world.who(SON), EXAMPLE_B).settle("2207A"))["setl_id"]
    used = run(cli, "mutual-aid", "usage", str(son_grant))
    assert [(m["kind"], m["amount"], m["setl_id"], m["beneficiary"]) for m in used["movements"]] == [
        ("mutual_aid", D("-90.00"), setl_id, SON)]
    used = run(cli, "mutual-aid", "usage", str(grant_id))
    assert used["movements"] == []
    assert [(e["kind"], e["actor"]) for e in used["events"]] == [
        ("bound", "cli"), ("changed", f"person:{MOTHER}"), ("changed", f"person:{HF_WIFE}"),
        ("changed", f"person:{MOTHER}"), ("unbound", f"cli:{MOTHER}")]


def test_cli_person_transfer_and_account_close(world: World, cli: CliRunner) -> None:
    assert run(cli, "person", "transfer", TY_PARENT, "--to", DT) == (
        f"{TY_PARENT} now insured in {DT}; 3 authorization(s) ended")
    assert [g["status"] for g in world.api.mine(TY_PARENT)["as_authorizer"]] == ["ended"] * 3
    assert run(cli, "person", "transfer", "NOSUCHPERSON", "--to", DT, code=1) == (
        "psn_no: no insured person NOSUCHPERSON")
    assert run(cli, "person", "transfer", SON, "--to", "999999", code=1) == "to_admdvs: region 999999 is not defined"

    assert run(cli, "account", "close", MOTHER, "--status", "withdrawn") == (
        f"account of {MOTHER} withdrawn; 1 authorization(s) ended")
    assert events(world.store, MOTHER)[-2:] == [(dataset_grant(world, MOTHER, SON), "ended_by_account_withdrawn"),
                                                (None, "account_withdrawn")]
    assert run(cli, "account", "close", MOTHER, code=1) == "psn_no: the account is already withdrawn"
    assert run(cli, "account", "close", SON, "--status", "frozen", code=1) == "status: must be closed or withdrawn"
    assert run(cli, "account", "close", SON) == f"account of {SON} closed; 0 authorization(s) ended"


def test_an_unknown_authorization_looks_like_someone_elses(store):
    """404 either way: a person cannot probe which authorization ids exist."""
    from helpers import WORLD, Platform

    from yibao.api.tokens import issue, signing_key
    from yibao.dataset.loader import load_file

    load_file(store, WORLD)
    http = Platform(store).http
    auth = {"Authorization": "Bearer " + issue(signing_key(store), "person", "44030000000000000002")}
    assert http.get("/api/v1/me/mutual-aid/999999/usage", headers=auth).status_code == 404
    assert http.get("/api/v1/me/mutual-aid/1/usage", headers=auth).status_code == 200  # his own
    other = {"Authorization": "Bearer " + issue(signing_key(store), "person", "44010000000000000001")}
    assert http.get("/api/v1/me/mutual-aid/1/usage", headers=other).status_code == 404
