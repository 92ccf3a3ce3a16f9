"""The directory the patients choose from: departments, doctors and their slots (a half day: capacity, the
registration fee as a catalog item), loaded from the configuration's `setup` or added by the HIS, and a doctor's
suspension (停诊: his bookings suspended, his registrations refundable online, their patients told)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yibao.hospital.context import Context
from yibao.hospital.db import Booking, Department, Doctor, Notice, Registration, Slot
from yibao.hospital.errors import conflict, invalid, not_found
from yibao.hospital.states import BookingStatus, RegistrationStatus
from yibao.money import money

PERIODS = ("am", "pm")


def slot_view(x: Slot) -> dict[str, Any]:
    return {"slot_id": x.id, "doctor_code": x.doctor_code, "day": x.day.isoformat(), "period": x.period,
            "capacity": x.capacity, "left": max(x.capacity - x.taken, 0), "fee": x.fee, "fee_code": x.fee_code,
            "fee_name": x.fee_name, "suspended": x.suspended, "suspend_reason": x.suspend_reason}


def slot_info(h: Context, slot_id: int) -> dict[str, Any]:
    """A slot with its doctor and department: what 2201 and 6201 name."""
    with h.db.session() as s:
        slot = s.get_one(Slot, slot_id)
        doctor = s.get_one(Doctor, slot.doctor_code)
        dept = s.get_one(Department, doctor.dept_code)
        return {**slot_view(slot), "doctor_name": doctor.name, "dept_code": dept.code,
                "dept_name": dept.name, "caty": dept.caty}


class Directory(Context):
    """The directory's use cases, as methods of the hospital (service.Hospital)."""

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
            return slot_view(slot)

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
                            "intro": doc.intro, "slots": [slot_view(x) for x in slots]})
            return out

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
                                                            Booking.status == BookingStatus.BOOKED)))
            if bookings:
                s.execute(update(Booking).where(Booking.id.in_([b.id for b in bookings]))
                          .values(status=BookingStatus.SUSPENDED, updated_at=now))
            for b in bookings:
                s.add(Notice(patient_id=b.patient_id, slot_id=slot_id, text=text, created_at=now))
            regs = list(s.scalars(select(Registration).where(Registration.slot_id == slot_id,
                                                             Registration.status == RegistrationStatus.REGISTERED)))
            for r in regs:
                r.refundable, r.refund_reason = True, f"停诊: {reason}"
                s.add(Notice(patient_id=r.patient_id, slot_id=slot_id, text=text, created_at=now))
            return {"slot": slot_view(slot), "bookings_suspended": len(bookings),
                    "registrations_refundable": len(regs)}

    def suspensions(self, start: date | None = None) -> list[dict[str, Any]]:
        """Suspended slots from `start` (today) on: what the patient's phone shows as 医生停诊."""
        with self.db.session() as s:
            rows = s.execute(select(Slot, Doctor).join(Doctor, Doctor.code == Slot.doctor_code)
                             .where(Slot.suspended.is_(True), Slot.day >= (start or self.today()))
                             .order_by(Slot.day, Slot.period))
            return [{**slot_view(slot), "doctor_name": doc.name, "dept_code": doc.dept_code}
                    for slot, doc in rows]
