"""The hospital's use cases apart from paying: the directory (departments, doctors, slots), patients and their
first-visit record, booking, same-day registration (2201), doctor suspension, and bills. Paying and refunding
are in cashier.py; reconciliation, clearing and slips in their own modules."""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.client import PlatformClient, PlatformError
from yibao.clock import business_date, business_now
from yibao.hospital.config import HospitalConfig
from yibao.hospital.db import (
    Bill,
    BillLine,
    Booking,
    Department,
    Doctor,
    HospitalDB,
    Notice,
    Patient,
    Registration,
    Slot,
)
from yibao.hospital.errors import HospitalError, conflict, invalid, not_found, upstream
from yibao.hospital.insurance import Insurance, client_for
from yibao.money import ZERO, money, round2, to_decimal
from yibao.throttle import SignInThrottle
from yibao.timebox import Clock

log = logging.getLogger("yibao.hospital")
PERIODS = ("am", "pm")
BILL_KINDS = ("registration", "clinic", "pharmacy")
INSUTYPE_PREFERENCE = ("310", "390")  # an employee's row first, then a resident's (interface.md 1101)


def new_no(prefix: str, now: datetime) -> str:
    """A number unique in practice: prefix + yyMMddHHmmss + 6 hex digits (at most 19 characters)."""
    return f"{prefix}{now:%y%m%d%H%M%S}{secrets.token_hex(3).upper()}"


class Hospital:
    """One hospital: its configuration, database, link to the platform and payment channels."""

    def __init__(self, config: HospitalConfig, db: HospitalDB | None = None, *,
                 platform_http: httpx.Client | None = None, client: PlatformClient | None = None,
                 channels: dict[str, Any] | None = None, clock: Clock | None = None):
        from yibao.hospital.cashier import Cashier

        self.config = config
        #: the time box's clock (answer_within): the monotonic clock; tests drive one of their own
        self.clock = clock or Clock()
        self.db = db or HospitalDB(config.database_url)
        self.db.upgrade()  # Alembic: made, migrated or stamped (HospitalDB.upgrade)
        self.insurance = Insurance(client or client_for(config, platform_http))
        self._channels = channels
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="hospital-channel")
        self.cashier = Cashier(self)

    # -- clock and channels -----------------------------------------------------------------------------
    def today(self) -> date:
        """The business date: YIBAO_TODAY, else the configuration's `today`, else the real date."""
        return business_date(self.config.today)

    def now(self) -> datetime:
        return business_now(self.config.today)

    @property
    def channels(self) -> dict[str, Any]:
        if self._channels is None:
            from yibao.hospital.channels import make_channel

            self._channels = {kind: make_channel(kind, s.base_url, s.key, s.timeout)
                              for kind, s in self.config.channels.items()}
        return self._channels

    def channel(self, kind: str, device: str | None = None) -> Any:
        """The channel of `kind`; a card channel at the terminal `device` when one is named."""
        found = self.channels.get(kind)
        if found is None:
            raise invalid(f"channel: {kind!r} is not configured here; configured: "
                          f"{', '.join(sorted(self.channels)) or 'none'}")
        if device and hasattr(found, "at"):
            return found.at(device)
        return found

    @cached_property
    def sign_in(self) -> SignInThrottle:
        """The patients' failed sign-ins, per code and per address (yibao.throttle): one count for every app
        over this hospital in this process, and for every process when the storage is shared (Redis)."""
        return SignInThrottle(f"hospital {self.config.fixmedins_code} patient sign-in", self.config.throttle_storage)

    def sweep(self) -> dict[str, int]:
        """Everything left open, resolved: payments (the cashier's) and deposit top-ups and withdrawals."""
        from yibao.hospital.deposit import sweep as sweep_deposits

        return {**self.cashier.sweep(), **sweep_deposits(self)}

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        for ch in (self._channels or {}).values():
            dispose = getattr(ch, "dispose", None)
            if dispose:
                dispose()
        self.db.dispose()

    # -- the directory ---------------------------------------------------------------------------------
    def load_setup(self, setup: dict[str, Any]) -> dict[str, int]:
        """Departments, doctors and slots from the configuration's `setup` (idempotent: existing rows stay).
        A slot entry names `day` (a date) or `days` (that many days from today), and `periods`."""
        added = {"departments": 0, "doctors": 0, "slots": 0}
        with self.db.session() as s:
            for d in setup.get("departments") or []:
                if s.get(Department, str(d["code"])) is None:
                    s.add(Department(code=str(d["code"]), name=d["name"], caty=str(d.get("caty", "")),
                                     location=d.get("location", ""), intro=d.get("intro", "")))
                    added["departments"] += 1
            s.flush()
            for d in setup.get("doctors") or []:
                if s.get(Doctor, str(d["code"])) is None:
                    s.add(Doctor(code=str(d["code"]), name=d["name"], dept_code=str(d["dept_code"]),
                                 title=d.get("title", ""), intro=d.get("intro", "")))
                    added["doctors"] += 1
            s.flush()
            for spec in setup.get("slots") or []:
                days = ([date.fromisoformat(str(spec["day"]))] if "day" in spec else
                        [self.today() + timedelta(days=k) for k in range(int(spec.get("days", 1)))])
                for day in days:
                    for period in spec.get("periods") or PERIODS:
                        if self._slot_of(s, str(spec["doctor"]), day, period) is None:
                            s.add(self._new_slot(str(spec["doctor"]), day, period, spec))
                            added["slots"] += 1
        return added

    @staticmethod
    def _slot_of(s: Session, doctor: str, day: date, period: str) -> Slot | None:
        return s.scalar(select(Slot).where(Slot.doctor_code == doctor, Slot.day == day, Slot.period == period))

    @staticmethod
    def _new_slot(doctor: str, day: date, period: str, spec: dict[str, Any]) -> Slot:
        if period not in PERIODS:
            raise invalid(f"period: must be one of {', '.join(PERIODS)}, not {period!r}")
        return Slot(doctor_code=doctor, day=day, period=period, capacity=int(spec.get("capacity", 20)), taken=0,
                    fee=money(spec.get("fee", "10.00")), fee_code=str(spec.get("fee_code", "001101000020000")),
                    fee_name=str(spec.get("fee_name", "普通门诊挂号费")), suspended=False, suspend_reason="")

    def add_slot(self, doctor: str, day: date, period: str, capacity: int, fee: Decimal, fee_code: str,
                 fee_name: str) -> dict[str, Any]:
        with self.db.session() as s:
            if s.get(Doctor, doctor) is None:
                raise not_found(f"doctor {doctor} is not known")
            if self._slot_of(s, doctor, day, period) is not None:
                raise conflict(f"doctor {doctor} already has a slot on {day} {period}")
            slot = self._new_slot(doctor, day, period, {"capacity": capacity, "fee": fee, "fee_code": fee_code,
                                                        "fee_name": fee_name})
            s.add(slot)
            s.flush()
            return self._slot_view(slot)

    def departments(self) -> list[dict[str, Any]]:
        with self.db.session() as s:
            return [{"code": d.code, "name": d.name, "caty": d.caty, "location": d.location, "intro": d.intro}
                    for d in s.scalars(select(Department).order_by(Department.code))]

    def doctors(self, dept_code: str | None = None, start: date | None = None,
                days: int = 7) -> list[dict[str, Any]]:
        """Doctors (of a department) with their slots from `start` (today) for `days` days."""
        start = start or self.today()
        with self.db.session() as s:
            q = select(Doctor).order_by(Doctor.code)
            if dept_code:
                if s.get(Department, dept_code) is None:
                    raise not_found(f"department {dept_code} is not known")
                q = q.where(Doctor.dept_code == dept_code)
            out = []
            for doc in s.scalars(q):
                slots = s.scalars(select(Slot).where(Slot.doctor_code == doc.code, Slot.day >= start,
                                                     Slot.day < start + timedelta(days=days))
                                  .order_by(Slot.day, Slot.period))
                out.append({"code": doc.code, "name": doc.name, "dept_code": doc.dept_code, "title": doc.title,
                            "intro": doc.intro, "slots": [self._slot_view(x) for x in slots]})
            return out

    def db_get_slot(self, slot_id: int) -> dict[str, Any]:
        """A slot with its doctor and department: what 2201 names."""
        with self.db.session() as s:
            slot = s.get_one(Slot, slot_id)
            doctor = s.get_one(Doctor, slot.doctor_code)
            dept = s.get_one(Department, doctor.dept_code)
            return {**self._slot_view(slot), "doctor_name": doctor.name, "dept_code": dept.code,
                    "dept_name": dept.name, "caty": dept.caty}

    @staticmethod
    def _slot_view(x: Slot) -> dict[str, Any]:
        return {"slot_id": x.id, "doctor_code": x.doctor_code, "day": x.day.isoformat(), "period": x.period,
                "capacity": x.capacity, "left": max(x.capacity - x.taken, 0), "fee": x.fee, "fee_code": x.fee_code,
                "fee_name": x.fee_name, "suspended": x.suspended, "suspend_reason": x.suspend_reason}

    # -- patients ----------------------------------------------------------------------------------------
    def lookup(self, cert_type: str, cert_no: str, card_sn: str = "", insuplc_admdvs: str = "") -> dict[str, Any]:
        """1101 through the platform. For a person insured elsewhere the caller names the insured region."""
        try:
            out = self.insurance.lookup(cert_type, cert_no, card_sn, insuplc_admdvs)
        except PlatformError as exc:
            raise upstream(f"1101: {exc.err_msg}", refused=bool(exc.response)) from None
        base = out.get("baseinfo") or {}
        rows = [r for r in out.get("insuinfo") or [] if str(r.get("psn_insu_stas", "1")) == "1"] or \
            list(out.get("insuinfo") or [])
        rows.sort(key=lambda r: INSUTYPE_PREFERENCE.index(r["insutype"]) if r.get("insutype") in
                  INSUTYPE_PREFERENCE else len(INSUTYPE_PREFERENCE))
        insu = rows[0] if rows else {}
        with self.db.session() as s:
            known = s.scalar(select(Patient).where(Patient.certno == str(base.get("certno", "")).upper()))
        return {"psn_no": base.get("psn_no"), "psn_name": base.get("psn_name"), "certno": base.get("certno"),
                "gend": base.get("gend"), "brdy": base.get("brdy"), "insutype": insu.get("insutype"),
                "psn_type": insu.get("psn_type"), "balc": insu.get("balc"),
                "insuplc_admdvs": insu.get("insuplc_admdvs") or insuplc_admdvs or self.config.admdvs,
                "psn_insu_stas": insu.get("psn_insu_stas"), "patient_id": known.id if known else None}

    def create_patient(self, *, name: str, certno: str, phone: str = "", mdtrt_cert_type: str = "",
                       mdtrt_cert_no: str = "", card_sn: str = "", insuplc_admdvs: str = "", ecard: str = "",
                       health_code: str = "") -> dict[str, Any]:
        """The first-visit record. With a credential the person is found by 1101 and linked (psn_no, insutype,
        insured region); without one the patient pays everything himself. Again for the same certno: updated."""
        certno = certno.strip().upper()
        found: dict[str, Any] | None = None
        if mdtrt_cert_type:
            found = self.lookup(mdtrt_cert_type, mdtrt_cert_no, card_sn, insuplc_admdvs)
            if str(found["certno"]).upper() != certno:
                raise invalid("certno: does not belong to the holder of the credential")
            if found["psn_name"] != name:
                raise invalid("name: does not match the name of the holder of the credential")
        if mdtrt_cert_type == "01":
            ecard = ecard or mdtrt_cert_no
        now = self.now()
        try:
            with self.db.session() as s:
                patient = s.scalar(select(Patient).where(Patient.certno == certno))
                if patient is None:
                    patient = Patient(name=name, certno=certno, created_at=now)
                    s.add(patient)
                patient.name, patient.updated_at = name, now
                patient.phone = phone or patient.phone or ""
                if found is not None:
                    patient.gend, patient.brdy = str(found["gend"] or ""), str(found["brdy"] or "")
                    patient.psn_no, patient.insutype = found["psn_no"], found["insutype"]
                    patient.insuplc_admdvs = found["insuplc_admdvs"]
                    patient.mdtrt_cert_type, patient.mdtrt_cert_no = mdtrt_cert_type, mdtrt_cert_no
                    patient.card_sn = card_sn or None
                patient.ecard = ecard or patient.ecard
                patient.health_code = health_code or patient.health_code
                s.flush()
                return self._patient_view(patient)
        except IntegrityError:
            raise conflict("ecard / health_code: already linked to another patient") from None

    def link_codes(self, patient_id: int, ecard: str = "", health_code: str = "") -> dict[str, Any]:
        """Two-code fusion: link the e-credential and/or the electronic health code to the record."""
        try:
            with self.db.session() as s:
                patient = self._patient(s, patient_id)
                patient.ecard = ecard or patient.ecard
                patient.health_code = health_code or patient.health_code
                patient.updated_at = self.now()
                s.flush()
                return self._patient_view(patient)
        except IntegrityError:
            raise conflict("ecard / health_code: already linked to another patient") from None

    def patient_by_code(self, code: str) -> dict[str, Any]:
        """Either code (医保电子凭证 or 电子健康码) finds the patient."""
        with self.db.session() as s:
            patient = s.scalar(select(Patient).where((Patient.ecard == code) | (Patient.health_code == code)))
            if patient is None:
                raise not_found("no patient holds this code")
            return self._patient_view(patient)

    def patient(self, patient_id: int) -> dict[str, Any]:
        with self.db.session() as s:
            return self._patient_view(self._patient(s, patient_id))

    @staticmethod
    def _patient(s: Session, patient_id: int) -> Patient:
        patient = s.get(Patient, patient_id)
        if patient is None:
            raise not_found(f"patient {patient_id} is not known")
        return patient

    @staticmethod
    def _patient_view(p: Patient) -> dict[str, Any]:
        return {"patient_id": p.id, "name": p.name, "certno": p.certno, "phone": p.phone, "gend": p.gend,
                "brdy": p.brdy, "insured": p.psn_no is not None, "psn_no": p.psn_no, "insutype": p.insutype,
                "insuplc_admdvs": p.insuplc_admdvs, "ecard": p.ecard, "health_code": p.health_code}

    # -- booking -----------------------------------------------------------------------------------------
    @staticmethod
    def _take(s: Session, slot: Slot) -> None:
        """One place of the slot, or a refusal when it is full (guarded in SQL against a concurrent taker)."""
        done = s.execute(update(Slot).where(Slot.id == slot.id, Slot.taken < Slot.capacity)
                         .values(taken=Slot.taken + 1))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise conflict(f"slot {slot.id} is full")

    @staticmethod
    def _release(s: Session, slot_id: int) -> None:
        s.execute(update(Slot).where(Slot.id == slot_id, Slot.taken > 0).values(taken=Slot.taken - 1))

    def _open_slot(self, s: Session, slot_id: int) -> Slot:
        slot = s.get(Slot, slot_id)
        if slot is None:
            raise not_found(f"slot {slot_id} is not known")
        if slot.suspended:
            raise conflict(f"slot {slot_id} is suspended (停诊): {slot.suspend_reason}")
        return slot

    def book(self, patient_id: int, slot_id: int) -> dict[str, Any]:
        now = self.now()
        with self.db.session() as s:
            self._patient(s, patient_id)
            slot = self._open_slot(s, slot_id)
            if slot.day < self.today():
                raise conflict(f"slot {slot_id} was on {slot.day}")
            twice = s.scalar(select(Booking.id).where(Booking.patient_id == patient_id, Booking.slot_id == slot_id,
                                                      Booking.status == "booked"))
            if twice:
                raise conflict(f"patient {patient_id} already holds booking {twice} for slot {slot_id}")
            self._take(s, slot)
            booking = Booking(patient_id=patient_id, slot_id=slot_id, status="booked", created_at=now,
                              updated_at=now)
            s.add(booking)
            s.flush()
            return self._booking_view(s, booking)

    def cancel_booking(self, booking_id: int) -> dict[str, Any]:
        with self.db.session() as s:
            booking = s.get(Booking, booking_id)
            if booking is None:
                raise not_found(f"booking {booking_id} is not known")
            if booking.status not in ("booked", "suspended"):
                raise conflict(f"booking {booking_id} is {booking.status}")
            if booking.status == "booked":
                self._release(s, booking.slot_id)
            booking.status, booking.updated_at = "cancelled", self.now()
            return self._booking_view(s, booking)

    def bookings(self, patient_id: int) -> list[dict[str, Any]]:
        with self.db.session() as s:
            self._patient(s, patient_id)
            return [self._booking_view(s, b) for b in s.scalars(
                select(Booking).where(Booking.patient_id == patient_id).order_by(Booking.id))]

    def _booking_view(self, s: Session, b: Booking) -> dict[str, Any]:
        return {"booking_id": b.id, "patient_id": b.patient_id, "status": b.status,
                "slot": self._slot_view(s.get_one(Slot, b.slot_id)), "created_at": b.created_at}

    # -- same-day registration ----------------------------------------------------------------------------
    def register(self, patient_id: int, slot_id: int | None = None, booking_id: int | None = None,
                 use_insurance: bool = True) -> dict[str, Any]:
        """Register for today's slot (from a booking or walking in): 2201 through the platform when the patient
        is insured, and the registration fee as a pending bill."""
        now = self.now()
        with self.db.session() as s:
            patient = self._patient(s, patient_id)
            if booking_id is not None:
                booking = s.get(Booking, booking_id)
                if booking is None or booking.patient_id != patient_id:
                    raise not_found(f"booking {booking_id} of patient {patient_id} is not known")
                if booking.status != "booked":
                    raise conflict(f"booking {booking_id} is {booking.status}")
                slot_id = booking.slot_id
            if slot_id is None:
                raise invalid("slot_id or booking_id is required")
            slot = self._open_slot(s, slot_id)
            if slot.day != self.today():
                raise conflict(f"slot {slot_id} is on {slot.day}; same-day registration is for {self.today()}")
            if booking_id is None:
                self._take(s, slot)  # released below if the platform refuses
            doctor = s.get_one(Doctor, slot.doctor_code)
            dept = s.get_one(Department, doctor.dept_code)
            insured = use_insurance and patient.psn_no is not None
            pat = {k: getattr(patient, k) for k in ("psn_no", "insutype", "insuplc_admdvs", "mdtrt_cert_type",
                                                    "mdtrt_cert_no")}
            reg_no = new_no("R", now)
        mdtrt_id = None
        if insured:
            try:
                out = self.insurance.ok("2201", {"data": {
                    "psn_no": pat["psn_no"], "insutype": pat["insutype"], "begntime": f"{now:%Y-%m-%d %H:%M:%S}",
                    "mdtrt_cert_type": pat["mdtrt_cert_type"] or "02",
                    "mdtrt_cert_no": pat["mdtrt_cert_no"] or patient.certno, "ipt_otp_no": reg_no,
                    "atddr_no": doctor.code, "dr_name": doctor.name, "dept_code": dept.code,
                    "dept_name": dept.name, "caty": dept.caty}}, pat["insuplc_admdvs"] or "")
                mdtrt_id = str(out["data"]["mdtrt_id"])
            except PlatformError as exc:
                if booking_id is None:
                    with self.db.session() as s:
                        self._release(s, slot_id)
                raise upstream(f"2201: {exc.err_msg}", refused=bool(exc.response)) from None
        with self.db.session() as s:
            reg = Registration(reg_no=reg_no, patient_id=patient_id, slot_id=slot_id, booking_id=booking_id,
                               insured=insured, mdtrt_id=mdtrt_id, visit_info_sent=False, status="registered",
                               refundable=True, refund_reason="", created_at=now)
            s.add(reg)
            s.flush()
            if booking_id is not None:
                s.execute(update(Booking).where(Booking.id == booking_id).values(status="registered",
                                                                                  updated_at=now))
            slot = s.get_one(Slot, slot_id)
            self._add_bill(s, reg, "registration", [{"med_list_codg": slot.fee_code, "name": slot.fee_name,
                                                     "pric": slot.fee, "cnt": Decimal(1)}], now)
            return self._registration_view(s, reg)

    def registrations(self, patient_id: int) -> list[dict[str, Any]]:
        """Registration records (挂号记录)."""
        with self.db.session() as s:
            self._patient(s, patient_id)
            return [self._registration_view(s, r) for r in s.scalars(
                select(Registration).where(Registration.patient_id == patient_id).order_by(Registration.id))]

    def registration(self, reg_id: int) -> dict[str, Any]:
        with self.db.session() as s:
            return self._registration_view(s, self._registration(s, reg_id))

    @staticmethod
    def _registration(s: Session, reg_id: int) -> Registration:
        reg = s.get(Registration, reg_id)
        if reg is None:
            raise not_found(f"registration {reg_id} is not known")
        return reg

    def seen(self, reg_id: int) -> dict[str, Any]:
        """The doctor has seen the patient: the registration fee is no longer refunded online (unless the
        slot is suspended)."""
        with self.db.session() as s:
            reg = self._registration(s, reg_id)
            if not s.get_one(Slot, reg.slot_id).suspended:
                reg.refundable = False
            return self._registration_view(s, reg)

    def _registration_view(self, s: Session, r: Registration) -> dict[str, Any]:
        slot = s.get_one(Slot, r.slot_id)
        doctor = s.get_one(Doctor, slot.doctor_code)
        fee = s.scalar(select(Bill).where(Bill.registration_id == r.id, Bill.kind == "registration"))
        return {"registration_id": r.id, "reg_no": r.reg_no, "patient_id": r.patient_id, "status": r.status,
                "insured": r.insured, "mdtrt_id": r.mdtrt_id, "booking_id": r.booking_id,
                "slot": self._slot_view(slot), "doctor_name": doctor.name, "dept_code": doctor.dept_code,
                "refundable": r.refundable, "refund_reason": r.refund_reason, "created_at": r.created_at,
                "fee_bill": {"bill_no": fee.bill_no, "amount": fee.amount, "status": fee.status} if fee else None}

    # -- doctor suspension (停诊) ---------------------------------------------------------------------------
    def suspend(self, slot_id: int, reason: str) -> dict[str, Any]:
        """Suspend a slot: its bookings are suspended and their patients told; its registrations become
        refundable online, and their patients told too."""
        now = self.now()
        with self.db.session() as s:
            slot = s.get(Slot, slot_id)
            if slot is None:
                raise not_found(f"slot {slot_id} is not known")
            doctor = s.get_one(Doctor, slot.doctor_code)
            slot.suspended, slot.suspend_reason = True, reason
            text = (f"{doctor.name} 医生 {slot.day} {'上午' if slot.period == 'am' else '下午'} 停诊: {reason}。"
                    "已挂号的挂号费可在线退费。")
            bookings = list(s.scalars(select(Booking).where(Booking.slot_id == slot_id,
                                                            Booking.status == "booked")))
            for b in bookings:
                b.status, b.updated_at = "suspended", now
                s.add(Notice(patient_id=b.patient_id, slot_id=slot_id, text=text, created_at=now))
            regs = list(s.scalars(select(Registration).where(Registration.slot_id == slot_id,
                                                             Registration.status == "registered")))
            for r in regs:
                r.refundable, r.refund_reason = True, f"停诊: {reason}"
                s.add(Notice(patient_id=r.patient_id, slot_id=slot_id, text=text, created_at=now))
            return {"slot": self._slot_view(slot), "bookings_suspended": len(bookings),
                    "registrations_refundable": len(regs)}

    def suspensions(self, start: date | None = None) -> list[dict[str, Any]]:
        """Suspended slots from `start` (today) on: what the patient's phone shows as 医生停诊."""
        with self.db.session() as s:
            rows = s.execute(select(Slot, Doctor).join(Doctor, Doctor.code == Slot.doctor_code)
                             .where(Slot.suspended.is_(True), Slot.day >= (start or self.today()))
                             .order_by(Slot.day, Slot.period))
            return [{**self._slot_view(slot), "doctor_name": doc.name, "dept_code": doc.dept_code}
                    for slot, doc in rows]

    def notices(self, patient_id: int) -> list[dict[str, Any]]:
        with self.db.session() as s:
            self._patient(s, patient_id)
            return [{"notice_id": n.id, "slot_id": n.slot_id, "text": n.text, "created_at": n.created_at}
                    for n in s.scalars(select(Notice).where(Notice.patient_id == patient_id).order_by(Notice.id))]

    # -- bills -------------------------------------------------------------------------------------------
    def add_bill(self, registration_id: int, kind: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """A bill the HIS raises on a registration (items ordered in the clinic room, pharmacy)."""
        if kind not in BILL_KINDS:
            raise invalid(f"kind: must be one of {', '.join(BILL_KINDS)}")
        if not lines:
            raise invalid("lines: at least one line is needed")
        with self.db.session() as s:
            reg = self._registration(s, registration_id)
            if reg.status != "registered":
                raise conflict(f"registration {registration_id} is {reg.status}")
            return self._bill_view(s, self._add_bill(s, reg, kind, lines, self.now()), with_lines=True)

    @staticmethod
    def _add_bill(s: Session, reg: Registration, kind: str, lines: list[dict[str, Any]], now: datetime) -> Bill:
        slot = s.get_one(Slot, reg.slot_id)
        doctor = s.get_one(Doctor, slot.doctor_code)
        rows = []
        for i, line in enumerate(lines, 1):
            try:
                pric, cnt = to_decimal(line["pric"]), to_decimal(line["cnt"])
            except (KeyError, ValueError) as exc:
                raise invalid(f"lines[{i - 1}]: {exc}") from None
            if pric < 0 or cnt <= 0:
                raise invalid(f"lines[{i - 1}]: the price must not be negative and the count must be above 0")
            code = str(line.get("med_list_codg") or "")
            if not code:
                raise invalid(f"lines[{i - 1}].med_list_codg: is required")
            rows.append(BillLine(seq=i, med_list_codg=code, medins_list_codg=str(line.get("medins_list_codg") or
                                                                                  code),
                                 name=str(line.get("name") or code), pric=pric, cnt=cnt, amount=round2(pric * cnt)))
        bill = Bill(bill_no=new_no("B", now), patient_id=reg.patient_id, registration_id=reg.id, kind=kind,
                    dept_code=doctor.dept_code, doctor_code=doctor.code,
                    amount=sum((r.amount for r in rows), ZERO), status="pending", created_at=now)
        s.add(bill)
        s.flush()
        for r in rows:
            r.bill_id = bill.id
            s.add(r)
        s.flush()
        return bill

    def bills(self, patient_id: int, status: str | None = None, with_lines: bool = False) -> list[dict[str, Any]]:
        """Pending bills (待缴费) or paid ones (已缴费), with their lines when asked."""
        with self.db.session() as s:
            self._patient(s, patient_id)
            q = select(Bill).where(Bill.patient_id == patient_id).order_by(Bill.id)
            if status:
                q = q.where(Bill.status == status)
            return [self._bill_view(s, b, with_lines) for b in s.scalars(q)]

    def bill(self, bill_no: str) -> dict[str, Any]:
        with self.db.session() as s:
            bill = s.scalar(select(Bill).where(Bill.bill_no == bill_no))
            if bill is None:
                raise not_found(f"bill {bill_no} is not known")
            return self._bill_view(s, bill, with_lines=True)

    @staticmethod
    def _bill_view(s: Session, b: Bill, with_lines: bool = False) -> dict[str, Any]:
        from yibao.hospital.db import Payment

        payment = s.get(Payment, b.payment_id) if b.payment_id else None
        out: dict[str, Any] = {
            "bill_no": b.bill_no, "patient_id": b.patient_id, "registration_id": b.registration_id, "kind": b.kind,
            "dept_code": b.dept_code, "doctor_code": b.doctor_code, "amount": b.amount, "status": b.status,
            "created_at": b.created_at, "paid_at": b.paid_at,
            "payment_no": payment.payment_no if payment else None, "setl_id": payment.setl_id if payment else None}
        if with_lines:
            out["lines"] = [{"seq": x.seq, "med_list_codg": x.med_list_codg, "medins_list_codg": x.medins_list_codg,
                             "name": x.name, "pric": x.pric, "cnt": x.cnt, "amount": x.amount}
                            for x in s.scalars(select(BillLine).where(BillLine.bill_id == b.id)
                                               .order_by(BillLine.seq))]
        return out


__all__ = ["Hospital", "HospitalError", "new_no"]
