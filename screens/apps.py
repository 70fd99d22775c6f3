"""Apps: the app list with a filter, and the quick toggle of a test list.

The stage in focus is shown above the list and switched with s / S. One key (a)
turns the highlighted app's test list for that stage on or off, saved and audited
at once; in a production stage it asks first, because real users then receive
nothing.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import ColumnKey

from mailstage.screens.add_by_name import AddByNameModal, cancel_binding
from mailstage.screens.base import MailstageScreen
from mailstage.screens.fixed_table import FixedWidthTable
from mailstage.screens.list_labels import count_text, list_state
from mailstage.screens.quick_toggle import toggle_test_list
from mailstage.screens.removal import confirm_removal
from mailstage.screens.widgets import AppFooter, AppHeader, ReadOnlyNote, highlighted_row_key
from mailstage.store.models import App, Permission, Stage, TestList

COLUMN_APP = "app"
COLUMN_LIST = "list"
COLUMN_COUNT = "count"
LIST_WIDTH = 20  # "List in Development"
COUNT_WIDTH = 13  # "100 addresses"


class AddAppModal(AddByNameModal):
    """Ask for a new app's name; add it through the workspace (validated, audited)."""

    THING = "app"
    BINDINGS = cancel_binding(THING)
    PLACEHOLDER = "the app's name, as in ODC"
    HELP = "Type the new app's name and press Enter; Esc adds nothing."

    def add(self, name: str) -> str:
        return self.workspace.add_app(name).name


class AppsScreen(MailstageScreen[None]):
    """Every app with its test-list state in the stage in focus."""

    TITLE = "Apps"
    HELP = (
        "Apps and their test lists. The stage in focus is shown above the list: s and S "
        "switch it (the choice is kept for your next visit). Space turns the highlighted "
        "app's test list on or off in that stage, saved "
        "at once (a production stage asks first). Enter opens the app's configuration, "
        "/ filters by name, n adds an app."
    )

    DEFAULT_CSS = """
    AppsScreen #apps-stage { padding: 0 1; height: 1; text-style: bold; }
    AppsScreen #apps-filter { margin: 0 1; }
    AppsScreen #apps-table { height: 1fr; margin: 0 1; }
    AppsScreen #apps-status { padding: 0 1; height: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "space",
            "toggle_list",
            "On/off",
            id="apps.toggle_list",
            tooltip="Turn the highlighted app's test list on or off in the stage in focus",
        ),
        Binding("s", "next_stage", "Stage", id="apps.next_stage", tooltip="Next stage"),
        Binding(
            "S",
            "previous_stage",
            "Stage",
            show=False,
            id="apps.previous_stage",
            tooltip="Previous stage",
        ),
        Binding("n", "add_app", "New", id="apps.add_app", tooltip="Add an app"),
        Binding(
            "x",
            "remove_app",
            "Remove",
            id="apps.remove_app",
            tooltip="Remove the highlighted app with its test lists (asks first)",
        ),
        Binding(
            "escape",
            "clear_filter_or_back",
            "Back",
            id="apps.escape",
            tooltip="Clear the filter first, else go back",
        ),
        Binding(
            "slash,f", "focus_filter", "Filter", id="apps.filter", tooltip="Filter apps by name"
        ),
    ]

    def __init__(self, stage_name: str | None = None) -> None:
        super().__init__()
        self.stage_name = stage_name
        self._filter = ""
        # what the table shows: (generation, stage) of the store; rows sorted, built once
        self._shown: tuple[int, str | None] | None = None
        self._rows: list[tuple[str, str, tuple[Text, Text, Text]]] = []  # key, folded, cells

    # -- composition -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        ws = self.workspace
        yield AppHeader()
        sentence = ws.why_not(Permission.MANAGE_TEST_LISTS)
        yield ReadOnlyNote(sentence, id="apps-readonly")
        yield Static("", id="apps-stage", markup=False)
        yield Input(placeholder="/ filter apps by name", id="apps-filter")
        table = FixedWidthTable(id="apps-table", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static("", id="apps-status", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        table = self.query_one("#apps-table", DataTable)
        table.add_column("App", key=COLUMN_APP, width=self._app_column_width())
        table.add_column("Test list", key=COLUMN_LIST, width=LIST_WIDTH)
        table.add_column("Addresses", key=COLUMN_COUNT, width=COUNT_WIDTH)
        stages = self._stages()
        if self.stage_name is None:
            self.stage_name = self.host.apps_stage  # the stage chosen on the last visit
        if self.stage_name is None or not any(s.name == self.stage_name for s in stages):
            self.stage_name = stages[0].name if stages else None
        self._fill()
        table.focus()

    def _app_column_width(self) -> int:
        """What the two fixed columns leave of the screen (margins and cell padding
        taken off): the names get the room, at 80 columns and at 60."""
        return max(12, min(40, self.app.size.width - LIST_WIDTH - COUNT_WIDTH - 10))

    def on_resize(self) -> None:
        table = self.query_one("#apps-table", DataTable)
        column = table.columns.get(ColumnKey(COLUMN_APP))
        if column is not None and column.width != self._app_column_width():
            column.width = self._app_column_width()
            table.refresh()

    @property
    def _can_toggle(self) -> bool:
        return self.workspace.can(Permission.MANAGE_TEST_LISTS)

    def _stages(self) -> list[Stage]:
        return self.workspace.data.ordered_stages()

    @property
    def stage(self) -> Stage | None:
        if self.stage_name is None:
            return None
        return self.workspace.data.stage(self.stage_name)

    def _row(self, app: App, stage: Stage | None) -> tuple[Text, Text, Text]:
        # Text cells: a str cell is parsed as markup each time it is measured or drawn
        test_list = app.test_list(stage.name) if stage else TestList()
        return (
            Text(app.name),
            Text(list_state(test_list)),
            Text(count_text(len(test_list.addresses))),
        )

    @property
    def _state(self) -> tuple[int, str | None]:
        return self.workspace.file.generation, self.stage_name

    def _build_rows(self) -> None:
        """Every app's row for the stage in focus, sorted: made once per generation and
        stage, then filtered without being made again."""
        stage = self.stage
        apps = sorted(self.workspace.data.apps, key=lambda a: a.name.casefold())
        self._rows = [(a.name, a.name.casefold(), self._row(a, stage)) for a in apps]

    def _fill(self, keep: str | None = None) -> None:
        """Show the rows for the current store, stage and filter."""
        if self._shown != self._state:
            self._show_stage()
            self._build_rows()
            self._shown = self._state
        self._show_rows(keep)

    def _show_rows(self, keep: str | None = None) -> None:
        table = self.query_one("#apps-table", DataTable)
        if keep is None:
            keep = self.highlighted_app
        wanted = self._filter
        rows = [r for r in self._rows if wanted in r[1]] if wanted else self._rows
        with self.app.batch_update():
            table.clear()
            for key, _, cells in rows:
                table.add_row(*cells, key=key)
            names = [r[0] for r in rows]
            if keep in names:
                table.move_cursor(row=names.index(keep), animate=False)
        total = len(self._rows)
        if not total:
            status = "No apps yet." + (" n adds one." if self._can_add else "")
        elif wanted:
            status = f"{len(rows)} of {total} apps match."
        else:
            status = f"{total} app{'s' if total != 1 else ''}."
        self.query_one("#apps-status", Static).update(status)

    def _show_stage(self) -> None:
        stage = self.stage
        if stage is None:
            text = "No stages."
        else:
            named = "production" in stage.name.casefold()
            kind = " (production)" if stage.production and not named else ""
            text = f"Stage: {stage.name}{kind}   s/S switch"
        self.query_one("#apps-stage", Static).update(text)
        self.query_one(AppHeader).refresh_production()
        table = self.query_one("#apps-table", DataTable)
        column = table.columns.get(ColumnKey(COLUMN_LIST))
        if column is not None and stage is not None:
            column.label = Text(f"List in {stage.name}")  # shown after the next clear()

    @property
    def production_stage(self) -> Stage | None:
        stage = self.stage
        return stage if stage is not None and stage.production else None

    @property
    def _can_add(self) -> bool:
        return self.workspace.can(Permission.MANAGE_APPS)

    @property
    def highlighted_app(self) -> str | None:
        return highlighted_row_key(self.query_one("#apps-table", DataTable))

    def refresh_from_workspace(self) -> None:
        if self.stage is None:
            stages = self._stages()
            self.stage_name = stages[0].name if stages else None
        self._fill()

    def on_screen_resume(self) -> None:
        # back from another screen: the table is made again only if the store changed
        if self.is_mounted and self._shown is not None and self._shown != self._state:
            self._fill()

    def open_app(self, app_name: str) -> None:
        """Open one app's configuration (the command palette jumps here)."""
        from mailstage.screens.app_config import AppConfigScreen

        app = self.workspace.data.app(app_name)
        if app is not None:
            self.app.push_screen(AppConfigScreen(app.name))

    # -- events and actions ----------------------------------------------------------

    @on(Input.Changed, "#apps-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip().casefold()
        self._fill()

    @on(Input.Submitted, "#apps-filter")
    def _filter_done(self) -> None:
        self.query_one("#apps-table", DataTable).focus()

    @on(DataTable.RowSelected, "#apps-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.open_app(event.row_key.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_list" and not self._can_toggle:
            return False
        if action in ("add_app", "remove_app") and not self._can_add:
            return False
        return True

    def action_clear_filter_or_back(self) -> None:
        box = self.query_one("#apps-filter", Input)
        if box.value:
            box.value = ""
            self.query_one("#apps-table", DataTable).focus()
            return
        self.app.pop_screen()

    def action_focus_filter(self) -> None:
        self.query_one("#apps-filter", Input).focus()

    def _switch_stage(self, step: int) -> None:
        stages = self._stages()
        if not stages:
            return
        names = [s.name for s in stages]
        index = names.index(self.stage_name) if self.stage_name in names else -step
        self.stage_name = names[(index + step) % len(names)]
        self.host.apps_stage = self.stage_name
        self._fill()

    def action_next_stage(self) -> None:
        self._switch_stage(1)

    def action_previous_stage(self) -> None:
        self._switch_stage(-1)

    def action_add_app(self) -> None:
        def added(name: str | None) -> None:
            if name:
                self._fill(keep=name)
                self.notify(f"Added the app {name}.", markup=False)

        self.app.push_screen(AddAppModal(), added)

    def action_remove_app(self) -> None:
        name = self.highlighted_app
        if name is None:
            return
        if sentence := self.workspace.why_not(Permission.MANAGE_APPS):
            self.notify(sentence, severity="warning", markup=False)
            return
        app = self.workspace.data.app(name)
        lists = len(app.test_lists) if app is not None else 0

        def removed() -> None:
            self._fill()
            self.notify(f"Removed the app {name}.", markup=False)

        confirm_removal(
            self,
            f"Remove the app {name}? Its {lists} test list(s), studio list and relay "
            "credentials go with it.",
            lambda: self.workspace.remove_app(name),
            removed,
        )

    def action_toggle_list(self) -> None:
        name, stage = self.highlighted_app, self.stage
        if name is None or stage is None:
            return
        toggle_test_list(self.app, name, stage.name, self._show_saved)

    def _show_saved(self, app_name: str, saved: TestList) -> None:
        """Our own toggle: its row is updated in place and counts as shown."""
        cells = (Text(app_name), Text(list_state(saved)), Text(count_text(len(saved.addresses))))
        self._rows = [(k, f, cells if k == app_name else c) for k, f, c in self._rows]
        table = self.query_one("#apps-table", DataTable)
        if app_name in {k.value for k in table.rows}:
            table.update_cell(app_name, COLUMN_LIST, cells[1])
            table.update_cell(app_name, COLUMN_COUNT, cells[2])
        if self._shown is not None:
            self._shown = self._state
