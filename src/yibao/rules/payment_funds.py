"""Which fund pays the institution a mutual-aid amount (太原 并医险中心字〔2022〕126号 四): a pure function of the
treatment region, the beneficiary's insured region and insutype, and the region of the account drawn on.

Shanxi (14xxxx) follows Taiyuan's payment plan:
- 四(三): a beneficiary insured elsewhere in the province is settled through the provincial platform: the
  provincial centre pays from its cross-region account;
- 四(一)1 and 3, 四(四)4: an employee drawing on a local account, and every resident beneficiary (local or
  cross-region account alike), are paid from the city's employee personal-account fund;
- 四(二): an employee drawing on the account of another region of the province is paid from the city's
  cross-region fund account.

Elsewhere (广东省《个人账户家庭共济异地使用定点医药机构接入改造指引》 case (1)) the beneficiary's agency pays the
mutual-aid part together with the basic fund, and the centre pays for beneficiaries insured elsewhere."""

from __future__ import annotations

from yibao.rules.monthly import RESIDENT_INSUTYPES

EMPLOYEE_ACCOUNTS = "employee_accounts"
XREGION_FUND = "xregion_fund"
WITH_FUND = "with_fund"
CENTRE = "centre"

#: the fund names as printed; a region's name goes in front of all but the centre's
FUND_NAMES = {
    EMPLOYEE_ACCOUNTS: "职工医保个人账户基金",
    XREGION_FUND: "异地基金账户",
    WITH_FUND: "医保基金（随基本医疗保险基金拨付）",
    CENTRE: "省异地就医结算专户",
}

#: the provinces whose mutual-aid payment plan follows Taiyuan's document
TAIYUAN_PLAN_PROVINCES = frozenset({"14"})


def mutual_aid_fund(treatment_admdvs: str, insu_admdvs: str, insutype: str, acct_admdvs: str) -> str:
    """The fund that pays the institution the mutual-aid amount drawn on an account of acct_admdvs."""
    if insu_admdvs != treatment_admdvs:
        return CENTRE
    if treatment_admdvs[:2] not in TAIYUAN_PLAN_PROVINCES:
        return WITH_FUND
    if insutype in RESIDENT_INSUTYPES or acct_admdvs == treatment_admdvs:
        return EMPLOYEE_ACCOUNTS
    return XREGION_FUND


def fund_label(fund: str | None, region_name: str) -> str:
    """The printed name of a fund: "太原市职工医保个人账户基金"; empty for a row from before funds were recorded."""
    if not fund:
        return ""
    return FUND_NAMES[fund] if fund == CENTRE else f"{region_name}{FUND_NAMES[fund]}"
