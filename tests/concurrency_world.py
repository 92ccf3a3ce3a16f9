"""The concurrency world of test_concurrency.py and test_mutual_aid_concurrency.py: a small Shenzhen dataset (an
employee, a parent and two children on the parent's account) and a Desk that prepares visits one by one, then fires
their messages at once through the gateway's own pipeline (`app.state.gateway.handle`), one thread each."""

import threading
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from helpers import signed_headers
from sqlalchemy import select

from yibao import wire
from yibao.app import create_app
from yibao.client import PlatformClient
from yibao.dataset.loader import load_document
from yibao.gateway.service import Gateway
from yibao.store.db import Store
from yibao.store.models import Account, AccountEntry, Accumulator, MutualAidAuthorization

D = Decimal
ZERO = D("0.00")
REGION, HOSP, SECRET = "440300", "H44030000201", "conc-secret-sz"
EMPLOYEE, EMPLOYEE_CERT = "44030000000000000201", "440301199001011015"
PARENT, PARENT_CERT = "44030000000000000202", "440301197001011016"
KIDS = {"44030000000000000203": "440301201801011021", "44030000000000000204": "440301201901011010"}
THREADS = 8


def dataset(employee_balance: str, parent_balance: str, quota: str) -> dict[str, Any]:
    def who(psn_no: str, certno: str, insutype: str, brdy: str, balance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"psn_no": psn_no, "name": "例" + psn_no[-2:], "certno": certno, "gend": "1",
                               "brdy": brdy, "insutype": insutype, "admdvs": REGION,
                               "psn_type": "1101" if insutype == "310" else "1402"}
        if balance is not None:
            out["account"] = {"balance": balance, "admdvs": REGION}
        return out

    return {
        "today": "2026-03-16",
        "regions": [{
            "admdvs": REGION, "name": "深圳市(示例)", "acct_bookkeeping": True,
            "mutual_aid": {"enabled": True, "authorizer_min_balance": None, "relation_limits": {"child": 4}},
            "policies": [
                {"insutype": "310", "med_types": ["11"], "bucket": "outpatient", "deductible": "100.00",
                 "ratio": "0.60", "annual_cap": "5000.00", "acct_scope": "all"},
                {"insutype": "390", "med_types": ["11"], "bucket": "outpatient", "deductible": "0.00",
                 "ratio": "0.50", "annual_cap": "800.00", "acct_scope": "all"}],
            "catalog": [{"code": "EX-DRUG-A", "name": "药品甲", "chrgitm_lv": "01", "selfpay_prop": "0",
                         "pric_uplmt_amt": None, "med_chrgitm_type": "09"}]}],
        "institutions": [{"code": HOSP, "name": "示例医院", "admdvs": REGION, "kind": "hospital", "level": "3",
                          "xregion": "none", "secret": SECRET}],
        "persons": [who(EMPLOYEE, EMPLOYEE_CERT, "310", "1990-01-01", employee_balance),
                    who(PARENT, PARENT_CERT, "310", "1970-01-01", parent_balance),
                    *[who(k, c, "390", f"{c[6:10]}-{c[10:12]}-{c[12:14]}") for k, c in KIDS.items()]],
        "mutual_aid": [{"authorizer": PARENT, "beneficiary": kid, "relation": "child", "quota": quota,
                        "start": "2026-01-01", "end": "2026-12-31", "priority": 1} for kid in KIDS],
    }


class Desk:
    """A hospital's desk that prepares visits one by one, then fires their settlements all at once."""

    def __init__(self, store: Store, doc: dict[str, Any]):
        load_document(store, doc)
        self.store = store
        app = create_app(store)
        self.gateway: Gateway = app.state.gateway
        self.client = PlatformClient("http://testserver", HOSP, SECRET, REGION, opter="op01", http=TestClient(app))
        self.n = 0

    def ok(self, infno: str, input_: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.call(infno, input_, REGION)
        assert answer["infcode"] == 0, f"{infno}: {answer['err_msg']}"
        return dict(answer["output"])

    def prepared_settlement(self, psn_no: str, certno: str, insutype: str, pric: str, cnt: str) -> bytes:
        """Register, upload one line of EX-DRUG-A; the 2207A message that settles it, ready to send."""
        self.n += 1
        mdtrt_id = self.ok("2201", {"data": {"psn_no": psn_no, "insutype": insutype, "begntime": "2026-03-16 09:00:00",
                                             "mdtrt_cert_type": "02", "mdtrt_cert_no": certno,
                                             "ipt_otp_no": f"OTP-{self.n}"}})["data"]["mdtrt_id"]
        self.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "med_type": "11",
                                       "begntime": "2026-03-16 09:00:00"}, "diseinfo": []})
        amount = str((D(pric) * D(cnt)).quantize(D("0.01")))
        row = self.ok("2204", {"feedetail": [{
            "feedetl_sn": "1", "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": "B1",
            "fee_ocur_time": "2026-03-16 09:30:00", "med_list_codg": "EX-DRUG-A", "medins_list_codg": "A",
            "det_item_fee_sumamt": amount, "cnt": cnt, "pric": pric}]})["result"][0]
        data = {"psn_no": psn_no, "mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "med_type": "11",
                "medfee_sumamt": amount, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": "B1",
                "acct_used_flag": "1", "insutype": insutype, "fulamt_ownpay_amt": str(row["fulamt_ownpay_amt"]),
                "overlmt_selfpay": str(row["overlmt_amt"]), "preselfpay_amt": str(row["preselfpay_amt"]),
                "inscp_scp_amt": str(row["inscp_scp_amt"])}
        return wire.encode(self.client.envelope("2207A", {"data": data}, REGION, self.client.sign_no()))

    def cancellation(self, info: dict[str, Any]) -> bytes:
        data = {"setl_id": info["setl_id"], "mdtrt_id": info["mdtrt_id"], "psn_no": info["psn_no"]}
        return wire.encode(self.client.envelope("2208", {"data": data}, REGION, self.client.sign_no()))

    def fire(self, bodies: list[bytes]) -> list[dict[str, Any]]:
        """Send every body at the same moment, one thread each; the answers in the order of `bodies`."""
        start = threading.Barrier(len(bodies))
        answers: list[dict[str, Any] | None] = [None] * len(bodies)
        headers = [signed_headers(HOSP, SECRET) for _ in bodies]

        def send(i: int) -> None:
            start.wait()
            answers[i] = self.gateway.handle(headers[i], bodies[i], None)[1]

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert all(a is not None for a in answers), "a thread did not answer"
        return [a for a in answers if a is not None]

    def books(self) -> dict[str, Any]:
        with self.store.unit_of_work() as s:
            return {
                "balances": {a.psn_no: a.balance for a in s.scalars(select(Account).order_by(Account.psn_no))},
                "quota_used": {g.beneficiary: g.quota_used for g in s.scalars(select(MutualAidAuthorization))},
                "accumulators": {a.psn_no: (a.deductible_used, a.fund_paid) for a in s.scalars(select(Accumulator))},
            }

    def journal_sum(self, psn_no: str, kind: str) -> Decimal:
        with self.store.unit_of_work() as s:
            return sum(s.scalars(select(AccountEntry.amount).where(AccountEntry.psn_no == psn_no,
                                                                   AccountEntry.kind == kind)), ZERO)


def settled(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The setlinfo of each answer; every one must have succeeded (nothing here is a reason to refuse)."""
    problems = [a["err_msg"] for a in answers if a["infcode"] != 0]
    assert not problems, f"{len(problems)} of {len(answers)} refused: {problems[:3]}"
    out = [dict(a["output"]["setlinfo"]) for a in answers]
    for info in out:  # rules.md 4 step 8 on every answer
        assert info["medfee_sumamt"] == info["fund_pay_sumamt"] + info["psn_part_amt"]
        assert info["psn_part_amt"] == info["acct_pay"] + info["psn_cash_pay"]
        assert 0 <= info["acct_mulaid_pay"] <= info["acct_pay"] and info["psn_cash_pay"] >= 0
    return out
