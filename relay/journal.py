"""The file queue's fast path: the relay's new entries appended to a journal, several
to one write, and to one fdatasync (group commit) when they need one.

A message the relay accepts is written once, as the bytes its entry file would hold,
into this process's journal, before its first attempt: in the page cache, it outlives
the relay (kill -9). The fdatasync that makes it outlive the machine is paid only when
the app is to hear "queued" (Journals.sync): a message upstream took at once is
delivered, and needs no copy here; one that was put durable waits for the sync that
covers it. An entry whose first attempt settles it (sent, refused) is marked done in
place (one byte written over its record's state: no allocation, so a full disk cannot
stop it); one that must wait for a retry is moved out into an entry file of its own
(relay/file_queue.py) and marked moved. So an entry that goes at once costs one write
(a share of one) and no fdatasync or thread hop, instead of a lock file, a temp file, a
rename and two fsyncs.

A journal file (``NAME.journal`` in the queue folder):

    JOURNAL_MAGIC | record | record | ...
    record: state (P pending, D done, M moved) | entry id (12 ASCII) | length (8 bytes,
            big-endian) | the entry file's bytes (encrypted: relay/file_queue.py)

Only the process that writes a journal holds its flock (from before its name appears
until it exits or the journal is deleted), and it alone attempts the journal's pending
entries: no other relay sends them. Whoever finds a journal whose flock is free (its
writer was killed) recovers it: every pending entry becomes an entry file, unless one
by that id is there already, then the journal goes. A record cut short (a writer killed
mid-write, before its fdatasync, so never answered 250) ends the reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import queue
import secrets
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mailstage.store.paths import fsync_dir
from mailstage.store.sharing import Sharing

JOURNAL_MAGIC = b"mailstage-queue-journal\x00"
JOURNAL_SUFFIX = ".journal"
RECORD = struct.Struct(">c12sQ")  # state, id, length of the entry's bytes
PENDING, DONE, MOVED = b"P", b"D", b"M"
ROTATE_BYTES = 4 * 1024 * 1024  # a journal this long takes no more entries
INLINE_BYTES = 256 * 1024  # larger entries are sealed and written in a thread


@dataclass(eq=False)
class Journal:
    """One journal this process writes (its fd holds the flock)."""

    path: Path
    fd: int
    end: int  # where the next record goes
    live: int = 0  # records pending (or being written)
    retired: bool = False  # takes no more records; deleted once none is pending


@dataclass(frozen=True)
class InJournal:
    """A lease's handle for an entry in this process's journal: where its state byte is."""

    journal: Journal
    offset: int
    id: str


@dataclass
class Record:
    offset: int  # of the state byte
    state: bytes
    id: str
    start: int  # of the entry's bytes
    length: int


@dataclass
class _Waiting:
    entry_id: str
    parts: Callable[[], list[bytes]]  # the entry's bytes, sealed when written
    future: asyncio.Future[InJournal]
    result: InJournal | None = None
    error: BaseException | None = None
    sync: bool = True  # answered after the fdatasync; else once written
    pinned: bool = False  # a later sync of a written record: its journal is kept till then


@dataclass
class Journals:
    """This process's journals, written from its event loop."""

    folder: Path
    sharing: Sharing
    fail: Callable[[OSError], BaseException]  # an OSError as the error put raises
    ensure_folder: Callable[[], None]
    _current: Journal | None = None
    _all: dict[str, Journal] = field(default_factory=dict)  # by file name
    _state: threading.Lock = field(default_factory=threading.Lock)
    _batch: list[_Waiting] = field(default_factory=list)
    _stranded: list[InJournal] = field(default_factory=list)
    # written, waiting for the syncer's fdatasync; guarded by _state
    _unsynced: list[tuple[asyncio.AbstractEventLoop, list[_Waiting]]] = field(default_factory=list)
    _syncer_busy: bool = False
    _kick: queue.SimpleQueue[None] = field(default_factory=queue.SimpleQueue)
    _syncer: threading.Thread | None = None

    def names(self) -> set[str]:
        with self._state:
            return set(self._all)

    # -- writing -----------------------------------------------------------------------

    async def append(
        self, entry_id: str, parts: Callable[[], list[bytes]], size: int, *, sync: bool = True
    ) -> InJournal:
        """The entry's bytes written and fdatasynced (``sync=False``: written, in the
        page cache, which outlives this process; ``sync`` later); raises what ``fail``
        makes.

        Entries put during one turn of the event loop are sealed and written together,
        on the loop, at its next turn (one pwritev: the page cache, microseconds); the
        fdatasync is the syncer thread's, covering everything written before it began,
        so while one sync is under way (0.1 to several ms) the next batch gathers: one
        thread wake-up and one answer to the loop per sync, not per message. An entry
        over INLINE_BYTES is sealed, written and synced in a thread of its own, so the
        loop never waits for a large message's encryption."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(entry_id, parts, loop.create_future(), sync=sync)
        if size > INLINE_BYTES:
            return await self._in_thread(waiting)
        if not self._batch:
            loop.call_soon(self._flush)
        self._batch.append(waiting)
        return await waiting.future

    def _flush(self) -> None:
        # a put cancelled meanwhile (the relay stopping) is written all the same, as the
        # email log says `queued`: nobody holds it, so it is stranded (moved out later,
        # or recovered by the next start)
        batch, self._batch = self._batch, []
        try:
            self._write_batch(batch, sync=False)
        except Exception as exc:  # unforeseen: each put hears it, none waits forever
            for waiting in batch:
                if waiting.result is None and waiting.error is None:
                    waiting.error = exc
        written = [w for w in batch if w.result is not None and w.sync]
        for waiting in batch:
            if waiting.result is None and not waiting.future.cancelled():
                waiting.future.set_exception(waiting.error or RuntimeError("not written"))
            elif waiting.result is not None and not waiting.sync:
                self._answer(waiting)
        if written:
            self._to_syncer(written)

    async def sync(self, held: InJournal) -> None:
        """A record written without its sync made durable now (with whatever else the
        next fdatasync covers); raises what ``fail`` makes. A record settled meanwhile
        (its journal gone) needs nothing."""
        with self._state:
            if held.journal.fd < 0:
                return
            held.journal.live += 1  # kept open (not deleted) until this sync is answered
        loop = asyncio.get_running_loop()
        waiting = _Waiting(held.id, list, loop.create_future(), result=held, pinned=True)
        self._to_syncer([waiting])
        await waiting.future

    def _to_syncer(self, written: list[_Waiting]) -> None:
        with self._state:
            self._unsynced.append((asyncio.get_running_loop(), written))
            idle, self._syncer_busy = not self._syncer_busy, True
        if idle:
            if self._syncer is None or not self._syncer.is_alive():
                self._syncer = threading.Thread(
                    target=self._sync_forever, name="mailstage-queue-sync", daemon=True
                )
                self._syncer.start()
            self._kick.put(None)

    def _sync_forever(self) -> None:
        while True:
            self._kick.get()
            while True:
                with self._state:
                    taken, self._unsynced = self._unsynced, []
                    if not taken:
                        self._syncer_busy = False
                        break
                journals = {w.result.journal for _, batch in taken for w in batch if w.result}
                failed: dict[Journal, OSError] = {}
                for journal in journals:
                    try:
                        os.fdatasync(journal.fd)
                    except OSError as exc:
                        failed[journal] = exc
                for loop, batch in taken:
                    for waiting in batch:
                        assert waiting.result is not None
                        if waiting.result.journal in failed:
                            waiting.error = self.fail(failed[waiting.result.journal])
                    with contextlib.suppress(RuntimeError):  # that loop is closed
                        loop.call_soon_threadsafe(self._answer_all, batch)

    def _answer_all(self, batch: list[_Waiting]) -> None:
        for waiting in batch:
            self._answer(waiting)

    async def _in_thread(self, waiting: _Waiting) -> InJournal:
        loop = asyncio.get_running_loop()

        def write() -> None:
            self._write_batch([waiting], sync=waiting.sync)
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(self._answer, waiting)

        threading.Thread(target=write, name="mailstage-queue-journal", daemon=True).start()
        return await waiting.future

    def _answer(self, waiting: _Waiting) -> None:
        if waiting.pinned:
            self._answer_sync(waiting)
            return
        if waiting.error is not None and waiting.result is not None:
            # written but its sync failed: never to be sent (the app hears 4xx)
            self.mark(waiting.result, DONE)
            self.retire(waiting.result.journal)
            waiting.result = None
        if waiting.future.cancelled():
            # nobody holds it: it stays pending here, moved out by FileQueue.due (or
            # recovered once this process is gone)
            if waiting.result is not None:
                self.strand(waiting.result)
        elif waiting.error is not None:
            waiting.future.set_exception(waiting.error)
        else:
            assert waiting.result is not None
            waiting.future.set_result(waiting.result)

    def _answer_sync(self, waiting: _Waiting) -> None:
        """A later sync answered. If it failed the record stays as it is (its holder
        settles it; it may yet be sent, never lost) and the journal takes no more."""
        assert waiting.result is not None
        journal = waiting.result.journal
        if waiting.error is not None:
            self.retire(journal)
        self._unpin(journal)
        if waiting.future.cancelled():
            return
        if waiting.error is not None:
            waiting.future.set_exception(waiting.error)
        else:
            waiting.future.set_result(waiting.result)

    def _write_batch(self, batch: list[_Waiting], *, sync: bool) -> None:
        buffers: list[bytes] = []
        placed: list[tuple[_Waiting, int]] = []  # record start, relative to the batch
        size = 0
        for waiting in batch:
            try:
                parts = waiting.parts()
            except Exception as exc:  # answered to its own put
                waiting.error = exc
                continue
            length = sum(len(part) for part in parts)
            buffers.append(RECORD.pack(PENDING, waiting.entry_id.encode("ascii"), length))
            buffers.extend(parts)
            placed.append((waiting, size))
            size += RECORD.size + length
        if not placed:
            return
        try:
            journal, start = self._reserve(size, len(placed), own=sync)
        except OSError as exc:
            for waiting, _ in placed:
                waiting.error = self.fail(exc)
            return
        try:
            _pwrite_all(journal.fd, buffers, start)
            if sync:
                os.fdatasync(journal.fd)
        except OSError as exc:
            self._failed(journal, start, len(placed))
            for waiting, _ in placed:
                waiting.error = self.fail(exc)
            return
        for waiting, at in placed:
            waiting.result = InJournal(journal, start + at, waiting.entry_id)

    def _reserve(self, size: int, count: int, *, own: bool) -> tuple[Journal, int]:
        """Room for the records: in the current journal (the loop's, its only writer),
        or (``own``: a large entry's thread) in a new journal of their own, so no two
        writers ever share one and a failed write can always be cut off."""
        with self._state:
            if own:
                alone = self._open_new()
                alone.retired = True  # deleted once its entry is settled
                alone.end += size
                alone.live += count
                return alone, JOURNAL_HEAD
            journal = self._current
            if journal is not None and journal.end >= ROTATE_BYTES:
                self._retire(journal)
                journal = None
            if journal is None:
                journal = self._current = self._open_new()
            start = journal.end
            journal.end += size
            journal.live += count
            return journal, start

    def _failed(self, journal: Journal, start: int, count: int) -> None:
        """A write that failed (a full disk): what it left is cut off again, and the
        journal takes no more (a cut that failed too would hide later records)."""
        with contextlib.suppress(OSError):
            os.ftruncate(journal.fd, start)
        with self._state:
            journal.live -= count
            journal.end = start
            self._retire(journal)

    def _open_new(self) -> Journal:
        """A new journal: made under a temp name, flocked, its head synced, then given
        its name, the folder synced (the name outlives a crash before any record is
        answered). Called with the state lock held."""
        self.ensure_folder()
        name = f"{secrets.token_hex(8)}{JOURNAL_SUFFIX}"
        temp = self.folder / f".{name}.{os.getpid()}.tmp"
        fd = os.open(
            temp,
            os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            self.sharing.file_mode,
        )
        try:
            if self.sharing.gid is not None:
                os.fchown(fd, -1, self.sharing.gid)
            os.fchmod(fd, self.sharing.file_mode)
            fcntl.flock(fd, fcntl.LOCK_EX)  # a new name: nobody else has it
            _pwrite_all(fd, [JOURNAL_MAGIC], 0)
            os.fsync(fd)
            os.rename(temp, self.folder / name)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            os.close(fd)
            raise
        journal = Journal(self.folder / name, fd, JOURNAL_HEAD)
        self._all[name] = journal
        fsync_dir(self.folder)
        return journal

    # -- settling (the event loop, or any thread) ----------------------------------------

    def mark(self, held: InJournal, state: bytes) -> None:
        """The record's state set over its P (no fsync: a killed process cannot undo
        it; a machine crash in the file system's commit interval could, one duplicate)."""
        journal = held.journal
        with self._state:
            if journal.fd < 0:
                return
            with contextlib.suppress(OSError):  # an I/O error: it is sent again, once
                os.pwrite(journal.fd, state, held.offset)
            self._one_less(journal)

    def _unpin(self, journal: Journal) -> None:
        with self._state:
            if journal.fd >= 0:
                self._one_less(journal)

    def _one_less(self, journal: Journal) -> None:
        """One record settled, or one sync answered: a retired journal goes once none is
        left. Called with the state lock held."""
        journal.live -= 1
        if journal.retired and journal.live <= 0:
            self._delete(journal)

    def strand(self, held: InJournal) -> None:
        """An entry nobody holds any more that could not be moved out: remembered for a
        later move."""
        with self._state:
            self._stranded.append(held)

    def stranded(self) -> list[InJournal]:
        with self._state:
            taken, self._stranded = self._stranded, []
            return taken

    def retire(self, journal: Journal | None = None) -> None:
        """No more records in the current journal (or this one); it goes once none is
        pending."""
        with self._state:
            journal = journal or self._current
            if journal is not None and not journal.retired:
                self._retire(journal)

    def _retire(self, journal: Journal) -> None:
        journal.retired = True
        if self._current is journal:
            self._current = None
        if journal.live <= 0:
            self._delete(journal)

    def _delete(self, journal: Journal) -> None:
        """Unlinked before the fd (and flock) goes: nobody recovers a journal whose
        every record is settled. Not fsynced (as a done mark is not)."""
        with contextlib.suppress(OSError):
            journal.path.unlink()
        os.close(journal.fd)
        journal.fd = -1
        self._all.pop(journal.path.name, None)


JOURNAL_HEAD = len(JOURNAL_MAGIC)


def _pwrite_all(fd: int, buffers: list[bytes], offset: int) -> None:
    """Every buffer written from ``offset`` on, a few system calls for many records."""
    pending = [memoryview(b) for b in buffers if b]
    while pending:
        written = os.pwritev(fd, pending[:512], offset)
        offset += written
        while pending and written >= len(pending[0]):
            written -= len(pending[0])
            pending.pop(0)
        if written and pending:
            pending[0] = pending[0][written:]


def records(fd: int) -> Iterator[Record]:
    """The journal's records in order, up to the first one cut short or malformed."""
    size = os.fstat(fd).st_size
    if os.pread(fd, JOURNAL_HEAD, 0) != JOURNAL_MAGIC:
        return
    at = JOURNAL_HEAD
    while at + RECORD.size <= size:
        state, raw_id, length = RECORD.unpack(os.pread(fd, RECORD.size, at))
        start = at + RECORD.size
        if state not in (PENDING, DONE, MOVED) or start + length > size:
            return
        try:
            entry_id = raw_id.decode("ascii")
        except UnicodeDecodeError:
            return
        yield Record(at, state, entry_id, start, length)
        at = start + length


def foreign_journals(folder: Path, ours: set[str]) -> list[Path]:
    """The journals in the folder that this process does not write."""
    try:
        listing = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    return [
        Path(item.path)
        for item in listing
        if item.name.endswith(JOURNAL_SUFFIX) and item.name not in ours
    ]


def open_locked(path: Path) -> tuple[int, bool] | None:
    """The journal opened, and whether its flock was free (its writer is gone: the fd
    now holds it, for recovery); None when it is gone already. A journal deleted between
    the open and the flock is treated as gone."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return fd, False
    except BaseException:
        os.close(fd)
        raise
    try:
        same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except OSError:
        same = False
    if not same:
        os.close(fd)
        return None
    return fd, True
