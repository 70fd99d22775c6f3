"""Snapshots at 80x24 of the Apps list, the test-list editor and its read-only form.

Deterministic: fixed store label, fixed audit times, NO_COLOR from conftest, no clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailstage.screens.apps import AppsScreen
from mailstage.screens.audit import AuditScreen
from mailstage.screens.members import MembersScreen
from mailstage.screens.test_list_editor import TestListEditorScreen
from tests.test_tui_apps_support import HarnessApp, make_store, reopen, settle

SIZE = (80, 24)


def _settled(screen_type: type[Any]) -> Any:
    async def run_before(pilot: Any) -> None:
        await settle(pilot, screen_type)

    return run_before


def test_snapshot_apps_list(tmp_path: Path, snap_compare: Any) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: AppsScreen())

    async def run_before(pilot: Any) -> None:
        await settle(pilot, AppsScreen)
        await pilot.press("down")

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_snapshot_test_list_editor(tmp_path: Path, snap_compare: Any) -> None:
    ws = make_store(tmp_path)
    ws.save_test_list(
        "Shop",
        "Production",
        ["qa-team@example.com", "release@example.com", "ops@example.com"],
        False,
    )
    app = HarnessApp(ws, lambda: TestListEditorScreen("Shop", "Production"))

    async def run_before(pilot: Any) -> None:
        await settle(pilot, TestListEditorScreen)
        await pilot.press(*"new@example.com bad@", "enter", "f3")
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_snapshot_test_list_editor_read_only(tmp_path: Path, snap_compare: Any) -> None:
    make_store(tmp_path)
    app = HarnessApp(
        reopen(tmp_path, user="bob"), lambda: TestListEditorScreen("Billing", "Development")
    )
    assert snap_compare(app, run_before=_settled(TestListEditorScreen), terminal_size=SIZE)


def test_snapshot_members(tmp_path: Path, snap_compare: Any) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: MembersScreen())
    assert snap_compare(app, run_before=_settled(MembersScreen), terminal_size=SIZE)


def test_snapshot_audit(tmp_path: Path, snap_compare: Any) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: AuditScreen())
    assert snap_compare(app, run_before=_settled(AuditScreen), terminal_size=SIZE)
