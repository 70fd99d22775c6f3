"""The typed base of every mailstage screen: the workspace, error reporting, the breadcrumb
and the production cue, instead of ``getattr(self.app, ...)`` and ``# type: ignore``.

Screens cannot import the App (the layers go ``tui -> screens``), so what a screen may ask
of it is written down once here as the ``Host`` protocol; ``MailstageApp`` implements it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar, cast

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from mailstage.store.models import Stage
    from mailstage.store.paths import Locations
    from mailstage.store.workspace import Workspace

ResultType = TypeVar("ResultType")


class Host(Protocol):
    """What the App offers every screen."""

    workspace: Workspace | None
    locations: Locations
    capture_folder: Path | None
    user: str | None
    apps_stage: str | None
    opening: bool  # the store is being opened in a worker after the first paint

    def report_error(
        self, exc: BaseException, *, on_reload: Callable[[], None] | None = None
    ) -> None: ...

    def reload_workspace(self) -> None: ...

    def who_line(self) -> str: ...

    def unlocked(self, workspace: Workspace) -> None: ...

    def open_stage_picker(self) -> None: ...

    def open_stage(self, stage_name: str) -> None: ...

    def open_email_form(self, stage_name: str) -> None: ...

    def open_apps(self, app_name: str | None = None) -> None: ...

    def open_send_test(
        self,
        stage_name: str,
        app_name: str | None = None,
        recipients: list[str] | None = None,
    ) -> None: ...


class Locked(RuntimeError):
    """A screen asked for the workspace while the store is locked (a bug, not user input)."""


class MailstageScreen(Screen[ResultType]):
    """A screen of mailstage: the typed way to the App and the open store."""

    @property
    def crumb(self) -> str:
        """The breadcrumb after "mailstage ›" (screens below Home override it)."""
        return self.TITLE or ""

    HELP: ClassVar[str] = ""
    """F1's text for this screen (its keys are listed from the active bindings)."""

    @property
    def host(self) -> Host:
        return cast(Host, self.app)

    @property
    def workspace(self) -> Workspace:
        """The open store. Screens that show data are only pushed while it is open."""
        ws = self.host.workspace
        if ws is None:
            raise Locked("the store is locked")
        return ws

    @property
    def production_stage(self) -> Stage | None:
        """The production stage this screen shows or changes, if any: the header then
        carries the production badge. Screens about one stage override this."""
        return None

    def report_error(
        self, exc: BaseException, *, on_reload: Callable[[], None] | None = None
    ) -> None:
        self.host.report_error(exc, on_reload=on_reload)

    def may_send_test(self) -> bool:
        """Send test needs Manage Email Configurations or Manage Test Lists."""
        from mailstage.store.models import Permission

        ws = self.host.workspace
        return ws is not None and (
            ws.can(Permission.MANAGE_EMAIL_CONFIGURATIONS) or ws.can(Permission.MANAGE_TEST_LISTS)
        )

    def may_edit_email(self) -> bool:
        from mailstage.store.models import Permission

        ws = self.host.workspace
        return ws is not None and ws.can(Permission.MANAGE_EMAIL_CONFIGURATIONS)

    def refresh_from_workspace(self) -> None:
        """Called on every open screen after the store was read again; screens that
        show store data redraw it here."""

    def store_ready(self) -> None:
        """Called on the current screen once the store, opened after the first paint,
        is ready."""


class MailstageModal(ModalScreen[ResultType], MailstageScreen[ResultType]):
    """A dialog of mailstage that returns a ``ResultType``. Its footer shows its own
    keys: without one, the footer of the screen beneath shows through with that screen's
    keys (``f2 Save  esc Cancel`` under a question answered with y / n)."""

    def on_mount(self) -> None:  # runs besides each dialog's own on_mount (Textual's MRO)
        from textual.widgets import Footer

        if not self.query(Footer):
            self.mount(Footer(show_command_palette=False))


def stage_if_production(host: Host, stage_name: str | None) -> Stage | None:
    """The stage named, when it exists and is a production stage."""
    ws = host.workspace
    if ws is None or stage_name is None:
        return None
    stage = ws.data.stage(stage_name)
    return stage if stage is not None and stage.production else None
