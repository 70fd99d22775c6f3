"""The mailstage App and the one factory (`build_app`) that the CLI and the tests share.

Every screen reaches the data through ``self.app.workspace`` and turns errors into
dialogs with ``self.app.report_error(exc)``. Screens that show store data may define
``refresh_from_workspace()``: it is called on every open screen after a reload.
Start-up stays light: no mailer/aiosmtplib/msal import here, screens imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from mailstage.screens.base import MailstageScreen
from mailstage.screens.widgets import AppHeader, ConfirmModal, MessageDialog, short_path
from mailstage.store.errors import (
    Conflict,
    InvalidInput,
    LockTimeout,
    MailstageError,
    NotInitialized,
    NotPermitted,
)
from mailstage.store.fields import describe_on_form
from mailstage.store.paths import Locations
from mailstage.store.text import visible

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from mailstage.store.workspace import Workspace
    from mailstage.tui.keymap import Resolved


def _palette_provider() -> Any:
    from mailstage.tui.palette import MailstageCommands

    return MailstageCommands


class MailstageApp(App[int]):
    """Configure how apps send email, per stage."""

    CSS_PATH = "app.tcss"
    TITLE = "mailstage"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {_palette_provider}

    BINDINGS = [
        # q shows in Home's footer only (Home binds it too): room for each screen's keys
        Binding("q", "quit_key", "Quit", show=False, id="app.quit", tooltip="Quit mailstage"),
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            show=False,
            priority=True,
            id="app.quit_ctrl",
            tooltip="Quit mailstage",
        ),
        Binding("f1", "help", "Help", id="app.help", tooltip="Help for this screen"),
        Binding("escape", "back", "Back", id="app.back", tooltip="Go back one screen"),
        Binding(
            "j",
            "list_cursor(1)",
            "Down",
            show=False,
            id="app.list_down",
            tooltip="Next row of the list in focus",
        ),
        Binding(
            "k",
            "list_cursor(-1)",
            "Up",
            show=False,
            id="app.list_up",
            tooltip="Previous row of the list in focus",
        ),
        Binding(
            "ctrl+l",
            "lock",
            "Lock",
            show=False,
            id="app.lock",
            tooltip="Forget the store key and show the unlock screen",
        ),
    ]

    def __init__(
        self,
        locations: Locations,
        *,
        workspace: Workspace | None = None,
        needs_passphrase: bool = False,
        open_after_paint: bool = False,
        passphrase: str | None = None,
        capture_folder: Path | None = None,
        capture_watch: Path | None = None,
        user: str | None = None,
        store_label: str | None = None,
        first_run: bool = False,
    ) -> None:
        super().__init__()
        self.first_run = first_run  # no store yet: offer to create it
        self.locations = locations
        self.workspace: Workspace | None = workspace
        self.needs_passphrase = needs_passphrase
        # the store is opened in a worker once Home is painted (build_app decides)
        self.opening = open_after_paint and workspace is None
        self._passphrase = passphrase
        self.startup_error: MailstageError | None = None  # raised again by run_tui
        self.capture_folder = capture_folder
        # where `mailstage sink` will keep mail: Captured mail appears once it exists
        self.capture_watch = capture_watch if capture_folder is None else None
        self.user = user
        self.store_label = store_label or short_path(locations.shown)
        self.apps_stage: str | None = None  # the Apps list's stage in focus, kept between visits
        from mailstage.tui.keymap import load_keymap

        self.user_keymap = load_keymap()
        self.keymap_clashes: list[str] = []  # keys refused (tui/keymap.py), once ready
        self.set_keymap(self.user_keymap.bindings)

    # -- start, unlock, lock ---------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        # Home is the first screen painted: no empty default screen before it
        from mailstage.screens.home import HomeScreen

        return HomeScreen()

    def on_mount(self) -> None:
        if self.capture_watch is not None:
            self._capture_timer = self.set_interval(1.0, self._look_for_capture)
        for problem in self.user_keymap.problems:
            self.notify(problem, title="Keymap", severity="warning", markup=False)
        if self.first_run and self.workspace is None:
            from mailstage.screens.create_store import CreateStoreScreen
            from mailstage.store.identity import acting_user

            user = self.user or acting_user(self.locations)
            self.push_screen(CreateStoreScreen(self.locations, user))
        elif self.workspace is None and not self.opening:
            self.show_unlock()

    def _look_for_capture(self) -> None:
        """A sink started after the TUI: one stat a second until its folder exists."""
        if self.capture_watch is None or not self.capture_watch.is_dir():
            return
        self.capture_folder, self.capture_watch = self.capture_watch, None
        self._capture_timer.stop()
        from mailstage.screens.home import HomeScreen

        for screen in self.screen_stack:
            if isinstance(screen, HomeScreen):
                screen.show_destinations()

    def on_ready(self) -> None:
        # Ready comes once Home is laid out and painted: only then open the store
        if self.opening:
            self._open_store()
        self._refuse_keymap_clashes()

    def _refuse_keymap_clashes(self) -> None:
        """A key the keymap gives one action that another action holds where both apply
        is refused (Textual would drop the other action without a word): said now, and
        in F1. After the first paint and in a thread: the check imports every screen
        (~0.4 s here)."""
        if not self.user_keymap.bindings:
            return
        app_bindings = [b for keyed in self._bindings.key_to_bindings.values() for b in keyed]

        def check() -> None:
            from mailstage.tui.keymap import binding_places, resolve_clashes

            places = binding_places(app_bindings)
            resolved = resolve_clashes(self.user_keymap.bindings, places)
            self.call_from_thread(self._keymap_checked, resolved)

        self.run_worker(check, thread=True, group="keymap", exit_on_error=False)

    def _keymap_checked(self, resolved: Resolved) -> None:
        self.keymap_clashes = resolved.clashes
        self.set_keymap(resolved.bindings)
        for clash in resolved.clashes:
            self.notify(clash, title="Keymap", severity="warning", timeout=20, markup=False)

    def _open_store(self) -> None:
        """After the first paint: decrypt and decode the store off the event loop."""
        self.run_worker(
            self._open_in_thread, thread=True, exclusive=True, group="open", exit_on_error=False
        )

    def _open_in_thread(self) -> None:
        from mailstage.store.workspace import Workspace

        passphrase, self._passphrase = self._passphrase, None
        try:
            workspace = Workspace.open(self.locations, user=self.user, passphrase=passphrase)
        except MailstageError as exc:
            self.call_from_thread(self._open_failed, exc)
            return
        self.call_from_thread(self._store_ready, workspace)

    def _store_ready(self, workspace: Workspace) -> None:
        self.opening = False
        self.workspace = workspace
        self._refresh_screens()
        if isinstance(self.screen, MailstageScreen):
            self.screen.store_ready()

    def _open_failed(self, exc: MailstageError) -> None:
        """The store did not open (wrong key, damaged): leave, and let the CLI say why
        with its exit code, as it does when the store is unreadable before start."""
        self.opening = False
        self.startup_error = exc
        self.exit(exc.exit_code, return_code=exc.exit_code)

    def show_unlock(self) -> None:
        from mailstage.screens.unlock import UnlockScreen

        self.push_screen(UnlockScreen(self.locations, needs_passphrase=self.needs_passphrase))

    def unlocked(self, workspace: Workspace) -> None:
        """Called by the unlock screen with the opened workspace: back to Home."""
        self.workspace = workspace
        self.pop_screen()
        self._refresh_screens()

    def action_lock(self) -> None:
        if self.workspace is None:
            return
        self.workspace = None
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.show_unlock()

    def who_line(self) -> str:
        ws = self.workspace
        if ws is None:
            state = "opening…" if self.opening else "locked"
            if self.first_run:
                state = "not created yet"
            return f"Store {self.store_label} ({state})"
        role = ws.role_name or "not a member"
        return f"{ws.user} · {role} · {self.store_label}"

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Of Textual's own palette commands only Quit, which asks first about unsaved
        edits; Theme, Keys, Maximize and Screenshot are not mailstage's (tui/palette.py
        holds ours)."""
        yield SystemCommand(
            "Quit", "Quit mailstage (asks first when there are unsaved changes)", self.action_quit
        )

    # -- navigation ------------------------------------------------------------------

    def _can_go_back(self) -> bool:
        from mailstage.screens.create_store import CreateStoreScreen
        from mailstage.screens.home import HomeScreen
        from mailstage.screens.unlock import UnlockScreen

        stops = (HomeScreen, UnlockScreen, CreateStoreScreen)
        return len(self.screen_stack) > 1 and not isinstance(self.screen, stops)

    async def action_back(self) -> None:
        if self._can_go_back():
            self.pop_screen()

    def action_help(self) -> None:
        from mailstage.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen, keymap_note=self.keymap_note()))

    def keymap_note(self) -> str:
        from mailstage.screens.widgets import short_path
        from mailstage.tui.keymap import every_binding_id, keymap_path, unknown_ids

        lines = [
            f"Change any key in {short_path(keymap_path())}, by its keymap id: "
            '[keymap] "apps.toggle_list" = "t"'
        ]
        lines += self.user_keymap.problems
        lines += self.keymap_clashes
        unknown = unknown_ids(self.user_keymap, every_binding_id())
        if unknown:
            lines.append("Keymap ids that do not exist (ignored): " + ", ".join(unknown))
        return "\n".join(lines)

    def _focused_list(self) -> Any:
        from textual.widgets import DataTable, OptionList

        from mailstage.screens.test_list_editor import AddressList

        focused = self.screen.focused
        return focused if isinstance(focused, (DataTable, OptionList, AddressList)) else None

    def action_list_cursor(self, step: int) -> None:
        """j / k: the arrows' moves in the list that has the focus."""
        target = self._focused_list()
        if target is None:
            return
        if step > 0:
            target.action_cursor_down()
        else:
            target.action_cursor_up()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "list_cursor":
            return self._focused_list() is not None
        if action == "back":  # no Esc in the footer where there is nowhere to go back to
            return self._can_go_back()
        return True

    def go_home(self) -> None:
        from mailstage.screens.home import HomeScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()

    def open_destination(self, key: str) -> None:
        """One of Home's destinations (members, audit, captured, ...), by its key."""
        from mailstage.screens.home import destination_screen

        self.push_screen(destination_screen(self, key))

    def toggle_test_list(self, app_name: str, stage_name: str) -> None:
        from mailstage.screens.quick_toggle import toggle_test_list

        def saved(*_: object) -> None:
            for screen in self.screen_stack:
                if isinstance(screen, MailstageScreen) and screen.is_mounted:
                    screen.refresh_from_workspace()

        toggle_test_list(self, app_name, stage_name, saved)

    def open_stage_picker(self) -> None:
        from mailstage.screens.emails import EmailsScreen

        self.push_screen(EmailsScreen())

    def open_stage(self, stage_name: str) -> None:
        from mailstage.screens.stage import StageScreen

        self.push_screen(StageScreen(stage_name))

    def open_email_form(self, stage_name: str) -> None:
        from mailstage.screens.email_form import EmailFormScreen

        self.push_screen(EmailFormScreen(stage_name))

    def open_apps(self, app_name: str | None = None) -> None:
        from mailstage.screens.apps import AppsScreen

        self.push_screen(AppsScreen())
        if app_name is not None:
            screen = self.screen
            if isinstance(screen, AppsScreen):
                self.call_after_refresh(screen.open_app, app_name)

    def open_send_test(
        self,
        stage_name: str,
        app_name: str | None = None,
        recipients: list[str] | None = None,
    ) -> None:
        """Push the Send test modal for a stage (and an app's test list, if given)."""
        from mailstage.screens.send_test import SendTestScreen

        if self.workspace is not None and (why := self.workspace.why_not_send_test()):
            self.report_error(NotPermitted(why, "send_test"))
            return
        self.push_screen(SendTestScreen(stage_name, app_name=app_name, recipients=recipients))

    # -- the store -------------------------------------------------------------------

    def reload_workspace(self) -> None:
        """Read the store again and refresh every open screen that shows its data."""
        if self.workspace is None:
            return
        try:
            self.workspace.reload()
        except MailstageError as exc:
            self.report_error(exc)
            return
        self._refresh_screens()

    def _refresh_screens(self) -> None:
        """Every open screen that shows store data shows it again."""
        for screen in self.screen_stack:
            if isinstance(screen, MailstageScreen):
                screen.refresh_from_workspace()
            for header in screen.query(AppHeader):
                header.refresh_who()

    def report_error(
        self, exc: BaseException, *, on_reload: Callable[[], None] | None = None
    ) -> None:
        """The one place that turns an error into a dialog."""
        title, message, reload = error_dialog_text(exc)

        def closed(choice: str | None) -> None:
            if choice == "reload":
                self.reload_workspace()
                if on_reload is not None:
                    on_reload()

        self.push_screen(MessageDialog(title, message, offer_reload=reload), closed)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast passes the one sanitizer: names and errors in it may carry
        terminal escapes (text from outside should also pass markup=False)."""
        super().notify(
            visible(message, multiline=True),
            title=visible(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    # -- exit ------------------------------------------------------------------------

    def action_quit_key(self) -> None:
        """`q` quits, except inside a form or editor, where it is a letter like any other
        (on every widget there, the dropdown included): ctrl+q quits from there."""
        if getattr(self.screen, "Q_IS_TEXT", False):
            return
        self._quit_asking_first()

    async def action_quit(self) -> None:
        """ctrl+q and the palette's Quit: ask first when a screen holds unsaved edits."""
        self._quit_asking_first()

    def unsaved_screens(self) -> list[str]:
        """What holds unsaved edits: each screen that says so (``has_unsaved_changes``)."""
        found = []
        for screen in self.screen_stack:
            unsaved = getattr(screen, "has_unsaved_changes", None)
            if callable(unsaved) and unsaved():
                found.append(getattr(screen, "crumb", type(screen).__name__))
        return found

    def _quit_asking_first(self) -> None:
        unsaved = self.unsaved_screens()
        if not unsaved:
            self.exit(0)
            return
        if isinstance(self.screen, ConfirmModal):
            return  # already asking

        def answered(discard: bool | None) -> None:
            if discard:
                self.exit(0)

        where = "; ".join(str(u) for u in unsaved)
        self.push_screen(
            ConfirmModal(
                f"You have unsaved changes ({where}). Quit and discard them?",
                yes="Quit and discard",
                no="Keep editing",
            ),
            answered,
        )

    def _fatal_error(self) -> None:
        """An unexpected error ends the app (exit code 1, Textual's bookkeeping kept).
        Textual's own report is a traceback WITH local variables: a Workspace there would
        print the store's addresses and names. This one names the error and where."""
        from mailstage.tui.crash import crash_report

        self.bell()
        self.panic(crash_report())


def error_dialog_text(exc: BaseException) -> tuple[str, str, bool]:
    """(title, message, offer reload) for an error; never a traceback or a secret."""
    if isinstance(exc, LockTimeout):
        return "The store is busy", exc.message, False
    if isinstance(exc, Conflict):
        changes = "".join(f"\n  • {line}" for line in exc.changes)
        return (
            "Another admin saved first",
            exc.summary
            + (f"\n\nChanged since you opened it:{changes}" if changes else "")
            + "\n\nReload to see their changes; your edits stay on screen "
            "so you can apply them again.",
            True,
        )
    if isinstance(exc, InvalidInput):
        if len(exc.problems) < 2:
            return "Invalid input", exc.message, False
        # every problem, one a line, to the end (the dialog scrolls)
        lines = [f"• {describe_on_form(field, rule)}" for field, rule in exc.problems]
        return "Invalid input", "\n".join(lines), False
    if isinstance(exc, NotPermitted):
        return "Not permitted", exc.message, False
    if isinstance(exc, MailstageError):
        return "Error", exc.message, False
    return "Unexpected error", f"Unexpected error ({type(exc).__name__}).", False


def build_app(
    locations: Locations,
    *,
    workspace: Workspace | None = None,
    passphrase: str | None = None,
    capture_folder: Path | None = None,
    capture_watch: Path | None = None,
    user: str | None = None,
    store_label: str | None = None,
) -> MailstageApp:
    """The App for a store. Opens it now when no passphrase is needed (or one is
    given); a passphrase store without one opens on the unlock screen. Store errors
    (missing, unreadable, unsafe) raise here so the CLI reports them with its codes."""
    needs_passphrase = open_after_paint = False
    if workspace is None:
        # the header alone says which key opens the store; the decrypting and decoding
        # wait until Home is on screen
        from mailstage.store.keys import KeyFile
        from mailstage.store.reader import read_header_kinds

        try:
            kinds = read_header_kinds(locations)
        except NotInitialized:
            return MailstageApp(
                locations,
                capture_folder=capture_folder,
                capture_watch=capture_watch,
                user=user,
                store_label=store_label,
                first_run=True,
            )
        if passphrase is not None or "passphrase" not in kinds:
            if passphrase is None:
                KeyFile(locations.key_file).check()  # private, or a team's (0640)
            open_after_paint = True
        else:
            needs_passphrase = True
    return MailstageApp(
        locations,
        workspace=workspace,
        needs_passphrase=needs_passphrase,
        open_after_paint=open_after_paint,
        passphrase=passphrase,
        capture_folder=capture_folder,
        capture_watch=capture_watch,
        user=user,
        store_label=store_label,
    )
