"""The audit log: every message, with ID numbers and credentials masked."""

from __future__ import annotations

from typing import Any

from yibao.rules.identity import mask_certno, mask_id_numbers

#: fields whose whole value is personal and is masked wherever it appears
SENSITIVE_FIELDS = frozenset({
    "certno", "mdtrt_cert_no", "card_sn", "idNo", "psn_cert_no", "payAuthNo", "pay_auth_no", "ecToken",
    "payToken", "tel",
})


def mask_payload(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (mask_certno(v) if k in SENSITIVE_FIELDS and isinstance(v, str) else mask_payload(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_payload(v) for v in value]
    if isinstance(value, str):
        return mask_id_numbers(value)
    return value
