"""Key sources that wrap the data key: a key file (default) or a passphrase (scrypt)."""

from __future__ import annotations

import os

from mailstage.store.aead import AESGCM, decrypt_or_none
from mailstage.store.envelope import SCRYPT_CAP, SCRYPT_DEFAULT, b64d, b64e
from mailstage.store.errors import StoreUnreadable
from mailstage.store.paths import create_file, ensure_private_dir, read_checked_file
from mailstage.store.record import Record
from mailstage.store.sharing import check_file, sharing_of

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from typing import Any

    from mailstage.store.sharing import StrPath

KEY_BYTES = 32
WRAP_AAD = b"mailstage-wrap-v1:"


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _wrap(kek: bytes, kind: str, data_key: bytes, extra: dict[str, Any]) -> dict[str, Any]:
    nonce = os.urandom(12)
    wrapped = AESGCM(kek).encrypt(nonce, data_key, WRAP_AAD + kind.encode())
    return {"kind": kind, **extra, "nonce": b64e(nonce), "wrapped": b64e(wrapped)}


def _unwrap(kek: bytes, wrap: dict[str, Any]) -> bytes | None:
    try:
        nonce, wrapped = b64d(wrap["nonce"]), b64d(wrap["wrapped"])
        aad = WRAP_AAD + str(wrap["kind"]).encode()
    except (KeyError, ValueError, TypeError):
        return None
    key = decrypt_or_none(kek, nonce, wrapped, aad)
    return key if key is not None and len(key) == KEY_BYTES else None


class KeySource:
    kind: str

    def wrap(self, data_key: bytes) -> dict[str, Any]:
        raise NotImplementedError

    def unwrap(self, wraps: list[dict[str, Any]]) -> bytes | None:
        raise NotImplementedError

    def refusal(self, store: object, kinds: set[str]) -> StoreUnreadable:
        """Why this source did not open the store (whose wraps are of ``kinds``), in a
        sentence that is true for it: a missing key file is not a damaged store."""
        raise NotImplementedError


class KeyFile(Record, KeySource):
    FIELDS = ("path", "kind")
    path: StrPath  # a Path, or its text on the one-shot read path (paths.FileLocations)

    def __init__(self, path: StrPath, kind: str = "keyfile") -> None:
        self._init(path=path, kind=kind)

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path) or "."  # as Path.parent

    def check(self) -> None:
        """StrictModes on the key file: 0600, or 0640 and the team's group beside a team's store."""
        check_file(self.path, "key file", sharing_of(self.folder), key=True)

    def _read(self) -> bytes | None:
        try:
            return read_checked_file(self.path, "key file", sharing_of(self.folder), key=True)
        except FileNotFoundError:
            return None

    def _key(self) -> bytes | None:
        key = self._read()
        return key if key is not None and len(key) == KEY_BYTES else None

    def refusal(self, store: object, kinds: set[str]) -> StoreUnreadable:
        if self.kind not in kinds and "passphrase" in kinds:
            return StoreUnreadable(
                f"Cannot open the store {store}: it is protected by a passphrase, not a key "
                f"file. Set MAILSTAGE_PASSPHRASE, or run mailstage at a terminal to be asked."
            )
        key = self._read()
        if key is None:
            return StoreUnreadable(
                f"Cannot open the store {store}: its key file {self.path} does not exist. "
                f"Point --key-file (or MAILSTAGE_KEY_FILE) at the key file that mailstage "
                f"init made, or restore it from your backup. The store was left as it is."
            )
        if len(key) != KEY_BYTES:
            return StoreUnreadable(
                f"Cannot open the store {store}: the key file {self.path} holds {len(key)} "
                f"bytes, and a mailstage key file holds exactly {KEY_BYTES}; it is not this "
                f"store's key (or it was cut short or changed). The store was left as it is."
            )
        return StoreUnreadable(
            f"Cannot open the store {store}: the key file {self.path} does not match it "
            f"(it belongs to another store, or the store was changed outside mailstage). "
            f"The store was left as it is."
        )

    def exists(self) -> bool:
        return os.path.lexists(self.path)

    def create(self) -> None:
        from pathlib import Path

        if not os.path.exists(self.folder):
            ensure_private_dir(Path(self.folder))
        sharing = sharing_of(self.folder)
        create_file(self.path, os.urandom(KEY_BYTES), sharing.key_mode, sharing.gid)

    def wrap(self, data_key: bytes) -> dict[str, Any]:
        key = self._key()
        if key is None:
            raise FileNotFoundError(self.path)
        return _wrap(key, self.kind, data_key, {})

    def unwrap(self, wraps: list[dict[str, Any]]) -> bytes | None:
        key = self._key()
        if key is None:
            return None
        for wrap in wraps:
            if wrap.get("kind") == self.kind and (data_key := _unwrap(key, wrap)):
                return data_key
        return None


_derived: dict[tuple[bytes, bytes, int, int, int], bytes] = {}


def _scrypt(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # Deriving costs ~0.3 s: pay it once per process for the same passphrase and salt.
    # Imported here: a key file store never needs the KDF (nor OpenSSL's hashlib).
    import hashlib

    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    cache_key = (hashlib.sha256(passphrase.encode()).digest(), salt, n, r, p)
    if cache_key not in _derived:
        _derived[cache_key] = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(
            passphrase.encode("utf-8")
        )
    return _derived[cache_key]


class Passphrase(Record, KeySource):
    FIELDS = ("secret", "kind")
    NOT_SHOWN = frozenset({"secret"})
    secret: str

    def __init__(self, secret: str, kind: str = "passphrase") -> None:
        self._init(secret=secret, kind=kind)

    def wrap(self, data_key: bytes) -> dict[str, Any]:
        salt = os.urandom(16)
        params = dict(SCRYPT_DEFAULT)
        kek = _scrypt(self.secret, salt, **params)
        return _wrap(kek, self.kind, data_key, {"kdf": "scrypt", **params, "salt": b64e(salt)})

    def unwrap(self, wraps: list[dict[str, Any]]) -> bytes | None:
        for wrap in wraps:
            if wrap.get("kind") != self.kind or wrap.get("kdf") != "scrypt":
                continue
            try:
                n, r, p = (int(wrap[k]) for k in ("n", "r", "p"))
                salt = b64d(wrap["salt"])
            except (KeyError, ValueError, TypeError):
                continue
            if not (
                2 <= n <= SCRYPT_CAP["n"]
                and n & (n - 1) == 0
                and 1 <= r <= SCRYPT_CAP["r"]
                and 1 <= p <= SCRYPT_CAP["p"]
                and 8 <= len(salt) <= 64
            ):
                continue
            if data_key := _unwrap(_scrypt(self.secret, salt, n, r, p), wrap):
                return data_key
        return None

    def refusal(self, store: object, kinds: set[str]) -> StoreUnreadable:
        if self.kind not in kinds:
            return StoreUnreadable(
                f"Cannot open the store {store}: it opens with its key file, not a "
                f"passphrase. Unset MAILSTAGE_PASSPHRASE and give --key-file if needed."
            )
        return StoreUnreadable(
            f"Cannot open the store {store}: the passphrase does not match it. Check it and "
            f"try again (if it is right, the store was changed outside mailstage). The "
            f"store was left as it is."
        )


def wrap_kinds(wraps: list[dict[str, Any]]) -> set[str]:
    return {str(w.get("kind")) for w in wraps}
