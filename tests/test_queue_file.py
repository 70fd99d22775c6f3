"""The relay's file queue: entries round trip encrypted with the store's key, hold no
plaintext on disk, are leased by one process at a time, keep the store's modes (team
mode too), and a full disk is an error that claims nothing."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailstage.relay.file_queue import KEY_PURPOSE, FileQueue, queue_path
from mailstage.relay.queue import EntryBusy, EntryMissing, QueueEntry, QueueWriteFailed
from mailstage.store.paths import Locations
from mailstage.store.sharing import PRIVATE, Sharing
from mailstage.store.workspace import Workspace
from tests.cli_runner import REPO
from tests.hostile_support import small_file_system
from tests.os_users import Team
from tests.store_factory import full_workspace

SUBJECT = "Invoice 4711 for Ms Example"
BODY_WORDS = b"the quarterly figures you asked about"


def entry(number: int = 0, **overrides: object) -> QueueEntry:
    data: dict[str, object] = {
        "stage": "QA",
        "app": "Shop",
        "message": (
            f"Subject: {SUBJECT} {number}\r\nFrom: shop@sender.example\r\n\r\n".encode()
            + BODY_WORDS
            + b"\r\n"
        ),
        "recipients": [f"customer{number}@buyers.example", "second@buyers.example"],
        "original": [f"customer{number}@buyers.example"],
        "message_id": f"<m{number}@shop.example>",
        "subject": f"{SUBJECT} {number}",
        "peer": "127.0.0.1:40000",
    }
    data.update(overrides)
    return QueueEntry(**data)  # type: ignore[arg-type]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return full_workspace(tmp_path)


@pytest.fixture
def queue(workspace: Workspace) -> FileQueue:
    return FileQueue.of_store(workspace.file)


def test_an_entry_round_trips(queue: FileQueue, workspace: Workspace) -> None:
    original = entry(1, smtputf8=True, redirected=True)
    lease = queue.put(original)
    assert queue.folder == queue_path(workspace.file.locations.store)
    assert queue.folder.parent == workspace.file.locations.store.parent
    queue.unlock(lease)

    again = queue.lease(original.id)
    assert again is not None
    assert again.entry == original
    again.entry.attempts = 2
    again.entry.accepted = ["second@buyers.example"]
    again.entry.refused = {"x@buyers.example": "550 5.1.1 no such user"}
    again.entry.last_reply = "451 4.3.0 try later"
    queue.defer(again)

    third = queue.lease(original.id)
    assert third is not None
    assert third.entry.attempts == 2
    assert third.entry.pending == ["customer1@buyers.example"]
    assert third.entry.refused == {"x@buyers.example": "550 5.1.1 no such user"}
    assert third.entry.message == original.message
    queue.done(third)
    assert queue.lease(original.id) is None
    assert sorted(os.listdir(queue.folder)) == []


def test_no_plaintext_on_disk(queue: FileQueue) -> None:
    for number in range(3):
        lease = queue.put(entry(number))
        lease.entry.last_reply = "451 4.7.0 customer0@buyers.example greylisted"
        queue.defer(lease)
    files = list(queue.folder.iterdir())
    assert files
    for path in files:
        raw = path.read_bytes()
        for word in (b"Invoice", b"buyers", b"customer", b"quarterly", b"Shop", b"shop@"):
            assert word not in raw, (path.name, word)
            assert word.lower() not in raw.lower()


def test_another_key_cannot_read_it_and_it_is_set_aside(
    queue: FileQueue, workspace: Workspace, tmp_path: Path
) -> None:
    lease = queue.put(entry())
    queue.unlock(lease)
    stranger = FileQueue(queue.folder, full_workspace(tmp_path / "other").file.data_key, PRIVATE)
    assert stranger.lease(lease.entry.id) is None
    assert stranger.damaged == 1
    assert not (queue.folder / f"{lease.entry.id}.entry").exists()
    assert (queue.folder / f"{lease.entry.id}.damaged").exists()


def test_a_changed_header_is_detected(queue: FileQueue) -> None:
    lease = queue.put(entry())
    queue.unlock(lease)
    path = queue.folder / f"{lease.entry.id}.entry"
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b'"attempts":0', b'"attempts":9'))
    assert queue.lease(lease.entry.id) is None
    assert queue.damaged == 1


def test_due_hold_release_retry_list(queue: FileQueue) -> None:
    now = time.time()
    later = queue.put(entry(1, next_attempt=now + 600))
    soon = queue.put(entry(2, next_attempt=now - 1))
    other_stage = queue.put(entry(3, stage="Production", next_attempt=now - 1))
    for lease in (later, soon, other_stage):
        queue.unlock(lease)
    assert queue.due("qa") == [soon.entry.id]

    queue.hold(soon.entry.id)
    assert queue.due("QA") == []
    queue.retry(later.entry.id)
    assert queue.due("QA") == [later.entry.id]
    queue.release(soon.entry.id)
    assert set(queue.due("QA")) == {later.entry.id, soon.entry.id}

    held = queue.hold(later.entry.id)
    sending = queue.lease(soon.entry.id)
    items = {item.id: item for item in queue.list("QA")}
    assert set(items) == {later.entry.id, soon.entry.id}
    assert items[later.entry.id].state == "held"
    assert items[soon.entry.id].state == "sending"
    assert items[soon.entry.id].subject == f"{SUBJECT} 2"
    assert items[soon.entry.id].recipients == ["customer2@buyers.example", "second@buyers.example"]
    assert held.held
    assert len(queue.list()) == 3

    with pytest.raises(EntryBusy):
        queue.lease(soon.entry.id)
    assert sending is not None
    queue.unlock(sending)
    deleted = queue.delete(soon.entry.id)
    assert deleted.id == soon.entry.id
    with pytest.raises(EntryMissing):
        queue.delete(soon.entry.id)
    with pytest.raises(EntryMissing):
        queue.hold("../../etc/passwd")


LEASER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mailstage.relay.file_queue import FileQueue, EntryBusy
    from mailstage.store.sharing import PRIVATE
    folder, key, out = Path(sys.argv[1]), bytes.fromhex(sys.argv[2]), Path(sys.argv[3])
    queue = FileQueue(folder, key, PRIVATE)
    got = []
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    sys.stdin.readline()
    for entry_id in queue.due("QA"):
        lease = queue.try_lease(entry_id)
        if lease is None:
            continue
        got.append(entry_id)
        time.sleep(0.01)  # "sending": the other process meets the lock meanwhile
        queue.done(lease)
    out.write_text("\\n".join(got))
    """
)


def test_two_processes_never_lease_one_entry_twice(
    queue: FileQueue, workspace: Workspace, tmp_path: Path
) -> None:
    ids = []
    for number in range(40):
        lease = queue.put(entry(number, next_attempt=0.0))
        queue.unlock(lease)
        ids.append(lease.entry.id)
    workspace_key = workspace.file.derived_key(KEY_PURPOSE)
    outs = [tmp_path / f"got{n}.txt" for n in range(2)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", LEASER, str(queue.folder), workspace_key.hex(), str(out)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for out in outs
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:  # both start together
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        assert process.wait(timeout=60) == 0
    got = [line for out in outs for line in out.read_text().splitlines()]
    assert sorted(got) == sorted(ids)  # every entry once, none twice
    assert all(out.read_text() for out in outs)  # and both did some of the work
    assert list(queue.folder.iterdir()) == []


def test_files_are_private_whatever_the_umask(queue: FileQueue) -> None:
    old = os.umask(0)
    try:
        lease = queue.put(entry())
        journaled = asyncio.run(queue.put_async(entry(2)))  # the relay's: its journal
    finally:
        os.umask(old)
    assert stat.S_IMODE(queue.folder.stat().st_mode) == 0o700
    assert len(list(queue.folder.iterdir())) == 3  # entry, lock, journal
    for path in queue.folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    queue.done(lease)
    queue.done(journaled)


def test_team_mode_gives_the_queue_the_store_group(os_team: Team) -> None:
    folder = os_team.folder_for("alice") / "shared"
    locations = Locations(folder / "store.json", folder / "store.key")
    ws = Workspace.init(
        locations, user=os_team["alice"].name, sharing=Sharing(os_team.gid, os_team.group)
    )
    queue = FileQueue.of_store(ws.file)
    lease = queue.put(entry())
    journaled = asyncio.run(queue.put_async(entry(2)))
    info = queue.folder.stat()
    assert (oct(stat.S_IMODE(info.st_mode)), info.st_gid) == (oct(0o2770), os_team.gid)
    assert len(list(queue.folder.iterdir())) == 3  # entry, lock, journal
    for path in queue.folder.iterdir():
        info = path.stat()
        assert (oct(stat.S_IMODE(info.st_mode)), info.st_gid) == (oct(0o660), os_team.gid)
    queue.done(lease)
    queue.done(journaled)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_file_system(tmp_path / "small", 96) as mount:
        yield mount


def test_a_full_disk_is_an_error_that_claims_nothing(
    small_disk: Path, workspace: Workspace
) -> None:
    queue = FileQueue(small_disk / "queue", workspace.file.data_key, PRIVATE)
    big = entry(message=os.urandom(200 * 1024))
    with pytest.raises(QueueWriteFailed) as raised:
        queue.put(big)
    assert raised.value.full
    assert "the disk is full" in raised.value.message
    assert "customer" not in raised.value.message
    assert list(queue.folder.iterdir()) == []  # no temp file, no lock, no entry
    assert queue.due("QA") == []


def test_leftovers_of_killed_writers_go_but_fresh_ones_stay(queue: FileQueue) -> None:
    lease = queue.put(entry())
    queue.unlock(lease)
    old_lock, fresh_lock = queue.folder / "0123456789ab.lock", queue.folder / "ba9876543210.lock"
    old_temp = queue.folder / ".0123456789ab.1.ff.tmp"
    for path in (old_lock, fresh_lock, old_temp):
        path.write_bytes(b"")
    for path in (old_lock, old_temp):
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    queue.remove_leftovers()
    names = sorted(p.name for p in queue.folder.iterdir())
    assert names == sorted([f"{lease.entry.id}.entry", f"{lease.entry.id}.lock", fresh_lock.name])
