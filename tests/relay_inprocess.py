"""`Relay` run inside the test's event loop (real sockets on loopback) with timings a
test can shorten: the final-reply wait, the login idle limit, the session timer.
Without the queue unless asked (the app hears upstream's own answer)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mailstage.mailer.maillog import LogRecord, MailLog
from mailstage.relay.events import EventLog
from mailstage.relay.server import Relay, RelayOptions, StoreWatch
from mailstage.store.filestore import StoreFile
from mailstage.store.paths import Locations


class Lines(io.StringIO):
    @property
    def lines(self) -> list[str]:
        return self.getvalue().splitlines()


@asynccontextmanager
async def running_relay(**options: Any) -> AsyncIterator[tuple[Relay, Lines]]:
    file, data = StoreFile.open(Locations.resolve())
    stream = Lines()
    relay = Relay(
        RelayOptions(stage="QA", port=0, **{"queue": False, **options}),
        StoreWatch(file, data),
        maillog=MailLog.of_store(file),
        events=EventLog(stream),
    )
    ready = asyncio.Event()
    serving = asyncio.ensure_future(relay.serve(lambda _relay: ready.set()))
    await asyncio.wait(
        {serving, asyncio.ensure_future(ready.wait())}, return_when="FIRST_COMPLETED"
    )
    if serving.done():
        serving.result()
    try:
        yield relay, stream
    finally:
        relay.request_stop()
        await serving


def log_records() -> list[LogRecord]:
    file, _data = StoreFile.open(Locations.resolve())
    return MailLog.of_store(file).read()
