"""Snapshots of the screens issue 13 changed or added, at 80x24 (and the email form and the
Apps list at 60x20 too). Deterministic: fixed store label and times, paths under the test's
HOME (shown as ~), NO_COLOR from conftest, no cursor blink (settle)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailstage.screens.app_config import AppConfigScreen
from mailstage.screens.apps import AppsScreen
from mailstage.screens.captured import CapturedMailScreen
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from mailstage.tui.app import build_app
from tests.test_tui_apps_support import HarnessApp, make_store
from tests.tui_fixtures import settle

SIZE = (80, 24)
SMALL = (60, 20)
FIXED = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def with_production(ws: Workspace) -> Workspace:
    """Production configured (OAuth, a long token URL), its change time fixed."""
    options = {
        "server": "smtp.office365.com",
        "auth": "oauth2",
        "token_url": "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": "oauth-secret-XYZ",
        "sender_email": "noreply@contoso.com",
        "sender_name": "Contoso apps",
    }
    ws.set_email("Production", ws.email_from_options("Production", options))
    stage = ws.data.stage("Production")
    assert stage is not None and stage.email is not None
    stage.email.updated_at = FIXED
    ws.file.save(ws.data)
    return ws


def opened(*steps: Any) -> Any:
    """run_before: settle, then each step (a key, or a callable given the app), settling."""

    async def run(pilot: Any) -> None:
        await settle(pilot)
        for step in steps:
            if callable(step):
                step(pilot.app)
            else:
                await pilot.press(step)
            await settle(pilot)

    return run


def test_welcome_on_first_run(snap_compare: Any, isolated_env: Path) -> None:
    locations = Locations(isolated_env / "data" / "store.json", isolated_env / "conf" / "key")
    app = build_app(locations, user="alice", store_label="~/data/store.json")
    assert snap_compare(app, terminal_size=SIZE, run_before=opened())


def test_stage_screen_of_production(snap_compare: Any, tmp_path: Path) -> None:
    app = HarnessApp(with_production(make_store(tmp_path)))
    step = opened(lambda a: a.open_stage("Production"))
    assert snap_compare(app, terminal_size=SIZE, run_before=step)


def test_email_form_of_production(snap_compare: Any, tmp_path: Path) -> None:
    app = HarnessApp(with_production(make_store(tmp_path)))
    step = opened(lambda a: a.open_email_form("Production"))
    assert snap_compare(app, terminal_size=SIZE, run_before=step)


def test_email_form_of_production_at_60x20(snap_compare: Any, tmp_path: Path) -> None:
    app = HarnessApp(with_production(make_store(tmp_path)))
    step = opened(lambda a: a.open_email_form("Production"))
    assert snap_compare(app, terminal_size=SMALL, run_before=step)


def test_email_form_dropdown_focused_and_open(snap_compare: Any, tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path))
    step = opened(lambda a: a.open_email_form("QA"), "tab", "tab", "enter")
    assert snap_compare(app, terminal_size=SIZE, run_before=step)


def test_apps_list_at_60x20_in_production(snap_compare: Any, tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: AppsScreen())
    assert snap_compare(app, terminal_size=SMALL, run_before=opened("S"))


def test_app_configuration(snap_compare: Any, tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: AppConfigScreen("Billing"))
    assert snap_compare(app, terminal_size=SIZE, run_before=opened())


def test_help_on_the_apps_list(snap_compare: Any, tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: AppsScreen())
    assert snap_compare(app, terminal_size=SIZE, run_before=opened("f1"))


def test_palette_answers_toggle(snap_compare: Any, tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path))
    step = opened("ctrl+p", *"toggle")
    assert snap_compare(app, terminal_size=SIZE, run_before=step)


def test_captured_mail(snap_compare: Any, tmp_path: Path, isolated_env: Path) -> None:
    folder = isolated_env / "captured"  # shown as ~/captured
    folder.mkdir(mode=0o700)
    (folder / "20250314-093000-a.eml").write_text(
        "From: Contoso apps <noreply@contoso.example>\r\n"
        "To: a-long-recipient-address@qa-team.contoso.example, second@example.com\r\n"
        "Subject: mailstage test from stage QA\r\n"
        "Date: Fri, 14 Mar 2025 09:30:00 +0000\r\n\r\nHello\r\n"
    )
    app = HarnessApp(make_store(tmp_path), lambda: CapturedMailScreen(folder), folder)
    assert snap_compare(app, terminal_size=SIZE, run_before=opened())


def test_unlock_screen(snap_compare: Any, isolated_env: Path) -> None:
    locations = Locations(isolated_env / "data" / "store.json", isolated_env / "conf" / "key")
    Workspace.init(locations, user="alice", passphrase="correct horse battery")
    app = build_app(locations, user="alice", store_label="~/data/store.json")
    assert snap_compare(app, terminal_size=SIZE, run_before=opened())
