"""Memory: at most --max-messages messages in the relay at once. The app whose DATA
finds every place taken waits for one (no 354 until then), or hears 451 4.3.2 when
none comes free in time; every message still goes, once. And a large message costs
a few times its size, not eight: measured as the peak RSS of a relay process. Real
sockets: the relay in this event loop or as a process, a scripted upstream on
loopback."""

from __future__ import annotations

import asyncio
import select
import smtplib
import threading
from pathlib import Path

import pytest

from tests import test_relay_accounting
from tests.cli_runner import run_cli
from tests.raw_smtp_client import RawClient
from tests.relay_harness import start_relay
from tests.relay_inprocess import log_records, running_relay

TO = "someone@buyers.example"
upstream = test_relay_accounting.upstream  # the fixture: QA sending to a scripted server


def in_transaction(port: int, password: str) -> RawClient:
    client = RawClient(port)
    client.login("Shop", password)
    assert client.command("MAIL FROM:<app@shop.example>")[0] == 250
    assert client.command(f"RCPT TO:<{TO}>")[0] == 250
    return client


def waiting_reply(client: RawClient, seconds: float) -> bool:
    """Whether a reply arrived within ``seconds`` (nothing is read)."""
    return bool(select.select([client.sock], [], [], seconds)[0])


def message(number: int) -> bytes:
    return f"Subject: m{number}\r\nMessage-ID: <m{number}@shop.example>\r\n\r\nhello".encode()


def finish(client: RawClient, number: int) -> tuple[int, str]:
    client.sock.sendall(message(number) + b"\r\n.\r\n")
    return client.reply()


async def test_data_waits_for_a_place_then_every_message_goes_once(upstream):
    async with running_relay(max_messages=2) as (relay, _events):
        port, password = relay.port, upstream.password
        first, second, third = [
            await asyncio.to_thread(in_transaction, port, password) for _ in range(3)
        ]
        assert (await asyncio.to_thread(first.command, "DATA"))[0] == 354
        assert (await asyncio.to_thread(second.command, "DATA"))[0] == 354
        third.sock.sendall(b"DATA\r\n")
        # both places are taken by messages still coming in: the third app hears nothing
        assert not await asyncio.to_thread(waiting_reply, third, 1.0)
        assert (await asyncio.to_thread(finish, first, 1))[0] == 250
        assert (await asyncio.to_thread(third.reply))[0] == 354  # the place came free
        assert (await asyncio.to_thread(finish, third, 3))[0] == 250
        assert (await asyncio.to_thread(finish, second, 2))[0] == 250
        for client in (first, second, third):
            await asyncio.to_thread(client.close)  # QUIT: the relay runs in this loop
    ids = sorted(r.message_id for r in log_records() if r.app == "Shop")
    assert ids == [f"<m{n}@shop.example>" for n in (1, 2, 3)]
    subjects = [line for line in upstream.script.data if line.startswith("Subject:")]
    assert sorted(subjects) == ["Subject: m1", "Subject: m2", "Subject: m3"]


async def test_no_place_in_time_is_a_temporary_refusal_naming_the_limit(upstream):
    async with running_relay(max_messages=1, slot_wait_seconds=0.3) as (relay, _events):
        port, password = relay.port, upstream.password
        holder = await asyncio.to_thread(in_transaction, port, password)
        late = await asyncio.to_thread(in_transaction, port, password)
        assert (await asyncio.to_thread(holder.command, "DATA"))[0] == 354
        code, text = await asyncio.to_thread(late.command, "DATA")
        assert code == 451 and text.startswith("4.3.2") and "--max-messages" in text
        assert (await asyncio.to_thread(finish, holder, 4))[0] == 250
        # the refused app tries again on the same connection: now there is room
        assert (await asyncio.to_thread(late.command, "DATA"))[0] == 354
        assert (await asyncio.to_thread(finish, late, 5))[0] == 250
        await asyncio.to_thread(holder.close)
        await asyncio.to_thread(late.close)
    sent = sorted(r.message_id for r in log_records() if r.outcome == "sent")
    assert sent == ["<m4@shop.example>", "<m5@shop.example>"]


async def test_a_place_is_kept_while_the_first_attempt_goes_on_after_queued(upstream):
    upstream.script.data_delay = 1.5  # upstream answers after the app heard "Queued as"
    async with running_relay(queue=True, first_attempt=0.2, max_messages=1) as (relay, _e):
        port, password = relay.port, upstream.password
        first = await asyncio.to_thread(in_transaction, port, password)
        assert (await asyncio.to_thread(first.command, "DATA"))[0] == 354
        code, text = await asyncio.to_thread(finish, first, 6)
        assert code == 250 and "Queued as" in text
        second = await asyncio.to_thread(in_transaction, port, password)
        second.sock.sendall(b"DATA\r\n")
        assert not await asyncio.to_thread(waiting_reply, second, 0.5)  # still sending m6
        assert (await asyncio.to_thread(second.reply))[0] == 354
        assert (await asyncio.to_thread(finish, second, 7))[0] == 250
        await asyncio.to_thread(first.close)
        await asyncio.to_thread(second.close)
    subjects = [line for line in upstream.script.data if line.startswith("Subject:")]
    assert sorted(subjects) == ["Subject: m6", "Subject: m7"]  # each once


def test_max_messages_is_checked_on_the_command_line(upstream):
    result = run_cli("relay", "QA", "--max-messages", "0")
    assert result.returncode == 3
    assert "Max messages (max_messages) must be from 1 to 10000." in result.stderr
    assert "Traceback" not in result.stderr


def peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def big(size: int) -> bytes:
    line = b"x" * 76 + b"\r\n"
    return b"Subject: big\r\n\r\n" + line * (size // len(line))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_memory_stays_within_the_bound_with_many_large_messages(upstream):
    """Six apps send a 4 MiB message at once to a relay holding two at a time: its
    peak RSS grows by less than three messages' worth per place (a relay holding all
    six, at the cost it had before, would grow by some 200 MiB)."""
    size = 4 * 1024 * 1024
    relay = start_relay("QA", "--no-queue", "--max-messages", "2", "--max-size", str(2 * size))
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=120) as smtp:
            smtp.login("Shop", upstream.password)
            smtp.sendmail("app@shop.example", [TO], b"Subject: warm-up\r\n\r\nhi\r\n")
        before = peak_kib(relay.process.pid)
        answered: list[bool] = []
        start = threading.Barrier(6)

        def send() -> None:
            with smtplib.SMTP("127.0.0.1", relay.port, timeout=300) as smtp:
                smtp.login("Shop", upstream.password)
                start.wait()
                smtp.sendmail("app@shop.example", [TO], big(size))
                answered.append(True)

        threads = [threading.Thread(target=send) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        grown_mib = (peak_kib(relay.process.pid) - before) / 1024
    finally:
        relay.stop()
    assert len(answered) == 6
    assert grown_mib < 2 * 3 * 4, f"peak RSS grew by {grown_mib:.0f} MiB"
