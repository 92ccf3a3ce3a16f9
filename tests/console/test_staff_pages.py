"""The staff desks of the console over a settled month (staff_world.py), on SQLite and PostgreSQL: each page
renders for its role with the month's real data, each act goes through the platform's use cases and shows its
effect; a role sees only its scope (another institution's settlement, another region's declaration: 404; another
role's desk: 403); a POST without the CSRF token is refused and writes nothing.

Rules exercised: 揭阳 揭医保〔2021〕82号 art. 21 (agreement registry), art. 25 (declaration and review), art. 29
(suspension of direct settlement), art. 30 (deduction for a violation); 太原 并医险中心字〔2022〕126号 四 (monthly
declaration, review and allocation); 中山大学附属第七医院《医保移动支付开发需求书》 3260/3261 (clearing rows)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from console_world import ConsoleWorld
from helpers import snapshot
from openpyxl import load_workbook
from sqlalchemy import select
from staff_world import GD, GZ, GZ_EMP, GZ_H, SZ, SZ_CHILD, SZ_EMP, SZ_H, SZ_PARENT, settled_month

from yibao.store.db import Store
from yibao.store.models import SwitchChange

DECL = f"D{SZ_H}202603"


class StaffWorld(ConsoleWorld):
    """The console over the settled month (a, b, c: its settlement ids); `on(day)` moves the business date."""

    def __init__(self, store: Store, tmp: Path, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.delenv("YIBAO_TODAY", raising=False)
        month = settled_month(store)
        super().__init__(store, tmp)
        self.a, self.b, self.c, self.mp = month.a, month.b, month.c, monkeypatch

    def on(self, day: str) -> None:
        self.mp.setenv("YIBAO_TODAY", day)


@pytest.fixture
def w(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StaffWorld:
    return StaffWorld(store, tmp_path, monkeypatch)


def signed_in(w: StaffWorld, username: str, role: str, scope: str):  # type: ignore[no-untyped-def]
    w.add_staff(username, role, scope)
    b = w.browser()
    assert b.sign_in_staff(username).status_code == 303
    return b


def ok(reply) -> str:  # type: ignore[no-untyped-def]
    assert reply.status_code == 200, reply.text
    return str(reply.text)


def test_institution_finds_its_settlements_opens_the_slip_declares_and_confirms_the_clearing(w: StaffWorld) -> None:
    """揭医保〔2021〕82号 art. 25: the institution declares March in April's window; 3260/3261 on its rows."""
    b = signed_in(w, "sz-hosp", "institution", SZ_H)
    assert "进入定点医药机构工作台" in ok(b.get("/console/staff"))
    page = ok(b.get("/console/institution"))
    assert w.a in page and w.b in page and w.c not in page  # only its own
    by_name = ok(b.get("/console/institution?person=穗甲&day=2026-03-16&kind=outpatient&status=settled"))
    assert w.b in by_name and w.a not in by_name
    assert w.a not in ok(b.get("/console/institution?day=2026-03-17"))
    detail = ok(b.get(f"/console/institution/settlements/{w.a}"))
    assert "196.00" in detail and "54.00" in detail and "药品甲" in detail and "打印结算单" in detail
    assert "医疗保障结算单" in ok(b.get(f"/console/institution/settlements/{w.a}/slip"))
    assert b.get(f"/console/institution/settlements/{w.c}").status_code == 404  # another institution's
    assert b.get("/console/institution?day=2026-13-01").status_code == 422
    recon = ok(b.get("/console/institution/reconciliation?begin=2026-03-01&end=2026-03-31&optins=440300"))
    assert w.a in recon and w.b not in recon and "<dd>250.00</dd>" in recon  # cleared by Shenzhen: a only
    recon = ok(b.get("/console/institution/reconciliation?begin=2026-03-01&end=2026-03-31&optins=440100"))
    assert w.b in recon and w.a not in recon
    # before the window: refused on the form, nothing written
    w.on("2026-03-20")
    b.get("/console/institution/declarations")
    before = snapshot(w.store)
    refused = b.post("/console/institution/declarations", {"setl_ym": "2026-03"})
    assert refused.status_code == 422 and "opens on 2026-04-01" in refused.text and snapshot(w.store) == before
    w.on("2026-04-02")
    assert "2026-03" in ok(b.get("/console/institution/declarations"))
    done = b.post("/console/institution/declarations", {"setl_ym": "2026-03"})
    assert done.status_code == 303 and done.headers["location"] == f"/console/institution/declarations/{DECL}"
    decl = ok(b.get(done.headers["location"]))
    assert "已申报，待审核" in decl and "500.00" in decl
    again = b.post("/console/institution/declarations", {"setl_ym": "2026-03"})
    assert again.status_code == 422 and "declared once" in again.text
    clearing = ok(b.get("/console/institution/clearing?ym=2026-03"))
    assert w.b in clearing and w.a not in clearing  # the Guangzhou person's row only
    assert b.post("/console/institution/clearing", {"ym": "2026-03", "confirm": w.b}).status_code == 303
    assert "已于" in ok(b.get("/console/institution/clearing?ym=2026-03"))


def declared(w: StaffWorld) -> None:
    w.on("2026-04-02")
    hosp = signed_in(w, "sz-hosp", "institution", SZ_H)
    hosp.get("/console/institution/declarations")
    assert hosp.post("/console/institution/declarations", {"setl_ym": "2026-03"}).status_code == 303


def test_clerk_reviews_with_suggestions_deducts_finishes_and_allocates(w: StaffWorld) -> None:
    """揭医保〔2021〕82号 art. 25(二) and art. 30: review with a deduction for a violation and its reason; 太原
    并医险中心字〔2022〕126号 四: the plan, then the agency pays its own insured's part."""
    declared(w)
    w.on("2026-04-11")
    b = signed_in(w, "sz-clerk", "agency_clerk", SZ)
    dash = ok(b.get("/console/agency"))
    assert DECL in dash and "待审核" in dash
    assert DECL in ok(b.get("/console/agency/review?ym=2026-03"))
    page = ok(b.get(f"/console/agency/review/{DECL}"))
    assert "R-QTY" in page and "药品甲单次就诊限1" in page  # the rule's flag, a suggestion
    bad = b.post(f"/console/agency/review/{DECL}/deduct", {"amount": "12.50", "reason": "", "setl_id": w.a})
    assert bad.status_code == 422 and "reason" in bad.text
    done = b.post(f"/console/agency/review/{DECL}/deduct", {"amount": "12.50", "reason": "超量开药", "setl_id": w.a})
    assert done.status_code == 303
    page = ok(b.get(done.headers["location"]))
    assert "已扣款" in page and "超量开药" in page and "12.50" in page
    sid = re.search(r'name="suggestion_id" value="(\d+)"', page)
    assert sid
    b.post(f"/console/agency/review/{DECL}/dismiss", {"suggestion_id": sid.group(1)})
    assert "已忽略" in ok(b.get(f"/console/agency/review/{DECL}"))
    assert b.post(f"/console/agency/review/{DECL}/reject", {"setl_id": w.b, "reason": "无病历"}).status_code == 303
    finished = b.post(f"/console/agency/review/{DECL}/finish")
    assert finished.status_code == 303
    page = ok(b.get(finished.headers["location"]))
    assert "已审核" in page and "拨付计划" in page and "同意再申报" in page
    rid = re.search(r'name="rejection_id" value="(\d+)"', page)
    assert rid and b.post(f"/console/agency/review/{DECL}/agree", {"rejection_id": rid.group(1)}).status_code == 303
    assert "已同意再申报" in ok(b.get(f"/console/agency/review/{DECL}"))
    w.on("2026-04-21")
    alloc = ok(b.get("/console/agency/allocation?ym=2026-03"))
    assert "待拨付" in alloc and SZ_H in alloc
    paid = b.post("/console/agency/allocation", {"ym": "2026-03"})
    assert paid.status_code == 200 and "已拨付 237.50 元" in paid.text  # 54.00 + 196.00 - 12.50


def test_clerk_registry_suspensions_switches_mutual_aid_and_reports(w: StaffWorld) -> None:
    """揭医保〔2021〕82号 art. 21 (registry: a change effective from a date), art. 29 (suspension), art. 38
    (the epidemic outpatient switch, shown; its changes: test_clerk_switches_a_benefit_off_from_a_date)."""
    declared(w)
    b = signed_in(w, "sz-clerk", "agency_clerk", SZ)
    assert SZ_H in ok(b.get("/console/agency/agreements")) and GZ_H not in b.get("/console/agency/agreements").text
    done = b.post("/console/agency/agreements", {"fixmedins_code": SZ_H, "change": "suspended",
                                                  "effective": "2026-05-01", "memo": "年审"})
    assert "已登记" in ok(done) and "2026-05-01 暂停" in done.text
    other = b.post("/console/agency/agreements", {"fixmedins_code": GZ_H, "change": "ended", "effective": "2026-05-01"})
    assert other.status_code == 404
    refused = b.post("/console/agency/suspensions", {"psn_no": SZ_EMP, "reason": "x"})
    assert refused.status_code == 422 and "insured in 440300" in refused.text
    done = b.post("/console/agency/suspensions", {"psn_no": GZ_EMP, "reason": "冒名就医"})
    assert "冒名就医" in ok(done) and "暂停中" in done.text
    sid = re.search(r'name="suspension_id" value="(\d+)"', done.text)
    assert sid
    assert "已于" in ok(b.post("/console/agency/suspensions", {"suspension_id": sid.group(1), "reason": "核实"}))
    assert "epidemic_outpatient" in ok(b.get("/console/agency/switches"))
    aid = ok(b.get("/console/agency/mutual-aid?status=active"))
    assert SZ_PARENT in aid and SZ_CHILD in aid and "800.00" in aid
    index = ok(b.get("/console/agency/reports?ym=2026-03"))
    codes = re.findall(r'/console/agency/reports/2026-03/([^"?]+)\?format=xlsx', index)
    assert codes and "申报" in index
    code = next(c for c in codes if SZ_H in c)
    assert SZ_H in ok(b.get(f"/console/agency/reports/2026-03/{code}"))
    xlsx = b.get(f"/console/agency/reports/2026-03/{code}?format=xlsx")
    assert xlsx.status_code == 200 and load_workbook(io.BytesIO(xlsx.content)).active is not None
    pdf = b.get(f"/console/agency/reports/2026-03/{code}?format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    doc = json.loads(b.get(f"/console/agency/reports/2026-03/{code}?format=json").content)
    assert doc["code"] == code if "code" in doc else doc
    assert b.get(f"/console/agency/reports/2026-03/{code}?format=doc").status_code == 422
    assert b.get("/console/agency/reports/2026-03/no-such-table").status_code == 404


def switch_changes(w: StaffWorld) -> list[tuple[str, str, bool, str, str]]:
    with w.store.unit_of_work() as s:
        return [(c.admdvs, c.name, c.on, str(c.effective), c.changed_by) for c in s.scalars(
            select(SwitchChange).order_by(SwitchChange.id))]


def test_clerk_switches_a_benefit_off_from_a_date(w: StaffWorld) -> None:
    """揭医保〔2021〕82号 art. 38: the preset epidemic outpatient benefit is switched "适时"; the clerk turns it off
    from a later day on the page, who and why recorded; a past day, an unknown switch, a state other than on/off or
    no reason is refused on the form and writes nothing; another region's clerk neither sees nor changes it."""
    w.on("2026-04-02")
    b = signed_in(w, "sz-clerk", "agency_clerk", SZ)
    page = ok(b.get("/console/agency/switches"))
    assert "疫情期间门诊待遇" in page and "开启" in page and "尚无变更" in page
    for form, field in [({"effective": "2026-04-01"}, "effective"), ({"name": "snow_day"}, "snow_day"),
                        ({"state": "maybe"}, "maybe"), ({"why": "  "}, "why"), ({"effective": "4/21"}, "4/21")]:
        data = {"name": "epidemic_outpatient", "state": "off", "effective": "2026-04-21", "why": "疫情结束", **form}
        refused = b.post("/console/agency/switches", data)
        assert refused.status_code == 422 and field in refused.text, (form, refused.text)
    assert switch_changes(w) == []
    done = b.post("/console/agency/switches", {"name": "epidemic_outpatient", "state": "off",
                                               "effective": "2026-04-21", "why": "揭医保〔2023〕1号 疫情结束"})
    assert "已登记开关变更" in ok(done) and "2026-04-21" in done.text and "staff:sz-clerk" in done.text
    assert switch_changes(w) == [(SZ, "epidemic_outpatient", False, "2026-04-21", "staff:sz-clerk")]
    assert b.post("/console/agency/switches", {"name": "epidemic_outpatient", "state": "on", "effective": "2026-05-01",
                                               "why": "x"}, csrf=False).status_code == 403
    assert len(switch_changes(w)) == 1
    w.on("2026-04-20")
    assert "<td>开启</td>" in ok(b.get("/console/agency/switches"))
    w.on("2026-04-21")
    assert "<td>关闭</td>" in ok(b.get("/console/agency/switches"))
    other = signed_in(w, "gz-clerk", "agency_clerk", GZ)
    assert "staff:sz-clerk" not in ok(other.get("/console/agency/switches"))
    assert other.post("/console/agency/switches", {"name": "epidemic_outpatient", "state": "on",
                                                   "effective": "2026-04-22", "why": "x"}).status_code == 422
    assert len(switch_changes(w)) == 1


def test_admin_creates_staff_of_its_region_only(w: StaffWorld) -> None:
    admin = signed_in(w, "sz-admin", "agency_admin", SZ)
    page = ok(admin.get("/console/agency/staff"))
    assert "sz-admin" in page and SZ_H in page
    made = admin.post("/console/agency/staff", {"username": "sz-hosp-2", "role": "institution", "scope": SZ_H,
                                                 "password": "another-long-password"})
    assert "已开设账号 sz-hosp-2" in ok(made)
    before = snapshot(w.store)
    for form in ({"username": "gz-hosp", "role": "institution", "scope": GZ_H},
                 {"username": "sz-admin-2", "role": "agency_admin", "scope": SZ},
                 {"username": "x", "role": "agency_clerk", "scope": ""}):
        refused = admin.post("/console/agency/staff", {**form, "password": "another-long-password"})
        assert refused.status_code == 422 and 'class="refusal"' in refused.text
    assert snapshot(w.store) == before
    new = w.browser()
    assert new.sign_in_staff("sz-hosp-2", "another-long-password").status_code == 303
    assert w.a in ok(new.get("/console/institution"))
    clerk = signed_in(w, "sz-clerk", "agency_clerk", SZ)
    assert clerk.get("/console/agency/staff").status_code == 403


def test_centre_sees_advances_voucher_and_clears_the_month(w: StaffWorld) -> None:
    """The provincial centre: the initial prepayment (the first clearing), its part of the plans, the voucher."""
    w.on("2026-04-02")
    b = signed_in(w, "gd-centre", "centre", GD)
    page = ok(b.get("/console/centre?ym=2026-03"))
    assert "异地就医资金账户" in page and "transfer-voucher" in page
    cleared = b.post("/console/centre/clearing", {"ym": "2026-03"})
    assert "已清算 2 个统筹区的预付金" in ok(cleared) and "1000.00" in cleared.text and "2000.00" in cleared.text
    nothing = b.post("/console/centre/allocate", {"ym": "2026-03"})
    assert nothing.status_code == 422 and "nothing reviewed" in nothing.text
    region = ok(b.get(f"/console/centre/regions/{SZ}"))
    assert "1000.00" in region and "2026-03" in region
    assert b.get("/console/centre/regions/140100").status_code == 404  # another province's region
    voucher = b.get("/console/centre/reports/2026-03/transfer-voucher?format=xlsx")
    assert voucher.status_code == 200 and voucher.content[:2] == b"PK"


def test_scopes_roles_and_csrf(w: StaffWorld) -> None:
    declared(w)
    w.on("2026-04-11")
    gz = signed_in(w, "gz-clerk", "agency_clerk", GZ)
    assert gz.get(f"/console/agency/review/{DECL}").status_code == 404  # another region's declaration
    assert DECL not in ok(gz.get("/console/agency/review?ym=2026-03"))
    before = snapshot(w.store)
    acted = gz.post(f"/console/agency/review/{DECL}/deduct", {"amount": "1.00", "reason": "x"})
    assert acted.status_code in (403, 404) and snapshot(w.store) == before
    assert gz.post(f"/console/agency/review/{DECL}/finish").status_code == 404
    assert snapshot(w.store) == before
    for path in ("/console/centre", "/console/institution"):
        assert gz.get(path).status_code == 403
    hosp = signed_in(w, "gz-hosp", "institution", GZ_H)
    assert hosp.get(f"/console/institution/settlements/{w.a}").status_code == 404
    assert hosp.get(f"/console/institution/declarations/{DECL}").status_code == 404
    assert hosp.get("/console/agency").status_code == 403
    sz = signed_in(w, "sz-clerk", "agency_clerk", SZ)
    sz.get(f"/console/agency/review/{DECL}")
    before = snapshot(w.store)
    forged = sz.post(f"/console/agency/review/{DECL}/finish", csrf=False)
    assert forged.status_code == 403 and "CSRF" in forged.text and snapshot(w.store) == before
    admin, centre = signed_in(w, "sz-admin", "agency_admin", SZ), signed_in(w, "gd-centre", "centre", GD)
    before = snapshot(w.store)
    for b, path, form in ((hosp, "/console/institution/clearing", {"ym": "2026-03"}),
                          (admin, "/console/agency/staff", {"username": "x-clerk", "role": "agency_clerk",
                                                            "password": "another-long-password"}),
                          (sz, "/console/agency/suspensions", {"psn_no": GZ_EMP, "reason": "x"}),
                          (centre, "/console/centre/clearing", {"ym": "2026-03"})):
        assert b.post(path, form, csrf=False).status_code == 403, path
    assert snapshot(w.store) == before
    anonymous = w.browser()
    assert anonymous.get("/console/agency").status_code == 303
