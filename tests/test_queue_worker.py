"""The delivery worker against a real upstream on loopback: due entries delivered once,
only to the recipients that had not accepted, partial refusals logged per recipient
and notified (RFC 3464), exponential backoff, expiry."""

from __future__ import annotations

import asyncio
import io
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from mailstage.mailer.maillog import LogRecord
from mailstage.relay.events import EventLog
from mailstage.relay.file_queue import FileQueue
from mailstage.relay.queue import QueueEntry
from mailstage.relay.upstream_pool import UpstreamPool
from mailstage.relay.worker import DeliveryWorker, WorkerOptions, backoff
from mailstage.store.models import StoreData
from tests.loopback import basic_config, refused_port, stage
from tests.store_factory import full_workspace


def message(number: int = 0) -> bytes:
    return (
        f"Subject: order {number}\r\nMessage-ID: <q{number}@shop.example>\r\n"
        f"From: shop@shop.example\r\n\r\nbody {number}\r\n"
    ).encode()


def entry(number: int = 0, recipients: list[str] | None = None, **extra: object) -> QueueEntry:
    recipients = recipients or ["a@buyers.example", "b@buyers.example"]
    return QueueEntry(
        stage="QA",
        app="Shop",
        message=message(number),
        recipients=recipients,
        original=list(recipients),
        message_id=f"<q{number}@shop.example>",
        subject=f"order {number}",
        **extra,  # type: ignore[arg-type]
    )


class Harness:
    def __init__(self, tmp_path: Path, port: int, ca_file: Path, **options: object) -> None:
        self.queue = FileQueue.of_store(full_workspace(tmp_path).file)
        config = basic_config(port, ca_file=ca_file)
        qa = stage("QA").model_copy(update={"email": config})
        self.data = StoreData(stages=[qa])
        self.records: list[LogRecord] = []
        self.events = io.StringIO()

        async def fresh() -> StoreData:
            return self.data

        self.pool = UpstreamPool(2, timeout=5)
        self.worker = DeliveryWorker(
            self.queue,
            self.pool,
            stage="QA",
            fresh_store=fresh,
            log=self.records.append,
            events=EventLog(self.events),
            options=WorkerOptions(**options),  # type: ignore[arg-type]
        )

    async def attempt(self, queued: QueueEntry, *, first: bool = False):
        lease = await asyncio.to_thread(self.queue.put, queued)
        return await self.worker.attempt(lease, first=first)

    async def close(self) -> None:
        await self.pool.close_idle()


@pytest.fixture
def harness(tmp_path, smtp_server, certificates):
    return Harness(tmp_path, smtp_server.port, certificates.ca_file)


async def test_an_entry_is_sent_logged_and_removed(harness, smtp_server):
    result = await harness.attempt(entry(1))
    await harness.close()
    assert result.kind == "sent" and result.reply.startswith("250 2.0.0 Sent through")
    assert [m.rcpt_tos for m in smtp_server.messages] == [["a@buyers.example", "b@buyers.example"]]
    assert harness.queue.list() == []
    (record,) = harness.records
    assert record.outcome == "sent" and record.queue_id
    assert record.delivered_to == ["a@buyers.example", "b@buyers.example"]


async def test_never_twice_to_a_recipient_that_accepted(harness, smtp_server):
    result = await harness.attempt(entry(2, accepted=["a@buyers.example"], attempts=1))
    await harness.close()
    assert result.kind == "sent"
    assert [m.rcpt_tos for m in smtp_server.messages] == [["b@buyers.example"]]
    assert harness.records[0].delivered_to == ["a@buyers.example", "b@buyers.example"]


async def test_partial_refusal_is_logged_per_recipient_and_notified(
    tmp_path, smtp_server_factory, certificates
):
    server = smtp_server_factory(refuse_recipients_with="nobody")
    harness = Harness(tmp_path, server.port, certificates.ca_file, notify_to="admin@ops.example")
    result = await harness.attempt(entry(3, ["a@buyers.example", "nobody@buyers.example"]))
    await harness.close()
    assert result.kind == "partial" and result.reply.startswith("250 ")
    assert "nobody@buyers.example (550 5.1.1" in result.reply
    (record,) = harness.records
    assert record.outcome == "sent"
    assert record.delivered_to == ["a@buyers.example"]
    assert list(record.refused) == ["nobody@buyers.example"]
    assert record.refused["nobody@buyers.example"].startswith("550 5.1.1")

    delivered, dsn = server.messages
    assert delivered.rcpt_tos == ["a@buyers.example"]
    assert dsn.rcpt_tos == ["admin@ops.example"]
    report = message_from_bytes(dsn.content, policy=default_policy)
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    parts = list(report.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        "text/plain",
        "message/delivery-status",
        "text/rfc822-headers",
    ]
    status = dsn.content.decode()
    assert "Final-Recipient: rfc822; nobody@buyers.example" in status
    assert "Action: failed" in status and "Status: 5.1.1" in status
    assert "Diagnostic-Code: smtp; 550 5.1.1" in status
    assert "Message-ID: <q3@shop.example>" in status and "body 3" not in status


async def test_every_recipient_refused_is_refused_without_notification(
    tmp_path, smtp_server_factory, certificates
):
    server = smtp_server_factory(refuse_recipients_with="nobody")
    harness = Harness(tmp_path, server.port, certificates.ca_file, notify_to="admin@ops.example")
    result = await harness.attempt(entry(4, ["nobody@buyers.example"]))
    await harness.close()
    assert result.kind == "refused" and result.reply.startswith("550 5.1.1")
    assert server.messages == []  # the app hears the 5xx itself: no DSN
    assert harness.records[0].outcome == "refused"
    assert harness.queue.list() == []


async def test_unreachable_upstream_backs_off_then_expires(tmp_path, certificates):
    harness = Harness(tmp_path, refused_port(), certificates.ca_file, retry_after=30.0)
    queued = entry(5)
    before = time.time()
    result = await harness.attempt(queued, first=True)
    assert result.kind == "deferred" and result.reply.startswith("451 4.4.1")
    (item,) = harness.queue.list()
    assert item.attempts == 1 and item.state == "queued"
    assert before + 30 <= item.next_attempt <= time.time() + 30
    assert "refused" in item.last_reply
    assert harness.records == []  # the relay logs `queued` for a first attempt

    lease = harness.queue.lease(queued.id)
    assert lease is not None
    second = await harness.worker.attempt(lease)
    assert second.kind == "deferred"
    (item,) = harness.queue.list()
    assert item.attempts == 2
    assert item.next_attempt >= time.time() + 59  # doubled
    assert "retry: queue entry" in harness.events.getvalue()

    harness.worker.options.lifetime = 0.0  # its time is up
    lease = harness.queue.lease(queued.id)
    assert lease is not None
    third = await harness.worker.attempt(lease)
    assert third.kind == "expired"
    assert harness.queue.list() == []
    (record,) = harness.records
    assert record.outcome == "expired" and record.delivered_to == []
    assert record.reply.startswith("451 ")


def test_backoff_doubles_up_to_an_hour():
    assert [backoff(n, 60) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert backoff(1, 4) == 4 and backoff(3, 4) == 16
    assert backoff(5, 7200) == 7200  # a retry-after longer than an hour stays as given


async def test_the_loop_delivers_what_is_due_and_skips_what_is_not(harness, smtp_server):
    due = [entry(n, next_attempt=0.0) for n in range(5)]
    later = entry(9, next_attempt=time.time() + 3600)
    held = entry(10, next_attempt=0.0, held=True)
    for queued in (*due, later, held):
        harness.queue.unlock(harness.queue.put(queued))
    loop = asyncio.create_task(harness.worker.run())
    try:
        deadline = time.monotonic() + 60
        while len(smtp_server.messages) < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        harness.queue.retry(later.id)  # `queue retry`: picked up within a second
        while len(smtp_server.messages) < 6 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.6)  # one more round: nothing else goes
    finally:
        loop.cancel()
        await harness.worker.stop(5)
        await harness.close()
    subjects = sorted(m.message["Subject"] for m in smtp_server.messages)
    assert subjects == sorted(f"order {n}" for n in (0, 1, 2, 3, 4, 9))
    assert [item.id for item in harness.queue.list()] == [held.id]


def test_an_expiry_notification_says_4_4_7_per_pending_recipient():
    from mailstage.relay.dsn import build_dsn

    queued = entry(8, accepted=["a@buyers.example"], attempts=9)
    config = basic_config(2525)
    raw = build_dsn(
        queued,
        {"b@buyers.example": "451 4.4.1 Not sent, try again later: connect: refused"},
        config=config,
        notify_to="admin@ops.example",
        reporting_host="relay.example",
        expired=True,
    )
    report = message_from_bytes(raw, policy=default_policy)
    assert report.get_content_type() == "multipart/report"
    assert "expired in the queue" in str(report["Subject"])
    text = raw.decode()
    assert "Reporting-MTA: dns; relay.example" in text
    assert "Final-Recipient: rfc822; b@buyers.example" in text and "Status: 4.4.7" in text
    assert "a@buyers.example" not in text.split("message/delivery-status", 1)[1].split("--")[0]
    assert "body 8" not in text
