"""LISTEN/NOTIFY on a PostgreSQL store (issue 18): every save of the store NOTIFYs
STORE_CHANNEL (in its transaction, so listeners hear it once it is committed, never for
one rolled back), and a queue change that makes an entry due now NOTIFYs QUEUE_CHANNEL.

A relay keeps one `Listener`: a thread with a connection of its own that LISTENs and
calls back for each notification, so a change saved on another host is read at once
and a `queue retry` from anywhere wakes the delivery worker within a second. A lost
connection is opened again (after a pause); the callback then hears RECONNECTED, since
notifications sent meanwhile are lost. Listening is a shortcut, not the guarantee: the
relay still checks the row's generation before each message.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mailstage.store import pgstore
from mailstage.store.database_url import DatabaseUrl
from mailstage.store.errors import MailstageError

if TYPE_CHECKING:
    import psycopg

STORE_CHANNEL = "mailstage_store"
QUEUE_CHANNEL = "mailstage_queue"
RECONNECTED = ""  # the channel name the callback hears after (re)connecting
RECONNECT_SECONDS = 2.0
POLL_SECONDS = 0.5  # how often the thread looks whether it should stop


class Listener:
    def __init__(
        self,
        url: DatabaseUrl,
        channels: Sequence[str],
        notified: Callable[[str, str], None],
        *,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.channels = tuple(channels)
        self.notified = notified  # (channel, payload), called in the listener's thread
        self.on_error = on_error
        self.listening = False  # connected and listening now
        self._stop = threading.Event()
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._thread = threading.Thread(target=self._run, name="mailstage-listen", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=POLL_SECONDS + 2)

    def _run(self) -> None:
        told = False  # one event line per outage, not one per reconnect attempt
        while not self._stop.is_set():
            try:
                self._listen()
                told = False
            except MailstageError as exc:
                if not told and self.on_error is not None:
                    self.on_error(f"not listening for changes ({exc}); trying again")
                told = True
            finally:
                self.listening = False
                if self._connection is not None:
                    with contextlib.suppress(Exception):
                        self._connection.close()
                    self._connection = None
            self._stop.wait(RECONNECT_SECONDS)

    def _listen(self) -> None:
        self._connection = connection = pgstore.connect(self.url)  # autocommit
        with pgstore.translated(self.url, "listen for changes"):
            for channel in self.channels:
                connection.execute(f"LISTEN {channel}")  # our own names, not input
            self.listening = True
            self.notified(RECONNECTED, "")
            while not self._stop.is_set():
                for notice in connection.notifies(timeout=POLL_SECONDS):
                    self.notified(notice.channel, notice.payload)
