"""The mobile-payment centre's messages (interface.md 6.2): their camelCase fields, checked like the national
interface's, and the names between the two spellings."""

from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from yibao.errors import Refusal
from yibao.gateway.fields import Amount, Flag, InsuType, MedType, Number, SetlWay, Text, Time, code
from yibao.gateway.registry import Node
from yibao.mobilepay.envelope import compact_json
from yibao.validation import problems_of

CENTS = Decimal("0.00")


# -- names -------------------------------------------------------------------------------------------

def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def snake_keys(row: dict[str, Any]) -> dict[str, Any]:
    return {snake(k): v for k, v in row.items()}


def camel_keys(row: dict[str, Any]) -> dict[str, Any]:
    return {camel(k): v for k, v in row.items()}


_PATH = re.compile(r"\binput\.(data|mdtrtinfo|feedetail|diseinfo)((?:\[\d+\])?)\.([a-z0-9_]+)")
_RENAMED = {"mdtrt_cert_no": "payAuthNo", "overlmt_amt": "overlmtSelfpay"}
_LEADING = (("insuplc_admdvs:", "data.insuCode:"), ("fixmedins_code:", "data.orgCodg:"),
            ("feedetail:", "data.feedetailList:"))


def to_camel_paths(message: str) -> str:
    """A handler's `input.data.psn_no: rule` as the mobile-payment field: `data.psnNo: rule`."""
    def repl(m: re.Match[str]) -> str:
        node, index, name = m.groups()
        where = {"feedetail": "data.feedetailList", "diseinfo": "data.diseinfoList"}.get(node, "data")
        return f"{where}{index}.{_RENAMED.get(name, camel(name))}"

    message = _PATH.sub(repl, message)
    for old, new in _LEADING:
        if message.startswith(old):
            message = new + message[len(old):]
    return message


def validate(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Refusal("; ".join(f"{p}: {r}" for p, r in problems_of(exc, ["data"]))) from None


def fingerprint(data: Any) -> str:
    return hashlib.sha256(compact_json(data).encode("utf-8")).hexdigest()


def decimals_as_text(value: Any) -> Any:
    """Every decimal of an answer as its decimal string ("250.00", "0.6000"): any client's JSON parser keeps a
    string as written, so the sign text it rebuilds is the one signed (a number 250.00 would come back as 250
    in JavaScript, and the signature would not verify)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: decimals_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decimals_as_text(v) for v in value]
    return value



class FeeLine6201(Node):
    """One line of feedetailList: the 2204 fields in camelCase."""

    feedetlSn: Text = Field(min_length=1, max_length=30)
    chrgBchno: Text = ""
    rxno: Text = ""
    rxCircFlag: Flag = "0"
    feeOcurTime: Time
    medListCodg: Text = Field(min_length=1)
    medinsListCodg: Text = ""
    detItemFeeSumamt: Amount
    cnt: Number
    pric: Number
    hospApprFlag: code("hosp_appr_flag", empty=True) = "0"
    diseCodg: Text = ""


class Data6201(Node):
    orgCodg: Text = Field(min_length=1)
    psnNo: Text = Field(min_length=1)
    insutype: InsuType
    medOrgOrd: Text = Field(min_length=1, max_length=64)
    begntime: Time
    idNo: Text = Field(min_length=1)
    userName: Text = Field(min_length=1)
    idType: code("psn_cert_type")
    insuCode: Text = Field(pattern=r"^\d{6}$")
    iptOtpNo: Text = Field(min_length=1, max_length=30)
    deptName: Text = Field(min_length=1)
    deptCode: Text = Field(min_length=1)
    caty: Text = Field(min_length=1)
    medType: MedType
    feeType: Text = Field(min_length=1)
    psnSetlway: SetlWay
    chrgBchno: Text = Field(min_length=1, max_length=30)
    pubHospRfomFlag: Text = Field(min_length=1)
    medfeeSumamt: Amount
    feedetailList: list[FeeLine6201] = Field(min_length=1)
    payAuthNo: Text = ""
    ecToken: Text = ""
    mdtrtId: Text = ""
    atddrNo: Text = ""
    drName: Text = ""
    acctUsedFlag: Flag | None = None
    mainCondDscr: Text = ""
    diseCodg: Text = ""
    diseName: Text = ""
    fulamtOwnpayAmt: Amount | None = None
    overlmtSelfpay: Amount | None = None
    preselfpayAmt: Amount | None = None
    inscpScpAmt: Amount | None = None
    diseinfoList: list[dict[str, Any]] = []


class Data6202(Node):
    payOrdId: Text = Field(min_length=1)
    payToken: Text = Field(min_length=1)
    payAuthNo: Text = ""
    ecToken: Text = ""
    orgCodg: Text = ""
    orgBizSer: Text = ""
    chrgBchno: Text = ""
    feeType: Text = ""
    mdtrtId: Text = ""
    acctUsedFlag: Flag | None = None


class Data6203(Node):
    payOrdId: Text = Field(min_length=1)
    appRefdSn: Text = Field(min_length=1, max_length=64)
    appRefdTime: Text = Field(pattern=r"^\d{14}$")
    totlRefdAmt: Amount
    cashRefdAmt: Amount = CENTS
    psnAcctRefdAmt: Amount = CENTS
    fundRefdAmt: Amount = CENTS
    refdType: Literal["ALL", "CASH", "HI"]
    ecToken: Text = ""
    payAuthNo: Text = ""
    revsToken: Text = ""
    orgCodg: Text = ""


class Data6301(Node):
    payOrdId: Text = Field(min_length=1)
    payToken: Text = Field(min_length=1)
    orgCodg: Text = ""
    idNo: Text = ""
    userName: Text = ""
    idType: Text = ""


class Data6401(Data6301):
    """6401 names the order and its holder as 6301 does."""
