"""Activating an empty test list asks first, and the question itself says that all of
the app's mail will be held (nobody receives it): on the Apps list (quick toggle, any
stage) and when the editor saves a list that is active and empty."""

from __future__ import annotations

from pathlib import Path

from mailstage.screens.apps import AppsScreen
from mailstage.screens.test_list_editor import TestListEditorScreen
from mailstage.screens.widgets import ConfirmModal
from tests.test_tui_apps_support import HarnessApp, make_store, reopen, settle

SIZE = (80, 24)
HELD = "all of {app}'s mail in {stage} will be held (nobody receives it)"


def stored(tmp_path: Path, app: str, stage: str):  # type: ignore[no-untyped-def]
    return reopen(tmp_path).data.app(app).test_list(stage)  # type: ignore[union-attr]


async def press(pilot, key: str, then: type) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(key)
    await settle(pilot, then)


async def test_quick_toggle_asks_before_activating_an_empty_list(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: AppsScreen())  # Portal: none in Development
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AppsScreen)
        await pilot.press("down", "space")  # Portal, Development
        await settle(pilot, ConfirmModal)
        question = app.screen.question
        assert question.startswith("Activate the empty test list of Portal in Development?")
        assert HELD.format(app="Portal", stage="Development") in question
        await press(pilot, "n", AppsScreen)
        assert stored(tmp_path, "Portal", "Development").active is False
        await press(pilot, "space", ConfirmModal)
        await press(pilot, "y", AppsScreen)
        assert stored(tmp_path, "Portal", "Development").active is True
        # turning it off again asks nothing
        await pilot.press("space")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        assert stored(tmp_path, "Portal", "Development").active is False


async def test_a_production_stage_says_held_too(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: AppsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AppsScreen)
        await pilot.press("S", "down", "down", "space")  # Production, Shop (empty)
        await settle(pilot, ConfirmModal)
        question = app.screen.question
        assert "Shop in Production, a production stage?" in question
        assert HELD.format(app="Shop", stage="Production") in question
        await press(pilot, "n", AppsScreen)
        assert stored(tmp_path, "Shop", "Production").active is False


async def test_the_editor_asks_before_saving_an_active_empty_list(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: TestListEditorScreen("Shop", "QA"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, TestListEditorScreen)
        await pilot.press("f3", "f2")
        await settle(pilot, ConfirmModal)
        question = app.screen.question
        assert question.startswith("Save the test list of Shop in QA active and empty?")
        assert HELD.format(app="Shop", stage="QA") in question
        await pilot.press("n")  # keep editing: nothing saved
        await settle(pilot, TestListEditorScreen)
        assert stored(tmp_path, "Shop", "QA").active is False
        await press(pilot, "f2", ConfirmModal)
        await press(pilot, "y", TestListEditorScreen)
        assert stored(tmp_path, "Shop", "QA").active is True
        assert not app.screen.dirty
        # saved as it is now: a second save asks nothing
        await pilot.press("f2")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
