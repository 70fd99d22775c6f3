"""The audit archive: older audit events, kept encrypted beside the store.

The store keeps its newest events (about AUDIT_KEEP); past that, the oldest move here
in whole chunks during a save, so a save's cost no longer grows with the audit's length.
`mailstage audit --all` reads them back.

    store.json.audit = record*   record = length (4 bytes, big-endian) | nonce | ciphertext

Each record is one chunk of events (JSON), AES-256-GCM under a key derived from the
store's data key, its position in the file as associated data. The store's core
section says how many records are committed: a record written by a save that did
not finish is ignored, and cut off by the next archiving save.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mailstage.store.errors import StoreUnreadable
from mailstage.store.sharing import check_file, sharing_of

KEY_PURPOSE = b"mailstage audit archive v1"
LENGTH = struct.Struct(">I")
NONCE = 12
AAD = b"mailstage-audit-archive:"


def archive_path(store: Path) -> Path:
    return store.with_name(store.name + ".audit")


def damaged(path: object) -> StoreUnreadable:
    return StoreUnreadable(
        f"Cannot read the audit archive {path}: the key does not match, or the file is "
        f"damaged or was changed outside mailstage. The file was left as it is."
    )


def _aad(index: int) -> bytes:
    return AAD + index.to_bytes(8, "big")


def _records(raw: bytes, count: int, path: Path) -> list[tuple[int, int]]:
    """(start, end) of the first ``count`` records' bodies."""
    spans, at = [], 0
    for _ in range(count):
        if at + LENGTH.size > len(raw):
            raise damaged(path)
        (size,) = LENGTH.unpack_from(raw, at)
        start, end = at + LENGTH.size, at + LENGTH.size + size
        if size < NONCE + 16 or end > len(raw):
            raise damaged(path)
        spans.append((start, end))
        at = end
    return spans


def _read(path: Path) -> bytes:
    try:
        check_file(path, "audit archive", sharing_of(path.parent))  # 0600, or a team's 0660
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return b""
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def read_chunks(store: Path, key: bytes, count: int) -> list[bytes]:
    """The plaintext of the first ``count`` records (each a JSON list of events)."""
    if count == 0:
        return []
    path = archive_path(store)
    raw = _read(path)
    bodies = [memoryview(raw)[start:end] for start, end in _records(raw, count, path)]
    return open_records(key, bodies, path)


def open_records(key: bytes, bodies: Sequence[bytes | memoryview], where: object) -> list[bytes]:
    """Decrypt records 0..n-1 (a file's, or a database's rows); ``where`` names them."""
    aead = AESGCM(key)
    out = []
    for index, body in enumerate(bodies):
        view = memoryview(body)
        try:
            out.append(aead.decrypt(bytes(view[:NONCE]), view[NONCE:], _aad(index)))
        except (InvalidTag, ValueError):
            raise damaged(where) from None
    return out


def seal_records(key: bytes, first: int, chunks: list[bytes]) -> list[bytes]:
    """Encrypt chunks as records ``first``, ``first + 1``...: nonce | ciphertext each."""
    aead = AESGCM(key)
    bodies = []
    for offset, plaintext in enumerate(chunks):
        nonce = os.urandom(NONCE)
        bodies.append(nonce + aead.encrypt(nonce, plaintext, _aad(first + offset)))
    return bodies


def append_chunks(store: Path, key: bytes, committed: int, chunks: list[bytes], mode: int) -> None:
    """Cut the file after its ``committed`` records, append ``chunks``, fsync.

    Called with the store's lock held, before the store that counts them is written.
    """
    path = archive_path(store)
    raw = _read(path)
    spans = _records(raw, committed, path)
    keep = spans[-1][1] if spans else 0
    pieces = [LENGTH.pack(len(body)) + body for body in seal_records(key, committed, chunks)]
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)
        os.ftruncate(fd, keep)
        os.lseek(fd, keep, os.SEEK_SET)
        for piece in pieces:
            view = memoryview(piece)
            while view:
                view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
