"""The on-disk envelope: canonical JSON, AES-256-GCM payload, data key wrapped per key source.

    {"format": "mailstage-store", "version": 1, "generation": n, "wraps": [...],
     "nonce": b64, "ciphertext": b64}

The header (everything but nonce and ciphertext) is the associated data of the
payload, so no header field can change unnoticed. The file must be exactly the
canonical serialization: any byte changed outside mailstage is detected, even in
places JSON would ignore (whitespace) or base64 would forgive (padding bits).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mailstage.store.errors import StoreUnreadable

FORMAT = "mailstage-store"
VERSION = 1
HEADER_KEYS = ("format", "version", "generation", "wraps")
ENVELOPE_KEYS = (*HEADER_KEYS, "nonce", "ciphertext")

# KDF parameters are read from the file: refuse ones that would exhaust the machine.
SCRYPT_DEFAULT = {"n": 2**17, "r": 8, "p": 1}
SCRYPT_CAP = {"n": 2**20, "r": 16, "p": 4}
CIPHERTEXT_MARK = b',"ciphertext":"'
TAIL = b'"}\n'
GENERATION_PREFIX = b'{"format":"mailstage-store","version":1,"generation":'


def unreadable(path: object) -> StoreUnreadable:
    return StoreUnreadable(
        f"Cannot open the store {path}: the key does not match, or the file is damaged "
        f"or was changed outside mailstage. The file was left as it is."
    )


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    data = base64.b64decode(text.encode("ascii"), validate=True)
    if b64e(data) != text:  # forgiven padding bits would hide a change
        raise ValueError("not canonical base64")
    return data


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def canonical_wrap(wrap: dict[str, Any]) -> dict[str, Any]:
    return dict(sorted(wrap.items()))


def header_bytes(generation: int, wraps: list[dict[str, Any]]) -> bytes:
    header = {
        "format": FORMAT,
        "version": VERSION,
        "generation": generation,
        "wraps": [canonical_wrap(w) for w in wraps],
    }
    return dumps(header)


def seal(
    data_key: bytes, generation: int, wraps: list[dict[str, Any]], plaintext: bytes
) -> tuple[bytes, ...]:
    """The file's bytes, in pieces: a large store is never copied into one more buffer."""
    nonce = os.urandom(12)
    aad = header_bytes(generation, wraps)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    return seal_layout(generation, wraps, b64e(nonce), base64.b64encode(ciphertext))


def seal_layout(
    generation: int, wraps: list[dict[str, Any]], nonce: str, ciphertext: bytes
) -> tuple[bytes, ...]:
    # the header's bytes end with "}": splice nonce and ciphertext in, keeping the key order
    aad = header_bytes(generation, wraps)
    return (aad[:-1], b',"nonce":', dumps(nonce), CIPHERTEXT_MARK, ciphertext, TAIL)


@dataclass
class Parsed:
    generation: int
    wraps: list[dict[str, Any]]
    nonce: bytes
    ciphertext: bytes


def _ciphertext(text: memoryview) -> bytes:
    """Strict, canonical base64: no stray characters and no forgiven padding bits."""
    data = binascii.a2b_base64(text, strict_mode=True)
    quads = len(text) // 4
    if quads and base64.b64encode(data[(quads - 1) * 3 :]) != bytes(text[-4:]):
        raise ValueError("not canonical base64")
    return data


def parse(raw: bytes, path: object) -> Parsed:
    """Check the envelope's shape and canonical form; nothing is decrypted yet.

    The ciphertext is sliced out rather than run through the JSON parser: it is most of
    the file, and its canonical form (plain base64 between fixed marks) is checked directly.
    """
    at = raw.rfind(CIPHERTEXT_MARK)
    if at < 0 or not raw.endswith(TAIL):
        raise unreadable(path)
    try:
        env = json.loads(raw[:at] + b"}")
    except (ValueError, UnicodeDecodeError):
        raise unreadable(path) from None
    if not isinstance(env, dict) or env.get("format") != FORMAT:
        raise unreadable(path)
    version = env.get("version")
    if version != VERSION:
        if isinstance(version, int) and not isinstance(version, bool):
            raise StoreUnreadable(
                f"Cannot open the store {path}: it is format version {version}, and this "
                f"mailstage reads only version {VERSION}. The file was left as it is."
            )
        raise unreadable(path)
    try:
        generation = env["generation"]
        wraps = env["wraps"]
        if tuple(env) != ENVELOPE_KEYS[:-1] or isinstance(generation, bool):
            raise ValueError("shape")
        if not isinstance(generation, int) or generation < 0 or not isinstance(wraps, list):
            raise ValueError("shape")
        if not all(isinstance(w, dict) for w in wraps):
            raise ValueError("shape")
        nonce = b64d(env["nonce"])
        ciphertext = _ciphertext(memoryview(raw)[at + len(CIPHERTEXT_MARK) : -len(TAIL)])
        prefix = header_bytes(generation, wraps)[:-1] + b',"nonce":' + dumps(env["nonce"])
    except (KeyError, ValueError, TypeError, binascii.Error):
        raise unreadable(path) from None
    if raw[:at] != prefix or len(nonce) != 12:
        raise unreadable(path)
    return Parsed(generation, wraps, nonce, ciphertext)


def open_payload(parsed: Parsed, data_key: bytes, path: object) -> bytes:
    try:
        return AESGCM(data_key).decrypt(
            parsed.nonce, parsed.ciphertext, header_bytes(parsed.generation, parsed.wraps)
        )
    except (InvalidTag, ValueError):
        raise unreadable(path) from None


def generation_on_disk(head: bytes) -> int | None:
    """The generation from the first bytes of a file, or None if they are not ours."""
    if not head.startswith(GENERATION_PREFIX):
        return None
    digits = head[len(GENERATION_PREFIX) :].split(b",", 1)[0]
    return int(digits) if digits.isdigit() else None
