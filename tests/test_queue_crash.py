"""kill -9 the relay (a subprocess) at each step of a message's way and count the copies
upstream receives once a new relay has started: before the app's 250, after it, during
a later delivery, and just after upstream's 250 (the one window for a duplicate)."""

from __future__ import annotations

import asyncio
import signal
import smtplib
import threading

from tests.relay_harness import RunningRelay, start_relay
from tests.test_queue_relay import (  # noqa: F401
    FAST,
    mail,
    queue_items,
    shop,
    submit,
    upstream_back,
    wait_until,
)


def kill_9(relay: RunningRelay) -> None:
    relay.process.send_signal(signal.SIGKILL)
    assert relay.process.wait(timeout=30) == -signal.SIGKILL


def send_in_background(relay: RunningRelay, password: str, number: int) -> list[object]:
    """The app's message, in a thread: its answer (or the error) lands in the list."""
    answers: list[object] = []

    def app() -> None:
        try:
            with smtplib.SMTP("127.0.0.1", relay.port, timeout=90) as smtp:
                smtp.login("Shop", password)
                smtp.mail("app@shop.example")
                smtp.rcpt("a@buyers.example")
                answers.append(smtp.data(mail(number, "a@buyers.example")))
        except (OSError, smtplib.SMTPException) as exc:
            answers.append(exc)

    threading.Thread(target=app, daemon=True).start()
    return answers


def delivered_once_after_restart(server, *extra: str) -> None:
    relay = start_relay("QA", *FAST, *extra)
    try:
        wait_until(lambda: len(server.messages) >= 1)
        wait_until(lambda: queue_items() == [])
        wait_until(lambda: "listening" in relay.stderr)
    finally:
        assert relay.stop() == 0


def test_killed_before_the_250_the_next_start_delivers_it(shop, smtp_server):  # noqa: F811
    smtp_server.behaviour.data_delay = 5.0  # upstream holds the first attempt at DATA
    relay = start_relay("QA", "--first-attempt", "60", *FAST)
    answers = send_in_background(relay, shop, 1)
    wait_until(lambda: smtp_server.handler.data_started == 1)
    kill_9(relay)  # the app never heard 250; the entry is on disk
    wait_until(lambda: bool(answers))
    assert isinstance(answers[0], smtplib.SMTPServerDisconnected | OSError)
    assert len(queue_items()) == 1
    assert smtp_server.messages == []  # upstream never finished that DATA
    smtp_server.behaviour.data_delay = 0.0
    delivered_once_after_restart(smtp_server)
    assert len(smtp_server.messages) == 1


def test_killed_after_the_250_the_next_start_delivers_it(shop, smtp_server, upstream_back):  # noqa: F811
    smtp_server.stop()
    relay = start_relay("QA", *FAST)
    code, text = submit(relay, shop, 2)
    assert code == 250 and "Queued as" in text
    kill_9(relay)
    upstream_back.start()
    delivered_once_after_restart(upstream_back)
    assert len(upstream_back.messages) == 1


def test_killed_during_a_delivery_the_next_start_delivers_it(shop, smtp_server):  # noqa: F811
    smtp_server.behaviour.data_delay = 5.0
    relay = start_relay("QA", "--first-attempt", "0.3", *FAST)
    code, text = submit(relay, shop, 3)
    assert code == 250 and "Queued as" in text  # the attempt goes on in the relay
    wait_until(lambda: smtp_server.handler.data_started == 1)
    kill_9(relay)
    assert smtp_server.messages == []
    smtp_server.behaviour.data_delay = 0.0
    delivered_once_after_restart(smtp_server)
    assert len(smtp_server.messages) == 1


def test_killed_just_after_upstreams_250_at_most_one_duplicate(shop, smtp_server):  # noqa: F811
    relay = start_relay("QA", "--first-attempt", "60", *FAST)
    handler = smtp_server.handler
    accept = handler.handle_DATA

    async def accept_then_kill(server, session, envelope):
        reply = await accept(server, session, envelope)
        if len(handler.messages) == 1:  # the relay dies as upstream's 250 goes out
            asyncio.get_running_loop().call_soon(relay.process.send_signal, signal.SIGKILL)
        return reply

    handler.handle_DATA = accept_then_kill
    answers = send_in_background(relay, shop, 4)
    wait_until(lambda: bool(answers))
    relay.process.wait(timeout=30)
    delivered_once_after_restart(smtp_server)
    # the entry may not have been marked done before the kill: then it went once more
    assert len(smtp_server.messages) in (1, 2)
    assert queue_items() == []


def test_a_relay_still_running_delivers_what_a_killed_one_had_in_its_journal(
    shop,  # noqa: F811
    smtp_server,
):
    smtp_server.behaviour.data_delay = 5.0  # the first relay's attempt is held at DATA
    first = start_relay("QA", "--first-attempt", "60", *FAST)
    second = start_relay("QA", *FAST)
    try:
        answers = send_in_background(first, shop, 5)
        wait_until(lambda: smtp_server.handler.data_started == 1)
        assert [item.state for item in queue_items()] == ["sending"]
        kill_9(first)  # its entry is in its journal only
        smtp_server.behaviour.data_delay = 0.0
        wait_until(lambda: len(smtp_server.messages) >= 1)  # the second relay, no restart
        wait_until(lambda: queue_items() == [])
        wait_until(lambda: bool(answers))
        assert isinstance(answers[0], smtplib.SMTPServerDisconnected | OSError)
    finally:
        assert second.stop() == 0
    assert len(smtp_server.messages) == 1
