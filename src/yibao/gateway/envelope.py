"""The request envelope of interface.md 1.1, validated before any handler runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator


class RequestEnvelope(BaseModel):
    """Unknown top-level keys are kept: regions add their own (fixmedins_soft_fcty, enc_type...)."""

    model_config = ConfigDict(extra="allow")

    infno: StrictStr = Field(pattern=r"^[0-9A-Za-z]{4,6}$")
    msgid: StrictStr = Field(min_length=1, max_length=30)
    mdtrtarea_admvs: StrictStr = Field(pattern=r"^\d{6}$")
    insuplc_admdvs: StrictStr = Field(default="", pattern=r"^(\d{6})?$")
    recer_sys_code: StrictStr = Field(default="", max_length=10)
    dev_no: StrictStr = ""
    dev_safe_info: StrictStr = ""
    cainfo: StrictStr = ""
    signtype: StrictStr = ""
    infver: StrictStr = ""
    opter_type: StrictStr = Field(pattern=r"^[123]$")
    opter: StrictStr = Field(min_length=1, max_length=30)
    opter_name: StrictStr = Field(default="", max_length=50)
    inf_time: StrictStr
    fixmedins_code: StrictStr = Field(min_length=1, max_length=30)
    fixmedins_name: StrictStr = ""
    sign_no: StrictStr = ""
    input: dict[str, Any]

    @field_validator("inf_time")
    @classmethod
    def _datetime(cls, value: str) -> str:
        try:
            datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise ValueError("must be a time as yyyy-MM-dd HH:mm:ss") from None
        return value
