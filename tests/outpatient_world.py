"""The outpatient world shared by the wire tests: the conformance dataset (the worked examples of rules.md A, B
and C), a HIS speaking to the in-process platform (`Hub`, `His`, `Visit_`), and direct reads of the books.

Used by test_outpatient.py and the modules that build on its dataset (monthly cycle, filing, cross-region,
mutual aid, mobile payment); the `hub` fixture is in conftest.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from helpers import count, snapshot
from sqlalchemy import select

from yibao.app import create_app
from yibao.client import PlatformClient
from yibao.dataset.loader import load_document
from yibao.store.db import Store
from yibao.store.models import (
    Account,
    Accumulator,
    BankInstruction,
    FeeDetail,
    MutualAidAuthorization,
)

D = Decimal
ZERO = D("0.00")
YEAR = 2026


# -- the dataset ---------------------------------------------------------------------------------------

def id_card(first17: str) -> str:
    """An ID card number with a valid GB 11643 check digit."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


CATALOG = [
    {"code": "EX-DRUG-A", "name": "药品甲", "chrgitm_lv": "01", "selfpay_prop": "0", "pric_uplmt_amt": None,
     "med_chrgitm_type": "09"},
    {"code": "EX-DRUG-B", "name": "药品乙", "chrgitm_lv": "02", "selfpay_prop": "0.10", "pric_uplmt_amt": "100.00",
     "med_chrgitm_type": "09"},
    {"code": "EX-ITEM-C", "name": "项目丙", "chrgitm_lv": "03", "selfpay_prop": "1", "pric_uplmt_amt": None,
     "med_chrgitm_type": "14"},
]
MUTUAL_AID = {"enabled": True, "authorizer_min_balance": None,
              "relation_limits": {"spouse": 1, "father": 1, "mother": 1, "child": 4}}


def policy(insutype: str, deductible: str, ratio: str, cap: str, scope: str = "all", med_types: tuple = ("11",),
           bucket: str = "outpatient") -> dict[str, Any]:
    return {"insutype": insutype, "med_types": list(med_types), "bucket": bucket, "deductible": deductible,
            "ratio": ratio, "annual_cap": cap, "acct_scope": scope}


def region(admdvs: str, name: str, policies: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"admdvs": admdvs, "name": name, "acct_bookkeeping": True, "inprov_outpatient_filing_required": False,
            "referral_filing_max_days": 90, "mutual_aid": copy.deepcopy(MUTUAL_AID), "local_only_diseases": [],
            "diseases": [], "policies": policies, "catalog": copy.deepcopy(CATALOG), **extra}


def person(psn_no: str, name: str, certno: str, insutype: str, admdvs: str, psn_type: str,
           balance: str | None = None, **extra: Any) -> dict[str, Any]:
    out = {"psn_no": psn_no, "name": name, "certno": certno, "gend": "1" if int(certno[16]) % 2 else "2",
           "brdy": f"{certno[6:10]}-{certno[10:12]}-{certno[12:14]}", "insutype": insutype, "admdvs": admdvs,
           "psn_type": psn_type, "arrears": False, "suspended": False, "ecard": f"EC-{psn_no}",
           "card_no": f"SC{psn_no[-8:]}", **extra}
    if balance is not None:
        out["account"] = {"balance": balance, "admdvs": admdvs}
    return out


SZ_HOSP, TY_HOSP, HF_HOSP = "H44030000101", "H14010000101", "H34010000101"
EMPLOYEE = "44030000000000000101"       # example A: Shenzhen employee, balance 500.00
PARENT = "14010000000000000101"         # example B: Taiyuan employee, balance 3000.00
CHILD = "14010000000000000102"          # example B: Taiyuan resident child, quota 1000.00 on the parent
MOTHER = "34010000000000000101"         # example C: Hefei employee, balance 2000.00
SON = "34010000000000000102"            # example C: Hefei employee, own balance 40.00, no quota on the mother


def base_doc() -> dict[str, Any]:
    """The conformance dataset: the three worked examples of rules.md."""
    return {
        "today": "2026-03-16",
        "regions": [
            region("440300", "深圳市(示例)", [policy("310", "100.00", "0.60", "5000.00")]),
            region("140100", "太原市(示例)", [policy("390", "0.00", "0.50", "800.00"),
                                              policy("310", "100.00", "0.60", "5000.00")]),
            region("340100", "合肥市(示例)", [policy("310", "0.00", "0.50", "800.00")]),
        ],
        "institutions": [
            {"code": SZ_HOSP, "name": "示例医院(深圳)", "admdvs": "440300", "kind": "hospital", "level": "3",
             "xregion": "none", "internet": False, "secret": "conf-secret-sz"},
            {"code": TY_HOSP, "name": "示例医院(太原)", "admdvs": "140100", "kind": "hospital", "level": "2",
             "xregion": "none", "internet": False, "secret": "conf-secret-ty"},
            {"code": HF_HOSP, "name": "示例医院(合肥)", "admdvs": "340100", "kind": "hospital", "level": "2",
             "xregion": "none", "internet": False, "secret": "conf-secret-hf"},
        ],
        "persons": [
            person(EMPLOYEE, "例甲", "440301199001011015", "310", "440300", "1101", "500.00"),
            person(PARENT, "例父", "140101197001011014", "310", "140100", "1101", "3000.00"),
            person(CHILD, "例童", "14010120180101102X", "390", "140100", "1402"),
            person(MOTHER, "例母", "340101197201011016", "310", "340100", "1101", "2000.00"),
            person(SON, "例子", "340101199501011025", "310", "340100", "1101", "40.00"),
        ],
        "mutual_aid": [
            {"authorizer": PARENT, "beneficiary": CHILD, "relation": "child", "quota": "1000.00",
             "start": "2026-01-01", "end": "2026-12-31", "priority": 1},
            {"authorizer": MOTHER, "beneficiary": SON, "relation": "child", "quota": None,
             "start": "2026-01-01", "end": "2026-12-31", "priority": 1},
        ],
        "filings": [],
    }


def person_in(doc: dict[str, Any], psn_no: str) -> dict[str, Any]:
    return next(p for p in doc["persons"] if p["psn_no"] == psn_no)


def region_in(doc: dict[str, Any], admdvs: str) -> dict[str, Any]:
    return next(r for r in doc["regions"] if r["admdvs"] == admdvs)


# -- the HIS side --------------------------------------------------------------------------------------

EXAMPLE_A = [("EX-DRUG-A", "50.00", "2"), ("EX-DRUG-B", "120.00", "1"), ("EX-ITEM-C", "30.00", "1")]
EXAMPLE_B = [("EX-DRUG-A", "100.00", "2"), ("EX-ITEM-C", "30.00", "1")]  # inscp 200.00, fulamt 30.00


class Visit_:
    """One registered outpatient visit with its uploaded batch, and the 2206/2207 inputs that settle it."""

    def __init__(self, his: His, who: dict[str, Any], mdtrt_id: str, batch: str, rows: list[dict[str, Any]],
                 med_type: str, acct_used_flag: str):
        self.his, self.who, self.mdtrt_id, self.batch, self.rows = his, who, mdtrt_id, batch, rows
        self.med_type, self.acct_used_flag = med_type, acct_used_flag

    def sums(self) -> dict[str, Decimal]:
        return {k: sum((r[k] for r in self.rows), ZERO) for k in
                ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")}

    def data_2206(self, **over: Any) -> dict[str, Any]:
        s = self.sums()
        return {"data": {"psn_no": self.who["psn_no"], "mdtrt_cert_type": "02", "mdtrt_cert_no": self.who["certno"],
                         "med_type": self.med_type, "medfee_sumamt": str(s["det_item_fee_sumamt"]),
                         "psn_setlway": "01", "mdtrt_id": self.mdtrt_id, "chrg_bchno": self.batch,
                         "acct_used_flag": self.acct_used_flag, "insutype": self.who["insutype"], **over}}

    def data_2207(self, **over: Any) -> dict[str, Any]:
        s = self.sums()
        base = self.data_2206()["data"]
        base.update({"invono": "INV-1", "fulamt_ownpay_amt": str(s["fulamt_ownpay_amt"]),
                     "overlmt_selfpay": str(s["overlmt_amt"]), "preselfpay_amt": str(s["preselfpay_amt"]),
                     "inscp_scp_amt": str(s["inscp_scp_amt"])})
        base.update(over)
        return {"data": base}

    def presettle(self, infno: str = "2206") -> dict[str, Any]:
        return self.his.ok(infno, self.data_2206(), self.who["admdvs"])

    def settle(self, infno: str = "2207") -> dict[str, Any]:
        return self.his.ok(infno, self.data_2207(), self.who["admdvs"])

    def cancel_input(self, setl_id: str) -> dict[str, Any]:
        return {"data": {"setl_id": setl_id, "mdtrt_id": self.mdtrt_id, "psn_no": self.who["psn_no"]}}

    def cancel(self, setl_id: str) -> dict[str, Any]:
        return self.his.ok("2208", self.cancel_input(setl_id), self.who["admdvs"])


class His:
    """A hospital's system speaking to the platform in-process."""

    def __init__(self, client: PlatformClient, store: Store):
        self.client, self.store = client, store
        self._n = 0

    def call(self, infno: str, input_: dict[str, Any], insuplc: str = "") -> dict[str, Any]:
        return self.client.call(infno, input_, insuplc)

    def ok(self, infno: str, input_: dict[str, Any], insuplc: str = "") -> dict[str, Any]:
        """The whole answer envelope of a call that must succeed."""
        answer = self.call(infno, input_, insuplc)
        assert answer["infcode"] == 0, f"{infno} refused: {answer['err_msg']}"
        return answer

    def refused(self, infno: str, input_: dict[str, Any], insuplc: str = "") -> str:
        """A call that must be refused and write nothing but its audit row; its err_msg."""
        self.client.sign_no()  # sign in first, outside the snapshot
        before, logs = snapshot(self.store), count(self.store, "message_log")
        answer = self.call(infno, input_, insuplc)
        assert answer["infcode"] == -1, f"{infno} was not refused: {answer['output']}"
        assert snapshot(self.store) == before, f"the refused {infno} wrote business state"
        assert count(self.store, "message_log") == logs + 1
        return str(answer["err_msg"])

    # the message sequence of shared/conformance/his.py outpatient()
    def registration(self, who: dict[str, Any], ipt_otp_no: str | None = None, **over: Any) -> dict[str, Any]:
        self._n += 1
        return {"data": {"psn_no": who["psn_no"], "insutype": who["insutype"], "begntime": "2026-03-16 09:00:00",
                         "mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"],
                         "ipt_otp_no": ipt_otp_no or f"OTP-{who['psn_no'][-4:]}-{self._n}", "atddr_no": "DR01",
                         "dr_name": "医生", "dept_code": "D01", "dept_name": "内科", "caty": "A03", **over}}

    def register(self, who: dict[str, Any], ipt_otp_no: str | None = None) -> str:
        out = self.ok("2201", self.registration(who, ipt_otp_no), who["admdvs"])["output"]
        assert out["data"]["psn_no"] == who["psn_no"]
        return str(out["data"]["mdtrt_id"])

    def visit_info(self, who: dict[str, Any], mdtrt_id: str, med_type: str = "11", dise_codg: str = "") -> None:
        self.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": who["psn_no"], "med_type": med_type,
                                       "begntime": "2026-03-16 09:00:00", "main_cond_dscr": "",
                                       "dise_codg": dise_codg, "dise_name": ""},
                         "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "J06.900",
                                       "diag_name": "上呼吸道感染", "diag_dept": "内科", "dise_dor_no": "DR01",
                                       "dise_dor_name": "医生", "diag_time": "2026-03-16 09:10:00",
                                       "vali_flag": "1"}]}, who["admdvs"])

    def upload(self, who: dict[str, Any], mdtrt_id: str, batch: str,
               items: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
        out = self.ok("2204", {"feedetail": fee_lines(mdtrt_id, who["psn_no"], batch, items)}, who["admdvs"])
        rows = out["output"]["result"]
        assert [r["feedetl_sn"] for r in rows] == [f"{batch}-{i:03d}" for i in range(1, len(items) + 1)]
        return list(rows)

    def visit(self, who: dict[str, Any], items: list[tuple[str, str, str]], *, med_type: str = "11",
              acct_used_flag: str = "1", batch: str | None = None, dise_codg: str = "") -> Visit_:
        mdtrt_id = self.register(who)
        self.visit_info(who, mdtrt_id, med_type, dise_codg)
        batch = batch or f"B{who['psn_no'][-4:]}{self._n}"
        rows = self.upload(who, mdtrt_id, batch, items)
        return Visit_(self, who, mdtrt_id, batch, rows, med_type, acct_used_flag)


def fee_lines(mdtrt_id: str, psn_no: str, batch: str, items: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    out = []
    for i, (code, pric, cnt) in enumerate(items, 1):
        amt = (D(pric) * D(cnt)).quantize(D("0.01"))
        out.append({"feedetl_sn": f"{batch}-{i:03d}", "mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": batch,
                    "dise_codg": "", "rxno": "", "rx_circ_flag": "0", "fee_ocur_time": "2026-03-16 09:30:00",
                    "med_list_codg": code, "medins_list_codg": "H-" + code, "det_item_fee_sumamt": str(amt),
                    "cnt": cnt, "pric": pric, "sin_dos_dscr": "", "used_frqu_dscr": "", "prd_days": "1",
                    "medc_way_dscr": "", "bilg_dept_codg": "D01", "bilg_dept_name": "内科", "bilg_dr_codg": "DR01",
                    "bilg_dr_name": "医生", "hosp_appr_flag": "0"})
    return out


class Hub:
    """The platform in-process over a dataset document loaded into the test's database."""

    def __init__(self, store: Store):
        self.store = store
        self.doc: dict[str, Any] = {}
        self.http: TestClient | None = None
        self._his: dict[str, His] = {}

    def load(self, change: Callable[[dict[str, Any]], None] | None = None) -> Hub:
        doc = base_doc()
        if change:
            change(doc)
        load_document(self.store, doc)
        self.doc = doc
        self.http = TestClient(create_app(self.store))
        return self

    def his(self, code: str = SZ_HOSP) -> His:
        """One client per institution, as a HIS has: its msgid sequence never repeats itself."""
        if code not in self._his:
            inst = next(i for i in self.doc["institutions"] if i["code"] == code)
            client = PlatformClient("http://testserver", code, inst["secret"], inst["admdvs"], opter="op01",
                                    http=self.http)
            self._his[code] = His(client, self.store)
        return self._his[code]

    def who(self, psn_no: str) -> dict[str, Any]:
        return person_in(self.doc, psn_no)

# -- reading the database ------------------------------------------------------------------------------

def balance(store: Store, psn_no: str) -> Decimal:
    with store.unit_of_work() as s:
        acct = s.get(Account, psn_no)
        assert acct is not None
        return acct.balance


def usage(store: Store, psn_no: str, bucket: str = "outpatient") -> tuple[Decimal, Decimal]:
    """(deductible_used, fund_paid) this year; a missing row is nothing used."""
    with store.unit_of_work() as s:
        acc = s.get(Accumulator, (psn_no, YEAR, bucket))
        return (acc.deductible_used, acc.fund_paid) if acc else (ZERO, ZERO)


def quota_used(store: Store, authorizer: str, beneficiary: str) -> Decimal:
    with store.unit_of_work() as s:
        return s.scalars(select(MutualAidAuthorization.quota_used).where(
            MutualAidAuthorization.authorizer == authorizer, MutualAidAuthorization.beneficiary == beneficiary)).one()


def lines_of(store: Store, mdtrt_id: str) -> list[FeeDetail]:
    with store.unit_of_work() as s:
        return list(s.scalars(select(FeeDetail).where(FeeDetail.mdtrt_id == mdtrt_id).order_by(FeeDetail.id)))


def instructions(store: Store) -> list[tuple[str, str, Decimal, str]]:
    with store.unit_of_work() as s:
        return [(b.code, b.psn_no, b.amount, b.setl_id) for b in
                s.scalars(select(BankInstruction).order_by(BankInstruction.created_at, BankInstruction.journal_id))]


def check_amounts(info: dict[str, Any], want: dict[str, str]) -> None:
    """Each figure to the cent, written with two places (pool_prop_selfpay with four)."""
    for key, value in want.items():
        got = info[key]
        assert isinstance(got, Decimal), f"{key} is {got!r}, not a decimal"
        assert got == D(value), f"{key}: got {got}, want {value}"
        places = 4 if key == "pool_prop_selfpay" else 2
        assert -got.as_tuple().exponent == places, f"{key} is written {got}, not with {places} places"


# interface.md 3.1: every field of setlinfo (setl_id only once settled)
SETLINFO_FIELDS = (
    "mdtrt_id", "psn_no", "psn_name", "psn_cert_type", "certno", "gend", "naty", "brdy", "age", "insutype",
    "psn_type", "cvlserv_flag", "setl_time", "mdtrt_cert_type", "med_type", "medfee_sumamt", "fulamt_ownpay_amt",
    "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay",
    "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "hifdm_pay", "fund_pay_sumamt",
    "psn_part_amt", "acct_pay", "psn_cash_pay", "hosp_part_amt", "balc", "acct_mulaid_pay", "medins_setl_id",
    "clr_optins", "clr_way", "clr_type", "exp_content",
)
UNUSED_FUNDS = ("cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "hifdm_pay",
                "hosp_part_amt")

EXAMPLE_A_FIGURES = {
    "medfee_sumamt": "250.00", "fulamt_ownpay_amt": "30.00", "overlmt_selfpay": "20.00", "preselfpay_amt": "10.00",
    "inscp_scp_amt": "190.00", "act_pay_dedc": "100.00", "hifp_pay": "54.00", "pool_prop_selfpay": "0.6000",
    "fund_pay_sumamt": "54.00", "psn_part_amt": "196.00", "acct_pay": "196.00", "acct_mulaid_pay": "0.00",
    "psn_cash_pay": "0.00", "balc": "304.00", **{f: "0.00" for f in UNUSED_FUNDS},
}


def one_of(out: dict[str, Any]) -> dict[str, Any]:
    return dict(out["output"]["setlinfo"])
