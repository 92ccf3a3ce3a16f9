"""The monthly cycle of the simulated month, on the days of the next month its regions allow."""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.client import PlatformError
from yibao.errors import Refusal
from yibao.platform import allocation as al
from yibao.platform import declaration as dc
from yibao.platform import review
from yibao.rules.monthly import Cycle, month_end, month_start, parse_ym, shift, window
from yibao.simulate.server import set_today
from yibao.simulate.traffic import Traffic
from yibao.simulate.world import REJECT_REASON
from yibao.store.db import Store
from yibao.store.models import (
    Declaration,
    Institution,
    Region,
    Settlement,
)

# -- the monthly cycle --------------------------------------------------------------------------------------------

def _clamp(day: date, span: tuple[date, date]) -> date:
    return min(max(day, span[0]), span[1])


def _on(ym: str, day_of_month: int) -> date:
    """That day of month ym+1 (the month's last day if it is shorter)."""
    year, month = parse_ym(shift(ym, 1))
    return date(year, month, min(day_of_month, calendar.monthrange(year, month)[1]))


@dataclass(order=True)
class Step:
    day: date
    order: int
    label: str = field(compare=False)
    run: Callable[[Session, date, datetime], Any] = field(compare=False)
    wire: bool = field(default=False, compare=False)


class MonthlyCycle:
    """The cycle of month ym on the days of ym+1 each region's calendar allows; every step is logged."""

    def __init__(self, store: Store, traffic: Traffic, ym: str, console: Console):
        self.store, self.traffic, self.ym, self.console = store, traffic, ym, console
        self.log: list[dict[str, Any]] = []
        self.rejected: dict[str, Any] | None = None

    def regions(self) -> dict[str, list[str]]:
        """The treatment regions whose institutions settled in the month, with those institutions."""
        with self.store.unit_of_work() as s:
            rows = s.execute(select(Institution.admdvs, Institution.code).join(
                Settlement, Settlement.fixmedins_code == Institution.code)
                .where(Settlement.setl_time >= month_start(self.ym), Settlement.setl_time < month_end(self.ym),
                       Settlement.kind != "coordination").distinct().order_by(Institution.admdvs, Institution.code))
            out: dict[str, list[str]] = defaultdict(list)
            for admdvs, code in rows:
                out[admdvs].append(code)
            return dict(out)

    def plan(self) -> list[Step]:
        ym = self.ym
        with self.store.unit_of_work() as s:
            cycles = {r.admdvs: Cycle.of(r.settings) for r in s.scalars(select(Region))}
        steps: list[Step] = []
        allocate_days: dict[str, list[date]] = defaultdict(list)
        for admdvs, codes in self.regions().items():
            c = cycles.get(admdvs) or Cycle.of(None)
            declare_day = _clamp(_on(ym, 5), window(ym, "declare", c))
            confirm_day = _clamp(_on(ym, 5), (_on(ym, 1), _on(ym, c.confirm_last_day)))
            review_day = _clamp(_on(ym, 15), window(ym, "review", c))
            allocate_day = _clamp(_on(ym, 22), window(ym, "allocate", c))
            for code in codes:
                steps.append(Step(declare_day, 0, f"declare {ym} {code}", self._declare(code)))
                steps.append(Step(confirm_day, 1, f"3260/3261 {ym} {code}", self._confirm(code), wire=True))
            steps.append(Step(review_day, 2, f"review {ym} {admdvs}", self._review(admdvs)))
            steps.append(Step(allocate_day, 4, f"allocate agency {admdvs} {ym}", self._allocate("agency", admdvs)))
            allocate_days[al.province_of(admdvs)].append(allocate_day)
        for prov, days in sorted(allocate_days.items()):
            first, last = min(days), max(days)
            # the advances must exist before the first allocation: the clearing of the month before
            steps.append(Step(first, 3, f"initial prepayment {prov} ({shift(ym, -1)})",
                              self._advances(prov, shift(ym, -1))))
            for day in sorted(set(days)):
                steps.append(Step(day, 5, f"allocate centre {prov} {ym}", self._allocate("centre", prov)))
            steps.append(Step(last, 6, f"mutual-aid clearing {prov} {ym}", self._mutual_aid(prov)))
            steps.append(Step(last, 7, f"month's clearing {prov} {ym}", self._advances(prov, ym)))
        return sorted(steps)

    def run(self) -> None:
        today: date | None = None
        for step in self.plan():
            if step.day != today:
                today = step.day
                set_today(self.store, today)
                self.console.print(f"[bold]{today}[/bold]")
            now = datetime.combine(today, time(10, 0)) + timedelta(minutes=len(self.log))
            try:
                if step.wire:
                    result = step.run(None, today, now)  # type: ignore[arg-type]
                else:
                    with self.store.unit_of_work() as s:
                        result = step.run(s, today, now)
                outcome, detail = "done", _brief(result)
            except Refusal as r:
                outcome, detail = "skipped", r.err_msg
            except PlatformError as e:
                outcome, detail = "skipped", f"{e.infno}: {e.err_msg}"
            self.log.append({"day": today, "step": step.label, "outcome": outcome, "detail": detail})
            colour = "green" if outcome == "done" else "yellow"
            self.console.print(f"  [{colour}]{outcome:7}[/{colour}] {step.label}: {detail}")

    # -- the steps ------------------------------------------------------------------------------------------

    def _declare(self, code: str) -> Callable[[Session, date, datetime], Any]:
        def step(s: Session, day: date, now: datetime) -> Any:
            inst = s.get(Institution, code)
            if inst is None:
                raise Refusal(f"no institution {code}")
            d = dc.declare(s, inst, self.ym, day, now)
            return {"decl_id": d.decl_id, "setl_cnt": d.setl_cnt, "payable": d.payable}
        return step

    def _allocate(self, payer: str, scope: str) -> Callable[[Session, date, datetime], Any]:
        def step(s: Session, day: date, now: datetime) -> Any:
            return al.allocate(s, payer, scope, self.ym, day, now)
        return step

    def _advances(self, prov: str, ym: str) -> Callable[[Session, date, datetime], Any]:
        def step(s: Session, _day: date, now: datetime) -> Any:
            return al.settle_advances(s, prov, ym, now)
        return step

    def _mutual_aid(self, prov: str) -> Callable[[Session, date, datetime], Any]:
        def step(s: Session, _day: date, now: datetime) -> Any:
            return al.clear_mutual_aid(s, prov, self.ym, now)
        return step

    def _confirm(self, code: str) -> Callable[[Session, date, datetime], Any]:
        """Over the wire: the month's extract (3260, pages of 100) confirmed whole (3261, cnfm_flag 1)."""
        def step(_s: Session, day: date, _now: datetime) -> Any:
            inst = next(i for i in self.traffic.world.institutions if i.code == code)
            his = self.traffic.client(inst, day)
            year, month = parse_ym(self.ym)
            rows: list[dict[str, Any]] = []
            total = None
            while total is None or len(rows) < total:
                page = self.traffic.ok(his, "3260", {"data": {"trt_year": year, "trt_month": month,
                                                              "startrow": len(rows) + 1}})
                total = int(page["totalrow"])
                if not page["data"]:
                    break
                rows += page["data"]
            if not rows:
                return "no cross-region rows to confirm"
            detail = [{"certno": r["certno"] or "", "mdtrt_id": r["mdtrt_id"], "mdtrt_setl_time": r["mdtrt_setl_time"],
                       "setl_sn": r["setl_sn"], "medfee_sumamt": r["medfee_sumamt"],
                       "optins_pay_sumamt": r["optins_pay_sumamt"], "cnfm_flag": "1"} for r in rows]
            out = self.traffic.ok(his, "3261", {"data": {"trt_year": year, "trt_month": month, "totalrow": len(rows)},
                                                "detail": detail})["result"]
            return {k: out[k] for k in ("otransid", "totalrow", "cnfm_cnt", "cnfm_amt")}
        return step

    def _review(self, agency: str) -> Callable[[Session, date, datetime], Any]:
        def step(s: Session, day: date, now: datetime) -> Any:
            D = Declaration
            decls = list(s.scalars(select(D).where(D.admdvs == agency, D.setl_ym == self.ym, D.status == "declared")
                                   .order_by(D.decl_id)))
            if not decls:
                raise Refusal(f"no declaration of {self.ym} for the agency of {agency} to review")
            out = []
            for decl in decls:
                if self.rejected is None:
                    self._reject_one(s, agency, decl, day, now)
                done = review.finish(s, agency, decl.decl_id, day, now)
                out.append({"decl_id": done.decl_id, "approved": done.approved})
            return out
        return step

    def _reject_one(self, s: Session, agency: str, decl: Declaration, day: date, now: datetime) -> None:
        """Show the rejection flow once: the largest standing settlement of a declaration that keeps others."""
        S = Settlement
        standing = list(s.scalars(select(S).where(dc.covered(decl), S.refd_setl_flag == "0", S.status == "settled",
                                                  S.fund_pay_sumamt + S.acct_pay > 0)
                                  .order_by((S.fund_pay_sumamt + S.acct_pay).desc(), S.setl_id)))
        if len(standing) < 2:
            return
        row = review.reject(s, agency, decl.decl_id, standing[0].setl_id, REJECT_REASON, day, now)
        self.rejected = {"decl_id": decl.decl_id, "setl_id": row.setl_id, "amount": row.amount,
                         "reason": row.reason}


def _brief(result: Any) -> str:
    if isinstance(result, dict):
        if "paid" in result:
            return f"paid {len(result['paid'])} declaration(s), {result['total']}; waiting {len(result['waiting'])}"
        return ", ".join(f"{k} {v}" for k, v in result.items())
    if isinstance(result, list):
        if result and hasattr(result[0], "cleared"):
            return "; ".join(f"{r.acct_admdvs}->{r.insu_admdvs} {r.cleared}" for r in result)
        if result and isinstance(result[0], dict) and "admdvs" in result[0]:
            return "; ".join(f"{r['admdvs']} {r['paid_in']:+}" for r in result)
        if result and isinstance(result[0], dict) and "decl_id" in result[0]:
            return "; ".join(f"{r['decl_id']} approved {r['approved']}" for r in result)
        return f"{len(result)} item(s)" if result else "nothing to do"
    return str(result)


