"""`mailstage relay STAGE` on a PostgreSQL store (issue 18), against the real server (each
test its own role and database, tests/postgres_server.py): relays run as subprocesses,
the upstream is the loopback STARTTLS + AUTH server of tests/loopback.py.

Two relays for one stage on one database (as on two hosts), with the queue (the default,
the table mailstage_queue) and with --no-queue, deliver each message exactly once and
write one email log (the table); a test list activated through the CLI (as from another
host) applies to the very next message through either relay (each checks the row's
generation before its routing decision, and LISTENs for saves). A relay killed with -9
while it holds queued messages loses nothing: the next relay delivers each once. The
queue commands work on the table, and a retry wakes the running relay.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.postgres_server import ScratchDatabase, postgres_admin, postgres_database
from tests.relay_harness import RunningRelay, credentials, start_relay
from tests.test_delivery_cli import set_basic
from tests.test_queue_relay import submit, upstream_back, wait_until
from tests.test_relay_smtplib import REAL, message, send

__all__ = ["postgres_admin", "postgres_database", "upstream_back"]

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


FAST = ("--retry-after", "1")


@pytest.fixture(params=[(), ("--no-queue",)], ids=["queue", "no-queue"])
def two_relays(database_store: str, request: pytest.FixtureRequest):
    relays = [start_relay("QA", *request.param), start_relay("QA", *request.param)]
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


def queue_list() -> list[dict]:
    shown = run_cli("queue", "list", "--json")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def log_records() -> list[dict]:
    shown = run_cli("log", "--json", "--limit", "1000")
    assert shown.returncode == 0, shown.stderr
    return [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]


def queued_id(answer: tuple[int, str]) -> str:
    code, text = answer
    assert code == 250 and text.startswith("2.0.0 Queued as "), text
    return text.split()[3].rstrip(":")


KILLED = 6


def test_a_relay_killed_with_queued_messages_the_next_relay_delivers_each_once(
    database_store: str, smtp_server, upstream_back, postgres_database: ScratchDatabase
) -> None:
    smtp_server.stop()  # upstream down while relay A accepts the messages
    relay_a = start_relay("QA", *FAST)
    assert "queue in the database" in relay_a.stderr  # the listening line names the table
    try:
        ids = [queued_id(submit(relay_a, database_store, n)) for n in range(KILLED)]
        assert sorted(item["id"] for item in queue_list()) == sorted(ids)
        dump = postgres_database.data_dump()
        assert "COPY public.mailstage_queue" in dump
        for plain in ("order 0", "a@buyers.example", "app@shop.example", "body 0", "Shop"):
            assert plain not in dump, plain
            assert plain.encode().hex() not in dump, plain
        time.sleep(1.5)  # A is retrying now: some rows are leased by it when it dies
    finally:
        relay_a.process.send_signal(signal.SIGKILL)
        assert relay_a.process.wait(timeout=30) == -signal.SIGKILL
    upstream_back.start()
    relay_b = start_relay("QA", *FAST)
    try:
        wait_until(lambda: len(upstream_back.messages) >= KILLED)
        wait_until(lambda: queue_list() == [])
        time.sleep(2.5)  # more retry rounds: nothing more goes
    finally:
        assert relay_b.stop() == 0, relay_b.stderr
    upstream = Counter(m.message["Subject"] for m in upstream_back.messages)
    assert upstream == Counter(f"order {n}" for n in range(KILLED))  # each exactly once
    records = log_records()
    sent = [r["queue_id"] for r in records if r["outcome"] == "sent"]
    assert sorted(sent) == sorted(ids)
    assert sorted(r["queue_id"] for r in records if r["outcome"] == "queued") == sorted(ids)


def test_queue_commands_on_the_database_and_a_retry_wakes_the_relay(
    database_store: str, smtp_server, upstream_back
) -> None:
    smtp_server.stop()
    relay = start_relay("QA", "--retry-after", "3600")  # no retry of its own meanwhile
    try:
        held, deleted, retried = (queued_id(submit(relay, database_store, n)) for n in range(3))
        listed = {item["id"]: item for item in queue_list()}
        assert set(listed) == {held, deleted, retried}
        assert {item["app"] for item in listed.values()} == {"Shop"}
        assert {item["stage"] for item in listed.values()} == {"QA"}
        assert listed[held]["recipients"] == ["a@buyers.example"]
        assert listed[held]["attempts"] == 1 and listed[held]["last_reply"].startswith("451")
        assert run_cli("queue", "hold", held).returncode == 0
        removed = run_cli("queue", "delete", deleted, "--yes")
        assert removed.returncode == 0, removed.stderr
        assert {i["id"]: i["state"] for i in queue_list()} == {held: "held", retried: "queued"}
        missing = run_cli("queue", "retry", deleted)
        assert missing.returncode == 3 and "is not in the queue" in missing.stderr

        upstream_back.start()
        assert run_cli("queue", "retry", "--all").returncode == 0  # the held one stays
        wait_until(lambda: len(upstream_back.messages) == 1, timeout=10)
        assert [i["id"] for i in queue_list()] == [held]
        released = run_cli("queue", "release", held)  # due since the retry --all
        assert released.returncode == 0 and "tries it now" in released.stdout
        wait_until(lambda: queue_list() == [], timeout=10)
    finally:
        assert relay.stop() == 0, relay.stderr
    assert sorted(m.message["Subject"] for m in upstream_back.messages) == ["order 0", "order 2"]
    outcomes = {(r["queue_id"], r["outcome"]) for r in log_records()}
    assert {(held, "sent"), (retried, "sent"), (deleted, "deleted")} <= outcomes
    assert (deleted, "sent") not in outcomes


def test_the_server_dropping_every_connection_of_the_relay_loses_nothing(
    database_store: str, smtp_server, upstream_back, postgres_database: ScratchDatabase
) -> None:
    import psycopg

    smtp_server.stop()
    relay = start_relay("QA", *FAST)
    try:
        ids = [queued_id(submit(relay, database_store, n)) for n in range(3)]
        with psycopg.connect(postgres_database.url, autocommit=True) as admin:
            dropped = admin.execute(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                "where usename = current_user and pid <> pg_backend_pid()"
            ).fetchone()
        assert dropped is not None and dropped[0] >= 3  # store, log, queue, listener
        upstream_back.start()
        wait_until(lambda: len(upstream_back.messages) >= 3)
        wait_until(lambda: queue_list() == [])
        code, text = submit(relay, database_store, 3)  # and the next message goes at once
        assert code == 250 and text.startswith("2.0.0 Sent"), text
        time.sleep(2.5)  # more retry rounds: nothing more goes
    finally:
        assert relay.stop() == 0, relay.stderr
    assert "Traceback" not in relay.stderr
    upstream = Counter(m.message["Subject"] for m in upstream_back.messages)
    assert upstream == Counter(f"order {n}" for n in range(4))
    sent = [r["queue_id"] for r in log_records() if r["outcome"] == "sent"]
    assert set(ids) <= set(sent) and len(sent) == 4


def test_a_relay_killed_in_the_middle_of_its_deliveries_the_other_running_relay_takes_over(
    database_store: str, smtp_server
) -> None:
    smtp_server.behaviour.data_delay = 5.0  # upstream holds A's attempts in DATA
    relay_a = start_relay("QA", "--first-attempt", "0.3", *FAST)
    relay_b = start_relay("QA", *FAST)
    try:
        for n in range(2):
            code, text = submit(relay_a, database_store, n)
            assert code == 250 and "no answer from upstream within 0.3 s" in text, text
        wait_until(lambda: smtp_server.handler.data_started == 2)
        assert [item["state"] for item in queue_list()] == ["sending", "sending"]  # A's rows
        relay_a.process.send_signal(signal.SIGKILL)
        assert relay_a.process.wait(timeout=30) == -signal.SIGKILL
        assert smtp_server.messages == []  # upstream never finished those DATA
        smtp_server.behaviour.data_delay = 0.0
        wait_until(lambda: len(smtp_server.messages) >= 2)  # B, once A's locks are gone
        wait_until(lambda: queue_list() == [])
        time.sleep(2.5)  # more retry rounds: nothing more goes
    finally:
        relay_a.process.kill()
        assert relay_b.stop() == 0, relay_b.stderr
    assert Counter(m.message["Subject"] for m in smtp_server.messages) == Counter(
        f"order {n}" for n in range(2)
    )
    assert smtp_server.handler.data_started == 4  # A's two cut off, B's two
