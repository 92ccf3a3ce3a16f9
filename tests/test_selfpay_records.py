"""4201A-4209: self-pay patients' visits, diagnoses and fee lines, through the wire. The inpatient flow is GZ's
(4204 clear, 4201A lines, 4202 stay, 4203 complete), the outpatient one OS's (4205, 4203); the queries
(4207-4209) need no sign-in. An institution sees only its own records."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from helpers import signed_headers, snapshot
from sqlalchemy import event, select

from yibao import wire
from yibao.client import PlatformError
from yibao.store.models import SelfpayFee, SelfpayVisit

SZ_HOSPITAL, GZ_HOSPITAL = "H44030000001", "H44010000001"
DAY = "2026-03-16"
D = Decimal


def fee(mdtrt_id: str, sn: str, pric: str = "25.00", cnt: str = "2", **over: Any) -> dict[str, Any]:
    amt = str((D(pric) * D(cnt)).quantize(D("0.01")))
    return {"fixmedins_mdtrt_id": mdtrt_id, "med_type": "21", "bkkp_sn": sn, "fee_ocur_time": f"{DAY} 10:00:00",
            "fixmedins_code": SZ_HOSPITAL, "fixmedins_name": "深圳示例医院", "cnt": cnt, "pric": pric,
            "det_item_fee_sumamt": amt, "med_list_codg": "EX-DRUG-A", "medins_list_codg": "H-A",
            "medins_list_name": "院内甲药", "med_chrgitm_type": "09", "prodname": "", "bilg_dept_codg": "D01",
            "bilg_dept_name": "内科", "bilg_dr_code": "DR01", "bilg_dr_name": "医生",
            "memo": {"hosp_appr_flag": "0", "invoice_no": "INV1", "memo": ""}, **over}


def stay(mdtrt_id: str, **over: Any) -> dict[str, Any]:
    return {"fixmedins_mdtrt_id": mdtrt_id, "fixmedins_code": SZ_HOSPITAL, "fixmedins_name": "深圳示例医院",
            "psn_cert_type": "01", "certno": "440301199001011234", "psn_name": "王五", "begntime": f"{DAY} 08:00:00",
            "med_type": "21", "vali_flag": "1", "inhosp_stas": "1", **over}


DIAG = {"inout_diag_type": "1", "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": "1", "diag_code": "I10.x00",
        "diag_name": "高血压", "vali_flag": "1"}


def flat(mdtrt_id: str, **more: Any) -> dict[str, Any]:
    return {"fixmedins_mdtrt_id": mdtrt_id, "fixmedins_code": SZ_HOSPITAL, **more}


def refused(platform: Any, client: Any, infno: str, input_: dict[str, Any]) -> str:
    client.sign_no()
    before = snapshot(platform.store)
    with pytest.raises(PlatformError) as err:
        client.ok(infno, input_)
    assert snapshot(platform.store) == before
    return err.value.err_msg


def test_inpatient_upload_change_complete_and_query(platform: Any) -> None:
    h = platform.client()
    out = h.ok("4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("ZY001", "1"), fee("ZY001", "2", "10.00", "1")]})
    assert out["data"] == {"fixmedins_mdtrt_id": ["ZY001"], "fee_cnt": 2}
    # a line sent again under its bkkp_sn is the institution's correction of it
    h.ok("4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("ZY001", "2", "10.00", "3")]})
    h.ok("4202", {"ownPayPatnMdtrtD": stay("ZY001", medfee_sumamt="80.00"), "ownPayPatnDiagListD": [DIAG]})
    done = h.ok("4203", flat("ZY001", cplt_flag="1"))["data"]
    assert (done["cplt_flag"], done["vali_flag"], done["mdtrt_kind"]) == ("1", "1", "inpatient")
    fees = h.ok("4207", flat("ZY001", page_num=1, page_size=10))
    assert fees["total"] == 2 and [(r["bkkp_sn"], r["det_item_fee_sumamt"]) for r in fees["data"]] == [
        ("1", D("50.00")), ("2", D("30.00"))]
    assert fees["data"][0]["memo"] == {"hosp_appr_flag": "0", "invoice_no": "INV1", "memo": ""}
    [visit] = h.ok("4208", flat("ZY001"))["data"]
    assert (visit["psn_name"], visit["medfee_sumamt"], visit["begntime"], visit["inhosp_stas"]) == (
        "王五", D("80.00"), f"{DAY} 08:00:00", "1")
    [diag] = h.ok("4209", flat("ZY001"))["data"]
    assert (diag["diag_code"], diag["maindiag_flag"], diag["fixmedins_mdtrt_id"]) == ("I10.x00", "1", "ZY001")
    # complete: frozen until reopened
    assert refused(platform, h, "4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("ZY001", "3")]}).startswith(
        "input.fsiOwnpayPatnFeeListDDTO[0].fixmedins_mdtrt_id: the upload of visit ZY001 was completed (4203)")
    h.ok("4203", flat("ZY001", cplt_flag="0"))
    # 4204 deletes a named line, then (bkkp_sn empty) all of them
    assert h.ok("4204", {"feedetail": {"fixmedins_code": SZ_HOSPITAL, "fixmedins_mdtrt_id": "ZY001"},
                         "feedetI": {"bkkp_sn": "2"}})["data"]["fee_cnt"] == 1
    assert [r["bkkp_sn"] for r in h.ok("4207", flat("ZY001"))["data"]] == ["1"]
    assert h.ok("4204", {"feedetail": {"fixmedins_code": SZ_HOSPITAL, "fixmedins_mdtrt_id": "ZY001"},
                         "feedetl": {"bkkp_sn": ""}})["data"]["fee_cnt"] == 1
    assert h.ok("4207", flat("ZY001"))["data"] == []
    # the stay says 80.00 while its lines now sum to 0.00: it cannot be completed
    assert refused(platform, h, "4203", flat("ZY001", cplt_flag="1")) == (
        "input.fixmedins_mdtrt_id: visit ZY001 reports medfee_sumamt 80.00, but its fee lines sum to 0.00")


def test_outpatient_upload_replace_delete(platform: Any) -> None:
    h = platform.client()
    visit = stay("MZ001", med_type="11", medfee_sumamt="60.00")
    out = h.ok("4205", {"mdtrtinfo": visit, "diseinfo": [DIAG],
                        "feedetail": [fee("MZ001", "1"), fee("MZ001", "2", "10.00", "1")]})["data"]
    assert (out["mdtrt_kind"], out["fee_cnt"], out["medfee_sumamt"]) == ("outpatient", 2, D("60.00"))
    # sent again, the visit's lines are replaced whole
    h.ok("4205", {"mdtrtinfo": {**visit, "medfee_sumamt": "50.00"}, "diseinfo": [],
                  "feedetail": [fee("MZ001", "9")]})
    assert [r["bkkp_sn"] for r in h.ok("4207", flat("MZ001"))["data"]] == ["9"]
    assert h.ok("4209", flat("MZ001"))["data"] == []
    h.ok("4203", flat("MZ001", cplt_flag="1"))
    assert refused(platform, h, "4206", flat("MZ001")).startswith(
        "input.fixmedins_mdtrt_id: the upload of visit MZ001 was completed (4203)")
    h.ok("4203", {"data": flat("MZ001", cplt_flag="0")})  # the flat keys wrapped in data are read too
    gone = h.ok("4206", flat("MZ001"))["data"]
    assert gone["vali_flag"] == "0"
    assert h.ok("4207", flat("MZ001"))["data"] == []
    assert h.ok("4208", flat("MZ001"))["data"][0]["vali_flag"] == "0"
    assert refused(platform, h, "4206", flat("MZ001")) == "input.fixmedins_mdtrt_id: visit MZ001 was already deleted"


def test_refusals(platform: Any) -> None:
    h = platform.client()
    bad_sum = fee("ZY002", "1", det_item_fee_sumamt="49.00")
    assert refused(platform, h, "4201A", {"fsiOwnpayPatnFeeListDDTO": [bad_sum]}) == \
        "input.fsiOwnpayPatnFeeListDDTO[0].det_item_fee_sumamt: 49.00 sent, but pric 25.00 x cnt 2 = 50.00"
    assert refused(platform, h, "4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("ZY002", "1"), fee("ZY002", "1")]}) == \
        "input.fsiOwnpayPatnFeeListDDTO[1].bkkp_sn: 1 is sent twice for visit ZY002"
    assert refused(platform, h, "4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("ZY002", "1", med_chrgitm_type="77")]}
                   ).startswith("input.fsiOwnpayPatnFeeListDDTO[0].med_chrgitm_type: '77' is not a code")
    assert refused(platform, h, "4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("ZY002", "1", fixmedins_code=GZ_HOSPITAL)]}
                   ) == f"input.fsiOwnpayPatnFeeListDDTO[0].fixmedins_code: {GZ_HOSPITAL} is not the calling " \
                        f"institution {SZ_HOSPITAL}"
    assert refused(platform, h, "4201A", {"fsiOwnpayPatnFeeListDDTO": []}).startswith(
        "input.fsiOwnpayPatnFeeListDDTO: ")
    assert refused(platform, h, "4202", {"ownPayPatnDiagListD": [DIAG]}).startswith("input.ownPayPatnMdtrtD: ")
    assert refused(platform, h, "4202", {"ownPayPatnMdtrtD": stay("ZY002", psn_cert_type="55")}).startswith(
        "input.ownPayPatnMdtrtD.psn_cert_type: '55' is not a code of psn_cert_type")
    assert refused(platform, h, "4205", {"mdtrtinfo": stay("MZ002", medfee_sumamt="10.00"),
                                         "feedetail": [fee("MZ002", "1")]}) == \
        "input.mdtrtinfo.medfee_sumamt: 10.00 sent, but the fee lines sum to 50.00"
    assert refused(platform, h, "4205", {"mdtrtinfo": stay("MZ002"), "feedetail": [fee("MZ003", "1")]}).startswith(
        "input.feedetail[0].fixmedins_mdtrt_id: MZ003 is not the visit of mdtrtinfo")
    assert refused(platform, h, "4203", flat("NOPE", cplt_flag="1")) == \
        "input.fixmedins_mdtrt_id: no self-pay visit NOPE at this institution"
    assert refused(platform, h, "4204", {"feedetail": {"fixmedins_mdtrt_id": "NOPE"}}) == \
        "input.feedetail.fixmedins_mdtrt_id: no self-pay fee lines of visit NOPE at this institution"
    # an inpatient stay's lines cannot go to an outpatient visit, nor the reverse
    h.ok("4205", {"mdtrtinfo": stay("MZ004"), "feedetail": [fee("MZ004", "1")]})
    assert refused(platform, h, "4202", {"ownPayPatnMdtrtD": stay("MZ004")}) == \
        "input.ownPayPatnMdtrtD.fixmedins_mdtrt_id: visit MZ004 was reported as outpatient"
    assert refused(platform, h, "4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("MZ004", "2")]}).startswith(
        "input.fsiOwnpayPatnFeeListDDTO[0].fixmedins_mdtrt_id: visit MZ004 is an outpatient visit")
    # uploads need a sign-in
    answer = h.send(h.envelope("4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("ZY005", "1")]}, sign_no=""))
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("sign_no")


def test_queries_need_no_sign_in(platform: Any) -> None:
    h = platform.client()
    h.ok("4205", {"mdtrtinfo": stay("MZ010"), "diseinfo": [DIAG], "feedetail": [fee("MZ010", "1")]})
    for infno in ("4207", "4208", "4209"):
        answer = h.send(h.envelope(infno, flat("MZ010"), sign_no=""))
        assert answer["infcode"] == 0, answer["err_msg"]
        assert answer["output"]["total"] == 1


def test_another_institution_sees_and_changes_nothing(platform: Any) -> None:
    h, gz = platform.client(), platform.client(GZ_HOSPITAL)
    h.ok("4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("ZY020", "1")]})
    h.ok("4202", {"ownPayPatnMdtrtD": stay("ZY020"), "ownPayPatnDiagListD": [DIAG]})
    mine = {"fixmedins_mdtrt_id": "ZY020"}
    assert gz.ok("4207", mine)["data"] == [] and gz.ok("4209", mine)["data"] == []
    assert refused(platform, gz, "4208", mine) == \
        "input.fixmedins_mdtrt_id: no self-pay visit ZY020 at this institution"
    assert refused(platform, gz, "4207", flat("ZY020")) == \
        f"input.fixmedins_code: {SZ_HOSPITAL} is not the calling institution {GZ_HOSPITAL}"
    assert refused(platform, gz, "4203", {**mine, "cplt_flag": "1"}).startswith("input.fixmedins_mdtrt_id: no self-pay")
    assert refused(platform, gz, "4204", {"feedetail": mine}).startswith(
        "input.feedetail.fixmedins_mdtrt_id: no self-pay fee lines")
    assert refused(platform, gz, "4206", mine).startswith("input.fixmedins_mdtrt_id: no self-pay visit ZY020")
    # the same visit number at another institution is that institution's own visit
    gz.ok("4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("ZY020", "7", fixmedins_code=GZ_HOSPITAL)]})
    assert [r["bkkp_sn"] for r in gz.ok("4207", mine)["data"]] == ["7"]
    assert [r["bkkp_sn"] for r in h.ok("4207", mine)["data"]] == ["1"]


# -- twins raced (issue 15 review) ---------------------------------------------------------------------------

def _race(platform: Any, infno: str, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send the messages at once, each under its own msgid, as a HIS that retries without waiting would."""
    h = platform.client()
    sign = h.sign_no()
    gateway = platform.app.state.gateway
    bodies = [wire.encode(h.envelope(infno, x, sign_no=sign)) for x in inputs]
    start = threading.Barrier(len(bodies))
    answers: list[dict[str, Any] | None] = [None] * len(bodies)

    def send(i: int) -> None:
        start.wait()
        answers[i] = gateway.handle(signed_headers(SZ_HOSPITAL, "test-secret-sz"), bodies[i], None)[1]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def test_twin_uploads_of_a_new_line_and_a_new_visit_never_fail_inside(platform: Any) -> None:
    for n in range(3):
        answers = _race(platform, "4201A", [{"fsiOwnpayPatnFeeListDDTO": [fee(f"ZYR{n}", "1"), fee(f"ZYR{n}", "2")]}
                                            for _ in range(4)])
        for a in answers:
            assert a["infcode"] == 0 or a["err_msg"].startswith("input."), a["err_msg"]
        assert any(a["infcode"] == 0 for a in answers)
        answers = _race(platform, "4205", [{"mdtrtinfo": stay(f"MZR{n}", med_type="11"), "diseinfo": [DIAG],
                                            "feedetail": [fee(f"MZR{n}", "1")]} for _ in range(4)])
        for a in answers:
            assert a["infcode"] == 0 or a["err_msg"].startswith("input."), a["err_msg"]
        assert any(a["infcode"] == 0 for a in answers)
    with platform.store.unit_of_work() as s:
        lines = s.execute(select(SelfpayFee.fixmedins_mdtrt_id, SelfpayFee.bkkp_sn)).all()
        visits = s.scalars(select(SelfpayVisit.fixmedins_mdtrt_id)).all()
    assert sorted(lines) == sorted({(f"{k}{n}", sn) for n in range(3) for k, sn in
                                    (("ZYR", "1"), ("ZYR", "2"), ("MZR", "1"))})
    assert sorted(visits) == sorted(f"MZR{n}" for n in range(3))


def test_a_batch_of_lines_is_read_in_one_query_and_each_visit_locked_once(platform: Any) -> None:
    h = platform.client()
    lines = [fee(f"ZYB{v}", str(n)) for v in range(3) for n in range(10)]
    h.ok("4201A", {"fsiOwnpayPatnFeeListDDTO": lines[:5]})
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(platform.store.engine, "before_cursor_execute", seen)
    try:
        h.ok("4201A", {"fsiOwnpayPatnFeeListDDTO": lines})
    finally:
        event.remove(platform.store.engine, "before_cursor_execute", seen)
    assert sum(1 for s in statements if s.startswith("SELECT") and "FROM selfpay_fees" in s) == 1
    assert sum(1 for s in statements if s.startswith("SELECT") and "FROM selfpay_visits" in s) == 1
    assert sum(1 for s in statements if "pg_advisory_xact_lock" in s) in (0, 3)
    assert len(h.ok("4207", flat("ZYB0", page_size=100))["data"]) == 10


@pytest.mark.parametrize(("field", "longest"), [("med_list_codg", 50), ("medins_list_codg", 150), ("bkkp_sn", 30),
                                                ("fixmedins_mdtrt_id", 30), ("fixmedins_code", 30)])
def test_a_value_longer_than_its_column_is_refused_by_name(platform: Any, field: str, longest: int) -> None:
    h = platform.client()
    too_long = "X" * (longest + 1)
    for infno, input_, path in (
            ("4201A", {"fsiOwnpayPatnFeeListDDTO": [fee("ZYL", "1", **{field: too_long})]},
             "input.fsiOwnpayPatnFeeListDDTO[0]"),
            ("4205", {"mdtrtinfo": stay("MZL"), "feedetail": [fee("MZL", "1", **{field: too_long})]},
             "input.feedetail[0]")):
        err = refused(platform, h, infno, input_)
        assert err.startswith(f"{path}.{field}: ") and "at most" in err, err
    if field in ("fixmedins_mdtrt_id", "fixmedins_code"):
        assert refused(platform, h, "4203", flat("ZYL", cplt_flag="1", **{field: too_long})).startswith(
            f"input.{field}: ")
        assert refused(platform, h, "4204", {"feedetail": flat("ZYL", **{field: too_long})}).startswith(
            f"input.feedetail.{field}: ")
    if field == "bkkp_sn":
        assert refused(platform, h, "4204", {"feedetail": flat("ZYL"), "feedetl": [{"bkkp_sn": too_long}]}
                       ).startswith("input.feedetl")
