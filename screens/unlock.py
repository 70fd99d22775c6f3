"""The unlock screen: a passphrase store (or a locked session) opens here."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Button, Input, Static

from mailstage.screens.base import MailstageScreen
from mailstage.screens.widgets import AppFooter, AppHeader, SecretInput, short_path
from mailstage.store.paths import Locations


class UnlockScreen(MailstageScreen[None]):
    TITLE = "Unlock"
    HELP = (
        "The store is encrypted. Type its passphrase and press Enter (a key-file store "
        "opens with Enter alone). A wrong passphrase is named as such; a damaged file "
        "says it was changed outside mailstage. q or Ctrl+Q quits."
    )
    BINDINGS = [
        Binding("ctrl+q", "app.quit", "Quit", id="unlock.quit", tooltip="Quit mailstage"),
    ]

    def __init__(self, locations: Locations, *, needs_passphrase: bool) -> None:
        super().__init__()
        self.locations = locations
        self.needs_passphrase = needs_passphrase

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(id="unlock"):
            yield Static(f"Store {short_path(self.locations.shown)}", markup=False)
            if self.needs_passphrase:
                yield Static("This store is protected by a passphrase.", markup=False)
                yield SecretInput(placeholder="Passphrase", id="passphrase")
            else:
                yield Static("The store is locked; it opens with its key file.", markup=False)
            yield Static("", id="unlock-error", markup=False)
            yield Button("Unlock", id="unlock-button", variant="primary")
        yield AppFooter()

    def on_mount(self) -> None:
        target = "#passphrase" if self.needs_passphrase else "#unlock-button"
        self.query_one(target).focus()

    @on(Input.Submitted, "#passphrase")
    @on(Button.Pressed, "#unlock-button")
    def _submit(self) -> None:
        passphrase = None
        if self.needs_passphrase:
            field = self.query_one("#passphrase", Input)
            passphrase = field.value
            field.value = ""
            if not passphrase:
                self.query_one("#unlock-error", Static).update("Type the passphrase first.")
                return
        self.query_one("#unlock-error", Static).update("Opening…")
        self._open(passphrase)

    @work(exclusive=True, exit_on_error=False, thread=True, group="unlock")
    def _open(self, passphrase: str | None) -> None:
        from mailstage.store.errors import MailstageError
        from mailstage.store.workspace import Workspace

        try:
            workspace = Workspace.open(self.locations, user=self.host.user, passphrase=passphrase)
        except MailstageError as exc:
            self.app.call_from_thread(self._failed, exc.message)
            return
        self.app.call_from_thread(self.host.unlocked, workspace)

    def _failed(self, message: str) -> None:
        self.query_one("#unlock-error", Static).update(message)
        if self.needs_passphrase:
            self.query_one("#passphrase", Input).focus()
