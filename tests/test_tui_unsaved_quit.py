"""q and ctrl+q never throw away unsaved edits: inside a form or editor q is a letter (on
every widget, the dropdown included) and ctrl+q asks first; elsewhere q quits at once."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from mailstage.screens.test_list_editor import TestListEditorScreen
from mailstage.screens.widgets import ConfirmModal
from mailstage.store.identity import login_name
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.test_tui_apps_support import HarnessApp, make_store
from tests.test_tui_apps_support import settle as settle_on
from tests.tmux import private_tmux
from tests.tui_fixtures import screen_text, settle


async def open_form(pilot: Any) -> Any:
    await pilot.press("e")
    await settle(pilot)
    await pilot.press("enter")  # Development
    await settle(pilot)
    await pilot.press("e")
    await settle(pilot)
    return pilot.app.screen


async def test_q_types_in_the_form_and_ctrl_q_asks_first(make_tui_app: Any) -> None:
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(pilot)
        await pilot.press(*"smtp.q.example.com")
        await settle(pilot)
        assert form.query_one("#server", Input).value == "smtp.q.example.com"
        assert app.is_running and app.screen is form
        # on the dropdown too: q is no quit key inside a form
        form.query_one("#auth").focus()
        await pilot.press("q")
        await settle(pilot)
        assert app.is_running and not isinstance(app.screen, ConfirmModal)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert "unsaved changes" in screen_text(app)
        await pilot.press("n")  # keep editing
        await settle(pilot)
        assert app.screen is form
        assert form.query_one("#server", Input).value == "smtp.q.example.com"
        await pilot.press("ctrl+q")
        await settle(pilot)
        await pilot.press("y")
        await pilot.pause()
    assert app.return_value == 0


async def test_the_palette_quit_asks_too(make_tui_app: Any) -> None:
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(pilot)
        await pilot.press(*"x.example.com")
        await app.action_quit()  # what the command palette's Quit runs
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen).__name__ == "EmailFormScreen"


async def test_without_edits_q_quits_at_once(make_tui_app: Any) -> None:
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_editor_q_on_any_widget_and_ctrl_q_asks(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: TestListEditorScreen("Shop", "QA"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle_on(pilot, TestListEditorScreen)
        editor = app.screen
        assert isinstance(editor, TestListEditorScreen)
        await pilot.press(*"qa@example.com", "enter")
        assert editor.addresses == ["qa@example.com"]
        for widget in ("#editor-active", "#editor-list", "#editor-filter"):
            editor.query_one(widget).focus()
            await pilot.press("q")
            await pilot.pause()
            assert app.is_running and not isinstance(app.screen, ConfirmModal), widget
        assert editor.query_one("#editor-filter", Input).value == "q"
        await pilot.press("ctrl+q")
        await settle_on(pilot, ConfirmModal)
        await pilot.press("n")
        await settle_on(pilot, TestListEditorScreen)
        assert editor.addresses == ["qa@example.com"]
        await pilot.press("ctrl+q")
        await settle_on(pilot, ConfirmModal)
        await pilot.press("y")
        await pilot.pause()
    assert app.return_value == 0


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_ctrl_q_in_tmux_asks_before_discarding_the_form(tmp_path: Path) -> None:
    locations = Locations(tmp_path / "store.json", tmp_path / "store.key")
    Workspace.init(locations, user=login_name())
    done = tmp_path / "exit-code"
    with private_tmux() as tmux:
        tmux.start_mailstage(locations.store, locations.key_file, done)
        tmux.wait_for("Organization Administrator")  # the store is open
        tmux.keys("e")
        tmux.wait_for("not configured")
        tmux.keys("Enter")
        tmux.wait_for("press e to configure it")
        tmux.keys("e")
        tmux.wait_for("SMTP server")
        tmux.keys("q", "u", "i", "t")  # letters, not a quit
        tmux.wait_for("quit")
        tmux.keys("C-q")
        tmux.wait_for("discard them?")
        tmux.keys("n")
        tmux.wait_gone("discard them?")
        assert "quit" in tmux.screen()
        tmux.keys("C-q")
        tmux.wait_for("discard them?")
        tmux.keys("y")
        assert tmux.exit_code(done) == "0"
    assert Workspace.open(locations, user=login_name()).data.stage("Development").email is None


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_ctrl_q_in_tmux_asks_before_discarding_the_test_list(tmp_path: Path) -> None:
    locations = Locations(tmp_path / "store.json", tmp_path / "store.key")
    workspace = Workspace.init(locations, user=login_name())
    workspace.add_app("Shop")
    done = tmp_path / "exit-code"
    with private_tmux() as tmux:
        tmux.start_mailstage(locations.store, locations.key_file, done)
        tmux.wait_for("Organization Administrator")  # the store is open
        tmux.keys("a")
        tmux.wait_for("Shop")
        tmux.keys("Enter")
        tmux.wait_for("Relay login")
        tmux.keys("Enter")  # Development's test list
        tmux.wait_for("Filter")
        tmux.keys(*"qa@example.com", "Enter")  # q is a letter here
        tmux.wait_for("unsaved changes")
        tmux.keys("C-q")
        tmux.wait_for("discard them?")
        tmux.keys("n")
        tmux.wait_gone("discard them?")
        assert "qa@example.com" in tmux.screen()
        tmux.keys("C-q")
        tmux.wait_for("discard them?")
        tmux.keys("y")
        assert tmux.exit_code(done) == "0"
    saved = Workspace.open(locations, user=login_name()).data
    assert saved.apps[0].test_list("Development").addresses == []
