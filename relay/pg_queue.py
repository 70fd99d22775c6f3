"""The relay's queue in PostgreSQL (issue 18): the table `mailstage_queue` of a
`postgresql://` store, shared by every relay of a stage on every host.

A row is one entry. Plain columns are only what scheduling needs: the id, the stage's
tag (a keyed hash of its name, so the name itself stays out of the database), the
times, the state (``queued``, ``held``, or ``damaged`` for one that did not decrypt) and
the attempt count. The rest is sealed as the file form seals it (relay/file_queue.py):
AES-256-GCM under the key derived from the store's data key, a fresh nonce per write;
``meta`` (envelope, recipients, subject, results) is bound to the id and the stage's
tag, ``body`` (the message as it goes upstream) to the id. Nothing of a name, an
address, a subject or a body is readable in the database.

Leasing: a lease is a transaction on a connection of its own that holds the row with
`SELECT ... FOR UPDATE` (``try_lease``: ``SKIP LOCKED``) for the whole attempt; done
deletes the row and commits, defer updates it and commits, unlock rolls back. A relay
that dies (kill -9, a lost host) loses its connections, the server aborts their
transactions and the rows are free for the next relay: nothing is lost, nothing sent
twice but in the one window a file queue has too (killed between upstream's 250 and the
commit of the delete).

``put`` commits the INSERT before it returns (the app hears 250 only after that), then
takes the row on the same connection. For the moment between that commit and the row
lock the writer holds an advisory lock on the entry's id (taken with the INSERT, let go
once the row is locked), and a lease needs it too: no other relay takes the new entry
in that moment, whatever its clock says, and one killed then frees both at once.

A change that makes an entry due now (`queue retry`, `queue release`, from any host)
sends NOTIFY on QUEUE_CHANNEL with the stage's tag; relays LISTEN (store/pg_listen.py)
and look at the queue at once instead of at their next poll.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, LiteralString, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
from mailstage.store import pgstore
from mailstage.store.database_url import DatabaseUrl
from mailstage.store.errors import MailstageError
from mailstage.store.filestore import StoreFile
from mailstage.store.pg_listen import QUEUE_CHANNEL

if TYPE_CHECKING:
    import psycopg

    Connection = psycopg.Connection[tuple[Any, ...]]

T = TypeVar("T")

KEY_PURPOSE = b"mailstage-queue-v1"  # the file queue's key: an entry seals the same way
STAGE_PURPOSE = b"mailstage-queue-stage-v1"
BODY_AAD = b"mailstage-queue-body:"
META_AAD = b"mailstage-queue-meta:"
NONCE = 12
IDLE_CONNECTIONS = 8  # kept open for the next lease; more are opened when needed
# the server notices a host that vanished without closing its connections (no FIN)
# within about a minute (idle 30 s, then 3 probes 10 s apart) and aborts its
# transactions, which frees its leases
KEEPALIVES = ("30", "10", "3")

# every field of an entry that is not a plain column (nor the body) is sealed in meta
_COLUMNS = frozenset({"id", "message", "queued_at", "next_attempt", "attempts", "held"})
_META = tuple(f.name for f in dataclasses.fields(QueueEntry) if f.name not in _COLUMNS)
_REQUIRED = tuple(  # the sealed fields without a default (stage, app, recipients)
    f.name
    for f in dataclasses.fields(QueueEntry)
    if f.name in _META
    and f.default is dataclasses.MISSING
    and f.default_factory is dataclasses.MISSING
)


class QueueUnreachable(MailstageError, OSError):
    """The worker could not look at the queue (the server is gone for now): an OSError,
    as the delivery worker expects of a queue it cannot read, so it says so and tries
    again at its next poll instead of stopping."""

    exit_code = 5


@contextmanager
def _worker_reading() -> Iterator[None]:
    try:
        yield
    except QueueUnreachable:
        raise
    except MailstageError as exc:
        raise QueueUnreachable(exc.message) from None


class _Held:
    """A lease's transaction: its connection, and the message as read (a body that did
    not change is not sealed and written again)."""

    def __init__(self, connection: psycopg.Connection[tuple[Any, ...]], message: bytes) -> None:
        self.connection: psycopg.Connection[tuple[Any, ...]] | None = connection
        self.message = message


class PostgresQueue(RelayQueue):
    def __init__(self, url: DatabaseUrl, key: bytes, stage_key: bytes) -> None:
        self.url = url
        self._aead = AESGCM(key)
        self._stage_key = stage_key
        self._idle: list[psycopg.Connection[tuple[Any, ...]]] = []
        self._pool_lock = threading.Lock()
        self.damaged = 0  # entries set aside because they did not decrypt

    @classmethod
    def of_store(cls, file: StoreFile) -> PostgresQueue:
        database = file.locations.database
        assert database is not None
        return cls(database, file.derived_key(KEY_PURPOSE), file.derived_key(STAGE_PURPOSE))

    def __repr__(self) -> str:
        return f"PostgresQueue({self.url.shown!r})"

    def __str__(self) -> str:
        return f"in {self.url.where} (table mailstage_queue)"

    def stage_tag(self, stage: str) -> str:
        """The stage as the table knows it: a keyed hash of its name, case-folded (stages
        match without regard to case), so rows of one stage are found without the name."""
        digest = hmac.new(self._stage_key, stage.casefold().encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:32]

    # -- connections -----------------------------------------------------------------

    def _take(self) -> tuple[psycopg.Connection[tuple[Any, ...]], bool]:
        """An idle connection (True: reused), else a new one."""
        with self._pool_lock:
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection, True
        connection = pgstore.connect(self.url)
        with pgstore.translated(self.url, "open the queue"):
            connection.execute(
                "SELECT set_config('tcp_keepalives_idle', %s, false), "
                "set_config('tcp_keepalives_interval', %s, false), "
                "set_config('tcp_keepalives_count', %s, false)",
                KEEPALIVES,
            )
        connection.autocommit = False  # a lease is a transaction that outlives a call
        return connection, False

    def _give(self, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        """Back to the idle ones, or closed (broken, still in a transaction, too many)."""
        import psycopg

        idle = psycopg.pq.TransactionStatus.IDLE
        if connection.closed or connection.info.transaction_status != idle:
            connection.close()
            return
        with self._pool_lock:
            if len(self._idle) < IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            _abandon(connection)

    def _run(
        self, doing: str, work: Callable[[Connection], T], *, keep: bool = False
    ) -> tuple[T, Connection]:
        """``work`` in a transaction on a connection of the pool: committed and the
        connection given back, or (``keep``) left open, the connection the caller's (a
        lease). Database errors come out as sentences. An idle connection found lost
        (the server restarted, or failed over) is replaced once, with every other idle
        one: ``work`` must be safe to run again when it did not commit."""
        for again in (False, True):
            connection, reused = self._take()
            try:
                with pgstore.translated(self.url, doing):
                    result = work(connection)
                    if not keep:
                        connection.commit()
            except pgstore.DatabaseUnreachable:
                _abandon(connection)
                if reused and not again:
                    self.close()
                    continue
                raise
            except BaseException:
                _abandon(connection)
                raise
            if not keep:
                self._give(connection)
            return result, connection
        raise AssertionError("unreachable")

    # -- sealing ---------------------------------------------------------------------

    def _seal(self, plain: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._aead.encrypt(nonce, plain, aad)

    def _open(self, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < NONCE:
            raise ValueError("cut short")
        try:
            return self._aead.decrypt(sealed[:NONCE], sealed[NONCE:], aad)
        except InvalidTag:
            raise ValueError("does not decrypt") from None

    def _meta_aad(self, entry_id: str, tag: str) -> bytes:
        return META_AAD + f"{entry_id}:{tag}".encode("ascii")

    def _sealed_meta(self, entry: QueueEntry, tag: str) -> bytes:
        plain = json.dumps({name: getattr(entry, name) for name in _META}, ensure_ascii=False)
        return self._seal(plain.encode("utf-8", "replace"), self._meta_aad(entry.id, tag))

    def _sealed_body(self, entry: QueueEntry) -> bytes:
        return self._seal(entry.message, BODY_AAD + entry.id.encode("ascii"))

    def _meta_of(self, entry_id: str, tag: str, sealed: bytes) -> dict[str, Any]:
        """The sealed fields an entry has (one written before a field was added to
        QueueEntry gets that field's default; one this mailstage does not know is left)."""
        meta = json.loads(self._open(sealed, self._meta_aad(entry_id, tag)))
        if not isinstance(meta, dict) or any(name not in meta for name in _REQUIRED):
            raise ValueError("shape")
        return {name: meta[name] for name in _META if name in meta}

    # -- writing ---------------------------------------------------------------------

    def put(self, entry: QueueEntry) -> Lease:
        tag = self.stage_tag(entry.stage)
        meta, body = self._sealed_meta(entry, tag), self._sealed_body(entry)
        tries = [0]

        def insert(connection: Connection) -> bool:
            tries[0] += 1
            # a second try may find the row its first one committed before the
            # connection was lost (ids are random: nobody else's). One round trip: the
            # server runs these in order, and none after an error
            with connection.pipeline():
                inserted = connection.execute(
                    "WITH claim AS (SELECT pg_advisory_lock(%s)) "
                    "INSERT INTO mailstage_queue (id, stage_tag, queued_at, next_attempt, "
                    "attempts, state, meta, body) SELECT %s, %s, %s, %s, %s, %s, %s, %s "
                    "FROM claim ON CONFLICT (id) DO NOTHING RETURNING 1",
                    (
                        _advisory(entry.id), entry.id, tag, entry.queued_at,
                        entry.next_attempt, entry.attempts,
                        "held" if entry.held else "queued", meta, body,
                    ),
                )  # fmt: skip
                connection.commit()  # durable before the app hears 250
                connection.execute(
                    "SELECT 1 FROM mailstage_queue WHERE id = %s FOR UPDATE", (entry.id,)
                )
                connection.execute("SELECT pg_advisory_unlock(%s)", (_advisory(entry.id),))
            if inserted.fetchone() is None and tries[0] == 1:  # nothing written, and the
                connection.rollback()  # row locked is another entry's: let go of it
                raise QueueWriteFailed(
                    f"Queue entry {entry.id} already exists in the table; nothing was written."
                )
            return True

        try:
            _, connection = self._run("write the queue entry", insert, keep=True)
        except QueueWriteFailed:
            raise
        except MailstageError as exc:
            raise _write_failed(exc) from None
        return Lease(entry, _Held(connection, entry.message))

    def defer(self, lease: Lease) -> None:
        entry = lease.entry
        tag = self.stage_tag(entry.stage)
        body = None if entry.message is _held(lease).message else self._sealed_body(entry)
        due_now = not entry.held and entry.next_attempt <= time.time()
        with self._ending(lease, "update the queue entry") as connection:
            connection.execute(
                "UPDATE mailstage_queue SET next_attempt = %s, attempts = %s, state = %s, "
                "meta = %s, body = coalesce(%s, body) WHERE id = %s",
                (
                    entry.next_attempt, entry.attempts, "held" if entry.held else "queued",
                    self._sealed_meta(entry, tag), body, entry.id,
                ),
            )  # fmt: skip
            if due_now:  # `queue retry` / `release`: relays look at once
                connection.execute("SELECT pg_notify(%s, %s)", (QUEUE_CHANNEL, tag))

    def done(self, lease: Lease) -> None:
        # as the file queue's unlink is not fsynced, the commit does not wait for the WAL
        # flush: only a server crash within that moment could bring it back (one copy
        # more); a killed relay never does. That saves one of the two flushes a message costs
        with self._ending(lease, "remove the queue entry") as connection:
            connection.execute(
                "WITH gone AS (DELETE FROM mailstage_queue WHERE id = %s) "
                "SELECT set_config('synchronous_commit', 'off', true)",
                (lease.entry.id,),
            )

    @contextmanager
    def _ending(self, lease: Lease, doing: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """The lease's transaction, committed at the end and let go; on a failure its
        connection is closed (the server rolls back) and QueueWriteFailed raised."""
        held = _held(lease)
        assert held.connection is not None
        try:
            with pgstore.translated(self.url, doing), held.connection.pipeline():
                yield held.connection  # its statements and the commit: one round trip
                held.connection.commit()
        except MailstageError as exc:
            self._let_go(held, failed=True)
            raise _write_failed(exc) from None
        except BaseException:
            self._let_go(held, failed=True)
            raise
        self._let_go(held)

    def unlock(self, lease: Lease) -> None:
        held = _held(lease)
        if held.connection is not None:
            try:
                held.connection.rollback()
            except Exception:  # a lost connection: its transaction is gone with it
                self._let_go(held, failed=True)
                return
        self._let_go(held)

    def _let_go(self, held: _Held, *, failed: bool = False) -> None:
        connection, held.connection = held.connection, None
        if connection is None:
            return
        if failed:
            _abandon(connection)
        else:
            self._give(connection)

    # -- leasing ---------------------------------------------------------------------

    _SELECT: LiteralString = (
        "SELECT stage_tag, queued_at, next_attempt, attempts, state, meta, body "
        "FROM mailstage_queue WHERE id = %s AND state <> 'damaged' "
    )

    def lease(self, entry_id: str, *, wait: float = 0.0) -> Lease | None:
        """Waits up to ``wait`` s for another holder (the server's lock_timeout), else
        EntryBusy."""
        from psycopg import errors

        if not is_entry_id(entry_id):
            return None

        def take(connection: Connection) -> tuple[bool, tuple[Any, ...] | None]:
            """(busy, the row)"""
            try:
                if wait <= 0:
                    claimed = connection.execute(
                        "SELECT pg_try_advisory_xact_lock(%s)", (_advisory(entry_id),)
                    ).fetchone()
                    if not claimed or not claimed[0]:  # a put's moment before its row lock
                        connection.rollback()
                        return True, None
                    row = connection.execute(self._SELECT + "FOR UPDATE NOWAIT", (entry_id,))
                    return False, row.fetchone()
                connection.execute(
                    "SELECT set_config('lock_timeout', %s, true)",
                    (f"{max(1, int(wait * 1000))}ms",),
                )
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (_advisory(entry_id),))
                return False, connection.execute(
                    self._SELECT + "FOR UPDATE", (entry_id,)
                ).fetchone()
            except errors.LockNotAvailable:
                connection.rollback()
                return True, None

        (busy, found), connection = self._run("read the queue", take, keep=True)
        if busy:
            self._give(connection)
            raise EntryBusy(
                f"Queue entry {entry_id} is being sent right now; try again in a moment."
            )
        return self._leased(connection, entry_id, found)

    def try_lease(self, entry_id: str) -> Lease | None:
        if not is_entry_id(entry_id):
            return None

        def take(connection: Connection) -> tuple[Any, ...] | None:
            row = connection.execute(
                "SELECT stage_tag, queued_at, next_attempt, attempts, state, meta, body, "
                "pg_try_advisory_xact_lock(%s) FROM mailstage_queue "
                "WHERE id = %s AND state <> 'damaged' FOR UPDATE SKIP LOCKED",
                (_advisory(entry_id), entry_id),
            ).fetchone()
            # no row: another relay holds it, or it is gone; no advisory lock: its
            # writer is between the INSERT's commit and its row lock
            return row[:-1] if row is not None and row[-1] else None

        with _worker_reading():
            found, connection = self._run("read the queue", take, keep=True)
        return self._leased(connection, entry_id, found)

    def _leased(
        self,
        connection: psycopg.Connection[tuple[Any, ...]],
        entry_id: str,
        row: tuple[Any, ...] | None,
    ) -> Lease | None:
        if row is None:  # gone (finished meanwhile), or held by another relay
            connection.rollback()
            self._give(connection)
            return None
        tag, queued_at, next_attempt, attempts, state, meta, body = row
        try:
            fields = self._meta_of(entry_id, tag, bytes(meta))
            message = self._open(bytes(body), BODY_AAD + entry_id.encode("ascii"))
        except (ValueError, UnicodeDecodeError):
            self._set_aside(connection, entry_id)
            return None
        entry = QueueEntry(
            message=message,
            id=entry_id,
            queued_at=float(queued_at),
            next_attempt=float(next_attempt),
            attempts=int(attempts),
            held=state == "held",
            **fields,
        )
        return Lease(entry, _Held(connection, message))

    def _set_aside(self, connection: psycopg.Connection[tuple[Any, ...]], entry_id: str) -> None:
        """An entry that does not decrypt (another store's key, changed in the database)
        is marked damaged: no relay tries it again, and nothing is lost silently."""
        self.damaged += 1
        try:
            with pgstore.translated(self.url, "set the queue entry aside"):
                connection.execute(
                    "UPDATE mailstage_queue SET state = 'damaged' WHERE id = %s", (entry_id,)
                )
                connection.commit()
        except BaseException:
            _abandon(connection)
            raise
        self._give(connection)

    # -- reading ---------------------------------------------------------------------

    def due(self, stage: str, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now

        def select(connection: Connection) -> list[tuple[Any, ...]]:
            return connection.execute(
                "SELECT id FROM mailstage_queue WHERE stage_tag = %s AND state = 'queued' "
                "AND next_attempt <= %s ORDER BY next_attempt, queued_at",
                (self.stage_tag(stage), now),
            ).fetchall()

        with _worker_reading():
            rows, _ = self._run("read the queue", select)
        return [str(row[0]) for row in rows]

    def items(self, stage: str | None = None) -> list[QueueItem]:
        """Every entry, its state ``sending`` when a relay holds its row: the rows this
        transaction cannot take FOR KEY SHARE (it blocks no relay's lease for long)."""
        tag = self.stage_tag(stage) if stage is not None else None
        where: LiteralString = (
            "FROM mailstage_queue WHERE state <> 'damaged' "
            "AND (%(tag)s::text IS NULL OR stage_tag = %(tag)s)"
        )

        def select(connection: Connection) -> tuple[list[tuple[Any, ...]], set[str]]:
            rows = connection.execute(
                "SELECT id, stage_tag, queued_at, next_attempt, attempts, state, meta "
                + where
                + " ORDER BY queued_at",
                {"tag": tag},
            ).fetchall()
            free = connection.execute(
                "SELECT id " + where + " FOR KEY SHARE SKIP LOCKED", {"tag": tag}
            )
            return rows, {str(row[0]) for row in free}

        (rows, free), _ = self._run("read the queue", select)
        found = []
        for entry_id, tag, queued_at, next_attempt, attempts, column_state, sealed in rows:
            try:
                meta = self._meta_of(str(entry_id), str(tag), bytes(sealed))
            except (ValueError, UnicodeDecodeError):
                continue
            state: State = "held" if column_state == "held" else "queued"
            if entry_id not in free:
                state = "sending"
            found.append(
                QueueItem(
                    id=str(entry_id),
                    stage=str(meta["stage"]),
                    app=meta["app"],
                    subject=str(meta.get("subject", "")),
                    recipients=list(meta["recipients"]),
                    queued_at=float(queued_at),
                    attempts=int(attempts),
                    next_attempt=float(next_attempt),
                    last_reply=str(meta.get("last_reply", "")),
                    state=state,
                )
            )
        return found

    def remove_leftovers(self) -> None:
        """Nothing to tidy: a killed relay's transactions ended with its connections."""


def _advisory(entry_id: str) -> int:
    """The entry's advisory lock key: its 48-bit id as a number (below the migration's)."""
    return int(entry_id, 16)


def _held(lease: Lease) -> _Held:
    if not isinstance(lease.handle, _Held) or lease.handle.connection is None:
        raise TypeError("a lease from another queue, or one already let go")
    return lease.handle


def _abandon(connection: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Close it: a rollback is the server's job once the connection is gone."""
    try:
        connection.close()
    except Exception:  # closing a broken connection can fail too; it is gone either way
        return


def _write_failed(exc: MailstageError) -> QueueWriteFailed:
    return QueueWriteFailed(exc.message)
