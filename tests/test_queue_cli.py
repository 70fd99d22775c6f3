"""`mailstage queue list|retry|hold|release|delete` in a subprocess, against entries in the
real queue beside the real store, and a running relay that picks up a retry."""

from __future__ import annotations

import json
import time

from mailstage.relay.file_queue import FileQueue
from mailstage.relay.queue import QueueEntry
from mailstage.store.filestore import StoreFile
from mailstage.store.identity import login_name
from mailstage.store.paths import Locations
from tests.cli_runner import run_cli
from tests.relay_harness import start_relay
from tests.test_queue_relay import shop, submit, upstream_back, wait_until  # noqa: F401

FIELDS = [
    "id", "stage", "app", "subject", "recipients", "queued_at", "attempts", "next_attempt",
    "last_reply", "state",
]  # fmt: skip


def store_queue() -> FileQueue:
    file, _ = StoreFile.open(Locations.resolve())
    return FileQueue.of_store(file)


def queued(number: int, stage: str = "QA", **extra: object) -> QueueEntry:
    entry = QueueEntry(
        stage=stage,
        app="Shop",
        message=f"Subject: order {number}\r\n\r\nbody\r\n".encode(),
        recipients=[f"c{number}@buyers.example"],
        original=[f"c{number}@buyers.example"],
        subject=f"order {number}\x1b[31m",
        next_attempt=time.time() + 3600,
        attempts=2,
        last_reply="451 4.4.1 Not sent, try again later: connect: refused",
        **extra,  # type: ignore[arg-type]
    )
    queue = store_queue()
    queue.unlock(queue.put(entry))
    return entry


def listed(*extra: str) -> list[dict]:
    result = run_cli("queue", "list", "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_shows_the_contract_fields(initialized):
    first, second = queued(1), queued(2, stage="Production")
    items = listed()
    assert [list(item) for item in items] == [FIELDS, FIELDS]
    one = items[0]
    assert one["id"] == first.id and one["stage"] == "QA" and one["app"] == "Shop"
    assert one["recipients"] == ["c1@buyers.example"] and one["attempts"] == 2
    assert one["state"] == "queued" and one["last_reply"].startswith("451 4.4.1")
    assert one["queued_at"].endswith("+00:00") and one["next_attempt"] > one["queued_at"]
    assert [item["id"] for item in listed("--stage", "production")] == [second.id]

    text = run_cli("queue", "list")
    assert text.returncode == 0
    assert first.id in text.stdout and "in 59m" in text.stdout
    assert "\x1b" not in text.stdout and "\x1b" not in run_cli("queue", "list", "--json").stdout
    unknown = run_cli("queue", "list", "--stage", "Nowhere")
    assert unknown.returncode == 3 and "Nowhere" in unknown.stderr


def test_hold_release_retry(initialized):
    entry = queued(3)
    assert run_cli("queue", "hold", entry.id).returncode == 0
    assert listed()[0]["state"] == "held"
    assert run_cli("queue", "retry", entry.id).returncode == 0
    assert listed()[0]["state"] == "held"  # a held message stays held
    released = run_cli("queue", "release", entry.id)
    assert released.returncode == 0 and "tries it now" in released.stdout
    assert listed()[0]["state"] == "queued"
    other = queued(4)
    done = run_cli("queue", "retry", "--all")
    assert done.returncode == 0 and "2 queued message(s)" in done.stdout
    assert set(store_queue().due("QA")) == {entry.id, other.id}


def test_bad_ids_and_usage(initialized):
    for args, code, words in (
        (["queue", "hold", "0123456789ab"], 3, "is not in the queue"),
        (["queue", "release", "../../etc/passwd"], 3, "is not in the queue"),
        (["queue", "retry"], 3, "one id or --all"),
        (["queue", "retry", "0123456789ab", "--all"], 3, "one id or --all"),
        (["queue", "delete", "0123456789ab"], 2, "add --yes"),
    ):
        result = run_cli(*args)
        assert result.returncode == code, (args, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr


def test_delete_is_audited_logged_and_needs_the_permission(initialized):
    entry = queued(5)
    deleted = run_cli("queue", "delete", entry.id, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "1 recipient(s) will not receive it" in deleted.stdout
    assert listed() == []
    audit = json.loads(run_cli("audit", "--json", "--limit", "1").stdout)[0]
    assert audit["action"] == "queue.delete" and audit["target"] == "QA"
    log = [json.loads(line) for line in run_cli("log", "--json").stdout.splitlines()]
    assert [(r["outcome"], r["queue_id"]) for r in log] == [("deleted", entry.id)]

    kept = queued(6)
    me = login_name()
    assert (
        run_cli("member", "add", "other-admin", "--role", "Organization Administrator").returncode
        == 0
    )
    assert run_cli("member", "add", me, "--role", "Viewer").returncode == 0
    for args in (["delete", kept.id, "--yes"], ["hold", kept.id], ["retry", "--all"]):
        refused = run_cli("queue", *args)
        assert refused.returncode == 4, refused.stderr
        assert "Manage Email Configurations" in refused.stderr
    assert [item["id"] for item in listed()] == [kept.id]  # a Viewer still sees it


def test_a_running_relay_picks_up_a_retry(shop, smtp_server, upstream_back):  # noqa: F811
    smtp_server.stop()
    relay = start_relay("QA", "--retry-after", "3600")
    try:
        code, text = submit(relay, shop, 9)
        assert code == 250 and "Queued as" in text
        entry_id = text.split()[3].rstrip(":")
        upstream_back.start()
        assert run_cli("queue", "retry", entry_id).returncode == 0
        wait_until(lambda: len(upstream_back.messages) == 1)
    finally:
        assert relay.stop() == 0
    assert listed() == []


def test_an_entry_being_sent_shows_sending(initialized):
    entry = queued(7)
    lease = store_queue().lease(entry.id)
    try:
        assert listed()[0]["state"] == "sending"
        busy = run_cli("queue", "hold", entry.id)
        assert busy.returncode == 6 and "being sent right now" in busy.stderr
    finally:
        assert lease is not None
        store_queue().unlock(lease)
