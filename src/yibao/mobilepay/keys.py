"""Keys of the mobile-payment centre.

- The platform's SM2 keypair lives in settings (`mobilepay_platform_sm2`, made on first use, like
  `api_token_key`): it seals every answer; institutions verify with its public key.
- Each institution's channel (`mobilepay_apps`): its appId and its SM2 public key, with which the platform
  verifies the institution's requests. The appSecret is the institution's existing `secret`.

Plain functions over a Store, for the CLI and for tests.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yibao.errors import refuse
from yibao.mobilepay import envelope
from yibao.store.db import Store
from yibao.store.models import Institution, MobilePayApp, Setting

SETTING = "mobilepay_platform_sm2"


def platform_keypair_in(session: Session) -> tuple[str, str]:
    """(private, public) of the platform, both base64; generated and stored on first use."""
    row = session.get(Setting, SETTING)
    if row is None:
        private, public = envelope.generate_keypair()
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(Setting).values(key=SETTING, value=json.dumps({"private": private, "public": public}))
                        .on_conflict_do_nothing())
        row = session.get(Setting, SETTING)
        assert row is not None
    value = json.loads(row.value)
    return str(value["private"]), str(value["public"])


def platform_keypair(store: Store) -> tuple[str, str]:
    with store.unit_of_work() as s:
        return platform_keypair_in(s)


def platform_public_key(store: Store) -> str:
    """The platform's SM2 public key (base64 of 04||x||y): institutions open the platform's answers with it."""
    return platform_keypair(store)[1]


def _institution(session: Session, code: str) -> Institution:
    inst = session.get(Institution, code)
    if inst is None:
        raise refuse("fixmedins_code", f"no institution {code}")
    return inst


def _app_id_for(session: Session, code: str, app_id: str | None, current: MobilePayApp | None) -> str:
    if app_id is None:
        return current.app_id if current is not None else code + secrets.token_hex(10).upper()
    if not app_id.isascii() or not 16 <= len(app_id) <= 64 or not app_id.isprintable():
        raise refuse("app_id", "must be 16 to 64 printable ASCII characters (its first 16 bytes key the SM4 "
                               "derivation)")
    other = session.scalar(select(MobilePayApp.fixmedins_code).where(MobilePayApp.app_id == app_id))
    if other is not None and other != code:
        raise refuse("app_id", f"{app_id} is already the appId of institution {other}")
    return app_id


def _store_app(store: Store, code: str, public_key: str, app_id: str | None) -> tuple[str, str]:
    now = datetime.now()
    with store.unit_of_work() as s:
        _institution(s, code)
        current = s.get(MobilePayApp, code, with_for_update=True)
        chosen = _app_id_for(s, code, app_id, current)
        if current is None:
            s.add(MobilePayApp(fixmedins_code=code, app_id=chosen, public_key=public_key, enabled=True,
                               created_at=now, updated_at=now))
        else:
            current.app_id, current.public_key, current.enabled, current.updated_at = chosen, public_key, True, now
        return chosen, platform_keypair_in(s)[1]


def register_app(store: Store, code: str, app_id: str | None = None) -> tuple[str, str, str]:
    """Open (or re-key) institution `code`'s mobile-payment channel with a new SM2 keypair.

    Returns (app_id, private_key_b64, platform_public_key_b64): the hospital configures its appId, its private
    key (sealing its requests) and the platform's public key (opening the answers); its appSecret is its
    existing `secret`. The platform keeps only the public key. Re-registering replaces the key (the old one
    stops working at once) and keeps the appId unless another is given. `app_id`: 16-64 ASCII characters;
    by default the code followed by 20 random hex digits."""
    private, public = envelope.generate_keypair()
    chosen, platform_public = _store_app(store, code, public, app_id)
    return chosen, private, platform_public


def register_public_key(store: Store, code: str, public_key: str, app_id: str | None = None) -> tuple[str, str]:
    """As register_app, for a hospital that made its own keypair: only its public key (base64 or hex, 64 or 65
    bytes) is given. Returns (app_id, platform_public_key_b64)."""
    try:
        normalised = envelope.normalise_public_key(public_key)
    except envelope.EnvelopeError as exc:
        raise refuse("public_key", exc.rule) from None
    return _store_app(store, code, normalised, app_id)


def set_app_enabled(store: Store, code: str, enabled: bool) -> None:
    """Suspend (False) or restore (True) an institution's mobile-payment channel."""
    with store.unit_of_work() as s:
        app = s.get(MobilePayApp, code)
        if app is None:
            raise refuse("fixmedins_code", f"institution {code} has no mobile-payment app; register it first")
        app.enabled, app.updated_at = enabled, datetime.now()


def app_info(store: Store, code: str) -> dict[str, Any] | None:
    """{fixmedins_code, app_id, public_key, enabled} of an institution's channel, or None."""
    with store.unit_of_work() as s:
        app = s.get(MobilePayApp, code)
        if app is None:
            return None
        return {"fixmedins_code": app.fixmedins_code, "app_id": app.app_id, "public_key": app.public_key,
                "enabled": app.enabled}


def app_by_id(session: Session, app_id: Any) -> tuple[MobilePayApp, Institution] | None:
    """The channel and institution an envelope's appId names (enabled or not), or None."""
    if not isinstance(app_id, str) or not app_id:
        return None
    app = session.scalar(select(MobilePayApp).where(MobilePayApp.app_id == app_id))
    if app is None:
        return None
    inst = session.get(Institution, app.fixmedins_code)
    return (app, inst) if inst is not None else None
