"""One app connection: aiosmtpd's SMTP with the relay's limits. Its timer closes a
session that has not logged in within a short idle time, and an authenticated one
idle longer; it is paused while the relay works on the app's message (the upstream's
time is the relay's to bound, not the app's). Refusals aiosmtpd makes inside DATA
(too large, a line too long) are passed to the handler so they are logged too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP

# aiosmtpd's own words for the refusals it makes itself after the app's DATA (pinned:
# aiosmtpd==1.4.6); the handler answers them with its own sentence and logs them
DATA_REFUSALS = ("552 Error: Too much mail data", "500 Line too long")


class RelaySmtp(SMTP):
    def __init__(
        self,
        handler: Any,
        *,
        login_timeout: float,
        on_close: Callable[[RelaySmtp], None],
        **options: Any,
    ) -> None:
        super().__init__(handler, **options)
        self.login_timeout = login_timeout
        self.auth_failures = 0
        self.closing_after_auth = False
        self.delivering = False  # the relay is handling this session's message
        self._on_close = on_close
        self._paused = False

    def connection_lost(self, error: Exception | None) -> None:
        self._on_close(self)
        super().connection_lost(error)

    # -- the idle timer ----------------------------------------------------------------

    def _reset_timeout(self, duration: float | None = None) -> None:
        if self._paused:
            return
        if duration is None and not self.logged_in:
            duration = self.login_timeout
        super()._reset_timeout(duration)

    @property
    def logged_in(self) -> bool:
        return self.session is not None and bool(self.session.authenticated)

    def _timeout_cb(self) -> None:
        if self.transport is None:
            return
        seconds = self._timeout_duration if self.logged_in else self.login_timeout
        why = "no command" if self.logged_in else "no successful login"
        self._writer.write(f"421 4.4.2 Closing: {why} within {seconds:g} s\r\n".encode())
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    def pause_timer(self) -> None:
        if self._timeout_handle is not None:
            self._timeout_handle.cancel()
        self._paused = True

    def resume_timer(self) -> None:
        self._paused = False
        if self.transport is not None:
            self._reset_timeout()

    # -- refusals inside DATA, failed logins ---------------------------------------------

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and status.startswith(DATA_REFUSALS):
            status = self.event_handler.refused_in_data(self, status)
        await super().push(status)

    async def smtp_AUTH(self, arg: str) -> None:
        await super().smtp_AUTH(arg)
        if self.closing_after_auth and self.transport is not None:
            self.transport.close()


class Refused(asyncio.Protocol):
    """A connection beyond --max-connections: one 421 line, then closed."""

    def __init__(self, reply: str) -> None:
        self.reply = reply.encode() + b"\r\n"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(self.reply)
        transport.close()
