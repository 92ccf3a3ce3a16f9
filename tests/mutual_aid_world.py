"""The mutual-aid world of test_mutual_aid_scenarios.py and test_mutual_aid_api.py: the conformance dataset
(outpatient_world.py) with a second and a third Shanxi region, a pharmacy, provincial-qualified hospitals and more
families; the JSON API beside the wire (`Api`), reads of the books and the HIS side of pharmacy and inpatient."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from outpatient_world import (
    His,
    Hub,
    Visit_,
    base_doc,
    id_card,
    person,
    policy,
    region,
)
from sqlalchemy import select

from yibao.api.tokens import issue, signing_key
from yibao.app import create_app
from yibao.dataset.loader import load_document
from yibao.store.db import Store
from yibao.store.models import (
    Account,
    AccountEntry,
    BankInstruction,
    MutualAidAuthorization,
    MutualAidEvent,
    Settlement,
)

D = Decimal
ZERO = D("0.00")


# -- the world -----------------------------------------------------------------------------------------

TY, DT, YQ, HF, HF2, SZ = "140100", "140200", "140300", "340100", "340200", "440300"
TY_HOSP, TY_PROV, TY_PHARM = "H14010000101", "H14010000102", "P14010000101"
DT_HOSP, DT_LOCAL, YQ_HOSP, HF_HOSP = "H14020000101", "H14020000102", "H14030000101", "H34010000101"

TY_PARENT = "14010000000000000101"   # employee, 3000.00; grants: TY_CHILD (child, quota 1000.00), TY_SPOUSE
TY_CHILD = "14010000000000000102"    # resident (390), example B
TY_SPOUSE = "14010000000000000103"   # employee, own 50.00, the outpatient deductible met this year
TY_POOR = "14010000000000000104"     # employee, exactly 1000.00
TY_RICH = "14010000000000000105"     # employee, 1000.01
TY_KID2 = "14010000000000000106"     # resident, no authorization yet
TY_FAR = "14010000000000000107"      # employee insured here whose account is kept in 140300 (no bookkeeping)
DT_PARENT = "14020000000000000101"   # Datong employee, 2000.00
DT_CHILD = "14020000000000000102"    # Datong resident
YQ_PARENT = "14030000000000000101"   # Yangquan employee, 2000.00 (140300 does no account bookkeeping)
YQ_CHILD = "14030000000000000102"    # Yangquan resident; granted by TY_PARENT
MOTHER = "34010000000000000101"      # Hefei employee, 2000.00; grant: SON (child, no quota)
SON = "34010000000000000102"         # Hefei employee, own 40.00, example C
HF_SUSP = "34010000000000000103"     # Hefei resident whose employee insurance is suspended: account 300.00
HF_WIFE = "34010000000000000104"     # Hefei employee, 800.00
HF_MAT = "34010000000000000105"      # Hefei maternity-insured (510)
HF_OUT = "34010000000000000106"      # Hefei resident, benefits suspended
HF_RES = "34010000000000000107"      # Hefei resident (390)
SZ_EMP = "44030000000000000101"      # Shenzhen employee (another province)

FAMILY: dict[str, str] = {}          # Hefei relatives for the relation limits, filled below

YEAR_WINDOW = {"start": "2026-01-01", "end": "2026-12-31"}


#: Taiyuan's rules that differ by region (太原 并医险中心字〔2022〕126号 一, 五(一), 五(二))
TAIYUAN_SETTINGS = {"arrears_blocks_mutual_aid": True, "resident_mutual_aid_med_types": ["11", "41"],
                    "mutual_aid_beneficiary_insutypes": ["310", "390"]}
#: Hefei's (合肥 合医管〔2019〕97号 一: both insured in the city itself)
HEFEI_SETTINGS = {"mutual_aid_scope": "region"}


def taiyuan_like(admdvs: str, name: str, resident_ratio: str, **extra: Any) -> dict[str, Any]:
    """A Shanxi region: resident general outpatient / pharmacy / chronic / inpatient, employee outpatient /
    pharmacy; the resident outpatient ratio differs by region so that the insured region's policy shows."""
    return region(admdvs, name, [
        policy("390", "0.00", resident_ratio, "800.00"),
        policy("390", "0.00", "0.00", "0.00", med_types=("41",), bucket="pharmacy"),
        policy("390", "0.00", "0.60", "5000.00", med_types=("14",), bucket="chronic"),
        policy("390", "200.00", "0.70", "100000.00", scope="policy", med_types=("21",), bucket="inpatient"),
        policy("310", "100.00", "0.60", "5000.00"),
        policy("310", "0.00", "0.00", "0.00", med_types=("41",), bucket="pharmacy"),
    ], **extra)


def hospital(code: str, admdvs: str, xregion: str = "none", kind: str = "hospital") -> dict[str, Any]:
    return {"code": code, "name": f"示例{kind}{code[-3:]}", "admdvs": admdvs, "kind": kind,
            "level": "2" if kind == "hospital" else None, "xregion": xregion, "internet": False,
            "secret": f"secret-{code.lower()}"}


def cert(area: str, born: str, seq: int, female: bool = False) -> str:
    """A checksum-valid ID card number; the 17th digit is odd for a man, even for a woman."""
    seq = seq * 2 + (0 if female else 1)
    return id_card(f"{area}{born}{seq:03d}")


def world_doc() -> dict[str, Any]:
    doc = base_doc()
    doc["regions"] = [
        taiyuan_like(TY, "太原市(示例)", "0.50"),
        taiyuan_like(DT, "大同市(示例)", "0.40"),
        taiyuan_like(YQ, "阳泉市(示例)", "0.50", acct_bookkeeping=False),
        region(HF, "合肥市(示例)", [policy("310", "0.00", "0.50", "800.00"), policy("390", "0.00", "0.50", "800.00")]),
        region(HF2, "芜湖市(示例)", [policy("310", "0.00", "0.50", "800.00")]),
        region(SZ, "深圳市(示例)", [policy("310", "100.00", "0.60", "5000.00")]),
    ]
    doc["regions"][0]["mutual_aid"]["authorizer_min_balance"] = "1000.00"  # Taiyuan 二
    doc["regions"][0]["settings"] = copy.deepcopy(TAIYUAN_SETTINGS)
    doc["regions"][3]["settings"] = copy.deepcopy(HEFEI_SETTINGS)
    doc["institutions"] = [
        hospital(TY_HOSP, TY), hospital(TY_PROV, TY, "provincial"), hospital(TY_PHARM, TY, kind="pharmacy"),
        hospital(DT_HOSP, DT, "provincial"), hospital(DT_LOCAL, DT), hospital(YQ_HOSP, YQ, "provincial"),
        hospital(HF_HOSP, HF),
    ]
    emp, res = "1101", "1402"
    doc["persons"] = [
        person(TY_PARENT, "太父", cert("140101", "19700101", 1), "310", TY, emp, "3000.00"),
        person(TY_CHILD, "太童", cert("140101", "20180101", 2, True), "390", TY, res),
        person(TY_SPOUSE, "太妻", cert("140101", "19720101", 3, True), "310", TY, emp, "50.00",
               used={"outpatient": {"deductible": "100.00", "fund": "0.00"}}),
        person(TY_POOR, "太穷", cert("140101", "19750101", 4), "310", TY, emp, "1000.00"),
        person(TY_RICH, "太富", cert("140101", "19760101", 5), "310", TY, emp, "1000.01"),
        person(TY_KID2, "太幼", cert("140101", "20190101", 6), "390", TY, res),
        {**person(TY_FAR, "太远", cert("140101", "19800101", 7), "310", TY, emp),
         "account": {"balance": "500.00", "admdvs": YQ}},
        person(DT_PARENT, "同父", cert("140201", "19700101", 1), "310", DT, emp, "2000.00"),
        person(DT_CHILD, "同童", cert("140201", "20180101", 2, True), "390", DT, res),
        person(YQ_PARENT, "阳父", cert("140301", "19700101", 1), "310", YQ, emp, "2000.00"),
        person(YQ_CHILD, "阳童", cert("140301", "20180101", 2, True), "390", YQ, res),
        person(MOTHER, "合母", cert("340101", "19720101", 1, True), "310", HF, emp, "2000.00"),
        person(SON, "合子", cert("340101", "19950101", 2), "310", HF, emp, "40.00"),
        {**person(HF_SUSP, "合停", cert("340101", "19850101", 3), "390", HF, "1501"),
         "account": {"balance": "300.00", "admdvs": HF, "from_suspended_employment": True}},
        person(HF_WIFE, "合妻", cert("340101", "19730101", 4, True), "310", HF, emp, "800.00"),
        person(HF_MAT, "合产", cert("340101", "19960101", 5, True), "510", HF, "1101"),
        person(HF_OUT, "合停保", cert("340101", "19600101", 6), "390", HF, "1501", suspended=True),
        person(HF_RES, "合居", cert("340101", "19610101", 7), "390", HF, "1501"),
        person(SZ_EMP, "深甲", cert("440301", "19900101", 1), "310", SZ, emp, "500.00"),
    ]
    for i, (role, born) in enumerate([("spouse", "19710202"), ("father", "19450303"), ("mother", "19460404"),
                                      ("child1", "19980505"), ("child2", "20000606"), ("child3", "20020707"),
                                      ("child4", "20040808"), ("child5", "20060909"), ("spouse2", "19740101"),
                                      ("father2", "19440101"), ("mother2", "19470101")], start=20):
        psn_no = f"340100000000000001{i:02d}"
        FAMILY[role] = psn_no
        doc["persons"].append(person(psn_no, f"合{role}", cert("340101", born, i, role.startswith("mother")),
                                     "390", HF, "1501"))
    doc["mutual_aid"] = [
        {"authorizer": TY_PARENT, "beneficiary": TY_CHILD, "relation": "child", "quota": "1000.00",
         **YEAR_WINDOW, "priority": 1},
        {"authorizer": TY_PARENT, "beneficiary": TY_SPOUSE, "relation": "spouse", "quota": None, **YEAR_WINDOW},
        {"authorizer": TY_PARENT, "beneficiary": YQ_CHILD, "relation": "child", "quota": None, **YEAR_WINDOW},
        {"authorizer": MOTHER, "beneficiary": SON, "relation": "child", "quota": None, **YEAR_WINDOW,
         "priority": 1},
    ]
    return doc


class World(Hub):
    """The platform in-process over world_doc(), with the JSON API beside the wire."""

    def load(self, change: Any = None) -> World:  # type: ignore[override]
        doc = world_doc()
        if change:
            change(doc)
        load_document(self.store, doc)
        self.doc = doc
        self.http = TestClient(create_app(self.store))
        self.api = Api(self.store, self.http)
        return self


# -- the JSON API as a person or an agency sees it -----------------------------------------------------

COMMITMENT = {"version": "HF-2019-97-v1", "accepted_at": "2026-03-16T08:30:00"}


class Api:
    def __init__(self, store: Store, http: TestClient):
        self.http = http
        self.key = signing_key(store)

    def auth(self, subject: str, kind: str = "person") -> dict[str, str]:
        return {"Authorization": f"Bearer {issue(self.key, kind, subject)}"}

    def bind(self, me: str, beneficiary: str, relation: str, *, quota: str | None = None, start: str = "2026-01-01",
             end: str | None = "2026-12-31", priority: int | None = None, **extra: Any) -> Response:
        body = {"beneficiary_psn_no": beneficiary, "relation": relation, "quota": quota, "start": start,
                "end": end, "priority": priority, "commitment": COMMITMENT, **extra}
        return self.http.post("/api/v1/me/mutual-aid", headers=self.auth(me), json=body)

    def bound(self, me: str, beneficiary: str, relation: str, **kw: Any) -> dict[str, Any]:
        reply = self.bind(me, beneficiary, relation, **kw)
        assert reply.status_code == 201, reply.text
        return dict(reply.json())

    def change(self, me: str, grant_id: int, **fields: Any) -> Response:
        return self.http.patch(f"/api/v1/me/mutual-aid/{grant_id}", headers=self.auth(me), json=fields)

    def unbind(self, me: str, grant_id: int) -> Response:
        return self.http.delete(f"/api/v1/me/mutual-aid/{grant_id}", headers=self.auth(me))

    def mine(self, me: str) -> dict[str, Any]:
        reply = self.http.get("/api/v1/me/mutual-aid", headers=self.auth(me))
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    def usage(self, me: str, grant_id: int) -> Response:
        return self.http.get(f"/api/v1/me/mutual-aid/{grant_id}/usage", headers=self.auth(me))

    def agency_list(self, admdvs: str, status: str | None = None) -> Response:
        return self.http.get("/api/v1/agency/mutual-aid", headers=self.auth(admdvs, "agency"),
                             params={"status": status} if status else None)

    def agency_end(self, admdvs: str, grant_id: int, reason: str = "found false") -> Response:
        return self.http.post(f"/api/v1/agency/mutual-aid/{grant_id}/end", headers=self.auth(admdvs, "agency"),
                              json={"reason": reason})

    def transfer(self, admdvs: str, psn_no: str, to: str) -> Response:
        return self.http.post(f"/api/v1/agency/persons/{psn_no}/transfer", headers=self.auth(admdvs, "agency"),
                              json={"to_admdvs": to})

    def close(self, admdvs: str, psn_no: str, status: str) -> Response:
        return self.http.post(f"/api/v1/agency/accounts/{psn_no}/close", headers=self.auth(admdvs, "agency"),
                              json={"status": status})


def refusal(reply: Response) -> str:
    """A refused act: HTTP 422, a problem (docs/api.md) of type refused, detail "<field>: <rule with its figures>"."""
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.headers
    body = reply.json()
    assert body["type"] == "urn:yibao:problem:refused" and body["status"] == 422, body
    return str(body["detail"])


# -- reading the books ---------------------------------------------------------------------------------

def balance_1101(his: His, who: dict[str, Any]) -> Decimal:
    """The account balance the platform shows an institution (1101 insuinfo.balc)."""
    out = his.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"]}}, who["admdvs"])
    return D(out["output"]["insuinfo"][0]["balc"])


def balances(store: Store) -> dict[str, Decimal]:
    with store.unit_of_work() as s:
        return {a.psn_no: a.balance for a in s.scalars(select(Account))}


def grant_of(store: Store, authorizer: str, beneficiary: str) -> MutualAidAuthorization:
    with store.unit_of_work() as s:
        return s.scalars(select(MutualAidAuthorization).where(
            MutualAidAuthorization.authorizer == authorizer, MutualAidAuthorization.beneficiary == beneficiary)
            .order_by(MutualAidAuthorization.id.desc())).first()  # type: ignore[return-value]


def entries(store: Store, *setl_ids: str) -> list[tuple[str, str, Decimal, int | None, str | None]]:
    """The journal of settlements / refunds: (psn_no, kind, amount, authorization_id, beneficiary_psn_no)."""
    with store.unit_of_work() as s:
        rows = s.scalars(select(AccountEntry).where(AccountEntry.setl_id.in_(setl_ids)).order_by(AccountEntry.id))
        return [(e.psn_no, e.kind, e.amount, e.authorization_id, e.beneficiary_psn_no) for e in rows]


def bank(store: Store, *setl_ids: str) -> list[tuple[str, str, str, Decimal, str | None]]:
    """Bank instructions: (code, account holder, account region, amount, beneficiary when mutual aid)."""
    with store.unit_of_work() as s:
        rows = s.scalars(select(BankInstruction).where(BankInstruction.setl_id.in_(setl_ids))
                         .order_by(BankInstruction.journal_id))
        return [(b.code, b.psn_no, b.acct_admdvs, b.amount, b.beneficiary_psn_no) for b in rows]


def events(store: Store, psn_no: str) -> list[tuple[int | None, str]]:
    with store.unit_of_work() as s:
        return [(e.authorization_id, e.kind) for e in s.scalars(
            select(MutualAidEvent).where(MutualAidEvent.psn_no == psn_no).order_by(MutualAidEvent.id))]


def reversal_of(store: Store, setl_id: str) -> str:
    with store.unit_of_work() as s:
        return str(s.scalars(select(Settlement.setl_id).where(Settlement.init_setl_id == setl_id)).one())


def aid_fields(info: dict[str, Any]) -> tuple[str, str, str]:
    return info["acct_admdvs"], info["acct_mulaid_admdvs"], info["insu_admdvs"]


# -- the HIS side: pharmacy and inpatient --------------------------------------------------------------

def drug_lines(items: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [{"feedetl_sn": f"D{i}", "fee_ocur_time": "2026-03-16 10:00:00", "med_list_codg": code,
             "medins_list_codg": "P-" + code, "det_item_fee_sumamt": str((D(pric) * D(cnt)).quantize(D("0.01"))),
             "cnt": cnt, "pric": pric} for i, (code, pric, cnt) in enumerate(items, 1)]


def pharmacy_input(who: dict[str, Any], items: list[tuple[str, str, str]], med_type: str = "41",
                   acct_used_flag: str = "1") -> dict[str, Any]:
    total = sum((D(p) * D(c)).quantize(D("0.01")) for _code, p, c in items)
    return {"druginfo": {"psn_no": who["psn_no"], "mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"],
                         "begntime": "2026-03-16 10:00:00", "medfee_sumamt": str(total), "insutype": who["insutype"],
                         "acct_used_flag": acct_used_flag, "med_type": med_type},
            "drugdetail": drug_lines(items)}


def inpatient_stay(his: His, who: dict[str, Any], items: list[tuple[str, str, str]], ipt_no: str) -> dict[str, Any]:
    """Admit, upload, discharge; the 2304 input that settles the stay."""
    ins = who["admdvs"]
    mdtrt_id = his.ok("2401", {"mdtrtinfo": {"psn_no": who["psn_no"], "insutype": who["insutype"],
                                             "begntime": "2026-03-10 08:00:00", "mdtrt_cert_type": "02",
                                             "mdtrt_cert_no": who["certno"], "med_type": "21", "ipt_no": ipt_no},
                               "diseinfo": []}, ins)["output"]["result"]["mdtrt_id"]
    rows = his.ok("2301", {"feedetail": [
        {"feedetl_sn": f"{ipt_no}-{i}", "init_feedetl_sn": "", "mdtrt_id": mdtrt_id, "psn_no": who["psn_no"],
         "fee_ocur_time": "2026-03-11 09:00:00", "med_list_codg": code, "medins_list_codg": "H-" + code,
         "det_item_fee_sumamt": str((D(pric) * D(cnt)).quantize(D("0.01"))), "cnt": cnt, "pric": pric}
        for i, (code, pric, cnt) in enumerate(items, 1)]}, ins)["output"]["result"]
    his.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": who["psn_no"], "endtime": "2026-03-15 10:00:00",
                                 "dscg_way": "1"}, "diseinfo": []}, ins)

    def total(key: str) -> str:
        return str(sum((D(r[key]) for r in rows), ZERO))

    return {"data": {"psn_no": who["psn_no"], "mdtrt_cert_type": "02", "medfee_sumamt": total("det_item_fee_sumamt"),
                     "mdtrt_id": mdtrt_id, "insutype": who["insutype"], "acct_used_flag": "1", "mid_setl_flag": "0",
                     "fulamt_ownpay_amt": total("fulamt_ownpay_amt"), "overlmt_selfpay": total("overlmt_amt"),
                     "preselfpay_amt": total("preselfpay_amt"), "inscp_scp_amt": total("inscp_scp_amt")}}


def settle_visit(his: His, who: dict[str, Any], items: list[tuple[str, str, str]], infno: str = "2207A",
                 med_type: str = "11", dise_codg: str = "") -> tuple[Visit_, dict[str, Any]]:
    visit = his.visit(who, items, med_type=med_type, dise_codg=dise_codg)
    answer = visit.settle(infno)
    return visit, answer
