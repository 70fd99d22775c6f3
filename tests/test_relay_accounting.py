"""Every message that reached DATA gets exactly one email-log record, whatever happens:
the app hangs up while upstream is slow, the session timer fires during upstream RCPTs,
the message is too large or has a line too long, upstream answers the final dot late
or never (then the outcome is unknown, never "not sent"). Real sockets: the relay in
this event loop, a scripted upstream on loopback."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import socket
import struct
import time

import pytest

from tests.cli_runner import run_cli
from tests.hostile_servers import ScriptedSmtp, SmtpScript
from tests.relay_harness import credentials
from tests.relay_inprocess import log_records, running_relay
from tests.test_hostile_echoed_secrets import set_basic

TO = "someone@buyers.example"


def message(number: int, body: str = "hello\r\n") -> bytes:
    return f"Subject: m{number}\r\nMessage-ID: <m{number}@shop.example>\r\n\r\n{body}".encode()


@pytest.fixture
def upstream(initialized):
    server = ScriptedSmtp(SmtpScript())
    set_basic(server.port)
    assert run_cli("app", "add", "Shop").returncode == 0
    server.password = credentials()  # type: ignore[attr-defined]
    yield server
    server.stop()


def send(port: int, password: str, data: bytes, to: list[str] | None = None) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.login("Shop", password)
        smtp.esmtp_features.pop("size", None)  # an app that does not read SIZE
        smtp.sendmail("app@shop.example", to or [TO], data)


def hang_up_after_the_dot(port: int, password: str, data: bytes) -> None:
    """An app that sends a whole message and leaves without waiting for the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        plain = base64.b64encode(f"\0Shop\0{password}".encode()).decode()
        for line in ("EHLO app", f"AUTH PLAIN {plain}", "MAIL FROM:<a@shop.example>",
                     f"RCPT TO:<{TO}>", "DATA"):  # fmt: skip
            sock.sendall(line.encode() + b"\r\n")
            while (reply := reader.readline())[3:4] == b"-":
                pass
            assert reply[:1] in (b"2", b"3"), reply
        sock.sendall(data + b".\r\n")
        time.sleep(0.2)  # the relay has the whole message and is sending it upstream
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def until(predicate, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    assert predicate()


def records_of(message_id: str):
    return [r for r in log_records() if r.message_id == message_id]


async def test_an_app_that_hangs_up_while_upstream_is_slow_is_logged_once(upstream):
    upstream.script.data_delay = 1.0
    async with running_relay() as (relay, _events):
        await asyncio.to_thread(hang_up_after_the_dot, relay.port, upstream.password, message(1))
        await until(lambda: len(records_of("<m1@shop.example>")) == 1)
        [record] = records_of("<m1@shop.example>")
        assert record.outcome == "sent"  # the delivery went on: the log says what happened
        await until(lambda: relay.busy_count() == 0)  # no phantom message in flight
        relay.request_stop()
    assert not any("grace period over" in line for line in _events.lines)
    assert len(records_of("<m1@shop.example>")) == 1


async def test_the_session_timer_does_not_cut_a_message_during_upstream_rcpts(upstream):
    upstream.script.rcpt_delay = 0.3
    recipients = [f"r{n}@buyers.example" for n in range(4)]
    async with running_relay(session_timeout=0.5) as (relay, _events):
        await asyncio.to_thread(send, relay.port, upstream.password, message(2), recipients)
    [record] = records_of("<m2@shop.example>")
    assert record.outcome == "sent"


async def test_the_upstream_conversation_has_one_deadline(upstream):
    upstream.script.rcpt_delay = 0.4  # each step answers within its own limit...
    recipients = [f"r{n}@buyers.example" for n in range(6)]
    async with running_relay(upstream_deadline=1.0) as (relay, _events):
        with pytest.raises(smtplib.SMTPDataError) as caught:
            await asyncio.to_thread(send, relay.port, upstream.password, message(3), recipients)
    assert caught.value.smtp_code == 451  # ...but all of them together take too long
    assert b"time limit" in caught.value.smtp_error
    [record] = records_of("<m3@shop.example>")
    assert record.outcome == "deferred" and "time limit" in record.reply
    assert not upstream.script.data  # nothing went past the RCPTs


async def test_too_large_and_too_long_lines_are_refused_and_logged(upstream):
    async with running_relay(max_size=2048) as (relay, _events):
        with pytest.raises(smtplib.SMTPDataError) as large:
            await asyncio.to_thread(
                send, relay.port, upstream.password, message(4, "x" * 70 + "\r\n") * 60
            )
        with pytest.raises(smtplib.SMTPDataError) as long_line:
            await asyncio.to_thread(send, relay.port, upstream.password, message(5, "y" * 1500))
    assert large.value.smtp_code == 552 and b"2048 bytes" in large.value.smtp_error
    assert long_line.value.smtp_code == 500 and b"1000" in long_line.value.smtp_error
    records = [r for r in log_records() if r.app == "Shop"]
    assert [(r.outcome, r.reply[:3]) for r in records] == [("refused", "552"), ("refused", "500")]
    assert all(r.recipients == [TO] for r in records)


async def test_a_final_reply_later_than_a_step_timeout_is_waited_for(upstream):
    upstream.script.data_delay = 1.0
    async with running_relay(upstream_step_seconds=0.3, final_reply_seconds=20) as (relay, _e):
        await asyncio.to_thread(send, relay.port, upstream.password, message(6))
    [record] = records_of("<m6@shop.example>")
    assert record.outcome == "sent"


async def test_no_final_reply_in_time_means_the_outcome_is_unknown(upstream):
    upstream.script.data_delay = 5.0
    async with running_relay(final_reply_seconds=0.5) as (relay, _events):
        with pytest.raises(smtplib.SMTPDataError) as caught:
            await asyncio.to_thread(send, relay.port, upstream.password, message(7))
    reply = caught.value.smtp_error.decode()
    assert caught.value.smtp_code == 451 and reply.startswith("4.4.")
    assert "outcome is unknown" in reply and "not sent" not in reply.lower()
    [record] = records_of("<m7@shop.example>")
    assert record.outcome == "deferred" and "outcome is unknown" in record.reply
