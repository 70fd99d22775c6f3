"""Issue 19: the command palette holds mailstage's commands (and Quit), not Textual's
generic ones; every dialog's footer shows the dialog's own keys; F1 writes a second key
as "or"; the Check-only box is empty while off."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.command import CommandList, CommandPalette

from mailstage.screens.apps import AppsScreen
from mailstage.screens.help import keys_table
from mailstage.tui.app import MailstageApp
from tests.test_tui_apps_support import HarnessApp, make_store
from tests.test_tui_guidance import configure
from tests.tui_fixtures import screen_text, settle

SIZE = (80, 24)


def palette_titles(app: Any) -> list[str]:
    results = app.screen.query_one(CommandList)
    options = (results.get_option_at_index(i) for i in range(results.option_count))
    return [str(option.prompt).split("\n")[0] for option in options]


async def test_the_palette_offers_ours_and_not_textuals_generic_commands(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        assert isinstance(app.screen, CommandPalette)
        shown = palette_titles(app)  # every command, before anything is typed
        assert "Apps" in shown and "Audit" in shown and "Quit" in shown
        for generic in ("Theme", "Keys", "Maximize", "Minimize", "Screenshot"):
            assert not any(title.startswith(generic) for title in shown), generic
        assert shown.count("Email log") == 1
        await pilot.press(*"screenshot")
        await settle(pilot)
        assert not any("Screenshot" in title for title in palette_titles(app))


async def test_help_writes_a_second_key_with_or(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: AppsScreen())
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)
        keys = {item.binding_id: item.keys for item in app.screen.keys}
        assert keys["apps.filter"] == "/ or f"
        console = Console(width=70, record=True, file=io.StringIO())
        console.print(keys_table(app.screen.keys))
        row = next(line for line in console.export_text().splitlines() if "apps.filter" in line)
        assert row.startswith("/ or f ")


async def test_the_check_only_box_is_empty_while_off(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    configure(ws, "QA")
    app = HarnessApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        MailstageApp.open_send_test(app, "QA")  # the real modal (HarnessApp records it)
        await settle(pilot)
        box = next(line for line in screen_text(app).splitlines() if "Check only" in line)
        assert "▐ ▌ Check only: off" in box and "X" not in box
        await pilot.press("tab", "space")
        await settle(pilot)
        box = next(line for line in screen_text(app).splitlines() if "Check only" in line)
        assert "▐X▌ Check only: on" in box


def footer_line(app: Any) -> str:
    return screen_text(app).splitlines()[-1].strip()


async def test_each_dialog_shows_its_own_keys_in_the_footer(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: AppsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        beneath = footer_line(app)
        assert "x Remove" in beneath
        for key, footer in (("x", "y Remove  n Keep"), ("n", "esc Cancel"), ("f1", "esc Close")):
            await pilot.press(key)
            await settle(pilot)
            assert footer_line(app) == footer, key
            await pilot.press("escape")
            await settle(pilot)
            assert footer_line(app) == beneath
        app.report_error(RuntimeError())
        await settle(pilot)
        assert footer_line(app) == "esc Close"
        await pilot.press("escape")
        await settle(pilot)
        app.open_email_form("QA")
        await settle(pilot)
        await pilot.press(*"smtp.example.com", "escape")  # unsaved: asks first
        await settle(pilot)
        assert "Discard your changes" in screen_text(app)
        assert footer_line(app) == "y Discard  n No"
