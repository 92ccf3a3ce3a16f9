"""Masking of personal data in what leaves for a log: 18-character ID numbers anywhere in a text, and names
where a field says it holds one. Masked: the region (6) and the last four kept, the birth date hidden."""

from __future__ import annotations

import re
from typing import Any

#: an 18-character ID number standing alone (not inside a longer run of letters and digits: msgids, setl_ids)
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
#: fields whose value is a person's name (interface.md: psn_name, name; the hospital's patient name)
NAME_FIELDS = frozenset({"psn_name", "name", "patient_name", "payer_name"})
#: `psn_name=张三`, `"psn_name": "张三"`, `'name': '张三'` in free text (not `psn_name: rule`, an error's wording)
_KEYS = "|".join(sorted(NAME_FIELDS, key=len, reverse=True))
_NAMED = re.compile(rf"""(?P<key>\b(?:{_KEYS})=|"(?:{_KEYS})"\s*:\s*"|'(?:{_KEYS})'\s*:\s*')"""
                    r"""(?P<value>[^\s"'&,;}\]]+)""")


def mask_id_numbers(text: str) -> str:
    """Every 18-character ID number in free text: 440301********1234."""
    return _ID18.sub(lambda m: m.group(1) + "********" + m.group(2), text)


def mask_name(name: str) -> str:
    """The first character kept: 张三 -> 张*, 欧阳小明 -> 欧***."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else name


def mask_text(text: str) -> str:
    """ID numbers anywhere, and names written as `field=value` or `"field": "value"`."""
    text = mask_id_numbers(text)
    return _NAMED.sub(lambda m: m.group("key") + mask_name(m.group("value")), text)


def mask_value(key: str, value: Any) -> Any:
    """A log field's value: a name field masked whole, any other text masked as free text."""
    if isinstance(value, str):
        return mask_name(value) if key in NAME_FIELDS else mask_text(value)
    return value
