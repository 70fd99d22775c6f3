"""`mailstage relay STAGE --no-queue` on a PostgreSQL store (issue 18), against the real
server (each test its own role and database, tests/postgres_server.py): relays run as
subprocesses, the upstream is the loopback STARTTLS + AUTH server of tests/loopback.py.

Two relays for one stage on one database (as on two hosts) deliver each message exactly
once and write one email log (the table); a test list activated through the CLI (as from
another host) applies to the very next message through either relay, because each checks
the row's generation before its routing decision. The queue stays refused on a database
with a sentence that says to use --no-queue.
"""

from __future__ import annotations

import json
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.postgres_server import ScratchDatabase, postgres_admin, postgres_database
from tests.relay_harness import RunningRelay, credentials, start_relay
from tests.test_delivery_cli import set_basic
from tests.test_relay_smtplib import REAL, message, send

__all__ = ["postgres_admin", "postgres_database"]

pytestmark = pytest.mark.postgres

TESTER = "wallaby.tester@quoll-inbox.example"
PER_RELAY = 10
ROUNDS = 6


@pytest.fixture
def database_store(
    postgres_database: ScratchDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server,
    certificates,
) -> str:
    """A store in the database (MAILSTAGE_STORE, as every host sets it): QA sends through
    the loopback server, app Shop has relay credentials; returns Shop's password."""
    monkeypatch.setenv("MAILSTAGE_STORE", postgres_database.url)
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(tmp_path / "keys" / "store.key"))
    created = run_cli("init")
    assert created.returncode == 0, created.stderr
    set_basic(smtp_server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    return credentials()


@pytest.fixture
def two_relays(database_store: str):
    relays = [start_relay("QA", "--no-queue"), start_relay("QA", "--no-queue")]
    yield relays
    for relay in relays:
        assert relay.stop() == 0, relay.stderr


def numbered(subject: str) -> EmailMessage:
    mail = message()
    mail.replace_header("Subject", subject)
    return mail


def subject_of(content: bytes) -> str:
    from email import message_from_bytes

    return str(message_from_bytes(content)["Subject"])


def test_two_relays_on_one_database_deliver_each_message_once_into_one_email_log(
    two_relays: list[RunningRelay], database_store: str, smtp_server
) -> None:
    first, second = two_relays
    assert first.port != second.port
    subjects = [f"Order {n:02d}" for n in range(2 * PER_RELAY)]
    for n, subject in enumerate(subjects):
        refused = send(two_relays[n % 2], database_store, numbered(subject))
        assert refused == {}

    upstream = Counter(subject_of(m.content) for m in smtp_server.messages)
    assert upstream == Counter(subjects)  # each exactly once
    assert all(m.rcpt_tos == [REAL] for m in smtp_server.messages)

    shown = run_cli("log", "--json")
    assert shown.returncode == 0, shown.stderr
    records = [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]
    relayed = [r for r in records if r["source"] == "relay"]
    assert Counter(r["subject"] for r in relayed) == Counter(subjects)
    assert {r["outcome"] for r in relayed} == {"sent"}
    assert {r["stage"] for r in relayed} == {"QA"}
    assert {r["app"] for r in relayed} == {"Shop"}


def test_a_test_list_activated_elsewhere_applies_to_the_next_message_of_the_other_relay(
    two_relays: list[RunningRelay], database_store: str, smtp_server
) -> None:
    assert run_cli("testlist", "add", "Shop", "--stage", "QA", TESTER).returncode == 0
    # (toggle, where it should go): saved through the CLI, then at once (no pause) one
    # message through each relay; the relay that saw the last change was never told
    steps = [("activate", [TESTER]), ("deactivate", [REAL])] * (ROUNDS // 2)
    routed = []
    for toggle, expected in steps:
        assert run_cli("testlist", toggle, "Shop", "--stage", "QA").returncode == 0
        for relay in two_relays:
            send(relay, database_store)
            routed.append((toggle, relay.port, smtp_server.messages[-1].rcpt_tos, expected))
    misrouted = [step for step in routed if step[2] != step[3]]
    assert len(smtp_server.messages) == 2 * ROUNDS
    assert misrouted == []


def test_the_queue_is_refused_on_a_database_with_the_way_to_run_without_it(
    database_store: str, smtp_server
) -> None:
    refused = run_cli("relay", "QA", "--listen", "127.0.0.1:0")
    assert refused.returncode == 5
    assert "--no-queue" in refused.stderr
    assert "PostgreSQL queue is not built yet" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert database_store not in refused.stderr + refused.stdout
    assert smtp_server.messages == []
