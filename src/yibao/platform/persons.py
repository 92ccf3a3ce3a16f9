"""Finding an insured person by credential (1101), with the cross-region rule of seed 003."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.money import ZERO
from yibao.platform.work import Work
from yibao.rules.identity import id_card_problem
from yibao.store.models import Account, Contribution, FederationVisitor, Institution, Person, Region
from yibao.store.reference import reference


@dataclass(frozen=True)
class Credential:
    kind: str  # mdtrt_cert_type: 01 e-credential, 02 ID card, 03 social-security card
    number: str
    card_sn: str = ""


def pooling_region(session: Session, code: str) -> str:
    """The pooling region a code names: itself, or the city of a district code (440106 -> 440100)."""
    regions = reference(session).regions(session)
    if code in regions:
        return code
    city = code[:4] + "00"
    return city if city in regions else code


XPROV_CERT_TYPES_DEFAULT = ("01", "02", "03")


def searched_region(session: Session, institution: Institution, insuplc_admdvs: str) -> str:
    """The insured region a message names (its pooling region), or the institution's own when it names none."""
    return pooling_region(session, insuplc_admdvs) if insuplc_admdvs else institution.admdvs


def xprov_cert_types(session: Session, treatment_admdvs: str) -> tuple[str, ...]:
    """Credential types the treatment region accepts for persons insured in another province: its setting
    `xprov_cert_types` (default 01, 02, 03). Seed 003 社保卡跨省读取: some regions take the card only."""
    region = session.get(Region, treatment_admdvs)
    value = (region.settings or {}).get("xprov_cert_types") if region is not None else None
    if value is None:
        return XPROV_CERT_TYPES_DEFAULT
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise refuse("input.data.mdtrt_cert_type", f"region {treatment_admdvs}'s setting xprov_cert_types must be "
                                                   f"a list of credential types such as [\"03\"], not {value!r}")
    return tuple(value)


def find_person(session: Session, institution: Institution, insuplc_admdvs: str, cred: Credential) -> Person:
    """The person holding `cred`, searched in the insured region named by the message.

    Without insuplc_admdvs the search is local (the institution's region): a person insured elsewhere
    is found only when the desk names his insured region (seed 003 身份认证).
    """
    region = searched_region(session, institution, insuplc_admdvs)
    field = "input.data.mdtrt_cert_no"
    found = holders(session, cred)
    here = [p for p in found if p.admdvs == region]
    remote = session.info.get("remote")  # a node of a federation: its node answers for a person insured there
    if remote is not None and remote.elsewhere(region) and (not here or remote.is_visitor(session, here[0])):
        here = [remote.visitor(session, region, cred=cred)]
    if not here:
        if found and not insuplc_admdvs:
            raise refuse("insuplc_admdvs", "the holder of this credential is insured in another region: "
                                           "set insuplc_admdvs to the insured region (参保地) chosen at the desk")
        raise refuse(field, f"no person insured in region {region} holds this credential")
    person = here[0]
    if cred.kind == "03" and person.card_sn and person.card_sn != cred.card_sn:
        raise refuse("input.data.card_sn", "does not match the card's identification code")
    return person


def holders(session: Session, cred: Credential) -> list[Person]:
    """The persons holding the credential, wherever insured; the credential refused if malformed."""
    field = "input.data.mdtrt_cert_no"
    if not cred.number:
        raise refuse(field, "is required")
    if cred.kind == "01":
        return list(session.scalars(select(Person).where(Person.ecard == cred.number)))
    if cred.kind == "02":
        why = id_card_problem(cred.number)
        if why:
            raise refuse(field, f"not a valid ID card number: {why}")
        return list(session.scalars(select(Person).where(Person.certno == cred.number.upper())))
    if cred.kind == "03":
        if not cred.card_sn:
            raise refuse("input.data.card_sn", "is required with a social-security card (mdtrt_cert_type 03)")
        return list(session.scalars(select(Person).where(Person.card_no == cred.number)))
    raise refuse("input.data.mdtrt_cert_type", "must be one of 01, 02, 03")


def check_claimed_identity(person: Person, certno: str | None, psn_name: str | None) -> None:
    """Optional identity fields sent with the credential must agree with the person found."""
    if certno and certno.upper() != person.certno:
        raise refuse("input.data.certno", "does not belong to the holder of the credential")
    if psn_name and psn_name != person.name:
        raise refuse("input.data.psn_name", "does not match the name of the holder of the credential")


def presented_problem(person: Person, cert_type: str, cert_no: str) -> str | None:
    """Why the credential a visit was opened with is not the person's own, or None. An ID card (02) must carry
    his ID number and a social-security card (03) his card number; an e-credential (01) is a code that changes
    with each scan (or a mobile-payment authorization), checked where it is read (1101), not here."""
    if not cert_no:
        return None
    if cert_type == "02" and cert_no.upper() != person.certno:
        return "is not the ID number of the person (psn_no)"
    if cert_type == "03" and person.card_no and cert_no != person.card_no:
        return "is not the social-security card number of the person (psn_no)"
    return None


def account_balance(session: Session, psn_no: str) -> Decimal:
    account = session.get(Account, psn_no)
    if account is None:  # a visitor insured on another node: the balance his node gave (docs/federation.md)
        visitor = session.get(FederationVisitor, psn_no)
        return visitor.balc if visitor is not None and visitor.balc is not None else ZERO
    return account.balance if account.status == "open" else ZERO


def age_on(brdy: date, today: date) -> int:
    years = today.year - brdy.year
    return years - 1 if (today.month, today.day) < (brdy.month, brdy.day) else years


def contributions(session: Session, psn_no: str) -> list[Contribution]:
    return list(session.scalars(select(Contribution).where(Contribution.psn_no == psn_no)
                                .order_by(Contribution.ym, Contribution.insutype)))


def local_contributions(work: Work, psn_no: str) -> tuple[Person, list[Contribution]]:
    """90100: a person insured in the institution's own region and his months of contributions (seed 003 缴费查询:
    a person insured elsewhere has his benefits checked by his insured region)."""
    local = work.here.admdvs
    insuplc = work.insuplc_admdvs
    if insuplc and pooling_region(work.session, insuplc) != local:
        raise refuse("insuplc_admdvs", f"90100 serves persons insured in {local} only; for a person insured in "
                                       f"{insuplc} the insured region checks benefits itself (seed 003 缴费查询)")
    person = work.session.get(Person, psn_no)
    if person is None:
        raise refuse("input.data.psn_no", f"no insured person {psn_no}")
    if person.admdvs != local:
        raise refuse("input.data.psn_no", f"the person is insured in another region; 90100 serves persons insured "
                                          f"in {local} only, benefits of others are checked by their insured region")
    return person, contributions(work.session, person.psn_no)
