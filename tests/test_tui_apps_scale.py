"""The Apps list made once: rows built once per store generation and stage, kept on
return when nothing changed, refreshed when the store did, filtered without being
made again; our own toggle counts as shown."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from mailstage.screens.app_config import AppConfigScreen
from mailstage.screens.apps import AppsScreen
from mailstage.screens.fixed_table import FixedWidthTable
from mailstage.screens.widgets import ConfirmModal
from tests.test_tui_apps_support import HarnessApp, make_store, reopen, screen_text, settle

SIZE = (80, 24)


def _rows(screen: AppsScreen) -> dict[str, object]:
    table = screen.query_one("#apps-table", DataTable)
    return {key.value: row for key, row in table.rows.items()}


async def test_the_list_is_kept_on_return_and_made_again_only_after_a_change(tmp_path: Path):
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: AppsScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AppsScreen)
        apps = app.screen
        assert isinstance(apps, AppsScreen)
        built, shown = apps._rows, _rows(apps)
        assert list(shown) == ["Billing", "Portal", "Shop"]

        await pilot.press("enter")  # Billing's configuration, then back: nothing changed
        await settle(pilot, AppConfigScreen)
        await pilot.press("escape")
        await settle(pilot, AppsScreen)
        assert apps._rows is built and _rows(apps) == shown
        assert all(a is b for a, b in zip(_rows(apps).values(), shown.values(), strict=True))

        await pilot.press("slash", *"or")  # the filter shows a part of the same rows
        await pilot.pause()
        assert list(_rows(apps)) == ["Portal"] and apps._rows is built
        await pilot.press("escape")
        await pilot.pause()
        assert list(_rows(apps)) == ["Billing", "Portal", "Shop"] and apps._rows is built

        name = apps.highlighted_app  # the cursor stayed on Portal
        assert name == "Portal"
        before = reopen(tmp_path).data.app(name).test_list("Development").active  # type: ignore[union-attr]
        await pilot.press("space")  # our own toggle: the row changes in place
        await settle(pilot, ConfirmModal)  # Portal's list is empty: asks first
        await pilot.press("y")
        await settle(pilot, AppsScreen)
        assert reopen(tmp_path).data.app(name).test_list("Development").active is not before  # type: ignore[union-attr]
        toggled = apps._rows
        await pilot.press("enter")
        await settle(pilot, AppConfigScreen)
        await pilot.press("escape")
        await settle(pilot, AppsScreen)
        assert apps._rows is toggled  # the toggle was already shown

        await pilot.press("enter")  # another screen changes the store: made again
        await settle(pilot, AppConfigScreen)
        app.workspace.add_app("Warehouse")
        await pilot.press("escape")
        await settle(pilot, AppsScreen)
        assert apps._rows is not toggled
        assert "Warehouse" in _rows(apps) and "Warehouse" in screen_text(app)


def test_the_fixed_width_table_still_matches_textuals_private_names():
    # FixedWidthTable overrides DataTable._update_dimensions and reads these attributes;
    # a Textual upgrade that renames them must fail here, not on screen
    assert issubclass(FixedWidthTable, DataTable)
    assert callable(DataTable._update_dimensions)
    for name in ("_row_label_column_width", "_total_row_height", "header_height"):
        assert hasattr(DataTable, name), name
