"""The hospital: its resources (context.py) and its use cases. Those that are methods come from directory.py,
patients.py and visits.py; paying and refunding are the cashier's (cashier/), the deposit's (deposit/), stays'
and sales' (inpatient.py, pharmacy.py); reconciliation, clearing and slips are modules of their own."""

from __future__ import annotations

from yibao.hospital.cashier import later as cashier_later
from yibao.hospital.deposit import topup as deposit_topup
from yibao.hospital.errors import HospitalError
from yibao.hospital.visits import Visits


class Hospital(Visits):
    """One hospital: its configuration, database, link to the platform and payment channels, and what the HIS,
    the desk and the patients' phones ask of it."""

    def sweep(self) -> dict[str, int]:
        """Everything left open, resolved: payments (the cashier's) and deposit top-ups and withdrawals."""
        return {**cashier_later.sweep(self), **deposit_topup.sweep(self)}


__all__ = ["Hospital", "HospitalError"]
