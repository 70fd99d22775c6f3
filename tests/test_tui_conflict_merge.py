"""After "another admin saved first" and Reload, only what *you* changed is applied on top
of their version: the email form's fields, the test list's addresses and Active switch.
The other admin's change comes from the real CLI (main(argv), the user running the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from textual.widgets import Input

from mailstage.screens.test_list_editor import TestListEditorScreen
from mailstage.screens.widgets import MessageDialog
from mailstage.store.identity import login_name
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.cli_runner import run_cli_here
from tests.test_tui_apps_support import HarnessApp, flat, make_store, reopen, screen_text
from tests.test_tui_apps_support import locations as harness_locations
from tests.test_tui_apps_support import settle as settle_on
from tests.tui_fixtures import settle


def cli(*args: str) -> None:
    done = run_cli_here(*args)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def cli_store(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point the CLI at a store and make the real user an Organization Administrator of it."""

    def point(where: Locations) -> None:
        Workspace.open(where, user="alice").set_member(login_name(), "Organization Administrator")
        monkeypatch.setenv("MAILSTAGE_STORE", str(where.store))
        monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(where.key_file))

    return point


def configure_qa(where: Locations) -> None:
    ws = Workspace.open(where, user="alice")
    options = {
        "server": "smtp1.example.com",
        "auth": "basic",
        "username": "relay@example.com",
        "password": SecretStr("first-Pa55word"),
        "sender_email": "qa@example.com",
        "sender_name": "Old name",
    }
    ws.set_email("QA", ws.email_from_options("QA", options))


async def open_qa_form(pilot: Any) -> Any:
    await pilot.press("e")  # Configure > Emails
    await settle(pilot)
    await pilot.press("down", "enter")  # QA
    await settle(pilot)
    await pilot.press("e")
    await settle(pilot)
    return pilot.app.screen


async def retype(pilot: Any, field_id: str, text: str) -> None:
    widget = pilot.app.screen.query_one(f"#{field_id}", Input)
    widget.focus()
    widget.value = ""
    await pilot.press(*text)
    await pilot.pause()


async def conflict_then_reload(pilot: Any) -> None:
    await pilot.press("f2")
    await settle(pilot)
    assert type(pilot.app.screen).__name__ == "MessageDialog"
    assert "Another admin saved first" in screen_text(pilot.app)
    await pilot.press("r")
    await settle(pilot)


async def test_email_form_keeps_their_other_fields(
    make_tui_app: Any, tui_store: Locations, cli_store: Any
) -> None:
    configure_qa(tui_store)
    cli_store(tui_store)
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_qa_form(pilot)
        await retype(pilot, "sender_name", "My name")
        cli("email", "set", "QA", "--server", "smtp2.example.com", "--port", "2587")
        await conflict_then_reload(pilot)
        assert type(app.screen).__name__ == "EmailFormScreen"
        assert form.query_one("#server", Input).value == "smtp2.example.com"  # theirs
        assert form.query_one("#port", Input).value == "2587"  # theirs
        assert form.query_one("#sender_name", Input).value == "My name"  # mine
        await pilot.press("f2")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"
    email = Workspace.open(tui_store, user="alice").data.stage("QA").email
    assert (email.server, email.port, email.sender_name) == ("smtp2.example.com", 2587, "My name")
    assert email.auth.password.get_secret_value() == "first-Pa55word"  # nobody changed it


async def test_email_form_same_field_mine_on_top_theirs_elsewhere_kept(
    make_tui_app: Any, tui_store: Locations, cli_store: Any
) -> None:
    configure_qa(tui_store)
    cli_store(tui_store)
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_qa_form(pilot)
        await retype(pilot, "sender_name", "My name")
        await retype(pilot, "password", "my-new-Pa55word")
        cli("email", "set", "QA", "--sender-name", "Their name", "--sender-email", "t@example.com")
        await conflict_then_reload(pilot)
        assert form.query_one("#sender_name", Input).value == "My name"
        assert form.query_one("#sender_email", Input).value == "t@example.com"
        assert form.query_one("#password", Input).value == "my-new-Pa55word"  # typed: kept
        await pilot.press("f2")
        await settle(pilot)
    email = Workspace.open(tui_store, user="alice").data.stage("QA").email
    assert (email.sender_name, email.sender_email) == ("My name", "t@example.com")
    assert email.auth.password.get_secret_value() == "my-new-Pa55word"


async def test_email_form_never_saves_over_a_silent_reload(
    make_tui_app: Any, tui_store: Locations, cli_store: Any
) -> None:
    """The workspace read again for another reason (here: Reload from a dialog elsewhere)
    while the form was open: Save first shows their version with your edits on top."""
    configure_qa(tui_store)
    cli_store(tui_store)
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_qa_form(pilot)
        await retype(pilot, "sender_name", "My name")
        cli("email", "set", "QA", "--server", "smtp3.example.com")
        app.workspace.reload()  # no dialog: the form does not know
        await pilot.press("f2")
        await settle(pilot)
        assert type(app.screen).__name__ == "EmailFormScreen"  # not saved yet
        assert form.query_one("#server", Input).value == "smtp3.example.com"
        await pilot.press("f2")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"
    email = Workspace.open(tui_store, user="alice").data.stage("QA").email
    assert (email.server, email.sender_name) == ("smtp3.example.com", "My name")


def editor_app(tmp_path: Path, cli_store: Any) -> HarnessApp:
    ws = make_store(tmp_path)
    ws.save_test_list("Shop", "QA", ["a@example.com", "b@example.com"], False)
    cli_store(harness_locations(tmp_path))
    ws = reopen(tmp_path)
    return HarnessApp(ws, lambda: TestListEditorScreen("Shop", "QA"))


async def remove_address(pilot: Any, editor: TestListEditorScreen, address: str) -> None:
    editor.query_one("#editor-list").focus()
    await pilot.pause()
    address_list = editor.query_one("#editor-list")
    address_list.move_to(editor.addresses.index(address))  # type: ignore[attr-defined]
    await pilot.press("d")
    await pilot.pause()


async def test_editor_applies_my_adds_and_removals_on_their_list(
    tmp_path: Path, cli_store: Any
) -> None:
    app = editor_app(tmp_path, cli_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle_on(pilot, TestListEditorScreen)
        editor = app.screen
        assert isinstance(editor, TestListEditorScreen)
        await pilot.press(*"c@example.com", "enter")
        await remove_address(pilot, editor, "a@example.com")
        assert editor.addresses == ["b@example.com", "c@example.com"]
        cli("testlist", "add", "Shop", "--stage", "QA", "d@example.com")
        cli("testlist", "activate", "Shop", "--stage", "QA")
        await pilot.press("f2")
        await settle_on(pilot, MessageDialog)
        await pilot.press("r")
        await settle_on(pilot, TestListEditorScreen)
        assert editor.addresses == ["b@example.com", "d@example.com", "c@example.com"]
        assert editor.active is True  # theirs: I did not flip it
        assert "with your changes on top (1 added, 1 removed)" in flat(screen_text(app))
        await pilot.press("f2")
        await pilot.pause()
    saved = reopen(tmp_path).data.app("Shop").test_list("QA")  # type: ignore[union-attr]
    assert saved.addresses == ["b@example.com", "d@example.com", "c@example.com"]
    assert saved.active is True


async def test_editor_same_address_and_my_active_flip(tmp_path: Path, cli_store: Any) -> None:
    app = editor_app(tmp_path, cli_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle_on(pilot, TestListEditorScreen)
        editor = app.screen
        assert isinstance(editor, TestListEditorScreen)
        await pilot.press(*"c@example.com", "enter", "f3")  # add c, switch Active on
        cli("testlist", "add", "Shop", "--stage", "QA", "C@example.com")  # the same address
        cli("testlist", "remove", "Shop", "--stage", "QA", "a@example.com")
        await pilot.press("f2")
        await settle_on(pilot, MessageDialog)
        await pilot.press("r")
        await settle_on(pilot, TestListEditorScreen)
        assert editor.addresses == ["b@example.com", "C@example.com"]  # no duplicate
        assert editor.active is True  # mine: I flipped it
        await pilot.press("f2")
        await pilot.pause()
    saved = reopen(tmp_path).data.app("Shop").test_list("QA")  # type: ignore[union-attr]
    assert (saved.addresses, saved.active) == (["b@example.com", "C@example.com"], True)
