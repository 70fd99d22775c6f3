"""The on-disk envelope, version 2: a length-prefixed JSON header, then raw ciphertext.

    MAGIC | header length (4 bytes, big-endian) | header JSON | section ciphertexts

    header = {"format": "mailstage-store", "version": 2, "generation": n, "wraps": [...],
              ...other authenticated fields..., "sections": [
                  ["core", nonce, length], [kind, nonce, length, tag], ...]}

The payload is cut into sections, each AES-256-GCM under the data key with its own
nonce: "core" (organization, stages, the app index), "apps" (a chunk of apps each)
and "audit" (a chunk of events each). The core's associated data is the whole prefix
(magic, length, header), so no header field can change unnoticed; every other
section is pinned by the nonce and tag the header lists for it, so a section cannot
be swapped for one from another file or generation. A reader that needs one stage
decrypts the core alone; one app, the core and that app's chunk.

cryptography is imported where it is used: reading the header alone (which key opens
the store) stays light on the TUI's way to its first paint.

The header must be exactly its canonical serialization and the file exactly the
prefix plus the listed sections: any byte changed outside mailstage is detected.
Version 1 files (one JSON object with base64 fields, see envelope_v1.py) are read
and written as version 2 on their next save.
"""

from __future__ import annotations

import json
import os
import struct

from mailstage.store.codec import b64d, b64e, dumps
from mailstage.store.errors import StoreUnreadable
from mailstage.store.record import FrozenRecord, Record

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

FORMAT = "mailstage-store"
VERSION = 2
READS = (1, 2)
MAGIC = b"mailstage-store\x00"
LENGTH = struct.Struct(">I")
PREFIX_FIXED = len(MAGIC) + LENGTH.size
MAX_HEADER = 8 * 1024 * 1024
TAG = 16
NONCE = 12
SECTION_AAD = b"mailstage-store:2:"
FIXED_KEYS = ("format", "version", "generation", "wraps")
Buffer = bytes | memoryview

# KDF parameters are read from the file: refuse ones that would exhaust the machine.
SCRYPT_DEFAULT = {"n": 2**17, "r": 8, "p": 1}
SCRYPT_CAP = {"n": 2**20, "r": 16, "p": 4}

__all__ = ["SCRYPT_CAP", "SCRYPT_DEFAULT", "b64d", "b64e", "dumps"]


def unreadable(path: object) -> StoreUnreadable:
    return StoreUnreadable(
        f"Cannot open the store {path}: the key does not match, or the file is damaged "
        f"or was changed outside mailstage. The file was left as it is."
    )


def damaged_part(path: object, part: str) -> StoreUnreadable:
    """A part that fails after the core opened: the key is right (the core's tag covers the
    header), so say which part, not "the key does not match"."""
    return StoreUnreadable(
        f"Cannot open the store {path}: its {part} is damaged or was changed outside "
        f"mailstage; the key is right (it opened "
        f"the store's header). The file was left as it is. `mailstage check` lists every "
        f"damaged part; the previous save is {path}.bak."
    )


def header_object(raw: bytes, version: int, path: object) -> dict[str, Any]:
    """A header's JSON object, of our format and of ``version``; an unknown version is
    refused by name, anything else that does not fit is unreadable."""
    try:
        env = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise unreadable(path) from None
    if not isinstance(env, dict) or env.get("format") != FORMAT:
        raise unreadable(path)
    found = env.get("version")
    if found != version:
        if isinstance(found, int) and not isinstance(found, bool) and found not in READS:
            raise unknown_version(path, found)
        raise unreadable(path)
    return env


def unknown_version(path: object, version: int) -> StoreUnreadable:
    return StoreUnreadable(
        f"Cannot open the store {path}: it is format version {version}, and this "
        f"mailstage reads only versions {READS[0]} and {READS[-1]}. The file was left as it is."
    )


class Section(FrozenRecord):
    FIELDS = ("kind", "nonce", "length", "tag", "offset")
    kind: str
    nonce: bytes
    length: int  # of the ciphertext, tag included
    tag: bytes | None  # None for the core: the header is its associated data
    offset: int  # from the start of the file

    def __init__(
        self, kind: str, nonce: bytes, length: int, tag: bytes | None = None, offset: int = 0
    ) -> None:
        self._init(kind=kind, nonce=nonce, length=length, tag=tag, offset=offset)

    def as_json(self) -> list[Any]:
        row: list[Any] = [self.kind, b64e(self.nonce), self.length]
        if self.tag is not None:
            row.append(b64e(self.tag))
        return row


class Header(Record):
    """A parsed header. Its section rows are checked for shape when it is parsed, and
    made into Sections (their nonces and tags decoded) when asked for: a one-shot read at
    10,000 apps needs the core's alone, not 300 (~1.5 ms). A row whose base64 does not
    decode cannot have passed the core's authentication (the header is its associated
    data) unless mailstage wrote it: it is refused as unreadable then."""

    FIELDS = ("generation", "wraps", "sections", "extra", "prefix")
    generation: int
    wraps: list[dict[str, Any]]
    extra: dict[str, Any]  # more authenticated fields
    prefix: bytes  # the file's bytes up to the first section
    end: int  # the file's size: the prefix and every section
    _rows: list[tuple[list[Any], int]]  # each section's row and offset
    _made: dict[int, Section]
    _path: object

    def __init__(
        self,
        generation: int,
        wraps: list[dict[str, Any]],
        rows: list[tuple[list[Any], int]],
        extra: dict[str, Any],
        prefix: bytes,
        end: int,
        path: object,
    ) -> None:
        self._init(generation=generation, wraps=wraps, extra=extra, prefix=prefix, end=end)
        self._init(_rows=rows, _made={}, _path=path)

    def section(self, index: int) -> Section:
        made = self._made.get(index)
        if made is None:
            row, offset = self._rows[index]
            try:
                made = self._made[index] = _section(row, offset)
            except ValueError:
                raise unreadable(self._path) from None
        return made

    @property
    def sections(self) -> list[Section]:
        return [self.section(i) for i in range(len(self._rows))]

    @property
    def core(self) -> Section:
        return self.section(0)

    def of_kind(self, kind: str) -> list[Section]:
        return [self.section(i) for i in self._indexes(kind)]

    def nth_of_kind(self, kind: str, n: int) -> Section:
        """The n-th section of ``kind`` (IndexError past the last), the others unmade."""
        return self.section(self._indexes(kind)[n])

    def _indexes(self, kind: str) -> list[int]:
        return [i for i, (row, _) in enumerate(self._rows) if row[0] == kind]


def canonical_wrap(wrap: dict[str, Any]) -> dict[str, Any]:
    return dict(sorted(wrap.items()))


def build_prefix(
    generation: int, wraps: list[dict[str, Any]], extra: dict[str, Any], sections: list[Section]
) -> bytes:
    header = {
        "format": FORMAT,
        "version": VERSION,
        "generation": generation,
        "wraps": [canonical_wrap(w) for w in wraps],
        **extra,
        "sections": [s.as_json() for s in sections],
    }
    body = dumps(header)
    return MAGIC + LENGTH.pack(len(body)) + body


class Sealed(Record):
    """A section ready to be written: its ciphertext (tag at the end) and nonce."""

    FIELDS = ("kind", "nonce", "ciphertext")
    kind: str
    nonce: bytes
    ciphertext: Buffer

    def __init__(self, kind: str, nonce: bytes, ciphertext: Buffer) -> None:
        self._init(kind=kind, nonce=nonce, ciphertext=ciphertext)

    @property
    def section(self) -> Section:
        return Section(self.kind, self.nonce, len(self.ciphertext), bytes(self.ciphertext[-TAG:]))


def seal_section(data_key: bytes, kind: str, plaintext: bytes) -> Sealed:
    from mailstage.store.aead import AESGCM

    nonce = os.urandom(NONCE)
    aad = SECTION_AAD + kind.encode("ascii")
    return Sealed(kind, nonce, AESGCM(data_key).encrypt(nonce, plaintext, aad))


def seal(
    data_key: bytes,
    generation: int,
    wraps: list[dict[str, Any]],
    core: bytes,
    sections: Sequence[Sealed],
    extra: dict[str, Any] | None = None,
) -> tuple[Buffer, ...]:
    """The file's bytes, in pieces: a large store is never copied into one more buffer."""
    from mailstage.store.aead import AESGCM

    nonce = os.urandom(NONCE)
    core_section = Section("core", nonce, len(core) + TAG)
    listed = [core_section, *(s.section for s in sections)]
    prefix = build_prefix(generation, wraps, dict(extra or {}), listed)
    core_ct = AESGCM(data_key).encrypt(nonce, core, prefix)
    return (prefix, core_ct, *(s.ciphertext for s in sections))


def _section(row: list[Any], offset: int) -> Section:
    nonce = b64d(row[1])
    tag = b64d(row[3]) if len(row) == 4 else None
    if len(nonce) != NONCE or (tag is not None and len(tag) != TAG):
        raise ValueError("shape")
    return Section(row[0], nonce, row[2], tag, offset)


NONCE_TEXT = 16  # base64 of the 12-byte nonce
TAG_TEXT = 24  # and of the 16-byte tag


def _row_length(row: Any, core: bool) -> int:
    """The ciphertext length a section row gives, once its shape is checked (the core's
    row first and without a tag, every other with one); its base64 is decoded later."""
    if not isinstance(row, list) or len(row) != (3 if core else 4):
        raise ValueError("shape")
    kind, nonce, length = row[0], row[1], row[2]
    if not isinstance(kind, str) or (core and kind != "core"):
        raise ValueError("shape")
    if not isinstance(length, int) or isinstance(length, bool) or length < TAG:
        raise ValueError("shape")
    if not isinstance(nonce, str) or len(nonce) != NONCE_TEXT:
        raise ValueError("shape")
    if not core and (not isinstance(row[3], str) or len(row[3]) != TAG_TEXT):
        raise ValueError("shape")
    return length


def parse_prefix(head: bytes, path: object) -> Header:
    """The header from the file's first bytes (which must hold the whole prefix).

    Checks the magic, the canonical form and the shape; nothing is decrypted yet.
    """
    if len(head) < PREFIX_FIXED or not head.startswith(MAGIC):
        raise unreadable(path)
    (size,) = LENGTH.unpack_from(head, len(MAGIC))
    if size > MAX_HEADER or len(head) < PREFIX_FIXED + size:
        raise unreadable(path)
    body = head[PREFIX_FIXED : PREFIX_FIXED + size]
    env = header_object(body, VERSION, path)
    try:
        generation, wraps, rows = env["generation"], env["wraps"], env["sections"]
        keys = tuple(env)
        if keys[: len(FIXED_KEYS)] != FIXED_KEYS or keys[-1] != "sections":
            raise ValueError("shape")
        if not isinstance(generation, int) or isinstance(generation, bool) or generation < 0:
            raise ValueError("shape")
        if not isinstance(wraps, list) or not all(isinstance(w, dict) for w in wraps):
            raise ValueError("shape")
        if not isinstance(rows, list) or not rows:
            raise ValueError("shape")
        offset = PREFIX_FIXED + size
        placed = []
        for at, row in enumerate(rows):
            placed.append((row, offset))
            offset += _row_length(row, at == 0)
        if dumps(env) != body or any(list(canonical_wrap(w)) != list(w) for w in wraps):
            raise ValueError("not canonical")
    except (KeyError, ValueError, TypeError, IndexError):
        raise unreadable(path) from None
    extra = {k: v for k, v in env.items() if k not in (*FIXED_KEYS, "sections")}
    prefix = bytes(head[: PREFIX_FIXED + size])
    header = Header(generation, wraps, placed, extra, prefix, offset, path)
    header.core  # noqa: B018 - the core's row is decoded now: it opens the header
    return header


def open_core(header: Header, data_key: bytes, ciphertext: Buffer, path: object) -> bytes:
    """Decrypt the core; this authenticates the header too."""
    from mailstage.store.aead import decrypt_or_none

    plain = decrypt_or_none(data_key, header.core.nonce, ciphertext, header.prefix)
    if plain is None:
        raise unreadable(path)
    return plain


def open_section(section: Section, data_key: bytes, ciphertext: Buffer, path: object) -> bytes:
    """Decrypt a section listed in an authenticated header (its core opened first)."""
    from mailstage.store.aead import decrypt_or_none

    # the tag is no secret (it is in the header): a plain comparison is fine, and keeps
    # hmac (and OpenSSL's hashlib, ~25 ms) off the one-shot commands' start-up
    if section.tag is None or bytes(ciphertext[-TAG:]) != section.tag:
        raise unreadable(path)
    aad = SECTION_AAD + section.kind.encode("ascii", "replace")
    plain = decrypt_or_none(data_key, section.nonce, ciphertext, aad)
    if plain is None:
        raise unreadable(path)
    return plain


def is_v2(head: bytes) -> bool:
    return head.startswith(MAGIC)


def prefix_size(head: bytes) -> int | None:
    """How many bytes the prefix takes, from its first PREFIX_FIXED bytes (None: not v2)."""
    if len(head) < PREFIX_FIXED or not head.startswith(MAGIC):
        return None
    return PREFIX_FIXED + int(LENGTH.unpack_from(head, len(MAGIC))[0])
