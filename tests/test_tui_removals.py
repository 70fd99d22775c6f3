"""Removing a member, an app or a stage from the TUI: x asks first, n keeps, y removes
(saved and audited); without the permission the key does nothing."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from mailstage.screens.apps import AppsScreen
from mailstage.screens.emails import EmailsScreen
from mailstage.screens.members import MembersScreen
from mailstage.screens.widgets import ConfirmModal
from tests.test_tui_apps_support import HarnessApp, make_store, reopen, settle

SIZE = (80, 24)


def newest(tmp_path: Path) -> tuple[str, str, str]:
    event = reopen(tmp_path).data.audit[-1]
    return event.user, event.action, event.target


async def test_remove_a_member(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: MembersScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, MembersScreen)
        screen = app.screen
        assert isinstance(screen, MembersScreen)
        table = screen.query_one("#members-table", DataTable)
        table.move_cursor(row=[k.value for k in table.rows].index("bob"))
        await pilot.press("x")
        await settle(pilot, ConfirmModal)
        await pilot.press("n")
        await settle(pilot, MembersScreen)
        assert "bob" in reopen(tmp_path).data.organization.members
        await pilot.press("x")
        await settle(pilot, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, MembersScreen)
        assert "bob" not in [k.value for k in table.rows]
    assert "bob" not in reopen(tmp_path).data.organization.members
    assert newest(tmp_path) == ("alice", "member.remove", "bob")


async def test_the_last_administrator_cannot_be_removed(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: MembersScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, MembersScreen)
        screen = app.screen
        assert isinstance(screen, MembersScreen)
        table = screen.query_one("#members-table", DataTable)
        table.move_cursor(row=[k.value for k in table.rows].index("alice"))
        await pilot.press("x")
        await settle(pilot, ConfirmModal)
        await pilot.press("y")
        await pilot.pause()
        await pilot.pause()
        assert type(app.screen).__name__ == "MessageDialog"
    assert reopen(tmp_path).data.organization.members["alice"] == "Organization Administrator"


async def test_remove_an_app(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: AppsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AppsScreen)
        screen = app.screen
        assert isinstance(screen, AppsScreen)
        table = screen.query_one("#apps-table", DataTable)
        table.focus()
        table.move_cursor(row=[k.value for k in table.rows].index("Billing"))
        await pilot.press("x")
        await settle(pilot, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, AppsScreen)
        assert "Billing" not in [k.value for k in table.rows]
    assert reopen(tmp_path).data.app("Billing") is None
    assert newest(tmp_path) == ("alice", "app.remove", "Billing")


async def test_remove_a_stage(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: EmailsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, EmailsScreen)
        await pilot.press("down")  # QA
        await pilot.press("x")
        await settle(pilot, ConfirmModal)
        await pilot.press("y")
        await settle(pilot, EmailsScreen)
    data = reopen(tmp_path).data
    assert [s.name for s in data.ordered_stages()] == ["Development", "Production"]
    assert newest(tmp_path) == ("alice", "stage.remove", "QA")


async def test_without_the_permission_x_does_nothing(tmp_path: Path) -> None:
    make_store(tmp_path)
    before = (tmp_path / "store.json").read_bytes()
    for screen in (MembersScreen, AppsScreen, EmailsScreen):
        app = HarnessApp(reopen(tmp_path, user="carol"), screen)  # App Developer
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot, screen)
            await pilot.press("x")
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmModal), screen
    assert (tmp_path / "store.json").read_bytes() == before


async def test_the_footer_names_the_answers_the_buttons_name(tmp_path: Path) -> None:
    """The question's buttons say Remove (y) / Keep (n): the footer says the same words."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    app = HarnessApp(make_store(tmp_path), lambda: MembersScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, MembersScreen)
        table = app.screen.query_one("#members-table", DataTable)
        table.move_cursor(row=[k.value for k in table.rows].index("bob"))
        await pilot.press("x")
        await settle(pilot, ConfirmModal)
        await pilot.pause()
        footer = app.screen.query_one(Footer)
        words = {(k.key, k.description) for k in footer.query(FooterKey)}
        assert ("y", "Remove") in words
        assert ("n", "Keep") in words
        assert not {d for _, d in words} & {"Yes", "No"}
        await pilot.press("n")
        await settle(pilot, MembersScreen)
