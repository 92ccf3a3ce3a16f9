"""A patient's visit before the cashier: booking (预约挂号) a slot, same-day registration (当天挂号: 2201 through
the platform when insured, the fee as a pending bill), the doctor having seen him, and the bills the HIS raises
on a registration."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yibao.client import PlatformError
from yibao.hospital.context import new_no
from yibao.hospital.db import Bill, BillLine, Booking, Department, Doctor, Payment, Registration, Slot
from yibao.hospital.directory import Directory, slot_view
from yibao.hospital.errors import conflict, invalid, not_found, upstream
from yibao.hospital.patients import Patients
from yibao.hospital.states import BillStatus, BookingStatus, RegistrationStatus
from yibao.money import ZERO, round2, to_decimal

BILL_KINDS = ("registration", "clinic", "pharmacy")


class Visits(Directory, Patients):
    """Booking, registration and bills, as methods of the hospital (service.Hospital)."""

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
                                                      Booking.status == BookingStatus.BOOKED))
            if twice:
                raise conflict(f"patient {patient_id} already holds booking {twice} for slot {slot_id}")
            self._take(s, slot)
            booking = Booking(patient_id=patient_id, slot_id=slot_id, status=BookingStatus.BOOKED, created_at=now,
                              updated_at=now)
            s.add(booking)
            s.flush()
            return self._booking_view(s, booking)

    def cancel_booking(self, booking_id: int) -> dict[str, Any]:
        with self.db.session() as s:
            booking = s.get(Booking, booking_id)
            if booking is None:
                raise not_found(f"booking {booking_id} is not known")
            if booking.status not in (BookingStatus.BOOKED, BookingStatus.SUSPENDED):
                raise conflict(f"booking {booking_id} is {booking.status}")
            if booking.status == BookingStatus.BOOKED:
                self._release(s, booking.slot_id)
            s.execute(update(Booking).where(Booking.id == booking.id)
                      .values(status=BookingStatus.CANCELLED, updated_at=self.now()))
            return self._booking_view(s, booking)

    def bookings(self, patient_id: int) -> list[dict[str, Any]]:
        with self.db.session() as s:
            self._patient(s, patient_id)
            return [self._booking_view(s, b) for b in s.scalars(
                select(Booking).where(Booking.patient_id == patient_id).order_by(Booking.id))]

    def _booking_view(self, s: Session, b: Booking) -> dict[str, Any]:
        return {"booking_id": b.id, "patient_id": b.patient_id, "status": b.status,
                "slot": slot_view(s.get_one(Slot, b.slot_id)), "created_at": b.created_at}

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
                if booking.status != BookingStatus.BOOKED:
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
                               insured=insured, mdtrt_id=mdtrt_id, visit_info_sent=False,
                               status=RegistrationStatus.REGISTERED, refundable=True, refund_reason="",
                               created_at=now)
            s.add(reg)
            s.flush()
            if booking_id is not None:
                s.execute(update(Booking).where(Booking.id == booking_id).values(status=BookingStatus.REGISTERED,
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
                "slot": slot_view(slot), "doctor_name": doctor.name, "dept_code": doctor.dept_code,
                "refundable": r.refundable, "refund_reason": r.refund_reason, "created_at": r.created_at,
                "fee_bill": {"bill_no": fee.bill_no, "amount": fee.amount, "status": fee.status} if fee else None}

    def add_bill(self, registration_id: int, kind: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """A bill the HIS raises on a registration (items ordered in the clinic room, pharmacy)."""
        if kind not in BILL_KINDS:
            raise invalid(f"kind: must be one of {', '.join(BILL_KINDS)}")
        if not lines:
            raise invalid("lines: at least one line is needed")
        with self.db.session() as s:
            reg = self._registration(s, registration_id)
            if reg.status != RegistrationStatus.REGISTERED:
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
                    amount=sum((r.amount for r in rows), ZERO), status=BillStatus.PENDING, created_at=now)
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
