"""The email log: one record for every message the relay or Send test handles.

The file sits beside the store (``maillog.jsonl``), with the store's permissions.
Each line is one record, encrypted on its own (AES-256-GCM, its own nonce) under a
key derived from the store's data key, so the file alone reveals no address. A
record is appended with one ``write()`` on an ``O_APPEND`` descriptor: several
writers (relays, admins' Send tests) never interleave; a lock is taken only to
rotate the file when it grows past its size limit.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mailstage.store.errors import UnsafeFile
from mailstage.store.filestore import StoreFile

KEY_PURPOSE = b"mailstage-maillog-v1"
LINE_PREFIX = b"1:"
NONCE_BYTES = 12
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
ROTATED_KEPT = 3
SUBJECT_LIMIT = 200
LOCK_TIMEOUT = 10.0

# queued: the relay owns it and retries; expired and deleted end a queued message
Outcome = Literal["sent", "refused", "deferred", "queued", "expired", "deleted"]
OUTCOMES: tuple[Outcome, ...] = ("sent", "refused", "deferred", "queued", "expired", "deleted")
Source = Literal["relay", "send-test"]
JSON_FIELDS = (
    "time", "source", "stage", "app", "message_id", "subject", "recipients",
    "delivered_to", "redirected", "outcome", "reply", "ms", "peer", "queue_id", "refused",
)  # fmt: skip


@dataclass
class LogRecord:
    source: Source
    stage: str
    app: str | None
    outcome: Outcome
    message_id: str = ""
    subject: str = ""
    recipients: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    redirected: bool = False
    reply: str = ""
    ms: int = 0
    peer: str = ""
    queue_id: str = ""  # the relay's queue entry, when it was queued
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> upstream's words
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        self.subject = self.subject[:SUBJECT_LIMIT]

    def to_json(self) -> dict[str, Any]:
        """The fields in the order of the command line contract (DESIGN section 5)."""
        return {name: getattr(self, name) for name in JSON_FIELDS}  # asdict's deep copy: no need

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogRecord:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def log_path(store: Path) -> Path:
    """``maillog.jsonl`` beside the default ``store.json``; ``NAME.maillog.jsonl`` beside
    a store with another name, so two stores in one folder keep two logs."""
    if store.name == "store.json":
        return store.with_name("maillog.jsonl")
    return store.with_name(f"{store.stem}.maillog.jsonl")


def max_bytes() -> int:
    try:
        return max(4096, int(os.environ.get("MAILSTAGE_MAILLOG_MAX_BYTES", DEFAULT_MAX_BYTES)))
    except ValueError:
        return DEFAULT_MAX_BYTES


class MailLog:
    def __init__(self, path: Path, key: bytes, *, mode: int = 0o600) -> None:
        self.path = path
        self.mode = mode
        self._aead = AESGCM(key)
        self.skipped = 0  # lines the last read could not decrypt (another key, torn)
        self._fd = -1  # kept open for appending while the path names the same file
        self._file_id: tuple[int, int] = (0, 0)

    @classmethod
    def of_store(cls, file: StoreFile) -> MailLog:
        if file.locations.database is not None:
            from mailstage.mailer.maillog_db import DatabaseMailLog

            return DatabaseMailLog(file.locations.database, file.derived_key(KEY_PURPOSE))
        store = file.locations.store
        try:
            mode = stat.S_IMODE(store.stat().st_mode) & 0o660
        except OSError:
            mode = 0o600
        return cls(log_path(store), file.derived_key(KEY_PURPOSE), mode=mode or 0o600)

    def __repr__(self) -> str:
        return f"MailLog({str(self.path)!r})"

    # -- writing -------------------------------------------------------------------

    def seal(self, record: LogRecord) -> bytes:
        return LINE_PREFIX + base64.b64encode(self.sealed(record)) + b"\n"

    def sealed(self, record: LogRecord) -> bytes:
        """nonce | AES-GCM ciphertext of the record's JSON (a line's body, a row's bytes)."""
        nonce = os.urandom(NONCE_BYTES)
        # "replace": a lone surrogate from a raw 8-bit header must not lose the record
        plaintext = json.dumps(record.to_json(), ensure_ascii=False).encode("utf-8", "replace")
        return nonce + self._aead.encrypt(nonce, plaintext, KEY_PURPOSE)

    def signature(self) -> object:
        """Changes whenever a record is appended (a stat of the file)."""
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return info.st_ino, info.st_size, info.st_mtime_ns

    def append(self, record: LogRecord) -> None:
        """Append one record with one write. Raises OSError (or UnsafeFile) on failure.

        The descriptor stays open from one append to the next (a relay appends a record
        a message): one stat says the path still names that file, else (rotated,
        removed, replaced) it is opened again, with the checks of a first open."""
        line = self.seal(record)
        fd, size = self._appending()
        written = os.write(fd, line)
        if written != len(line):  # a full disk: never leave half a record unmarked
            os.write(fd, b"\n")
            raise OSError(f"the email log {self.path} is full")
        if size + written > max_bytes():
            self.close()
            self._rotate()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            self.close()

    def _appending(self) -> tuple[int, int]:
        """The open descriptor and the file's size before this append."""
        if self._fd >= 0:
            try:
                info = os.stat(self.path, follow_symlinks=False)
            except OSError:
                info = None
            if info is not None and (info.st_ino, info.st_dev) == self._file_id:
                if stat.S_IMODE(info.st_mode) & 0o007:
                    raise self._readable_by_others(info)
                return self._fd, info.st_size
            self.close()
        fd = self._open_for_append()
        info = os.fstat(fd)
        self._fd, self._file_id = fd, (info.st_ino, info.st_dev)
        return fd, info.st_size

    def _open_for_append(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, self.mode)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a symbolic link planted in its place
                raise UnsafeFile(
                    f"The email log {self.path} is a symbolic link, which mailstage refuses "
                    "to follow."
                ) from None
            raise
        try:
            info = os.fstat(fd)
            if info.st_size == 0 and info.st_uid == os.geteuid():
                os.fchmod(fd, self.mode)  # whatever the umask
            elif stat.S_IMODE(info.st_mode) & 0o007:
                raise self._readable_by_others(info)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _readable_by_others(self, info: os.stat_result) -> UnsafeFile:
        return UnsafeFile(
            f"The email log {self.path} can be read by other users (mode "
            f"{stat.S_IMODE(info.st_mode):04o}). Fix it with: chmod o= {self.path}"
        )

    def _rotate(self) -> None:
        from filelock import FileLock
        from filelock import Timeout as FileLockTimeout

        lock = FileLock(str(self.path) + ".lock", mode=self.mode, timeout=LOCK_TIMEOUT)
        try:
            with lock:
                # another writer may have rotated while this one waited for the lock
                if self.path.stat().st_size <= max_bytes():
                    return
                for number in range(ROTATED_KEPT - 1, 0, -1):
                    older = self._rotated(number)
                    if older.exists():
                        os.replace(older, self._rotated(number + 1))
                os.replace(self.path, self._rotated(1))
        except (FileLockTimeout, FileNotFoundError):
            pass  # the next append tries again

    def _rotated(self, number: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{number}")

    # -- reading -------------------------------------------------------------------

    def open_line(self, line: bytes) -> LogRecord | None:
        line = line.strip()
        if not line.startswith(LINE_PREFIX):
            return None
        try:
            blob = base64.b64decode(line[len(LINE_PREFIX) :], validate=True)
        except ValueError:
            return None
        return self.opened(blob)

    def opened(self, blob: bytes) -> LogRecord | None:
        """The record sealed in ``blob``, or None if it does not open under this key."""
        try:
            plaintext = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], KEY_PURPOSE)
            data = json.loads(plaintext)
            return LogRecord.from_json(data) if isinstance(data, dict) else None
        except (InvalidTag, ValueError, TypeError):
            return None

    def read(self) -> list[LogRecord]:
        """Every record, oldest first (rotated files first)."""
        self.skipped = 0
        records: list[LogRecord] = []
        for path in [self._rotated(n) for n in range(ROTATED_KEPT, 0, -1)] + [self.path]:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            with os.fdopen(fd, "rb") as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    record = self.open_line(line)
                    if record is None:
                        self.skipped += 1
                    else:
                        records.append(record)
        return records

    def follow(self, *, interval: float = 0.5, stop: Any = None) -> Iterator[LogRecord]:
        """Records appended from now on, as they come; survives rotation. ``stop`` is an
        optional callable: when it returns true, following ends."""
        handle = self._open_at_end()
        pending = b""
        try:
            while stop is None or not stop():
                chunk = handle.read() if handle is not None else b""
                if chunk:
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        if record := self.open_line(line):
                            yield record
                    continue
                if self._replaced(handle):
                    if handle is not None:
                        handle.close()
                    handle, pending = self._open_from_start(), b""
                    continue
                time.sleep(interval)
        finally:
            if handle is not None:
                handle.close()

    def _open_at_end(self) -> Any:
        handle = self._open_from_start()
        if handle is not None:
            handle.seek(0, os.SEEK_END)
        return handle

    def _open_from_start(self) -> Any:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        return os.fdopen(fd, "rb")

    def _replaced(self, handle: Any) -> bool:
        """True when the path now names another file than the one being read."""
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return False
        if handle is None:
            return True
        with contextlib.suppress(OSError):
            mine = os.fstat(handle.fileno())
            return (mine.st_ino, mine.st_dev) != (current.st_ino, current.st_dev)
        return True


def append_to_store_log(file: StoreFile, record: LogRecord | None) -> str | None:
    """Append a record to the store's email log; a sentence when it could not be written
    (a Send test's outcome stands either way, so callers warn rather than fail)."""
    from mailstage.store.errors import MailstageError

    if record is None:
        return None
    try:
        MailLog.of_store(file).append(record)
    except (OSError, MailstageError) as exc:
        return f"The email log could not be written: {exc}"
    return None


def newest_first(
    records: list[LogRecord],
    *,
    app: str | None = None,
    stage: str | None = None,
    outcome: str | None = None,
    limit: int | None = None,
) -> list[LogRecord]:
    """Filter (app and stage ignoring case) and order newest first."""
    chosen = [
        r
        for r in reversed(records)
        if (app is None or (r.app or "").casefold() == app.casefold())
        and (stage is None or r.stage.casefold() == stage.casefold())
        and (outcome is None or r.outcome == outcome)
    ]
    return chosen[:limit] if limit is not None else chosen


def outcome_of_reply(reply: str, *, ok: bool) -> Outcome:
    """sent on success; refused for a permanent (5xx) reply; deferred otherwise."""
    if ok:
        return "sent"
    return "refused" if reply[:1] == "5" else "deferred"
