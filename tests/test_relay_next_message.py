"""Settings apply to the very next message: a test list toggled or credentials rotated
from the CLI count for the next AUTH and the next routing decision, with no pause between
the save and the send (the relay's timer alone used to misroute 11-13 of 15 such sends)."""

from __future__ import annotations

import smtplib

from tests.cli_runner import run_cli
from tests.relay_harness import *  # noqa: F403 - fixtures
from tests.relay_harness import credentials
from tests.test_relay_smtplib import REAL, client, send

ROUNDS = 30
TESTER = "qa1@test.example"


def test_toggle_then_send_at_once_never_misroutes(relay, relay_store, smtp_server):
    assert run_cli("testlist", "add", "Shop", "--stage", "QA", TESTER).returncode == 0
    misrouted = []
    for round_number in range(ROUNDS):
        active = round_number % 2 == 0
        toggle = "activate" if active else "deactivate"
        assert run_cli("testlist", toggle, "Shop", "--stage", "QA").returncode == 0
        send(relay, relay_store.password)
        expected = [TESTER] if active else [REAL]
        got = smtp_server.messages[-1].rcpt_tos
        if got != expected:
            misrouted.append((round_number, toggle, got))
    assert len(smtp_server.messages) == ROUNDS
    assert misrouted == []


def test_rotate_then_login_at_once_never_answers_from_the_old_store(relay, relay_store):
    old = relay_store.password
    stale = []
    for round_number in range(5):
        new = credentials(rotate=True)
        with client(relay) as smtp:
            try:
                smtp.login("Shop", old)
                stale.append((round_number, "old password accepted"))
            except smtplib.SMTPAuthenticationError:
                pass
        with client(relay) as smtp:
            try:
                smtp.login("Shop", new)
            except smtplib.SMTPAuthenticationError:
                stale.append((round_number, "new password refused"))
        old = new
    assert stale == []


def test_a_new_app_can_log_in_right_after_its_credentials_are_made(relay, relay_store):
    assert run_cli("app", "add", "Billing").returncode == 0
    password = credentials("Billing")
    with client(relay) as smtp:
        smtp.login("Billing", password)
