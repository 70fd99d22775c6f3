"""Home: Configure > Emails, Apps, Members, Audit, Email log, Captured mail."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mailstage.screens.base import Host, MailstageScreen
from mailstage.screens.widgets import AppFooter, AppHeader

# (option id, label, description)
DESTINATIONS = [
    ("emails", "Configure > Emails", "SMTP configuration of each stage, Send test"),
    ("apps", "Apps", "Apps and their test lists per stage"),
    ("members", "Members", "Who may do what"),
    ("audit", "Audit", "Every change, newest first"),
    ("log", "Email log", "Every message the relay and Send test handled"),
    ("queue", "Queue", "Messages the relay still has to deliver"),
    ("captured", "Captured mail", "Messages caught by the capture server"),
]


class HomeScreen(MailstageScreen[None]):
    TITLE = "Home"
    HELP = (
        "Home: choose where to go with the arrows and Enter, or press the letter "
        "shown next to each entry. Ctrl+P opens the command palette (jump to a stage or "
        "an app, send a test, lock). Esc goes back from any screen, q quits."
    )
    BINDINGS = [
        Binding(
            "e",
            "go('emails')",
            "Emails",
            id="home.emails",
            tooltip="Stages and their email configuration",
        ),
        Binding("a", "go('apps')", "Apps", id="home.apps", tooltip="Apps and their test lists"),
        Binding("m", "go('members')", "Members", id="home.members", tooltip="Members and roles"),
        Binding("u", "go('audit')", "Audit", id="home.audit", tooltip="The audit trail"),
        Binding(
            "l", "go('log')", "Email log", id="home.log", tooltip="Messages sent, newest first"
        ),
        # in the menu as "Queue (o)"; the footer has no room left at 80 columns
        Binding(
            "o",
            "go('queue')",
            "Queue",
            id="home.queue",
            tooltip="The relay's queued mail",
            show=False,
        ),
        Binding("c", "go('captured')", "Captured", id="home.captured", tooltip="Captured mail"),
        Binding("q", "app.quit", "Quit", id="home.quit", tooltip="Quit mailstage"),
    ]

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Static("", id="home-next", classes="next-step body", markup=False)
        yield Static("Where to?", classes="section-title body-title")
        yield OptionList(*self._options(), id="menu", classes="menu")
        yield Static("", id="home-note", classes="muted body", markup=False)
        yield Static(
            "Ctrl+P: the command palette",
            classes="muted body",
            markup=False,
        )
        yield AppFooter()

    def _destinations(self) -> list[tuple[str, str, str]]:
        has_capture = self.host.capture_folder is not None
        return [d for d in DESTINATIONS if d[0] != "captured" or has_capture]

    def _options(self) -> list[Option]:
        keys = {
            "emails": "e",
            "apps": "a",
            "members": "m",
            "audit": "u",
            "log": "l",
            "queue": "o",
            "captured": "c",
        }
        return [
            Option(Text(f"{label}  ({keys[key]})\n  {text}"), id=key)
            for key, label, text in self._destinations()
        ]

    def show_destinations(self) -> None:
        """The menu again (Captured mail appears once the sink's folder exists)."""
        menu = self.query_one("#menu", OptionList)
        highlighted = menu.highlighted
        menu.clear_options()
        menu.add_options(self._options())
        menu.highlighted = highlighted
        self.refresh_bindings()

    def on_mount(self) -> None:
        self.query_one("#menu", OptionList).focus()
        self._update_note()

    _pending: str | None = None  # chosen while the store was still opening

    def _update_note(self) -> None:
        ws = self.host.workspace
        if ws is None:
            if self.host.opening:
                self.query_one("#home-note", Static).update("Opening the store…")
            return
        # the store's models are loaded by now; importing them here keeps them off
        # the first paint
        from mailstage.screens.next_step import next_step
        from mailstage.store.models import Permission

        can = {p for p in Permission if ws.can(p)}
        step, state = next_step(ws.data, can)
        next_line = self.query_one("#home-next", Static)
        next_line.update(step)
        next_line.display = bool(step)
        self.query_one("#home-note", Static).update(state)

    def refresh_from_workspace(self) -> None:
        self._update_note()

    def on_screen_resume(self) -> None:
        self._update_note()

    def store_ready(self) -> None:
        """The store finished opening: go where the user already asked to."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self.action_go(pending)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go" and parameters and parameters[0] == "captured":
            return self.host.capture_folder is not None
        return True

    @on(OptionList.OptionSelected, "#menu")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.action_go(event.option.id)

    def action_go(self, key: str) -> None:
        if not any(d[0] == key for d in self._destinations()):
            return
        if self.host.workspace is None:
            if self.host.opening:
                self._pending = key  # opened as soon as the store is ready
            return
        self.app.push_screen(destination_screen(self.host, key))


def destination_screen(host: Host, key: str) -> Screen[Any]:
    """The screen behind one of Home's destinations."""
    # imported on first use: the screens (and pydantic's models) stay off the first paint
    if key == "emails":
        from mailstage.screens.emails import EmailsScreen

        return EmailsScreen()
    if key == "apps":
        from mailstage.screens.apps import AppsScreen

        return AppsScreen()
    if key == "members":
        from mailstage.screens.members import MembersScreen

        return MembersScreen()
    if key == "audit":
        from mailstage.screens.audit import AuditScreen

        return AuditScreen()
    if key == "log":
        from mailstage.screens.email_log import EmailLogScreen

        return EmailLogScreen()
    if key == "queue":
        from mailstage.screens.queue import QueueScreen

        return QueueScreen()
    from mailstage.screens.captured import CapturedMailScreen

    return CapturedMailScreen(host.capture_folder)
