"""Reconciliation: the platform's account journal and bank outbox against the bank's ledger.

The platform side is every account_journal entry with a `setl_id` (settlement, mutual-aid and refund
movements) joined to the bank_outbox instruction it queued, and the outbox's fund_031 transfers (monthly
allocation and clearing: no journal entry, compared with the bank by id alone); the bank side is
`BankAdapter.ledger()`. Every difference is listed (docs/bank.md); none means the books agree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from yibao.bank.adapter import ACCOUNT_CODES, CREDIT, DEBIT, FUND_TRANSFER, BankAdapter, BookedInstruction, amount_text
from yibao.money import ZERO
from yibao.store.db import Store
from yibao.store.models import AccountEntry, BankInstruction

#: the kinds of difference, in the order they are explained in docs/bank.md
PENDING = "pending"  # queued, not yet acknowledged by the bank
MISSING_AT_BANK = "missing_at_bank"  # marked delivered, but the bank has no record of it
UNKNOWN_AT_PLATFORM = "unknown_at_platform"  # booked by the bank, never queued by the platform
AMOUNT_MISMATCH = "amount_mismatch"
ACCOUNT_MISMATCH = "account_mismatch"  # psn_no or acct_admdvs
CODE_MISMATCH = "code_mismatch"  # acct_021 vs acct_023 vs fund_031
REFERENCE_MISMATCH = "reference_mismatch"  # setl_id, beneficiary_psn_no or payee
NO_INSTRUCTION = "no_instruction"  # a journal entry with no instruction queued
JOURNAL_MISMATCH = "journal_mismatch"  # an instruction that does not say what its journal entry says
NO_JOURNAL_ENTRY = "no_journal_entry"  # an account instruction whose journal entry is gone (never fund_031)
#: a personal account's net movement differs between the platform's journal and the bank (fund accounts,
#: moved by fund_031 only, are not totalled: each of their instructions is compared by id)
ACCOUNT_TOTAL = "account_total"


@dataclass(frozen=True)
class Difference:
    kind: str
    subject: str  # the instruction id, `journal#<id>`, or the account holder's psn_no for account_total
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}: {self.detail}"


def _describe(x: BankInstruction | BookedInstruction) -> str:
    text = f"{x.code} {amount_text(x.amount)} account {x.psn_no}/{x.acct_admdvs} setl {x.setl_id}"
    text += f" for {x.beneficiary_psn_no}" if x.beneficiary_psn_no else ""
    return text + (f" to {x.payee}" if x.payee else "")


def _compare(ours: BankInstruction, theirs: BookedInstruction) -> list[Difference]:
    out = []
    iid = ours.instruction_id
    if ours.amount != theirs.amount:
        out.append(Difference(AMOUNT_MISMATCH, iid, f"platform {amount_text(ours.amount)}, "
                                                    f"bank {amount_text(theirs.amount)}"))
    if (ours.psn_no, ours.acct_admdvs) != (theirs.psn_no, theirs.acct_admdvs):
        out.append(Difference(ACCOUNT_MISMATCH, iid, f"platform {ours.psn_no}/{ours.acct_admdvs}, "
                                                     f"bank {theirs.psn_no}/{theirs.acct_admdvs}"))
    if ours.code != theirs.code:
        out.append(Difference(CODE_MISMATCH, iid, f"platform {ours.code}, bank {theirs.code}"))
    if _reference(ours) != _reference(theirs):
        out.append(Difference(REFERENCE_MISMATCH, iid, f"platform {_reference_text(ours)}, "
                                                       f"bank {_reference_text(theirs)}"))
    return out


def _reference(x: BankInstruction | BookedInstruction) -> tuple[str, str | None, str | None]:
    return x.setl_id, x.beneficiary_psn_no or None, x.payee or None


def _reference_text(x: BankInstruction | BookedInstruction) -> str:
    text = f"setl {x.setl_id} beneficiary {x.beneficiary_psn_no or '-'}"
    return text + (f" payee {x.payee or '-'}" if x.code == FUND_TRANSFER or x.payee else "")


def _journal_check(entry: AccountEntry, ins: BankInstruction) -> Difference | None:
    want = {"code": DEBIT if entry.amount < 0 else CREDIT, "amount": abs(entry.amount), "psn_no": entry.psn_no,
            "setl_id": entry.setl_id,
            "beneficiary_psn_no": entry.beneficiary_psn_no if entry.beneficiary_psn_no != entry.psn_no else None}
    wrong = [f"{k} {getattr(ins, k)} (journal: {v})" for k, v in want.items()
             if (getattr(ins, k) or None) != (v or None)]
    if not wrong:
        return None
    return Difference(JOURNAL_MISMATCH, ins.instruction_id, f"journal#{entry.id} says otherwise: " + "; ".join(wrong))


def reconcile(store: Store, adapter: BankAdapter) -> list[Difference]:
    """Every difference between the platform's books and the bank's; an empty list when they agree.
    Raises BankUnavailable when the bank's ledger cannot be read."""
    # the platform first: an instruction delivered between the two reads is then at worst reported pending,
    # never missing at the bank
    with store.unit_of_work() as s:
        entries = list(s.scalars(select(AccountEntry).where(AccountEntry.setl_id.is_not(None))
                                 .order_by(AccountEntry.id)))
        outbox = list(s.scalars(select(BankInstruction)
                                .order_by(BankInstruction.created_at, BankInstruction.instruction_id)))
    booked = adapter.ledger()
    at_bank = {b.instruction_id: b for b in booked}
    by_journal = {o.journal_id: o for o in outbox if o.journal_id is not None}
    entry_ids = {e.id for e in entries}
    diffs: list[Difference] = []

    for e in entries:
        ins = by_journal.get(e.id)
        if ins is None:
            diffs.append(Difference(NO_INSTRUCTION, f"journal#{e.id}", f"{e.kind} {amount_text(e.amount)} of "
                                    f"account {e.psn_no} setl {e.setl_id}: no bank instruction queued"))
        elif (d := _journal_check(e, ins)) is not None:
            diffs.append(d)

    for o in outbox:
        if o.code != FUND_TRANSFER and o.journal_id not in entry_ids:  # a fund transfer has no journal entry
            diffs.append(Difference(NO_JOURNAL_ENTRY, o.instruction_id,
                                    f"{_describe(o)}: journal#{o.journal_id} has no such entry with a setl_id"))
        theirs = at_bank.get(o.instruction_id)
        if o.status != "delivered":
            note = f"; attempts {o.attempts}, next {o.next_attempt_at:%Y-%m-%d %H:%M:%S}"
            if o.last_error:
                note += f", last error: {o.last_error}"
            if theirs is not None:
                note += "; already booked at the bank (its ack was lost): the next delivery completes it"
            diffs.append(Difference(PENDING, o.instruction_id, _describe(o) + note))
        elif theirs is None:
            delivered = f"{o.delivered_at:%Y-%m-%d %H:%M:%S}" if o.delivered_at else "?"
            diffs.append(Difference(MISSING_AT_BANK, o.instruction_id,
                                    f"{_describe(o)}: marked delivered {delivered}, the bank has no record"))
        if theirs is not None:
            diffs.extend(_compare(o, theirs))

    ours = {o.instruction_id for o in outbox}
    for b in booked:
        if b.instruction_id not in ours:
            when = f" {b.booked_at}" if b.booked_at else ""
            diffs.append(Difference(UNKNOWN_AT_PLATFORM, b.instruction_id,
                                    f"{_describe(b)}: booked by the bank{when}, never queued by the platform"))

    platform_net: dict[str, Decimal] = defaultdict(lambda: ZERO)
    bank_net: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in entries:
        platform_net[e.psn_no] += e.amount
    for b in booked:  # personal accounts only: the journal knows nothing of fund_031 (compared by id above)
        if b.code in ACCOUNT_CODES:
            bank_net[b.psn_no] += b.signed_amount
    for psn_no in sorted(set(platform_net) | set(bank_net)):
        p, b_ = platform_net[psn_no], bank_net[psn_no]
        if p != b_:
            diffs.append(Difference(ACCOUNT_TOTAL, psn_no, f"net movement: platform {amount_text(p)}, "
                                                           f"bank {amount_text(b_)} (difference "
                                                           f"{amount_text(p - b_)})"))
    return diffs
