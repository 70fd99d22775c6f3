"""The email log of a PostgreSQL store: a record a row of `mailstage_email_log`, sealed
exactly as a line of the file log (mailer/maillog.py), with only the id, the time and
the outcome as plain columns. Its own connection: a record is committed at once, never
with (or rolled back with) a save of the store the same process has under way, and
without waiting for the disk (ASYNC_COMMIT)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, LiteralString

from mailstage.mailer.maillog import LogRecord, MailLog
from mailstage.store import pgstore
from mailstage.store.database_url import DatabaseUrl

if TYPE_CHECKING:
    import psycopg

TABLE = "mailstage_email_log"
# A record's commit does not wait for the server's WAL flush (a relay appends one per
# message, on its event loop): the file log is not fsynced either, and a server crash
# can lose at most the last moment's records, never the queue's or the store's writes.
ASYNC_COMMIT: LiteralString = "SET synchronous_commit = off"


class DatabaseMailLog(MailLog):
    def __init__(self, url: DatabaseUrl, key: bytes) -> None:
        super().__init__(Path(TABLE), key)  # every method that would open a file is overridden
        self.url = url
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None

    def __repr__(self) -> str:
        return f"DatabaseMailLog({self.url.shown!r})"

    def _rows(self, doing: str, sql: LiteralString, params: tuple[object, ...] = ()) -> list[Any]:
        """One statement; a connection that was lost while idle (the server restarted or
        dropped it) is opened again once, so a relay's next record is not lost with it."""
        for again in (False, True):
            reused = self._connection is not None and not self._connection.closed
            try:
                with pgstore.translated(self.url, doing):
                    if self._connection is None or self._connection.closed:
                        self._connection = pgstore.connect(self.url)
                        self._connection.execute(ASYNC_COMMIT)
                    cursor = self._connection.execute(sql, params, binary=True)
                    return cursor.fetchall() if cursor.description else []
            except pgstore.DatabaseUnreachable:
                if not reused or again:
                    raise
                if self._connection is not None:
                    self._connection.close()
        raise AssertionError("unreachable")

    def append(self, record: LogRecord) -> None:
        self._rows(
            "write the email log",
            "INSERT INTO mailstage_email_log (at, state, record) VALUES (%s, %s, %s)",
            (record.time, record.outcome, self.sealed(record)),
        )

    def _since(self, after: int) -> Iterator[tuple[int, LogRecord | None]]:
        rows = self._rows(
            "read the email log",
            "SELECT id, record FROM mailstage_email_log WHERE id > %s ORDER BY id",
            (after,),
        )
        for identifier, blob in rows:
            yield int(identifier), self.opened(bytes(blob))

    def read(self) -> list[LogRecord]:
        self.skipped = 0
        records = []
        for _, record in self._since(0):
            if record is None:
                self.skipped += 1
            else:
                records.append(record)
        return records

    def signature(self) -> object:
        rows = self._rows("read the email log", "SELECT max(id) FROM mailstage_email_log")
        return rows[0][0] if rows else None

    def follow(self, *, interval: float = 0.5, stop: Any = None) -> Iterator[LogRecord]:
        """Records appended after this call (the newest id is read now, not on first next)."""
        newest = self.signature()
        return self._after(int(str(newest)) if newest is not None else 0, interval, stop)

    def _after(self, after: int, interval: float, stop: Any) -> Iterator[LogRecord]:
        while stop is None or not stop():
            fresh = list(self._since(after))
            for identifier, record in fresh:
                after = identifier
                if record is not None:
                    yield record
            if not fresh:
                time.sleep(interval)
