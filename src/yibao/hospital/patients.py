"""Patients: 1101 through the platform, the first-visit record (首诊建档, linked to the person 1101 found, or
self-paying) and its two codes (两码融合: the e-credential and the electronic health code, either finds the
patient), and what the patient is told."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.client import PlatformError
from yibao.hospital.context import Context
from yibao.hospital.db import Notice, Patient
from yibao.hospital.errors import conflict, invalid, not_found, upstream

INSUTYPE_PREFERENCE = ("310", "390")  # an employee's row first, then a resident's (interface.md 1101)


class Patients(Context):
    """The patients' use cases, as methods of the hospital (service.Hospital)."""

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

    def notices(self, patient_id: int) -> list[dict[str, Any]]:
        with self.db.session() as s:
            self._patient(s, patient_id)
            return [{"notice_id": n.id, "slot_id": n.slot_id, "text": n.text, "created_at": n.created_at}
                    for n in s.scalars(select(Notice).where(Notice.patient_id == patient_id).order_by(Notice.id))]
