"""The sealed envelope of the mobile-payment centre (interface.md 6.1), without a database: cleaning, the sign
text, SM4, SM2 keys and signatures (checked against OpenSSL where it has SM2), sealing and opening, and each
way an envelope can be refused."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from yibao.mobilepay import envelope as env
from yibao.mobilepay.envelope import (
    EnvelopeError,
    SealedRefusal,
    clean,
    generate_keypair,
    open_sealed,
    seal,
    sign_text,
    sm4_key,
)

APP_ID = "H44030000001ABCDEF0123456789ABCD"
SECRET = "test-secret-sz"
PRIVATE, PUBLIC = generate_keypair()
DATA = {"payOrdId": "ORD1", "feeSumamt": Decimal("250.00"), "name": "张三", "flag": False, "zero": 0,
        "empty": "", "none": None, "lines": [{"a": Decimal("1.50")}, {}, {"b": ""}], "nested": {"x": {"y": []}}}


def test_clean_drops_null_empty_text_and_empty_containers_recursively_and_keeps_booleans_and_zeros():
    assert clean(DATA) == {"payOrdId": "ORD1", "feeSumamt": Decimal("250.00"), "name": "张三", "flag": False,
                           "zero": 0, "lines": [{"a": Decimal("1.50")}]}
    assert clean({"a": [None, "", [], {}, [[]], {"b": {"c": None}}]}) == {}
    assert clean({"t": True, "f": False, "s": " "}) == {"t": True, "f": False, "s": " "}


def test_sign_text_of_a_small_hand_written_example():
    """Keys in ASCII order (upper case before lower), signData/encData/extra left out, empty values skipped,
    objects as compact JSON with sorted keys and non-ASCII as is, booleans true/false, then &key=."""
    envelope = {"version": "2.0.1", "timestamp": "1700000000000", "signType": "SM2", "encType": "SM4",
                "appId": "APP1", "signData": "ignored", "encData": "ignored", "extra": {"ignored": 1},
                "Zeta": "upper-case sorts first", "blank": "", "ok": True,
                "data": {"b": "中文", "a": 1, "c": {"z": False, "y": Decimal("2.50")}, "d": "", "e": [1, {"k": None}]}}
    assert sign_text(envelope, "S3CRET") == (
        'Zeta=upper-case sorts first&appId=APP1&data={"a":1,"b":"中文","c":{"y":2.50,"z":false},"e":[1]}'
        '&encType=SM4&ok=true&signType=SM2&timestamp=1700000000000&version=2.0.1&key=S3CRET')


def test_sm4_is_the_standard_cipher_and_the_key_derivation_follows_the_spec():
    # GB/T 32907-2016 appendix A, example 1
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    assert env._sm4(key, key, decrypt=False).hex() == "681edf34d206965e86b3e94f536e4246"
    assert env._sm4(key, bytes.fromhex("681edf34d206965e86b3e94f536e4246"), decrypt=True) == key
    derived = sm4_key(APP_ID, SECRET)
    expected = env._sm4(APP_ID[:16].encode(), env._pad(SECRET.encode()), decrypt=False).hex().upper()[:16]
    assert derived == expected.encode() and len(derived) == 16
    with pytest.raises(EnvelopeError, match="appId: has 12 characters"):
        sm4_key("H44030000001", SECRET)


def test_round_trip_keeps_exact_decimals_and_the_envelope_shape():
    sealed = seal(DATA, APP_ID, SECRET, PRIVATE)
    assert set(sealed) == {"appId", "encType", "signType", "version", "timestamp", "encData", "signData"}
    assert sealed["encType"] == "SM4" and sealed["signType"] == "SM2" and sealed["version"] == "2.0.1"
    assert len(sealed["timestamp"]) == 13 and sealed["encData"] == sealed["encData"].upper()
    assert len(base64.b64decode(sealed["signData"])) == 64
    opened = open_sealed(sealed, SECRET, PUBLIC)
    assert opened == clean(DATA)
    assert str(opened["feeSumamt"]) == "250.00" and str(opened["lines"][0]["a"]) == "1.50"
    # extra signed fields (a response's code and message) travel and are verified with the rest
    answer = seal({"x": 1}, APP_ID, SECRET, PRIVATE, version="2.0.0", timestamp="20260316093000",
                  fields={"code": 0, "message": "成功"})
    assert answer["code"] == 0 and open_sealed(answer, SECRET, PUBLIC) == {"x": 1}
    answer["message"] = "失败"
    with pytest.raises(EnvelopeError) as err:
        open_sealed(answer, SECRET, PUBLIC)
    assert err.value.field == "signData"


def test_keys_in_hex_and_the_64_byte_public_key_are_accepted():
    raw_private = base64.b64decode(PRIVATE)
    raw_public = base64.b64decode(PUBLIC)
    assert len(raw_private) == 32 and len(raw_public) == 65 and raw_public[0] == 4
    assert env.public_key_of(PRIVATE) == PUBLIC == env.public_key_of(raw_private.hex())
    sealed = seal({"a": "b"}, APP_ID, SECRET, raw_private.hex())
    for public in (PUBLIC, raw_public.hex(), raw_public[1:].hex(), base64.b64encode(raw_public[1:]).decode()):
        assert open_sealed(sealed, SECRET, public) == {"a": "b"}


def test_a_public_key_whose_x_starts_with_04_is_not_mangled():
    """gmssl's constructor strips leading '0'/'4' characters off such a key; the envelope sets it afterwards."""
    private = (11).to_bytes(32, "big").hex()
    public = env.public_key_of(private)
    assert base64.b64decode(public)[1:].hex().startswith("04")
    sealed = seal({"a": 1}, APP_ID, SECRET, private)
    assert open_sealed(sealed, SECRET, public) == {"a": 1}
    assert open_sealed(sealed, SECRET, base64.b64decode(public)[1:].hex()) == {"a": 1}


def _refusal(sealed: dict, secret: str = SECRET, public: str = PUBLIC, **kw) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as err:
        open_sealed(sealed, secret, public, **kw)
    return err.value


def test_tampering_is_refused_naming_what_failed():
    sealed = seal(DATA, APP_ID, SECRET, PRIVATE)
    # encData: one flipped digit breaks its block (the padding or the JSON), or else the signature
    enc = sealed["encData"]
    flipped = enc[:10] + ("0" if enc[10] != "0" else "1") + enc[11:]
    assert _refusal({**sealed, "encData": flipped}).field in ("encData", "signData")
    assert _refusal({**sealed, "encData": enc[:-32]}).field in ("encData", "signData")
    assert _refusal({**sealed, "encData": "XYZ" + enc[3:]}).field == "encData"
    # signData
    sig = bytearray(base64.b64decode(sealed["signData"]))
    sig[5] ^= 1
    assert _refusal({**sealed, "signData": base64.b64encode(bytes(sig)).decode()}).field == "signData"
    assert _refusal({**sealed, "signData": "bm90IGEgc2lnbmF0dXJl"}).field == "signData"
    # the data: another data encrypted under the same key, the signature is of the first
    other = env.encrypt_data({**clean(DATA), "feeSumamt": Decimal("1.00")}, APP_ID, SECRET)
    err = _refusal({**sealed, "encData": other})
    assert err.field == "signData" and "does not verify" in str(err)
    # a signed envelope field
    assert _refusal({**sealed, "version": "2.0.2"}).field == "signData"


def test_wrong_keys_are_refused():
    sealed = seal(DATA, APP_ID, SECRET, PRIVATE)
    _other_private, other_public = generate_keypair()
    assert _refusal(sealed, public=other_public).field == "signData"
    assert _refusal(sealed, secret="another-secret").field in ("encData", "signData")
    assert _refusal(sealed, public="not a key").field == "public key"


def test_missing_and_wrong_fields_and_stale_timestamps_are_refused():
    sealed = seal(DATA, APP_ID, SECRET, PRIVATE)
    for name in ("appId", "encType", "signType", "version", "timestamp", "encData", "signData"):
        missing = {k: v for k, v in sealed.items() if k != name}
        err = _refusal(missing)
        assert (err.field, err.rule) == (name, "is missing")
    assert _refusal({**sealed, "encType": "AES"}).field == "encType"
    assert _refusal({**sealed, "signType": "RSA"}).field == "signType"
    assert _refusal({**sealed, "timestamp": "yesterday"}).field == "timestamp"
    old = seal(DATA, APP_ID, SECRET, PRIVATE, timestamp=str(int((time.time() - 600) * 1000)))
    assert open_sealed(old, SECRET, PUBLIC) == clean(DATA)  # no window asked: accepted
    err = _refusal(old, max_age_seconds=300)
    assert err.field == "timestamp" and "old" in err.rule
    assert open_sealed(old, SECRET, PUBLIC, max_age_seconds=900) == clean(DATA)


def test_answers_wrapped_in_layers_and_business_failures():
    sealed = seal({"ok": True}, APP_ID, SECRET, PRIVATE)
    assert open_sealed({"code": 0, "data": {"output": sealed}}, SECRET, PUBLIC) == {"ok": True}
    with pytest.raises(SealedRefusal) as err:
        open_sealed({"code": -1, "message": "data.payOrdId: no pay order X of this institution"}, SECRET, PUBLIC)
    assert err.value.code == -1 and err.value.message.startswith("data.payOrdId")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_signatures_interoperate_with_openssl(tmp_path: Path):
    """OpenSSL 3 (SM2 with SM3, distid 1234567812345678) verifies ours, and we verify its."""
    from Cryptodome.Util.asn1 import DerBitString, DerInteger, DerObjectId, DerOctetString, DerSequence

    raw_private, raw_public = base64.b64decode(PRIVATE), base64.b64decode(PUBLIC)
    oid, bits = DerObjectId("1.2.156.10197.1.301").encode(), DerBitString(raw_public).encode()
    body = (DerInteger(1).encode() + DerOctetString(raw_private).encode() + b"\xa0" + bytes([len(oid)]) + oid
            + b"\xa1" + bytes([len(bits)]) + bits)
    (tmp_path / "key.der").write_bytes(b"\x30" + bytes([len(body)]) + body)
    message = sign_text({"appId": APP_ID, "data": {"名": "值", "n": Decimal("1.00")}}, SECRET).encode()
    (tmp_path / "msg").write_bytes(message)
    ours = env.sign_bytes(message, PRIVATE)
    (tmp_path / "ours.der").write_bytes(DerSequence([DerInteger(int.from_bytes(ours[:32], "big")),
                                                     DerInteger(int.from_bytes(ours[32:], "big"))]).encode())

    def openssl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["openssl", *args], cwd=tmp_path, capture_output=True, text=True)

    if openssl("ec", "-inform", "DER", "-in", "key.der", "-out", "key.pem").returncode != 0:
        pytest.skip("this openssl has no SM2")
    assert openssl("ec", "-in", "key.pem", "-pubout", "-out", "pub.pem").returncode == 0
    verified = openssl("dgst", "-sm3", "-verify", "pub.pem", "-sigopt", "distid:1234567812345678", "-signature",
                       "ours.der", "msg")
    if "distid" in verified.stderr or "sm3" in verified.stderr.lower():
        pytest.skip(f"this openssl cannot verify SM2/SM3: {verified.stderr.strip()[:80]}")
    assert verified.stdout.strip() == "Verified OK", verified.stderr
    assert openssl("dgst", "-sm3", "-sign", "key.pem", "-sigopt", "distid:1234567812345678", "-out", "theirs.der",
                   "msg").returncode == 0
    seq = DerSequence()
    seq.decode((tmp_path / "theirs.der").read_bytes())
    theirs = int(seq[0]).to_bytes(32, "big") + int(seq[1]).to_bytes(32, "big")
    assert env.verify_bytes(message, theirs, PUBLIC)
    assert not env.verify_bytes(message + b"x", theirs, PUBLIC)
