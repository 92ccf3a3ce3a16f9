"""`yibao load FILE`: read, validate the whole document, then write it in one transaction.

Loading is idempotent: rows are matched by their natural keys and only changed when the document
says something different. Opening balances and year-to-date usage are the document's figures: a
reload moves a balance (through a journal entry) or an accumulator only by the change of the figure
since the last load, so settlements made in between are kept.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yibao.clock import business_date, business_now
from yibao.dataset import published
from yibao.dataset.schema import DatasetDoc, PersonDoc, PolicyDoc, RegionDoc
from yibao.dataset.validate import Known, Problem, cross_check, parse
from yibao.rules.analysis import catalog_rule
from yibao.rules.splitting import CATALOG_FLAGS
from yibao.store import models as m
from yibao.store.db import Store


class DatasetError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class LoadReport:
    """What a load changed, by table: inserted / updated / deleted row counts."""

    changes: dict[str, list[int]] = field(default_factory=dict)

    def count(self, table: str, kind: int, n: int = 1) -> None:
        self.changes.setdefault(table, [0, 0, 0])[kind] += n

    @property
    def changed(self) -> bool:
        return any(any(v) for v in self.changes.values())

    def summary(self) -> str:
        if not self.changed:
            return "nothing changed: the database already holds this document"
        rows = [f"{t}: +{a} ~{u} -{d}" for t, (a, u, d) in sorted(self.changes.items()) if a or u or d]
        return "; ".join(rows)


INSERTED, UPDATED, DELETED = 0, 1, 2


def read_document(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise DatasetError([Problem(str(path), f"is not valid YAML or JSON: {exc}")]) from None


def load_file(store: Store, path: Path, provinces: tuple[str, ...] | None = None) -> LoadReport:
    return load_document(store, read_document(path), provinces)


def load_document(store: Store, raw: Any, provinces: tuple[str, ...] | None = None) -> LoadReport:
    """`provinces`: a node of a federation (YIBAO_PROVINCES) writes only what it owns (docs/federation.md); the
    document is still checked whole."""
    doc, problems = parse(raw)
    if doc is None:
        raise DatasetError(problems)
    with store.unit_of_work() as session:
        problems = cross_check(doc, _known(session))
        if problems:
            raise DatasetError(problems)
        report = LoadReport()
        _Writer(session, report).write(owned(doc, provinces) if provinces else doc, store)
        return report


def owned(doc: DatasetDoc, provinces: tuple[str, ...]) -> DatasetDoc:
    """What a node owning `provinces` holds of the document: its regions with their reference data, its
    institutions, the persons insured there with their accounts, usage, filings and mutual aid. Another
    province's reference data arrives as that node's snapshots, its persons as visitors (docs/federation.md)."""
    def own(admdvs: str) -> bool:
        return admdvs[:2] in provinces
    persons = [p for p in doc.persons if own(p.admdvs)]
    ours = {p.psn_no for p in persons}
    return doc.model_copy(update={
        "regions": [r for r in doc.regions if own(r.admdvs)],
        "institutions": [i for i in doc.institutions if own(i.admdvs)],
        "persons": persons,
        "mutual_aid": [g for g in doc.mutual_aid if g.beneficiary in ours and g.authorizer in ours],
        "filings": [f for f in doc.filings if f.psn_no in ours]})


def _known(session: Session) -> Known:
    persons = {
        psn_no: (insutype, admdvs, has_account is not None)
        for psn_no, insutype, admdvs, has_account in session.execute(
            select(m.Person.psn_no, m.Person.insutype, m.Person.admdvs, m.Account.psn_no)
            .outerjoin(m.Account, m.Account.psn_no == m.Person.psn_no))
    }
    rows = session.execute(select(m.Person.psn_no, m.Person.certno, m.Person.ecard, m.Person.admdvs,
                                  m.Person.card_no)).all()
    accounts = {a.psn_no: (a.balance, a.loaded_balance) for a in session.scalars(select(m.Account))}
    return Known(regions=frozenset(session.scalars(select(m.Region.admdvs))),
                 institutions=frozenset(session.scalars(select(m.Institution.code))),
                 persons=persons, certnos={r.certno: r.psn_no for r in rows},
                 ecards={r.ecard: r.psn_no for r in rows if r.ecard},
                 cards={(r.admdvs, r.card_no): r.psn_no for r in rows if r.card_no}, accounts=accounts)


def _fingerprint(policy: PolicyDoc) -> str:
    data = policy.model_dump(mode="json", by_alias=True)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class _Writer:
    def __init__(self, session: Session, report: LoadReport):
        self.s = session
        self.report = report

    def upsert(self, model: type[m.Base], key: dict[str, Any], values: dict[str, Any]) -> Any:
        """Insert, or update only the columns whose value differs."""
        row = self.s.get(model, tuple(key.values()) if len(key) > 1 else next(iter(key.values())))
        table = model.__tablename__
        if row is None:
            row = model(**key, **values)
            self.s.add(row)
            self.report.count(table, INSERTED)
            return row
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        if changed:
            self.report.count(table, UPDATED)
        return row

    def remove(self, model: type[m.Base], *criteria: Any) -> None:
        n = self.s.execute(delete(model).where(*criteria)).rowcount
        if n:
            self.report.count(model.__tablename__, DELETED, n)

    def write(self, doc: DatasetDoc, store: Store) -> None:
        if doc.today is not None:
            self.upsert(m.Setting, {"key": "today"}, {"value": doc.today.isoformat()})
            self.s.flush()
        stored_today = store.stored_today(self.s)
        self.today = business_date(stored_today)
        self.now = business_now(stored_today)
        for region in doc.regions:
            self.region(region)
        for inst in doc.institutions:
            self.upsert(m.Institution, {"code": inst.code}, inst.model_dump(exclude={"code"}))
        for person in doc.persons:
            self.person(person)
        self.s.flush()
        for grant in doc.mutual_aid:
            self.mutual_aid(grant)
        for filing in doc.filings:
            self.filing(filing)
        for year, days in doc.calendar.items():  # a year stated is replaced whole; years not stated stay
            self.upsert(m.CalendarYear, {"year": year}, {"holidays": sorted(d.isoformat() for d in days.holidays),
                                                         "workdays": sorted(d.isoformat() for d in days.workdays)})
        # the catalog rows HIS systems download, stamped with a version where they changed (docs/catalogs.md)
        published.stamp(self.s, {r.admdvs: published.wanted(r) for r in doc.regions}, self.now, self.report.count)

    def region(self, r: RegionDoc) -> None:
        ma = r.mutual_aid
        self.upsert(m.Region, {"admdvs": r.admdvs}, {
            "name": r.name, "acct_bookkeeping": r.acct_bookkeeping,
            "inprov_outpatient_filing_required": r.inprov_outpatient_filing_required,
            "referral_filing_max_days": r.referral_filing_max_days,
            "mutual_aid_enabled": ma.enabled, "authorizer_min_balance": ma.authorizer_min_balance,
            "relation_limits": dict(ma.relation_limits), "local_only_diseases": list(r.local_only_diseases),
            "settings": r.settings,
        })
        for d in r.diseases:
            self.upsert(m.Disease, {"admdvs": r.admdvs, "code": d.code}, {"name": d.name})
        self.remove(m.Disease, m.Disease.admdvs == r.admdvs, m.Disease.code.not_in([d.code for d in r.diseases]))
        for sw in r.switches:
            self.upsert(m.RegionSwitch, {"admdvs": r.admdvs, "name": sw.name}, {"on": sw.on, "since": sw.from_})
        self.remove(m.RegionSwitch, m.RegionSwitch.admdvs == r.admdvs,
                    m.RegionSwitch.name.not_in([sw.name for sw in r.switches]))
        self.policies(r)
        for item in r.catalog:
            self.upsert(m.CatalogItem, {"admdvs": r.admdvs, "code": item.code}, {
                "name": item.name, "chrgitm_lv": item.chrgitm_lv,
                "selfpay_prop": {k: str(v) for k, v in item.selfpay_prop.items()},
                "pric_uplmt_amt": item.pric_uplmt_amt, "med_chrgitm_type": item.med_chrgitm_type,
                "extra": {**{name: getattr(item, name) for name in CATALOG_FLAGS if getattr(item, name) != "0"},
                          # the catalog the item is in, when the dataset states it (3301 holds list_type to it)
                          **({"list_type": item.list_type} if item.list_type else {})},
            })
        self.remove(m.CatalogItem, m.CatalogItem.admdvs == r.admdvs,
                    m.CatalogItem.code.not_in([item.code for item in r.catalog]))
        self.analysis_rules(r)
        for product in r.insurance_products:
            self.upsert(m.InsuranceProduct, {"admdvs": r.admdvs, "code": product.code},
                        {"name": product.name, "insurer": product.insurer, "premium": product.premium,
                         "active": True})

    def analysis_rules(self, r: RegionDoc) -> None:
        """The region's rules from the document (its own and its catalog's 限定支付范围); rules the agency made
        through the API stay, and a rule the agency disabled stays disabled."""
        wanted = [(doc, "dataset") for doc in r.analysis_rules]
        wanted += [(catalog_rule(item.code, item.name, item.lmt_cond), "catalog")
                   for item in r.catalog if item.lmt_cond is not None]
        for doc, source in wanted:
            values = {"name": doc.name or doc.rule_id, "kind": doc.kind, "severity": doc.severity,
                      "vola_bhvr_type": doc.vola_bhvr_type, "message": doc.message, "params": doc.params,
                      "source": source}
            row = self.s.get(m.AnalysisRule, (r.admdvs, doc.rule_id))
            if row is None:
                self.s.add(m.AnalysisRule(admdvs=r.admdvs, rule_id=doc.rule_id, active=True, created_at=self.now,
                                          **values))
                self.report.count("analysis_rules", INSERTED)
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                self.report.count("analysis_rules", UPDATED)
        self.remove(m.AnalysisRule, m.AnalysisRule.admdvs == r.admdvs,
                    m.AnalysisRule.source.in_(("dataset", "catalog")),
                    m.AnalysisRule.rule_id.not_in([doc.rule_id for doc, _ in wanted]))

    def policies(self, r: RegionDoc) -> None:
        """Policy rows have no natural key: a row is its content, so a changed row is a new row."""
        wanted = {_fingerprint(p): p for p in r.policies}
        have = set(self.s.scalars(select(m.Policy.fingerprint).where(m.Policy.admdvs == r.admdvs)))
        for fp, p in wanted.items():
            if fp not in have:
                self.s.add(m.Policy(
                    admdvs=r.admdvs, fingerprint=fp, insutype=p.insutype, med_types=list(p.med_types),
                    hosp_lv=list(p.hosp_lv) if p.hosp_lv else None, bucket=p.bucket,
                    deductible=p.deductible, ratio=p.ratio, annual_cap=p.annual_cap,
                    acct_scope=p.acct_scope, valid_from=p.from_, valid_to=p.to, switch=p.switch, extra={}))
                self.report.count("policies", INSERTED)
        self.remove(m.Policy, m.Policy.admdvs == r.admdvs, m.Policy.fingerprint.not_in(list(wanted)))

    def person(self, p: PersonDoc) -> None:
        self.upsert(m.Person, {"psn_no": p.psn_no}, p.model_dump(
            exclude={"psn_no", "account", "chronic", "used", "contributions"}))
        for c in p.chronic:
            self.upsert(m.PersonDisease, {"psn_no": p.psn_no, "code": c.code}, {"since": c.since})
        # the document's own recognitions only: those made later by an institution (2503) or an agency stay
        self.remove(m.PersonDisease, m.PersonDisease.psn_no == p.psn_no, m.PersonDisease.recognized_by.is_(None),
                    m.PersonDisease.code.not_in([c.code for c in p.chronic]))
        for c in p.contributions:
            self.upsert(m.Contribution, {"psn_no": p.psn_no, "ym": c.ym, "insutype": c.insutype or p.insutype},
                        {"amount": c.amount, "paid": c.paid})
        if p.account is not None:
            self.account(p.psn_no, p.account.admdvs, p.account.balance, p.account.from_suspended_employment)
        for bucket, usage in p.used.items():
            self.usage(p.psn_no, bucket, usage.deductible, usage.fund)

    def account(self, psn_no: str, admdvs: str, stated: Decimal, suspended_employment: bool) -> None:
        acct = self.s.get(m.Account, psn_no)
        if acct is None:
            self.s.add(m.Account(psn_no=psn_no, admdvs=admdvs, balance=stated, loaded_balance=stated, status="open",
                                 from_suspended_employment=suspended_employment))
            self._entry(psn_no, "opening", stated, stated, "opening balance from the dataset")
            self.report.count("accounts", INSERTED)
            return
        if acct.admdvs != admdvs or acct.from_suspended_employment != suspended_employment:
            acct.admdvs, acct.from_suspended_employment = admdvs, suspended_employment
            self.report.count("accounts", UPDATED)
        delta = stated - (acct.loaded_balance if acct.loaded_balance is not None else acct.balance)
        if delta:
            if acct.balance + delta < 0:  # cross_check refuses this first; kept as a safeguard
                raise DatasetError([Problem(f"persons[psn_no={psn_no}].account.balance", "would fall below 0")])
            acct.balance += delta
            acct.loaded_balance = stated
            self._entry(psn_no, "adjustment", delta, acct.balance, "dataset changed the stated balance")
            self.report.count("accounts", UPDATED)

    def _entry(self, psn_no: str, kind: str, amount: Decimal, after: Decimal, memo: str) -> None:
        self.s.add(m.AccountEntry(psn_no=psn_no, entry_time=self.now, kind=kind, amount=amount,
                                  balance_after=after, memo=memo))
        self.report.count("account_journal", INSERTED)

    def usage(self, psn_no: str, bucket: str, deductible: Decimal, fund: Decimal) -> None:
        key = (psn_no, self.today.year, bucket)
        acc = self.s.get(m.Accumulator, key)
        if acc is None:
            self.s.add(m.Accumulator(psn_no=psn_no, year=self.today.year, bucket=bucket,
                                     deductible_used=deductible, fund_paid=fund,
                                     loaded_deductible=deductible, loaded_fund=fund))
            self.report.count("accumulators", INSERTED)
            return
        d_delta = deductible - (acc.loaded_deductible or Decimal("0.00"))
        f_delta = fund - (acc.loaded_fund or Decimal("0.00"))
        if d_delta or f_delta:
            acc.deductible_used += d_delta
            acc.fund_paid += f_delta
            acc.loaded_deductible, acc.loaded_fund = deductible, fund
            self.report.count("accumulators", UPDATED)

    def mutual_aid(self, g: Any) -> None:
        row = self.s.scalar(select(m.MutualAidAuthorization).where(
            m.MutualAidAuthorization.authorizer == g.authorizer,
            m.MutualAidAuthorization.beneficiary == g.beneficiary,
            m.MutualAidAuthorization.start == g.start))
        values = {"relation": g.relation, "quota": g.quota, "end": g.end, "priority": g.priority,
                  "commitment_version": g.commitment_version}
        if row is None:
            self.s.add(m.MutualAidAuthorization(
                authorizer=g.authorizer, beneficiary=g.beneficiary, start=g.start, quota_used=Decimal("0.00"),
                status="active", source="dataset", created_at=self.now, **values))
            self.report.count("mutual_aid_authorizations", INSERTED)
            return
        if any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            self.report.count("mutual_aid_authorizations", UPDATED)

    def filing(self, f: Any) -> None:
        row = self.s.scalar(select(m.Filing).where(
            m.Filing.psn_no == f.psn_no, m.Filing.type == f.type, m.Filing.start == f.start,
            m.Filing.dest_admdvs.is_(None) if f.dest_admdvs is None else m.Filing.dest_admdvs == f.dest_admdvs,
            m.Filing.dest_fixmedins.is_(None) if f.dest_fixmedins is None
            else m.Filing.dest_fixmedins == f.dest_fixmedins))
        if row is None:
            self.s.add(m.Filing(psn_no=f.psn_no, type=f.type, dest_admdvs=f.dest_admdvs,
                                dest_fixmedins=f.dest_fixmedins, start=f.start, end=f.end, dise_codg=f.dise_codg,
                                version=1, status="active", source="dataset"))
            self.report.count("filings", INSERTED)
        elif row.end != f.end or row.dise_codg != f.dise_codg:
            row.end, row.dise_codg = f.end, f.dise_codg
            self.report.count("filings", UPDATED)


