"""The relay's queue in PostgreSQL (relay/pg_queue.py) against the real server: a lease is
a row lock that one holder has (a second relay skips it, a change waits for it or hears
EntryBusy), a process killed with -9 while holding leases frees them for the next, the
steering commands (hold, release, retry, delete) work on rows, a retry NOTIFYs, and the
table holds only ciphertext and scheduling columns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from mailstage.relay.pg_queue import QUEUE_CHANNEL, PostgresQueue
from mailstage.relay.queue import EntryBusy, EntryMissing, Lease, QueueEntry, open_queue
from mailstage.store.filestore import StoreFile
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.postgres_server import ScratchDatabase, postgres_admin, postgres_database

__all__ = ["postgres_admin", "postgres_database"]

pytestmark = pytest.mark.postgres

SUBJECT = "Invoice for the wombat enclosure"
RECIPIENT = "numbat.keeper@bilby-mail.example"
BODY_LINE = "The enclosure fence needs a quokka-proof gate"


@pytest.fixture
def locations(postgres_database: ScratchDatabase, tmp_path, monkeypatch) -> Locations:
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(tmp_path / "store.key"))
    where = Locations.resolve(postgres_database.url, tmp_path / "store.key")
    Workspace.init(where)
    return where


def queue_of(locations: Locations) -> PostgresQueue:
    file, _ = StoreFile.open(locations)
    queue = open_queue(file)
    assert isinstance(queue, PostgresQueue)
    return queue


def entry(number: int = 1, stage: str = "QA") -> QueueEntry:
    message = f"Subject: {SUBJECT} {number}\r\nTo: {RECIPIENT}\r\n\r\n{BODY_LINE}\r\n".encode()
    return QueueEntry(
        stage=stage,
        app="Shop",
        message=message,
        recipients=[RECIPIENT],
        original=[RECIPIENT],
        subject=f"{SUBJECT} {number}",
        message_id=f"<m{number}@shop.example>",
    )


def one_due(locations: Locations) -> tuple[PostgresQueue, Lease]:
    """A queue with one entry, written, let go and due now."""
    queue = queue_of(locations)
    lease = queue.put(entry())
    lease.entry.next_attempt = 0
    queue.defer(lease)
    return queue, lease


def test_a_put_entry_is_leased_by_its_writer_then_due_and_leased_once(
    locations: Locations,
) -> None:
    relay_a, relay_b = queue_of(locations), queue_of(locations)
    lease = relay_a.put(entry())
    assert [i.state for i in relay_b.items()] == ["sending"]  # A holds it for its attempt
    assert relay_b.try_lease(lease.entry.id) is None
    lease.entry.attempts, lease.entry.next_attempt = 1, time.time() - 1
    relay_a.defer(lease)
    assert relay_b.due("qa") == [lease.entry.id]  # stages match without regard to case
    assert relay_b.due("Production") == []
    taken = relay_b.try_lease(lease.entry.id)
    assert taken is not None and taken.entry.message == entry().message
    assert taken.entry.recipients == [RECIPIENT] and taken.entry.attempts == 1
    assert relay_a.try_lease(lease.entry.id) is None  # B has it now
    with pytest.raises(EntryBusy):
        relay_a.hold(lease.entry.id, wait=0.2)
    relay_b.done(taken)
    assert relay_a.items() == [] and relay_a.due("QA") == []
    with pytest.raises(EntryMissing) as missing:
        relay_a.retry(lease.entry.id)
    assert missing.value.exit_code == 3


def test_hold_release_retry_and_delete_change_the_row(locations: Locations) -> None:
    queue = queue_of(locations)
    lease = queue.put(entry())
    lease.entry.attempts, lease.entry.next_attempt = 1, time.time() + 3600
    lease.entry.last_reply = "451 4.4.1 Not sent, try again later: connection refused"
    queue.defer(lease)
    entry_id = lease.entry.id
    assert queue.due("QA") == []
    queue.retry(entry_id)
    assert queue.due("QA") == [entry_id]
    queue.hold(entry_id)
    assert queue.due("QA") == []
    (item,) = queue.items("QA")
    assert (item.state, item.subject, item.app, item.stage) == (
        "held",
        f"{SUBJECT} 1",
        "Shop",
        "QA",
    )
    assert item.last_reply.startswith("451 4.4.1") and item.recipients == [RECIPIENT]
    assert queue.items("Production") == []
    released = queue.release(entry_id)
    assert not released.held and queue.due("QA") == [entry_id]
    assert queue.delete(entry_id).id == entry_id
    assert queue.items() == []


def test_a_retry_notifies_listeners(locations: Locations, postgres_database: ScratchDatabase):
    queue = queue_of(locations)
    lease = queue.put(entry())
    lease.entry.next_attempt = time.time() + 3600
    queue.defer(lease)  # a worker's own defer (due later) notifies nobody
    with psycopg.connect(postgres_database.url, autocommit=True) as listener:
        listener.execute(f"LISTEN {QUEUE_CHANNEL}")
        assert list(listener.notifies(timeout=0.3)) == []
        queue.retry(lease.entry.id)
        heard = list(listener.notifies(timeout=2, stop_after=1))
    assert [n.payload for n in heard] == [queue.stage_tag("QA")]


def test_no_lease_between_a_puts_commit_and_its_row_lock(
    locations: Locations, postgres_database: ScratchDatabase
) -> None:
    """A put holds its entry's advisory lock from the INSERT until it has the row: a relay
    whose clock says the entry is due cannot take it in that moment."""
    queue, lease = one_due(locations)
    entry_id = lease.entry.id
    with psycopg.connect(postgres_database.url, autocommit=True) as writer:
        writer.execute("select pg_advisory_lock(%s)", (int(entry_id, 16),))  # a put's moment
        assert queue.due("QA") == [entry_id]
        assert queue.try_lease(entry_id) is None
        with pytest.raises(EntryBusy):
            queue.hold(entry_id, wait=0)
        with pytest.raises(EntryBusy):
            queue.hold(entry_id, wait=0.2)
        writer.execute("select pg_advisory_unlock(%s)", (int(entry_id, 16),))
    taken = queue.try_lease(entry_id)
    assert taken is not None
    queue.done(taken)


def test_a_put_with_an_id_already_in_the_table_writes_nothing_and_holds_nothing(
    locations: Locations,
) -> None:
    from mailstage.relay.queue import QueueWriteFailed

    queue = queue_of(locations)
    first = queue.put(entry(1))
    first.entry.next_attempt = 0
    queue.defer(first)
    clash = entry(2)
    clash.id = first.entry.id  # ids are random: this stands for a one-in-2**48 draw
    with pytest.raises(QueueWriteFailed) as failed:
        queue.put(clash)
    assert "already exists" in failed.value.message
    (item,) = queue.items()
    assert (item.subject, item.state) == (f"{SUBJECT} 1", "queued")  # untouched, not held
    taken = queue.try_lease(first.entry.id)
    assert taken is not None and taken.entry.subject == f"{SUBJECT} 1"
    queue.done(taken)


HOLDER = """
import sys, time
from mailstage.relay.queue import QueueEntry, open_queue
from mailstage.store.filestore import StoreFile
from mailstage.store.paths import Locations
queue = open_queue(StoreFile.open(Locations.resolve())[0])
leases = [queue.put(QueueEntry(stage="QA", app="Shop", message=b"x", recipients=["a@b.example"]))
          for _ in range(3)]
for lease in leases:
    print(lease.entry.id, flush=True)
time.sleep(600)
"""


def test_a_process_killed_while_holding_leases_frees_them(
    locations: Locations, postgres_database: ScratchDatabase
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MAILSTAGE_STORE": postgres_database.url},
    )
    try:
        ids = [holder.stdout.readline().strip() for _ in range(3)]  # type: ignore[union-attr]
        queue = queue_of(locations)
        assert [i.state for i in queue.items()] == ["sending"] * 3
        assert all(queue.try_lease(i) is None for i in ids)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(i.state == "sending" for i in queue.items()):  # the server ends its sessions
        assert time.monotonic() < deadline
        time.sleep(0.05)
    leases = [queue.try_lease(i) for i in ids]
    assert all(lease is not None for lease in leases)
    for lease in leases:
        queue.done(lease)  # type: ignore[arg-type]
    assert queue.items() == []


def test_the_table_holds_no_address_subject_or_body(
    locations: Locations, postgres_database: ScratchDatabase
) -> None:
    queue = queue_of(locations)
    for number in range(3):
        lease = queue.put(entry(number, stage="Staging"))
        lease.entry.last_reply = f"451 4.3.0 {RECIPIENT} mailbox busy"
        queue.defer(lease)
    dump = postgres_database.data_dump()
    assert "COPY public.mailstage_queue" in dump
    for plain in (SUBJECT, RECIPIENT, BODY_LINE, "Shop", "Staging", "shop.example"):
        assert plain not in dump, plain
        assert plain.encode().hex() not in dump, plain


def test_an_entry_that_does_not_decrypt_is_set_aside(
    locations: Locations, postgres_database: ScratchDatabase
) -> None:
    queue, lease = one_due(locations)
    with psycopg.connect(postgres_database.url, autocommit=True) as connection:
        connection.execute(
            "update mailstage_queue set meta = set_byte(meta, 20, get_byte(meta, 20) # 1)"
        )
    assert queue.try_lease(lease.entry.id) is None
    assert queue.damaged == 1 and queue.due("QA") == [] and queue.items() == []


def test_a_save_is_heard_by_a_listener_once_committed(locations: Locations) -> None:
    import queue as queues

    from mailstage.store.pg_listen import QUEUE_CHANNEL, RECONNECTED, STORE_CHANNEL, Listener

    heard: queues.Queue[tuple[str, str]] = queues.Queue()
    database = locations.database
    assert database is not None
    listener = Listener(database, (STORE_CHANNEL, QUEUE_CHANNEL), lambda *n: heard.put(n))
    listener.start()
    try:
        assert heard.get(timeout=10) == (RECONNECTED, "")
        assert listener.listening
        workspace = Workspace.open(locations)
        workspace.add_stage("Staging")
        assert heard.get(timeout=10) == (STORE_CHANNEL, str(workspace.file.generation))
        with pytest.raises(RuntimeError), workspace.file.backend.locked():
            workspace.file.backend.write([b"never committed"], workspace.file.backend.sharing,
                                         _stamp(workspace))  # fmt: skip
            raise RuntimeError("rolled back")
        workspace.add_stage("Preview")
        assert heard.get(timeout=10) == (STORE_CHANNEL, str(workspace.file.generation))
        assert heard.empty()  # nothing from the save that was rolled back
    finally:
        listener.stop()
    assert not listener.listening


def _stamp(workspace: Workspace):
    from mailstage.store.backend import Stamp

    generation = workspace.file.generation
    return Stamp(generation + 1, generation, workspace.file.store_id)


def test_a_row_written_before_a_field_existed_still_leases(
    locations: Locations, postgres_database: ScratchDatabase
) -> None:
    import json

    queue, lease = one_due(locations)
    entry_id, tag = lease.entry.id, queue.stage_tag("QA")
    older = {"stage": "QA", "app": "Shop", "recipients": [RECIPIENT], "subject": "older"}
    sealed = queue._seal(json.dumps(older).encode(), queue._meta_aad(entry_id, tag))
    with psycopg.connect(postgres_database.url, autocommit=True) as connection:
        connection.execute("update mailstage_queue set meta = %s", (sealed,))
    (item,) = queue.items()
    assert (item.subject, item.last_reply) == ("older", "")
    taken = queue.try_lease(entry_id)
    assert taken is not None and taken.entry.recipients == [RECIPIENT]
    assert taken.entry.eight_bit is False and taken.entry.routed is True  # the defaults
    queue.done(taken)
