"""Send test (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static


class SendTestScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close", id="send_test.close", tooltip="Close")]

    def __init__(
        self, stage_name: str, *, app_name: str | None = None, recipients: list[str] | None = None
    ) -> None:
        super().__init__()
        self.stage_name = stage_name
        self.app_name = app_name
        self.recipients = recipients

    def compose(self) -> ComposeResult:
        yield Static("Send test is being built.", classes="dialog")

    def action_close(self) -> None:
        self.dismiss(None)
