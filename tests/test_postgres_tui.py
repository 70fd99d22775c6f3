"""The full-screen app on a PostgreSQL store (issue 18), through Pilot against the real
server: it opens as the database role, a stage edited in the form is saved to the row,
on an empty database the welcome screen creates the store there, and the Queue screen
shows and steers the rows of mailstage_queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from mailstage.tui.app import build_app
from tests.postgres_server import ScratchDatabase, postgres_admin, postgres_database
from tests.test_tui_emails import choose_auth, open_form, type_into
from tests.tui_fixtures import screen_text, settle

__all__ = ["postgres_admin", "postgres_database"]

pytestmark = pytest.mark.postgres


@pytest.fixture
def where(postgres_database: ScratchDatabase, tmp_path: Path) -> Locations:
    return Locations.resolve(postgres_database.url, tmp_path / "keys" / "store.key")


async def test_a_stage_edited_in_the_form_is_saved_to_the_database(
    where: Locations, postgres_database: ScratchDatabase
) -> None:
    Workspace.init(where)
    app: Any = build_app(where)  # no user given: the database role, as from the CLI
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert f"{postgres_database.role} · Organization Administrator" in screen_text(app)
        assert postgres_database.password not in screen_text(app)
        form = await open_form(pilot)
        assert type(form).__name__ == "EmailFormScreen"
        await pilot.press(*"smtp.wallaby.example", "tab")
        await choose_auth(pilot, "Basic")
        typed = {"username": "wallaby", "password": "wallaby-pass-9"}
        for field, text in {**typed, "sender_email": "noreply@wallaby.example"}.items():
            await type_into(pilot, field, text)
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"
        assert "smtp.wallaby.example" in screen_text(app)

    saved = Workspace.open(where)
    email = saved.data.stage("Development").email
    assert email is not None and email.server == "smtp.wallaby.example"
    assert email.auth.password.get_secret_value() == "wallaby-pass-9"
    assert saved.data.audit[-1].action == "email.set"
    assert saved.data.audit[-1].user == postgres_database.role


async def test_on_an_empty_database_the_welcome_screen_creates_the_store_there(
    where: Locations, postgres_database: ScratchDatabase
) -> None:
    app: Any = build_app(where)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "CreateStoreScreen"
        text = screen_text(app)
        assert "postgresql://" in text and postgres_database.password not in text
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "HomeScreen"
    opened = Workspace.open(where)
    assert opened.data.organization.members == {
        postgres_database.role: "Organization Administrator"
    }


async def test_the_email_log_screen_reads_the_table_and_shows_new_records(
    where: Locations,
) -> None:
    from mailstage.mailer.maillog import LogRecord, MailLog

    workspace = Workspace.init(where)
    log = MailLog.of_store(workspace.file)
    log.append(LogRecord("send-test", "QA", None, "sent", subject="Numbat report"))
    app: Any = build_app(where)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert type(app.screen).__name__ == "EmailLogScreen"
        assert "Numbat report" in screen_text(app)
        log.append(LogRecord("relay", "QA", "Shop", "deferred", subject="Bandicoot notice"))
        for _ in range(100):  # the screen checks the table's newest id every second
            if "Bandicoot notice" in screen_text(app):
                break
            await pilot.pause(0.05)
        assert "Bandicoot notice" in screen_text(app)


async def test_the_queue_screen_shows_and_steers_the_table(where: Locations) -> None:
    import time

    from mailstage.mailer.maillog import MailLog
    from mailstage.relay.queue import QueueEntry, open_queue
    from mailstage.screens.queue import QueueScreen
    from mailstage.screens.widgets import ConfirmModal
    from tests.test_queue_screen import wait_for_text

    workspace = Workspace.init(where)
    queue = open_queue(workspace.file)
    entry = QueueEntry(
        stage="QA", app="Shop", message=b"Subject: x\r\n\r\nbody\r\n",
        recipients=["quokka@buyers.example"], subject="Quokka order",
        queued_at=time.time() - 7200, next_attempt=time.time() + 1800, attempts=3,
        last_reply="451 4.4.1 connect: refused",
    )  # fmt: skip
    queue.unlock(queue.put(entry))
    app: Any = build_app(where)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        text = await wait_for_text(pilot, app, entry.id)
        assert "2h" in text and "451 4.4.1" in text and "1 message(s) waiting" in text
        await pilot.press("h")
        await wait_for_text(pilot, app, "1 held")
        assert [item.state for item in queue.list()] == ["held"]
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        await wait_for_text(pilot, app, "empty")
    assert queue.list() == []
    log = MailLog.of_store(Workspace.open(where).file).read()
    assert [(r.outcome, r.queue_id) for r in log] == [("deleted", entry.id)]
