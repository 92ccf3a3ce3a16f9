"""The internet-hospital JSON API (seed 003's table): FastAPI, OpenAPI at /docs. Amounts are decimal strings
("12.30"), never JSON floats, both ways.

Every request carries a bearer token (auth.py) but the public ones: GET /hospital, the timetable (departments,
doctors and their slots), POST /auth/patient, the providers' callbacks (checked by their own signature) and the
OpenAPI pages. A patient token reaches only its own patient's records (another's answer 404, as an unknown one);
the HIS's operations, the sweep, reconciliation and clearing are for staff tokens only (403)."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import Field, model_validator
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from yibao import __version__, apidocs, problem
from yibao.hospital import auth, clearing, reconcile, slips
from yibao.hospital.api_base import Staff, Strict, Who, own, plain, problem_of, token_key
from yibao.hospital.api_deposit import deposit_router
from yibao.hospital.api_settlements import router as settlements
from yibao.hospital.auth import Principal
from yibao.hospital.cashier import later, paying, refunds, views
from yibao.hospital.config import load_config
from yibao.hospital.errors import HospitalError, not_found
from yibao.hospital.fields import (
    Day,
    Days,
    Id,
    IdempotencyHeader,
    Money,
    Number,
    PathId,
    PathText,
    QueryDay,
    QueryText,
    Text,
)
from yibao.hospital.service import Hospital
from yibao.observe import http as observe_http
from yibao.observe.http import Check
from yibao.observe.metrics import Readings, pool_readings
from yibao.throttle import Throttled

log = logging.getLogger("yibao.hospital.api")


def _sweep(hospital: Hospital, every: float, stop: threading.Event) -> None:  # float-ok: seconds
    while not stop.wait(every):
        try:
            hospital.sweep()
        except Exception:  # noqa: BLE001 - the sweeper keeps running
            log.exception("sweep failed")


def _migrations(hospital: Hospital) -> str | None:
    current, heads = hospital.db.current(), hospital.db.heads()
    if set(current) != set(heads):
        return f"schema at {', '.join(current) or 'no revision'}; the newest is {', '.join(heads)}"
    return None


def _checks(app: FastAPI, hospital: Hospital, migrations: Check) -> dict[str, Check]:
    """What /ready checks: the database answers at the newest migration; the sweeper runs where it should."""
    def database() -> str | None:
        with hospital.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None

    checks: dict[str, Check] = {"database": database, "migrations": migrations}
    if hospital.config.sweep_every > 0:
        sweeper = app.state.sweeper
        checks["sweeper"] = lambda: None if sweeper is not None and sweeper.is_alive() else \
            "the sweep thread is not running"
    return checks


class PatientLoginIn(Strict):
    code: Text(100, 1) = Field(description="医保电子凭证 or 电子健康码 linked to the record")
    certno_tail: Text(6, 6) = Field(description="the last 6 characters of the ID number")


class LookupIn(Strict):
    mdtrt_cert_type: Literal["01", "02", "03"] = Field(description="01 e-credential, 02 ID card, 03 SSC card")
    mdtrt_cert_no: Text(50, 1)
    card_sn: Text(32) = ""
    insuplc_admdvs: Text(6) = Field("", description="the insured region (参保地) for a person insured elsewhere")


class PatientIn(Strict):
    name: Text(50, 1)
    certno: Text(50, 6)
    phone: Text(30) = ""
    mdtrt_cert_type: Literal["", "01", "02", "03"] = Field("", description="empty: a self-paying patient")
    mdtrt_cert_no: Text(50) = ""
    card_sn: Text(32) = ""
    insuplc_admdvs: Text(6) = ""
    ecard: Text(100) = Field("", description="医保电子凭证")
    health_code: Text(100) = Field("", description="电子健康码")


class CodesIn(Strict):
    ecard: Text(100) = ""
    health_code: Text(100) = ""


class BookingIn(Strict):
    patient_id: Id
    slot_id: Id


class RegistrationIn(Strict):
    patient_id: Id
    slot_id: Id | None = None
    booking_id: Id | None = None
    use_insurance: bool = True


class SlotIn(Strict):
    doctor_code: Text(30, 1)
    day: Day
    period: Literal["am", "pm"]
    capacity: int = Field(ge=1, le=1000)
    fee: Money
    fee_code: Text(50, 1) = "001101000020000"
    fee_name: Text(100, 1) = "普通门诊挂号费"


class ReasonIn(Strict):
    reason: Text(200, 1)


class LineIn(Strict):
    med_list_codg: Text(50, 1) = Field(description="national catalog code")
    medins_list_codg: Text(150) = ""
    name: Text(200) = ""
    pric: Number
    cnt: Number


class BillIn(Strict):
    registration_id: Id
    kind: Literal["clinic", "pharmacy", "registration"] = "clinic"
    lines: list[LineIn] = Field(min_length=1, max_length=500)


class PayIn(Strict):
    patient_id: Id
    bill_nos: list[Text(30, 1)] = Field(min_length=1, max_length=100)
    channel: Literal["wechat", "alipay", "card", "deposit"] | None = Field(
        None, description="default: card at the desk")
    terminal: Literal["mobile", "desk", "clinic-room", "bedside"] = "mobile"
    idempotency_key: Text(150) | None = Field(None, description="default: the bill set")
    acct_used_flag: Literal["0", "1"] = "1"
    payer_ref: Text(64) | None = None
    use_insurance: bool = True
    device: Text(32) | None = Field(None, description="the card terminal (default: the place's own)")
    pay_auth_no: Text(64) | None = Field(None, description="the patient's authorization from his e-credential "
                                         "app: the insurance part by the mobile-payment centre (6201/6202)")


class PeriodIn(Strict):
    begin: Day
    end: Day

    @model_validator(mode="after")
    def _ordered(self) -> PeriodIn:
        if self.end < self.begin:
            raise ValueError("end: must not be before begin")
        return self


class ConfirmIn(Strict):
    exclude: list[Text(30, 1)] = Field(default_factory=list, max_length=10000,
                                       description="setl_sn of rows answered cnfm_flag 0")


class RollbackIn(Strict):
    otransid: Text(64, 1)


#: a clearing month, YYYY-MM (or YYYYMM, as the command takes it)
Month = Annotated[str, Path(max_length=7, pattern=r"^[0-9]{4}-?[0-9]{2}$", description="YYYY-MM")]


def create_hospital_app(hospital: Hospital | None = None) -> FastAPI:
    """The app over `hospital`, or over one made from the configuration (closed when the app stops)."""
    owned = hospital is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """While serving, a thread sweeps the open payments every `sweep_every` seconds (cashier.sweep)."""
        stop = threading.Event()
        every = app.state.hospital.config.sweep_every
        sweeper = threading.Thread(target=_sweep, args=(app.state.hospital, every, stop), daemon=True,
                                   name="hospital-sweep")
        if every > 0:
            sweeper.start()
            app.state.sweeper = sweeper
        try:
            yield
        finally:
            stop.set()
            if sweeper.is_alive():
                sweeper.join(timeout=30)
            if owned:
                app.state.hospital.close()

    if hospital is None:
        hospital = Hospital(load_config())
    h = hospital
    app = FastAPI(title="yibao hospital", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="The internet-hospital API of seed 003 beside a HIS; it talks to the platform only "
                              "through the wire protocol. See docs/hospital.md.")
    app.state.hospital = h
    apidocs.install(app)  # /docs with its assets served here: it works offline
    app.include_router(settlements)  # inpatient stays, pharmacy sales

    problem.install(app)  # every refusal in one shape (RFC 9457): HTTP errors, invalid input, our own faults
    app.state.sweeper = None
    migrations = observe_http.once_passed(lambda: _migrations(h))
    observe_http.install(app, "hospital", lambda: _checks(app, h, migrations),
                         lambda: Readings(pool_readings(h.db.engine, "yibao_hospital_db_pool")))

    @app.exception_handler(HospitalError)
    async def refused(request: Request, exc: HospitalError) -> JSONResponse:
        """A rule of the hospital said no: a problem of the error's status (422: `refused`, as opposed to the
        `invalid` of malformed input)."""
        return problem_of(request, exc)

    @app.exception_handler(Throttled)
    async def throttled(request: Request, exc: Throttled) -> JSONResponse:
        """429 with Retry-After (seconds) and, in the body, the same and the time it comes."""
        at = datetime.now(UTC) + timedelta(seconds=exc.retry_after)
        what = {"credential": "code"}.get(exc.by, exc.by)
        return problem.problem(429, f"authorization: too many failed sign-ins for this {what}; retry after "
                               f"{exc.retry_after} s", instance=request.url.path,
                               headers={"Retry-After": str(exc.retry_after)}, retry_after=exc.retry_after,
                               retry_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"))

    app.include_router(deposit_router(h))  # the deposit account (预交金)

    # -- who is asking (auth.py) -----------------------------------------------------------------------
    def key() -> bytes:
        return token_key(app)

    def own_patient(p: Principal, patient_id: int) -> None:
        own(p, patient_id, f"patient {patient_id} is not known")

    @app.post("/auth/patient", summary="A patient's token: a linked code + the ID number's last 6 characters",
              tags=["auth"])
    def patient_token(body: PatientLoginIn, request: Request) -> Any:
        """Throttled (yibao.throttle): a code, or an address, that failed too often is refused (429) before the
        tail is even compared, until the oldest failure leaves the window."""
        code, address = body.code.strip(), request.client.host if request.client else ""
        h.sign_in.check(code, address)
        patient_id = auth.patient_login(h, body.code, body.certno_tail)
        if patient_id is None:
            h.sign_in.failed(code, address)
            raise HospitalError(401, "authorization: no patient holds this code with this ID number")
        h.sign_in.succeeded(code, address)
        return {"token": auth.issue(key(), "patient", patient_id, auth.PATIENT_DAYS), "token_type": "bearer",
                "patient_id": patient_id, "expires_in": int(auth.PATIENT_DAYS * 86400)}

    # -- hospital, patients ----------------------------------------------------------------------------
    @app.get("/hospital", summary="医院基本信息", tags=["hospital"])
    def info() -> Any:
        return plain(h.config.info())

    @app.post("/patients/lookup", summary="患者信息查询 (1101 through the platform)", tags=["patients"])
    def lookup(body: LookupIn, p: Who) -> Any:
        if not p.staff:
            mine = auth.patient_record(h, p.patient_id or 0)
            if mine is None or body.mdtrt_cert_no.strip().upper() not in {
                    x.upper() for x in (mine.certno, mine.mdtrt_cert_no, mine.ecard) if x}:
                raise HospitalError(403, "authorization: a patient looks up only his own credential")
        return plain(h.lookup(body.mdtrt_cert_type, body.mdtrt_cert_no, body.card_sn, body.insuplc_admdvs))

    @app.post("/patients", summary="首诊患者建档 (first-visit record)", tags=["patients"], status_code=201)
    def create_patient(body: PatientIn, p: Who) -> Any:
        if not p.staff:
            mine = auth.patient_record(h, p.patient_id or 0)
            if mine is None or mine.certno.upper() != body.certno.strip().upper():
                raise HospitalError(403, "authorization: a patient updates only his own record; a first visit "
                                         "is recorded by the staff (desk, HIS)")
        return plain(h.create_patient(**body.model_dump()))

    @app.get("/patients/by-code/{code}", summary="Either code (e-credential or health code) finds the patient",
             tags=["patients"])
    def by_code(code: PathText(100), p: Who) -> Any:
        found = h.patient_by_code(code)
        own(p, found["patient_id"], "no patient holds this code")
        return plain(found)

    @app.get("/patients/{patient_id}", tags=["patients"])
    def patient(patient_id: PathId, p: Who) -> Any:
        own_patient(p, patient_id)
        return plain(h.patient(patient_id))

    @app.post("/patients/{patient_id}/codes", summary="两码融合: link the e-credential / health code",
              tags=["patients"])
    def codes(patient_id: PathId, body: CodesIn, p: Who) -> Any:
        own_patient(p, patient_id)
        return plain(h.link_codes(patient_id, body.ecard, body.health_code))

    # -- directory, booking, registration --------------------------------------------------------------
    @app.get("/departments", summary="可挂号科室", tags=["registration"])
    def departments() -> Any:
        return plain(h.departments())

    @app.get("/departments/{dept_code}/doctors", summary="可挂号医生 and their slots", tags=["registration"])
    def dept_doctors(dept_code: PathText(30), start: QueryDay = None, days: Days = 7) -> Any:
        return plain(h.doctors(dept_code, start, days))

    @app.get("/doctors", summary="可挂号医生 and their slots", tags=["registration"])
    def doctors(dept_code: QueryText(30) = None, start: QueryDay = None, days: Days = 7) -> Any:
        return plain(h.doctors(dept_code, start, days))

    @app.post("/slots", summary="A doctor's slot (the HIS)", tags=["registration"], status_code=201)
    def add_slot(body: SlotIn, _p: Staff) -> Any:
        return plain(h.add_slot(body.doctor_code, body.day, body.period, body.capacity, body.fee, body.fee_code,
                                body.fee_name))

    @app.post("/slots/{slot_id}/suspend", summary="医生停诊: bookings told, registrations refundable",
              tags=["registration"])
    def suspend(slot_id: PathId, body: ReasonIn, _p: Staff) -> Any:
        return plain(h.suspend(slot_id, body.reason))

    @app.get("/suspensions", summary="医生停诊信息", tags=["registration"])
    def suspensions(_p: Who, start: QueryDay = None) -> Any:
        return plain(h.suspensions(start))

    @app.get("/patients/{patient_id}/notices", tags=["registration"])
    def notices(patient_id: PathId, p: Who) -> Any:
        own_patient(p, patient_id)
        return plain(h.notices(patient_id))

    @app.post("/bookings", summary="预约挂号", tags=["registration"], status_code=201)
    def book(body: BookingIn, p: Who) -> Any:
        own_patient(p, body.patient_id)
        return plain(h.book(body.patient_id, body.slot_id))

    @app.post("/bookings/{booking_id}/cancel", tags=["registration"])
    def cancel_booking(booking_id: PathId, p: Who) -> Any:
        own(p, auth.owner_of_booking(h, booking_id), f"booking {booking_id} is not known")
        return plain(h.cancel_booking(booking_id))

    @app.get("/patients/{patient_id}/bookings", tags=["registration"])
    def bookings(patient_id: PathId, p: Who) -> Any:
        own_patient(p, patient_id)
        return plain(h.bookings(patient_id))

    @app.post("/registrations", summary="当天挂号 (2201 when insured)", tags=["registration"], status_code=201)
    def register(body: RegistrationIn, p: Who) -> Any:
        own_patient(p, body.patient_id)
        return plain(h.register(body.patient_id, body.slot_id, body.booking_id, body.use_insurance))

    @app.get("/patients/{patient_id}/registrations", summary="挂号记录", tags=["registration"])
    def registrations(patient_id: PathId, p: Who) -> Any:
        own_patient(p, patient_id)
        return plain(h.registrations(patient_id))

    @app.get("/registrations/{reg_id}", tags=["registration"])
    def registration(reg_id: PathId, p: Who) -> Any:
        own(p, auth.owner_of_registration(h, reg_id), f"registration {reg_id} is not known")
        return plain(h.registration(reg_id))

    @app.post("/registrations/{reg_id}/seen", summary="The doctor saw the patient (the HIS)",
              tags=["registration"])
    def seen(reg_id: PathId, _p: Staff) -> Any:
        return plain(h.seen(reg_id))

    @app.post("/registrations/{reg_id}/refund", summary="线上已支付挂号费退费 (2208 + channel refund)",
              tags=["payment"])
    def refund(reg_id: PathId, body: ReasonIn, p: Who) -> Any:
        own(p, auth.owner_of_registration(h, reg_id), f"registration {reg_id} is not known")
        return plain(refunds.refund_registration(h, reg_id, body.reason))

    @app.post("/refunds/{refund_no}/cash-given", summary="The desk gave a refund's cash back itself (the "
              "channel refused the refund); the reason says how", tags=["payment"])
    def cash_given(refund_no: PathText(32), body: ReasonIn, p: Staff) -> Any:
        return plain(refunds.give_cash_back(h, refund_no, p.subject, body.reason))

    # -- bills and payments ----------------------------------------------------------------------------
    @app.post("/bills", summary="A bill on a registration (the HIS: items ordered in the clinic room)",
              tags=["payment"], status_code=201)
    def add_bill(body: BillIn, _p: Staff) -> Any:
        return plain(h.add_bill(body.registration_id, body.kind, [x.model_dump() for x in body.lines]))

    @app.get("/patients/{patient_id}/bills", summary="待缴费 (status=pending) / 已缴费 (status=paid)",
             tags=["payment"])
    def bills(patient_id: PathId, p: Who, status: QueryText(12) = None, lines: bool = False) -> Any:
        own_patient(p, patient_id)
        return plain(h.bills(patient_id, status, lines))

    @app.get("/bills/{bill_no}", summary="A bill and its lines (待缴费/已缴费明细)", tags=["payment"])
    def bill(bill_no: PathText(30), p: Who) -> Any:
        own(p, auth.owners_of_bills(h, [bill_no])[bill_no], f"bill {bill_no} is not known")
        return plain(h.bill(bill_no))

    @app.post("/payments", summary="门诊缴费订单支付: bills merged into one settlement + the cash through a channel",
              tags=["payment"])
    def pay(body: PayIn, p: Who, idempotency_key: IdempotencyHeader = None) -> Any:
        key_given = body.idempotency_key or idempotency_key
        if not p.staff:
            own_patient(p, body.patient_id)
            others = sorted(no for no, owner in auth.owners_of_bills(h, body.bill_nos).items()
                            if owner != p.patient_id)
            if others:
                raise not_found(f"bill {', '.join(others)} is not known")
            if key_given and auth.owner_of_idempotency_key(h, key_given) not in (None, p.patient_id):
                raise HospitalError(409, "idempotency_key: already used for another payment")
            if body.terminal != "mobile":
                raise HospitalError(403, "authorization: a patient pays from the mobile terminal; the desk, "
                                         "clinic-room and bedside terminals are staff's")
        return plain(paying.pay(h, body.patient_id, body.bill_nos, body.channel, body.terminal,
                                   key_given, body.acct_used_flag, body.payer_ref, body.use_insurance,
                                   body.device, body.pay_auth_no))

    @app.get("/payments/{payment_no}", summary="A payment; refresh=true resolves one still open", tags=["payment"])
    def payment(payment_no: PathText(30), p: Who, refresh: bool = False) -> Any:
        own(p, auth.owner_of_payment(h, payment_no), f"payment {payment_no} is not known")
        return plain(later.refresh(h, payment_no) if refresh else views.view(h, payment_no))

    @app.post("/payments/{payment_no}/cancel", summary="Give up an order not paid yet (closed, insurance undone)",
              tags=["payment"])
    def cancel_payment(payment_no: PathText(30), p: Who) -> Any:
        own(p, auth.owner_of_payment(h, payment_no), f"payment {payment_no} is not known")
        return plain(later.cancel(h, payment_no))

    @app.get("/patients/{patient_id}/payments", tags=["payment"])
    def payments(patient_id: PathId, p: Who) -> Any:
        own_patient(p, patient_id)
        return plain(views.payments(h, patient_id))

    @app.post("/payments/sweep", summary="Query, resume or undo every open payment and deposit order now",
              tags=["payment"])
    def sweep(_p: Staff) -> Any:
        return plain(h.sweep())

    @app.post("/callbacks/{channel}", summary="A payment provider's notification", tags=["payment"])
    async def callback(channel: PathText(10), request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        status, answer, _outcome = await run_in_threadpool(later.callback, h, channel, headers, body)
        return Response(answer, status_code=status)

    # -- slips, reconciliation, clearing ---------------------------------------------------------------
    @app.get("/slips/{setl_id}.html", summary="结算单 (HTML)", tags=["slips"], response_class=HTMLResponse)
    def slip_html(setl_id: PathText(30), p: Who) -> HTMLResponse:
        own(p, auth.owner_of_settlement(h, setl_id), f"no settlement {setl_id} kept here")
        return HTMLResponse(slips.render_html(slips.slip_data(h, setl_id)))

    @app.get("/slips/{setl_id}.pdf", summary="结算单 (PDF)", tags=["slips"])
    def slip_pdf(setl_id: PathText(30), p: Who) -> Response:
        own(p, auth.owner_of_settlement(h, setl_id), f"no settlement {setl_id} kept here")
        return Response(slips.render_pdf(slips.slip_data(h, setl_id)), media_type="application/pdf")

    @app.post("/reconciliation", summary="3201 + 3202 over the kept settlements of a period",
              tags=["reconciliation"])
    def reconciliation(body: PeriodIn, _p: Staff) -> Any:
        return plain(reconcile.reconcile(h, body.begin, body.end))

    @app.get("/clearing/{month}", summary="3260, every page", tags=["clearing"])
    def clearing_rows(month: Month, _p: Staff) -> Any:
        return plain(clearing.fetch(h, month))

    @app.post("/clearing/{month}/confirm", summary="3261: every row confirmed unless excluded", tags=["clearing"])
    def clearing_confirm(month: Month, body: ConfirmIn, _p: Staff) -> Any:
        return plain(clearing.confirm(h, month, set(body.exclude)))

    @app.post("/clearing/{month}/rollback", summary="3262", tags=["clearing"])
    def clearing_rollback(month: Month, body: RollbackIn, _p: Staff) -> Any:
        return plain(clearing.roll_back(h, month, body.otransid))

    return app
