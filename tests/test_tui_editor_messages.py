"""The test-list editor names the duplicates an addition dropped (already in the list,
or repeated in the paste), and its messages about edits go once the edits are saved."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Input

from mailstage.screens.test_list_editor import AddressList, TestListEditorScreen
from tests.test_tui_apps_support import HarnessApp, make_store, reopen, settle

SIZE = (80, 24)


def message(app: HarnessApp) -> str:
    return str(app.screen.query_one("#editor-problems").render())


async def paste(app: HarnessApp, pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    box = app.screen.query_one("#editor-add", Input)
    box.focus()
    box.post_message(events.Paste(text))
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def test_duplicates_are_named_and_messages_clear_on_save(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: TestListEditorScreen("Billing", "Development"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, TestListEditorScreen)  # dev1@ and dev2@ are in the list
        await paste(app, pilot, "new@example.com\nNEW@example.com\nDEV1@example.com")
        assert message(app) == (
            "Added 1. Duplicates dropped (already in the list: DEV1@example.com; "
            "1 address repeated in what was pasted)."
        )
        assert app.screen.addresses == ["dev1@example.com", "dev2@example.com", "new@example.com"]
        await pilot.press("tab", "tab", "tab")
        await pilot.pause()
        assert isinstance(app.focused, AddressList)
        await pilot.press("home", "d")
        await pilot.pause()
        assert message(app) == "Removed dev1@example.com."
        await pilot.press("f2")
        await pilot.pause()
        assert message(app) == ""  # saved: nothing pending to speak of
    saved = reopen(tmp_path).data.app("Billing").test_list("Development")  # type: ignore[union-attr]
    assert saved.addresses == ["dev2@example.com", "new@example.com"]
