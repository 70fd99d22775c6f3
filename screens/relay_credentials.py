"""The relay password of an app in a stage, shown once right after it was made."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from mailstage.screens.base import MailstageModal
from mailstage.store.text import visible


class RelayCredentialsModal(MailstageModal[None]):
    """Username and password for `mailstage relay STAGE`; y copies the password."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "y",
            "copy",
            "Copy password",
            id="relay_credentials.copy",
            tooltip="Copy the password to the clipboard (OSC 52); it is shown only once",
        ),
        Binding("escape,enter", "close", "Close", id="relay_credentials.close", tooltip="Close"),
    ]
    HELP = (
        "The app's relay login. The password is shown this once: mailstage keeps only a "
        "hash of it. Press y to copy it to the clipboard (your terminal must allow OSC 52), "
        "or select it with the mouse; put it in the app's mail settings before closing."
    )

    def __init__(self, app_name: str, stage: str, password: str) -> None:
        super().__init__()
        self.app_name = app_name
        self.stage = stage
        self._password = password

    def compose(self) -> ComposeResult:
        text = "\n".join(
            [
                f"Relay login of {visible(self.app_name)} in {visible(self.stage)}:",
                "",
                f"  host:     127.0.0.1 (where `mailstage relay {visible(self.stage)}` listens)",
                "  port:     1587",
                f"  username: {visible(self.app_name)}",
                f"  password: {self._password}",
                "",
                "Shown once: mailstage keeps only a hash. Press y to copy the password "
                "(or select it with the mouse), then Enter or Esc to close.",
            ]
        )
        with Vertical(classes="dialog"):
            yield Static("Relay credentials", classes="dialog-title", markup=False)
            yield Static(text, id="credentials-text", classes="dialog-text", markup=False)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._password)
        self.notify("Password copied to the clipboard (if your terminal allows it).")

    def action_close(self) -> None:
        self._password = ""
        self.dismiss(None)
