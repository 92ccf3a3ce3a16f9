"""The hospital service's configuration: a small YAML or TOML file (YIBAO_HOSPITAL_CONFIG), then environment
variables, which win. Nothing here reads the platform's database: the hospital reaches the platform only by
the wire protocol, with its own institution code and secret.

    database_url: sqlite:///var/hospital.db          # YIBAO_HOSPITAL_DATABASE_URL
    platform_url: http://127.0.0.1:8000              # YIBAO_HOSPITAL_PLATFORM_URL
    public_url: http://127.0.0.1:8020                # YIBAO_HOSPITAL_PUBLIC_URL (channels' notify URLs)
    answer_within: 5                                 # YIBAO_HOSPITAL_ANSWER_WITHIN (seconds, pay a bill)
    sweep_every: 60                                  # YIBAO_HOSPITAL_SWEEP_EVERY (seconds; 0: no sweeper)
    pending_expiry: 900                              # YIBAO_HOSPITAL_PENDING_EXPIRY (an unpaid order is closed)
    today: 2026-03-16                                # YIBAO_HOSPITAL_TODAY (YIBAO_TODAY wins; else the real date)
    auth_key: ...                                    # YIBAO_HOSPITAL_AUTH_KEY (API tokens; absent: made, kept in DB)
    throttle_storage: redis://127.0.0.1:6379/0       # YIBAO_HOSPITAL_THROTTLE_STORAGE, else YIBAO_THROTTLE_STORAGE:
                                                     # where failed sign-ins are counted (default: memory://)
    institution: {fixmedins_code: H44030000001, fixmedins_name: ..., secret: ..., admdvs: "440300",
                  address: ..., phone: ..., intro: ...}   # YIBAO_HOSPITAL_FIXMEDINS_CODE / _SECRET / _ADMDVS / _NAME
    operator: {opter: hosp01, opter_name: 互联网医院}   # YIBAO_HOSPITAL_OPTER
    channels:                                        # YIBAO_HOSPITAL_WECHAT_URL / _KEY, ..._ALIPAY_..., ..._CARD_...
      wechat: {base_url: http://127.0.0.1:8031, key: ..., timeout: 3}
      card: {base_url: ..., key: ...,
             terminals: {desk: CASHIER-01, clinic-room: CLINIC-01, bedside: BED-01},  # each place's default
             devices: [CASHIER-02, CLINIC-305, BED-12A]}   # every other card terminal a payment may name
    mobilepay: {app_id: ..., private_key: ..., platform_key: ...}  # YIBAO_HOSPITAL_MOBILEPAY_APP_ID / _PRIVATE_KEY /
                                                     # _PLATFORM_KEY / _URL (`yibao mobilepay register` prints them)
    mobilepay: {credentials: var/mobilepay.json}     # or the file that command wrote (absent: no mobile payment)
    setup: {departments: [...], doctors: [...], slots: [...]}   # loaded by `yibao hospital init`
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

DEFAULT_DATABASE_URL = "sqlite:///var/hospital.db"
CHANNEL_KINDS = ("wechat", "alipay", "card")
PLACES = ("desk", "clinic-room", "bedside")
CARD_TERMINALS = {"desk": "CASHIER-01", "clinic-room": "CLINIC-01", "bedside": "BED-01"}
ENV = "YIBAO_HOSPITAL_"


class ConfigError(ValueError):
    """A configuration that cannot run the service."""


@dataclass(frozen=True)
class ChannelSettings:
    base_url: str
    key: str
    timeout: float = 3.0  # float-ok: seconds


@dataclass(frozen=True)
class HospitalConfig:
    fixmedins_code: str
    secret: str
    admdvs: str
    fixmedins_name: str = ""
    database_url: str = DEFAULT_DATABASE_URL
    platform_url: str = "http://127.0.0.1:8000"
    public_url: str = "http://127.0.0.1:8020"
    opter: str = "hosp01"
    opter_name: str = "互联网医院"
    answer_within: float = 5.0  # float-ok: seconds; seed 003: answer a payment within 5 seconds
    sweep_every: float = 60.0  # float-ok: seconds between sweeps of open payments while serving (0: none)
    pending_expiry: float = 900.0  # float-ok: seconds an unpaid WeChat/Alipay order waits before it is closed
    today: date | None = None  # the business date (YIBAO_TODAY wins), as the platform's dataset `today`
    auth_key: str = ""  # signs the API's bearer tokens; empty: one is made and kept in the hospital's database
    #: where failed sign-ins are counted (yibao.throttle): empty: YIBAO_THROTTLE_STORAGE, else this process's memory;
    #: redis://host:port/db shares the counts between the processes serving one hospital
    throttle_storage: str = ""
    address: str = ""
    phone: str = ""
    intro: str = ""
    channels: dict[str, ChannelSettings] = field(default_factory=dict)
    #: the card terminal read at each place unless a payment names its own (`device`), and the others known
    card_terminals: dict[str, str] = field(default_factory=lambda: dict(CARD_TERMINALS))
    card_devices: frozenset[str] = frozenset()
    #: the mobile-payment centre channel (6201-6401): the appId, this hospital's SM2 private key, the platform's
    #: public key and the centre's URL (default: platform_url); empty: payments with a payAuthNo are refused
    mobilepay_app_id: str = ""
    mobilepay_private_key: str = ""
    mobilepay_platform_key: str = ""
    mobilepay_url: str = ""
    setup: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        """What the internet-hospital API shows as the hospital's basic information."""
        return {"fixmedins_code": self.fixmedins_code, "fixmedins_name": self.fixmedins_name,
                "admdvs": self.admdvs, "address": self.address, "phone": self.phone, "intro": self.intro,
                "channels": sorted(self.channels), "terminals": ["mobile", "desk", "clinic-room", "bedside"],
                "mobile_payment": bool(self.mobilepay_app_id)}


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of settings")
    return data


def _seconds(value: Any, name: str, zero: bool = False) -> float:  # float-ok: seconds
    try:
        seconds = float(str(value))  # float-ok: seconds
    except ValueError:
        raise ConfigError(f"{name}: {value!r} is not a number of seconds") from None
    if seconds < 0 or (seconds == 0 and not zero):
        raise ConfigError(f"{name}: must be above 0")
    return seconds


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{name}: {value!r} is not a date as YYYY-MM-DD") from None


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> HospitalConfig:
    """The file named by `path` or YIBAO_HOSPITAL_CONFIG (optional), with the environment on top."""
    env = dict(os.environ if env is None else env)
    file = path or env.get(ENV + "CONFIG", "").strip()
    raw = _read_file(Path(file)) if file else {}
    inst = dict(raw.get("institution") or {})
    oper = dict(raw.get("operator") or {})

    def pick(name: str, from_file: Any, default: str = "") -> str:
        value = env.get(ENV + name, "").strip()
        return value or (str(from_file) if from_file not in (None, "") else default)

    channels: dict[str, ChannelSettings] = {}
    file_channels = raw.get("channels") or {}
    for kind in CHANNEL_KINDS:
        spec = dict(file_channels.get(kind) or {})
        url = pick(f"{kind.upper()}_URL", spec.get("base_url"))
        key = pick(f"{kind.upper()}_KEY", spec.get("key"))
        if not url and not key:
            continue
        if not url or not key:
            raise ConfigError(f"channels.{kind}: both base_url and key are needed")
        timeout = pick(f"{kind.upper()}_TIMEOUT", spec.get("timeout"), pick("CHANNEL_TIMEOUT", None, "3"))
        channels[kind] = ChannelSettings(url, key, _seconds(timeout, f"channels.{kind}.timeout"))
    card_spec = dict(file_channels.get("card") or {})
    terminals = {**CARD_TERMINALS, **{str(k): str(v) for k, v in dict(card_spec.get("terminals") or {}).items()}}
    if set(terminals) - set(PLACES):
        raise ConfigError(f"channels.card.terminals: places are {', '.join(PLACES)}, not "
                          f"{', '.join(sorted(set(terminals) - set(PLACES)))}")
    devices = card_spec.get("devices") or []
    if not isinstance(devices, list):
        raise ConfigError("channels.card.devices: a list of terminal ids")
    unknown = set(file_channels) - set(CHANNEL_KINDS)
    if unknown:
        raise ConfigError(f"channels: unknown kind(s) {', '.join(sorted(unknown))}; known: {', '.join(CHANNEL_KINDS)}")

    mobile = dict(raw.get("mobilepay") or {})
    credentials = pick("MOBILEPAY_CREDENTIALS", mobile.get("credentials"))
    if credentials and Path(credentials).is_file():  # as `yibao mobilepay register` printed it
        printed = _read_file(Path(credentials))
        mobile = {"app_id": printed.get("app_id"), "private_key": printed.get("private_key"),
                  "platform_key": printed.get("platform_public_key"), **{k: v for k, v in mobile.items() if v}}
    mobilepay = {k: pick(f"MOBILEPAY_{k.upper()}", mobile.get(k)) for k in ("app_id", "private_key", "platform_key")}
    if any(mobilepay.values()) and not all(mobilepay.values()):
        raise ConfigError("mobilepay: app_id, private_key and platform_key go together (yibao mobilepay register)")
    config = HospitalConfig(
        fixmedins_code=pick("FIXMEDINS_CODE", inst.get("fixmedins_code")),
        secret=pick("SECRET", inst.get("secret")),
        admdvs=pick("ADMDVS", inst.get("admdvs")),
        fixmedins_name=pick("FIXMEDINS_NAME", inst.get("fixmedins_name")),
        database_url=pick("DATABASE_URL", raw.get("database_url"), DEFAULT_DATABASE_URL),
        platform_url=pick("PLATFORM_URL", raw.get("platform_url"), "http://127.0.0.1:8000"),
        public_url=pick("PUBLIC_URL", raw.get("public_url"), "http://127.0.0.1:8020"),
        opter=pick("OPTER", oper.get("opter"), "hosp01"),
        opter_name=pick("OPTER_NAME", oper.get("opter_name"), "互联网医院"),
        answer_within=_seconds(pick("ANSWER_WITHIN", raw.get("answer_within"), "5"), "answer_within"),
        sweep_every=_seconds(pick("SWEEP_EVERY", raw.get("sweep_every"), "60"), "sweep_every", zero=True),
        pending_expiry=_seconds(pick("PENDING_EXPIRY", raw.get("pending_expiry"), "900"), "pending_expiry"),
        today=_day(pick("TODAY", raw.get("today")), "today"),
        auth_key=pick("AUTH_KEY", raw.get("auth_key")),
        throttle_storage=pick("THROTTLE_STORAGE", raw.get("throttle_storage")),
        address=str(inst.get("address") or ""), phone=str(inst.get("phone") or ""),
        intro=str(inst.get("intro") or ""), channels=channels, card_terminals=terminals,
        card_devices=frozenset(str(d) for d in devices), mobilepay_app_id=mobilepay["app_id"],
        mobilepay_private_key=mobilepay["private_key"], mobilepay_platform_key=mobilepay["platform_key"],
        mobilepay_url=pick("MOBILEPAY_URL", mobile.get("base_url")), setup=dict(raw.get("setup") or {}))
    missing = [n for n, v in (("institution.fixmedins_code", config.fixmedins_code),
                              ("institution.secret", config.secret), ("institution.admdvs", config.admdvs)) if not v]
    if missing:
        raise ConfigError(f"{', '.join(missing)} not set (in the file of {ENV}CONFIG or as {ENV}FIXMEDINS_CODE, "
                          f"{ENV}SECRET, {ENV}ADMDVS)")
    return config
