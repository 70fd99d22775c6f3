"""Removing a member, an app or a stage from the TUI: asked first, then done through the
Workspace (which checks the permission, saves and audits), errors shown in the dialog.
What cannot be undone in production asks for its name typed out (``typed``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from mailstage.screens.base import MailstageModal
from mailstage.screens.widgets import ConfirmModal
from mailstage.store.errors import MailstageError


class TypeNameModal(MailstageModal[bool]):
    """A question answered by typing ``name`` exactly; Esc (or Keep) is no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "keep", "Keep", id="type_name.keep", tooltip="Remove nothing"),
    ]
    HELP = "Type the name shown to confirm, then Enter; Esc removes nothing."

    def __init__(self, question: str, name: str) -> None:
        super().__init__()
        self.question = question
        self.expected = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text", markup=False)
            yield Label(f"Type {self.expected} to confirm", markup=False)
            yield Input(id="type-name", placeholder=self.expected)
            yield Static("", id="type-name-error", classes="field-error-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Remove", id="type-name-remove", variant="warning", disabled=True)
                yield Button("Keep", id="type-name-keep")

    def on_mount(self) -> None:
        self.query_one("#type-name", Input).focus()

    def _matches(self) -> bool:
        return self.query_one("#type-name", Input).value.strip() == self.expected

    @on(Input.Changed, "#type-name")
    def _typed(self) -> None:
        self.query_one("#type-name-remove", Button).disabled = not self._matches()

    @on(Input.Submitted, "#type-name")
    @on(Button.Pressed, "#type-name-remove")
    def _remove(self) -> None:
        if self._matches():
            self.dismiss(True)
            return
        self.query_one("#type-name-error", Static).update(
            f"The name typed is not {self.expected}: nothing removed yet."
        )

    @on(Button.Pressed, "#type-name-keep")
    def action_keep(self) -> None:
        self.dismiss(False)


def confirm_removal(
    screen: Any,
    question: str,
    remove: Callable[[], Any],
    done: Callable[[], None],
    *,
    typed: str | None = None,
) -> None:
    """Ask ``question`` (with ``typed``: the admin types that name to say yes); on yes
    run ``remove`` and then ``done`` (the screen refreshes)."""

    def answered(yes: bool | None) -> None:
        if not yes:
            return
        try:
            remove()
        except MailstageError as exc:
            screen.report_error(exc)
            return
        done()

    dialog = (
        TypeNameModal(question, typed)
        if typed is not None
        else ConfirmModal(question, yes="Remove", no="Keep")
    )
    screen.app.push_screen(dialog, answered)
