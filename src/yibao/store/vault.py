"""Personal data kept at rest only sealed: the stored answers of `message_replay` carry names and ID numbers,
which a copy of the database must not give away (docs/reliability.md).

The key is configuration, never the database: `YIBAO_DATA_KEY` holds one or more Fernet keys separated by
commas (the first seals, every one opens, so a key is rotated by putting the new one first). Without it, the
embedded SQLite deployment keeps a key of its own in a file beside the database file (`<db>.key`, mode 0600),
made on first use; a PostgreSQL deployment has no such file and must be given a key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import make_url

PREFIX = "f1:"  # sealed text starts with this; anything else is a row written before sealing existed


class VaultError(Exception):
    """No key, or a sealed text no configured key opens."""


class Vault:
    def __init__(self, keys: list[bytes]):
        if not keys:
            raise VaultError("no data key")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError:
            raise VaultError("YIBAO_DATA_KEY: each key must be 32 url-safe base64-encoded bytes "
                             "(make one with: yibao keys data)") from None

    def seal(self, text: str) -> str:
        return PREFIX + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise VaultError("a sealed row does not open with any key of YIBAO_DATA_KEY (was the key "
                             "replaced without keeping the old one after it?)") from None


    def open_sealed(self, text: str) -> str:
        """Like `open`, but text not sealed is refused too (what arrives from outside must be sealed)."""
        if not text.startswith(PREFIX):
            raise VaultError("not sealed")
        return self.open(text)


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def key_file_of(database_url: str) -> Path | None:
    """Where the embedded deployment keeps its key: beside its SQLite file; None for other databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + ".key")


def vault_for(database_url: str) -> Vault:
    configured = os.environ.get("YIBAO_DATA_KEY", "").strip()
    if configured:
        return Vault([k.strip().encode("ascii") for k in configured.split(",") if k.strip()])
    path = key_file_of(database_url)
    if path is None:
        raise VaultError("YIBAO_DATA_KEY is not set: a PostgreSQL deployment needs the key that seals personal "
                         "data at rest (make one with `yibao keys data`, keep it in your secret store)")
    if not path.exists():
        _make_key_file(path)
    return Vault([path.read_text().strip().encode("ascii")])


def _make_key_file(path: Path) -> None:
    """Written whole under another name, then linked: two processes starting at once agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(new_key())
    try:
        os.link(draft, path)
    except FileExistsError:
        pass  # another process made it first: its key stands
    finally:
        draft.unlink()
