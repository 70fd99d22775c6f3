"""Stages from the TUI: n on Emails adds one with the CLI's rules; removing a stage whose
name reads as production asks for its name typed out."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button

from mailstage.screens.add_stage import AddStageModal
from mailstage.screens.emails import EmailsScreen
from mailstage.screens.removal import TypeNameModal
from mailstage.screens.widgets import ConfirmModal
from tests.cli_runner import run_cli
from tests.test_tui_apps_support import HarnessApp, make_store, reopen, screen_text, settle

SIZE = (80, 24)


def stage_names(tmp_path: Path) -> list[str]:
    return [s.name for s in reopen(tmp_path).data.ordered_stages()]


async def test_n_adds_a_stage_with_the_cli_rules(tmp_path: Path, initialized: object) -> None:
    cli = run_cli("stage", "add", "qa")  # the CLI's own sentence for a duplicate name
    assert cli.returncode == 3
    app = HarnessApp(make_store(tmp_path), lambda: EmailsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, EmailsScreen)
        assert "n New" in screen_text(app)  # a visible key
        await pilot.press("n")
        await settle(pilot, AddStageModal)
        await pilot.press(*"qa", "enter")
        await pilot.pause()
        error = str(app.screen.query_one("#add-stage-error").render())
        assert error and error in cli.stderr
        assert "already a stage" in error
        assert stage_names(tmp_path) == ["Development", "QA", "Production"]
        await pilot.press("ctrl+a", "ctrl+k", *"Staging", "tab", "space", "tab", "enter")
        await settle(pilot, EmailsScreen)
        assert "Staging  [production]" in screen_text(app)
        screen = app.screen
        assert isinstance(screen, EmailsScreen) and screen._current() == "Staging"
    data = reopen(tmp_path).data
    assert [s.name for s in data.ordered_stages()][-1] == "Staging"
    assert data.stage("Staging").production  # type: ignore[union-attr]
    assert data.audit[-1].action == "stage.add"


async def test_removing_a_production_stage_asks_for_its_name(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    ws.add_stage("prd-eu")  # not flagged, but its name reads as production
    app = HarnessApp(reopen(tmp_path), lambda: EmailsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, EmailsScreen)
        await pilot.press("down", "down", "x")  # Production
        await settle(pilot, TypeNameModal)
        remove = app.screen.query_one("#type-name-remove", Button)
        await pilot.press(*"Prod", "enter")
        await pilot.pause()
        assert remove.disabled and isinstance(app.screen, TypeNameModal)
        assert "is not Production: nothing removed" in str(
            app.screen.query_one("#type-name-error").render()
        )
        await pilot.press("escape")
        await settle(pilot, EmailsScreen)
        assert "Production" in stage_names(tmp_path)
        await pilot.press("x")
        await settle(pilot, TypeNameModal)
        await pilot.press(*"Production")
        await pilot.pause()
        assert not app.screen.query_one("#type-name-remove", Button).disabled
        await pilot.press("enter")
        await settle(pilot, EmailsScreen)
        assert stage_names(tmp_path) == ["Development", "QA", "prd-eu"]
        await pilot.press("x")  # prd-eu, highlighted where Production was: typed too
        await settle(pilot, TypeNameModal)
        await pilot.press("escape")
        await settle(pilot, EmailsScreen)
        await pilot.press("up", "x")  # QA: a plain yes / no
        await settle(pilot, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, EmailsScreen)
    assert stage_names(tmp_path) == ["Development", "prd-eu"]


async def test_n_on_apps_adds_an_app_with_the_cli_rules(tmp_path: Path) -> None:
    """The app dialog shares the stage dialog's behaviour: a broken rule keeps it open with
    the sentence, Cancel and Esc add nothing, Enter adds (saved and audited)."""
    from mailstage.screens.apps import AddAppModal, AppsScreen

    app = HarnessApp(make_store(tmp_path), lambda: AppsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AppsScreen)
        await pilot.press("n")
        await settle(pilot, AddAppModal)
        assert "Add an app" in screen_text(app)
        await pilot.press(*"shop", "enter")
        await pilot.pause()
        assert "already an app" in str(app.screen.query_one("#add-app-error").render())
        await pilot.press("escape")
        await settle(pilot, AppsScreen)
        await pilot.press("n")
        await settle(pilot, AddAppModal)
        await pilot.press(*"Ledger")
        await pilot.click("#add-app-cancel")
        await settle(pilot, AppsScreen)
        assert "Ledger" not in [a.name for a in reopen(tmp_path).data.apps]
        await pilot.press("n")
        await settle(pilot, AddAppModal)
        await pilot.press(*"Ledger", "enter")
        await settle(pilot, AppsScreen)
        assert "Ledger" in screen_text(app)
    data = reopen(tmp_path).data
    assert [a.name for a in data.apps][-1] == "Ledger"
    assert (data.audit[-1].action, data.audit[-1].target) == ("app.add", "Ledger")
