"""Shared helpers for the Apps / Members / Audit / Captured screen tests (no tests here).

`HarnessApp` is a minimal App with what the screens expect of the real one:
`workspace`, `capture_folder`, `open_send_test(...)` and `report_error(exc)`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.screen import Screen

from mailstage.store.models import AuditEvent
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from mailstage.tui import app as tui_app
from mailstage.tui.app import MailstageApp
from tests.tui_fixtures import screen_text, stop_blinking  # noqa: F401 - screen_text shared

FIXED = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)


def locations(tmp_path: Path) -> Locations:
    return Locations.resolve(tmp_path / "store.json", tmp_path / "key")


def make_store(
    tmp_path: Path, *, apps: tuple[str, ...] = ("Billing", "Portal", "Shop")
) -> Workspace:
    """A store with three stages, a few apps and fixed audit times (deterministic screens)."""
    ws = Workspace.init(locations(tmp_path), user="alice")
    for name in apps:
        ws.add_app(name)
    ws.save_test_list("Billing", "Development", ["dev1@example.com", "dev2@example.com"], True)
    ws.save_test_list("Portal", "Production", ["ops@example.com"], False)
    ws.set_member("bob", "Viewer")
    ws.set_member("carol", "App Developer")
    fix_audit_times(ws)
    return ws


def fix_audit_times(ws: Workspace) -> None:
    """Rewrite every audit time to a fixed one, a minute apart, and save."""
    events = ws.data.audit
    ws.data.audit = [
        AuditEvent.model_validate({**e.model_dump(), "at": FIXED.replace(minute=i % 60)})
        for i, e in enumerate(events)
    ]
    ws.file.save(ws.data)


def reopen(tmp_path: Path, user: str = "alice") -> Workspace:
    return Workspace.open(locations(tmp_path), user=user)


class HarnessApp(MailstageApp):
    """The real App (built as `build_app` does), opened on one screen above Home.

    Send-test requests are recorded instead of opening the Send test modal.
    """

    CSS_PATH = str(Path(tui_app.__file__).with_name("app.tcss"))

    def __init__(
        self,
        workspace: Workspace,
        screen: Callable[[], Screen[Any]] | None = None,
        capture_folder: Path | None = None,
    ) -> None:
        super().__init__(
            workspace.file.locations,
            workspace=workspace,
            capture_folder=capture_folder,
            user=workspace.user,
            store_label="/tmp/store.json",
        )
        self._first = screen
        self.send_tests: list[tuple[str, str | None, list[str] | None]] = []

    def on_mount(self) -> None:
        super().on_mount()
        if self._first is not None:
            self.call_after_refresh(self.push_screen, self._first())

    def open_send_test(
        self, stage_name: str, app_name: str | None = None, recipients: list[str] | None = None
    ) -> None:
        self.send_tests.append((stage_name, app_name, recipients))


def flat(text: str) -> str:
    """Screen text with wrapped lines joined, to find sentences that wrap."""
    return " ".join(line.strip(" │▎▊") for line in text.splitlines() if line.strip())


async def settle(pilot: Any, screen_type: type[Screen[Any]] | None = None) -> None:
    """Pause until the screen switch is done (Textual 8 switches screens with a delay)."""
    for _ in range(50):
        await pilot.pause()
        if screen_type is None or isinstance(pilot.app.screen, screen_type):
            await pilot.pause()
            stop_blinking(pilot.app)
            await pilot.pause()
            return
    raise AssertionError(f"{screen_type} never became the current screen: {pilot.app.screen}")
