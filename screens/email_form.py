"""The email form (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.widgets import AppHeader


class EmailFormScreen(Screen[None]):
    def __init__(self, stage_name: str) -> None:
        super().__init__()
        self.stage_name = stage_name
        self.crumb = f"Emails › {stage_name} › Edit"

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Static("The form is being built.")
        yield Footer()
