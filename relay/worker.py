"""The delivery worker: sends the queue's entries upstream, one attempt per lease.

An attempt goes to the recipients that have not yet accepted (never twice to one that
did) through the stage's configuration as it is now. Upstream's answer per recipient
settles it: accepted, refused for good (5xx) or still pending (4xx, unreachable, token
error, no configuration). An entry with nobody pending is done (logged `sent` or
`refused`, with each refused recipient and upstream's words); one still pending is
tried again after a backoff that starts at --retry-after and doubles up to an hour,
until --queue-lifetime has passed since it was queued (logged `expired`). With
--notify-to, refusals and expiries of a message the app was told was queued or sent
are also reported there as an RFC 3464 delivery status notification.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from mailstage.mailer.maillog import LogRecord, Outcome
from mailstage.relay.app_lookup import app_named
from mailstage.relay.dsn import build_dsn
from mailstage.relay.events import EventLog
from mailstage.relay.message import prepare
from mailstage.relay.queue import Lease, QueueEntry, QueueWriteFailed, RelayQueue
from mailstage.relay.upstream_pool import UpstreamDeferred, UpstreamPool, UpstreamRefused
from mailstage.store.errors import InvalidInput
from mailstage.store.models import EmailConfig, Stage, StoreData

DEFAULT_RETRY_AFTER = 60.0
MAX_BACKOFF = 3600.0
DEFAULT_LIFETIME = 5 * 86400.0
POLL_SECONDS = 0.5  # `queue retry` is picked up within a second

Kind = Literal["sent", "partial", "refused", "deferred", "expired"]


@dataclass
class WorkerOptions:
    retry_after: float = DEFAULT_RETRY_AFTER
    lifetime: float = DEFAULT_LIFETIME
    notify_to: str | None = None
    poll_seconds: float = POLL_SECONDS
    concurrency: int = 6  # attempts in flight at once (the pool bounds connections)


@dataclass(frozen=True)
class Attempt:
    """How one attempt ended, and what an app still waiting for it is told."""

    kind: Kind
    reply: str

    @property
    def final(self) -> bool:
        return self.kind != "deferred"


def backoff(attempts: int, retry_after: float) -> float:
    """Seconds before the next attempt, after ``attempts`` attempts: retry_after,
    doubling, at most an hour (or retry_after, if that is longer)."""
    ceiling = max(MAX_BACKOFF, retry_after)
    return float(min(ceiling, retry_after * 2 ** max(0, attempts - 1)))


def deferred_reply(deferred: UpstreamDeferred, server: str) -> str:
    """Why it could not go now, as a 4xx line (the words a queued entry keeps)."""
    if deferred.reply[:1] == "4":
        words = deferred.reply.split(" ", 2)
        enhanced = words[1] if len(words) > 1 and words[1][:2] == "4." else "4.3.0"
        return f"451 {enhanced} {server} answered: {deferred.reply}"
    step = deferred.reason.split(":", 1)[0]
    enhanced = "4.7.0" if step in ("token", "auth") else "4.4.1"
    if "busy" in deferred.reason:
        enhanced = "4.3.2"
    return f"451 {enhanced} Not sent, try again later: {deferred.reason}"


def record_of(entry: QueueEntry, outcome: Outcome, reply: str, ms: int) -> LogRecord:
    return LogRecord(
        source="relay",
        stage=entry.stage,
        app=entry.app,
        outcome=outcome,
        message_id=entry.message_id,
        subject=entry.subject,
        recipients=list(entry.original),
        delivered_to=list(entry.accepted),
        redirected=entry.redirected,
        reply=reply,
        ms=ms,
        peer=entry.peer,
        queue_id=entry.id,
        refused=dict(entry.refused),
    )


class DeliveryWorker:
    def __init__(
        self,
        queue: RelayQueue,
        pool: UpstreamPool,
        *,
        stage: str,
        fresh_store: Callable[[], Awaitable[StoreData]],
        log: Callable[[LogRecord], None],
        events: EventLog,
        options: WorkerOptions | None = None,
        hostname: str = "localhost",
    ) -> None:
        self.queue = queue
        self.pool = pool
        self.stage = stage
        self.fresh_store = fresh_store
        self.log = log
        self.events = events
        self.options = options or WorkerOptions()
        self.hostname = hostname
        self.wake = asyncio.Event()
        self._active: dict[str, asyncio.Task[Attempt]] = {}
        self._told_queued: set[str] = set()  # the app heard "queued": tell refusals by DSN
        self._not_before: dict[str, float] = {}  # entries whose update could not be written

    @property
    def busy(self) -> int:
        return len(self._active)

    # -- the loop ----------------------------------------------------------------

    async def run(self) -> None:
        """Attempt what is due, forever (cancel to stop); a retry from `mailstage queue
        retry` or a relay killed earlier is picked up within poll_seconds."""
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self.queue.remove_leftovers)
        while True:
            try:
                await self._start_due()
            except OSError as exc:
                self.events.event(f"the queue could not be read: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.options.poll_seconds)
            self.wake.clear()

    async def _start_due(self) -> None:
        room = self.options.concurrency - len(self._active)
        if room <= 0:
            return
        for entry_id in await asyncio.to_thread(self.queue.due, self.stage):
            if room <= 0:
                return
            if entry_id in self._active or self._not_before.get(entry_id, 0.0) > time.time():
                continue
            lease = await asyncio.to_thread(self.queue.try_lease, entry_id)
            if lease is None:
                continue  # another relay has it, or it was finished meanwhile
            self.start(lease)
            room -= 1

    def start(self, lease: Lease, *, first: bool = False) -> asyncio.Task[Attempt]:
        """Attempt the leased entry in its own task (the relay's first attempt awaits it
        for at most --first-attempt; the attempt goes on regardless and counts once)."""
        task = asyncio.get_running_loop().create_task(self.attempt(lease, first=first))
        self._active[lease.entry.id] = task
        task.add_done_callback(lambda _: self._active.pop(lease.entry.id, None))
        return task

    def told_queued(self, entry_id: str) -> None:
        self._told_queued.add(entry_id)

    async def stop(self, grace: float) -> None:
        """Let attempts in flight finish for up to ``grace`` seconds, then cancel them
        (a cancelled attempt leaves its entry as it was: the next start retries it)."""
        tasks = list(self._active.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self.queue.close()

    # -- one attempt -----------------------------------------------------------------

    async def attempt(self, lease: Lease, *, first: bool = False) -> Attempt:
        started = time.perf_counter()
        entry = lease.entry
        try:
            config, reply = await self._send(entry)
            result = self._settle(entry, reply, config)
            await self._write(lease, result)
        except QueueWriteFailed as exc:
            self.queue.unlock(lease)
            # what the file says is stale now: not again before the backoff, in this process
            self._not_before[entry.id] = time.time() + self.options.retry_after
            self.events.event(f"queue entry {entry.id} could not be updated: {exc}")
            return Attempt("deferred", f"452 4.3.1 {exc}")
        except BaseException:
            self.queue.unlock(lease)  # as it was: tried again later (or by the next start)
            raise
        ms = round((time.perf_counter() - started) * 1000)
        self._report(entry, result, ms, first=first)
        if result.final and config is not None:
            await self._notify(entry, result, config)
        if result.final:
            self._told_queued.discard(entry.id)
        return result

    async def _send(self, entry: QueueEntry) -> tuple[EmailConfig | None, str]:
        """Try upstream once for the pending recipients; records who accepted or refused
        in the entry and returns the reply that describes the attempt."""
        data = await self.fresh_store()
        stage = data.stage(entry.stage)
        if stage is None:
            return None, f"451 4.3.0 The stage {entry.stage} no longer exists"
        config = stage.email
        if config is None:
            return None, f"451 4.3.5 Stage {stage.name} has no email configuration yet"
        if not entry.routed:
            refusal = route_now(entry, data, stage, config)
            if refusal:
                return config, refusal
        pending = entry.pending
        refused: dict[str, str] = {}
        try:
            upstream = await self.pool.deliver(
                config,
                entry.message,
                pending,
                smtputf8=entry.smtputf8,
                eight_bit=entry.eight_bit,
                refused=refused,
            )
        except UpstreamRefused as exc:  # at MAIL or DATA: everyone not refused before
            self._refused(entry, {**dict.fromkeys(pending, exc.reply), **refused})
            return config, exc.reply
        except UpstreamDeferred as exc:
            self._refused(entry, refused)  # some may have been refused for good already
            return config, deferred_reply(exc, config.server)
        self._refused(entry, refused)
        entry.accepted.extend(r for r in pending if r not in refused)
        return config, f"250 2.0.0 Sent through {config.server}: {upstream}"

    @staticmethod
    def _refused(entry: QueueEntry, refused: dict[str, str]) -> None:
        """5xx settles a recipient; a 4xx leaves it pending."""
        for address, words in refused.items():
            if words[:1] == "5":
                entry.refused[address] = words

    def _settle(self, entry: QueueEntry, reply: str, config: EmailConfig | None) -> Attempt:
        entry.attempts += 1
        entry.last_reply = reply
        now = time.time()
        if not entry.pending:
            if not entry.refused:
                return Attempt("sent", reply)
            if not entry.accepted:
                return Attempt("refused", _first_refusal(entry, reply))
            server = config.server if config is not None else "upstream"
            return Attempt(
                "partial",
                f"250 2.0.0 Sent through {server} to {len(entry.accepted)} of "
                f"{len(entry.recipients)} recipients; refused: "
                + "; ".join(f"{a} ({w})" for a, w in entry.refused.items()),
            )
        expires = entry.queued_at + self.options.lifetime
        if now >= expires:
            return Attempt("expired", reply)
        wait = backoff(entry.attempts, self.options.retry_after)
        entry.next_attempt = min(now + wait, expires)
        return Attempt("deferred", reply)

    async def _write(self, lease: Lease, result: Attempt) -> None:
        if result.final:
            await self.queue.done_async(lease)
        else:
            await asyncio.to_thread(self.queue.defer, lease)

    def _report(self, entry: QueueEntry, result: Attempt, ms: int, *, first: bool) -> None:
        if result.kind == "deferred":
            if not first:  # the first one is logged `queued` by the relay
                wait = max(0.0, entry.next_attempt - time.time())
                self.events.event(
                    f"retry: queue entry {entry.id} (attempt {entry.attempts}) not sent: "
                    f"{result.reply}; next attempt in {wait:.0f} s"
                )
            return
        outcome: Outcome = {
            "sent": "sent",
            "partial": "sent",
            "refused": "refused",
            "expired": "expired",
        }[result.kind]  # type: ignore[assignment]
        self.log(record_of(entry, outcome, result.reply, ms))

    async def _notify(self, entry: QueueEntry, result: Attempt, config: EmailConfig) -> None:
        notify_to = self.options.notify_to
        if notify_to is None or result.kind == "sent":
            return
        told = entry.id in self._told_queued or entry.attempts > 1
        if result.kind == "refused" and not told:
            return  # the app heard the refusal itself
        expired = result.kind == "expired"
        failed = (
            {address: result.reply for address in entry.pending} if expired else dict(entry.refused)
        )
        if expired:
            failed.update(entry.refused)
        dsn = build_dsn(
            entry,
            failed,
            config=config,
            notify_to=notify_to,
            reporting_host=self.hostname,
            expired=expired,
        )
        try:
            await self.pool.deliver(config, dsn, [notify_to])
        except (UpstreamDeferred, UpstreamRefused) as exc:
            self.events.event(
                f"the delivery status notification for queue entry {entry.id} to "
                f"{notify_to} was not sent: {exc}"
            )
        else:
            self.events.event(
                f"notified {notify_to}: queue entry {entry.id} {result.kind} "
                f"({len(failed)} recipient(s))"
            )


def route_now(entry: QueueEntry, data: StoreData, stage: Stage, config: EmailConfig) -> str:
    """Decide the routing of an entry accepted before it could be (the test list as it
    is now), once; returns why it still cannot be, as a 4xx line, or ""."""
    app = app_named(data, entry.app) if entry.app else None
    if app is None:
        return f"451 4.7.0 The app {entry.app} no longer exists in stage {stage.name}"
    try:
        prepared = prepare(entry.message, entry.recipients, app=app, stage=stage, config=config)
    except InvalidInput as exc:
        return f"451 4.3.0 {exc.message}"
    entry.message, entry.recipients = prepared.data, prepared.recipients
    entry.message_id, entry.subject = prepared.message_id, prepared.subject
    entry.redirected, entry.routed = prepared.redirected, True
    return ""


def _first_refusal(entry: QueueEntry, reply: str) -> str:
    """The 5xx the app hears when every recipient was refused: upstream's own."""
    if reply[:1] == "5":
        return reply
    return next(iter(entry.refused.values()), reply)
