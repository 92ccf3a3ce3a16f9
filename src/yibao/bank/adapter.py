"""How the platform talks to a bank holding personal accounts and the funds' accounts: deliver one bookkeeping
instruction, read the bank's record of the instructions it booked. `HttpBankAdapter` speaks to the simulated bank
(`yibao.bank.simulated`) over HTTP; another bank gets another adapter with the same two methods."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import httpx
import simplejson

from yibao import httpcall
from yibao.money import from_fen, to_decimal, to_fen

DEFAULT_BANK_URL = "http://127.0.0.1:8010"
DEBIT, CREDIT = "acct_021", "acct_023"
#: yibao's own code (the national spec names none): a transfer out of a fund account (the provincial centre's
#: cross-region account, a region's fund) to `payee`, queued by the monthly allocation and clearing
FUND_TRANSFER = "fund_031"
#: the codes of a personal account's movements, each tied to an account_journal entry
ACCOUNT_CODES = (DEBIT, CREDIT)
CODES = (DEBIT, CREDIT, FUND_TRANSFER)
#: the codes that take money out of the `psn_no` account
DEBIT_CODES = (DEBIT, FUND_TRANSFER)


def bank_url() -> str:
    """YIBAO_BANK_URL, or the simulated bank's default address."""
    return os.environ.get("YIBAO_BANK_URL", "").strip() or DEFAULT_BANK_URL


class BankError(Exception):
    """The instruction was not acknowledged."""


class BankUnavailable(BankError):
    """The bank did not answer usefully (refused connection, timeout, 5xx, garbled answer): try again later.
    The instruction may or may not have been booked; re-sending it is safe, the bank acknowledges each id once."""


class BankRejected(BankError):
    """The bank refused this instruction (4xx), e.g. an id it already booked with other content."""


def amount_text(amount: Decimal) -> str:
    """The wire form of an amount: a decimal string with exactly two places (more places is an error)."""
    return str(from_fen(to_fen(amount)))


@dataclass(frozen=True)
class Instruction:
    """One bookkeeping instruction (interface.md section 10), as sent to the bank."""

    instruction_id: str
    code: str  # acct_021 debit | acct_023 credit | fund_031 fund transfer (a debit of psn_no)
    psn_no: str  # the account holder; for fund_031 the paying fund account, e.g. CENTRE-440000, FUND-440300
    acct_admdvs: str  # the account's region
    amount: Decimal  # positive; the code says which way
    setl_id: str  # for fund_031: the business reference (a declaration id, a fund-posting transaction id)
    beneficiary_psn_no: str | None = None  # the insured person served, when it is a mutual-aid movement
    payee: str | None = None  # fund_031 only: who receives the money (an institution code, a fund account)

    @classmethod
    def of(cls, row: Any) -> Instruction:
        """From a bank_outbox row (or anything with the same attributes)."""
        if isinstance(row, Instruction):
            return row
        return cls(instruction_id=row.instruction_id, code=row.code, psn_no=row.psn_no,
                   acct_admdvs=row.acct_admdvs, amount=row.amount, setl_id=row.setl_id,
                   beneficiary_psn_no=row.beneficiary_psn_no, payee=getattr(row, "payee", None) or None)

    @property
    def signed_amount(self) -> Decimal:
        """The movement of the `psn_no` account: negative for a debit (acct_021, fund_031)."""
        return -self.amount if self.code in DEBIT_CODES else self.amount

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k in INSTRUCTION_FIELDS}
        out["amount"] = amount_text(self.amount)
        return out


INSTRUCTION_FIELDS = ("instruction_id", "code", "psn_no", "acct_admdvs", "amount", "setl_id", "beneficiary_psn_no",
                      "payee")


@dataclass(frozen=True)
class BookedInstruction(Instruction):
    """An instruction as the bank's ledger records it."""

    booked_at: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BookedInstruction:
        return cls(instruction_id=str(data["instruction_id"]), code=str(data["code"]), psn_no=str(data["psn_no"]),
                   acct_admdvs=str(data["acct_admdvs"]), amount=to_decimal(data["amount"]),
                   setl_id=str(data["setl_id"]), beneficiary_psn_no=data.get("beneficiary_psn_no") or None,
                   payee=data.get("payee") or None, booked_at=data.get("booked_at"))


@dataclass(frozen=True)
class Ack:
    instruction_id: str
    status: str  # booked (first delivery) | duplicate (already booked: nothing done)

    @property
    def duplicate(self) -> bool:
        return self.status == "duplicate"


class BankAdapter(ABC):
    """A bank holding personal accounts."""

    @abstractmethod
    def deliver(self, instruction: Instruction) -> Ack:
        """Have the bank book the instruction once. Raises BankUnavailable (try again later) or BankRejected."""

    @abstractmethod
    def ledger(self) -> list[BookedInstruction]:
        """Every instruction the bank has booked. Raises BankUnavailable."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class HttpBankAdapter(BankAdapter):
    """The simulated bank's HTTP interface (docs/bank.md). `http` may be any httpx.Client, e.g. Starlette's
    TestClient around the simulated bank's app."""

    def __init__(self, base_url: str | None = None,
                 timeout: float = 5.0,  # float-ok: seconds
                 http: httpx.Client | None = None):
        self.base_url = (base_url or bank_url()).rstrip("/")
        self.timeout = timeout
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=timeout)

    def deliver(self, instruction: Instruction) -> Ack:
        instruction = Instruction.of(instruction)
        body = simplejson.dumps(instruction.to_json(), ensure_ascii=False)
        answer = self._request("POST", "/instructions", content=body.encode("utf-8"),
                               headers={"Content-Type": "application/json; charset=utf-8"})
        ack, status = answer.get("ack"), answer.get("status")
        if ack != instruction.instruction_id or status not in ("booked", "duplicate"):
            raise BankUnavailable(f"the bank's answer does not acknowledge {instruction.instruction_id}: "
                                  f"{str(answer)[:200]}")
        return Ack(instruction_id=ack, status=status)

    def ledger(self) -> list[BookedInstruction]:
        answer = self._request("GET", "/ledger")
        try:
            return [BookedInstruction.from_json(row) for row in answer["instructions"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise BankUnavailable(f"the bank's ledger is not readable: {exc!r}") from None

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def _request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        try:
            reply = httpcall.request(self.http, method, self.base_url, path, self.timeout, **kw)
        except httpcall.NoAnswer as exc:
            raise BankUnavailable(str(exc)) from None
        detail = reply.text[:200]
        if reply.status_code >= 400:
            raise BankRejected(f"HTTP {reply.status_code} from {self.base_url}: {detail}")
        try:
            answer = simplejson.loads(reply.content.decode("utf-8"), use_decimal=True)
        except ValueError:
            raise BankUnavailable(f"HTTP {reply.status_code} from {self.base_url}, not JSON: {detail}") from None
        if not isinstance(answer, dict):
            raise BankUnavailable(f"HTTP {reply.status_code} from {self.base_url}, not an object: {detail}")
        return answer


def make_adapter(url: str | None = None) -> BankAdapter:
    """The adapter the `yibao` command and the platform's background worker use. Tests replace this function
    (module attribute) to point them at an in-process bank."""
    return HttpBankAdapter(url or bank_url())
