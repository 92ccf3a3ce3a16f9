"""The region settings (dataset `regions[].settings`) for the rules the source documents set differently by
region: each setting's name, its default, and what a value of it must look like. Pure; docs/dataset.md lists
them with the document each comes from. The decisions they drive are in aid_sources.py, mutual_aid.py,
filing.py and prescriptions.py; the platform reads a setting where it applies (platform/regions.py).
"""

from __future__ import annotations

from typing import Any

from yibao.codes import MED_TYPE, PERSON_INSUTYPES

#: 太原 并医险中心字〔2022〕126号 五(一): the benefit kinds (med_type) for which a beneficiary in arrears gets no
#: family mutual aid. `true` stands for the kinds that involve pooling (14, 2x, 52); absent or false: off.
ARREARS = "arrears_blocks_mutual_aid"
#: 合肥 合医管〔2019〕97号 一: where authorizer and beneficiary must both be insured, `province` (the default)
#: or `region` (the same pooling region, 我市). A setting of the authorizer's region.
SCOPE = "mutual_aid_scope"
SCOPES = ("province", "region")
#: 太原 一 / 合肥 一: the insurances a beneficiary may hold (authorizer's region); default 310, 390 and 510.
BENEFICIARY_INSUTYPES = "mutual_aid_beneficiary_insutypes"
#: 太原 五(二): the med_types under which a resident (390) beneficiary may use family mutual aid; absent: any.
RESIDENT_MED_TYPES = "resident_mutual_aid_med_types"
#: 揭阳 揭医保〔2021〕82号: a referral filing is valid for at most this many calendar months ("不超3个月").
REFERRAL_MONTHS = "referral_filing_max_months"
#: 中山大学附属第七医院《医保移动支付开发需求书》: the disease codes of dialysis (血液透析), which a person
#: settles across regions only at the one institution he is filed to.
DIALYSIS = "dialysis_diseases"


def _med_types(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"must be a list of med_type codes (quoted strings), not {value!r:.60}"
    unknown = [v for v in value if v not in MED_TYPE]
    if unknown:
        return f"{', '.join(unknown)[:60]} is not a med_type code"
    return None


def problems(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """(setting name, rule) for every setting of this module whose value has the wrong shape."""
    out: list[tuple[str, str]] = []
    if ARREARS in settings and not isinstance(settings[ARREARS], bool):
        why = _med_types(settings[ARREARS])
        if why:
            out.append((ARREARS, f"{why}; or true for the benefit kinds that involve pooling (14, 2x, 52)"))
    if SCOPE in settings and settings[SCOPE] not in SCOPES:
        out.append((SCOPE, f"must be one of {', '.join(SCOPES)}, not {settings[SCOPE]!r:.40}"))
    if BENEFICIARY_INSUTYPES in settings:
        kinds = settings[BENEFICIARY_INSUTYPES]
        if not isinstance(kinds, list) or not kinds or not all(k in PERSON_INSUTYPES for k in kinds):
            out.append((BENEFICIARY_INSUTYPES, f"must be a non-empty list of {', '.join(PERSON_INSUTYPES)}, not "
                                               f"{kinds!r:.60}"))
    if RESIDENT_MED_TYPES in settings and settings[RESIDENT_MED_TYPES] is not None:
        why = _med_types(settings[RESIDENT_MED_TYPES])
        if why:
            out.append((RESIDENT_MED_TYPES, why))
    if REFERRAL_MONTHS in settings:
        months = settings[REFERRAL_MONTHS]
        if months is not None and (isinstance(months, bool) or not isinstance(months, int) or months <= 0):
            out.append((REFERRAL_MONTHS, f"must be a whole number of months above 0, not {months!r:.40}"))
    if DIALYSIS in settings:
        codes = settings[DIALYSIS]
        if not isinstance(codes, list) or not all(isinstance(c, str) and c for c in codes):
            out.append((DIALYSIS, f"must be a list of disease codes (quoted strings), not {codes!r:.60}"))
    return out
