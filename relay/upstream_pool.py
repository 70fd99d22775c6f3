"""The relay's connections to its stage's SMTP server: at most N at a time, each
connected, secured and logged in once, then reused for the next message while it has
been idle under 30 s. A message that finds all N busy waits its turn, for a bounded
time. A pooled connection the server closed meanwhile is left for a fresh one: seen
closed without any I/O, else found out by RSET, before any part of the message is
sent. RSET is skipped on a connection whose last transaction ended in 250 within
CLEAN_SECONDS (the session is ready for the next MAIL, RFC 5321 4.1.1.4): one round
trip less per message; should the server turn out to have closed it or to be closing
it (no reply, or 421) before the message's end, the message goes on a fresh connection,
once (nothing of it was taken).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from dataclasses import dataclass

from mailstage.mailer.deadline import Deadline
from mailstage.mailer.hints import refusal_hint, token_failure_hint
from mailstage.mailer.smtp_session import SmtpSession
from mailstage.mailer.steps import StepFailed, StepName, StepRecorder
from mailstage.mailer.transcript import Transcript
from mailstage.mailer.upstream_login import connect_and_login, forbid_credentials
from mailstage.relay.replies import failure_text, upstream_line
from mailstage.store.models import EmailConfig

DEFAULT_CONNECTIONS = 3  # Exchange Online's limit of concurrent connections per mailbox
IDLE_SECONDS = 30.0
WAIT_SECONDS = 60.0
STEP_TIMEOUT = 30.0
QUIT_TIMEOUT = 2.0
CLEAN_SECONDS = 5.0  # a connection idle this long after a 250 is RSET before reuse
FINAL_REPLY_SECONDS = 600.0  # RFC 5321 4.5.3.2.6: the wait for the reply to the final dot


class UpstreamRefused(Exception):
    """The server refused the message for good (5xx): the app gets its words, codes
    first, shown as relay/replies.py says (as are every reply and reason here)."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


class UpstreamDeferred(Exception):
    """The message could not go now (unreachable, timeout, 4xx, login or token failed,
    all connections busy): the app keeps it and tries again."""

    def __init__(self, reason: str, reply: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply


class UpstreamUnknown(UpstreamDeferred):
    """The whole message was handed over and no reply to its end came: the server may
    have taken it. Never to be called "not sent"."""


@dataclass
class _Message:
    data: bytes
    recipients: list[str]
    smtputf8: bool
    eight_bit: bool
    refused: dict[str, str] | None
    deadline: Deadline


class _Stale(Exception):
    """A connection reused without RSET was closed (or closing) before the message's
    end: nothing was taken, the message goes on a fresh connection."""


@dataclass
class _Connection:
    session: SmtpSession
    fingerprint: str
    idle_since: float = 0.0
    clean: bool = False  # its last transaction ended in 250: ready for MAIL, no RSET
    unchecked: bool = False  # reused without RSET for the message on it now


def config_fingerprint(config: EmailConfig) -> str:
    """Changes whenever anything that shapes a connection changes, secrets included
    (hashed: the fingerprint itself reveals nothing)."""
    dumped = config.model_dump_json(
        exclude={"updated_at", "updated_by"}, context={"reveal_secrets": True}
    )
    return hashlib.sha256(dumped.encode()).hexdigest()


class UpstreamPool:
    def __init__(
        self,
        size: int = DEFAULT_CONNECTIONS,
        *,
        idle_seconds: float = IDLE_SECONDS,
        wait_seconds: float = WAIT_SECONDS,
        timeout: float = STEP_TIMEOUT,
        final_reply_seconds: float = FINAL_REPLY_SECONDS,
    ) -> None:
        self.size = size
        self.final_reply_seconds = final_reply_seconds
        self.idle_seconds = idle_seconds
        self.wait_seconds = wait_seconds
        self.timeout = timeout
        self.login_seconds = 2 * timeout
        self.opened = 0  # connections opened so far (the benchmark and tests read it)
        self._slots = asyncio.Semaphore(size)
        self._idle: list[_Connection] = []
        self._token_lock = asyncio.Lock()
        self._quitting: set[asyncio.Task[None]] = set()
        self._fingerprints: dict[int, tuple[EmailConfig, EmailConfig, str]] = {}

    async def deliver(
        self,
        config: EmailConfig,
        data: bytes,
        recipients: list[str],
        *,
        smtputf8: bool = False,
        eight_bit: bool = False,
        refused: dict[str, str] | None = None,
        deadline: Deadline | None = None,
    ) -> str:
        """Send one message; returns the server's reply to DATA. Raises UpstreamRefused
        or UpstreamDeferred (UpstreamUnknown when the outcome is unknown). ``smtputf8``
        and ``eight_bit`` say what the app asked for; they are passed on when the server
        offers them. With ``refused``, recipients refused at RCPT land there (with the
        reply) while the others get the message. ``deadline`` bounds all of it up to the
        final dot."""
        deadline = deadline or Deadline(self.wait_seconds + self.login_seconds + 60 * 5)
        try:
            if self._slots.locked():  # else it is taken at once, no timer needed
                await asyncio.wait_for(
                    self._slots.acquire(), min(self.wait_seconds, deadline.remaining())
                )
            else:
                await self._slots.acquire()
        except TimeoutError:
            raise UpstreamDeferred(
                f"the relay's {self.size} connection(s) to {config.server} stayed busy for "
                f"{self.wait_seconds:g} s"
            ) from None
        message = _Message(data, recipients, smtputf8, eight_bit, refused, deadline)
        try:
            return await self._deliver(config, message)
        finally:
            self._slots.release()

    async def _deliver(self, config: EmailConfig, message: _Message) -> str:
        fingerprint = self._fingerprint(config)
        connection = await self._reusable(fingerprint)
        if connection is not None and connection.unchecked:
            try:
                return await self._send_on(connection, config, message)
            except _Stale:  # closed or closing before it took the message: a fresh one
                if message.refused is not None:
                    message.refused.clear()
                connection = None
        connection = connection or await self._open(config, fingerprint, message.deadline)
        return await self._send_on(connection, config, message)

    async def _send_on(
        self, connection: _Connection, config: EmailConfig, message: _Message
    ) -> str:
        data, recipients, refused = message.data, message.recipients, message.refused
        smtputf8, eight_bit, deadline = message.smtputf8, message.eight_bit, message.deadline
        session = connection.session
        options = []
        if smtputf8 and session.offers("SMTPUTF8"):
            options.append("SMTPUTF8")
        if eight_bit and session.offers("8BITMIME"):
            options.append("BODY=8BITMIME")
        try:
            reply = await session.send(
                data,
                recipients,
                mail_options=options,
                refused=refused,
                deadline=deadline,
                final_reply_seconds=self.final_reply_seconds,
            )
        except StepFailed as failure:
            stale = failure.hint_key == "disconnected" or failure.reply[:3] == "421"
            if connection.unchecked and stale:  # never "outcome_unknown": not taken
                self._close(connection)
                raise _Stale from None
            if failure.hint_key == "smtputf8":  # refused before MAIL FROM: nothing was sent
                self._keep(connection)
                raise UpstreamRefused(
                    f"553 5.6.7 {config.server} offers no SMTPUTF8, which an address with "
                    "letters beyond ASCII before the @ needs"
                ) from None
            if failure.reply:  # the server answered: the connection is still good
                self._keep(connection)
            else:
                self._close(connection)
            transcript = session.transcript
            said = upstream_line(failure.reply, transcript)
            if failure.hint_key == "outcome_unknown":
                raise UpstreamUnknown(failure_text(failure.message, "", transcript)) from None
            if failure.reply[:1] == "5":
                hint = refusal_hint(failure.reply, config=config, claims=session.token_claims)
                if hint:  # the mailbox has not granted Send As (issue 21)
                    said += " Hint: " + transcript.clean(hint)
                raise UpstreamRefused(said) from None
            reason = failure_text(failure.message, failure.reply, transcript)
            raise UpstreamDeferred(reason, said if failure.reply else "") from None
        except BaseException:  # cancelled mid-message: the connection's state is unknown
            self._close(connection)
            raise
        finally:
            for address, words in (refused or {}).items():
                refused[address] = upstream_line(words, session.transcript)  # type: ignore[index]
        self._keep(connection, clean=True)
        return upstream_line(reply, session.transcript)

    def _fingerprint(self, config: EmailConfig) -> str:
        """config_fingerprint, computed again only for another configuration object or
        one that changed since (compared with a copy taken then)."""
        cached = self._fingerprints.get(id(config))
        if cached is not None and cached[0] is config and cached[1] == config:
            return cached[2]
        fingerprint = config_fingerprint(config)
        if len(self._fingerprints) >= 8:
            self._fingerprints.clear()
        self._fingerprints[id(config)] = (config, config.model_copy(deep=True), fingerprint)
        return fingerprint

    async def _reusable(self, fingerprint: str) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            idle = now - connection.idle_since
            if connection.fingerprint != fingerprint or idle >= self.idle_seconds:
                self._close(connection, polite=True)
                continue
            if not connection.session.connected:  # closed by the server meanwhile
                self._close(connection)
                continue
            connection.unchecked = connection.clean and idle < CLEAN_SECONDS
            connection.clean = False  # until this message ends in 250
            if connection.unchecked:
                return connection
            try:
                await connection.session.reset()
            except StepFailed:
                self._close(connection)  # closed by the server: try the next, or a new one
                continue
            except BaseException:
                self._close(connection)
                raise
            return connection
        return None

    async def _open(self, config: EmailConfig, fingerprint: str, overall: Deadline) -> _Connection:
        transcript = Transcript()
        forbid_credentials(transcript, config)  # a server may echo them back in a reply
        session = SmtpSession(config, timeout=self.timeout, transcript=transcript)
        # the whole login, token request included, within what the message has left
        deadline = Deadline(min(self.login_seconds, overall.remaining()))
        recorder = StepRecorder(clean=transcript.clean, deadline=deadline)
        try:
            async with deadline.scope():
                await connect_and_login(
                    session, config, recorder, deadline=deadline, token_lock=self._token_lock
                )
        except TimeoutError:
            session.close()
            raise UpstreamDeferred(deadline.sentence(f"connecting to {config.server}")) from None
        except StepFailed as failure:
            session.close()
            step = recorder.failed.name if recorder.failed is not None else StepName.CONNECT
            reason = f"{step.value}: {failure_text(failure.message, failure.reply, transcript)}"
            hint = token_failure_hint(
                f"{failure.reply} {failure.message}",
                failure.hint_key,
                config=config,
                claims=session.token_claims,
            )
            if hint:  # what the token's claims say is missing (issue 21)
                reason += " Hint: " + transcript.clean(hint)
            said = upstream_line(failure.reply, transcript) if failure.reply else ""
            raise UpstreamDeferred(reason, said) from None
        except BaseException:
            session.close()
            raise
        self.opened += 1
        session.transcript.lines.clear()
        return _Connection(session, fingerprint)

    def _keep(self, connection: _Connection, *, clean: bool = False) -> None:
        connection.session.transcript.lines.clear()  # a long-lived connection keeps no history
        connection.clean = clean
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def _close(self, connection: _Connection, *, polite: bool = False) -> None:
        if polite:
            task = asyncio.get_running_loop().create_task(self._quit(connection.session))
            self._quitting.add(task)
            task.add_done_callback(self._quitting.discard)
        else:
            connection.session.close()

    @staticmethod
    async def _quit(session: SmtpSession) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(session.quit(), QUIT_TIMEOUT)
        session.close()

    async def close_idle(self, *, older_than: float | None = None) -> None:
        """QUIT the idle connections (those idle longer than ``older_than`` seconds)."""
        now = time.monotonic()
        keep: list[_Connection] = []
        leave: list[_Connection] = []
        for connection in self._idle:
            too_old = older_than is None or now - connection.idle_since >= older_than
            (leave if too_old else keep).append(connection)
        self._idle = keep
        await asyncio.gather(*(self._quit(c.session) for c in leave))

    @property
    def idle_count(self) -> int:
        return len(self._idle)
