"""Rules about identity documents: the resident ID card check digit and masking for logs."""

from __future__ import annotations

import re
from datetime import date

from yibao.observe.masking import mask_id_numbers  # noqa: F401  (the masking of free text, kept importable here)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID18 = re.compile(r"^\d{17}[\dX]$")


def id_card_problem(certno: str) -> str | None:
    """Why `certno` is not a valid 18-character resident ID number (GB 11643), or None if it is."""
    value = certno.strip().upper()
    if not _ID18.match(value):
        return "must be 18 characters: 17 digits and a check character (digit or X)"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "digits 7-14 must be a birth date (yyyymmdd)"
    expected = _CHECK[sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True)) % 11]
    if value[17] != expected:
        return f"check digit is {value[17]}, the number requires {expected}"
    return None



def mask_certno(certno: str) -> str:
    """Keep region and the last four characters: 440301********1234."""
    if len(certno) <= 8:
        return "*" * len(certno)
    return certno[:6] + "*" * (len(certno) - 10) + certno[-4:]
