"""Who may call the internet-hospital API: bearer tokens, signed and expiring (`yibao.tokens`, the family `yh1`,
as the platform's yibao.api.tokens but with the hospital's own key and salt).

Two kinds: `patient` (the subject is the hospital's patient_id: a phone sees only its own patient's records)
and `staff` (the subject is an operator id: the HIS, cashier desk, clinic room, bedside terminals and admin
operations). The key is the configuration's `auth_key` (YIBAO_HOSPITAL_AUTH_KEY); without one, a key is made on
first use and kept in the hospital's database (`hospital_settings`), so every process on that database agrees.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from yibao.hospital.db import Bill, Booking, Patient, Payment, Registration, Setting
from yibao.sqlkit import insert_or_ignore
from yibao.tokens import BadToken, TokenFamily

if TYPE_CHECKING:
    from yibao.hospital.context import Context

KINDS = ("patient", "staff")
VERSION = "yh1"
PATIENT_DAYS = 1.0  # float-ok: days a patient token from POST /auth/patient lasts
STAFF_DAYS = 30.0  # float-ok: days a staff token lasts unless told otherwise

__all__ = ["KINDS", "PATIENT_DAYS", "STAFF_DAYS", "BadToken", "Principal", "issue", "signing_key", "verify"]


def _names_someone(kind: str, subject: str) -> bool:
    """A patient token names a patient_id (digits), a staff token any operator id."""
    return bool(subject) and (kind != "patient" or subject.isdigit())


TOKENS = TokenFamily(VERSION, KINDS, salt="yibao.hospital.auth", names="patient or operator",
                     subject_ok=_names_someone)


@dataclass(frozen=True)
class Principal:
    kind: str  # patient | staff
    subject: str  # the patient_id, or the operator id

    @property
    def staff(self) -> bool:
        return self.kind == "staff"

    @property
    def patient_id(self) -> int | None:
        return int(self.subject) if self.kind == "patient" else None


def signing_key(hospital: Context) -> bytes:
    """The configured `auth_key`, else the one kept in the database (made on first use, race-free)."""
    if hospital.config.auth_key:
        return hospital.config.auth_key.encode()
    with hospital.db.session() as s:
        insert_or_ignore(s, Setting, key="auth_key", value=secrets.token_hex(32))
        row = s.get(Setting, "auth_key")
        assert row is not None
        return row.value.encode()


def issue(key: bytes, kind: str, subject: str | int, days: float = STAFF_DAYS) -> str:  # float-ok: days
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    subject = str(subject).strip()
    if not _names_someone(kind, subject):
        raise ValueError("subject: a patient token names a patient_id, a staff token an operator id")
    return TOKENS.issue(key, kind, subject, days)


def verify(key: bytes, token: str) -> Principal:
    return Principal(*TOKENS.verify(key, token))


def patient_login(hospital: Context, code: str, certno_tail: str) -> int | None:
    """The patient holding `code` (医保电子凭证 or 电子健康码) whose ID number ends with `certno_tail` (6
    characters), or None: one answer for an unknown code and a wrong tail, so neither can be probed."""
    code, tail = code.strip(), certno_tail.strip().upper()
    if not code or len(tail) != 6:
        return None
    with hospital.db.session() as s:
        patient = s.scalar(select(Patient).where((Patient.ecard == code) | (Patient.health_code == code)))
        known = patient is not None and hmac.compare_digest(patient.certno.upper()[-6:].encode(), tail.encode())
        return patient.id if known and patient is not None else None


# -- whose a thing is: the patient_id owning it, None when it is not known ------------------------------------

def owner_of_booking(hospital: Context, booking_id: int) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(Booking.patient_id).where(Booking.id == booking_id))


def owner_of_registration(hospital: Context, reg_id: int) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(Registration.patient_id).where(Registration.id == reg_id))


def owners_of_bills(hospital: Context, bill_nos: list[str]) -> dict[str, int | None]:
    """Each bill's owner; None for a bill not known."""
    with hospital.db.session() as s:
        found = {no: owner for no, owner in s.execute(
            select(Bill.bill_no, Bill.patient_id).where(Bill.bill_no.in_(bill_nos)))}
    return {no: found.get(no) for no in bill_nos}


def owner_of_payment(hospital: Context, payment_no: str) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(Payment.patient_id).where(Payment.payment_no == payment_no))


def owner_of_idempotency_key(hospital: Context, key: str) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(Payment.patient_id).where(Payment.idem_key == f"key:{key}"))


def owner_of_settlement(hospital: Context, setl_id: str) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(Payment.patient_id).where(Payment.setl_id == setl_id))


def patient_record(hospital: Context, patient_id: int) -> Patient | None:
    with hospital.db.session() as s:
        return s.get(Patient, patient_id)
