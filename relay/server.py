"""`mailstage relay STAGE`: the SMTP submission service apps send their mail through.

Apps log in (AUTH PLAIN or LOGIN, username = the app's name, password from `mailstage
app credentials`); each message is routed by the app's test list and sent upstream
through the stage's configuration. With the queue (the default) the routing is
decided and the entry written durably before anything goes upstream; the app hears
upstream's own answer within --first-attempt seconds, else `250 Queued as ID`, and the
delivery worker (worker.py) retries. With --no-queue the app's end of DATA is answered
only once the upstream server has answered (451 when it could not be sent now). The
store is watched: a saved change applies to the next message (on PostgreSQL the relay
also LISTENs, store/pg_listen.py: a save on another host is read at once, a `queue
retry` wakes the delivery worker).
"""

from __future__ import annotations

import asyncio
import errno
import signal
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailstage.mailer.deadline import Deadline
from mailstage.mailer.maillog import LogRecord, MailLog
from mailstage.relay.addresses import envelope_refusal
from mailstage.relay.app_lookup import app_named
from mailstage.relay.app_session import AppSession, Envelope, Refused, SessionOptions
from mailstage.relay.events import EventLog
from mailstage.relay.limits import (
    BurstNotice,
    MessageSlots,
    Slot,
    return_large_buffers_to_the_system,
)
from mailstage.relay.message import header_refusal, prepare
from mailstage.relay.queue import QueueEntry, QueueWriteFailed, RelayQueue, open_queue
from mailstage.relay.replies import reply_line
from mailstage.relay.upstream_pool import (
    UpstreamDeferred,
    UpstreamPool,
    UpstreamRefused,
    UpstreamUnknown,
)
from mailstage.relay.worker import (
    Attempt,
    DeliveryWorker,
    WorkerOptions,
    deferred_reply,
    route_now,
)
from mailstage.store.errors import InvalidInput, MailstageError, ServerCannotStart
from mailstage.store.filestore import StoreFile
from mailstage.store.models import StoreData
from mailstage.store.relay_credentials import password_matches

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1587
DEFAULT_MAX_SIZE = 25 * 1024 * 1024
GRACE_SECONDS = 30.0
WATCH_SECONDS = 0.25
LISTENING_WATCH_SECONDS = 5.0  # on PostgreSQL while LISTEN works: saves are heard at once
SESSION_TIMEOUT = 300.0  # an authenticated session idle this long is closed
LOGIN_TIMEOUT = 30.0  # a session that has not logged in, idle this long, is closed
UPSTREAM_DEADLINE = 300.0  # the upstream conversation up to the final dot, all of it
FINAL_REPLY_SECONDS = 600.0  # RFC 5321 4.5.3.2.6: the wait for the reply to the final dot
UPSTREAM_STEP_SECONDS = 30.0
DEFAULT_MAX_CONNECTIONS = 200  # app connections at a time; more get 421
DEFAULT_MAX_MESSAGES = 16  # messages held in memory at once (see relay/limits.py)
SLOT_WAIT_SECONDS = 90.0  # a DATA waits this long for a place, then 451 4.3.2 (apps wait 2 min)
AUTH_FAILURES = 3  # failed logins on one connection before it is closed
FIRST_ATTEMPT_SECONDS = 10.0


@dataclass
class RelayOptions:
    stage: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    tls_cert: Path | None = None
    tls_key: Path | None = None
    upstream_connections: int = 3
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_messages: int = DEFAULT_MAX_MESSAGES
    max_size: int = DEFAULT_MAX_SIZE
    grace_seconds: float = GRACE_SECONDS
    queue: bool = True  # False: --no-queue, the app hears upstream's answer (451 on failure)
    first_attempt: float = FIRST_ATTEMPT_SECONDS
    worker: WorkerOptions = field(default_factory=WorkerOptions)
    # internal timings (tests shorten them)
    session_timeout: float = SESSION_TIMEOUT
    login_timeout: float = LOGIN_TIMEOUT
    upstream_deadline: float = UPSTREAM_DEADLINE
    upstream_step_seconds: float = UPSTREAM_STEP_SECONDS
    final_reply_seconds: float = FINAL_REPLY_SECONDS
    slot_wait_seconds: float = SLOT_WAIT_SECONDS


def is_loopback_listen(host: str) -> bool:
    """True when every address the listen host resolves to is loopback (decided on
    addresses, not on the name: a name proves nothing)."""
    from mailstage.mailer.loopback import addresses_of, all_loopback, resolve

    try:
        return all_loopback(addresses_of(resolve(host.strip("[]"), 0)))
    except (OSError, UnicodeError):
        return False


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise InvalidInput(
            f"TLS certificate (--tls-cert/--tls-key) cannot be used: {reason}.",
            [("tls_cert", "unusable")],
        ) from None
    return context


class StoreWatch:
    """The store as the relay last read it. Every AUTH and routing decision asks for it
    fresh: the store's signature (a stat of the file, microseconds; on PostgreSQL the
    row's generation, one indexed query) says whether a save happened since, from this
    host or another, and the store is read again first when it did, so a saved change
    applies to the very next message. The timer in Relay._watch only keeps the event log
    current; on PostgreSQL the relay also LISTENs for saves (Relay._listen), so the watch
    reads one at once and looks on its own only every LISTENING_WATCH_SECONDS."""

    def __init__(self, file: StoreFile, data: StoreData) -> None:
        self.file = file
        self.data = data
        self.signature = file.signature()

    def changed(self) -> bool:
        return self.file.signature() != self.signature

    def reload_now(self) -> None:
        """Read the store again in this thread (for decisions that cannot wait on the
        event loop, such as the AUTH check). The signature is taken before the
        read: a save during it is seen by the next check."""
        signature = self.file.signature()
        self.data = self.file.reload()
        self.signature = signature

    async def reload(self) -> None:
        """Read the store again in a thread (a large store takes a while to decode)."""
        await asyncio.to_thread(self.reload_now)


class Relay:
    def __init__(
        self,
        options: RelayOptions,
        store: StoreWatch,
        *,
        maillog: MailLog,
        events: EventLog,
    ) -> None:
        self.options = options
        self.store = store
        self.maillog = maillog
        self.events = events
        self.pool = UpstreamPool(
            options.upstream_connections,
            timeout=options.upstream_step_seconds,
            final_reply_seconds=options.final_reply_seconds,
        )
        self.stopping = False
        self.port = options.port
        self.deliveries: set[asyncio.Task[str]] = set()
        self.awaiting = 0  # sessions waiting on their message's first attempt
        self._tls = (
            server_tls_context(options.tls_cert, options.tls_key)
            if options.tls_cert is not None and options.tls_key is not None
            else None
        )
        self._sessions: set[Any] = set()  # the connections open now
        self._stop = asyncio.Event()
        self._reload_now = asyncio.Event()
        self._forced = False  # SIGHUP (reload whatever the signature says)
        self._listener: Any = None  # store/pg_listen.py's, on a PostgreSQL store
        self._reading = asyncio.Lock()
        self._hostname = "localhost"
        self.queue: RelayQueue | None = open_queue(store.file) if options.queue else None
        self.worker: DeliveryWorker | None = None
        self._failed_logins = BurstNotice(events)
        self._refusals = BurstNotice(events)
        self.slots = MessageSlots(options.max_messages, options.slot_wait_seconds)

    @property
    def stage_name(self) -> str:
        stage = self.store.data.stage(self.options.stage)
        return stage.name if stage is not None else self.options.stage

    # -- lifecycle ---------------------------------------------------------------------

    async def serve(self, on_ready: Callable[[Relay], None] | None = None) -> None:
        from mailstage.mailer.smtp_session import local_hostname

        return_large_buffers_to_the_system()
        loop = asyncio.get_running_loop()
        self._hostname = await local_hostname()
        self._session_options = SessionOptions(
            hostname=self._hostname,
            ident="mailstage relay",
            max_size=self.options.max_size,
            timeout=self.options.session_timeout,
            login_timeout=self.options.login_timeout,
            max_auth_failures=AUTH_FAILURES,
            tls=self._tls,
        )
        if self.queue is not None:
            self.worker = DeliveryWorker(
                self.queue,
                self.pool,
                stage=self.stage_name,
                fresh_store=self.fresh_store,
                log=self.log,
                events=self.events,
                options=self.options.worker,
                hostname=self._hostname,
            )
        loop.set_exception_handler(self._loop_error)
        try:
            server = await loop.create_server(
                self._new_session, host=self.options.host.strip("[]"), port=self.options.port
            )
        except OSError as exc:
            raise ServerCannotStart(
                f"The relay cannot listen on {self.options.host} port {self.options.port}: "
                f"{exc.strerror or exc}."
            ) from None
        self.port = server.sockets[0].getsockname()[1]
        for number, action in (
            (signal.SIGTERM, self.request_stop),
            (signal.SIGINT, self.request_stop),
            (signal.SIGHUP, self._reload_forced),
        ):
            loop.add_signal_handler(number, action)
        self.events.event(self._listening_text())
        if on_ready is not None:
            on_ready(self)
        self._listener = self._listen(loop)
        watcher = loop.create_task(self._watch())
        delivering = loop.create_task(self.worker.run()) if self.worker is not None else None
        try:
            await self._stop.wait()
        finally:
            server.close()
            self.stopping = True
            watcher.cancel()
            if delivering is not None:
                delivering.cancel()
            await self._finish_in_flight()
            await self.pool.close_idle()
            if self._listener is not None:
                await asyncio.to_thread(self._listener.stop)
            for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(number)
        self.events.event("stopped")

    def request_stop(self) -> None:
        if not self._stop.is_set():
            self.events.event(
                f"stopping: no new connections; {self.busy_count()} message(s) in flight "
                f"get up to {self.options.grace_seconds:g} s to finish"
            )
        self._stop.set()

    def _listening_text(self) -> str:
        stage = self.store.data.stage(self.options.stage)
        config = stage.email if stage is not None else None
        upstream = f"{config.server} port {config.port}" if config else "not configured yet"
        security = "STARTTLS required before AUTH" if self._tls else "plain text on loopback"
        queue = f"queue {self.queue}" if self.queue is not None else "no queue"
        return (
            f"relay for stage {self.stage_name} listening on {self.options.host} port "
            f"{self.port} ({security}); upstream {upstream}, at most "
            f"{self.pool.size} connection(s); {queue}"
        )

    def busy_count(self) -> int:
        """Messages being handled, open sessions in the middle of one (MAIL given), and
        queue attempts no app waits for any more."""
        waiting = sum(1 for s in self._sessions if _in_transaction(s) and not s.delivering)
        attempts = self.worker.busy - self.awaiting if self.worker is not None else 0
        return len(self.deliveries) + waiting + max(0, attempts)

    def start_delivery(self, work: Any) -> asyncio.Task[str]:
        """A message's delivery runs as its own task: an app that hangs up (its session
        task cancelled) does not cut it off, and it logs its outcome whatever happens."""
        task = asyncio.get_running_loop().create_task(work)
        self.deliveries.add(task)
        task.add_done_callback(self.deliveries.discard)
        return task

    async def _finish_in_flight(self) -> None:
        deadline = time.monotonic() + self.options.grace_seconds
        while self.busy_count() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.worker is not None:  # attempts still going: cancelled, retried next start
            await self.worker.stop(max(0.0, deadline - time.monotonic()))
        left = self.busy_count()
        if left:
            self.events.event(f"grace period over: closing {left} unfinished session(s)")
        for task in list(self.deliveries):
            task.cancel()
        if self.deliveries:
            await asyncio.wait(set(self.deliveries))  # each logs its outcome first
        for session in list(self._sessions):
            transport = getattr(session, "transport", None)
            if transport is not None:
                transport.close()

    def _listen(self, loop: asyncio.AbstractEventLoop) -> Any:
        """On a PostgreSQL store: a thread LISTENing for saves (the watch looks at once)
        and for queue retries (the worker looks at once)."""
        database = self.store.file.locations.database
        if database is None:
            return None
        from mailstage.store.pg_listen import QUEUE_CHANNEL, STORE_CHANNEL, Listener

        def notified(channel: str, payload: str) -> None:
            if channel == QUEUE_CHANNEL:
                if self.worker is not None:
                    loop.call_soon_threadsafe(self.worker.wake.set)
            else:  # a save, or listening (again) after missing some
                loop.call_soon_threadsafe(self._reload_now.set)

        def failed(text: str) -> None:
            loop.call_soon_threadsafe(self.events.event, text)

        channels = (STORE_CHANNEL, QUEUE_CHANNEL)
        return Listener(database, channels, notified, on_error=failed).start()

    def _reload_forced(self) -> None:
        self._forced = True
        self._reload_now.set()

    async def _watch(self) -> None:
        while True:
            listening = self._listener is not None and self._listener.listening
            try:
                await asyncio.wait_for(
                    self._reload_now.wait(), LISTENING_WATCH_SECONDS if listening else WATCH_SECONDS
                )
            except TimeoutError:
                pass
            forced, self._forced = self._forced, False
            self._reload_now.clear()
            if forced or self.store.changed():
                await self._reload("SIGHUP" if forced else "the store changed")

    async def _reload(self, why: str) -> None:
        async with self._reading:
            await self._reload_locked(why)

    async def _reload_locked(self, why: str) -> None:
        try:
            await self.store.reload()
        except (MailstageError, OSError, ValueError) as exc:
            self._reload_failed(why, exc)
        else:
            self._reloaded(why)

    async def fresh_store(self) -> StoreData:
        """The store as it is on disk now: the routing decision of every message asks
        (one reading at a time; a session that waited on another's reading checks again)."""
        if self.store.changed():
            async with self._reading:
                if self.store.changed():
                    await self._reload_locked("the store changed")
        return self.store.data

    def _fresh_store_now(self) -> StoreData:
        """The same, read in this thread: the AUTH check is not a coroutine."""
        if self.store.changed():
            try:
                self.store.reload_now()
            except (MailstageError, OSError, ValueError) as exc:
                self._reload_failed("the store changed", exc)
            else:
                self._reloaded("the store changed")
        return self.store.data

    def _reload_failed(self, why: str, exc: Exception) -> None:
        self.events.event(f"reload after {why} failed, keeping the last configuration: {exc}")

    def _reloaded(self, why: str) -> None:
        stage = self.store.data.stage(self.options.stage)
        state = "configured" if stage is not None and stage.email else "NOT configured"
        if stage is None:
            state = "missing from the store"
        self.events.event(
            f"reloaded the store after {why} (version {self.store.file.generation}); "
            f"stage {self.stage_name} {state}"
        )

    def log(self, record: LogRecord) -> None:
        """One event line and one email log record (the worker logs through it too)."""
        routed = ", test list" if record.redirected else ""
        queued = f", queue entry {record.queue_id}" if record.queue_id else ""
        refused = "".join(f"; refused {a}: {w}" for a, w in record.refused.items())
        self.events.event(
            f"{record.outcome}: app {record.app} from {record.peer}, {record.message_id or '-'}, "
            f"{len(record.recipients)} recipient(s){routed}{queued}, {record.ms} ms: "
            f"{record.reply}{refused}"
        )
        try:
            self.maillog.append(record)
        except (OSError, MailstageError) as exc:
            self.events.event(f"the email log could not be written: {exc}")

    # -- the SMTP conversation -------------------------------------------------------------

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """One line, not a traceback, per kind of trouble a minute: past the file limit
        asyncio's accept loop reports every failed accept."""
        message = str(context.get("message", "event loop error"))
        error = context.get("exception")
        detail = f": {error}" if error is not None else ""
        if isinstance(error, OSError) and error.errno in (errno.EMFILE, errno.ENFILE):
            detail += " (out of file descriptors: lower --max-connections or raise LimitNOFILE)"
        self._refusals.note(
            message,
            f"{message}{detail}; repeats are counted for a minute",
            lambda count: f"{message}: {count} more time(s) in the last minute",
        )

    def _new_session(self) -> asyncio.Protocol:
        limit = self.options.max_connections
        if len(self._sessions) >= limit:
            self._refusals.note(
                "max-connections",
                f"connection refused with 421: {limit} app connections open, the limit "
                "(--max-connections); further refusals are counted for a minute",
                lambda count: (
                    f"{count} more connection(s) refused in the last minute "
                    f"(--max-connections {limit})"
                ),
            )
            return Refused(
                f"421 4.7.0 The relay has {limit} connections open, its limit; try again shortly"
            )
        session = AppSession(
            RelayHandler(self), self._session_options, self.slots, on_close=self._sessions.discard
        )
        self._sessions.add(session)  # counted now: a burst of accepts comes before any starts
        return session

    def authenticate(
        self, session: AppSession, mechanism: str, user: bytes, password: bytes
    ) -> str | None:
        """The app's name when the login is good (the store as it is now), else None."""
        name = user.decode("utf-8", "replace")
        app = app_named(self._fresh_store_now(), name) if name else None
        stored = app.relay_credential(self.options.stage) if app is not None else None
        if app is not None and password_matches(password.decode("utf-8", "replace"), stored):
            return app.name
        host = _peer(session).rpartition(":")[0]
        self._failed_logins.note(
            host,
            f"login refused: user {name!r} from {_peer(session)} ({mechanism}); further "
            "failures from this address are counted for a minute",
            lambda count: f"login refused {count} more time(s) from {host} in the last minute",
        )
        return None


class RelayHandler:
    """What the relay decides in one app's conversation (relay/app_session.py asks)."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def login(
        self, session: AppSession, mechanism: str, user: bytes, password: bytes
    ) -> str | None:
        return self.relay.authenticate(session, mechanism, user, password)

    def mail(self, session: AppSession, address: str, options: list[str]) -> str | None:
        if self.relay.stopping:
            return "421 4.3.2 The relay is shutting down; try again shortly"
        return envelope_refusal(address, role="sender", smtputf8="SMTPUTF8" in options)

    def rcpt(self, session: AppSession, address: str) -> str | None:
        return envelope_refusal(address, role="recipient", smtputf8=session.envelope.smtp_utf8)

    def _record(self, session: AppSession, envelope: Envelope) -> LogRecord:
        return LogRecord(
            source="relay",
            stage=self.relay.stage_name,
            app=session.app,
            outcome="deferred",
            recipients=list(envelope.rcpt_tos),
            peer=_peer(session),
        )

    def data(self, session: AppSession, envelope: Envelope) -> asyncio.Future[str]:
        """The delivery starts now, as a task of its own: the app may hang up, the
        message is still here (and logged once)."""
        record = self._record(session, envelope)
        slot = session.slot
        delivery = self.relay.start_delivery(self._deliver(envelope, record, slot))
        _held_until_done(slot, delivery)
        return delivery

    async def _deliver(self, envelope: Envelope, record: LogRecord, slot: Slot | None) -> str:
        """Exactly one log record for the message, whatever ends the delivery."""
        relay = self.relay
        started = time.perf_counter()
        reply = "451 4.3.0 The relay stopped before sending the message; not sent"
        logged = False  # by the delivery worker, when the first attempt ended in time
        refusal = header_refusal(envelope.content or b"")
        try:
            if refusal is not None:
                reply = refusal
            elif relay.queue is not None:
                reply, logged = await self._through_queue(envelope, record, slot)
            else:
                reply = await self._relay(envelope, record)
        except asyncio.CancelledError:
            if record.queue_id:  # in the queue: the next start tries it again
                record.outcome = "queued"
                reply = f"250 2.0.0 Queued as {record.queue_id}: the relay stopped meanwhile"
            elif record.message_id:  # cancelled while upstream had it: nobody knows
                reply = (
                    "451 4.4.0 The relay stopped while the message was going upstream: "
                    "the outcome is unknown"
                )
            raise
        except Exception as exc:  # never a traceback to the app, never a lost message
            reply = f"451 4.3.0 The relay failed unexpectedly ({type(exc).__name__})"
        finally:
            if logged:
                record.reply = reply_line(reply)
            else:
                self._finish(record, reply, started)
        return record.reply

    def _finish(self, record: LogRecord, reply: str, started: float) -> None:
        record.reply = reply_line(reply)
        if record.outcome != "queued":
            record.outcome = (
                "sent" if reply[:1] == "2" else "refused" if reply[:1] == "5" else "deferred"
            )
        record.ms = round((time.perf_counter() - started) * 1000)
        self.relay.log(record)

    def refused_in_data(self, session: AppSession, refusal: str) -> str:
        """The message was refused at its end (too large, a line too long): the app gets
        a sentence and the email log a record."""
        if refusal == "too_much":
            reply = (
                f"552 5.3.4 The message is larger than the relay's limit of "
                f"{self.relay.options.max_size} bytes (--max-size); not sent"
            )
        else:
            reply = (
                "500 5.5.2 A line of the message is longer than 1000 characters "
                "(RFC 5321 4.5.3.1.6); not sent"
            )
        self._finish(self._record(session, session.envelope), reply, time.perf_counter())
        return reply

    async def _through_queue(
        self, envelope: Envelope, record: LogRecord, slot: Slot | None
    ) -> tuple[str, bool]:
        """The routing decided now, the entry written (it outlives the relay), then the
        first attempt for at most --first-attempt seconds; it goes on after that, and
        counts once. The entry is synced only before a "Queued" answer. Returns the app's
        reply and whether the worker logged the outcome already."""
        relay = self.relay
        assert relay.queue is not None and relay.worker is not None
        data = await relay.fresh_store()
        stage = data.stage(relay.options.stage)
        app = app_named(data, record.app) if record.app else None
        if stage is None:
            return f"451 4.3.0 The stage {relay.options.stage} no longer exists", False
        if app is None:
            return f"451 4.7.0 The app {record.app} no longer exists in stage {stage.name}", False
        options = [option.upper() for option in envelope.mail_options]
        entry = QueueEntry(
            stage=stage.name,
            app=app.name,
            message=envelope.content or b"",
            recipients=list(envelope.rcpt_tos),
            original=list(dict.fromkeys(envelope.rcpt_tos)),
            peer=record.peer,
            smtputf8="SMTPUTF8" in options,
            eight_bit="BODY=8BITMIME" in options,
            routed=False,
        )
        if stage.email is not None:  # else routed on the first attempt that can
            route_now(entry, data, stage, stage.email)
        envelope.content = None  # the entry's copy is enough
        record.message_id, record.subject = entry.message_id, entry.subject
        record.redirected, record.queue_id = entry.redirected, entry.id
        try:  # written now (it outlives the relay); synced only if the app hears "queued"
            lease = await relay.queue.put_async(entry, durable=False)
        except QueueWriteFailed as exc:  # nothing is claimed: the app keeps the message
            return _not_accepted(exc), False
        attempt = relay.worker.start(lease, first=True)
        _held_until_done(slot, attempt)  # an attempt going on after `Queued as` counts too
        relay.awaiting += 1
        try:  # asyncio.wait: the attempt goes on after the time (no shield needed)
            finished, _ = await asyncio.wait({attempt}, timeout=relay.options.first_attempt)
            if not finished:
                reason = f"no answer from upstream within {relay.options.first_attempt:g} s"
            else:
                result: Attempt = attempt.result()
                if result.final:
                    return result.reply, True
                reason = _why_not_yet(result.reply)
            # sent or refused for good needs no copy here; "queued" needs one that
            # outlives the machine: the sync is paid only now
            await relay.queue.make_durable(lease)
        except QueueWriteFailed as exc:  # the attempt under way may still send it, once
            return _not_accepted(exc), False
        finally:
            relay.awaiting -= 1
        relay.worker.told_queued(entry.id)
        record.outcome = "queued"
        return f"250 2.0.0 Queued as {entry.id}: {reason}", False

    async def _relay(self, envelope: Envelope, record: LogRecord) -> str:
        data = await self.relay.fresh_store()
        stage = data.stage(self.relay.options.stage)
        app = app_named(data, record.app) if record.app else None
        if stage is None:
            return f"451 4.3.0 The stage {self.relay.options.stage} no longer exists"
        if app is None:
            return f"451 4.7.0 The app {record.app} no longer exists in stage {stage.name}"
        config = stage.email
        if config is None:
            return f"451 4.3.5 Stage {stage.name} has no email configuration yet"
        content = envelope.content or b""
        try:
            prepared = prepare(
                content, list(envelope.rcpt_tos), app=app, stage=stage, config=config
            )
        except InvalidInput as exc:
            return f"451 4.3.0 {exc.message}"
        record.message_id, record.subject = prepared.message_id, prepared.subject
        record.redirected = prepared.redirected
        options = [option.upper() for option in envelope.mail_options]
        envelope.content = None  # the prepared copy is enough
        try:
            upstream = await self.relay.pool.deliver(
                config,
                prepared.data,
                prepared.recipients,
                smtputf8="SMTPUTF8" in options,
                eight_bit="BODY=8BITMIME" in options,
                deadline=Deadline(self.relay.options.upstream_deadline),
            )
        except UpstreamRefused as refused:
            return refused.reply
        except UpstreamUnknown as unknown:
            return (
                f"451 4.4.7 The outcome is unknown: {config.server} took the whole message "
                f"but gave no final reply ({unknown.reason}); it may have been sent"
            )
        except UpstreamDeferred as deferred:
            return deferred_reply(deferred, config.server)
        record.delivered_to = list(prepared.recipients)
        return f"250 2.0.0 Sent through {config.server}: {upstream}"


def _held_until_done(slot: Slot | None, task: asyncio.Task[Any]) -> None:
    if slot is not None:
        slot.hold()
        task.add_done_callback(lambda _: slot.drop())


def _not_accepted(failed: QueueWriteFailed) -> str:
    """Nothing is claimed: the app keeps the message (452 when the disk is full)."""
    return f"{'452 4.3.1' if failed.full else '451 4.3.0'} Not accepted: {failed.message}"


def _why_not_yet(reply: str) -> str:
    """A 4xx line without its codes and its advice to the app ("try again later"):
    the relay is the one that tries again now."""
    words = reply.split(" ", 2)
    text = words[2] if len(words) == 3 and words[1][:2] == "4." else reply
    return text.removeprefix("Not sent, try again later: ")


def _in_transaction(session: Any) -> bool:
    envelope = getattr(session, "envelope", None)
    return envelope is not None and envelope.mail_from is not None


def _peer(session: Any) -> str:
    peer = getattr(session, "peer", None)
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return str(peer or "")
