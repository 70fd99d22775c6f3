"""The relay's durable queue: a message the relay answered 250 for stays here until it
is delivered, refused for good, expired or deleted.

`RelayQueue` is the interface the relay, the delivery worker, the CLI and the Queue
screen use, with the types they share; `open_queue` is the one place that picks the
implementation: relay/file_queue.py's `FileQueue` (one encrypted file per entry in a
folder beside the store) or relay/pg_queue.py's `PostgresQueue` (a table of a
PostgreSQL store, issue 18). Nothing else knows where entries live.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mailstage.store.errors import MailstageError
from mailstage.store.filestore import StoreFile

CHANGE_WAIT = 5.0  # `mailstage queue hold` waits this long for a relay that is sending

State = Literal["queued", "held", "sending"]
STATES: tuple[State, ...] = ("queued", "held", "sending")


class QueueWriteFailed(MailstageError):
    """An entry could not be written durably: nothing was claimed. ``full`` when the
    disk (or quota) is full, which the relay answers with 452 4.3.1."""

    exit_code = 5

    def __init__(self, message: str, *, full: bool = False) -> None:
        super().__init__(message)
        self.full = full


class EntryBusy(MailstageError):
    """Another process is sending the entry right now (exit 6: try again)."""

    exit_code = 6


class EntryMissing(MailstageError):
    """No such entry (delivered, deleted, or never there): exit 3."""

    exit_code = 3


@dataclass
class QueueEntry:
    """One message the relay owns, with the routing decided when it was accepted."""

    stage: str
    app: str | None
    message: bytes  # as it goes upstream (routing applied, From/Date/Message-ID added)
    recipients: list[str]  # the routed upstream envelope, in order
    original: list[str] = field(default_factory=list)  # what the app asked for
    redirected: bool = False
    # False while routing could not be decided (no configuration yet, an active but
    # empty test list): ``message`` is then as the app sent it, ``recipients`` its
    # envelope, and the first attempt that can route it decides, once
    routed: bool = True
    message_id: str = ""
    subject: str = ""
    peer: str = ""
    smtputf8: bool = False
    eight_bit: bool = False
    id: str = field(default_factory=lambda: new_entry_id())
    queued_at: float = field(default_factory=time.time)
    next_attempt: float = 0.0
    attempts: int = 0
    held: bool = False
    last_reply: str = ""
    accepted: list[str] = field(default_factory=list)  # recipients upstream took
    refused: dict[str, str] = field(default_factory=dict)  # for good, with upstream's words

    def __repr__(self) -> str:  # no addresses, no subject
        return f"QueueEntry(id={self.id!r}, stage={self.stage!r}, attempts={self.attempts})"

    @property
    def pending(self) -> list[str]:
        """The recipients still to deliver to: never one that accepted or refused."""
        settled = set(self.accepted) | set(self.refused)
        return [r for r in self.recipients if r not in settled]


@dataclass(frozen=True)
class QueueItem:
    """An entry as `queue list` and the Queue screen show it (no body)."""

    id: str
    stage: str
    app: str | None
    subject: str
    recipients: list[str]
    queued_at: float
    attempts: int
    next_attempt: float
    last_reply: str
    state: State

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def new_entry_id() -> str:
    return secrets.token_hex(6)


def is_entry_id(text: str) -> bool:
    return len(text) == 12 and all(ch in "0123456789abcdef" for ch in text)


class Lease:
    """An entry held by this process: only its holder delivers, defers or removes it."""

    def __init__(self, entry: QueueEntry, handle: Any = None) -> None:
        self.entry = entry
        self.handle = handle  # the implementation's own (a lock fd, a transaction)

    def __repr__(self) -> str:
        return f"Lease({self.entry.id!r})"


class RelayQueue(ABC):
    """What the relay needs from a queue. Implementations: FileQueue (relay/file_queue.py),
    PostgresQueue (relay/pg_queue.py)."""

    @abstractmethod
    def put(self, entry: QueueEntry) -> Lease:
        """Write the entry durably, held by the caller for its first attempt. Raises
        QueueWriteFailed (nothing is claimed then)."""

    @abstractmethod
    def due(self, stage: str, now: float | None = None) -> list[str]:
        """Ids of the stage's entries due for an attempt (not held), oldest first."""

    @abstractmethod
    def lease(self, entry_id: str, *, wait: float = 0.0) -> Lease | None:
        """Hold the entry; None when it is gone. Raises EntryBusy when another holder
        keeps it past ``wait`` seconds."""

    async def put_async(self, entry: QueueEntry, *, durable: bool = True) -> Lease:
        """put, for the event loop (the relay's): an implementation may write several
        entries at once; this one runs put in a thread. With ``durable=False`` the
        entry need only outlive this process (a kill -9), not the machine, until
        ``make_durable``: the relay's first attempt goes at once, and the sync is
        paid only by a message the app is told is queued (one that went upstream at
        once no longer needs the relay's copy). This one is always durable."""
        return await asyncio.to_thread(self.put, entry)

    async def make_durable(self, lease: Lease) -> None:
        """The entry put with ``durable=False`` made to outlive a machine crash; raises
        QueueWriteFailed when it cannot be (the entry stays with its holder: it may
        still be sent, it is never dropped)."""
        return None

    async def done_async(self, lease: Lease) -> None:
        await asyncio.to_thread(self.done, lease)

    def close(self) -> None:
        """The relay is stopping: nothing more will be put (nothing to do here)."""
        return None

    def try_lease(self, entry_id: str) -> Lease | None:
        """A lease, or None when the entry is gone or another process holds it."""
        try:
            return self.lease(entry_id)
        except EntryBusy:
            return None

    @abstractmethod
    def done(self, lease: Lease) -> None:
        """The entry is finished (delivered, refused, expired, deleted): remove it."""

    @abstractmethod
    def defer(self, lease: Lease) -> None:
        """Write the leased entry back as it is now (attempts, next attempt, results)
        and let go of it."""

    @abstractmethod
    def unlock(self, lease: Lease) -> None:
        """Let go of the entry without changing it."""

    @abstractmethod
    def items(self, stage: str | None = None) -> list[QueueItem]:
        """Every entry (of one stage), oldest first, with its state."""

    @abstractmethod
    def remove_leftovers(self) -> None:
        """Tidy what a killed process left behind (a database has nothing to do)."""

    # -- steering, built on the above (the same for every implementation) ------------

    # ``wait``: how long to wait for a relay that is sending the entry (a screen passes 0)

    def hold(self, entry_id: str, *, wait: float = CHANGE_WAIT) -> QueueEntry:
        return self._change(entry_id, lambda e: setattr(e, "held", True), wait)

    def release(self, entry_id: str, *, wait: float = CHANGE_WAIT) -> QueueEntry:
        return self._change(entry_id, lambda e: setattr(e, "held", False), wait)

    def retry(self, entry_id: str, *, wait: float = CHANGE_WAIT) -> QueueEntry:
        """Due at once (a running relay picks it up within a second); held stays held."""
        return self._change(entry_id, lambda e: setattr(e, "next_attempt", time.time()), wait)

    def delete(self, entry_id: str, *, wait: float = CHANGE_WAIT) -> QueueEntry:
        lease = self.lease_for_change(entry_id, wait)
        self.done(lease)
        return lease.entry

    def list(self, stage: str | None = None) -> list[QueueItem]:
        return self.items(stage)

    def _change(self, entry_id: str, change: Any, wait: float) -> QueueEntry:
        lease = self.lease_for_change(entry_id, wait)
        try:
            change(lease.entry)
        except BaseException:
            self.unlock(lease)
            raise
        self.defer(lease)
        return lease.entry

    def lease_for_change(self, entry_id: str, wait: float = CHANGE_WAIT) -> Lease:
        """The entry, waiting up to ``wait`` s for a relay that is sending it; EntryMissing
        when it is not in the queue, EntryBusy when the relay keeps it longer."""
        lease = self.lease(entry_id, wait=wait) if is_entry_id(entry_id) else None
        if lease is None:
            raise EntryMissing(
                f"Queue entry (id) {entry_id!r} is not in the queue: it was delivered, "
                f"refused, expired or deleted (see `mailstage queue list`)."
            )
        return lease


def open_queue(file: StoreFile) -> RelayQueue:
    """The store's queue: the one place that picks the implementation (files beside a
    store file; the table `mailstage_queue` of a PostgreSQL store)."""
    if file.locations.database is not None:
        from mailstage.relay.pg_queue import PostgresQueue

        return PostgresQueue.of_store(file)
    from mailstage.relay.file_queue import FileQueue

    return FileQueue.of_store(file)
