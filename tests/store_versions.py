"""Stores in each envelope version, for the tamper and truncation sweeps.

mailstage writes only version 2; a version 1 file is made here the way mailstage 1
wrote it (one JSON object, base64 nonce and ciphertext), from a store's own data and key.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mailstage.store import envelope, envelope_v1
from mailstage.store.codec import b64e
from mailstage.store.filestore import StoreFile
from mailstage.store.paths import Locations


def rewrite_as_v1(loc: Locations) -> bytes:
    """Replace the store by a version 1 file of the same data, generation and key."""
    file, data = StoreFile.open(loc)
    payload = data.model_dump_json(context={"reveal_secrets": True}).encode()
    nonce = os.urandom(12)
    aad = envelope_v1.header_bytes(file.generation, file.wraps)
    ciphertext = AESGCM(file.data_key).encrypt(nonce, payload, aad)
    raw = b"".join(
        envelope_v1.seal_layout(
            file.generation, file.wraps, b64e(nonce), base64.b64encode(ciphertext)
        )
    )
    loc.store.write_bytes(raw)
    return raw


def version_digit_at(raw: bytes) -> int:
    """Where the version number sits (flipping its low bit is reported by name)."""
    marker = b'"version":'
    return raw.index(marker) + len(marker)


def header_end(raw: bytes) -> int:
    """The first byte after the header (v2: the prefix; v1: where the nonce starts)."""
    if envelope.is_v2(raw):
        return envelope.prefix_size(raw) or 0
    return raw.index(b'"nonce"')


def as_version(loc: Locations, version: int) -> bytes:
    return rewrite_as_v1(loc) if version == 1 else loc.store.read_bytes()
