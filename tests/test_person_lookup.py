"""1101 person lookup by each credential, the cross-region rule (seed 003), and 90100."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yibao.client import PlatformError

SZ_EMPLOYEE = "44030000000000000001"
GZ_EMPLOYEE = "44010000000000000001"


def lookup(client, cert_type, number, insuplc="", **extra):
    return client.ok("1101", {"data": {"mdtrt_cert_type": cert_type, "mdtrt_cert_no": number, **extra}}, insuplc)


def refused(client, cert_type, number, insuplc="", **extra):
    with pytest.raises(PlatformError) as err:
        lookup(client, cert_type, number, insuplc, **extra)
    return err.value.err_msg


@pytest.mark.parametrize("cert_type, number, extra", [
    ("01", "ECARD-SZ-0001", {}),
    ("02", "440301199001011234", {}),
    ("03", "SSC-SZ-0001", {"card_sn": "SN-SZ-0001"}),
])
def test_each_credential_type_finds_the_person(platform, cert_type, number, extra):
    out = lookup(platform.client(), cert_type, number, **extra)
    base = out["baseinfo"]
    assert base["psn_no"] == SZ_EMPLOYEE and base["psn_name"] == "张三" and base["certno"] == "440301199001011234"
    assert base["gend"] == "1" and base["brdy"] == "1990-01-01" and base["age"] == Decimal("36.0")
    [insu] = out["insuinfo"]
    assert insu == {"balc": Decimal("500.00"), "insutype": "310", "psn_type": "1101", "psn_insu_stas": "1",
                    "psn_insu_date": "", "paus_insu_date": "", "cvlserv_flag": "0", "insuplc_admdvs": "440300",
                    "insu_admdvs": "440300", "emp_name": "示例公司"}
    assert out["idetinfo"] == []


def test_balances_travel_as_exact_json_numbers(platform):
    client = platform.client()
    client.sign_no()
    raw = platform.http.post("/fsi/api/rsfComIfsService/callService", content=__import__("json").dumps(
        client.envelope("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "ECARD-SZ-0001"}},
                        sign_no=client.sign_no())).encode(), headers=client.headers()).text
    assert '"balc": 500.00' in raw


def test_a_resident_has_no_balance(platform):
    out = lookup(platform.client(), "01", "ECARD-SZ-0002")
    assert out["insuinfo"][0]["balc"] == Decimal("0.00") and out["insuinfo"][0]["insutype"] == "390"


def test_an_id_card_with_a_wrong_check_digit_is_refused(platform):
    msg = refused(platform.client(), "02", "440301199001011235")
    assert msg.startswith("input.data.mdtrt_cert_no:") and "check digit" in msg


def test_a_social_security_card_needs_its_card_sn(platform):
    assert refused(platform.client(), "03", "SSC-SZ-0001").startswith("input.data.card_sn: is required")
    assert "does not match" in refused(platform.client(), "03", "SSC-SZ-0001", card_sn="SN-WRONG")


def test_card_numbers_are_read_in_the_insured_region_named(platform):
    """The same card number exists in two cities: the insured region chosen at the desk decides."""
    client = platform.client()
    assert lookup(client, "03", "SSC-SZ-0001", card_sn="SN-SZ-0001")["baseinfo"]["psn_no"] == SZ_EMPLOYEE
    out = lookup(client, "03", "SSC-SZ-0001", "440100", card_sn="SN-GZ-0001")
    assert out["baseinfo"]["psn_no"] == GZ_EMPLOYEE


def test_a_person_insured_elsewhere_needs_the_insured_region(platform):
    client = platform.client()
    msg = refused(client, "02", "440106198408211031")
    assert msg.startswith("insuplc_admdvs:") and "insured region" in msg
    out = lookup(client, "02", "440106198408211031", "440100")
    assert out["baseinfo"]["psn_no"] == GZ_EMPLOYEE
    assert out["insuinfo"][0]["insuplc_admdvs"] == "440100" and out["insuinfo"][0]["balc"] == Decimal("4200.00")


def test_a_district_code_names_its_city(platform):
    """The cashier may pick 天河区 (440106): the person insured in 广州市 (440100) is found."""
    assert lookup(platform.client(), "01", "ECARD-GZ-0001", "440106")["baseinfo"]["psn_no"] == GZ_EMPLOYEE


def test_the_wrong_insured_region_finds_nobody(platform):
    msg = refused(platform.client(), "02", "440106198408211031", "140100")
    assert "no person insured in region 140100" in msg


def test_cross_province_person_is_found_with_the_insured_region(platform):
    out = lookup(platform.client(), "02", "140101197001011014", "140100")
    assert out["baseinfo"]["psn_no"] == "14010000000000000001" and out["insuinfo"][0]["psn_type"] == "1201"


def test_an_unknown_credential_is_refused(platform):
    assert "no person insured in region 440300" in refused(platform.client(), "01", "ECARD-NOBODY")


def test_claimed_name_and_certno_must_match(platform):
    client = platform.client()
    assert refused(client, "01", "ECARD-SZ-0001", psn_name="李四").startswith("input.data.psn_name:")
    assert refused(client, "01", "ECARD-SZ-0001", certno="440106198408211031").startswith("input.data.certno:")
    assert lookup(client, "01", "ECARD-SZ-0001", psn_name="张三", certno="440301199001011234")


def test_a_refusal_never_echoes_an_id_number(platform):
    msg = refused(platform.client(), "02", "440106198408211031", "140100")
    assert "440106198408211031" not in msg


# -- 90100 ---------------------------------------------------------------------------------------

def test_90100_serves_a_local_person(platform):
    out = platform.client().ok("90100", {"data": {"psn_no": SZ_EMPLOYEE}})
    assert out["baseinfo"] == {"psn_no": SZ_EMPLOYEE, "psn_name": "张三", "insutype": "310", "psn_insu_stas": "1",
                               "arrears_flag": "0"}
    assert out["data"] == [
        {"accrym": "202601", "insutype": "310", "clct_sumamt": Decimal("450.00"), "clct_flag": "1"},
        {"accrym": "202602", "insutype": "310", "clct_sumamt": Decimal("450.00"), "clct_flag": "0"},
    ]


def test_90100_refuses_a_person_insured_elsewhere(platform):
    client = platform.client()
    with pytest.raises(PlatformError) as err:
        client.ok("90100", {"data": {"psn_no": GZ_EMPLOYEE}}, "440100")
    assert err.value.err_msg.startswith("insuplc_admdvs:") and "440300 only" in err.value.err_msg
    with pytest.raises(PlatformError) as err:
        client.ok("90100", {"data": {"psn_no": GZ_EMPLOYEE}})
    assert "insured in another region" in err.value.err_msg and "440300 only" in err.value.err_msg


def test_90100_of_an_unknown_person(platform):
    with pytest.raises(PlatformError) as err:
        platform.client().ok("90100", {"data": {"psn_no": "44030000000000009999"}})
    assert err.value.err_msg.startswith("input.data.psn_no:")
