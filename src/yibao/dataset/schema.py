"""The shape of the dataset document (dataset.md). Keys beyond the contract are documented in docs/dataset.md."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationInfo, field_validator

from yibao import codes
from yibao.dataset.fields import Admdvs, Code, IsoDate, Money, Price, Ratio, SelfpayProp, choice
from yibao.rules.analysis import LmtCond, RuleDoc
from yibao.rules.identity import id_card_problem


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class MutualAidSettings(Strict):
    enabled: StrictBool = True
    authorizer_min_balance: Money | None = None
    relation_limits: dict[choice(*codes.RELATIONS), StrictInt] = Field(default_factory=dict)

    @field_validator("relation_limits")
    @classmethod
    def _non_negative(cls, value: dict[str, int]) -> dict[str, int]:
        for relation, limit in value.items():
            if limit < 0:
                raise ValueError(f"limit for {relation} must not be below 0")
        return value


class DiseaseDoc(Strict):
    code: Code
    name: StrictStr


class SwitchDoc(Strict):
    name: Code
    on: StrictBool
    from_: IsoDate | None = Field(default=None, alias="from")


class PolicyDoc(Strict):
    insutype: choice(*codes.PERSON_INSUTYPES)
    med_types: list[Code] = Field(min_length=1)
    hosp_lv: list[choice(*codes.HOSP_LV)] | None = None
    bucket: Code
    deductible: Money
    ratio: Ratio
    annual_cap: Money
    acct_scope: choice(*codes.ACCT_SCOPE)
    from_: IsoDate | None = Field(default=None, alias="from")
    to: IsoDate | None = None
    switch: Code | None = None


def _chrgitm_lv(value: Any) -> Any:
    """Unpadded grades (1/2/3) occur in the wild; the platform speaks 01/02/03."""
    return value.zfill(2) if isinstance(value, str) and value in ("1", "2", "3") else value


class CatalogItemDoc(Strict):
    code: Code
    name: StrictStr
    chrgitm_lv: choice(*codes.CHRGITM_LV)
    selfpay_prop: SelfpayProp
    pric_uplmt_amt: Price | None = None
    med_chrgitm_type: Code
    bas_medn_flag: choice("0", "1") = "0"
    hi_nego_drug_flag: choice("0", "1") = "0"
    chld_medc_flag: choice("0", "1") = "0"
    list_sp_item_flag: choice("0", "1") = "0"
    lmt_used_flag: choice("0", "1") = "0"
    drt_reim_flag: choice("0", "1") = "0"
    # catalog downloads (docs/catalogs.md): which download serves the item (default by med_chrgitm_type), the
    # columns of its file by the file's header, and the codes 1318 shows beside pric_uplmt_amt
    list_type: choice("101", "102", "103", "201", "301") | None = None
    details: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    lmtpric_type: Code | None = None
    overlmt_dspo_way: Code | None = None
    #: 限定支付范围 in a checkable form (docs/analysis.md): loaded as the region's rule LMT-<code>
    lmt_cond: LmtCond | None = None

    @field_validator("chrgitm_lv", mode="before")
    @classmethod
    def _pad_grade(cls, value: Any) -> Any:
        return _chrgitm_lv(value)


class ListedRowDoc(Strict):
    """A row of a catalog yibao keeps no table for (diagnoses, operations, ...): served by its download only."""

    code: Code
    name: StrictStr
    details: dict[StrictStr, StrictStr] = Field(default_factory=dict)


class InsuranceProductDoc(Strict):
    code: Code
    name: StrictStr
    insurer: StrictStr
    premium: Money


class RegionDoc(Strict):
    admdvs: Admdvs
    name: StrictStr
    acct_bookkeeping: StrictBool = True
    inprov_outpatient_filing_required: StrictBool = False
    referral_filing_max_days: StrictInt | None = None
    mutual_aid: MutualAidSettings = Field(default_factory=lambda: MutualAidSettings(enabled=False))
    local_only_diseases: list[Code] = Field(default_factory=list)
    diseases: list[DiseaseDoc] = Field(default_factory=list)
    policies: list[PolicyDoc] = Field(default_factory=list)
    catalog: list[CatalogItemDoc] = Field(default_factory=list)
    switches: list[SwitchDoc] = Field(default_factory=list)
    insurance_products: list[InsuranceProductDoc] = Field(default_factory=list)
    settings: dict[StrictStr, Any] = Field(default_factory=dict)
    #: rows of the downloads 1307, 1308, 1310, 1311, 1313, 1314, 1315, by infno (docs/catalogs.md)
    downloads: dict[choice("1307", "1308", "1310", "1311", "1313", "1314", "1315"), list[ListedRowDoc]] = Field(
        default_factory=dict)
    #: pre- and mid-event analysis rules (docs/analysis.md)
    analysis_rules: list[RuleDoc] = Field(default_factory=list)


class InstitutionDoc(Strict):
    code: Code
    name: StrictStr
    admdvs: Admdvs
    kind: choice(*codes.INSTITUTION_KINDS)
    level: choice(*codes.HOSP_LV) | None = None
    xregion: choice(*codes.XREGION) = "none"
    internet: StrictBool = False
    secret: StrictStr = Field(min_length=8)


class AccountDoc(Strict):
    balance: Money
    admdvs: Admdvs
    from_suspended_employment: StrictBool = False


class ChronicDoc(Strict):
    code: Code
    since: IsoDate | None = None


class UsageDoc(Strict):
    deductible: Money = Decimal("0.00")
    fund: Money = Decimal("0.00")


class ContributionDoc(Strict):
    ym: StrictStr = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    insutype: choice(*codes.PERSON_INSUTYPES) | None = None
    amount: Money
    paid: StrictBool = True


class PersonDoc(Strict):
    psn_no: StrictStr = Field(pattern=r"^[0-9A-Za-z]{1,30}$")
    name: StrictStr = Field(min_length=1)
    psn_cert_type: Code = "01"
    certno: StrictStr
    gend: choice(*codes.GEND)
    naty: Code = "01"
    brdy: IsoDate
    insutype: choice(*codes.PERSON_INSUTYPES)
    admdvs: Admdvs
    psn_type: Code
    arrears: StrictBool = False
    suspended: StrictBool = False
    ecard: Code | None = None
    #: the e-credential is activated (揭阳 揭医保〔2021〕82号 art. 39); set through the API as well
    ecard_activated: StrictBool = True
    card_no: Code | None = None
    card_sn: Code | None = None
    emp_name: StrictStr | None = None
    insu_date: IsoDate | None = None
    account: AccountDoc | None = None
    chronic: list[ChronicDoc] = Field(default_factory=list)
    used: dict[Code, UsageDoc] = Field(default_factory=dict)
    contributions: list[ContributionDoc] = Field(default_factory=list)


    @field_validator("certno")
    @classmethod
    def _valid_id_card(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("psn_cert_type", "01") == "01":
            why = id_card_problem(value)
            if why:
                raise ValueError(f"not a valid ID card number: {why}")
        return value.upper()


class MutualAidDoc(Strict):
    authorizer: StrictStr
    beneficiary: StrictStr
    relation: choice(*codes.GRANT_RELATIONS)
    quota: Money | None = None
    start: IsoDate
    end: IsoDate | None = None
    priority: StrictInt | None = None
    commitment_version: StrictStr | None = None


class FilingDoc(Strict):
    psn_no: StrictStr
    type: choice(*codes.FILING_TYPES)
    dest_admdvs: Admdvs | None = None
    dest_fixmedins: Code | None = None
    start: IsoDate
    end: IsoDate | None = None
    #: the disease the filing is for; a dialysis disease (settings.dialysis_diseases) is filed to one institution
    dise_codg: Code | None = None


class CalendarYearDoc(Strict):
    """A year of the State Council's calendar: public holidays (放假) and adjusted working days (调休上班)."""

    holidays: list[IsoDate] = Field(default_factory=list)
    workdays: list[IsoDate] = Field(default_factory=list)


Year = Annotated[int, Field(ge=1990, le=2100)]


class DatasetDoc(Strict):
    today: IsoDate | None = None
    regions: list[RegionDoc] = Field(default_factory=list)
    institutions: list[InstitutionDoc] = Field(default_factory=list)
    persons: list[PersonDoc] = Field(default_factory=list)
    mutual_aid: list[MutualAidDoc] = Field(default_factory=list)
    filings: list[FilingDoc] = Field(default_factory=list)
    #: the working-day calendar by year (docs/dataset.md): a year here wins over the chinesecalendar package
    calendar: dict[Year, CalendarYearDoc] = Field(default_factory=dict)
