"""AUTH guessing: the third failed login on a connection closes it, and failures are
logged one line per peer per minute, not one per try."""

from __future__ import annotations

import asyncio
import smtplib

import pytest

from tests.relay_inprocess import running_relay
from tests.test_relay_accounting import upstream  # noqa: F401 - fixture


def guess(port: int, tries: int) -> list[str]:
    """Wrong passwords on one connection; what each try was answered."""
    answers = []
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        for number in range(tries):
            smtp.user, smtp.password = "Shop", f"wrong-{number}"
            try:
                smtp.auth("PLAIN", smtp.auth_plain)  # one try (login() tries PLAIN, then LOGIN)
            except smtplib.SMTPAuthenticationError as exc:
                answers.append(str(exc.smtp_code))
            except smtplib.SMTPServerDisconnected:
                answers.append("closed")
                break
    return answers


def log_in(port: int, password: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.login("Shop", password)


@pytest.mark.usefixtures("upstream")
async def test_three_failed_logins_close_the_connection():
    async with running_relay() as (relay, _events):
        answers = await asyncio.to_thread(guess, relay.port, 40)
    assert answers[:2] == ["535", "535"]
    assert answers[2] in ("421", "535") and answers[3:] == ["closed"]


async def test_failed_logins_are_logged_once_per_peer_per_minute(upstream):  # noqa: F811
    async with running_relay() as (relay, events):
        for _ in range(4):
            await asyncio.to_thread(guess, relay.port, 3)
        await asyncio.to_thread(log_in, relay.port, upstream.password)  # the right one
    refused = [line for line in events.lines if "login refused" in line]
    assert len(refused) == 1 and "127.0.0.1" in refused[0]
