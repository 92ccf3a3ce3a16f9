"""The sealed envelope of the mobile-payment centre (interface.md 6.1): pure functions, no database.

    {appId, encType: "SM4", signType: "SM2", version, timestamp, encData, signData}

1. clean the data: null, "", {} and [] dropped, recursively (booleans and zeros stay);
2. the sign text: every envelope field but signData, encData and extra, with the plaintext `data`, keys in
   ASCII order, empty values skipped, objects and arrays as compact JSON (keys sorted, no spaces, non-ASCII
   as is), booleans true/false, joined `k=v` by `&`, then `&key=<appSecret>`;
3. signData: SM2 with SM3 (Z value for the user id 1234567812345678) over the UTF-8 sign text, with the
   sender's private key; base64 of the raw r||s (64 bytes);
4. the message key: SM4-ECB/PKCS7 of appSecret under the first 16 bytes of appId, upper-case hex, its first
   16 characters as 16 ASCII bytes;
5. encData: SM4-ECB/PKCS7 of the data's compact JSON under that key, upper-case hex.

Opening reverses it: decrypt encData, put it back as `data`, rebuild the sign text and verify signData with
the sender's public key. Keys are base64 (private: 32 bytes; public: 65 bytes 04||x||y, or 64 without the
04); hex is accepted too.

gmssl 3.2.2 supplies the SM2 point arithmetic, SM3 and SM4. Three of its habits are worked around here: its
random nonce comes from `random` (ours from `secrets`), its constructor strips "0"/"4" characters off a
public key starting with 04 (we set the key after construction), and its SM4 PKCS7 unpadding checks nothing
(we pad and unpad ourselves).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import simplejson
from gmssl import sm2
from gmssl.sm4 import SM4_DECRYPT, SM4_ENCRYPT, CryptSM4

ENC_TYPE = "SM4"
SIGN_TYPE = "SM2"
DEFAULT_VERSION = "2.0.1"
#: envelope fields never part of the sign text
UNSIGNED = ("signData", "encData", "extra")
REQUIRED = ("appId", "encType", "signType", "version", "timestamp", "encData", "signData")

_CURVE = sm2.default_ecc_table
_N = int(_CURVE["n"], 16)
_P = int(_CURVE["p"], 16)
_A = int(_CURVE["a"], 16)
_B = int(_CURVE["b"], 16)
_NO_PADDING = 2  # gmssl: neither PKCS7 (0) nor ZERO (1); we pad ourselves


class EnvelopeError(ValueError):
    """A sealed envelope that cannot be made or opened; `field` names what failed."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


class SealedRefusal(EnvelopeError):
    """An answer that carries a business failure ({code, message}, nothing sealed) instead of data."""

    def __init__(self, code: Any, message: str):
        super().__init__("code", f"{code}: {message}")
        self.code, self.message = code, message


# -- cleaning and the sign text ----------------------------------------------------------------------

def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | dict | list | tuple) and len(value) == 0)


def clean(data: Any) -> Any:
    """Drop null, "", empty objects and empty arrays, recursively (a container left empty goes too).
    Booleans, zeros and every other value stay."""
    if isinstance(data, Mapping):
        out = {}
        for key, value in data.items():
            kept = clean(value)
            if not _is_empty(kept):
                out[key] = kept
        return out
    if isinstance(data, list | tuple):
        return [kept for kept in (clean(v) for v in data) if not _is_empty(kept)]
    return data


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def compact_json(value: Any) -> str:
    """Keys sorted recursively, no spaces, non-ASCII as is; decimals written exactly (never through float)."""
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                            default=_default)


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return compact_json(clean(value))
    if isinstance(value, int | Decimal | float):
        return compact_json(value)
    return str(value)


def sign_text(envelope: Mapping[str, Any], app_secret: str) -> str:
    """The string signed (interface.md 6.1 step 2): `envelope` with the plaintext `data`; signData, encData
    and extra are left out, keys in ASCII order, empty values skipped, then `&key=<appSecret>`."""
    parts = []
    for key in sorted(envelope):
        if key in UNSIGNED:
            continue
        value = envelope[key]
        if isinstance(value, Mapping | list | tuple):
            value = clean(value)
        if _is_empty(value):
            continue
        parts.append(f"{key}={_render(value)}")
    parts.append(f"key={app_secret}")
    return "&".join(parts)


# -- SM4 ----------------------------------------------------------------------------------------------

def _pad(data: bytes) -> bytes:
    n = 16 - len(data) % 16
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes | None:
    if not data or len(data) % 16:
        return None
    n = data[-1]
    if not 1 <= n <= 16 or data[-n:] != bytes([n]) * n:
        return None
    return data[:-n]


def _sm4(key: bytes, data: bytes, *, decrypt: bool) -> bytes:
    cipher = CryptSM4(padding_mode=_NO_PADDING)
    cipher.set_key(key, SM4_DECRYPT if decrypt else SM4_ENCRYPT)
    return bytes(cipher.crypt_ecb(data))


def sm4_key(app_id: str, app_secret: str) -> bytes:
    """The message key (step 4): SM4-ECB/PKCS7(appSecret) under appId's first 16 bytes, upper-case hex, its
    first 16 characters as ASCII bytes."""
    try:
        raw = app_id.encode("ascii")
    except UnicodeEncodeError:
        raise EnvelopeError("appId", "must be ASCII (its first 16 bytes key the SM4 derivation)") from None
    if len(raw) < 16:
        raise EnvelopeError("appId", f"has {len(raw)} characters; at least 16 are needed (its first 16 bytes "
                                     "key the SM4 derivation)")
    if not app_secret:
        raise EnvelopeError("appSecret", "is empty")
    derived = _sm4(raw[:16], _pad(app_secret.encode("utf-8")), decrypt=False).hex().upper()
    return derived[:16].encode("ascii")


def encrypt_data(data: Any, app_id: str, app_secret: str) -> str:
    """encData for `data` (step 5): upper-case hex of SM4-ECB/PKCS7 over its compact JSON."""
    plain = compact_json(data).encode("utf-8")
    return _sm4(sm4_key(app_id, app_secret), _pad(plain), decrypt=False).hex().upper()


def decrypt_data(enc_data: str, app_id: str, app_secret: str) -> dict[str, Any]:
    if not isinstance(enc_data, str) or not enc_data or len(enc_data) % 32:
        raise EnvelopeError("encData", "must be hexadecimal SM4 ciphertext (a whole number of 16-byte blocks)")
    try:
        cipher = bytes.fromhex(enc_data)
    except ValueError:
        raise EnvelopeError("encData", "must be hexadecimal SM4 ciphertext") from None
    plain = _unpad(_sm4(sm4_key(app_id, app_secret), cipher, decrypt=True))
    if plain is None:
        raise EnvelopeError("encData", "does not decrypt under the key of this appId and appSecret "
                                       "(PKCS7 padding is wrong)")
    try:
        data = simplejson.loads(plain.decode("utf-8"), use_decimal=True)
    except (UnicodeDecodeError, ValueError):
        raise EnvelopeError("encData", "decrypts to something that is not UTF-8 JSON") from None
    if not isinstance(data, dict):
        raise EnvelopeError("encData", "decrypts to JSON that is not an object")
    return data


# -- SM2 keys and signatures --------------------------------------------------------------------------

def _decode_key(text: Any, field: str, sizes: tuple[int, ...]) -> bytes:
    if isinstance(text, bytes):
        raw = text
    else:
        if not isinstance(text, str) or not text.strip():
            raise EnvelopeError(field, "is missing")
        text = text.strip()
        if len(text) in {2 * s for s in sizes} and all(c in "0123456789abcdefABCDEF" for c in text):
            raw = bytes.fromhex(text)
        else:
            try:
                raw = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise EnvelopeError(field, "must be base64 (or hex)") from None
    if len(raw) not in sizes:
        raise EnvelopeError(field, f"is {len(raw)} bytes; must be {' or '.join(map(str, sizes))}")
    return raw


def _private_scalar(private_key: str | bytes) -> int:
    d = int.from_bytes(_decode_key(private_key, "private key", (32,)), "big")
    if not 1 <= d <= _N - 2:
        raise EnvelopeError("private key", "is out of the SM2 range [1, n-2]")
    return d


def _on_curve(xy: bytes) -> bool:
    x, y = int.from_bytes(xy[:32], "big"), int.from_bytes(xy[32:], "big")
    return x < _P and y < _P and (y * y - (x * x * x + _A * x + _B)) % _P == 0


def _public_xy(public_key: str | bytes) -> bytes:
    raw = _decode_key(public_key, "public key", (64, 65))
    if len(raw) == 65:
        if raw[0] != 4:
            raise EnvelopeError("public key", "a 65-byte key must start with 04 (uncompressed point)")
        raw = raw[1:]
    if not _on_curve(raw):
        raise EnvelopeError("public key", "is not a point of the SM2 curve")
    return raw


def _crypt(private_hex: str, public_xy_hex: str) -> sm2.CryptSM2:
    crypt = sm2.CryptSM2(private_key=private_hex, public_key="")
    crypt.public_key = public_xy_hex  # set afterwards: gmssl's constructor would lstrip("04") it
    return crypt


def _point_of(d: int) -> bytes:
    xy = _crypt("", "")._kg(d, _CURVE["g"])
    return bytes.fromhex(xy)


def public_key_of(private_key: str | bytes) -> str:
    """The public key (base64 of 04||x||y, 65 bytes) of a private key."""
    return base64.b64encode(b"\x04" + _point_of(_private_scalar(private_key))).decode()


def normalise_public_key(public_key: str | bytes) -> str:
    """Any accepted form of a public key (64 or 65 bytes, base64 or hex) as base64 of 04||x||y."""
    return base64.b64encode(b"\x04" + _public_xy(public_key)).decode()


def generate_keypair() -> tuple[str, str]:
    """A new SM2 keypair: (private key base64 of 32 bytes, public key base64 of 65 bytes 04||x||y)."""
    d = secrets.randbelow(_N - 2) + 1
    return base64.b64encode(d.to_bytes(32, "big")).decode(), base64.b64encode(b"\x04" + _point_of(d)).decode()


def sign_bytes(message: bytes, private_key: str | bytes) -> bytes:
    """SM2 with SM3 and the Z value of user id 1234567812345678: raw r||s, 64 bytes."""
    d = _private_scalar(private_key)
    crypt = _crypt(f"{d:064x}", _point_of(d).hex())
    while True:
        k = secrets.randbelow(_N - 1) + 1
        signature = crypt.sign_with_sm3(message, f"{k:064x}")
        if signature:
            return bytes.fromhex(signature)


def verify_bytes(message: bytes, signature: bytes, public_key: str | bytes) -> bool:
    """Raises EnvelopeError for a malformed public key; False for any signature that does not verify."""
    crypt = _crypt("", _public_xy(public_key).hex())
    if len(signature) != 64:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (1 <= r < _N and 1 <= s < _N):
        return False
    try:
        return bool(crypt.verify_with_sm3(signature.hex(), message))
    except (TypeError, ValueError):  # a point at infinity on the way: not a valid signature
        return False


# -- timestamps -----------------------------------------------------------------------------------------

def new_timestamp() -> str:
    """13-digit epoch milliseconds, as the official SDK sends."""
    return str(int(time.time() * 1000))


def timestamp_epoch(value: Any) -> float:  # float-ok: seconds
    """Seconds since the epoch of a timestamp: 13-digit epoch milliseconds, 10-digit epoch seconds, or
    yyyyMMddHHmmss (the platform's local time)."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if text.isdigit() and len(text) == 13:
        return int(text) / 1000
    if text.isdigit() and len(text) == 10:
        return float(text)  # float-ok: seconds
    if text.isdigit() and len(text) == 14:
        try:
            return datetime.strptime(text, "%Y%m%d%H%M%S").timestamp()
        except ValueError:
            pass
    raise EnvelopeError("timestamp", "must be 13-digit epoch milliseconds or yyyyMMddHHmmss")


# -- sealing and opening ----------------------------------------------------------------------------------

def seal(data: Mapping[str, Any], app_id: str, app_secret: str, private_key_hex_or_b64: str | bytes,
         version: str = DEFAULT_VERSION, timestamp: str | None = None,
         fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Seal `data` for `app_id`: {appId, encType, signType, version, timestamp, encData, signData}.

    `fields`: further top-level fields (e.g. a response's code and message), signed with the rest."""
    if not isinstance(data, Mapping):
        raise EnvelopeError("data", "must be an object")
    envelope: dict[str, Any] = {"appId": app_id, "encType": ENC_TYPE, "signType": SIGN_TYPE, "version": version,
                                "timestamp": timestamp or new_timestamp()}
    for key, value in (fields or {}).items():
        if key in envelope or key in UNSIGNED or key == "data":
            raise EnvelopeError(key, "is a field of the envelope itself")
        envelope[key] = value
    body = clean(dict(data))
    signature = sign_bytes(sign_text({**envelope, "data": body}, app_secret).encode("utf-8"),
                           private_key_hex_or_b64)
    envelope["encData"] = encrypt_data(body, app_id, app_secret)
    envelope["signData"] = base64.b64encode(signature).decode()
    return envelope


def _unwrap(envelope: Any) -> Mapping[str, Any]:
    """The sealed layer of an answer that may wrap it in data/output/body; a business failure raised."""
    for _ in range(6):
        if not isinstance(envelope, Mapping):
            raise EnvelopeError("envelope", "must be a JSON object")
        if "encData" in envelope:
            return envelope
        code = envelope.get("code")
        if code not in (None, 0, "0"):
            raise SealedRefusal(code, str(envelope.get("message") or envelope.get("msg") or ""))
        inner = next((envelope[k] for k in ("data", "output", "body") if isinstance(envelope.get(k), Mapping)), None)
        if inner is None:
            return envelope
        envelope = inner
    return envelope


def open_sealed(envelope: Mapping[str, Any], app_secret: str, public_key: str | bytes, *,
                max_age_seconds: float | None = None, now: float | None = None) -> dict[str, Any]:  # float-ok: seconds
    """The data of a sealed envelope, once its signature verifies against the sender's `public_key`.

    Raises EnvelopeError naming what failed: a missing field, encType/signType other than SM4/SM2, a
    timestamp that is malformed or (with `max_age_seconds`) further than that from `now`, encData that does
    not decrypt under the key of appId and appSecret, or a signature that does not verify. An answer carrying
    a business failure ({code != 0, message}, nothing sealed) raises SealedRefusal."""
    env = _unwrap(envelope)
    for name in REQUIRED:
        value = env.get(name)
        if value is None or value == "":
            raise EnvelopeError(name, "is missing")
    for name in ("appId", "encData", "signData", "version"):
        if not isinstance(env[name], str):
            raise EnvelopeError(name, "must be a string")
    if env["encType"] != ENC_TYPE:
        raise EnvelopeError("encType", f"must be {ENC_TYPE}, not {env['encType']!r}")
    if env["signType"] != SIGN_TYPE:
        raise EnvelopeError("signType", f"must be {SIGN_TYPE}, not {env['signType']!r}")
    sent = timestamp_epoch(env["timestamp"])
    if max_age_seconds is not None:
        skew = (time.time() if now is None else now) - sent
        if abs(skew) > max_age_seconds:
            raise EnvelopeError("timestamp", f"is {abs(int(skew))} s {'old' if skew > 0 else 'ahead'}; at most "
                                             f"{int(max_age_seconds)} s from the receiver's clock are accepted")
    signature = _signature(env["signData"])
    app_id = env["appId"]
    data = decrypt_data(env["encData"], app_id, app_secret)
    signed = {k: v for k, v in env.items() if k not in UNSIGNED}
    signed["data"] = data
    text = sign_text(signed, app_secret)
    if not verify_bytes(text.encode("utf-8"), signature, public_key):
        raise EnvelopeError("signData", "the SM2 signature does not verify: the data, the envelope fields or the "
                                        "keys are not those that were signed")
    return clean(data)


def _signature(text: str) -> bytes:
    raw: bytes | None = None
    text = text.strip()
    if len(text) == 128 and all(c in "0123456789abcdefABCDEF" for c in text):
        raw = bytes.fromhex(text)
    else:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 64:
        raise EnvelopeError("signData", "must be the base64 of a 64-byte SM2 signature (r||s)")
    return raw
