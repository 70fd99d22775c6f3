"""The email log: encrypted records, one write each, several writers, rotation, and the
`mailstage log` command reading what Send test wrote."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from mailstage.mailer.maillog import LogRecord, MailLog, log_path, newest_first
from mailstage.store.errors import UnsafeFile
from mailstage.store.workspace import Workspace
from tests.cli_runner import REPO, mailstage_command, run_cli
from tests.loopback import refused_port
from tests.store_factory import full_workspace
from tests.test_delivery_cli import set_basic


def record(number: int = 0, **overrides) -> LogRecord:
    data = {
        "source": "relay",
        "stage": "QA",
        "app": "Shop",
        "outcome": "sent",
        "message_id": f"<m{number}@shop.example>",
        "subject": f"Order {number} confirmed",
        "recipients": [f"customer{number}@buyers.example"],
        "delivered_to": ["tester@qa.example"],
        "redirected": True,
        "reply": "250 2.0.0 OK",
        "ms": 12,
        "peer": "127.0.0.1:40000",
    }
    data.update(overrides)
    return LogRecord(**data)


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    return full_workspace(tmp_path)


def test_records_round_trip_encrypted_with_the_store_key(workspace):
    log = MailLog.of_store(workspace.file)
    for number in range(3):
        log.append(record(number))

    assert log.path == log_path(workspace.file.locations.store)
    assert log.path.parent == workspace.file.locations.store.parent
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    raw = log.path.read_bytes()
    assert raw.count(b"\n") == 3
    for secretish in (b"customer", b"buyers.example", b"tester@", b"Order", b"Shop"):
        assert secretish not in raw
    assert len(set(raw.splitlines())) == 3  # each record its own nonce
    records = log.read()
    assert [r.message_id for r in records] == [f"<m{n}@shop.example>" for n in range(3)]
    assert records[0].to_json() == record(0).to_json() | {"time": records[0].time}
    assert list(records[0].to_json()) == [
        "time", "source", "stage", "app", "message_id", "subject", "recipients",
        "delivered_to", "redirected", "outcome", "reply", "ms", "peer", "queue_id", "refused",
    ]  # fmt: skip


def test_another_store_cannot_read_the_log(workspace, tmp_path):
    MailLog.of_store(workspace.file).append(record())
    other = full_workspace(tmp_path / "other")
    stranger = MailLog(log_path(workspace.file.locations.store), other.file.derived_key(b"x"))
    assert stranger.read() == [] and stranger.skipped == 1


def test_filters_and_newest_first():
    records = [
        record(1, outcome="sent"),
        record(2, outcome="refused", app="Portal"),
        record(3, outcome="deferred", stage="Production"),
        record(4, outcome="sent"),
    ]
    assert [r.message_id for r in newest_first(records)][0] == "<m4@shop.example>"
    assert [r.outcome for r in newest_first(records, outcome="sent")] == ["sent", "sent"]
    assert [r.app for r in newest_first(records, app="portal")] == ["Portal"]
    assert [r.stage for r in newest_first(records, stage="production")] == ["Production"]
    assert len(newest_first(records, limit=2)) == 2


def test_subject_is_cut_at_200_characters():
    assert len(record(subject="x" * 500).subject) == 200


def test_a_planted_symlink_or_an_open_mode_is_refused(workspace, tmp_path):
    log = MailLog.of_store(workspace.file)
    target = tmp_path / "elsewhere"
    target.write_text("")
    log.path.symlink_to(target)
    with pytest.raises(UnsafeFile):
        log.append(record())
    assert target.read_text() == ""
    log.path.unlink()
    log.append(record())
    os.chmod(log.path, 0o644)
    with pytest.raises(UnsafeFile):
        log.append(record())


WRITER = textwrap.dedent(
    """
    import sys
    from mailstage.mailer.maillog import LogRecord, MailLog
    from pathlib import Path
    log = MailLog(Path(sys.argv[1]), bytes.fromhex(sys.argv[2]))
    name, count = sys.argv[3], int(sys.argv[4])
    for number in range(count):
        log.append(LogRecord(source="relay", stage="QA", app=name, outcome="sent",
                             message_id=f"<{name}-{number}@x>", subject="s" * 150,
                             recipients=["a@example.com"] * 5))
    """
)


def test_two_writers_at_once_lose_nothing_even_across_rotation(tmp_path):
    key = os.urandom(32)
    path = tmp_path / "maillog.jsonl"
    env = dict(os.environ, MAILSTAGE_MAILLOG_MAX_BYTES="150000")
    count = 400
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), key.hex(), name, str(count)],
            env=env,
            cwd=REPO,
        )
        for name in ("first", "second")
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0

    log = MailLog(path, key)
    ids = [r.message_id for r in log.read()]
    assert log.skipped == 0
    assert path.with_name("maillog.jsonl.1").exists()  # it did rotate
    assert len(ids) == len(set(ids)) == 2 * count
    for name in ("first", "second"):
        mine = [i for i in ids if i.startswith(f"<{name}-")]
        assert mine == [f"<{name}-{n}@x>" for n in range(count)]  # each writer's order kept


def test_send_test_appends_records_that_mailstage_log_shows(initialized, smtp_server, certificates):
    set_basic(smtp_server.port, ca_file=certificates.ca_file)
    sent = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "--timeout", "5")
    assert sent.returncode == 0, sent.stderr
    set_basic(refused_port(), ca_file=certificates.ca_file)
    failed = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "--timeout", "5")
    assert failed.returncode == 7
    checked = run_cli("email", "send-test", "QA", "--to", "x@example.com", "--check-only")
    assert checked.returncode == 7  # nothing sent: no record either

    result = run_cli("log", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["outcome"] for r in rows] == ["deferred", "sent"]  # newest first
    newest, oldest = rows
    assert oldest["source"] == "send-test" and oldest["stage"] == "QA" and oldest["app"] is None
    assert oldest["recipients"] == oldest["delivered_to"] == ["dev@example.com"]
    assert oldest["reply"].startswith("250") and oldest["message_id"].startswith("<")
    assert oldest["subject"] == "mailstage test from stage QA"
    assert "refused" in newest["reply"] and newest["delivered_to"] == []
    assert b"dev@example.com" not in log_path(initialized["store"]).read_bytes()

    only = run_cli("log", "--outcome", "sent")
    assert only.returncode == 0
    assert len(only.stdout.splitlines()) == 1 and "sent" in only.stdout
    assert run_cli("log", "--app", "Nope").stdout.strip() == "No records."
    assert run_cli("log", "--limit", "0").returncode == 3


def test_log_follow_prints_new_records(initialized):
    follower = subprocess.Popen(
        [*mailstage_command(), "log", "--json", "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        ws = Workspace.open(locations_of(initialized))
        log = MailLog.of_store(ws.file)
        # the follower starts at the end of the log: keep appending until it prints one
        deadline = time.monotonic() + 30
        seen: list[dict] = []
        while time.monotonic() < deadline and not seen:
            log.append(record(len(seen) + 1))
            line = _read_line(follower, timeout=1.0)
            if line:
                seen.append(json.loads(line))
        assert seen and seen[0]["source"] == "relay"
    finally:
        follower.terminate()
        follower.wait(timeout=10)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if selector.select(timeout):
        return process.stdout.readline()
    return ""


def locations_of(paths):
    from mailstage.store.paths import Locations

    return Locations.resolve(paths["store"], paths["key"])


def test_an_append_after_another_writer_rotated_goes_to_the_new_file(workspace):
    """The descriptor is kept open between appends; once the path names another file
    (rotated by another process, or removed), the next record goes to the path's file."""
    log = MailLog.of_store(workspace.file)
    log.append(record())
    rotated = log.path.with_name(log.path.name + ".1")
    os.replace(log.path, rotated)
    log.append(record())
    assert len(rotated.read_bytes().splitlines()) == 1
    assert len(log.path.read_bytes().splitlines()) == 1
    log.path.unlink()
    log.append(record())
    assert len(log.path.read_bytes().splitlines()) == 1
    assert len(log.read()) == 2  # the rotated file's and the new one's
