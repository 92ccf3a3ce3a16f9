"""Cross-region filing (异地备案) scenario by scenario: made through the JSON API (person, agency) and the wire
(2505/2506), and proved by settlements through the wire (2201-2207 outpatient, 2401-2304 inpatient).

Rules: rules.md section 6; seed 004 art. 6-9 (types, validity, changes as new versions; Jieyang: referral at most
3 months); seed 003 异地备案登记 (Shenzhen as insured region: no filing in-province, cross-province always; a province
code means every institution of the province; dialysis is filed to one institution).

The validity is the visit's: an outpatient visit is covered on its registration day (2201 begntime), a stay on its
admission day (2401 begntime), whenever it is settled. The business date moves with YIBAO_TODAY, and every visit
begins on the business day it is made.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from outpatient_world import His, Hub, Visit_, check_amounts, id_card, one_of, person, policy, region
from sqlalchemy import select

from yibao.api.tokens import issue, signing_key
from yibao.app import create_app
from yibao.dataset.loader import load_document
from yibao.store.db import Store
from yibao.store.models import Filing

D = Decimal
ZERO = D("0.00")

TY, GZ, SZ, JY, HK, SY = "140100", "440100", "440300", "445200", "460100", "460200"
TY_HOSP = "H14010000201"                                    # Taiyuan, national
GZ_HOSP, GZ_HOSP2 = "H44010000201", "H44010000202"          # Guangzhou, national
SZ_HOSP, SZ_HOSP2, SZ_PROV = "H44030000201", "H44030000202", "H44030000203"  # Shenzhen: national, national, provincial
HK_HOSP, HK_HOSP2, SY_HOSP = "H46010000201", "H46010000202", "H46020000201"  # Haikou ×2, Sanya: national

TY_A, TY_B, TY_C = "14010000000000000201", "14010000000000000202", "14010000000000000203"
GZ_A, SZ_A, JY_A = "44010000000000000201", "44030000000000000201", "44520000000000000201"

ITEMS = [("EX-DRUG-A", "50.00", "2")]  # 甲 100.00: in scope whole


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)


# -- the world -----------------------------------------------------------------------------------------

def insured_region(admdvs: str, name: str, **extra: Any) -> dict[str, Any]:
    """A region whose employees have outpatient and inpatient benefits (the policies of the insured region)."""
    return region(admdvs, name, [
        policy("310", "0.00", "0.50", "5000.00"),
        policy("310", "0.00", "0.70", "100000.00", scope="policy", med_types=("21",), bucket="inpatient"),
    ], **extra)


def hospital(code: str, admdvs: str, xregion: str) -> dict[str, Any]:
    return {"code": code, "name": f"示例医院{code[-5:]}", "admdvs": admdvs, "kind": "hospital", "level": "3",
            "xregion": xregion, "internet": False, "secret": f"secret-{code.lower()}"}


def world_doc() -> dict[str, Any]:
    return {
        "today": "2026-03-16",
        "regions": [
            insured_region(TY, "太原市(示例)", referral_filing_max_days=None),
            insured_region(GZ, "广州市(示例)"),
            insured_region(SZ, "深圳市(示例)"),                 # seed 003: no in-province filing for its insured
            insured_region(JY, "揭阳市(示例)", inprov_outpatient_filing_required=True),  # referral 90 days
            insured_region(HK, "海口市(示例)"),
            insured_region(SY, "三亚市(示例)"),
        ],
        "institutions": [
            hospital(TY_HOSP, TY, "national"), hospital(GZ_HOSP, GZ, "national"), hospital(GZ_HOSP2, GZ, "national"),
            hospital(SZ_HOSP, SZ, "national"), hospital(SZ_HOSP2, SZ, "national"), hospital(SZ_PROV, SZ, "provincial"),
            hospital(HK_HOSP, HK, "national"), hospital(HK_HOSP2, HK, "national"), hospital(SY_HOSP, SY, "national"),
        ],
        "persons": [
            person(TY_A, "太甲", id_card("14010119700101201"), "310", TY, "1101", "1000.00"),
            person(TY_B, "太乙", id_card("14010119710101203"), "310", TY, "1101", "1000.00"),
            person(TY_C, "太丙", id_card("14010119720101205"), "310", TY, "1101", "1000.00"),
            person(GZ_A, "广甲", id_card("44010119800101201"), "310", GZ, "1101", "1000.00"),
            person(SZ_A, "深甲", id_card("44030119800101203"), "310", SZ, "1101", "1000.00"),
            person(JY_A, "揭甲", id_card("44520119600101205"), "310", JY, "1101", "1000.00"),
        ],
        "mutual_aid": [],
        "filings": [],
    }


class World(Hub):
    """The platform over world_doc(): hospitals speaking the wire, persons and agencies the JSON API."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch):
        super().__init__(store)
        self.mp = monkeypatch
        self._stays = 0

    def load(self, change: Any = None) -> World:  # type: ignore[override]
        doc = world_doc()
        if change:
            change(doc)
        load_document(self.store, doc)
        self.doc = doc
        self.http = TestClient(create_app(self.store))
        self.key = signing_key(self.store)
        return self

    # -- the clock
    def on(self, day: str | date) -> str:
        """Move the business date; the hospitals sign in again for the new day."""
        day = str(day)
        self.mp.setenv("YIBAO_TODAY", day)
        for his in self._his.values():
            his.client.sign_no(renew=True)
        return day

    # -- the JSON API
    def auth(self, subject: str, kind: str = "person") -> dict[str, str]:
        return {"Authorization": f"Bearer {issue(self.key, kind, subject)}"}

    def file(self, me: str, **body: Any) -> Response:
        assert self.http is not None
        return self.http.post("/api/v1/me/filings", headers=self.auth(me), json=body)

    def filed(self, me: str, **body: Any) -> dict[str, Any]:
        reply = self.file(me, **body)
        assert reply.status_code == 201, reply.text
        return dict(reply.json())

    def mine(self, me: str) -> list[dict[str, Any]]:
        assert self.http is not None
        reply = self.http.get("/api/v1/me/filings", headers=self.auth(me))
        assert reply.status_code == 200, reply.text
        return list(reply.json())

    def change(self, me: str, filing_id: int, **body: Any) -> Response:
        assert self.http is not None
        return self.http.post(f"/api/v1/me/filings/{filing_id}/change", headers=self.auth(me), json=body)

    def cancel(self, me: str, filing_id: int) -> Response:
        assert self.http is not None
        return self.http.delete(f"/api/v1/me/filings/{filing_id}", headers=self.auth(me))

    def agency_file(self, admdvs: str, **body: Any) -> Response:
        assert self.http is not None
        return self.http.post("/api/v1/agency/filings", headers=self.auth(admdvs, "agency"), json=body)

    def agency_list(self, admdvs: str, **params: Any) -> list[dict[str, Any]]:
        assert self.http is not None
        reply = self.http.get("/api/v1/agency/filings", headers=self.auth(admdvs, "agency"), params=params)
        assert reply.status_code == 200, reply.text
        return list(reply.json())

    def agency_cancel(self, admdvs: str, filing_id: int) -> Response:
        assert self.http is not None
        return self.http.delete(f"/api/v1/agency/filings/{filing_id}", headers=self.auth(admdvs, "agency"))

    # -- outpatient: registered on the business day (2201 begntime), settled with 2207
    def outpatient(self, code: str, psn_no: str) -> Visit_:
        his, who = self.his(code), self.who(psn_no)
        day = self._today()
        mdtrt_id = his.ok("2201", his.registration(who, begntime=f"{day} 09:00:00"),
                          who["admdvs"])["output"]["data"]["mdtrt_id"]
        his.visit_info(who, mdtrt_id)
        batch = f"B{his._n}"
        rows = his.upload(who, mdtrt_id, batch, ITEMS)
        return Visit_(his, who, mdtrt_id, batch, rows, "11", "0")

    def settled(self, visit: Visit_) -> dict[str, Any]:
        info = one_of(visit.settle())
        assert info["setl_id"] and info["medfee_sumamt"] == D("100.00")
        return info

    def refused(self, visit: Visit_) -> str:
        return visit.his.refused("2207", visit.data_2207(), visit.who["admdvs"])

    def seen(self, code: str, psn_no: str) -> dict[str, Any]:
        """An outpatient visit today, settled."""
        return self.settled(self.outpatient(code, psn_no))

    def turned_away(self, code: str, psn_no: str) -> str:
        """An outpatient visit today whose settlement is refused (writing nothing); the refusal."""
        return self.refused(self.outpatient(code, psn_no))

    # -- inpatient: admitted on the business day (2401 begntime), discharged later, settled with 2304
    def admit(self, code: str, psn_no: str) -> tuple[His, dict[str, Any], str]:
        his, who = self.his(code), self.who(psn_no)
        self._stays += 1
        day = self._today()
        mdtrt_id = his.ok("2401", {"mdtrtinfo": {"psn_no": psn_no, "insutype": "310", "begntime": f"{day} 08:00:00",
                                                 "mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"],
                                                 "med_type": "21", "ipt_no": f"IPT-{self._stays}"},
                                   "diseinfo": []}, who["admdvs"])["output"]["result"]["mdtrt_id"]
        line = {"feedetl_sn": f"S{self._stays}-1", "init_feedetl_sn": "", "mdtrt_id": mdtrt_id, "psn_no": psn_no,
                "fee_ocur_time": f"{day} 09:00:00", "med_list_codg": "EX-DRUG-A", "medins_list_codg": "H-EX-DRUG-A",
                "det_item_fee_sumamt": "100.00", "cnt": "2", "pric": "50.00"}
        his.ok("2301", {"feedetail": [line]}, who["admdvs"])
        return his, who, mdtrt_id

    def discharge(self, stay: tuple[His, dict[str, Any], str]) -> dict[str, Any]:
        """Discharge today; the 2304 input settling the stay."""
        his, who, mdtrt_id = stay
        his.ok("2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": who["psn_no"], "endtime": f"{self._today()} "
                                     "10:00:00", "dscg_way": "1"}, "diseinfo": []}, who["admdvs"])
        return {"data": {"psn_no": who["psn_no"], "mdtrt_cert_type": "02", "medfee_sumamt": "100.00",
                         "mdtrt_id": mdtrt_id, "insutype": "310", "acct_used_flag": "0", "mid_setl_flag": "0",
                         "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": "0.00", "preselfpay_amt": "0.00",
                         "inscp_scp_amt": "100.00"}}

    def settle_stay(self, stay: tuple[His, dict[str, Any], str], data: dict[str, Any]) -> dict[str, Any]:
        his, who, _ = stay
        info = one_of(his.ok("2304", data, who["admdvs"]))
        assert info["setl_id"] and info["medfee_sumamt"] == D("100.00")
        return info

    def stay_refused(self, stay: tuple[His, dict[str, Any], str], data: dict[str, Any]) -> str:
        his, who, _ = stay
        return his.refused("2304", data, who["admdvs"])

    @staticmethod
    def _today() -> str:
        import os

        return os.environ["YIBAO_TODAY"]


@pytest.fixture
def world(store: Store, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(store, monkeypatch).load()


@pytest.fixture
def unloaded(store: Store, monkeypatch: pytest.MonkeyPatch) -> World:
    return World(store, monkeypatch)


def refusal(reply: Response) -> str:
    """A refused act: HTTP 422, a problem (docs/api.md) of type refused, detail "<field>: <rule with its figures>"."""
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.headers
    body = reply.json()
    assert body["type"] == "urn:yibao:problem:refused" and body["status"] == 422, body
    return str(body["detail"])


def needed(kind: str, day: str, code: str) -> str:
    """The opening of the settlement refusal for a missing or non-covering filing."""
    return f"input.data.psn_no: a cross-region filing (异地备案) is needed for {kind} settlement on {day} at {code}: "


XPROV = "cross-province"


def d(day: str, plus: int) -> str:
    return str(date.fromisoformat(day) + timedelta(days=plus))


# -- validity edges of each type: the day before the start, the first day, the last day, the day after -------

@pytest.mark.parametrize(("type_", "start", "end", "via"), [
    ("retired_resettled", "2026-02-01", None, "person"),
    ("long_term_resident", "2026-02-01", "2026-07-31", "agency"),
    ("posted_worker", "2026-03-01", "2026-08-31", "person"),
    ("other", "2026-04-01", "2026-04-30", "agency"),
])
def test_validity_edges_of_each_type_in_a_cross_province_settlement(world: World, type_: str, start: str,
                                                                    end: str | None, via: str) -> None:
    """A Taiyuan employee filed to Shenzhen, treated at a Shenzhen national-qualified hospital."""
    world.on(d(start, -10))
    body = {"type": type_, "dest_admdvs": SZ, "start": start, "end": end}
    if via == "person":
        shown = world.filed(TY_A, **body)
    else:
        reply = world.agency_file(TY, psn_no=TY_A, **body)
        assert reply.status_code == 201, reply.text
        shown = reply.json()
    fid = shown["id"]
    assert (shown["type"], shown["start"], shown["end"], shown["valid_until"], shown["status"], shown["version"],
            shown["in_force"], shown["insu_admdvs"]) == (type_, start, end, end, "active", 1, False, TY)
    assert shown["filed_by"] == (f"person:{TY_A}" if via == "person" else f"agency:{TY}")

    before = world.on(d(start, -1))
    why = world.turned_away(SZ_HOSP, TY_A)
    assert why == needed(XPROV, before, SZ_HOSP) + f"filing {fid} ({type_}) starts {start}, after the visit on {before}"
    assert [f["in_force"] for f in world.mine(TY_A)] == [False]

    world.on(start)
    world.seen(SZ_HOSP, TY_A)
    assert [f["in_force"] for f in world.mine(TY_A)] == [True]

    if end is None:  # long-term valid (seed 004 art. 7 (一)): no last day
        world.on("2026-12-31")
        world.seen(SZ_HOSP2, TY_A)
        world.on("2027-06-30")
        world.seen(SZ_HOSP, TY_A)
        return
    world.on(end)
    world.seen(SZ_HOSP2, TY_A)  # anywhere in the city filed to
    after = world.on(d(end, 1))
    why = world.turned_away(SZ_HOSP, TY_A)
    assert why == needed(XPROV, after, SZ_HOSP) + f"filing {fid} ({type_}) ended {end}, before the visit on {after}"
    assert [f["in_force"] for f in world.mine(TY_A)] == [False]


# -- emergency: filed after the visit, 10 days from the first outpatient date, admissions within them ----------

def test_emergency_filing_after_the_visit_ten_days_and_an_admission_within_them(world: World) -> None:
    day = {n: str(date(2026, 4, 1) + timedelta(days=n - 1)) for n in range(0, 22)}  # day 1 = 2026-04-01

    world.on(day[0])
    eve = world.outpatient(SZ_HOSP2, TY_A)  # the day before the emergency
    world.on(day[1])
    first = world.outpatient(SZ_HOSP, TY_A)  # the emergency visit, before any filing
    assert world.refused(first) == needed(XPROV, day[1], SZ_HOSP) + "the person has no active filing"

    world.on(day[3])  # filed two days later, from the first outpatient date
    assert refusal(world.file(TY_A, type="emergency", dest_admdvs=SZ, start=day[4])) == (
        "start: a filing of type emergency (临时外出急诊) starts on the first outpatient date and may be made after "
        f"the visit, not before it: {day[4]} is after today {day[3]} (seed 004 art. 7 (五) 1)")
    assert refusal(world.file(TY_A, type="emergency", dest_admdvs=SZ, start=day[1], end=day[20])) == (
        f"end: a filing of type emergency (临时外出急诊) is valid 10 days from its start ({day[1]} to {day[10]}, "
        f"seed 004 art. 7 (五) 1); {day[20]} was given: leave it empty")
    shown = world.filed(TY_A, type="emergency", dest_admdvs=SZ, start=day[1])
    assert (shown["start"], shown["end"], shown["valid_until"], shown["in_force"]) == (day[1], day[10], day[10], True)

    world.settled(first)  # the visit of day 1, settled on day 3
    assert world.refused(eve) == needed(XPROV, day[0], SZ_HOSP2) + (
        f"filing {shown['id']} (emergency) starts {day[1]}, after the visit on {day[0]}")
    for n in range(2, 11):  # outpatient on days 2..10
        world.on(day[n])
        world.seen(SZ_HOSP, TY_A)
    stay = world.admit(SZ_HOSP, TY_A)  # admitted on day 10, the last day of the filing

    world.on(day[11])
    assert world.turned_away(SZ_HOSP2, TY_A) == needed(XPROV, day[11], SZ_HOSP2) + (
        f"filing {shown['id']} (emergency) ended {day[10]}, before the visit on {day[11]}")
    late = world.admit(SZ_HOSP2, TY_A)  # admitted on day 11: outside the ten days
    world.on(day[12])
    assert world.stay_refused(late, world.discharge(late)) == needed(XPROV, day[11], SZ_HOSP2) + (
        f"filing {shown['id']} (emergency) ended {day[10]}, before the visit on {day[11]}")

    world.on(day[20])  # the day-10 admission is covered to its end (art. 7 (五) 1)
    info = world.settle_stay(stay, world.discharge(stay))
    assert info["hifp_pay"] == D("70.00")  # the insured region's inpatient ratio 0.70
    assert [f["in_force"] for f in world.mine(TY_A)] == [False]


# -- referral: the insured region's maximum (Jieyang: 3 months, 90 days) ------------------------------------

def test_referral_capped_by_the_insured_regions_maximum_and_its_edges(world: World) -> None:
    """A Jieyang employee referred to Guangzhou (in-province; Jieyang requires in-province filing), admitted."""
    world.on("2026-03-01")
    start, last = "2026-03-02", "2026-05-30"  # 2026-03-02 + 89 days: March 30 days, April 30, May 30 = 90 days
    assert refusal(world.file(JY_A, type="referral", dest_admdvs=GZ, start=start, end="2026-05-31")) == (
        "end: a filing of type referral (异地转诊) of insured region 445200 (揭阳市(示例)) is valid at most 90 days "
        "(seed 004 art. 7 (四), the region's referral_filing_max_days): from 2026-03-02 the last day is 2026-05-30; "
        "2026-05-31 would make 91 days")
    assert refusal(world.file(JY_A, type="referral", dest_admdvs=GZ, start=start)) == (
        "end: a filing of type referral (异地转诊) needs an end: the end of the referral, within the insured "
        "region's maximum (seed 004 art. 7 (四))")
    shown = world.filed(JY_A, type="referral", dest_admdvs=GZ, start=start, end=last)
    assert (shown["valid_until"], shown["version"]) == (last, 1)
    # Taiyuan sets no maximum: a four-month referral is filed as asked
    assert world.filed(TY_A, type="referral", dest_admdvs=SZ, start=start, end="2026-06-30")["valid_until"] == \
        "2026-06-30"

    inprov = f"in-province (insured region {JY} requires it)"
    early = world.admit(GZ_HOSP, JY_A)  # admitted the day before the start
    assert world.stay_refused(early, world.discharge(early)) == needed(inprov, "2026-03-01", GZ_HOSP) + (
        f"filing {shown['id']} (referral) starts {start}, after the visit on 2026-03-01")

    world.on(start)
    first = world.admit(GZ_HOSP, JY_A)
    world.on("2026-03-05")
    world.settle_stay(first, world.discharge(first))

    world.on(last)
    long_stay = world.admit(GZ_HOSP, JY_A)  # admitted on the last day
    world.on("2026-05-31")
    over = world.admit(GZ_HOSP2, JY_A)  # admitted the day after the end
    assert world.stay_refused(over, world.discharge(over)) == needed(inprov, "2026-05-31", GZ_HOSP2) + (
        f"filing {shown['id']} (referral) ended {last}, before the visit on 2026-05-31")
    world.on("2026-06-10")
    world.settle_stay(long_stay, world.discharge(long_stay))  # discharged after the end: covered to its end


def test_referral_of_three_calendar_months(unloaded: World) -> None:
    """揭阳 揭医保〔2021〕82号: a referral filing is valid "不超3个月", three calendar months (settings.
    referral_filing_max_months, which wins over referral_filing_max_days): from 31 March the last day is 30 June
    (June has no 31st), where 90 days would end on 28 June."""
    world = unloaded.load(lambda doc: doc["regions"][3].update(settings={"referral_filing_max_months": 3}))
    world.on("2026-03-30")
    start, last = "2026-03-31", "2026-06-30"
    assert refusal(world.file(JY_A, type="referral", dest_admdvs=GZ, start=start, end="2026-07-01")) == (
        "end: a filing of type referral (异地转诊) of insured region 445200 (揭阳市(示例)) is valid at most 3 calendar "
        "month(s) (揭阳 揭医保〔2021〕82号 不超3个月, the region's settings.referral_filing_max_months): from "
        "2026-03-31 the last day is 2026-06-30; 2026-07-01 would make 93 days")
    shown = world.filed(JY_A, type="referral", dest_admdvs=GZ, start=start, end=last)
    assert shown["valid_until"] == last

    world.on("2026-06-29")  # past 90 days, within three months
    world.seen(GZ_HOSP, JY_A)
    world.on(last)
    world.seen(GZ_HOSP, JY_A)
    world.on("2026-07-01")
    assert world.turned_away(GZ_HOSP, JY_A) == needed(f"in-province (insured region {JY} requires it)", "2026-07-01",
                                                     GZ_HOSP) + (
        f"filing {shown['id']} (referral) ended {last}, before the visit on 2026-07-01")
    assert [f["valid_until"] for f in world.mine(JY_A)] == [last]


def test_referral_months_setting_is_checked_when_loading(unloaded: World) -> None:
    with pytest.raises(Exception, match=r"regions\[3\]\.settings\.referral_filing_max_months: must be a whole "
                                        r"number of months above 0"):
        unloaded.load(lambda doc: doc["regions"][3].update(settings={"referral_filing_max_months": "3"}))


# -- destinations: a province, a city, one institution --------------------------------------------------

def test_destination_by_province_city_or_one_institution(world: World) -> None:
    world.on("2026-06-01")
    province = world.filed(TY_A, type="long_term_resident", dest_admdvs="460000", start="2026-06-01",
                           end="2026-12-31")
    city = world.filed(TY_B, type="long_term_resident", dest_admdvs=HK, start="2026-06-01", end="2026-12-31")
    dialysis = world.filed(TY_C, type="long_term_resident", dest_fixmedins=HK_HOSP, start="2026-06-01",
                           end="2026-12-31", memo="血液透析")
    assert (dialysis["dest_admdvs"], dialysis["dest_fixmedins"], dialysis["memo"]) == (None, HK_HOSP, "血液透析")

    for code in (HK_HOSP, HK_HOSP2, SY_HOSP):  # 460000: every institution of Hainan (seed 003)
        world.seen(code, TY_A)
    assert world.turned_away(SZ_HOSP, TY_A) == needed(XPROV, "2026-06-01", SZ_HOSP) + (
        f"filing {province['id']} (long_term_resident) is for region 460000, not {SZ_HOSP} in {SZ}")

    world.seen(HK_HOSP2, TY_B)
    assert world.turned_away(SY_HOSP, TY_B) == needed(XPROV, "2026-06-01", SY_HOSP) + (
        f"filing {city['id']} (long_term_resident) is for region {HK}, not {SY_HOSP} in {SY}")

    world.seen(HK_HOSP, TY_C)
    assert world.turned_away(HK_HOSP2, TY_C) == needed(XPROV, "2026-06-01", HK_HOSP2) + (
        f"filing {dialysis['id']} (long_term_resident) is for institution {HK_HOSP}, not {HK_HOSP2} in {HK}")


DIALYSIS = "N18.500"


def _dialysis_world(doc: dict[str, Any]) -> None:
    """Shenzhen lists its dialysis disease codes (settings.dialysis_diseases); SZ_A is recognised for one, and
    Shenzhen's employees have a chronic/special-disease policy."""
    doc["regions"][2]["settings"] = {"dialysis_diseases": [DIALYSIS]}
    doc["regions"][2]["policies"].append(policy("310", "0.00", "0.80", "50000.00", med_types=("14",),
                                                bucket="chronic"))
    next(p for p in doc["persons"] if p["psn_no"] == SZ_A)["chronic"] = [{"code": DIALYSIS, "since": "2025-01-01"}]


def test_dialysis_is_filed_to_one_institution_and_settled_only_there(unloaded: World) -> None:
    """中山大学附属第七医院《医保移动支付开发需求书》 异地备案登记: 异地门特血液透析需备案到定点医疗机构. A Shenzhen
    employee on dialysis in Hainan: the filing for the disease names one institution, and the disease is settled across
    regions only there, even where a province-wide filing covers his other care."""
    world = unloaded.load(_dialysis_world)
    window = {"type": "long_term_resident", "start": "2026-03-16", "end": "2026-12-31"}
    assert refusal(world.file(SZ_A, **window, dest_admdvs="460000", dise_codg=DIALYSIS)) == (
        f"dest_fixmedins: a filing for {DIALYSIS}, a dialysis disease, names one institution: "
        "异地门特血液透析需备案到定点医疗机构 (中山大学附属第七医院《医保移动支付开发需求书》)")
    province = world.filed(SZ_A, **window, dest_admdvs="460000")
    dialysis = world.filed(SZ_A, **window, dest_fixmedins=HK_HOSP, dise_codg=DIALYSIS, memo="血液透析")
    assert (province["dise_codg"], dialysis["dise_codg"]) == (None, DIALYSIS)

    elsewhere = world.his(HK_HOSP2).visit(world.who(SZ_A), ITEMS, med_type="14", dise_codg=DIALYSIS)
    assert world.refused(elsewhere) == (
        f"fixmedins_code: {DIALYSIS} is a dialysis disease: across regions it is settled only at the institution the "
        f"person is filed to, and he is filed to {HK_HOSP}, not {HK_HOSP2}: 异地门特血液透析需备案到定点医疗机构 "
        "(中山大学附属第七医院《医保移动支付开发需求书》)")
    there = one_of(world.his(HK_HOSP).visit(world.who(SZ_A), ITEMS, med_type="14", dise_codg=DIALYSIS).settle())
    assert (there["med_type"], there["hifp_pay"]) == ("14", D("80.00"))
    # his general outpatient care anywhere in Hainan, under the province-wide filing
    assert world.settled(world.his(HK_HOSP2).visit(world.who(SZ_A), ITEMS))["med_type"] == "11"

    # without the institution's filing, the dialysis is settled nowhere across regions
    world.cancel(SZ_A, dialysis["id"])
    assert "he is filed to no institution" in world.refused(
        world.his(HK_HOSP).visit(world.who(SZ_A), ITEMS, med_type="14", dise_codg=DIALYSIS))


def test_a_dialysis_filing_in_the_dataset_names_one_institution(unloaded: World) -> None:
    def change(doc: dict[str, Any]) -> None:
        _dialysis_world(doc)
        doc["filings"] = [{"psn_no": SZ_A, "type": "long_term_resident", "dest_admdvs": HK, "start": "2026-03-16",
                           "end": "2026-12-31", "dise_codg": DIALYSIS}]
    with pytest.raises(Exception, match=r"filings\[0\]\.dest_fixmedins: a filing for N18\.500, a dialysis disease"):
        unloaded.load(change)


def test_account_pay_by_e_credential_across_regions_needs_it_activated(unloaded: World) -> None:
    """揭阳 揭医保〔2021〕82号 (粤医保规〔2021〕4号) art. 39: after filing, the personal account pays across regions by
    e-credential once the person has activated it. Not activated: the settlement goes through with no account pay,
    warn_msg saying why (as any other case where the account cannot pay across regions); by his social-security or
    ID card, or at home, the account pays as before. The person activates it through the API."""
    world = unloaded.load(lambda doc: next(p for p in doc["persons"] if p["psn_no"] == JY_A).update(
        ecard_activated=False))
    world.filed(JY_A, type="long_term_resident", dest_admdvs=GZ, start="2026-03-16", end="2026-12-31")
    his, who = world.his(GZ_HOSP), world.who(JY_A)
    me = world.auth(JY_A)
    assert world.http.get("/api/v1/ecredential/activation", headers=me).json() == {
        "psn_no": JY_A, "ecard_activated": False}

    def visit(cert_type: str) -> dict[str, Any]:
        cert_no = who["ecard"] if cert_type == "01" else who["certno"]
        mdtrt_id = his.ok("2201", his.registration(who, mdtrt_cert_type=cert_type, mdtrt_cert_no=cert_no),
                          JY)["output"]["data"]["mdtrt_id"]
        his.visit_info(who, mdtrt_id)
        batch = f"B{his._n}"
        rows = his.upload(who, mdtrt_id, batch, ITEMS)
        return his.ok("2207", Visit_(his, who, mdtrt_id, batch, rows, "11", "1").data_2207(
            mdtrt_cert_type=cert_type, mdtrt_cert_no=cert_no), JY)

    answer = visit("01")
    check = {"medfee_sumamt": "100.00", "hifp_pay": "50.00", "psn_part_amt": "50.00"}
    check_amounts(one_of(answer), {**check, "acct_pay": "0.00", "psn_cash_pay": "50.00"})
    assert "第三十九条" in answer["warn_msg"] and "activated" in answer["warn_msg"]
    answer = visit("02")  # by ID card: the activation is the e-credential's alone
    check_amounts(one_of(answer), {**check, "acct_pay": "50.00", "psn_cash_pay": "0.00"})

    reply = world.http.put("/api/v1/ecredential/activation", headers=me, json={"activated": True})
    assert reply.status_code == 200 and reply.json() == {"psn_no": JY_A, "ecard_activated": True}
    answer = visit("01")
    check_amounts(one_of(answer), {**check, "acct_pay": "50.00", "psn_cash_pay": "0.00"})
    assert answer["warn_msg"] == ""
    bad = world.http.put("/api/v1/ecredential/activation", headers=me, json={"activated": "maybe"})
    assert bad.status_code == 422


def test_destination_rules_at_filing_time(world: World) -> None:
    world.on("2026-06-01")
    window = {"type": "long_term_resident", "start": "2026-06-01", "end": "2026-12-31"}

    def why(**dest: Any) -> str:
        return refusal(world.file(TY_A, **window, **dest))

    assert why(dest_admdvs=HK, dest_fixmedins=HK_HOSP) == (
        f"dest_admdvs: name one destination: a province or region ({HK}) or one institution ({HK_HOSP}), not both")
    assert why() == ("dest_admdvs: name the destination: a province (xx0000) or a region in dest_admdvs, or one "
                     "institution in dest_fixmedins (e.g. dialysis)")
    assert why(dest_admdvs=TY) == (f"dest_admdvs: {TY} is inside the person's insured region {TY}: a filing is for "
                                   "treatment elsewhere")
    assert why(dest_admdvs="140105") == ("dest_admdvs: 140105 is inside the person's insured region 140100: a filing "
                                         "is for treatment elsewhere")
    assert why(dest_admdvs="460106") == "dest_admdvs: region 460106 is not a pooling region of the platform; file " \
                                        "to its pooling region 460100"
    assert why(dest_admdvs="460300") == "dest_admdvs: region 460300 is not a pooling region of the platform"
    assert why(dest_admdvs="990000") == "dest_admdvs: 990000 names no province"
    assert why(dest_admdvs="4601") == "dest_admdvs: '4601' is not a region code (6 digits)"
    assert why(dest_fixmedins=TY_HOSP) == (f"dest_fixmedins: institution {TY_HOSP} is in region {TY}, inside the "
                                           f"person's insured region {TY}: a filing is for treatment elsewhere")
    assert why(dest_fixmedins="H99") == "dest_fixmedins: no designated institution H99"
    assert why(dest_fixmedins=SZ_PROV) == (
        f"dest_fixmedins: institution {SZ_PROV} cannot serve this person: the institution's cross-region "
        "qualification is provincial; cross-province cases need national")
    assert world.mine(TY_A) == []


def test_type_rules_at_filing_time(world: World) -> None:
    world.on("2026-06-01")

    def why(type_: str, start: str = "2026-06-01", end: str | None = None, who: str = TY_A) -> str:
        return refusal(world.file(who, type=type_, dest_admdvs=SZ, start=start, end=end))

    assert why("retired_resettled", end="2026-12-31") == (
        "end: a filing of type retired_resettled (异地安置退休) is valid without end (seed 004 art. 7 (一)); "
        "2026-12-31 was given: leave it empty")
    assert why("long_term_resident") == (
        "end: a filing of type long_term_resident (异地长期居住) needs an end: the end of the residence proof or of "
        "the personal commitment (seed 004 art. 7 (二))")
    assert why("posted_worker") == (
        "end: a filing of type posted_worker (常驻异地工作) needs an end: the end of the posting proof, the work "
        "certificate or contract, or of the personal commitment (seed 004 art. 7 (三))")
    assert why("other") == (
        "end: a filing of type other (其他临时外出就医) needs an end: the end the insured region's rules give "
        "(seed 004 art. 7 (五) 2)")
    assert why("posted_worker", end="2026-05-31") == "end: 2026-05-31 is before the start 2026-06-01"
    assert why("resident") == ("type: 'resident' is not a filing type; one of retired_resettled, long_term_resident, "
                               "posted_worker, referral, emergency, other")
    # every broken rule at once
    assert refusal(world.file(TY_A, type="emergency", dest_admdvs=TY, start="2026-06-02", end="2026-06-20")) == (
        f"dest_admdvs: {TY} is inside the person's insured region {TY}: a filing is for treatment elsewhere; "
        "start: a filing of type emergency (临时外出急诊) starts on the first outpatient date and may be made after "
        "the visit, not before it: 2026-06-02 is after today 2026-06-01 (seed 004 art. 7 (五) 1); end: a filing of "
        "type emergency (临时外出急诊) is valid 10 days from its start (2026-06-02 to 2026-06-11, seed 004 art. 7 (五) "
        "1); 2026-06-20 was given: leave it empty")
    first = world.filed(TY_A, type="posted_worker", dest_admdvs=SZ, start="2026-06-01", end="2026-12-31")
    assert why("posted_worker", end="2026-09-30") == (
        f"type: filing {first['id']} already files posted_worker from 2026-06-01 to the same destination; change it "
        "(a new version) or cancel it")
    assert world.http is not None
    assert world.http.post("/api/v1/me/filings", headers=world.auth(TY, "agency"), json={}).status_code == 403
    assert world.http.get("/api/v1/agency/filings", headers=world.auth(TY_A)).status_code == 403
    assert world.http.get("/api/v1/me/filings").status_code == 401


# -- whether a filing is needed -------------------------------------------------------------------------

@pytest.mark.parametrize("required", [False, True])
def test_in_province_filing_is_the_insured_regions_setting(unloaded: World, required: bool) -> None:
    """A Guangzhou employee at a Shenzhen provincial-qualified hospital (in-province cross-region)."""

    def setting(doc: dict[str, Any]) -> None:
        next(r for r in doc["regions"] if r["admdvs"] == GZ)["inprov_outpatient_filing_required"] = required

    world = unloaded.load(setting)
    world.on("2026-06-01")
    world.seen(GZ_HOSP, SZ_A)  # Shenzhen as insured region: in-province without filing (seed 003)
    if not required:
        info = world.seen(SZ_PROV, GZ_A)
        assert info["hifp_pay"] == D("50.00")
        return
    assert world.turned_away(SZ_PROV, GZ_A) == needed(f"in-province (insured region {GZ} requires it)",
                                                      "2026-06-01", SZ_PROV) + "the person has no active filing"
    world.filed(GZ_A, type="long_term_resident", dest_admdvs=SZ, start="2026-06-01", end="2026-11-30")
    world.seen(SZ_PROV, GZ_A)


def test_cross_province_always_needs_a_filing(world: World) -> None:
    world.on("2026-06-01")
    # Taiyuan and Shenzhen need no in-province filing; across provinces they always do
    assert world.turned_away(SZ_HOSP, TY_A) == needed(XPROV, "2026-06-01", SZ_HOSP) + "the person has no active filing"
    assert world.turned_away(HK_HOSP, SZ_A) == needed(XPROV, "2026-06-01", HK_HOSP) + "the person has no active filing"
    world.seen(TY_HOSP, TY_A)  # local: no filing
    world.filed(SZ_A, type="posted_worker", dest_admdvs="460000", start="2026-06-01", end="2026-12-31")
    world.seen(HK_HOSP, SZ_A)
    world.seen(SY_HOSP, SZ_A)


# -- changes are new versions --------------------------------------------------------------------------------

def test_a_change_is_a_new_version_that_supersedes_the_old(world: World) -> None:
    world.on("2026-05-04")
    v1 = world.filed(TY_A, type="long_term_resident", dest_admdvs=SZ, start="2026-05-01", end="2026-12-31")
    world.seen(SZ_HOSP, TY_A)

    # moved to Haikou: a new version, the rest of the terms kept
    reply = world.change(TY_A, v1["id"], dest_admdvs=HK, memo="迁居海口")
    assert reply.status_code == 201, reply.text
    v2 = reply.json()
    assert (v2["version"], v2["replaces_id"], v2["dest_admdvs"], v2["type"], v2["start"], v2["end"], v2["status"]) == (
        2, v1["id"], HK, "long_term_resident", "2026-05-01", "2026-12-31", "active")
    assert [(f["id"], f["version"], f["status"], f["in_force"]) for f in world.mine(TY_A)] == [
        (v1["id"], 1, "superseded", False), (v2["id"], 2, "active", True)]
    assert world.turned_away(SZ_HOSP, TY_A) == needed(XPROV, "2026-05-04", SZ_HOSP) + (
        f"filing {v2['id']} (long_term_resident) is for region {HK}, not {SZ_HOSP} in {SZ}")
    world.seen(HK_HOSP, TY_A)
    assert refusal(world.change(TY_A, v1["id"], dest_admdvs=SY)) == (
        f"replaces_id: filing {v1['id']} is superseded: only an active filing is changed (a change is a new version "
        "of it, seed 004 art. 9)")

    # referred onwards to Sanya by the insured region's agency: version 3
    assert world.agency_file(SZ, psn_no=TY_A, type="referral", dest_admdvs=SY, start="2026-05-04",
                             end="2026-06-30", replaces_id=v2["id"]).status_code == 404
    reply = world.agency_file(TY, psn_no=TY_A, type="referral", dest_admdvs=SY, start="2026-05-04", end="2026-06-30",
                              replaces_id=v2["id"])
    assert reply.status_code == 201, reply.text
    v3 = reply.json()
    assert (v3["version"], v3["replaces_id"], v3["filed_by"]) == (3, v2["id"], f"agency:{TY}")
    world.seen(SY_HOSP, TY_A)
    assert world.turned_away(HK_HOSP, TY_A).endswith(
        f"filing {v3['id']} (referral) is for region {SY}, not {HK_HOSP} in {HK}")
    assert [(f["version"], f["status"]) for f in world.agency_list(TY, psn_no=TY_A)] == [
        (1, "superseded"), (2, "superseded"), (3, "active")]
    assert [f["id"] for f in world.agency_list(TY, status="active")] == [v3["id"]]
    assert world.agency_list(SZ) == []

    # someone else's filing is not found; another region's agency does not see it
    assert world.change(TY_B, v3["id"], dest_admdvs=HK).status_code == 404
    assert world.cancel(TY_B, v3["id"]).status_code == 404
    assert world.agency_cancel(SZ, v3["id"]).status_code == 404
    assert world.agency_file(SZ, psn_no=TY_B, type="other", dest_admdvs=HK, start="2026-05-04",
                             end="2026-05-31").status_code == 404


def test_a_cancelled_filing_no_longer_covers(world: World) -> None:
    world.on("2026-06-01")
    mine = world.filed(TY_A, type="posted_worker", dest_admdvs=SZ, start="2026-06-01", end="2026-12-31")
    world.seen(SZ_HOSP, TY_A)
    reply = world.cancel(TY_A, mine["id"])
    assert reply.status_code == 200, reply.text
    assert (reply.json()["status"], reply.json()["in_force"]) == ("cancelled", False)
    assert reply.json()["cancelled_at"].startswith("2026-06-01")
    assert world.turned_away(SZ_HOSP, TY_A) == needed(XPROV, "2026-06-01", SZ_HOSP) + "the person has no active filing"
    assert refusal(world.cancel(TY_A, mine["id"])) == (f"id: filing {mine['id']} is cancelled; only an active filing "
                                                       "is cancelled")

    # the agency files at its window and cancels
    reply = world.agency_file(TY, psn_no=TY_A, type="posted_worker", dest_admdvs=SZ, start="2026-06-01",
                              end="2026-09-30")
    assert reply.status_code == 201, reply.text
    world.seen(SZ_HOSP, TY_A)
    assert world.agency_cancel(TY, reply.json()["id"]).json()["status"] == "cancelled"
    assert world.turned_away(SZ_HOSP, TY_A).endswith("the person has no active filing")


# -- 2505 / 2506: the institution files for its patient -----------------------------------------------

def filing_2505(psn_no: str, **over: Any) -> dict[str, Any]:
    return {"data": {"psn_no": psn_no, "filing_type": "long_term_resident", "dest_admdvs": "", "dest_fixmedins": "",
                     "begndate": "2026-06-01", "enddate": "2026-10-31", "tel": "13800000000", "addr": "海口市龙华区",
                     "memo": "血液透析", **over}}


def test_2505_files_for_the_patient_and_2506_cancels_it(world: World) -> None:
    world.on("2026-06-01")
    hk, hk2 = world.his(HK_HOSP), world.his(HK_HOSP2)

    # refusals name the field of the message
    assert hk.refused("2505", filing_2505(TY_A)) == f"insuplc_admdvs: must name the person's insured region {TY}, " \
                                                    "not (empty)"
    assert hk.refused("2505", filing_2505(TY_A, begndate="2026/06/01"), TY).startswith(
        "input.data.begndate: must be a date as yyyy-MM-dd")
    assert hk.refused("2505", filing_2505(TY_A, filing_type="retired_resettled"), TY) == (
        "input.data.enddate: a filing of type retired_resettled (异地安置退休) is valid without end (seed 004 art. 7 "
        "(一)); 2026-10-31 was given: leave it empty")
    assert hk.refused("2505", filing_2505(TY_A, filing_type="dialysis"), TY).startswith(
        "input.data.filing_type: 'dialysis' is not a filing type")
    assert hk.refused("2505", filing_2505(JY_A, filing_type="referral", dest_admdvs=GZ, enddate="2026-09-30"), JY) \
        .startswith("input.data.enddate: a filing of type referral (异地转诊) of insured region 445200")
    assert hk.refused("2505", filing_2505(TY_A, dest_admdvs=HK, dest_fixmedins=HK_HOSP), TY).startswith(
        "input.data.dest_admdvs: name one destination")

    # no destination named: this institution (dialysis, seed 003)
    out = hk.ok("2505", filing_2505(TY_A), TY)["output"]["result"]
    sn = out["trt_dcla_detl_sn"]
    assert (out["valid_until"], out["dest_fixmedins"], out["dest_admdvs"], out["filing_type"]) == (
        "2026-10-31", HK_HOSP, "", "long_term_resident")
    with world.store.unit_of_work() as s:
        row = s.scalars(select(Filing).where(Filing.id == int(sn))).one()
        assert (row.psn_no, row.source, row.filed_by, row.insu_admdvs, row.memo) == (
            TY_A, "2505", f"institution:{HK_HOSP}", TY, "血液透析; tel 13800000000; addr 海口市龙华区")
    [shown] = world.mine(TY_A)
    assert (shown["id"], shown["in_force"], shown["valid_until"]) == (int(sn), True, "2026-10-31")

    world.seen(HK_HOSP, TY_A)
    assert world.turned_away(HK_HOSP2, TY_A) == needed(XPROV, "2026-06-01", HK_HOSP2) + (
        f"filing {sn} (long_term_resident) is for institution {HK_HOSP}, not {HK_HOSP2} in {HK}")

    # an emergency filed by the institution after the visit: end computed
    em = hk2.ok("2505", filing_2505(TY_B, filing_type="emergency", dest_admdvs=HK, begndate="2026-05-30",
                                    enddate=""), TY)["output"]["result"]
    assert (em["enddate"], em["valid_until"]) == ("2026-06-08", "2026-06-08")
    world.seen(HK_HOSP, TY_B)

    # an institution cancels only the filings it made
    cancel = {"data": {"psn_no": TY_A, "trt_dcla_detl_sn": sn, "memo": "转回参保地"}}
    assert hk2.refused("2506", cancel, TY) == (
        f"input.data.trt_dcla_detl_sn: filing {sn} was not made by this institution (institution:{HK_HOSP}); an "
        "institution cancels only the filings it made: the person or the insured region's agency cancels the others")
    assert hk.refused("2506", {"data": {**cancel["data"], "psn_no": TY_B}}, TY) == (
        f"input.data.trt_dcla_detl_sn: no filing {sn} of person {TY_B}")
    assert hk.refused("2506", {"data": {**cancel["data"], "trt_dcla_detl_sn": "x1"}}, TY) == (
        f"input.data.trt_dcla_detl_sn: no filing x1 of person {TY_A}")
    own = world.filed(TY_C, type="other", dest_admdvs=HK, start="2026-06-01", end="2026-06-30")
    assert hk.refused("2506", {"data": {"psn_no": TY_C, "trt_dcla_detl_sn": str(own["id"])}}, TY).startswith(
        f"input.data.trt_dcla_detl_sn: filing {own['id']} was not made by this institution (person:{TY_C})")

    done = hk.ok("2506", cancel, TY)["output"]["result"]
    assert done == {"trt_dcla_detl_sn": sn, "psn_no": TY_A, "status": "cancelled"}
    assert world.turned_away(HK_HOSP, TY_A) == needed(XPROV, "2026-06-01", HK_HOSP) + "the person has no active filing"
    assert hk.refused("2506", cancel, TY) == (f"input.data.trt_dcla_detl_sn: filing {sn} is cancelled; only an active "
                                              "filing is cancelled")
    [shown] = world.mine(TY_A)
    assert (shown["status"], shown["in_force"]) == ("cancelled", False)
    assert shown["memo"] == (f"血液透析; tel 13800000000; addr 海口市龙华区; cancelled by institution:{HK_HOSP}: "
                             "转回参保地")


def test_designated_institutions_chosen_at_the_treatment_place(unloaded: World) -> None:
    """Guangzhou requires chosen institutions (seed 004 art. 8, 13): general outpatient in Shenzhen only at
    the institution the person chose there (2505), once the filing itself is in place."""

    def setting(doc: dict[str, Any]) -> None:
        gz = next(r for r in doc["regions"] if r["admdvs"] == GZ)
        gz["inprov_outpatient_filing_required"] = True
        gz["settings"] = {"designated_institutions_required": True}

    world = unloaded.load(setting)
    world.on("2026-06-01")
    world.filed(GZ_A, type="long_term_resident", dest_admdvs=SZ, start="2026-06-01", end="2026-11-30")
    refused = world.turned_away(SZ_PROV, GZ_A)
    assert "only at institutions the person chose (2505)" in refused and SZ_PROV in refused
    world.filed(GZ_A, type="long_term_resident", dest_fixmedins=SZ_PROV, start="2026-06-01", end="2026-11-30")
    world.seen(SZ_PROV, GZ_A)
