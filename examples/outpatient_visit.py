"""One outpatient visit against a running platform, as a hospital system would run it:
sign in, 1101, 2201, 2203, 2204, 2206, 2207 — then 2208 to cancel it. Worked example A of rules.md on
the demo data (Shenzhen, employee 陈建国, balance 500.00).

    .venv/bin/python examples/outpatient_visit.py [--url http://127.0.0.1:8000] [--keep]
"""

from __future__ import annotations

import argparse
import secrets
from decimal import Decimal

from yibao.client import PlatformClient

PSN, CERTNO = "44030000000000000001", "440304198504121034"
LINES = [("XJ01CAA040A001", "50.00", 2), ("XC10AAA067A001", "120.00", 1), ("001109000010000", "30.00", 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--keep", action="store_true", help="leave the settlement in place (no 2208)")
    args = ap.parse_args()
    his = PlatformClient(args.url, "H44030000001", "demo-secret-sz-1", "440300", opter="demo01")
    who = his.ok("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO}})
    print("1101", who["baseinfo"]["psn_name"], "balance", who["insuinfo"][0]["balc"])
    tag = "DEMO" + secrets.token_hex(3).upper()
    reg = his.ok("2201", {"data": {"psn_no": PSN, "insutype": "310", "begntime": "2026-03-16 09:00:00",
                                   "mdtrt_cert_type": "02", "mdtrt_cert_no": CERTNO, "ipt_otp_no": tag}})
    mdtrt_id = reg["data"]["mdtrt_id"]
    his.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": PSN, "med_type": "11",
                                  "begntime": "2026-03-16 09:00:00"}, "diseinfo": []})
    lines = [{"feedetl_sn": f"{tag}-{i}", "mdtrt_id": mdtrt_id, "psn_no": PSN, "chrg_bchno": tag,
              "fee_ocur_time": "2026-03-16 09:30:00", "med_list_codg": code, "medins_list_codg": code,
              "det_item_fee_sumamt": str((Decimal(pric) * cnt).quantize(Decimal("0.01"))), "cnt": str(cnt),
              "pric": pric} for i, (code, pric, cnt) in enumerate(LINES, 1)]
    split = his.ok("2204", {"feedetail": lines})["result"]
    sums = {k: sum((r[k] for r in split), Decimal("0.00")) for k in
            ("det_item_fee_sumamt", "fulamt_ownpay_amt", "overlmt_amt", "preselfpay_amt", "inscp_scp_amt")}
    data = {"psn_no": PSN, "mdtrt_cert_type": "02", "med_type": "11", "medfee_sumamt": str(sums["det_item_fee_sumamt"]),
            "mdtrt_id": mdtrt_id, "chrg_bchno": tag, "acct_used_flag": "1", "insutype": "310"}
    pre = his.ok("2206", {"data": data})["setlinfo"]
    print("2206 pre-settlement: fund", pre["fund_pay_sumamt"], "account", pre["acct_pay"], "cash", pre["psn_cash_pay"])
    data.update(fulamt_ownpay_amt=str(sums["fulamt_ownpay_amt"]), overlmt_selfpay=str(sums["overlmt_amt"]),
                preselfpay_amt=str(sums["preselfpay_amt"]), inscp_scp_amt=str(sums["inscp_scp_amt"]))
    setl = his.ok("2207", {"data": data})["setlinfo"]
    for key in ("setl_id", "medfee_sumamt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "fund_pay_sumamt",
                "psn_part_amt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay", "balc"):
        print(f"2207 {key:16} {setl[key]}")
    if not args.keep:
        back = his.ok("2208", {"data": {"setl_id": setl["setl_id"], "mdtrt_id": mdtrt_id, "psn_no": PSN}})
        print("2208 cancelled; balance back to", back["setlinfo"]["balc"])


if __name__ == "__main__":
    main()
