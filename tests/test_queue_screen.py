"""The Queue screen through Pilot at 80x24 on a real store and a real queue: reached from
Home and the palette, it shows age, attempts and last reply, refreshes by itself, and
r retries, h holds/releases, x deletes (after asking) the highlighted entry."""

from __future__ import annotations

import time
from pathlib import Path

from textual.command import CommandPalette

from mailstage.mailer.maillog import MailLog
from mailstage.relay.file_queue import FileQueue
from mailstage.relay.queue import QueueEntry
from mailstage.screens.home import HomeScreen
from mailstage.screens.queue import QueueScreen
from mailstage.screens.widgets import ConfirmModal
from tests.test_tui_apps_support import HarnessApp, flat, make_store, reopen, screen_text, settle

SIZE = (80, 24)


def put(queue: FileQueue, number: int, **extra: object) -> QueueEntry:
    entry = QueueEntry(
        stage="QA",
        app="Shop",
        message=b"Subject: x\r\n\r\nbody\r\n",
        recipients=[f"c{number}@buyers.example"],
        original=[f"c{number}@buyers.example"],
        subject=f"Order {number}\x1b[31m",
        queued_at=time.time() - 7200,
        next_attempt=time.time() + 1800,
        attempts=3,
        last_reply="451 4.4.1 connect: refused",
        **extra,  # type: ignore[arg-type]
    )
    queue.unlock(queue.put(entry))
    return entry


async def wait_for_text(pilot, app, words: str) -> str:
    for _ in range(100):
        text = flat(screen_text(app))
        if words in text:
            return text
        await pilot.pause(0.05)
    raise AssertionError(f"{words!r} never shown:\n{screen_text(app)}")


async def test_queue_screen_shows_refreshes_and_steers(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    queue = FileQueue.of_store(ws.file)
    first = put(queue, 1)
    app = HarnessApp(reopen(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, HomeScreen)
        assert "Queue" in screen_text(app)
        await pilot.press("o")
        await settle(pilot, QueueScreen)
        text = await wait_for_text(pilot, app, first.id)
        assert "2h" in text and "451 4.4.1" in text and "1 message(s) waiting" in text
        assert "\x1b" not in text

        second = put(queue, 2)  # written by a relay meanwhile: shown without a key
        await wait_for_text(pilot, app, second.id)
        assert "2 message(s) waiting" in flat(screen_text(app))

        await pilot.press("h")  # the first row: held
        await wait_for_text(pilot, app, "1 held")
        assert [item.state for item in queue.list()] == ["held", "queued"]
        await pilot.press("h")  # released again
        await wait_for_text(pilot, app, "next try in")
        assert not any(item.state == "held" for item in queue.list())

        await pilot.press("r")
        await pilot.pause()
        assert queue.due("QA") == [first.id]

        await pilot.press("x")
        await settle(pilot, ConfirmModal)
        await pilot.press("n")  # kept
        await settle(pilot, QueueScreen)
        assert len(queue.list()) == 2
        await pilot.press("x")
        await settle(pilot, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, QueueScreen)
        await wait_for_text(pilot, app, "1 message(s) waiting")
        assert [item.id for item in queue.list()] == [second.id]
    assert reopen(tmp_path).data.audit[-1].action == "queue.delete"
    log = MailLog.of_store(ws.file).read()
    assert [(r.outcome, r.queue_id) for r in log] == [("deleted", first.id)]


async def test_queue_from_the_palette_and_read_only_for_a_viewer(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    put(FileQueue.of_store(ws.file), 3)
    app = HarnessApp(reopen(tmp_path, user="bob"))  # a Viewer
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot, CommandPalette)
        await pilot.press(*"Queue", "enter")
        await settle(pilot, QueueScreen)
        text = await wait_for_text(pilot, app, "Read-only.")
        assert "Manage Email Configurations" in text
        assert "Retry" not in text and "Delete" not in text  # no keys they cannot use
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)  # nothing asked, nothing deleted
    assert len(FileQueue.of_store(ws.file).list()) == 1
