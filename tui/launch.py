"""Starting the full-screen app: on a store (`mailstage`) or on a throwaway demo store."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailstage.store.paths import Locations

if TYPE_CHECKING:
    from mailstage.mailer.capture import CaptureServer
    from mailstage.store.workspace import Workspace
    from mailstage.tui.app import MailstageApp

DEMO_PASSWORD = "demo-password"  # noqa: S105 - a throwaway login for the local capture server


def run_tui(locations: Locations) -> int:
    from mailstage.tui.app import build_app

    passphrase = os.environ.get("MAILSTAGE_PASSPHRASE")
    folder = _capture_folder()
    app = build_app(
        locations,
        passphrase=passphrase,
        capture_folder=folder if folder.is_dir() else None,
        capture_watch=folder,
    )
    with exit_on_hangup(app):
        result = app.run()
    if app.startup_error is not None:  # the store did not open after the first paint
        raise app.startup_error
    return exit_code(app, result)


def exit_code(app: Any, result: int | None) -> int:
    """The app's result, or 1 after a crash (Textual's return_code; run() gives None)."""
    return int(app.return_code or result or 0)


def _capture_folder() -> Path:
    """The capture server's folder (`mailstage sink` creates it when it starts)."""
    from platformdirs import user_data_path

    return user_data_path("mailstage") / "captured"


def build_demo_store(locations: Locations, *, port: int, user: str | None = None) -> Workspace:
    """Three stages, a few apps with test lists, Development sent to the capture server."""
    from mailstage.store.workspace import Workspace

    ws = Workspace.init(locations, user=user)
    ws.set_email(
        "Development",
        ws.email_from_options(
            "Development",
            {
                "server": "127.0.0.1",
                "port": port,
                "auth": "basic",
                "username": "demo",
                "password": DEMO_PASSWORD,
                "sender_email": "noreply@demo.example",
                "sender_name": "Demo apps (Development)",
            },
        ),
    )
    ws.add_app("Orders")
    ws.save_test_list(
        "Orders", "Development", ["qa-team@demo.example", "dev-lead@demo.example"], True
    )
    ws.save_test_list("Orders", "QA", ["qa-team@demo.example"], False)
    ws.set_studio_list("Orders", ["studio@demo.example"])
    ws.add_app("Billing")
    ws.save_test_list("Billing", "Development", ["billing-dev@demo.example"], False)
    ws.set_studio_list("Billing", ["billing-studio@demo.example"])
    ws.add_app("Customer Portal")
    return ws


def start_demo(root: Path, *, user: str | None = None) -> tuple[MailstageApp, CaptureServer]:
    """The demo App and its running capture server, everything under ``root``."""
    from mailstage.mailer.capture import CaptureServer
    from mailstage.tui.app import build_app

    locations = Locations(root / "store.json", root / "store.key")
    folder = root / "captured"
    server = CaptureServer("127.0.0.1", 0, folder).start()
    try:
        workspace = build_demo_store(locations, port=server.port, user=user)
        app = build_app(
            locations, workspace=workspace, capture_folder=folder, store_label="demo store"
        )
    except BaseException:
        server.stop()
        raise
    return app, server


@contextlib.contextmanager
def exit_on_hangup(app: Any) -> Iterator[None]:
    """A dropped SSH session (SIGHUP) or a kill (SIGTERM) ends the app the normal way:
    no process left spinning on a closed terminal, and the demo's files still removed."""
    import signal
    import threading

    def hang_up(*_: object) -> None:
        # the event loop sleeps in select(): only a thread-safe call wakes it
        threading.Thread(target=app.call_from_thread, args=(app.exit, 0), daemon=True).start()

    previous = {
        number: signal.signal(number, hang_up) for number in (signal.SIGHUP, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_demo(say: Callable[[str], None]) -> int:
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="mailstage-demo-"))
    try:
        app, server = start_demo(root)
        try:
            with exit_on_hangup(app):
                result = app.run()
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    say("The demo store and its captured mail were removed.")
    return exit_code(app, result)
