"""One app connection: aiosmtpd's SMTP with the relay's limits. Its timer closes a
session that has not logged in within a short idle time, and an authenticated one
idle longer; it is paused while the relay works on the app's message (the upstream's
time is the relay's to bound, not the app's). A message takes one of the relay's
places in memory (relay/limits.py) before its DATA is answered 354, and is read by
relay/data_reader.py; a refusal there (too large, a line too long) goes to the handler
so it is logged too."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP

from mailstage.relay.data_reader import read_message
from mailstage.relay.limits import MessageSlots, Slot

# `<local@domain>` with a dot-atom local part and a plain domain: what nearly every app
# sends, read without aiosmtpd's header parser (which also makes a class per call); any
# other form goes to aiosmtpd as before, so the result is the same either way
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>")


class RelaySmtp(SMTP):
    def __init__(
        self,
        handler: Any,
        *,
        login_timeout: float,
        on_close: Callable[[RelaySmtp], None],
        slots: MessageSlots,
        **options: Any,
    ) -> None:
        super().__init__(handler, **options)
        self.login_timeout = login_timeout
        self.slots = slots
        self.slot: Slot | None = None  # this session's message's place, during DATA
        self.auth_failures = 0
        self.closing_after_auth = False
        self.delivering = False  # the relay is handling this session's message
        self._on_close = on_close
        self._paused = False

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = _PLAIN_ADDRESS.match(arg)
        rest = arg[plain.end() :].lstrip(" \t") if plain is not None else "("
        if plain is None or rest.startswith("("):  # a comment after it: aiosmtpd's reading
            return super()._getaddr(arg)
        address = plain.group(1)
        if self.local_part_limit and len(address.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return address, rest

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

    # -- DATA: a place in memory first, refusals inside it, failed logins ----------------

    async def smtp_DATA(self, arg: str) -> None:
        if not self._data_would_start(arg):
            await super().smtp_DATA(arg)  # aiosmtpd's own refusal (no RCPT, no login ...)
            return
        slot = await self.slots.take()
        if slot is None:
            await self.push(
                f"451 4.3.2 The relay holds {self.slots.size} messages at once, its limit "
                f"(--max-messages), and none finished within {self.slots.wait:g} s; "
                "try again shortly"
            )
            return
        self.slot = slot
        try:
            await self._receive()
        finally:
            self.slot = None
            slot.drop()

    async def _receive(self) -> None:
        envelope = self.envelope
        assert envelope is not None
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            received = await read_message(
                self._reader, size_limit=self.data_size_limit, line_limit=self.line_length_limit
            )
        except asyncio.IncompleteReadError:
            return  # the app hung up before the end: there is no message
        if received.content is None:
            assert received.refusal is not None
            status = self.event_handler.refused_in_data(self, received.refusal)
        else:
            envelope.content = envelope.original_content = received.content
            status = await self.event_handler.handle_DATA(self, self.session, envelope)
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push(status)

    def _data_would_start(self, arg: str) -> bool:
        """What aiosmtpd checks before it answers DATA with 354."""
        session, envelope = self.session, self.envelope
        return (
            not arg
            and session is not None
            and bool(session.host_name)
            and self.logged_in
            and envelope is not None
            and bool(envelope.rcpt_tos)
        )

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
