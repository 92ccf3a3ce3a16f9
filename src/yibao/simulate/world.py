"""The simulated world as loaded: institutions, persons, catalog items and authorizations, and the shares
the traffic is drawn with."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.codes import province as province_code
from yibao.rules.filing import FilingTerms, ReferralCap, covers, filing_needed
from yibao.rules.region_settings import REFERRAL_MONTHS
from yibao.rules.selection import qualification_problem, settlement_case
from yibao.store.models import (
    Account,
    CatalogItem,
    Filing,
    Institution,
    MutualAidAuthorization,
    Person,
    Region,
)

#: shares of the visits: cross-region, mutual aid (the rest are local), and the chance of a cancellation after each
CROSS_REGION_SHARE = 0.25  # float-ok: a share of visits, not money
MUTUAL_AID_SHARE = 0.20  # float-ok
CANCEL_SHARE = 0.05  # float-ok
#: an employee beneficiary whose opening balance is below this is "short" and leans on mutual aid
SHORT_BALANCE = Decimal("500.00")
PHARMACY_SHARE = 0.35  # float-ok: of the visits to a person's home region that go to a pharmacy, when it has one
CONSULT_TYPES = ("02", "12")
OUTPATIENT_TYPES = ("03", "04", "05", "08", "09", "10", "11", "13", "14")
DRUG_TYPES = ("09", "10", "11")
PRICE_FACTORS = (Decimal("0.50"), Decimal("0.80"), Decimal("1"), Decimal("1"), Decimal("1.20"))
PAGE = 100  # 3260 answers pages of 100 rows
REJECT_REASON = "模拟审核：检查项目与诊断不符（示例拒付）"
OPTER = "sim01"


# -- the world, as loaded ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Inst:
    code: str
    admdvs: str
    kind: str
    level: str | None
    xregion: str
    secret: str


@dataclass(frozen=True)
class Psn:
    psn_no: str
    name: str
    certno: str
    insutype: str
    admdvs: str
    balance: Decimal | None


@dataclass(frozen=True)
class Item:
    code: str
    kind: str  # med_chrgitm_type
    cap: Decimal | None


@dataclass(frozen=True)
class Grant:
    beneficiary: str
    start: date
    end: date | None


@dataclass
class World:
    regions: dict[str, Region]
    institutions: list[Inst]
    persons: list[Psn]
    catalog: dict[str, list[Item]]
    filings: dict[str, list[FilingTerms]]
    grants: list[Grant]

    @classmethod
    def read(cls, session: Session) -> World:
        regions = {r.admdvs: r for r in session.scalars(select(Region).order_by(Region.admdvs))}
        for r in regions.values():
            session.expunge(r)
        balances = {a.psn_no: a.balance for a in session.scalars(select(Account)) if a.status == "open"}
        institutions = [Inst(i.code, i.admdvs, i.kind, i.level, i.xregion, i.secret)
                        for i in session.scalars(select(Institution).order_by(Institution.code))]
        persons = [Psn(p.psn_no, p.name, p.certno, p.insutype, p.admdvs, balances.get(p.psn_no))
                   for p in session.scalars(select(Person).order_by(Person.psn_no))]
        catalog: dict[str, list[Item]] = defaultdict(list)
        for c in session.scalars(select(CatalogItem).order_by(CatalogItem.admdvs, CatalogItem.code)):
            catalog[c.admdvs].append(Item(c.code, c.med_chrgitm_type, c.pric_uplmt_amt))
        filings: dict[str, list[FilingTerms]] = defaultdict(list)
        for f in session.scalars(select(Filing).where(Filing.status == "active").order_by(Filing.id)):
            filings[f.psn_no].append(FilingTerms(f.id, f.type, f.dest_admdvs, f.dest_fixmedins, f.start, f.end))
        grants = [Grant(g.beneficiary, g.start, g.end) for g in session.scalars(
            select(MutualAidAuthorization).where(MutualAidAuthorization.status == "active")
            .order_by(MutualAidAuthorization.id))]
        return cls(regions, institutions, persons, dict(catalog), dict(filings), grants)

    def at_home(self, person: Psn) -> list[Inst]:
        return [i for i in self.institutions if i.admdvs == person.admdvs]

    def cross_region_pairs(self, day: date) -> list[tuple[Psn, Inst]]:
        """(person, institution of another region of the person's province) that the qualification, filing and
        designated-institution rules of rules.md section 6 allow on the day (the platform has the last word)."""
        out = []
        for p in self.persons:
            insured = self.regions.get(p.admdvs)
            if insured is None:
                continue
            settings = insured.settings or {}
            for i in self.institutions:
                if i.admdvs == p.admdvs or province_code(i.admdvs) != province_code(p.admdvs):
                    continue
                if qualification_problem(settlement_case(p.admdvs, i.admdvs, False), i.xregion):
                    continue
                filed = [f for f in self.filings.get(p.psn_no, [])
                         if covers(f, treatment_admdvs=i.admdvs, fixmedins_code=i.code, visit_day=day,
                                   referral_max=ReferralCap(insured.referral_filing_max_days,
                                                            settings.get(REFERRAL_MONTHS))) is None]
                if filing_needed(True, insured.inprov_outpatient_filing_required) and not filed:
                    continue
                if settings.get("designated_institutions_required") and not any(
                        f.dest_fixmedins == i.code for f in filed):
                    continue
                out.append((p, i))
        return out

    def mutual_aid_people(self, day: date) -> list[Psn]:
        """Beneficiaries of an authorization valid on the day who are residents or whose own account is short."""
        valid = {g.beneficiary for g in self.grants if g.start <= day and (g.end is None or day <= g.end)}
        return [p for p in self.persons if p.psn_no in valid and self.at_home(p) and (
            p.balance is None or p.insutype != "310" or p.balance < SHORT_BALANCE)]


