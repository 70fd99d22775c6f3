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
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Static
from textual.widgets.data_table import ColumnKey

from mailstage.screens.list_labels import count_text, list_state
from mailstage.screens.widgets import AppHeader, ConfirmModal, ReadOnlyNote, highlighted_row_key
from mailstage.store.errors import InvalidInput, MailstageError
from mailstage.store.models import App, Permission, Stage, TestList

COLUMN_APP = "app"
COLUMN_LIST = "list"
COLUMN_COUNT = "count"


def production_question(app_name: str, stage: Stage, count: int) -> str:
    return (
        f"Activate the test list of {app_name} in {stage.name}, a production stage?\n\n"
        f"Real users then receive nothing: every email {app_name} sends in {stage.name} "
        f"goes to the {count_text(count)} of the test list only."
    )


class AddAppModal(ModalScreen[str | None]):
    """Ask for a new app's name; add it through the workspace (validated, audited)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="add_app.cancel", tooltip="Add nothing"),
    ]
    HELP = "Type the new app's name and press Enter; Esc adds nothing."

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Add an app", classes="dialog-title", markup=False)
            yield Label("Name")
            yield Input(placeholder="the app's name, as in ODC", id="add-app-name")
            yield Static("", id="add-app-error", classes="field-error-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add", id="add-app-ok", variant="primary")
                yield Button("Cancel", id="add-app-cancel")

    def on_mount(self) -> None:
        self.query_one("#add-app-name", Input).focus()

    @on(Input.Submitted, "#add-app-name")
    @on(Button.Pressed, "#add-app-ok")
    def _add(self) -> None:
        name = self.query_one("#add-app-name", Input).value
        try:
            app = self.app.workspace.add_app(name)
        except InvalidInput as exc:
            self.query_one("#add-app-error", Static).update(exc.message)
            return
        except MailstageError as exc:
            self.dismiss(None)
            self.app.report_error(exc)
            return
        self.dismiss(app.name)

    @on(Button.Pressed, "#add-app-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class AppsScreen(Screen[None]):
    """Every app with its test-list state in the stage in focus."""

    TITLE = "Apps"
    HELP = (
        "Apps and their test lists. The stage in focus is shown above the list: s and S "
        "switch it. a turns the highlighted app's test list on or off in that stage, saved "
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
            "a",
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
        Binding("n", "add_app", "New app", id="apps.add_app", tooltip="Add an app"),
        Binding(
            "slash,f", "focus_filter", "Filter", id="apps.filter", tooltip="Filter apps by name"
        ),
    ]

    def __init__(self, stage_name: str | None = None) -> None:
        super().__init__()
        self.stage_name = stage_name
        self._filter = ""

    # -- composition -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        ws = self.app.workspace
        yield AppHeader()
        sentence = ws.why_not(Permission.MANAGE_TEST_LISTS)
        yield ReadOnlyNote(sentence, id="apps-readonly")
        yield Static("", id="apps-stage", markup=False)
        yield Input(placeholder="/ filter apps by name", id="apps-filter")
        table: DataTable[str] = DataTable(id="apps-table", cursor_type="row", zebra_stripes=False)
        yield table
        yield Static("", id="apps-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#apps-table", DataTable)
        table.add_column("App", key=COLUMN_APP, width=32)
        table.add_column("Test list", key=COLUMN_LIST, width=24)
        table.add_column("Addresses", key=COLUMN_COUNT, width=14)
        stages = self._stages()
        if self.stage_name is None or not any(s.name == self.stage_name for s in stages):
            self.stage_name = stages[0].name if stages else None
        self._fill()
        table.focus()

    @property
    def _can_toggle(self) -> bool:
        return self.app.workspace.can(Permission.MANAGE_TEST_LISTS)

    def _stages(self) -> list[Stage]:
        return self.app.workspace.data.ordered_stages()

    @property
    def stage(self) -> Stage | None:
        if self.stage_name is None:
            return None
        return self.app.workspace.data.stage(self.stage_name)

    def _apps(self) -> list[App]:
        apps = sorted(self.app.workspace.data.apps, key=lambda a: a.name.casefold())
        if self._filter:
            apps = [a for a in apps if self._filter in a.name.casefold()]
        return apps

    def _row(self, app: App) -> tuple[Text, str, str]:
        stage = self.stage
        test_list = app.test_list(stage.name) if stage else TestList()
        return Text(app.name), list_state(test_list), count_text(len(test_list.addresses))

    def _fill(self, keep: str | None = None) -> None:
        table = self.query_one("#apps-table", DataTable)
        if keep is None:
            keep = self.highlighted_app
        self._show_stage()
        table.clear()
        apps = self._apps()
        for app in apps:
            table.add_row(*self._row(app), key=app.name)
        names = [a.name for a in apps]
        if keep in names:
            table.move_cursor(row=names.index(keep), animate=False)
        total = len(self.app.workspace.data.apps)
        if not total:
            status = "No apps yet." + (" n adds one." if self._can_add else "")
        elif self._filter:
            status = f"{len(apps)} of {total} apps match."
        else:
            status = f"{total} app{'s' if total != 1 else ''}."
        self.query_one("#apps-status", Static).update(status)

    def _show_stage(self) -> None:
        stage = self.stage
        if stage is None:
            text = "No stages."
        else:
            kind = " (production)" if stage.production else ""
            text = f"Stage: {stage.name}{kind}   s/S switch"
        self.query_one("#apps-stage", Static).update(text)
        table = self.query_one("#apps-table", DataTable)
        column = table.columns.get(ColumnKey(COLUMN_LIST))
        if column is not None and stage is not None:
            column.label = Text(f"List in {stage.name}")  # shown after the next clear()

    @property
    def _can_add(self) -> bool:
        return self.app.workspace.can(Permission.MANAGE_APPS)

    @property
    def highlighted_app(self) -> str | None:
        return highlighted_row_key(self.query_one("#apps-table", DataTable))

    def refresh_from_workspace(self) -> None:
        if self.stage is None:
            stages = self._stages()
            self.stage_name = stages[0].name if stages else None
        self._fill()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self._fill()

    def open_app(self, app_name: str) -> None:
        """Open one app's configuration (the command palette jumps here)."""
        from mailstage.screens.app_config import AppConfigScreen

        app = self.app.workspace.data.app(app_name)
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
            return None
        if action == "add_app" and not self._can_add:
            return None
        return True

    def action_focus_filter(self) -> None:
        self.query_one("#apps-filter", Input).focus()

    def _switch_stage(self, step: int) -> None:
        stages = self._stages()
        if not stages:
            return
        names = [s.name for s in stages]
        index = names.index(self.stage_name) if self.stage_name in names else -step
        self.stage_name = names[(index + step) % len(names)]
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

    def action_toggle_list(self) -> None:
        ws = self.app.workspace
        name, stage = self.highlighted_app, self.stage
        if name is None or stage is None:
            return
        if sentence := ws.why_not(Permission.MANAGE_TEST_LISTS):
            self.notify(sentence, severity="warning", markup=False)
            return
        app = ws.data.app(name)
        if app is None:
            return
        current = app.test_list(stage.name)
        activate = not current.active
        if activate and stage.production:

            def answered(ok: bool | None) -> None:
                if ok:
                    self._set_active(name, stage.name, True)

            self.app.push_screen(
                ConfirmModal(
                    production_question(name, stage, len(current.addresses)),
                    yes="Activate",
                    no="Cancel",
                ),
                answered,
            )
            return
        self._set_active(name, stage.name, activate)

    def _set_active(self, app_name: str, stage_name: str, active: bool) -> None:
        try:
            saved = self.app.workspace.set_test_list_active(app_name, stage_name, active)
        except MailstageError as exc:
            self.app.report_error(exc)
            return
        table = self.query_one("#apps-table", DataTable)
        if app_name in {k.value for k in table.rows}:
            table.update_cell(app_name, COLUMN_LIST, list_state(saved))
            table.update_cell(app_name, COLUMN_COUNT, count_text(len(saved.addresses)))
        note = ""
        if active and not saved.addresses:
            note = " The list is empty: nobody receives this app's emails in this stage."
        self.notify(
            f"Test list of {app_name} in {stage_name}: {list_state(saved)} (saved).{note}",
            severity="warning" if note else "information",
            markup=False,
        )
