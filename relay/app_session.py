"""One app's SMTP connection to the relay, as an asyncio protocol.

Commands are read and answered in ``data_received`` itself, without a stream reader or
a task per connection: a message's MAIL, RCPT and DATA cost a write each and no
wake-up of a coroutine, which is most of what aiosmtpd spent per message (measured
0.46-0.58 ms of CPU against 0.20 ms for the same conversation). Only a message's
delivery, STARTTLS and a wait for a place in memory are awaited; input that comes
meanwhile (a pipelining app, or a hostile one) waits in the buffer, and reading stops
once READ_AHEAD bytes wait.

The conversation is RFC 5321's with AUTH (RFC 4954: PLAIN and LOGIN), STARTTLS (RFC
3207), SIZE (RFC 1870), 8BITMIME (RFC 6152) and SMTPUTF8 (RFC 6531). An idle timer
closes a session that has not logged in within ``login_timeout`` and an
authenticated one idle for ``timeout``; it is paused while the relay works on the
app's message (the upstream's time is the relay's to bound, not the app's). A
message takes one of the relay's places in memory (relay/limits.py) before DATA is
answered 354, and is read by relay/data_reader.py.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import Any, Protocol

from mailstage.relay.data_reader import MessageReader
from mailstage.relay.limits import MessageSlots, Slot

COMMAND_LIMIT = 512  # a command line without its CRLF (RFC 5321 4.5.3.1.4)
MAIL_ALLOWANCE = 26 + 10  # SIZE= and SMTPUTF8 on MAIL FROM (RFC 1870 3, RFC 6531 3.4)
LINE_LIMIT = 1001  # a line of the message with its CRLF (RFC 5321 4.5.3.1.6)
LOCAL_PART_LIMIT = 64  # RFC 5321 4.5.3.1.1
READ_AHEAD = 64 * 1024  # input waiting while the relay works before reading stops
BOGUS_LIMIT = 5  # unknown commands before the connection is closed
BEFORE_STARTTLS = frozenset({"EHLO", "HELO", "NOOP", "QUIT", "STARTTLS"})
BEFORE_LOGIN = frozenset({"EHLO", "HELO", "NOOP", "QUIT", "STARTTLS", "AUTH", "HELP", "RSET"})
AUTH_OK = "235 2.7.0 Authentication successful"
AUTH_INVALID = "535 5.7.8 Authentication credentials invalid"
LOGIN_CHALLENGES = (b"334 VXNlcm5hbWU6", b"334 UGFzc3dvcmQ6")  # "Username:", "Password:"


@dataclass
class Envelope:
    mail_from: str | None = None
    mail_options: list[str] = field(default_factory=list)
    smtp_utf8: bool = False
    rcpt_tos: list[str] = field(default_factory=list)
    content: bytes | None = None


class Hooks(Protocol):
    """What the relay decides (relay/server.py's RelayHandler)."""

    def login(
        self, session: AppSession, mechanism: str, user: bytes, password: bytes
    ) -> str | None:
        """The app's name when the login is good, else None."""

    def mail(self, session: AppSession, address: str, options: list[str]) -> str | None:
        """A refusal of the sender, or None."""

    def rcpt(self, session: AppSession, address: str) -> str | None:
        """A refusal of the recipient, or None."""

    def data(self, session: AppSession, envelope: Envelope) -> asyncio.Future[str]:
        """The reply to the message's end, to come: the delivery starts at once, and
        goes on if the app hangs up."""

    def refused_in_data(self, session: AppSession, refusal: str) -> str:
        """The reply to a message refused as it was read (too large, a line too long)."""


@dataclass(frozen=True)
class SessionOptions:
    hostname: str
    ident: str
    max_size: int
    timeout: float  # idle, logged in
    login_timeout: float  # idle, not logged in yet
    max_auth_failures: int
    tls: ssl.SSLContext | None = None  # then STARTTLS is required before anything else


class AppSession(asyncio.Protocol):
    def __init__(
        self,
        hooks: Hooks,
        options: SessionOptions,
        slots: MessageSlots,
        *,
        on_close: Callable[[AppSession], None],
    ) -> None:
        self.hooks = hooks
        self.options = options
        self.slots = slots
        self.transport: asyncio.Transport | None = None
        self.peer: Any = None
        self.app: str | None = None  # logged in as
        self.host_name = ""  # from HELO or EHLO
        self.extended = False  # EHLO, not HELO
        self.tls_active = False
        self.envelope = Envelope()
        self.slot: Slot | None = None  # this session's message's place, during DATA
        self.delivering = False  # the relay is handling this session's message
        self.auth_failures = 0
        self._on_close = on_close
        self._buffer = bytearray()
        self._message: MessageReader | None = None  # reading DATA
        self._auth_step: Callable[[bytes], None] | None = None  # awaiting a 334 answer
        self._busy = False  # an await under way: input waits in the buffer
        self._reading_paused = False
        self._too_long = False  # a command line too long: dropped up to its end
        self._bogus = 0
        self._closed = False
        self._ended = False  # the app sent its end (EOF): close once it has its answers
        self._work: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_input = 0.0
        self._timer_paused = False
        self._commands: dict[str, Callable[[str | None], None]] = {
            "EHLO": self._ehlo,
            "HELO": self._helo,
            "STARTTLS": self._starttls,
            "AUTH": self._auth,
            "MAIL": self._mail,
            "RCPT": self._rcpt,
            "DATA": self._data,
            "RSET": self._rset,
            "NOOP": self._noop,
            "QUIT": self._quit,
            "HELP": self._help,
            "VRFY": self._vrfy,
            "EXPN": self._expn,
        }

    @property
    def logged_in(self) -> bool:
        return self.app is not None

    # -- the connection ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        self.reply(f"220 {self.options.hostname} {self.options.ident}")
        self._touch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        if self._work is not None and not self.delivering:
            self._work.cancel()  # a wait for a place or a TLS handshake: nobody to answer
        self._let_go_of_the_slot()  # hung up in the middle of DATA: there is no message
        self._buffer.clear()
        self._on_close(self)

    def eof_received(self) -> bool:
        """An app that shuts its side after the message still hears the answer: the
        connection stays open for writing while the relay works on what came before."""
        self._ended = True
        return self._busy and not self.tls_active  # (over TLS a half-close cannot be kept)

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        if self._busy:
            self._buffer += data
            if len(self._buffer) > READ_AHEAD and self.transport is not None:
                self.transport.pause_reading()
                self._reading_paused = True
            return
        if self._message is not None and not self._buffer:
            self._feed_message(data)  # the message's bytes, not copied into the buffer
        else:
            self._buffer += data
        self._run()

    def reply(self, line: str) -> None:
        if self.transport is not None and not self._closed:
            self.transport.write(line.encode("utf-8", "replace") + b"\r\n")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # -- reading ---------------------------------------------------------------------------

    def _run(self) -> None:
        """Whatever the buffer holds, handled in order until an await or its end."""
        while not self._busy and not self._closed and self._buffer:
            if self._message is not None:
                data, self._buffer = self._buffer, bytearray()
                self._feed_message(data)
                continue
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > LINE_LIMIT:  # no line end in sight: dropped
                    self._buffer.clear()
                    self._too_long = True
                return
            line = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[: end + 1]
            if self._too_long:
                self._too_long = False
                self.reply("500 Command line too long")
            elif self._auth_step is not None:
                step, self._auth_step = self._auth_step, None
                self._touch()
                step(line)
            else:
                self._command(line)
        if self._reading_paused and not self._busy and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()

    def _command(self, line: bytes) -> None:
        if not line:
            self.reply("500 Error: bad syntax")
            return
        verb_bytes, _, arg_bytes = line.partition(b" ")
        try:
            verb = verb_bytes.upper().decode("ascii")
        except UnicodeDecodeError:
            self.reply("500 Error: bad syntax")
            return
        arg = arg_bytes.strip().decode("utf-8", "surrogateescape") if arg_bytes else None
        limit = COMMAND_LIMIT + (MAIL_ALLOWANCE if verb == "MAIL" and self.extended else 0)
        if len(line) > limit:
            self.reply("500 Command line too long")
            return
        if self.options.tls is not None and not self.tls_active and verb not in BEFORE_STARTTLS:
            self.reply("530 Must issue a STARTTLS command first")
            return
        handle = self._commands.get(verb)
        if handle is None:
            self._bogus += 1
            if self._bogus >= BOGUS_LIMIT:
                self.reply("502 5.5.1 Too many unrecognized commands, goodbye.")
                self.close()
                return
            self.reply(f'500 Error: command "{verb}" not recognized')
            return
        if verb not in BEFORE_LOGIN:
            if not self.host_name:
                self.reply("503 Error: send HELO first")
                return
            if not self.logged_in:
                self.reply("530 5.7.0 Authentication required")
                return
        self._touch()
        handle(arg)

    def _await(self, work: Any) -> None:
        """Input waits while ``work`` runs; the rest of the buffer is read after it."""
        self._busy = True
        self._work = asyncio.get_running_loop().create_task(work)
        self._work.add_done_callback(self._done_waiting)

    def _done_waiting(self, task: asyncio.Future[Any]) -> None:
        self._work = None
        self._busy = False
        if not task.cancelled() and task.exception() is not None:
            self.close()  # never a traceback to the app
        self._touch()
        self._run()
        if self._ended and not self._busy:
            self.close()

    # -- the idle timer (one timer a session, moved on only when it fires) ---------------

    def _idle_limit(self) -> float:
        return self.options.timeout if self.logged_in else self.options.login_timeout

    def _touch(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_input = loop.time()
        if self._timer is None and not self._timer_paused and not self._closed:
            self._timer = loop.call_at(self._last_input + self._idle_limit(), self._idle)

    def _idle(self) -> None:
        self._timer = None
        if self._closed or self._timer_paused:
            return
        loop = asyncio.get_running_loop()
        due = self._last_input + self._idle_limit()
        if loop.time() < due:
            self._timer = loop.call_at(due, self._idle)
            return
        why = "no command" if self.logged_in else "no successful login"
        self.reply(f"421 4.4.2 Closing: {why} within {self._idle_limit():g} s")
        self.close()

    def pause_timer(self) -> None:
        self._timer_paused = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def resume_timer(self) -> None:
        self._timer_paused = False
        self._touch()

    # -- commands ------------------------------------------------------------------------

    def _greeted(self, verb: str, arg: str | None, *, extended: bool) -> bool:
        """HELO or EHLO: the app's name taken and any transaction begun dropped."""
        if not arg:
            self.reply(f"501 Syntax: {verb} hostname")
            return False
        self.host_name, self.extended = arg, extended
        self.envelope = Envelope()
        return True

    def _ehlo(self, arg: str | None) -> None:
        if not self._greeted("EHLO", arg, extended=True):
            return
        lines = [self.options.hostname, f"SIZE {self.options.max_size}", "8BITMIME", "SMTPUTF8"]
        if self.options.tls is not None and not self.tls_active:
            lines.append("STARTTLS")
        if self.options.tls is None or self.tls_active:
            lines.append("AUTH LOGIN PLAIN")
        lines.append("HELP")
        last = len(lines) - 1
        self.reply("\r\n".join(f"250{' ' if n == last else '-'}{t}" for n, t in enumerate(lines)))

    def _helo(self, arg: str | None) -> None:
        if self._greeted("HELO", arg, extended=False):
            self.reply(f"250 {self.options.hostname}")

    def _starttls(self, arg: str | None) -> None:
        if arg:
            self.reply("501 Syntax: STARTTLS")
        elif self.options.tls is None:
            self.reply("454 TLS not available")
        elif self.tls_active:
            self.reply("503 5.5.1 TLS is already active")
        else:
            self.reply("220 Ready to start TLS")
            self._buffer.clear()  # nothing sent before the handshake counts (RFC 3207 6)
            self._await(self._handshake(self.options.tls))

    async def _handshake(self, context: ssl.SSLContext) -> None:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        try:
            upgraded = await loop.start_tls(self.transport, self, context, server_side=True)
        except (OSError, ssl.SSLError, ConnectionError):
            self.close()
            return
        if upgraded is None:
            return
        self.transport = upgraded
        self.tls_active = True
        self.host_name, self.extended = "", False  # RFC 3207 4.2: the client starts over
        self.envelope = Envelope()

    def _auth(self, arg: str | None) -> None:
        if not self.host_name:
            self.reply("503 Error: send EHLO first")
            return
        if not self.extended:
            self.reply("500 Error: command 'AUTH' not recognized")
        elif self.options.tls is not None and not self.tls_active:
            self.reply("538 5.7.11 Encryption required for requested authentication mechanism")
        elif self.logged_in:
            self.reply("503 Already authenticated")
        elif not arg:
            self.reply("501 Not enough value")
        elif len(words := arg.split()) > 2:
            self.reply("501 Too many values")
        elif (mechanism := words[0].upper()) not in ("PLAIN", "LOGIN"):
            self.reply("504 5.5.4 Unrecognized authentication type")
        elif mechanism == "PLAIN":
            self._answered(words[1:], b"334 ", self._plain)
        else:
            self._answered(words[1:], LOGIN_CHALLENGES[0], self._login_user)

    def _answered(self, given: list[str], challenge: bytes, then: Callable[[bytes], None]) -> None:
        """``then`` with the answer decoded: the one given with the command (RFC 4954's
        initial response), else the next line, after a 334 challenge."""

        def decoded(blob: bytes) -> None:
            value = self._decoded(blob)
            if value is not None:
                then(value)

        if given:
            decoded(given[0].encode("ascii", "replace"))
            return
        self.reply(challenge.decode("ascii"))
        self._auth_step = decoded

    def _decoded(self, blob: bytes) -> bytes | None:
        blob = blob.strip()
        if blob == b"*":
            self.reply("501 5.7.0 Auth aborted")
            return None
        if blob == b"=":
            return b""
        try:
            return base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            self.reply("501 5.5.2 Can't decode base64")
            return None

    def _plain(self, decoded: bytes) -> None:
        parts = decoded.split(b"\x00")
        if len(parts) != 3:
            self.reply("501 5.5.2 Can't split auth value")
            return
        self._logged_in_or_not("PLAIN", parts[1], parts[2])

    def _login_user(self, user: bytes) -> None:
        self._answered(
            [],
            LOGIN_CHALLENGES[1],
            lambda password: self._logged_in_or_not("LOGIN", user, password),
        )

    def _logged_in_or_not(self, mechanism: str, user: bytes, password: bytes) -> None:
        app = self.hooks.login(self, mechanism, user, password)
        if app is not None:
            self.app = app
            self.reply(AUTH_OK)
            return
        self.auth_failures += 1
        limit = self.options.max_auth_failures
        if self.auth_failures >= limit:
            self.reply(f"421 4.7.0 {limit} failed logins on this connection; closing it")
            self.close()
            return
        self.reply(AUTH_INVALID)  # whatever the reason

    def _address_and_parameters(
        self, command: str, keyword: str, arg: str | None
    ) -> tuple[str, list[str], str] | None:
        """The address of MAIL FROM or RCPT TO, its parameters and the syntax line;
        None when the argument is refused (the reply is written)."""
        syntax = f"501 Syntax: {command} {keyword} <address>" + (
            " [SP <mail-parameters>]" if self.extended else ""
        )
        rest = _after_keyword(keyword, arg)
        address, params = read_address(rest) if rest is not None else ("", None)
        if address is None:
            self.reply("553 5.1.3 Error: malformed address")
        elif not address or (params and not self.extended):
            self.reply(syntax)
        else:
            return address, (params or "").upper().split(), syntax
        return None

    def _mail(self, arg: str | None) -> None:
        read = self._address_and_parameters("MAIL", "FROM:", arg)
        if read is None:
            return
        address, options, syntax = read
        if self.envelope.mail_from is not None:
            self.reply("503 Error: nested MAIL command")
            return
        problem = _mail_parameter_problem(options, self.options.max_size)
        refusal = (
            problem.replace("{syntax}", syntax)
            if problem is not None
            else self.hooks.mail(self, address, options)
        )
        if refusal is not None:
            self.reply(refusal)
            return
        envelope = self.envelope
        envelope.mail_from, envelope.mail_options = address, options
        envelope.smtp_utf8 = "SMTPUTF8" in options
        self.reply("250 2.1.0 OK")

    def _rcpt(self, arg: str | None) -> None:
        if self.envelope.mail_from is None:
            self.reply("503 Error: need MAIL command")
            return
        read = self._address_and_parameters("RCPT", "TO:", arg)
        if read is None:
            return
        address, options, _ = read
        refusal = (
            "555 RCPT TO parameters not recognized or not implemented"
            if options
            else self.hooks.rcpt(self, address)
        )
        if refusal is not None:
            self.reply(refusal)
            return
        self.envelope.rcpt_tos.append(address)  # exactly what upstream receives and the log shows
        self.reply("250 2.1.5 OK")

    def _data(self, arg: str | None) -> None:
        if not self.envelope.rcpt_tos:
            self.reply("503 Error: need RCPT command")
            return
        if arg:
            self.reply("501 Syntax: DATA")
            return
        slot = self.slots.take_now()
        if slot is not None:
            self._start_message(slot)
        else:
            self._await(self._wait_for_a_place())

    async def _wait_for_a_place(self) -> None:
        slot = await self.slots.take()
        if slot is None:
            self.reply(
                f"451 4.3.2 The relay holds {self.slots.size} messages at once, its limit "
                f"(--max-messages), and none finished within {self.slots.wait:g} s; "
                "try again shortly"
            )
        elif self._closed:
            slot.drop()
        else:
            self._start_message(slot)

    def _start_message(self, slot: Slot) -> None:
        self.slot = slot
        self._message = MessageReader(size_limit=self.options.max_size, line_limit=LINE_LIMIT)
        self.reply("354 End data with <CR><LF>.<CR><LF>")

    def _feed_message(self, data: bytes | bytearray) -> None:
        assert self._message is not None
        self._touch()  # a large message arriving slowly is not an idle app
        done = self._message.feed(data)
        if done is None:
            return
        received, rest = done
        self._message = None
        self._buffer[:0] = rest  # the app's next commands, read once this message is answered
        if received.content is None:
            assert received.refusal is not None
            status = self.hooks.refused_in_data(self, received.refusal)
            self.envelope = Envelope()
            self._let_go_of_the_slot()
            self.reply(status)
            return
        envelope, self.envelope = self.envelope, Envelope()
        envelope.content = received.content
        delivery = self.hooks.data(self, envelope)  # it holds the slot as long as it needs
        self._let_go_of_the_slot()
        self.delivering = self._busy = True
        self.pause_timer()  # the relay's own deadlines bound the wait, not the app's
        delivery.add_done_callback(self._delivered)  # never cancelled by this session

    def _let_go_of_the_slot(self) -> None:
        if self.slot is not None:
            self.slot.drop()
            self.slot = None

    def _delivered(self, delivery: asyncio.Future[str]) -> None:
        self.delivering = False
        self.resume_timer()
        if not delivery.cancelled() and delivery.exception() is None:
            self.reply(delivery.result())
        self._done_waiting(delivery)

    def _rset(self, arg: str | None) -> None:
        if arg:
            self.reply("501 Syntax: RSET")
            return
        self.envelope = Envelope()
        self.reply("250 2.0.0 OK")

    def _noop(self, arg: str | None) -> None:
        self.reply("250 2.0.0 OK")

    def _quit(self, arg: str | None) -> None:
        if arg:
            self.reply("501 Syntax: QUIT")
            return
        self.reply("221 2.0.0 Bye")
        self.close()

    def _help(self, arg: str | None) -> None:
        commands = " ".join(sorted(self._commands))
        self.reply(f"{'501' if arg else '250'} Supported commands: {commands}")

    def _vrfy(self, arg: str | None) -> None:
        if not arg:
            self.reply("501 Syntax: VRFY <address>")
            return
        self.reply("252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery")

    def _expn(self, arg: str | None) -> None:
        self.reply("502 EXPN not implemented")


def _after_keyword(keyword: str, arg: str | None) -> str | None:
    if arg is None or arg[: len(keyword)].upper() != keyword:
        return None
    return arg[len(keyword) :].strip()


# `<local@domain>` with a dot-atom local part and a plain domain: what nearly every app
# sends, read without the header parser (which also makes a class per call); any other
# form goes to the parser, so the result is the same either way
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>")


def read_address(
    arg: str, local_part_limit: int = LOCAL_PART_LIMIT
) -> tuple[str | None, str | None]:
    """The address in a MAIL FROM or RCPT TO argument and what follows it (its
    parameters): ("", "") for nothing, (None, None) when it cannot be read or its local
    part is over the limit. The reading is that of the email header parser, as
    aiosmtpd's was: an angle address, else a bare addr-spec."""
    plain = _PLAIN_ADDRESS.match(arg)
    if plain is not None:
        rest = arg[plain.end() :].lstrip(" \t")
        if not rest.startswith("("):  # a comment after it: the parser's reading
            address = plain.group(1)
            if local_part_limit and len(address.rpartition("@")[0]) > local_part_limit:
                return None, None
            return address, rest
    if not arg:
        return "", ""
    try:
        parsed, rest = get_angle_addr(arg) if arg.lstrip().startswith("<") else get_addr_spec(arg)
    except HeaderParseError:
        return None, None
    address = parsed.addr_spec
    if local_part_limit and len(address.rpartition("@")[0]) > local_part_limit:
        return None, None
    return address, rest


def _mail_parameter_problem(options: list[str], max_size: int) -> str | None:
    """Why MAIL FROM's parameters cannot be taken ({syntax} stands for the syntax
    line), or None: BODY 7BIT or 8BITMIME, SMTPUTF8 without a value, SIZE a number
    within the limit; nothing else."""
    for option in options:
        name, equals, value = option.partition("=")
        if not name.isalnum() or (equals and not value):
            return "{syntax}"
        if name == "BODY":
            if value not in ("7BIT", "8BITMIME"):
                return "501 Error: BODY can only be one of 7BIT, 8BITMIME"
        elif name == "SMTPUTF8":
            if equals:
                return "501 Error: SMTPUTF8 takes no arguments"
        elif name == "SIZE":
            if not value.isdigit():
                return "{syntax}"
            if max_size and int(value) > max_size:
                return "552 Error: message size exceeds fixed maximum message size"
        else:
            return "555 MAIL FROM parameters not recognized or not implemented"
    return None


class Refused(asyncio.Protocol):
    """A connection beyond --max-connections: one 421 line, then closed."""

    def __init__(self, reply: str) -> None:
        self.reply = reply.encode() + b"\r\n"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(self.reply)
        transport.close()
