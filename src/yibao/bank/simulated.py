"""A simulated bank holding personal accounts and the funds' accounts: it books each acct_021 / acct_023 /
fund_031 instruction once, in a small ledger of its own (a separate system: its own SQLite file or database,
its tables made here with metadata.create_all, never the platform's schema; a column added since is added to
an older ledger at startup). An admin switch makes it fail (HTTP 503) or answer late.

    POST /instructions   {instruction_id, code, psn_no, acct_admdvs, amount, setl_id, beneficiary_psn_no, payee}
                         -> {"ack": id, "status": "booked" | "duplicate"}
    GET  /ledger         -> {"instructions": [...booked, in booking order], "count": n}
    GET  /accounts/{psn_no} -> the account's movements with a running total, and its net movement
    POST /admin/mode     {"mode": "ok" | "fail" | "delay", "delay_seconds": n};  GET /admin/mode
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from yibao.bank.adapter import CREDIT, DEBIT, DEBIT_CODES, FUND_TRANSFER, amount_text
from yibao.money import ZERO, to_decimal
from yibao.sqlkit import engine_of

metadata = MetaData()
booked = Table(
    "booked_instructions", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("instruction_id", String(40), nullable=False, unique=True),
    Column("code", String(10), nullable=False),
    Column("psn_no", String(30), nullable=False, index=True),
    Column("acct_admdvs", String(6), nullable=False),
    Column("amount", String(20), nullable=False),  # decimal text, two places: exact on any database
    Column("setl_id", String(30), nullable=False),
    Column("beneficiary_psn_no", String(30), nullable=True),
    Column("payee", String(30), nullable=True),  # fund_031 only; added after the first ledgers were made
    Column("booked_at", String(26), nullable=False),
    Column("deliveries", Integer, nullable=False),  # times received: 1 + the duplicates acknowledged
)

CONTENT = ("code", "psn_no", "acct_admdvs", "amount", "setl_id", "beneficiary_psn_no", "payee")
#: columns added to booked_instructions since its first version: added to an older ledger at startup
ADDED_COLUMNS = ("payee",)


class InstructionIn(BaseModel):
    instruction_id: str = Field(min_length=1, max_length=40)
    code: Literal["acct_021", "acct_023", "fund_031"]
    psn_no: str = Field(min_length=1, max_length=30)
    acct_admdvs: str = Field(pattern=r"^\d{6}$")
    amount: str = Field(pattern=r"^\d{1,13}(\.\d{1,2})?$", description="decimal string, e.g. \"196.00\"")
    setl_id: str = Field(min_length=1, max_length=30)
    beneficiary_psn_no: str | None = Field(default=None, max_length=30)
    payee: str | None = Field(default=None, max_length=30, description="fund_031 only: who receives the money")

    @field_validator("amount")
    @classmethod
    def positive(cls, value: str) -> str:
        if to_decimal(value) <= 0:
            raise ValueError("must be above 0")
        return amount_text(to_decimal(value))

    @field_validator("beneficiary_psn_no", "payee")
    @classmethod
    def empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def payee_for_fund_transfers_only(self) -> InstructionIn:
        if self.code == FUND_TRANSFER:
            if self.payee is None:
                raise ValueError("payee is required for fund_031 (a fund transfer names who receives the money)")
            if self.beneficiary_psn_no is not None:
                raise ValueError("beneficiary_psn_no is for personal-account codes, not fund_031")
            if self.payee == self.psn_no:
                raise ValueError("payee is the paying account itself")
        elif self.payee is not None:
            raise ValueError(f"payee is for fund_031 only, not {self.code}")
        return self


class ModeIn(BaseModel):
    mode: Literal["ok", "fail", "delay"]
    delay_seconds: Decimal = Field(default=Decimal(0), ge=0, le=600)


class Conflict(Exception):
    """An id already booked with other content."""


class SimulatedBank:
    """The bank's ledger and its switches; `.app` is its HTTP face."""

    def __init__(self, db: str = "bank.db"):
        self.engine = engine_of(db)  # an SQLite file or a database URL
        metadata.create_all(self.engine)
        self._add_missing_columns()
        self.mode = "ok"
        self.delay_seconds = Decimal(0)
        self._lock = threading.Lock()  # one booking at a time in this process; the unique id guards the rest
        self.app = self._make_app()

    def _add_missing_columns(self) -> None:
        """create_all leaves an existing table alone: a ledger made before a column existed gets it here."""
        have = {c["name"] for c in inspect(self.engine).get_columns(booked.name)}
        missing = [name for name in ADDED_COLUMNS if name not in have]
        if not missing:
            return
        with self.engine.begin() as conn:
            for name in missing:
                column = booked.c[name]
                kind = column.type.compile(dialect=self.engine.dialect)
                conn.execute(text(f"ALTER TABLE {booked.name} ADD COLUMN {name} {kind}"))

    # -- the ledger -------------------------------------------------------------------------------
    def book(self, ins: InstructionIn) -> str:
        """Book the instruction once: "booked" the first time, "duplicate" after (nothing booked again)."""
        values = ins.model_dump()
        with self._lock:
            for _ in range(2):
                try:
                    with self.engine.begin() as conn:
                        row = conn.execute(select(booked).where(booked.c.instruction_id == ins.instruction_id)
                                           ).mappings().first()
                        if row is not None:
                            differs = [k for k in CONTENT if _norm(k, row[k]) != _norm(k, values[k])]
                            if differs:
                                raise Conflict(f"{ins.instruction_id} was booked with other "
                                               f"{', '.join(differs)}")
                            conn.execute(update(booked).where(booked.c.seq == row["seq"])
                                         .values(deliveries=booked.c.deliveries + 1))
                            return "duplicate"
                        conn.execute(booked.insert().values(**values, deliveries=1,
                                                            booked_at=datetime.now().isoformat(sep=" ")))
                        return "booked"
                except IntegrityError:  # booked meanwhile by another process on the same database
                    continue
        raise RuntimeError(f"could not book {ins.instruction_id}")

    def instructions(self, psn_no: str | None = None) -> list[dict[str, Any]]:
        query = select(booked).order_by(booked.c.seq)
        if psn_no is not None:
            query = query.where(booked.c.psn_no == psn_no)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def account(self, psn_no: str) -> dict[str, Any]:
        """The account's movements as this bank booked them, each with the running total since the first. A fund
        account's movements are its fund_031 transfers out: debits."""
        running = debits = credits = ZERO
        movements = []
        for row in self.instructions(psn_no):
            amount = to_decimal(row["amount"])
            if row["code"] in DEBIT_CODES:
                debits += amount
                running -= amount
            else:
                credits += amount
                running += amount
            movements.append({"instruction_id": row["instruction_id"], "code": row["code"],
                              "acct_admdvs": row["acct_admdvs"], "amount": amount_text(amount),
                              "running": amount_text(running), "setl_id": row["setl_id"],
                              "beneficiary_psn_no": row["beneficiary_psn_no"], "payee": row["payee"],
                              "booked_at": row["booked_at"]})
        return {"psn_no": psn_no, "movements": movements, "debits": amount_text(debits),
                "credits": amount_text(credits), "net": amount_text(running)}

    # -- the switches -----------------------------------------------------------------------------
    def set_mode(self, mode: str, delay_seconds: Decimal = Decimal(0)) -> None:
        self.mode, self.delay_seconds = mode, delay_seconds

    def _gate(self) -> None:
        if self.mode == "fail":
            raise HTTPException(503, "bank unavailable (simulated)")

    def _late(self) -> None:
        if self.mode == "delay" and self.delay_seconds > 0:
            time.sleep(int(self.delay_seconds * 1000) / 1000)

    # -- HTTP ---------------------------------------------------------------------------------------
    def _make_app(self) -> FastAPI:
        app = FastAPI(title="yibao simulated bank",
                      description="Books acct_021 / acct_023 / fund_031 instructions once. See docs/bank.md.")

        @app.post("/instructions", summary="Book one instruction (once per id)")
        def post_instruction(ins: InstructionIn) -> dict[str, str]:
            self._gate()
            try:
                status = self.book(ins)
            except Conflict as exc:
                raise HTTPException(409, str(exc)) from None
            self._late()  # booked, but the answer comes late: a client that gave up lost the ack
            return {"ack": ins.instruction_id, "status": status}

        @app.get("/ledger", summary="Every booked instruction, in booking order")
        def get_ledger() -> dict[str, Any]:
            self._gate()
            rows = [{k: r[k] for k in ("instruction_id", *CONTENT, "booked_at", "deliveries")}
                    for r in self.instructions()]
            self._late()
            return {"instructions": rows, "count": len(rows)}

        @app.get("/accounts/{psn_no}", summary="One account's movements, running total and net")
        def get_account(psn_no: str) -> dict[str, Any]:
            self._gate()
            out = self.account(psn_no)
            self._late()
            return out

        @app.get("/admin/mode")
        def get_mode() -> dict[str, str]:
            return {"mode": self.mode, "delay_seconds": str(self.delay_seconds)}

        @app.post("/admin/mode", summary="ok | fail (HTTP 503) | delay (book, then answer late)")
        def post_mode(body: ModeIn) -> dict[str, str]:
            self.set_mode(body.mode, body.delay_seconds)
            return get_mode()

        @app.get("/health")
        def health() -> dict[str, str]:
            return {"status": "ok", "mode": self.mode}

        app.state.bank = self
        return app

    def dispose(self) -> None:
        self.engine.dispose()


def _norm(key: str, value: Any) -> Any:
    if key == "amount":
        return to_decimal(value)
    return value or None


def create_bank_app(db: str = "bank.db") -> FastAPI:
    return SimulatedBank(db).app


def serve(host: str = "127.0.0.1", port: int = 8010, db: str = "bank.db") -> None:
    import uvicorn

    uvicorn.run(create_bank_app(db), host=host, port=port, log_level="info")


__all__ = ["CREDIT", "DEBIT", "FUND_TRANSFER", "SimulatedBank", "create_bank_app", "serve"]
