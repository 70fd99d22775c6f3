"""Add a stage from the Emails screen: its name and whether it is a production stage,
added through the Workspace with the CLI's rules (`mailstage stage add`)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Static

from mailstage.screens.base import MailstageModal
from mailstage.store.errors import InvalidInput, MailstageError


class AddStageModal(MailstageModal[str | None]):
    """Returns the new stage's name, or None when nothing was added."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="add_stage.cancel", tooltip="Add nothing"),
    ]
    HELP = (
        "Type the new stage's name (unique, ignoring case) and press Enter; tick "
        "Production stage for a stage whose mail reaches real users. Esc adds nothing."
    )

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Add a stage", classes="dialog-title", markup=False)
            yield Label("Name")
            yield Input(placeholder="e.g. Staging", id="add-stage-name")
            yield Checkbox("Production stage (real users receive its mail)", id="add-stage-prod")
            yield Static("", id="add-stage-error", classes="field-error-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add", id="add-stage-ok", variant="primary")
                yield Button("Cancel", id="add-stage-cancel")

    def on_mount(self) -> None:
        self.query_one("#add-stage-name", Input).focus()

    @on(Input.Submitted, "#add-stage-name")
    @on(Button.Pressed, "#add-stage-ok")
    def _add(self) -> None:
        name = self.query_one("#add-stage-name", Input).value
        production = self.query_one("#add-stage-prod", Checkbox).value
        try:
            stage = self.workspace.add_stage(name, production)
        except InvalidInput as exc:
            self.query_one("#add-stage-error", Static).update(exc.message)
            return
        except MailstageError as exc:
            self.dismiss(None)
            self.report_error(exc)
            return
        self.dismiss(stage.name)

    @on(Button.Pressed, "#add-stage-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
