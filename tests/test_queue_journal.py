"""The file queue's journal (the relay's put_async): entries answered only once
fdatasynced, several per sync; settled ones marked in place, waiting ones moved into
entry files; a journal whose writer was killed -9 (mid-batch too) becomes entry files
for whoever finds it, every answered entry once and nothing cut short; while its
writer lives, others see its entries `sending` and never take them."""

# ruff: noqa: F401, F811  (fixtures imported from test_queue_file)
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mailstage.relay.file_queue import KEY_PURPOSE, FileQueue
from mailstage.relay.journal import JOURNAL_SUFFIX, RECORD, InJournal, Journal
from mailstage.relay.queue import EntryBusy, EntryMissing, Lease, QueueWriteFailed
from mailstage.store.sharing import PRIVATE
from mailstage.store.workspace import Workspace
from tests.cli_runner import REPO
from tests.test_queue_file import (  # its fixtures too
    BODY_WORDS,
    entry,
    queue,
    small_disk,
    workspace,
)


def other(workspace: Workspace) -> FileQueue:
    """Another holder of the same folder (as another process would be: its own fds)."""
    return FileQueue.of_store(workspace.file)


def killed(journal: Journal) -> None:
    """As if its writer were killed: the fd, and with it the flock, gone."""
    os.close(journal.fd)
    journal.fd = -1


def journals(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{JOURNAL_SUFFIX}"))


def put_all(queue: FileQueue, count: int, **extra: object) -> list[Lease]:
    async def puts() -> list[Lease]:
        return list(
            await asyncio.gather(*(queue.put_async(entry(n, **extra)) for n in range(count)))
        )

    return asyncio.run(puts())


def test_puts_share_a_journal_and_settled_ones_leave_nothing(queue: FileQueue) -> None:
    leases = put_all(queue, 5)
    assert [p.name for p in queue.folder.iterdir()] == [journals(queue.folder)[0].name]
    assert queue.due("QA") == []  # in this process's hands, no one else's
    for lease in leases:
        queue.done(lease)
    queue.close()  # nothing pending: the journal goes
    assert list(queue.folder.iterdir()) == []


def test_a_deferred_entry_moves_into_a_file_of_its_own(
    queue: FileQueue, workspace: Workspace
) -> None:
    first, second = put_all(queue, 2)
    first.entry.attempts = 1
    first.entry.accepted = ["second@buyers.example"]
    first.entry.last_reply = "451 4.3.0 try later"
    queue.defer(first)
    queue.unlock(second)  # unchanged: as it was written
    queue.close()
    assert journals(queue.folder) == []
    reader = other(workspace)
    assert set(reader.due("QA")) == {first.entry.id, second.entry.id}
    moved = reader.lease(first.entry.id)
    assert moved is not None and moved.entry.attempts == 1
    assert moved.entry.pending == [first.entry.recipients[0]]
    kept = reader.lease(second.entry.id)
    assert kept is not None and kept.entry == second.entry


def test_others_see_journal_entries_sending_and_cannot_take_them(
    queue: FileQueue, workspace: Workspace
) -> None:
    (lease,) = put_all(queue, 1)
    reader = other(workspace)
    items = reader.items()
    assert [(i.id, i.state, i.subject) for i in items] == [
        (lease.entry.id, "sending", lease.entry.subject)
    ]
    assert reader.due("QA") == []
    with pytest.raises(EntryBusy):
        reader.hold(lease.entry.id, wait=0.2)
    queue.done(lease)
    assert reader.items() == []
    with pytest.raises(EntryMissing):
        reader.hold(lease.entry.id, wait=0.2)


def test_no_plaintext_in_a_journal(queue: FileQueue) -> None:
    put_all(queue, 3)
    raw = journals(queue.folder)[0].read_bytes()
    for word in (b"Invoice", b"buyers", b"customer", b"quarterly", b"Shop", b"shop@"):
        assert word not in raw and word.lower() not in raw.lower()


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from mailstage.relay.file_queue import FileQueue
    from mailstage.store.sharing import PRIVATE
    from tests.test_queue_file import entry
    folder, key = Path(sys.argv[1]), bytes.fromhex(sys.argv[2])
    durable = sys.argv[3] == "durable"
    queue = FileQueue(folder, key, PRIVATE)

    async def one(number):
        lease = await queue.put_async(entry(number, message=b"Subject: n%d\\r\\n\\r\\n" % number
                                            + b"x" * (number % 7 * 3000)), durable=durable)
        sys.stdout.write(f"acked {number} {lease.entry.id}\\n")
        if number % 3 == 0:
            sys.stdout.write(f"finishing {lease.entry.id}\\n")
            queue.done(lease)
            sys.stdout.write(f"done {lease.entry.id}\\n")
        sys.stdout.flush()

    async def main():
        number = 0
        while True:  # batches of 8 at once, until killed
            await asyncio.gather(*(one(number + k) for k in range(8)))
            number += 8
            if number == 64:
                sys.stdout.write("ready\\n"); sys.stdout.flush()

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("durable", ["durable", "written"])
@pytest.mark.parametrize("after", [0.0, 0.05, 0.3])
def test_killed_mid_batch_every_answered_entry_comes_back_once(
    queue: FileQueue, workspace: Workspace, after: float, durable: str
) -> None:
    """Synced or only written (the relay's first-attempt put): a kill -9 loses none."""
    key = workspace.file.derived_key(KEY_PURPOSE)
    queue.folder.mkdir(parents=True, exist_ok=True)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(queue.folder), key.hex(), durable],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert writer.stdout is not None
    lines = []
    for line in writer.stdout:
        lines.append(line.split())
        if line == "ready\n":
            break
    time.sleep(after)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    lines += [line.split() for line in writer.stdout.read().splitlines()]
    acked = {words[2]: int(words[1]) for words in lines if words[0] == "acked"}
    finishing = {words[1] for words in lines if words[0] == "finishing"}
    done = {words[1] for words in lines if words[0] == "done"}
    reader = other(workspace)
    found = set(reader.due("QA"))  # recovers the dead writer's journal
    assert journals(queue.folder) == []
    assert set(acked) - finishing <= found  # every entry answered and not done is there
    assert not found & done  # none that was done comes back
    for entry_id in found:  # each whole, once (ids are unique file names)
        lease = reader.lease(entry_id)
        assert lease is not None, entry_id  # decrypts: nothing cut short was recovered
        if entry_id in acked:
            number = acked[entry_id]
            assert lease.entry.message.endswith(b"x" * (number % 7 * 3000) if number % 7 else b"\n")
        reader.done(lease)


def test_a_torn_last_record_is_ignored(queue: FileQueue, workspace: Workspace) -> None:
    leases = put_all(queue, 3)
    path = journals(queue.folder)[0]
    with path.open("ab") as handle:  # a record cut short, as by a kill mid-write
        handle.write(RECORD.pack(b"P", b"0123456789ab", 5000) + b"\x01" * 100)
    assert isinstance(leases[0].handle, InJournal)
    killed(leases[0].handle.journal)
    reader = other(workspace)
    assert sorted(reader.due("QA")) == sorted(lease.entry.id for lease in leases)
    assert list(queue.folder.glob("0123456789ab*")) == []


def test_another_process_recovers_only_once_the_writer_is_gone(
    queue: FileQueue, workspace: Workspace
) -> None:
    (lease,) = put_all(queue, 1)
    reader = other(workspace)
    reader.remove_leftovers()
    assert journals(queue.folder)  # its writer lives: left alone
    assert isinstance(lease.handle, InJournal)
    killed(lease.handle.journal)
    assert reader.due("QA") == [lease.entry.id]
    got = reader.lease(lease.entry.id)
    assert got is not None and got.entry.message.endswith(BODY_WORDS + b"\r\n")


def test_a_full_disk_fails_the_batch_and_leaves_no_torn_record(
    small_disk: Path, workspace: Workspace
) -> None:
    queue = FileQueue(small_disk / "queue", workspace.file.data_key, PRIVATE)
    with pytest.raises(QueueWriteFailed) as raised:
        put_all(queue, 1, message=os.urandom(200 * 1024))
    assert raised.value.full
    (small,) = put_all(queue, 1)  # a new journal: the failed one takes no more
    queue.done(small)
    (kept,) = put_all(queue, 1)
    assert isinstance(kept.handle, InJournal)
    killed(kept.handle.journal)
    reader = FileQueue(queue.folder, workspace.file.data_key, PRIVATE)
    assert reader.due("QA") == [kept.entry.id]
    assert journals(queue.folder) == []


def test_a_large_entry_is_written_in_a_thread(queue: FileQueue, workspace: Workspace) -> None:
    big = entry(1, message=b"Subject: big\r\n\r\n" + b"y" * (600 * 1024))
    (small,) = put_all(queue, 1)
    lease = asyncio.run(queue.put_async(big))
    assert len(journals(queue.folder)) == 2  # a journal of its own: never two writers in one
    queue.unlock(lease)
    assert len(journals(queue.folder)) == 1  # settled: its journal gone
    queue.done(small)
    got = other(workspace).lease(big.id)
    assert got is not None and got.entry.message == big.message


def test_a_put_cancelled_meanwhile_is_written_and_moved_out(queue: FileQueue) -> None:
    """The relay stopping cancels a put the log already calls queued: it is kept."""

    async def cancelled() -> str:
        put = asyncio.ensure_future(queue.put_async(entry(7)))
        await asyncio.sleep(0)  # the put waits for its batch's write
        put.cancel()
        with pytest.raises(asyncio.CancelledError):
            await put
        await asyncio.sleep(0.5)  # written and synced all the same
        return entry(7).subject

    subject = asyncio.run(cancelled())
    (entry_id,) = queue.due("QA")  # nobody held it: moved into an entry file
    lease = queue.lease(entry_id)
    assert lease is not None and lease.entry.subject == subject


def test_a_written_entry_is_synced_only_when_asked(queue: FileQueue, workspace: Workspace) -> None:
    """put_async(durable=False) answers once written, without the syncer; make_durable
    then syncs it (and one settled meanwhile needs nothing)."""

    async def puts() -> tuple[Lease, Lease, bool, bool]:
        kept = await queue.put_async(entry(1), durable=False)
        sent = await queue.put_async(entry(2), durable=False)
        syncer_before = queue._journals._syncer is not None
        queue.done(sent)  # upstream took it at once: its copy is no longer needed
        await queue.make_durable(sent)
        await queue.make_durable(kept)  # the app is to hear "queued"
        return kept, sent, syncer_before, queue._journals._syncer is not None

    kept, _sent, syncer_before, syncer_after = asyncio.run(puts())
    assert not syncer_before and syncer_after
    assert isinstance(kept.handle, InJournal)
    killed(kept.handle.journal)
    assert other(workspace).due("QA") == [kept.entry.id]


def test_a_failed_later_sync_claims_nothing_and_loses_nothing(
    queue: FileQueue, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync for "queued" fails (an I/O error): QueueWriteFailed (the app hears 4xx),
    the journal takes no more records, and the entry stays for its holder to settle:
    it may yet be sent, it is never dropped."""

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    async def puts() -> tuple[Lease, Lease]:
        lease = await queue.put_async(entry(1), durable=False)
        monkeypatch.setattr(os, "fdatasync", broken)
        with pytest.raises(QueueWriteFailed):
            await queue.make_durable(lease)
        monkeypatch.undo()
        return lease, await queue.put_async(entry(2), durable=False)

    failed, after = asyncio.run(puts())
    assert isinstance(failed.handle, InJournal) and isinstance(after.handle, InJournal)
    assert failed.handle.journal.retired and after.handle.journal is not failed.handle.journal
    queue.defer(failed)  # its holder settles it: waiting for a retry, in a file of its own
    killed(after.handle.journal)
    assert sorted(other(workspace).due("QA")) == sorted([failed.entry.id, after.entry.id])
