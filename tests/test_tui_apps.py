"""Apps, app Configuration and the test-list editor, driven with the keyboard only.

Every change is checked on disk by opening the real store file again.
"""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Input

from mailstage.screens.app_config import AppConfigScreen
from mailstage.screens.apps import AppsScreen
from mailstage.screens.test_list_editor import AddressList, TestListEditorScreen
from mailstage.screens.widgets import ConfirmModal, MessageDialog
from mailstage.store.errors import Conflict
from tests.test_tui_apps_support import (
    HarnessApp,
    flat,
    make_store,
    reopen,
    screen_text,
    settle,
)

SIZE = (80, 24)


async def test_edit_a_test_list_with_the_keyboard(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: TestListEditorScreen("Shop", "QA"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, TestListEditorScreen)
        editor = app.screen
        assert isinstance(editor, TestListEditorScreen)
        # a paste of several at once (new lines, commas, spaces), one invalid, one duplicate
        add = editor.query_one("#editor-add", Input)
        assert app.focused is add
        add.post_message(
            events.Paste(
                "ann@example.com, bob@example.com\nnot-an-address  carl@example.com;ANN@example.com"
            )
        )
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        text = flat(screen_text(app))
        assert "'not-an-address' is not a valid email address" in text
        assert "Added 3." in text and "1 address repeated in what was pasted" in text
        assert editor.addresses == ["ann@example.com", "bob@example.com", "carl@example.com"]
        # the invalid one stays in the box to be fixed
        assert add.value == "not-an-address"

        # remove bob: go to the list, move to him, d
        await pilot.press("tab", "tab", "tab")
        await pilot.pause()
        assert isinstance(app.focused, AddressList)
        await pilot.press("home", "down", "d")
        await pilot.pause()
        assert editor.addresses == ["ann@example.com", "carl@example.com"]

        # activate and save
        await pilot.press("f3")
        await pilot.pause()
        assert "Active: on" in screen_text(app)
        assert "unsaved changes" in screen_text(app)
        await pilot.press("f2")
        await pilot.pause()
        assert not editor.dirty

    stored = reopen(tmp_path).data.app("Shop").test_list("QA")  # type: ignore[union-attr]
    assert stored.addresses == ["ann@example.com", "carl@example.com"]
    assert stored.active is True
    event = reopen(tmp_path).data.audit[-1]
    assert event.action == "testlist.save" and event.target == "Shop/QA"
    assert set(event.fields) == {"addresses", "active"}


async def test_filter_and_remove_work_on_the_filtered_view(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    ws.save_test_list("Shop", "QA", [f"user{i}@example.com" for i in range(300)], False)
    app = HarnessApp(ws, lambda: TestListEditorScreen("Shop", "QA"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, TestListEditorScreen)
        editor = app.screen
        assert isinstance(editor, TestListEditorScreen)
        await pilot.press("tab", "tab")  # Add -> Active switch -> Filter
        await pilot.pause()
        await pilot.press(*"user29")
        await pilot.pause()
        shown = editor.query_one(AddressList).items
        assert shown == ["user29@example.com"] + [f"user29{i}@example.com" for i in range(10)]
        assert "300 addresses · 11 shown" in screen_text(app)
        await pilot.press("enter")  # to the list
        await pilot.press("d")
        await pilot.pause()
        assert "user29@example.com" not in editor.addresses
        assert len(editor.addresses) == 299
        await pilot.press("escape")  # Esc clears the filter first
        await pilot.pause()
        assert isinstance(app.screen, TestListEditorScreen)
        assert editor.query_one("#editor-filter", Input).value == ""
        assert len(editor.query_one(AddressList).items) == 299
        await pilot.press("escape")  # unsaved: asks
        await settle(pilot, ConfirmModal)
        await pilot.press("n")  # keep editing
        await settle(pilot, TestListEditorScreen)
        await pilot.press("escape")
        await settle(pilot, ConfirmModal)
        await pilot.press("y")  # discard
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.screen, TestListEditorScreen)
    assert len(reopen(tmp_path).data.app("Shop").test_list("QA").addresses) == 300  # type: ignore[union-attr]


async def test_production_editor_warns_when_active(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: TestListEditorScreen("Portal", "Production"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, TestListEditorScreen)
        assert "real users receive nothing" not in screen_text(app)
        await pilot.press("f3")
        await pilot.pause()
        assert "real users receive nothing" in screen_text(app)
        await pilot.press("f4")
        await pilot.pause()
        assert app.send_tests == [("Production", "Portal", ["ops@example.com"])]


async def test_quick_toggle_on_the_apps_list(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: AppsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AppsScreen)
        assert "Stage: Development" in screen_text(app)
        # Billing (first row) is active in Development: space turns it off at once
        await pilot.press("space")
        await pilot.pause()
        assert reopen(tmp_path).data.app("Billing").test_list("Development").active is False  # type: ignore[union-attr]
        await pilot.press("space")
        await pilot.pause()
        assert reopen(tmp_path).data.app("Billing").test_list("Development").active is True  # type: ignore[union-attr]

        # Production: asks first; No changes nothing, Yes activates
        await pilot.press("S")  # previous stage wraps to the last one
        await pilot.pause()
        assert "Stage: Production   s/S switch" in screen_text(app)
        await pilot.press("down", "space")  # Portal
        await settle(pilot, ConfirmModal)
        assert "Real users then receive nothing" in screen_text(app)
        await pilot.press("n")
        await settle(pilot, AppsScreen)
        assert reopen(tmp_path).data.app("Portal").test_list("Production").active is False  # type: ignore[union-attr]
        await pilot.press("space")
        await settle(pilot, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, AppsScreen)
        stored = reopen(tmp_path).data.app("Portal").test_list("Production")  # type: ignore[union-attr]
        assert stored.active is True and stored.addresses == ["ops@example.com"]
        row = screen_text(app).splitlines()
        assert any("Portal" in line and "active" in line and "inactive" not in line for line in row)
        # deactivating in production does not ask
        await pilot.press("space")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmModal)
        assert reopen(tmp_path).data.app("Portal").test_list("Production").active is False  # type: ignore[union-attr]

    audit = [e for e in reopen(tmp_path).data.audit if e.action == "testlist.save"]
    assert [(e.target, e.details["active"]) for e in audit[-4:]] == [
        ("Billing/Development", False),
        ("Billing/Development", True),
        ("Portal/Production", True),
        ("Portal/Production", False),
    ]
    assert audit[-1].target == "Portal/Production" and audit[-1].fields == ["active"]


async def test_filter_add_app_and_open_configuration(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: AppsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AppsScreen)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"Billing", "enter")  # duplicate: named inline, modal stays
        await pilot.pause()
        assert "already an app" in screen_text(app)
        await pilot.press(*["backspace"] * 7, *"Warehouse", "enter")
        await settle(pilot, AppsScreen)
        assert reopen(tmp_path).data.app("Warehouse") is not None
        await pilot.press("slash", *"ware", "enter")
        await pilot.pause()
        assert "1 of 4 apps match" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot, AppConfigScreen)
        text = screen_text(app)
        assert "Warehouse › Configuration" in text
        assert "Production" in text and "production" in text
        await pilot.press("l")
        await pilot.pause()
        await pilot.press(*"qa@example.com, bad@", "enter")
        await pilot.pause()
        assert "'bad@'" in screen_text(app)
        await pilot.press(*["backspace"] * 6, "enter")
        await settle(pilot, AppConfigScreen)
        assert reopen(tmp_path).data.app("Warehouse").studio_list == ["qa@example.com"]  # type: ignore[union-attr]
        await pilot.press("t")
        await pilot.pause()
        assert app.send_tests == [("Development", "Warehouse", None)]
        # the Send test screen proposes the studio list (mailer.routing's one order)
        from mailstage.screens.send_test import default_recipients

        assert default_recipients(app.workspace, "Development", "Warehouse") == ["qa@example.com"]
        await pilot.press("down", "enter")
        await settle(pilot, TestListEditorScreen)
        assert "Warehouse › Test list › QA" in screen_text(app)


async def test_viewer_sees_read_only_and_changes_nothing(tmp_path: Path) -> None:
    make_store(tmp_path)
    before = (tmp_path / "store.json").read_bytes()
    ws = reopen(tmp_path, user="bob")  # a Viewer
    app = HarnessApp(ws, lambda: AppsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AppsScreen)
        text = screen_text(app)
        assert "Read-only. You (bob) lack the permission Manage Test Lists" in text
        await pilot.press("a", "n")
        await pilot.pause()
        assert isinstance(app.screen, AppsScreen)
        await pilot.press("enter")
        await settle(pilot, AppConfigScreen)
        assert "lack the permission Manage Test Lists" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot, TestListEditorScreen)
        editor = app.screen
        assert isinstance(editor, TestListEditorScreen)
        assert "lack the permission Manage Test Lists" in screen_text(app)
        assert editor.query_one("#editor-add").disabled
        assert editor.query_one("#editor-active").disabled
        await pilot.press("d", "f3", "f2")
        await pilot.pause()
        assert editor.addresses == ["dev1@example.com", "dev2@example.com"]
    assert (tmp_path / "store.json").read_bytes() == before


async def test_conflict_goes_to_the_app_dialog_and_keeps_edits(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: TestListEditorScreen("Shop", "QA"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, TestListEditorScreen)
        editor = app.screen
        assert isinstance(editor, TestListEditorScreen)
        # another admin saves first
        other = reopen(tmp_path, user="alice")
        other.save_test_list("Shop", "QA", ["theirs@example.com"], False)
        await pilot.press(*"mine@example.com", "enter", "f2")
        await settle(pilot, MessageDialog)
        assert "Another admin saved first" in screen_text(app)
        await pilot.press("r")  # reload
        await settle(pilot, TestListEditorScreen)
        # their version with my addition on top (tests/test_tui_conflict_merge.py has more)
        assert editor.addresses == ["theirs@example.com", "mine@example.com"]
        assert "with your changes on top (1 added, 0 removed)" in flat(screen_text(app))
        await pilot.press("f2")
        await pilot.pause()
    saved = reopen(tmp_path).data.app("Shop").test_list("QA")  # type: ignore[union-attr]
    assert saved.addresses == ["theirs@example.com", "mine@example.com"]
    assert Conflict  # the dialog above is the app's report of store.errors.Conflict


async def test_long_list_scrolls_with_the_cursor(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    ws.save_test_list("Shop", "QA", [f"u{i}@example.com" for i in range(100)], False)
    app = HarnessApp(ws, lambda: TestListEditorScreen("Shop", "QA"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, TestListEditorScreen)
        await pilot.press("tab", "tab", "tab", "pagedown", "pagedown", "down")
        await pilot.pause()
        address_list = app.screen.query_one(AddressList)
        assert address_list.highlighted == "u21@example.com"
        assert "> u21@example.com" in screen_text(app)
        await pilot.press("end")
        await pilot.pause()
        assert "> u99@example.com" in screen_text(app)
