"""The file implementation of the relay's queue: one encrypted file per entry in a
folder beside the store.

An entry file, written to a temp file, fsynced, renamed into place, folder fsynced:

    MAGIC | header length (4 bytes, big-endian) | header JSON | meta ciphertext | body ciphertext

The header holds only what scheduling needs (id, stage, times, attempts, held) and
the nonces; it is the associated data of the meta part (envelope, recipients, subject,
per-recipient results: AES-256-GCM under a key derived from the store's data key), so
no header field changes unnoticed. The body (the message as it goes upstream) is
sealed bound to the entry's id and pinned by the tag the header lists; a rewrite
(another attempt) seals it again under a new nonce, so no ciphertext stays in memory
meanwhile (a 25 MiB message would hold 25 MiB more). Nothing of subject, addresses or
body is readable on disk.

Leasing: an entry is sent by the one process holding the exclusive flock on its lock
file (`ID.lock`); a lease is taken without waiting, then the entry is checked to
exist still, so several relays for one stage never send one entry twice. The lock
file is removed only after the entry: whoever locks a lock file whose entry is gone
finds nothing to send.

The relay's own new entries (`put_async`) go to its journal first (relay/journal.py:
the same bytes, several to one write, and to one fdatasync when it is needed), leased
by the journal's flock; those that wait for a retry are moved out into entry files,
and a killed relay's journal becomes entry files in the hands of whoever finds it next
(a relay, `queue list`). While an entry is in a live journal, `queue list` shows it
`sending` and a change waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import os
import secrets
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mailstage.relay.journal import (
    DONE,
    MOVED,
    PENDING,
    RECORD,
    InJournal,
    Journals,
    foreign_journals,
    open_locked,
    records,
)
from mailstage.relay.queue import (
    EntryBusy,
    Lease,
    QueueEntry,
    QueueItem,
    QueueWriteFailed,
    RelayQueue,
    State,
    is_entry_id,
)
from mailstage.store.errors import file_system_reason
from mailstage.store.filestore import StoreFile
from mailstage.store.paths import create_store_file, ensure_store_dir, fsync_dir
from mailstage.store.sharing import Sharing, sharing_of

KEY_PURPOSE = b"mailstage-queue-v1"
MAGIC = b"mailstage-queue\x00"
LENGTH = struct.Struct(">I")
NONCE = 12
TAG = 16
BODY_AAD = b"mailstage-queue-body:"
MAX_HEADER = 64 * 1024
HEAD_READ = 2048
ENTRY_SUFFIX = ".entry"
LOCK_SUFFIX = ".lock"
DAMAGED_SUFFIX = ".damaged"
STALE_TEMP_SECONDS = 600.0
LEASE_POLL = 0.05


def queue_path(store: Path) -> Path:
    """``queue/`` beside the default ``store.json``; ``NAME.queue/`` beside another."""
    if store.name == "store.json":
        return store.with_name("queue")
    return store.with_name(f"{store.stem}.queue")


@dataclass
class _Header:
    id: str
    stage: str
    queued_at: float
    next_attempt: float
    attempts: int
    held: bool
    meta: tuple[bytes, int]  # nonce, ciphertext length
    body: tuple[bytes, int, bytes]  # nonce, ciphertext length, tag

    def as_json(self) -> dict[str, Any]:
        import base64

        def b64(raw: bytes) -> str:
            return base64.b64encode(raw).decode("ascii")

        return {
            "format": "mailstage-queue",
            "version": 1,
            "id": self.id,
            "stage": self.stage,
            "queued_at": self.queued_at,
            "next_attempt": self.next_attempt,
            "attempts": self.attempts,
            "held": self.held,
            "meta": [b64(self.meta[0]), self.meta[1]],
            "body": [b64(self.body[0]), self.body[1], b64(self.body[2])],
        }

    @classmethod
    def from_json(cls, data: Any) -> _Header:
        import base64

        if not isinstance(data, dict) or data.get("format") != "mailstage-queue":
            raise ValueError("not a queue entry")
        if data.get("version") != 1:
            raise ValueError("unknown version")
        meta, body = data["meta"], data["body"]
        return cls(
            id=str(data["id"]),
            stage=str(data["stage"]),
            queued_at=float(data["queued_at"]),
            next_attempt=float(data["next_attempt"]),
            attempts=int(data["attempts"]),
            held=bool(data["held"]),
            meta=(base64.b64decode(meta[0], validate=True), int(meta[1])),
            body=(
                base64.b64decode(body[0], validate=True),
                int(body[1]),
                base64.b64decode(body[2], validate=True),
            ),
        )


def _prefix(header: _Header) -> bytes:
    body = json.dumps(header.as_json(), separators=(",", ":")).encode("ascii")
    return MAGIC + LENGTH.pack(len(body)) + body


_META_FIELDS = (
    "app", "original", "recipients", "redirected", "message_id", "subject", "peer",
    "smtputf8", "eight_bit", "last_reply", "accepted", "refused", "routed",
)  # fmt: skip


class FileQueue(RelayQueue):
    """One encrypted file per entry in a folder beside the store (store/paths.py's
    modes: 0700/0600, or the team's 2770/0660 and group)."""

    def __init__(self, folder: Path, key: bytes, sharing: Sharing) -> None:
        self.folder = folder
        self.sharing = sharing
        self._aead = AESGCM(key)
        self._headers: dict[
            tuple[str, int], _Header
        ] = {}  # by (name, inode): a rewrite is a new inode
        self.damaged = 0  # entries set aside because they did not decrypt
        self._counting = threading.Lock()
        self._syncing = threading.Lock()
        self._renamed = 0  # renames into the folder so far (this process)
        self._synced = 0  # renames known durable
        self._journals = Journals(folder, sharing, _write_failed, self._ensure_folder)

    @classmethod
    def of_store(cls, file: StoreFile) -> FileQueue:
        store = file.locations.store
        return cls(queue_path(store), file.derived_key(KEY_PURPOSE), sharing_of(store.parent))

    def __repr__(self) -> str:
        return f"FileQueue({str(self.folder)!r})"

    # -- paths --------------------------------------------------------------------

    def _entry(self, entry_id: str) -> Path:
        return self.folder / f"{entry_id}{ENTRY_SUFFIX}"

    def _lock(self, entry_id: str) -> Path:
        return self.folder / f"{entry_id}{LOCK_SUFFIX}"

    def _ensure_folder(self) -> None:
        if not self.folder.is_dir():
            ensure_store_dir(self.folder, self.sharing)

    # -- writing ------------------------------------------------------------------

    def _seal_body(self, entry: QueueEntry) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE)
        return nonce, self._aead.encrypt(nonce, entry.message, BODY_AAD + entry.id.encode())

    def _blob(self, entry: QueueEntry, body: tuple[bytes, bytes]) -> list[bytes]:
        meta_plain = json.dumps(
            {name: getattr(entry, name) for name in _META_FIELDS}, ensure_ascii=False
        ).encode("utf-8", "replace")
        meta_nonce = os.urandom(NONCE)
        body_nonce, body_ct = body
        header = _Header(
            id=entry.id,
            stage=entry.stage,
            queued_at=entry.queued_at,
            next_attempt=entry.next_attempt,
            attempts=entry.attempts,
            held=entry.held,
            meta=(meta_nonce, len(meta_plain) + TAG),
            body=(body_nonce, len(body_ct), body_ct[-TAG:]),
        )
        prefix = _prefix(header)
        return [prefix, self._aead.encrypt(meta_nonce, meta_plain, prefix), body_ct]

    def _write(self, entry: QueueEntry, body: tuple[bytes, bytes]) -> None:
        temp = self.folder / f".{entry.id}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            create_store_file(temp, self._blob(entry, body), self.sharing)
            os.replace(temp, self._entry(entry.id))
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise _write_failed(exc) from None
        try:
            self._sync_folder()
        except OSError as exc:
            raise _write_failed(exc) from None

    def _sync_folder(self) -> None:
        """fsync the folder, grouped: writers that renamed while another writer's fsync
        was under way are covered by the next one, so 8 concurrent puts cost about two
        folder fsyncs, not eight."""
        with self._counting:
            self._renamed += 1
            ticket = self._renamed
        with self._syncing:
            if self._synced >= ticket:
                return  # an fsync that began after this rename has finished
            with self._counting:
                covered = self._renamed
            fsync_dir(self.folder)
            self._synced = covered

    def _open_lock(self, entry_id: str, *, create: bool) -> int:
        flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
        if create:
            fd = os.open(
                self._lock(entry_id), flags | os.O_CREAT | os.O_EXCL, self.sharing.file_mode
            )
            try:
                if self.sharing.gid is not None:
                    os.fchown(fd, -1, self.sharing.gid)
                os.fchmod(fd, self.sharing.file_mode)
            except BaseException:
                os.close(fd)
                raise
            return fd
        try:
            return os.open(self._lock(entry_id), flags)
        except FileNotFoundError:
            # an entry whose lock file is gone (removed by hand): make one again
            return os.open(self._lock(entry_id), flags | os.O_CREAT, self.sharing.file_mode)

    def put(self, entry: QueueEntry) -> Lease:
        try:
            self._ensure_folder()
            fd = self._open_lock(entry.id, create=True)
        except OSError as exc:
            raise _write_failed(exc) from None
        fcntl.flock(fd, fcntl.LOCK_EX)  # a new, unique name: nobody else holds it
        body = self._seal_body(entry)
        try:
            self._write(entry, body)
        except BaseException:
            with contextlib.suppress(OSError):
                self._lock(entry.id).unlink()
            os.close(fd)
            raise
        return Lease(entry, _Held(fd))

    async def put_async(self, entry: QueueEntry, *, durable: bool = True) -> Lease:
        """The relay's put: into this process's journal (in the page cache: it outlives
        the process), and, when ``durable``, past the fdatasync that covers it and the
        entries written with it."""
        held = await self._journals.append(
            entry.id,
            lambda: self._blob(entry, self._seal_body(entry)),
            len(entry.message),
            sync=durable,
        )
        return Lease(entry, held)

    async def make_durable(self, lease: Lease) -> None:
        if isinstance(lease.handle, InJournal):
            await self._journals.sync(lease.handle)

    async def done_async(self, lease: Lease) -> None:
        if isinstance(lease.handle, InJournal):
            self.done(lease)  # one byte written in place: no thread needed
        else:
            await asyncio.to_thread(self.done, lease)

    def close(self) -> None:
        self._journals.retire()

    def defer(self, lease: Lease) -> None:
        if isinstance(lease.handle, InJournal):  # out of the journal into a file of its own
            self._write(lease.entry, self._seal_body(lease.entry))
            self._journals.mark(lease.handle, MOVED)
            return
        held = _held(lease)
        try:
            self._write(lease.entry, self._seal_body(lease.entry))
        finally:
            self._let_go(held)

    def unlock(self, lease: Lease) -> None:
        if isinstance(lease.handle, InJournal):  # as it was written, into a file
            try:
                self._move_out(lease.handle)
            except (OSError, QueueWriteFailed):
                self._journals.strand(lease.handle)  # moved later, or recovered
            return
        self._let_go(_held(lease))

    def done(self, lease: Lease) -> None:
        if isinstance(lease.handle, InJournal):
            self._journals.mark(lease.handle, DONE)
            return
        held = _held(lease)
        entry_id = lease.entry.id
        try:
            # A killed relay never finds an unlinked entry again (the kernel has the
            # unlink at once); no folder fsync here: only a machine crash within the
            # file system's commit interval (ext4: 5 s) could bring it back, as one
            # duplicate. That saves one of the two fsyncs each message costs.
            with contextlib.suppress(FileNotFoundError):
                self._entry(entry_id).unlink()
            with contextlib.suppress(FileNotFoundError):
                self._lock(entry_id).unlink()
        finally:
            self._let_go(held)

    @staticmethod
    def _let_go(held: _Held) -> None:
        if held.fd >= 0:
            os.close(held.fd)  # closing the descriptor drops the flock
            held.fd = -1

    # -- leasing ------------------------------------------------------------------

    def lease(self, entry_id: str, *, wait: float = 0.0) -> Lease | None:
        if not is_entry_id(entry_id):
            return None
        deadline = time.monotonic() + wait
        while not self._entry(entry_id).exists():
            # in a live journal: its relay is sending it (a dead one's: recovered now)
            if not self._in_live_journal(entry_id):
                if self._entry(entry_id).exists():
                    break
                return None
            if time.monotonic() >= deadline:
                raise EntryBusy(
                    f"Queue entry {entry_id} is being sent right now; try again in a moment."
                )
            time.sleep(LEASE_POLL)
        try:
            fd = self._open_lock(entry_id, create=False)
        except FileNotFoundError:
            return None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise EntryBusy(
                        f"Queue entry {entry_id} is being sent right now; try again in a moment."
                    ) from None
                time.sleep(LEASE_POLL)
        try:
            entry, _ = self._read(entry_id)
        except FileNotFoundError:  # finished by its last holder meanwhile
            with contextlib.suppress(OSError):
                self._lock(entry_id).unlink()
            os.close(fd)
            return None
        except ValueError:
            self._set_aside(entry_id)
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return Lease(entry, _Held(fd))

    def _set_aside(self, entry_id: str) -> None:
        """An entry that does not decrypt (another store's key, changed on disk) is
        renamed ID.damaged, so no relay tries it again and nothing is lost silently."""
        self.damaged += 1
        with contextlib.suppress(OSError):
            os.replace(self._entry(entry_id), self.folder / f"{entry_id}{DAMAGED_SUFFIX}")

    # -- journals -----------------------------------------------------------------

    def _move_out(self, held: InJournal) -> None:
        """An entry of this process's journal into an entry file, its bytes as written."""
        fd = held.journal.fd
        _, _, length = RECORD.unpack(os.pread(fd, RECORD.size, held.offset))
        raw = os.pread(fd, length, held.offset + RECORD.size)
        try:
            self._place(held.id, raw)
            self._sync_folder()
        except OSError as exc:
            raise _write_failed(exc) from None
        self._journals.mark(held, MOVED)

    def _place(self, entry_id: str, raw: bytes) -> None:
        """An entry file with these bytes, unless one by that id is there already (moved
        out before, maybe updated since: never replaced by an older copy)."""
        temp = self.folder / f".{entry_id}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        create_store_file(temp, [raw], self.sharing)
        try:
            os.link(temp, self._entry(entry_id))
        except FileExistsError:
            pass
        finally:
            os.unlink(temp)

    def _journal_pass(self, entry_id: str | None = None) -> list[tuple[int, list[Any]]]:
        """Recover the journals of processes that are gone; returns the live journals'
        pending records (all, or those of ``entry_id``), with their fds (the caller
        closes them). Also moves out this process's stranded entries."""
        for held in self._journals.stranded():
            try:
                self._move_out(held)
            except (OSError, QueueWriteFailed):
                self._journals.strand(held)
        live: list[tuple[int, list[Any]]] = []
        ours = self._journals.names() if entry_id is None else set()
        for path in foreign_journals(self.folder, ours):
            opened = open_locked(path)
            if opened is None:
                continue
            fd, free = opened
            try:
                if free:
                    self._recover(path, fd)
                    os.close(fd)
                    continue
                pending = [
                    r
                    for r in records(fd)
                    if r.state == PENDING and (entry_id is None or r.id == entry_id)
                ]
            except BaseException:
                os.close(fd)
                raise
            if pending:
                live.append((fd, pending))
            else:
                os.close(fd)
        return live

    def _recover(self, path: Path, fd: int) -> None:
        """A journal whose writer is gone (``fd`` holds its flock): every pending entry
        into a file of its own, then the journal goes. Left for another time when a
        file cannot be written (a full disk)."""
        placed: list[int] = []  # state offsets of the records made files
        complete = False
        try:
            for record in records(fd):
                if record.state == PENDING and is_entry_id(record.id):
                    self._ensure_folder()
                    self._place(record.id, os.pread(fd, record.length, record.start))
                    placed.append(record.offset)
            complete = True
        except OSError:
            pass
        with contextlib.suppress(OSError):
            if placed:
                fsync_dir(self.folder)
            # marked moved: a recovery cut short never makes one of them again (it may
            # have been delivered and removed by then)
            for offset in placed:
                os.pwrite(fd, MOVED, offset)
            if complete:
                path.unlink()

    def _journal_items(self) -> list[QueueItem]:
        found: list[QueueItem] = []
        for fd, pending in self._journal_pass():
            try:
                for record in pending:
                    head = os.pread(fd, min(record.length, MAX_HEADER), record.start)
                    try:
                        header, prefix = _parse_prefix(head)
                        sealed = os.pread(fd, header.meta[1], record.start + len(prefix))
                        meta = self._open_meta(header, prefix, sealed)
                    except (OSError, ValueError):
                        continue
                    found.append(_item(header, meta, "sending"))
            finally:
                os.close(fd)
        return found

    def _in_live_journal(self, entry_id: str) -> bool:
        held = self._journal_pass(entry_id)
        for fd, _ in held:
            os.close(fd)
        return bool(held)

    # -- reading ------------------------------------------------------------------

    def _read(self, entry_id: str) -> tuple[QueueEntry, tuple[bytes, bytes]]:
        """Raises FileNotFoundError when gone, ValueError when damaged."""
        fd = os.open(self._entry(entry_id), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read()
        header, prefix = _parse_prefix(raw)
        if header.id != entry_id:
            raise ValueError("the entry's id is not its file's")
        meta_end = len(prefix) + header.meta[1]
        body_ct = raw[meta_end:]
        if len(body_ct) != header.body[1] or body_ct[-TAG:] != header.body[2]:
            raise ValueError("body does not match its header")
        try:
            meta = json.loads(
                self._aead.decrypt(header.meta[0], raw[len(prefix) : meta_end], prefix)
            )
            message = self._aead.decrypt(header.body[0], body_ct, BODY_AAD + entry_id.encode())
        except InvalidTag:
            raise ValueError("does not decrypt") from None
        entry = QueueEntry(
            stage=header.stage,
            message=message,
            id=header.id,
            queued_at=header.queued_at,
            next_attempt=header.next_attempt,
            attempts=header.attempts,
            held=header.held,
            **{name: meta[name] for name in _META_FIELDS},
        )
        return entry, (header.body[0], body_ct)

    def _scan(self) -> Iterator[_Header]:
        """The headers of every entry (read again only for files rewritten since)."""
        try:
            listing = list(os.scandir(self.folder))
        except FileNotFoundError:
            return
        seen: set[tuple[str, int]] = set()
        for item in listing:
            if not item.name.endswith(ENTRY_SUFFIX):
                continue
            cache_key = (item.name, item.inode())
            seen.add(cache_key)
            header = self._headers.get(cache_key)
            if header is None:
                try:
                    header = _read_header(Path(item.path))
                except (OSError, ValueError):
                    continue
                self._headers[cache_key] = header
            yield header
        for gone in set(self._headers) - seen:
            del self._headers[gone]

    def due(self, stage: str, now: float | None = None) -> list[str]:
        for fd, _ in self._journal_pass():
            os.close(fd)
        now = time.time() if now is None else now
        wanted = stage.casefold()
        ready = [
            h
            for h in self._scan()
            if h.stage.casefold() == wanted and not h.held and h.next_attempt <= now
        ]
        return [h.id for h in sorted(ready, key=lambda h: (h.next_attempt, h.queued_at))]

    def items(self, stage: str | None = None) -> list[QueueItem]:
        wanted = stage.casefold() if stage is not None else None
        in_journals = self._journal_items()  # first: a dead relay's become files now
        found: list[QueueItem] = []
        for header in self._scan():
            if wanted is not None and header.stage.casefold() != wanted:
                continue
            try:
                meta = self._read_meta(header.id)
            except (OSError, ValueError):
                continue
            state: State = "held" if header.held else "queued"
            if self._is_leased(header.id):
                state = "sending"
            found.append(_item(header, meta, state))
        files = {item.id for item in found}
        found += [item for item in in_journals if item.id not in files]
        return sorted(
            (i for i in found if wanted is None or i.stage.casefold() == wanted),
            key=lambda i: i.queued_at,
        )

    def _read_meta(self, entry_id: str) -> dict[str, Any]:
        fd = os.open(self._entry(entry_id), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            header, prefix = _parse_prefix(_read_prefix(handle))
            handle.seek(len(prefix))
            sealed = handle.read(header.meta[1])
        return self._open_meta(header, prefix, sealed)

    def _open_meta(self, header: _Header, prefix: bytes, sealed: bytes) -> dict[str, Any]:
        try:
            meta = json.loads(self._aead.decrypt(header.meta[0], sealed, prefix))
        except InvalidTag:
            raise ValueError("does not decrypt") from None
        if not isinstance(meta, dict):
            raise ValueError("shape")
        return meta

    def _is_leased(self, entry_id: str) -> bool:
        try:
            fd = os.open(self._lock(entry_id), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def remove_leftovers(self) -> None:
        """Temp files of writers killed long ago, lock files whose entry is gone, the
        journals of relays that are gone (their pending entries become files)."""
        for fd, _ in self._journal_pass():
            os.close(fd)
        try:
            listing = list(os.scandir(self.folder))
        except FileNotFoundError:
            return
        now = time.time()
        for item in listing:
            with contextlib.suppress(OSError):
                # only old ones: a lock file just made by another relay's put (its entry
                # not written yet) must stay, or a third relay could lock another inode
                if now - item.stat(follow_symlinks=False).st_mtime <= STALE_TEMP_SECONDS:
                    continue
                if item.name.endswith(".tmp"):
                    os.unlink(item.path)
                elif item.name.endswith(LOCK_SUFFIX):
                    entry_id = item.name[: -len(LOCK_SUFFIX)]
                    if not self._entry(entry_id).exists():
                        lease_free = not self._is_leased(entry_id)
                        if lease_free and not self._entry(entry_id).exists():
                            os.unlink(item.path)


@dataclass
class _Held:
    fd: int


def _item(header: _Header, meta: dict[str, Any], state: State) -> QueueItem:
    return QueueItem(
        id=header.id,
        stage=header.stage,
        app=meta["app"],
        subject=str(meta["subject"]),
        recipients=list(meta["recipients"]),
        queued_at=header.queued_at,
        attempts=header.attempts,
        next_attempt=header.next_attempt,
        last_reply=str(meta["last_reply"]),
        state=state,
    )


def _held(lease: Lease) -> _Held:
    if not isinstance(lease.handle, _Held):
        raise TypeError("a lease from another queue")
    return lease.handle


def _parse_prefix(raw: bytes) -> tuple[_Header, bytes]:
    if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + LENGTH.size:
        raise ValueError("not a queue entry")
    (size,) = LENGTH.unpack_from(raw, len(MAGIC))
    start = len(MAGIC) + LENGTH.size
    if size > MAX_HEADER - start or len(raw) < start + size:
        raise ValueError("header cut short")
    try:
        header = _Header.from_json(json.loads(raw[start : start + size]))
    except (KeyError, TypeError, IndexError, UnicodeDecodeError) as exc:
        raise ValueError("header shape") from exc
    return header, raw[: start + size]


def _read_header(path: Path) -> _Header:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        return _parse_prefix(_read_prefix(handle))[0]


def _read_prefix(handle: Any) -> bytes:
    """The file's first bytes, enough for its whole header (a header is ~400 bytes)."""
    head = handle.read(HEAD_READ)
    if head.startswith(MAGIC) and len(head) >= len(MAGIC) + LENGTH.size:
        (size,) = LENGTH.unpack_from(head, len(MAGIC))
        missing = len(MAGIC) + LENGTH.size + min(size, MAX_HEADER) - len(head)
        if missing > 0:
            head += handle.read(missing)
    return bytes(head)


def _write_failed(exc: OSError) -> QueueWriteFailed:
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return QueueWriteFailed(
        f"The queue entry could not be written: {file_system_reason(exc)}.", full=full
    )
