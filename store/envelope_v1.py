"""Reading the version 1 envelope (one JSON object, base64 nonce and ciphertext).

    {"format": "mailstage-store", "version": 1, "generation": n, "wraps": [...],
     "nonce": b64, "ciphertext": b64}

The header (everything but nonce and ciphertext) is the associated data of the one
payload, which holds the whole store as JSON. mailstage no longer writes this form:
a version 1 file is read, and written as version 2 on its next save.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from mailstage.store.codec import b64d, dumps
from mailstage.store.envelope import FORMAT, canonical_wrap, header_object, unreadable
from mailstage.store.record import Record

VERSION = 1
HEADER_KEYS = ("format", "version", "generation", "wraps")
ENVELOPE_KEYS = (*HEADER_KEYS, "nonce", "ciphertext")
CIPHERTEXT_MARK = b',"ciphertext":"'
TAIL = b'"}\n'
GENERATION_PREFIX = b'{"format":"mailstage-store","version":1,"generation":'


def header_bytes(generation: int, wraps: list[dict[str, Any]]) -> bytes:
    header = {
        "format": FORMAT,
        "version": VERSION,
        "generation": generation,
        "wraps": [canonical_wrap(w) for w in wraps],
    }
    return dumps(header)


def seal_layout(
    generation: int, wraps: list[dict[str, Any]], nonce: str, ciphertext: bytes
) -> tuple[bytes, ...]:
    """A version 1 file's bytes (tests write old stores with it)."""
    aad = header_bytes(generation, wraps)
    return (aad[:-1], b',"nonce":', dumps(nonce), CIPHERTEXT_MARK, ciphertext, TAIL)


class Parsed(Record):
    FIELDS = ("generation", "wraps", "nonce", "ciphertext")
    generation: int
    wraps: list[dict[str, Any]]
    nonce: bytes
    ciphertext: bytes

    def __init__(
        self, generation: int, wraps: list[dict[str, Any]], nonce: bytes, ciphertext: bytes
    ) -> None:
        self._init(generation=generation, wraps=wraps, nonce=nonce, ciphertext=ciphertext)


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
    env = header_object(raw[:at] + b"}", VERSION, path)
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
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        return AESGCM(data_key).decrypt(
            parsed.nonce, parsed.ciphertext, header_bytes(parsed.generation, parsed.wraps)
        )
    except (InvalidTag, ValueError):
        raise unreadable(path) from None


def generation_on_disk(head: bytes) -> int | None:
    """The generation from the first bytes of a v1 file, or None if they are not one."""
    if not head.startswith(GENERATION_PREFIX):
        return None
    digits = head[len(GENERATION_PREFIX) :].split(b",", 1)[0]
    return int(digits) if digits.isdigit() else None
