"""The dialog that adds one thing by its name (a stage, an app): a title, a Name field,
an error line under it, Add and Cancel. Enter adds; a rule broken keeps the dialog open
with the Workspace's sentence; any other failure closes it and goes to the error dialog."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from mailstage.screens.base import MailstageModal
from mailstage.store.errors import InvalidInput, MailstageError


def cancel_binding(thing: str) -> list[BindingType]:
    """Esc adds nothing; an id per dialog (add_stage.cancel, add_app.cancel) for user keymaps."""
    return [Binding("escape", "cancel", "Cancel", id=f"add_{thing}.cancel", tooltip="Add nothing")]


class AddByNameModal(MailstageModal[str | None]):
    """Returns the added thing's name, or None when nothing was added. A subclass names
    its ``THING`` (ids become ``add-THING-name`` and so on), says what to type in
    ``PLACEHOLDER``, takes ``BINDINGS = cancel_binding(THING)`` and adds in ``add``."""

    THING: ClassVar[str]
    PLACEHOLDER: ClassVar[str]

    def add(self, name: str) -> str:
        """Add it through the Workspace and return its name as stored."""
        raise NotImplementedError

    def extra_fields(self) -> Iterator[Widget]:
        """Fields below the name (none unless a subclass has some)."""
        return iter(())

    def _part_id(self, part: str) -> str:
        return f"add-{self.THING}-{part}"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            article = "an" if self.THING[0] in "aeiou" else "a"
            yield Static(f"Add {article} {self.THING}", classes="dialog-title", markup=False)
            yield Label("Name")
            yield Input(placeholder=self.PLACEHOLDER, id=self._part_id("name"))
            yield from self.extra_fields()
            yield Static("", id=self._part_id("error"), classes="field-error-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Add", id=self._part_id("ok"), variant="primary")
                yield Button("Cancel", id=self._part_id("cancel"))

    def on_mount(self) -> None:
        self.query_one(f"#{self._part_id('name')}", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed)
    def _pressed(self, event: Input.Submitted | Button.Pressed) -> None:
        widget = event.input if isinstance(event, Input.Submitted) else event.button
        if widget.id == self._part_id("cancel"):
            self.action_cancel()
        elif widget.id in (self._part_id("name"), self._part_id("ok")):
            self._add()

    def _add(self) -> None:
        try:
            added = self.add(self.query_one(f"#{self._part_id('name')}", Input).value)
        except InvalidInput as exc:
            self.query_one(f"#{self._part_id('error')}", Static).update(exc.message)
            return
        except MailstageError as exc:
            self.dismiss(None)
            self.report_error(exc)
            return
        self.dismiss(added)

    def action_cancel(self) -> None:
        self.dismiss(None)
