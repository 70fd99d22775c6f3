"""The full-screen app on a PostgreSQL store (issue 18), through Pilot against the real
server: it opens as the database role, a stage edited in the form is saved to the row,
and on an empty database the welcome screen creates the store there."""

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
