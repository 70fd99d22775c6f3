"""An app's Configuration (App > Configuration > Emails): a row per stage with the
state of its test list, and the app's studio list (Send test's default recipients)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Label, Static

from mailstage.screens.base import MailstageModal, MailstageScreen
from mailstage.screens.list_labels import count_text, list_state
from mailstage.screens.relay_credentials import RelayCredentialsModal
from mailstage.screens.test_list_editor import AddressInput, TestListEditorScreen
from mailstage.screens.widgets import (
    AppFooter,
    AppHeader,
    ConfirmModal,
    ReadOnlyNote,
    highlighted_row_key,
)
from mailstage.store import validation as rules
from mailstage.store.errors import InvalidInput, MailstageError
from mailstage.store.models import App, Permission
from mailstage.store.paste import addresses_from_paste

COLUMN_STAGE = "stage"
COLUMN_KIND = "kind"
COLUMN_LIST = "list"
COLUMN_COUNT = "count"
COLUMN_RELAY = "relay"


class StudioListModal(MailstageModal[list[str] | None]):
    """Edit the studio list: addresses separated by commas, spaces or new lines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="studio_list.cancel", tooltip="Change nothing"),
    ]
    HELP = (
        "The studio list: who receives Send test when the stage's test list is inactive. "
        "Separate addresses with commas or spaces; Enter saves, Esc changes nothing."
    )

    def __init__(self, app_name: str, addresses: list[str]) -> None:
        super().__init__()
        self.app_name = app_name
        self.addresses = addresses

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Studio list of {self.app_name}", classes="dialog-title", markup=False)
            yield Label("Addresses")
            yield AddressInput(", ".join(self.addresses), id="studio-input")
            yield Static("", id="studio-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="studio-save", variant="primary")
                yield Button("Cancel", id="studio-cancel")

    def on_mount(self) -> None:
        self.query_one("#studio-input", AddressInput).focus()

    @on(AddressInput.Submitted, "#studio-input")
    @on(Button.Pressed, "#studio-save")
    def _save(self) -> None:
        text = self.query_one("#studio-input", AddressInput).value
        good, problems = rules.normalize_addresses(addresses_from_paste(text))
        if problems:
            bad, why = problems[0]
            more = f" ({len(problems) - 1} more invalid)" if len(problems) > 1 else ""
            self.query_one("#studio-error", Static).update(f"{bad!r} {why}{more}")
            return
        try:
            self.workspace.set_studio_list(self.app_name, good)
        except InvalidInput as exc:
            self.query_one("#studio-error", Static).update(exc.message)
            return
        except MailstageError as exc:
            self.dismiss(None)
            self.report_error(exc)
            return
        self.dismiss(good)

    @on(Button.Pressed, "#studio-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class AppConfigScreen(MailstageScreen[None]):
    """One app: each stage's test list (state and size) and the studio list."""

    TITLE = "App configuration"
    HELP = (
        "The app's email configuration: a row per stage with its test list (active or "
        "inactive) and how many addresses it has. Enter opens the test-list editor of the "
        "highlighted stage; t sends a test email through that stage to the list (or to the "
        "studio list when the test list is inactive); l edits the studio list; c makes "
        "the app's relay login for that stage (or rotates it), shown once."
    )

    DEFAULT_CSS = """
    AppConfigScreen #config-table { height: auto; max-height: 1fr; margin: 1 1 0 1; }
    AppConfigScreen #config-studio { padding: 0 1; margin-top: 1; height: auto; }
    AppConfigScreen #config-hint { padding: 0 1; height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "t",
            "send_test",
            "Send test",
            id="app_config.send_test",
            tooltip="Send a test email through the highlighted stage to the list",
        ),
        Binding(
            "c",
            "relay_credentials",
            "Relay login",
            id="app_config.relay_credentials",
            tooltip="Make (or rotate) the app's relay password for the highlighted stage",
        ),
        Binding(
            "l",
            "studio_list",
            "Studio list",
            id="app_config.studio_list",
            tooltip="Edit the studio list (Send test's recipients when no test list is active)",
        ),
    ]

    def __init__(self, app_name: str) -> None:
        super().__init__()
        self.app_name = app_name

    @property
    def crumb(self) -> str:
        return f"Apps › {self.app_name} › Configuration"

    @property
    def mail_app(self) -> App | None:
        return self.workspace.data.app(self.app_name)

    @property
    def _can_edit(self) -> bool:
        return self.workspace.can(Permission.MANAGE_TEST_LISTS)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        sentence = self.workspace.why_not(Permission.MANAGE_TEST_LISTS)
        yield ReadOnlyNote(sentence, id="config-readonly")
        yield DataTable(id="config-table", cursor_type="row")
        yield Static("", id="config-studio", markup=False)
        hint = (
            "Enter opens the stage's test list · t sends a test · l edits the studio list · "
            "c makes the relay login"
            if self._can_edit
            else "Enter shows the stage's test list"
        )
        yield Static(
            hint,
            id="config-hint",
            classes="muted",
            markup=False,
        )
        yield AppFooter()

    def on_mount(self) -> None:
        table = self.query_one("#config-table", DataTable)
        table.add_column("Stage", key=COLUMN_STAGE, width=18)
        table.add_column("Kind", key=COLUMN_KIND, width=12)
        table.add_column("Test list", key=COLUMN_LIST, width=10)
        table.add_column("Addresses", key=COLUMN_COUNT, width=14)
        table.add_column("Relay login", key=COLUMN_RELAY, width=11)
        self._fill()
        table.focus()

    def _fill(self) -> None:
        table = self.query_one("#config-table", DataTable)
        app = self.mail_app
        keep = self.highlighted_stage
        table.clear()
        if app is None:
            self.query_one("#config-studio", Static).update(
                f"The app {self.app_name} no longer exists (another admin removed it?)."
            )
            return
        self.app_name = app.name
        stages = self.workspace.data.ordered_stages()
        for stage in stages:
            test_list = app.test_list(stage.name)
            table.add_row(
                Text(stage.name),
                "production" if stage.production else "",
                list_state(test_list),
                count_text(len(test_list.addresses)),
                "yes" if app.relay_credential(stage.name) else "none",
                key=stage.name,
            )
        names = [s.name for s in stages]
        if keep in names:
            table.move_cursor(row=names.index(keep), animate=False)
        studio = app.studio_list
        shown = ", ".join(studio[:3]) + (f", and {len(studio) - 3} more" if len(studio) > 3 else "")
        self.query_one("#config-studio", Static).update(
            f"Studio list ({count_text(len(studio))}): {shown}"
            if studio
            else "Studio list: empty (Send test then asks for a recipient)."
        )

    @property
    def highlighted_stage(self) -> str | None:
        return highlighted_row_key(self.query_one("#config-table", DataTable))

    def refresh_from_workspace(self) -> None:
        self._fill()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self._fill()

    @on(DataTable.RowSelected, "#config-table")
    def _open_editor(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None and self.mail_app is not None:
            self.app.push_screen(TestListEditorScreen(self.app_name, event.row_key.value))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "studio_list" and not self._can_edit:
            return False
        if action == "send_test":
            return self.may_send_test()
        if action == "relay_credentials" and self.workspace.relay_credentials_needs():
            return False
        return True

    def action_send_test(self) -> None:
        stage_name, app = self.highlighted_stage, self.mail_app
        if stage_name is None or app is None:
            return
        # the Send test screen proposes the recipients (mailer.routing's one order)
        self.host.open_send_test(stage_name, app_name=app.name)

    def action_relay_credentials(self) -> None:
        stage_name, app = self.highlighted_stage, self.mail_app
        if stage_name is None or app is None:
            return
        if sentence := self.workspace.relay_credentials_needs():
            self.notify(sentence, severity="warning", markup=False)
            return
        if app.relay_credential(stage_name) is None:
            self._make_credentials(app.name, stage_name, rotate=False)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._make_credentials(app.name, stage_name, rotate=True)

        self.app.push_screen(
            ConfirmModal(
                f"Rotate the relay password of {app.name} in {stage_name}? The old one "
                "stops working at once: the app must get the new one.",
                yes="Rotate",
                no="Keep",
            ),
            confirmed,
        )

    def _make_credentials(self, app_name: str, stage_name: str, *, rotate: bool) -> None:
        try:
            password = self.workspace.make_relay_credentials(app_name, stage_name, rotate=rotate)
        except MailstageError as exc:
            self.report_error(exc)
            return
        self._fill()
        self.app.push_screen(RelayCredentialsModal(app_name, stage_name, password))

    def action_studio_list(self) -> None:
        app = self.mail_app
        if app is None:
            return
        if sentence := self.workspace.why_not(Permission.MANAGE_TEST_LISTS):
            self.notify(sentence, severity="warning", markup=False)
            return

        def saved(addresses: list[str] | None) -> None:
            if addresses is not None:
                self._fill()
                self.notify(f"Saved the studio list ({count_text(len(addresses))}).")

        self.app.push_screen(StudioListModal(app.name, list(app.studio_list)), saved)
