"""The treatment province's node: the part of a settlement only the insured province's node may apply, asked
through the exchange within a time box (docs/federation.md).

settlement.compute() hands a person insured on another node here: the treatment node has priced the lines with
its catalog and chosen the insured region's policy (rules.md 2); `insured_part` asks the insured node to apply the
accumulator, the account debits with their mutual-aid waterfall and the bank instructions (platform/elsewhere.py)
and waits at most the time box. The request's id is the settlement's setl_id, chosen here and written to the outbox
in a transaction of its own before it is sent, so that a crash, a refusal or a lost answer always leaves a trace:

- answered in time: the outbox row is marked in the settlement's own transaction; both commit or neither does;
- refused: the HIS gets the insured node's reason, nothing was applied;
- not answered in time (node down, exchange down, slow): the HIS gets "not settled"; the row is owed a
  cancellation, which the sweeper sends until the insured node answers it (reversing what it applied, or fencing
  the id so that a late request never applies) — the machinery of 2601.

A cancellation (2208, 2601) asks the insured node to reverse its part, id C + setl_id; not answered in time, it is
refused and the sweeper completes it on both sides once the insured node answers.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from yibao.clock import business_now
from yibao.errors import Refusal, refuse
from yibao.federation.config import NodeConfig, from_env
from yibao.federation.exchange import Exchange, Unreachable
from yibao.money import ZERO
from yibao.platform import elsewhere, province_transfers, recovery, settlement, snapshots, visitors
from yibao.platform.ids import new_id
from yibao.rules.cost_sharing import Shares
from yibao.rules.selection import Case, PolicyRow
from yibao.rules.splitting import Sums
from yibao.rules.waterfall import AccountPayment, AidSource, Draw
from yibao.store.db import Store
from yibao.store.models import Account, FederationOutbox, Institution, Person, ReferenceVersion, Settlement
from yibao.store.vault import Vault, VaultError

log = logging.getLogger("yibao.federation")


@dataclass(frozen=True)
class RemotePart:
    setl_id: str
    peer: str
    balc: Decimal


class Remote:
    """A node's link to the other nodes; `store.remote` of the node's store."""

    def __init__(self, config: NodeConfig, exchange: Exchange, store: Store):
        self.config, self.exchange, self.store = config, exchange, store
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._reference_seen: int | None = None  # the reference version last published from
        self.unsent = False  # a snapshot the exchange did not take: sent again by the next round

    def start(self, serve: bool = True) -> Remote:
        """Connect; with `serve`, take the requests other nodes send this one, apply the reference snapshots they
        publish, and publish this node's own."""
        self.store.remote = self
        self.exchange.start((lambda msg: elsewhere.handle(self.store, msg)) if serve else None)
        if serve:
            self.exchange.follow(lambda msg: snapshots.receive(self.store, msg, self.config.provinces,
                                                                  self.config.peers))
            try:
                self.publish(again=True)
            except (IntegrityError, OperationalError) as exc:  # a sibling worker publishing at the same time
                log.warning("federation: publishing at start: %s; the sweeper publishes again", exc)
                self.unsent = True
        return self

    # -- reference snapshots --------------------------------------------------------------------------------

    def publish(self, again: bool = False) -> list[dict[str, Any]]:
        """This node's provinces' reference data, each kind that changed (every kind `again`) as a snapshot to
        every peer; what was sent (province, kind, version, digest)."""
        with self.store.unit_of_work() as s:
            self._reference_seen = s.scalar(select(ReferenceVersion.n).where(ReferenceVersion.id == 1))
            bodies = [b for province in self.config.provinces
                      for b in snapshots.publish(s, province, datetime.now(), again=again or self.unsent)]
        sent = []
        self.unsent = False
        for body in bodies:
            try:
                self.exchange.broadcast(body["kind"], f"S{body['province']}{body['kind']}{body['version']}", body)
            except Unreachable as exc:
                log.warning("federation: snapshot %s %s v%s not sent: %s", body["province"], body["kind"],
                            body["version"], exc)
                self.unsent = True
                continue
            sent.append({k: body[k] for k in ("province", "kind", "version", "digest")})
        return sent

    def publish_if_changed(self) -> list[dict[str, Any]]:
        """Published again when the reference data moved (a load, a switch change, whoever made it)."""
        with self.store.unit_of_work() as s:
            seen = s.scalar(select(ReferenceVersion.n).where(ReferenceVersion.id == 1))
        return self.publish() if seen != self._reference_seen or self.unsent else []

    def require_reference(self, session: Session, admdvs: str) -> None:
        """Refused while the insured province's reference data has not arrived here."""
        if self.elsewhere(admdvs):
            snapshots.require(session, admdvs[:2])

    # -- visitors -------------------------------------------------------------------------------------------

    def is_visitor(self, session: Session, person: Person) -> bool:
        return visitors.is_visitor(session, person.psn_no)

    def visitor(self, session: Session, region: str, *, psn_no: str | None = None, cred: Any = None) -> Person:
        """A person insured on another node, as that node answers for him now, kept as a visitor record."""
        peer = self.elsewhere(region) or ""
        field = "input.data.psn_no" if psn_no else "input.data.mdtrt_cert_no"
        body = {"region": region, "psn_no": psn_no, "cred": asdict(cred) if cred is not None else None}
        answer = self.ask(peer, "person", "P" + uuid.uuid4().hex[:24], body)
        if answer is None:
            raise refuse(field, f"the insured province's node {peer} did not answer within "
                                f"{self.config.time_box:g} s who the person is; send the message again")
        if answer.get("state") != "found":
            raise refuse("input.data.card_sn" if answer.get("field") == "card_sn" else field,
                         answer.get("reason", "not found by the insured province's node"))
        if self.store.engine.dialect.name == "sqlite":  # one writer at a time: with the message's transaction
            return visitors.keep(session, answer, peer, datetime.now())
        # PostgreSQL: kept in a transaction of its own, whatever becomes of the message; two workers meeting the
        # same visitor at once collide on his key, and the second keeps the record again
        for attempt in (1, 2):
            try:
                with self.store.unit_of_work() as s:
                    visitors.keep(s, answer, peer, datetime.now())
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        person = session.get(Person, answer["person"]["psn_no"], populate_existing=True)
        if person is None:  # read committed: the record just committed is seen
            raise refuse(field, "the visitor record could not be kept; send the message again")
        return person

    def elsewhere(self, admdvs: str) -> str | None:
        return self.config.node_of(admdvs)

    # -- asking ---------------------------------------------------------------------------------------------

    def ask(self, peer: str, kind: str, msg_id: str, body: dict[str, Any],
            wait: float | None = None) -> dict[str, Any] | None:  # float-ok: seconds
        """Send a request and wait for its answer, at most `wait` seconds (the time box); None without one."""
        try:
            self.exchange.send(peer, kind, msg_id, body)
        except Unreachable as exc:
            log.warning("federation: %s %s to node %s not sent: %s", kind, msg_id, peer, exc)
            return None
        return self.exchange.wait(msg_id, wait or self.config.time_box)

    def _outbox(self, session: Session, msg_id: str, kind: str, peer: str, body: dict[str, Any]) -> None:
        """The request written before it is sent, in a transaction of its own (PostgreSQL). SQLite has one writer
        at a time and the settlement's transaction holds it: the row goes with that transaction, and should it
        roll back, is written after it (a crash in between is not covered there: a node is one PostgreSQL)."""
        now = datetime.now()
        if self.store.engine.dialect.name != "sqlite":
            with self.store.unit_of_work() as s:
                if s.get(FederationOutbox, msg_id) is None:
                    s.add(FederationOutbox(msg_id=msg_id, kind=kind, peer=peer, state="asked", body=body,
                                           asked_at=now, updated_at=now))
            return
        if session.get(FederationOutbox, msg_id) is None:
            session.add(FederationOutbox(msg_id=msg_id, kind=kind, peer=peer, state="asked", body=body,
                                         asked_at=now, updated_at=now))
        later = session.info.setdefault("federation_after_rollback", {})
        if not later:
            event.listen(session, "after_rollback", lambda s: self._after_rollback(later), once=True)
        later[msg_id] = {"msg_id": msg_id, "kind": kind, "peer": peer, "state": "asked", "body": body,
                         "answer": None, "asked_at": now, "updated_at": now}

    def _after_rollback(self, rows: dict[str, dict[str, Any]]) -> None:
        with self.store.unit_of_work() as s:
            for row in rows.values():
                if s.get(FederationOutbox, row["msg_id"]) is None:
                    s.add(FederationOutbox(**row))

    def _mark(self, session: Session | None, msg_id: str, state: str, answer: dict[str, Any] | None,
              work: Session | None = None) -> None:
        """The outbox row's new state: in `session`, else in a transaction of its own (with the SQLite
        settlement's transaction `work` open: after it rolls back)."""
        later = work.info.get("federation_after_rollback", {}) if work is not None else {}
        if msg_id in later:
            later[msg_id].update(state=state, answer=answer, updated_at=datetime.now())
            return

        def mark(s: Session) -> None:
            s.flush()  # a row added in this same transaction (SQLite) is found
            row = s.get(FederationOutbox, msg_id, with_for_update=True)
            if row is not None:
                row.state, row.answer, row.updated_at = state, answer, datetime.now()
        if session is not None:
            mark(session)
            return
        with self.store.unit_of_work() as s:
            mark(s)

    def _silence(self, peer: str, what: str) -> Refusal:
        return Refusal(f"{what}: the insured province's node {peer} did not answer within "
                       f"{self.config.time_box:g} s; nothing is {what.split()[-1]} here, and whatever it applies "
                       "later is reversed — send the message again")

    # -- the treatment node ---------------------------------------------------------------------------------

    def insured_part(self, session: Session, *, person: Person, institution: Institution, case: Case,
                     policy: PolicyRow, med_type: str, kind: str, sums: Sums, use_accounts: bool, today: date,
                     as_of: date, year: int, lock: bool, warnings: list[str]) -> settlement.Computation:
        peer = self.elsewhere(person.admdvs) or ""
        now = business_now(self.store.stored_today(session))
        setl_id = new_id(institution.admdvs, now)
        body = {"psn_no": person.psn_no, "insutype": person.insutype, "med_type": med_type, "kind": kind,
                "treatment_admdvs": institution.admdvs, "level": institution.level, "today": today.isoformat(),
                "as_of": as_of.isoformat(), "use_accounts": use_accounts, "now": now.isoformat(),
                "sums": {k: str(getattr(sums, k)) for k in elsewhere.SUMS}}
        if self.store.engine.dialect.name == "sqlite":  # no outbox row survives a crash before the commit
            body["confirm"] = True  # so the insured node asks what became of it (platform/recovery.py)
        if not lock:  # a pre-settlement: priced by the insured node, applied nowhere
            answer = self.ask(peer, "quote", "Q" + setl_id, body)
            if answer is None:
                raise self._silence(peer, "not priced")
        else:
            self._outbox(session, setl_id, "settle", peer, body)
            answer = self.ask(peer, "settle", setl_id, body)
            if answer is None:
                self._mark(None, setl_id, "compensate", None, work=session)
                raise self._silence(peer, "not settled")
            if answer["state"] != "applied":
                self._mark(None, setl_id, "refused", answer, work=session)
            else:
                self._mark(session, setl_id, "answered", answer)
        if answer["state"] not in ("applied", "quoted"):
            raise Refusal(f"refused by the insured province's node {peer}: {answer.get('reason', '')}")
        return _computation(answer, person, case, policy, med_type, sums, year, warnings,
                            RemotePart(setl_id, peer, Decimal(answer["balc"])))

    def cancel_elsewhere(self, session: Session, original: Settlement) -> Decimal | None:
        """The insured node's part of `original` reversed (2208, 2601); the own balance after, if it has one."""
        peer = self.elsewhere(original.insu_admdvs) or ""
        msg_id = elsewhere.CANCEL + original.setl_id
        body = {"setl_id": original.setl_id, "psn_no": original.psn_no,
                "now": business_now(self.store.stored_today(session)).isoformat()}
        self._outbox(session, msg_id, "cancel", peer, body)
        answer = self.ask(peer, "cancel", msg_id, body)
        if answer is None:
            raise self._silence(peer, "not cancelled")
        self._mark(session, msg_id, "answered", answer)
        return Decimal(answer["balc"]) if answer.get("balc") else None

    # -- what is owed ---------------------------------------------------------------------------------------

    def sweep(self, now: datetime | None = None) -> dict[str, int]:
        """Settlements not answered in time: their cancellation sent until answered; cancellations not answered
        in time: completed on this side once the insured node answers. What was done, by kind."""
        cutoff = (now or datetime.now()) - timedelta(seconds=2 * self.config.time_box)
        done = {"compensated": 0, "cancelled": 0}
        with self.store.unit_of_work() as s:
            for row in s.scalars(_owed(s, "asked", "settle", cutoff)):
                row.state, row.updated_at = "compensate", datetime.now()
        with self.store.unit_of_work() as s:
            owed = [(r.msg_id, r.peer, r.body) for r in s.scalars(_owed(s, "compensate", "settle", None))]
            cancels = [r.msg_id for r in s.scalars(_owed(s, "asked", "cancel", cutoff))]
        for msg_id, peer, body in owed:
            answer = self.ask(peer, "cancel", elsewhere.CANCEL + msg_id, {"setl_id": msg_id, "now": body["now"],
                                                                          "psn_no": body["psn_no"],
                                                                          "compensation": True})
            if answer is not None:
                self._mark(None, msg_id, "compensated", answer)
                done["compensated"] += 1
        for msg_id in cancels:
            try:
                with self.store.unit_of_work() as s:
                    original = s.get(Settlement, msg_id.removeprefix(elsewhere.CANCEL))
                    if original is None or original.status != "settled":
                        self._mark(s, msg_id, "answered", None)
                        continue
                    now_ = business_now(self.store.stored_today(s))
                    settlement.cancel(s, original, now=now_, msgid=msg_id[:30], opter="federation",
                                      opter_name="federation")
                done["cancelled"] += 1
            except Refusal as exc:
                log.warning("federation: completing %s: %s", msg_id, exc)
        return done

    def start_sweeping(self, every: float | None = None) -> None:  # float-ok: seconds
        interval = every or self.config.time_box

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.sweep()
                    recovery.confirm(self, datetime.now() - timedelta(seconds=4 * self.config.time_box))
                    province_transfers.advance(self)
                    self.publish_if_changed()
                except Exception:  # noqa: BLE001 - the next round tries again
                    log.exception("federation: sweeping failed")
        self._sweeper = threading.Thread(target=loop, name="federation-sweeper", daemon=True)
        self._sweeper.start()

    def close(self) -> None:
        self._stop.set()
        self.exchange.close()
        if self.store.remote is self:
            self.store.remote = None


def _owed(session: Session, state: str, kind: str, before: datetime | None) -> Any:
    q = select(FederationOutbox).where(FederationOutbox.state == state, FederationOutbox.kind == kind)
    if before is not None:
        q = q.where(FederationOutbox.asked_at < before)
    q = q.order_by(FederationOutbox.asked_at)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return q


def _computation(a: dict[str, Any], person: Person, case: Case, policy: PolicyRow, med_type: str, sums: Sums,
                 year: int, warnings: list[str], part: RemotePart) -> settlement.Computation:
    shares = Shares(Decimal(a["act_pay_dedc"]), Decimal(a["hifp_pay"]), Decimal(a["coinsurance"]),
                    Decimal(a["pool_prop_selfpay"]), Decimal(a["fund_pay_sumamt"]), Decimal(a["psn_part_amt"]),
                    Decimal(a["cap_left_before"]), tuple(a["explanation"]))
    draws = tuple(Draw(AidSource(auth, authorizer, region, ZERO, None), Decimal(amount))
                  for auth, authorizer, region, amount in a["draws"])
    # the own account as the insured node has it: only its region is written on the settlement
    own = Account(psn_no=person.psn_no, admdvs=a["acct_admdvs"]) if a["acct_admdvs"] else None
    return settlement.Computation(person, case, policy, med_type, sums, shares,
                                  AccountPayment(Decimal(a["own"]), draws), own, None, year,
                                  warnings=[*warnings, *a["warnings"]], remote=part)


def node_from_env(store: Store) -> Remote | None:
    """The node this process is, from YIBAO_PROVINCES (federation/config.py): on NATS JetStream; None alone."""
    config = from_env()
    if config is None:
        return None
    from yibao.federation.jetstream import JetStreamExchange

    try:
        sealer = Vault([k.encode("ascii") for k in config.keys])
    except (VaultError, UnicodeEncodeError):
        raise refuse("YIBAO_FEDERATION_KEY", "each key must be 32 url-safe base64-encoded bytes "
                                             "(make one with: yibao keys data)") from None
    exchange = JetStreamExchange(config.nats_url, config.name, config.peers, config.space, sealer=sealer)
    return Remote(config, exchange, store)
