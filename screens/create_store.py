"""The first run: no store yet. Say what the store and its key file are, where they go,
that the key file needs a backup, and create both on Enter (the same as `mailstage init`)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from mailstage.screens.base import MailstageScreen
from mailstage.screens.widgets import AppFooter, AppHeader, short_path
from mailstage.store.errors import MailstageError
from mailstage.store.paths import Locations


def welcome_text(locations: Locations, user: str) -> str:
    return (
        f"There is no store yet at {short_path(locations.shown)}.\n\n"
        "The store keeps every stage's SMTP settings, your apps and their test lists, "
        "encrypted. It opens with the key file "
        f"{short_path(locations.key_file)}, readable by you only.\n\n"
        "Back up the key file (a password manager or an offline copy): without it "
        "nobody can open the store, and a copy of the store alone is useless.\n\n"
        f"You ({user}) become the store's Organization Administrator. "
        "(To protect it with a passphrase instead, quit and run: "
        "mailstage init --passphrase)"
    )


def created_text(locations: Locations) -> str:
    return (
        f"Created the store {short_path(locations.shown)}. Back up its key file "
        f"{short_path(locations.key_file)} now: without it the store cannot be opened."
    )


class CreateStoreScreen(MailstageScreen[None]):
    """Welcome: create the store here, or quit."""

    TITLE = "Welcome"
    HELP = (
        "mailstage keeps everything in one encrypted store. Enter (or c) creates it "
        "with a new key file, as `mailstage init` does; q quits without creating anything."
    )
    BINDINGS = [
        Binding("c", "create", "Create store", id="create_store.create", tooltip="Create it"),
        Binding("q", "app.quit", "Quit", id="create_store.quit", tooltip="Quit, create nothing"),
    ]

    def __init__(self, locations: Locations, user: str) -> None:
        super().__init__()
        self.locations = locations
        self.user = user

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(id="welcome", classes="body"):
            yield Static("Welcome to mailstage", classes="section-title", markup=False)
            yield Static(welcome_text(self.locations, self.user), markup=False)
            yield Static("", id="welcome-error", classes="field-error-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create the store (Enter)", id="create", variant="primary")
                yield Button("Quit (q)", id="quit")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one("#create", Button).focus()

    @on(Button.Pressed, "#create")
    def action_create(self) -> None:
        from mailstage.store.workspace import Workspace

        try:
            workspace = Workspace.init(self.locations, user=self.user)
        except MailstageError as exc:
            self.query_one("#welcome-error", Static).update(exc.message)
            return
        self.host.unlocked(workspace)
        self.app.notify(
            created_text(self.locations), title="Store created", timeout=20, markup=False
        )

    @on(Button.Pressed, "#quit")
    def _quit(self) -> None:
        self.app.exit(0)
