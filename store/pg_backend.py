"""The store kept in one PostgreSQL row (issue 18; the seam: store/backend.py).

The row holds the very envelope a store file holds (ciphertext), with its `generation`
and `store_id` as plain columns. ``locked`` is a transaction that holds the row with
`SELECT ... FOR UPDATE`; a save is `UPDATE ... WHERE generation = loaded`, so a lost
race is a conflict (exit 6) even if a writer skipped the lock, and NOTIFYs the relays
(store/pg_listen.py). The audit archive's
records are rows of their own, written in the same transaction as the store.

One backend (one connection) per database and process: reads, the lock and the save
of one command go through the same session. Imported only for a `postgresql://` store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, LiteralString

from mailstage.store import audit_archive, pg_schema, pgstore
from mailstage.store.backend import Stamp
from mailstage.store.database_url import DatabaseUrl
from mailstage.store.errors import Conflict, InvalidInput, StoreUnreadable
from mailstage.store.file_backend import lock_timeout
from mailstage.store.paths import Locations
from mailstage.store.pg_listen import STORE_CHANNEL
from mailstage.store.reader import FIRST_READ, RawFile
from mailstage.store.sharing import PRIVATE, Sharing

if TYPE_CHECKING:
    import psycopg

_BACKENDS: dict[DatabaseUrl, PostgresBackend] = {}


def for_database(locations: Locations, url: DatabaseUrl) -> PostgresBackend:
    backend = _BACKENDS.get(url)
    if backend is None:
        backend = _BACKENDS[url] = PostgresBackend(locations, url)
    return backend


class RowBytes(RawFile):
    """The row's envelope as read so far; the rest fetched by range on demand."""

    def __init__(self, head: bytes, size: int, fetch: Callable[[int, int], bytes]) -> None:
        super().__init__(-1, head, size)
        self._fetch = fetch

    def read(self, offset: int, length: int) -> bytes | memoryview:
        if offset + length <= len(self.head):
            return memoryview(self.head)[offset : offset + length]
        return self._fetch(offset, length)


class PostgresBackend:
    def __init__(self, locations: Locations, url: DatabaseUrl) -> None:
        self.locations = locations
        self.url = url
        self.sharing: Sharing = PRIVATE  # access is the database's grants, not file modes
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._schema_checked = False
        self._depth = 0  # nested locked(): a save inside a transaction
        self._committed: list[Callable[[], None]] = []  # run once the transaction commits
        self._user: str | None = None

    def __repr__(self) -> str:
        return f"PostgresBackend({self.url.shown!r})"

    @property
    def shown(self) -> str:
        return self.url.shown

    # -- the session -------------------------------------------------------------------

    def _sql(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return pgstore.translated(self.url, doing, lock_timeout())

    @property
    def connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._connection is None or self._connection.closed:
            self._connection = pgstore.connect(self.url)
            self._schema_checked = False
        return self._connection

    def _one(self, sql: LiteralString, params: Sequence[object] = ()) -> tuple[object, ...] | None:
        return self.connection.execute(sql, params).fetchone()

    def _ready(self) -> None:
        """The schema is there and not newer than this mailstage; older is migrated."""
        if self._schema_checked:
            return
        with self._sql("open the store"):
            version = self._schema_version()
            if version is None:
                raise pgstore.not_initialized(self.url)
            if version != pg_schema.LATEST:
                self._migrate()
        self._schema_checked = True

    def _schema_version(self) -> int | None:
        row = self._one("SELECT to_regclass('mailstage_schema_version') IS NOT NULL")
        if not row or not row[0]:
            return None
        row = self._one("SELECT coalesce(max(version), 0) FROM mailstage_schema_version")
        return int(str(row[0])) if row else 0

    def _migrate(self) -> None:
        """Apply the migrations this database lacks (all of them on a new one)."""
        with self.connection.transaction():
            self._one("SELECT pg_advisory_xact_lock(%s)", (pg_schema.MIGRATION_LOCK,))
            version = self._schema_version() or 0
            if version > pg_schema.LATEST:
                raise StoreUnreadable(
                    f"The store in {self.url.where} was made by a newer mailstage (schema "
                    f"version {version}; this one knows {pg_schema.LATEST}): upgrade "
                    f"mailstage on this host. Nothing was changed."
                )
            for number in range(version + 1, pg_schema.LATEST + 1):
                for statement in pg_schema.MIGRATIONS[number - 1]:
                    self.connection.execute(statement)
                self.connection.execute(
                    "INSERT INTO mailstage_schema_version (version) VALUES (%s)", (number,)
                )

    def prepare_new(self) -> None:
        """`mailstage init`: the tables made (or brought up to date); a database that holds
        a store already is refused (exit 3) with nothing changed."""
        with self._sql("create the store's tables"):
            self._migrate()
            held = self._one("SELECT store_id FROM mailstage_store WHERE id = 1")
        self._schema_checked = True
        if held is not None:
            raise InvalidInput(
                f"Store (--store) {self.url.where} already holds a mailstage store; "
                f"nothing was changed. Use another database, or open that store.",
                [("store", "already exists")],
            )

    def current_user(self) -> str:
        """Who is acting: the role the server authenticated (OS logins are not used)."""
        if self._user is None:
            with self._sql("ask the server who you are"):
                row = self._one("SELECT current_user")
            self._user = str(row[0]) if row else ""
        return self._user

    # -- StoreBackend ----------------------------------------------------------------------

    def open_raw(self, *, whole: bool) -> RawFile:
        """The whole envelope, or its first bytes (a one-shot command reads the header
        and the core, then only the sections it prints: fetched as it asks for them)."""
        self._ready()
        with self._sql("read the store"):
            row = self.connection.execute(
                "SELECT generation, substring(envelope FROM 1 FOR %s), length(envelope) "
                "FROM mailstage_store WHERE id = 1",
                (2**31 - 1 if whole else FIRST_READ,),
                binary=True,  # bytea as bytes, not hex text twice its size
            ).fetchone()
        if row is None:
            raise pgstore.not_initialized(self.url)
        generation, head, size = int(str(row[0])), bytes(row[1]), int(str(row[2]))  # type: ignore[call-overload]
        return RowBytes(head, size, partial(self._read_range, generation))

    def _read_range(self, generation: int, offset: int, length: int) -> bytes:
        """Bytes of the envelope as it was at ``generation``: a save in between means the
        sections no longer belong to the header already read."""
        with self._sql("read the store"):
            row = self.connection.execute(
                "SELECT substring(envelope FROM %s FOR %s) FROM mailstage_store "
                "WHERE id = 1 AND generation = %s",
                (offset + 1, length, generation),
                binary=True,
            ).fetchone()
        if row is None:
            raise Conflict(
                f"Another admin saved the store in {self.url.where} while this command "
                f"read it; nothing was changed. Run it again."
            )
        data: bytes = bytes(row[0])  # type: ignore[call-overload]
        if len(data) != length:
            raise EOFError
        return data

    def signature(self) -> tuple[str, int] | None:
        try:
            self._ready()
            with self._sql("read the store"):
                row = self._one("SELECT store_id, generation FROM mailstage_store WHERE id = 1")
        except StoreUnreadable:
            return None
        return None if row is None else (str(row[0]), int(str(row[1])))

    def generation(self) -> int | None:
        self._ready()
        with self._sql("read the store"):
            row = self._one("SELECT generation FROM mailstage_store WHERE id = 1")
        return None if row is None else int(str(row[0]))

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._ready()
        self._committed = []
        with self._sql("save the store"), self.connection.transaction():
            milliseconds = max(1, int(lock_timeout() * 1000))
            self._one("SELECT set_config('lock_timeout', %s, true)", (f"{milliseconds}ms",))
            self._one("SELECT generation FROM mailstage_store WHERE id = 1 FOR UPDATE")
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
        committed, self._committed = self._committed, []
        for action in committed:
            action()

    def on_commit(self, action: Callable[[], None]) -> None:
        if self._depth:
            self._committed.append(action)  # others see the save only after the commit
        else:
            action()

    def write(self, blob: Sequence[bytes | memoryview], sharing: Sharing, stamp: Stamp) -> None:
        envelope, loaded = b"".join(blob), stamp.loaded
        # the same statement NOTIFYs the relays (store/pg_listen.py), heard at the commit
        with self._sql("save the store"):
            if loaded is None:
                cursor = self.connection.execute(
                    "WITH saved AS (INSERT INTO mailstage_store (id, store_id, generation, "
                    "envelope) VALUES (1, %s, %s, %s) ON CONFLICT (id) DO NOTHING "
                    "RETURNING generation) "
                    "SELECT pg_notify(%s, generation::text) FROM saved",
                    (stamp.store_id, stamp.generation, envelope, STORE_CHANNEL),
                )
            else:
                cursor = self.connection.execute(
                    "WITH saved AS (UPDATE mailstage_store SET envelope = %s, generation = %s, "
                    "store_id = %s, saved_at = now() WHERE id = 1 AND generation = %s "
                    "RETURNING generation) "
                    "SELECT pg_notify(%s, generation::text) FROM saved",
                    (envelope, stamp.generation, stamp.store_id, loaded, STORE_CHANNEL),
                )
        if len(cursor.fetchall()) == 1:
            return
        if loaded is None:
            raise Conflict(f"Another admin created a store in {self.url.where} first.")
        raise Conflict(
            f"Another admin saved the store in {self.url.where} after you opened it "
            f"(version {loaded}); nothing was overwritten. Reload and apply your change again."
        )

    # -- the audit archive -------------------------------------------------------------------

    def read_archive(self, key: bytes, count: int) -> list[bytes]:
        if count == 0:
            return []
        with self._sql("read the audit archive"):
            rows = self.connection.execute(
                "SELECT record FROM mailstage_audit_archive WHERE chunk < %s ORDER BY chunk",
                (count,),
                binary=True,
            ).fetchall()
        where = f"in {self.url.where}"
        if len(rows) != count:
            raise audit_archive.damaged(where)
        return audit_archive.open_records(key, [bytes(r[0]) for r in rows], where)  # type: ignore[call-overload]

    def append_archive(self, key: bytes, committed: int, chunks: list[bytes]) -> None:
        """Called under ``locked``: the records land in the store's own transaction."""
        bodies = audit_archive.seal_records(key, committed, chunks)
        with self._sql("save the audit archive"):
            self.connection.execute(
                "DELETE FROM mailstage_audit_archive WHERE chunk >= %s", (committed,)
            )
            with self.connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO mailstage_audit_archive (chunk, record) VALUES (%s, %s)",
                    [(committed + i, body) for i, body in enumerate(bodies)],
                )
