"""A phone payment whose insurance part goes through the platform's mobile-payment centre: the patient
authorizes the hospital in his e-credential app (payAuthNo), the hospital uploads the bills (6201) and settles
the order (6202) in sealed SM2/SM4 envelopes, the cash part through WeChat; undone by 6203 HI when the cash
fails or the fee is refunded; a lost answer asked again, never guessed. The platform and the hospital run
in-process as in test_hospital.py."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hospital_world import (
    AUTH_KEY,
    CHILD,
    EMPLOYEE,
    PARENT,
    SECRETS,
    SETUP,
    SZ_HOSP,
    TODAY,
    TY_HOSP,
    Desk,
    FakeChannel,
    World,
    bearer,
    clinic_visit,
    same_as_platform,
)
from sqlalchemy import select
from typer.testing import CliRunner

from yibao import cli as platform_cli
from yibao.api.tokens import issue, signing_key
from yibao.client import PlatformError
from yibao.hospital.config import HospitalConfig, load_config
from yibao.hospital.mobilepay import MobilePay
from yibao.hospital.service import Hospital
from yibao.mobilepay import keys
from yibao.store.models import PayOrder

D = Decimal


def mobile_desk(world: World, code: str = SZ_HOSP, platform_http: httpx.Client | None = None,
                **channels: Any) -> Desk:
    """A hospital with a mobile-payment channel registered on the platform (`yibao mobilepay register`)."""
    app_id, private, platform_public = keys.register_app(world.store, code)
    secret, admdvs, name = SECRETS[code]
    config = HospitalConfig(fixmedins_code=code, secret=secret, admdvs=admdvs, fixmedins_name=name,
                            database_url=world.urls.new(f"mobile-{code}"),
                            platform_url="http://testserver", auth_key=AUTH_KEY, mobilepay_app_id=app_id,
                            mobilepay_private_key=private, mobilepay_platform_key=platform_public)
    chans = channels or {"wechat": FakeChannel("wechat")}
    hospital = Hospital(config, platform_http=platform_http or world.platform_http, channels=dict(chans))
    hospital.load_setup(SETUP)
    world.hospitals.append(hospital)
    return Desk(hospital, chans)


def authorize(world: World, psn_no: str, code: str = SZ_HOSP) -> str:
    """The patient authorizes the hospital in his e-credential app: a payAuthNo."""
    token = issue(signing_key(world.store), "person", psn_no)
    reply = world.platform_http.post("/api/v1/ecredential/pay-auth", json={"fixmedins_code": code},
                                     headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["pay_auth_no"])


def order_state(world: World, pay_ord_id: str) -> str:
    with world.store.unit_of_work() as s:
        order = s.scalar(select(PayOrder).where(PayOrder.pay_ord_id == pay_ord_id))
        assert order is not None
        return str(order.ord_stas)


class LosingPath(httpx.BaseTransport):
    """The platform gets every request, but the answers to the first `times` requests to `path` are lost."""

    def __init__(self, platform: TestClient, path: str, times: int):
        self.platform, self.path, self.times = platform, path, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        reply = self.platform.post(str(request.url), content=request.read(), headers=dict(request.headers))
        if request.url.path.endswith(self.path) and self.times > 0:
            self.times -= 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return httpx.Response(reply.status_code, content=reply.content, headers=reply.headers)


def test_a_phone_payment_through_the_mobile_payment_centre(world: World) -> None:
    desk = mobile_desk(world)
    pid, reg, clinic = clinic_visit(desk)
    fee = reg["fee_bill"]["bill_no"]
    phone = bearer("patient", pid)
    paid = desk.pay(pid, [fee, clinic], "wechat", "mobile", headers=phone, pay_auth_no=authorize(world, EMPLOYEE))
    assert (paid["status"], paid["via"]) == ("paid", "mobilepay"), paid
    assert order_state(world, paid["pay_ord_id"]) == "6"
    info = same_as_platform(world, desk, paid)  # the kept 6202 extData is the settlement, as 2207's would be
    assert info["medfee_sumamt"] == D(paid["total"]) and D(paid["cash"]["amount"]) == info["psn_cash_pay"] > 0
    html = desk.http.get(f"/slips/{info['setl_id']}.html", headers=phone).text
    assert f"<th>个人现金支付</th><td class=\"amount\">{info['psn_cash_pay']:.2f}</td>" in html
    assert "EX-DRUG-A" in html and "50.00" in html  # the lines with the 6201 split
    rec = desk.post("/reconciliation", {"begin": "2026-03-16", "end": "2026-03-16"})
    assert (rec["records"], rec["balanced"]) == (1, True), rec
    # the authorization is the patient's own: another person's payAuthNo is refused by 6201, nothing charged
    clinic2 = desk.bill(reg["registration_id"], [("EX-ITEM-C", "30.00", "1")])
    refused = desk.pay(pid, [clinic2], "wechat", "mobile", headers=phone, pay_auth_no=authorize(world, PARENT))
    assert refused["status"] == "failed" and "6201" in refused["error"], refused
    assert desk.channels["wechat"].calls.count(("pay", refused["payment_no"])) == 0


def test_mutual_aid_by_the_mobile_payment_centre_worked_example_b(world: World) -> None:
    desk = mobile_desk(world, TY_HOSP)
    child = desk.patient(CHILD)
    reg = desk.register(child, "DR02", "am")
    clinic = desk.bill(reg["registration_id"], [("EX-DRUG-A", "100.00", "2"), ("EX-ITEM-C", "30.00", "1")])
    paid = desk.pay(child, [clinic], "wechat", "mobile", pay_auth_no=authorize(world, CHILD, TY_HOSP))
    assert paid["status"] == "paid" and paid["cash"]["out_trade_no"] is None, paid
    info = same_as_platform(world, desk, paid)
    assert (info["acct_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"]) == (D("130.00"), D("130.00"),
                                                                                D("0.00"))
    assert world.balance(PARENT) == D("2870.00")
    html = desk.http.get(f"/slips/{info['setl_id']}.html").text
    assert "<th>其中：个人账户共济支付</th><td class=\"amount\">130.00</td>" in html


def test_a_failed_cash_leg_and_a_refund_undo_the_order_by_6203(world: World) -> None:
    desk = mobile_desk(world, wechat=FakeChannel("wechat", "failed"))
    pid, reg, clinic = clinic_visit(desk)
    failed = desk.pay(pid, [clinic], "wechat", "mobile", pay_auth_no=authorize(world, EMPLOYEE))
    assert (failed["status"], failed["insurance"]["status"]) == ("failed", "cancelled"), failed
    assert order_state(world, failed["pay_ord_id"]) == "8"  # no cash was taken: the order ends whole (ALL)
    assert world.settlements_of(reg["mdtrt_id"]) == 0 and world.balance(EMPLOYEE) == D("12.00")

    desk.channels["wechat"].mode = "paid"
    fee = reg["fee_bill"]["bill_no"]
    paid = desk.pay(pid, [fee], "wechat", "mobile", pay_auth_no=authorize(world, EMPLOYEE))
    assert paid["status"] == "paid", paid
    back = desk.post(f"/registrations/{reg['registration_id']}/refund", {"reason": "行程有变"})
    assert back["status"] == "refunded" and back["refund"]["insurance_status"] == "done", back
    assert back["refund"]["out_cancel"]["setlinfo"]["refd_setl_id"]
    assert order_state(world, paid["pay_ord_id"]) == "8"  # HI, then CASH once WeChat gave the cash back
    assert world.settlements_of(reg["mdtrt_id"]) == 0
    # the reconciliation counts the settlement and its cancellation (kept from 6202 and 6203) as the platform does
    rec = desk.post("/reconciliation", {"begin": TODAY, "end": TODAY})
    assert (rec["records"], rec["balanced"]) == (4, True), rec


def test_lost_answers_are_asked_again(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from yibao.hospital.cashier import later

    losing = LosingPath(world.platform_http, "pay_order", 1)
    desk = mobile_desk(world, platform_http=httpx.Client(transport=losing))
    pid, reg, clinic = clinic_visit(desk)
    paid = desk.pay(pid, [clinic], "wechat", "mobile", pay_auth_no=authorize(world, EMPLOYEE))
    assert paid["status"] == "paid" and world.settlements_of(paid["insurance"]["mdtrt_id"]) == 1, paid

    # never answered: the payment waits; later 6301 says settled, the settlement is asked again and undone
    losing.times = 3
    clinic2 = desk.bill(reg["registration_id"], [("EX-ITEM-C", "30.00", "1")])
    left = desk.pay(pid, [clinic2], "wechat", "mobile", pay_auth_no=authorize(world, EMPLOYEE))
    assert (left["status"], left["insurance"]["status"]) == ("settling", "settling"), left
    monkeypatch.setattr(later, "SETTLING_GRACE", timedelta(0))
    done = desk.get(f"/payments/{left['payment_no']}", refresh="true")
    assert (done["status"], done["insurance"]["status"]) == ("failed", "cancelled"), done
    assert order_state(world, done["pay_ord_id"]) == "8"
    assert desk.channels["wechat"].calls.count(("pay", left["payment_no"])) == 0


def test_without_a_mobile_payment_channel_a_pay_auth_no_is_refused(world: World) -> None:
    desk = world.hospital()
    pid, _reg, clinic = clinic_visit(desk)
    assert "mobile-payment channel" in desk.post("/payments", {
        "patient_id": pid, "bill_nos": [clinic], "channel": "wechat", "pay_auth_no": "AUTH0"}, 422)["detail"]


def test_the_hospital_reads_the_credentials_yibao_mobilepay_register_wrote(world: World, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo`'s way: the platform's command prints the app, the hospital's configuration names the file."""
    monkeypatch.setenv("YIBAO_DATABASE_URL", world.store.url)
    printed = CliRunner().invoke(platform_cli.app, ["mobilepay", "register", SZ_HOSP])
    assert printed.exit_code == 0, printed.output
    creds = tmp_path / "mobilepay.json"
    creds.write_text(printed.stdout, encoding="utf-8")
    secret, admdvs, _name = SECRETS[SZ_HOSP]
    env = {"YIBAO_HOSPITAL_FIXMEDINS_CODE": SZ_HOSP, "YIBAO_HOSPITAL_SECRET": secret,
           "YIBAO_HOSPITAL_ADMDVS": admdvs, "YIBAO_HOSPITAL_MOBILEPAY_CREDENTIALS": str(creds)}
    config = load_config(env=env)
    answer = json.loads(printed.stdout)
    assert (config.mobilepay_app_id, config.mobilepay_private_key, config.mobilepay_platform_key) == (
        answer["app_id"], answer["private_key"], answer["platform_public_key"])
    assert config.info()["mobile_payment"] is True
    # a sealed query with those keys is answered (an unknown order: refused by the centre, not by the envelope)
    config = dataclasses.replace(config, platform_url="http://testserver",
                                 database_url=world.urls.new())
    hospital = Hospital(config, platform_http=world.platform_http, channels={})
    world.hospitals.append(hospital)
    with pytest.raises(PlatformError, match="6301"):
        MobilePay(hospital).call("6301", {"payOrdId": "NOSUCH", "payToken": "x", "orgCodg": SZ_HOSP})
    # without the file, no mobile payment
    env["YIBAO_HOSPITAL_MOBILEPAY_CREDENTIALS"] = str(tmp_path / "absent.json")
    assert load_config(env=env).mobilepay_app_id == ""

