"""Analysis rules as data (docs/analysis.md): what a rule document holds, checked whole, each problem named by its
path. A rule is a region's: `rule_id`, `severity` (the sev_deg it answers), `message`, a `kind` and the kind's
`params`. The same document comes from the dataset (`regions[].analysis_rules`, a catalog row's `lmt_cond`) and from
the agency's API."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from yibao import codes
from yibao.money import NotDecimal, to_decimal
from yibao.validation import problems_of

CodeText = Field(pattern=r"^[0-9A-Za-z._\-]{1,50}$")


def _quantity(value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValueError("must be a decimal number as a string or a whole number, never a float")
    try:
        number = to_decimal(value)
    except NotDecimal:
        raise ValueError("must be a decimal number") from None
    if not Decimal(0) < number < Decimal("1E9"):
        raise ValueError("must be above 0 and below 1000000000")
    return number


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Items(_Params):
    """The items (national list codes) a rule concerns."""

    codes: list[StrictStr] = Field(min_length=1)

    @field_validator("codes")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not code or len(code) > 50:
                raise ValueError(f"{code[:60]!r} is not a list code (1 to 50 characters)")
        return value


#: a department code or a diagnosis code prefix
Prefix = Annotated[StrictStr, Field(min_length=1, max_length=50)]
Gend = Literal["1", "2"]
Level = Literal["1", "2", "3"]
Age = Field(default=None, ge=0, le=150)


class SexParams(_Items):
    gend: Gend  # the sex the items are for (GEND: 1 男, 2 女)


class AgeParams(_Items):
    min_age: StrictInt | None = Age
    max_age: StrictInt | None = Age

    @model_validator(mode="after")
    def _range(self) -> AgeParams:
        if self.min_age is None and self.max_age is None:
            raise ValueError("min_age or max_age is required")
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            raise ValueError(f"max_age {self.max_age} is below min_age {self.min_age}")
        return self


class LevelParams(_Items):
    hosp_lv: list[Level] = Field(min_length=1)  # the institution levels allowed


class DeptParams(_Items):
    depts: list[Prefix] = Field(min_length=1)  # department code prefixes allowed


class QuantityParams(_Items):
    max_qty: Decimal

    @field_validator("max_qty", mode="before")
    @classmethod
    def _max_qty(cls, value: Any) -> Decimal:
        return _quantity(value)


class PeriodParams(QuantityParams):
    days: StrictInt = Field(ge=1, le=366)


class ExclusiveParams(_Items):
    with_codes: list[Prefix] = Field(min_length=1)  # not on one visit with any of `codes`

    @model_validator(mode="after")
    def _apart(self) -> ExclusiveParams:
        both = set(self.codes) & set(self.with_codes)
        if both:
            raise ValueError(f"{', '.join(sorted(both))} cannot exclude itself (use kind duplicate)")
        return self


class DuplicateParams(_Params):
    codes: list[Prefix] = Field(default_factory=list)  # empty: every item


class LmtCond(_Params):
    """限定支付范围 in a checkable form: every condition given must hold for the fund to pay the item."""

    gend: Gend | None = None
    min_age: StrictInt | None = Age
    max_age: StrictInt | None = Age
    hosp_lv: list[Level] | None = Field(default=None, min_length=1)
    dise_prefixes: list[Prefix] | None = Field(default=None, min_length=1)  # a diagnosis of the visit starts so
    max_days: StrictInt | None = Field(default=None, ge=1, le=3660)  # days of use the fund pays, per person

    @model_validator(mode="after")
    def _some(self) -> LmtCond:
        if all(getattr(self, k) is None for k in CONDITIONS):
            raise ValueError("names no condition: give gend, min_age, max_age, hosp_lv, dise_prefixes or max_days")
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            raise ValueError(f"max_age {self.max_age} is below min_age {self.min_age}")
        return self


CONDITIONS = ("gend", "min_age", "max_age", "hosp_lv", "dise_prefixes", "max_days")


class RestrictedParams(LmtCond, _Items):
    pass


PARAMS: dict[str, type[_Params]] = {
    "sex": SexParams, "age": AgeParams, "hosp_lv": LevelParams, "dept": DeptParams,
    "qty_per_visit": QuantityParams, "qty_per_period": PeriodParams, "exclusive": ExclusiveParams,
    "duplicate": DuplicateParams, "restricted_payment": RestrictedParams,
}
KINDS = tuple(PARAMS)
#: the 违规行为分类 a kind answers unless its rule names another
BEHAVIOUR = {"sex": "4", "age": "4", "dept": "4", "hosp_lv": "5", "qty_per_visit": "3", "qty_per_period": "3",
             "exclusive": "6", "duplicate": "2", "restricted_payment": "1"}


class RuleDoc(BaseModel):
    """One rule as the dataset and the API write it."""

    model_config = ConfigDict(extra="forbid")
    rule_id: StrictStr = CodeText
    name: StrictStr = Field(default="", max_length=200)
    kind: StrictStr = Field(max_length=40)
    severity: StrictStr = Field(max_length=2)
    vola_bhvr_type: StrictStr | None = Field(default=None, max_length=2)
    message: StrictStr = Field(min_length=1, max_length=500)
    params: dict[StrictStr, Any] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in PARAMS:
            raise ValueError(f"{value[:40]!r} is not a kind of rule; one of: {', '.join(KINDS)}")
        return value

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        if value not in codes.SEV_DEG:
            raise ValueError(f"{value[:20]!r} is not a severity (sev_deg); one of: "
                             + ", ".join(f"{k} {v}" for k, v in codes.SEV_DEG.items()))
        return value

    @field_validator("vola_bhvr_type")
    @classmethod
    def _behaviour(cls, value: str | None) -> str | None:
        if value is not None and value not in codes.VOLA_BHVR_TYPE:
            raise ValueError(f"{value[:20]!r} is not a code of vola_bhvr_type; one of: "
                             + ", ".join(f"{k} {v}" for k, v in codes.VOLA_BHVR_TYPE.items()))
        return value

    @field_validator("params")
    @classmethod
    def _params(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        model = PARAMS.get(info.data.get("kind", ""))
        if model is None:
            return value  # the kind itself is refused
        try:
            return model.model_validate(value).model_dump(mode="json", exclude_none=True)
        except ValidationError as exc:
            raise ValueError("; ".join(f"{p}: {r}" if p else r for p, r in problems_of(exc))) from None


@dataclass(frozen=True)
class Rule:
    """A rule ready to evaluate: its params parsed for its kind."""

    rule_id: str
    kind: str
    sev_deg: str
    vola_bhvr_type: str
    message: str
    name: str
    params: Any


def rule_of(rule_id: str, kind: str, severity: str, message: str, params: dict[str, Any], *, name: str = "",
            vola_bhvr_type: str | None = None) -> Rule:
    """A stored rule (already validated once) for the engine."""
    return Rule(rule_id, kind, severity, vola_bhvr_type or BEHAVIOUR[kind], message, name or rule_id,
                PARAMS[kind].model_validate(params))


def rule_from_doc(doc: RuleDoc) -> Rule:
    return rule_of(doc.rule_id, doc.kind, doc.severity, doc.message, doc.params, name=doc.name,
                   vola_bhvr_type=doc.vola_bhvr_type)


def catalog_rule(code: str, name: str, cond: LmtCond) -> RuleDoc:
    """The restricted-payment rule a catalog row's `lmt_cond` stands for (rule_id LMT-<code>)."""
    said = ", ".join(f"{k}={v}" for k, v in cond.model_dump(exclude_none=True).items())
    return RuleDoc(rule_id=f"LMT-{code}"[:50], name=f"限定支付范围 {name}"[:200], kind="restricted_payment",
                   severity="1", message=f"{name} 超出限定支付范围 ({said})"[:500],
                   params={"codes": [code], **cond.model_dump(mode="json", exclude_none=True)})
