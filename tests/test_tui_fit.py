"""Issue 19, fit at 80x24 (and 60x20, 120x40): nothing a user needs is cut off or hidden.
Captured mail shows whole addresses, Audit whole actions, the Server Token URL example
fits, every footer keeps f1 Help, a toast leaves the field errors readable, and the Send
test box grows with the terminal."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from mailstage.screens.app_config import AppConfigScreen
from mailstage.screens.audit import AuditScreen
from mailstage.screens.captured import CapturedMailScreen
from mailstage.screens.test_list_editor import TestListEditorScreen
from mailstage.store.words import action_short
from tests.test_tui_apps_support import HarnessApp, fix_audit_times, make_store
from tests.test_tui_guidance import configure
from tests.tui_fixtures import screen_text, settle

SIZE = (80, 24)
DESTINATIONS = ("members", "audit", "log", "queue", "captured")
LONG = "a-long-recipient-address@qa-team.contoso.example"


async def test_captured_mail_shows_whole_addresses_at_80_columns(tmp_path: Path) -> None:
    folder = tmp_path / "captured"
    folder.mkdir(mode=0o700)
    (folder / "20250314-093000-a.eml").write_text(
        "From: Contoso apps <noreply@contoso.example>\r\n"
        f"To: {LONG}, second@example.com\r\n"
        "Subject: mailstage test from stage QA\r\n"
        "Date: Fri, 14 Mar 2025 09:30:00 +0000\r\n\r\nHello\r\n"
    )
    app = HarnessApp(make_store(tmp_path), lambda: CapturedMailScreen(folder), folder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#captured-table")
        lines = screen_text(app).splitlines()
        top = next(i for i, line in enumerate(lines) if "Date (UTC)" in line) + 1
        rows = [line[20:54].strip() for line in lines[top : top + 4]]
        assert table.row_count == 1
        # the table's column (the detail line under it repeats them), pieces joined
        assert rows[0] == "noreply@contoso.example"
        assert "".join(rows[1:3]) == f"→ {LONG}"
        assert rows[3] == "→ second@example.com"
        await pilot.resize_terminal(120, 30)
        await settle(pilot)
        assert f"→ {LONG}" in screen_text(app)  # wider: on one line


async def test_audit_shows_whole_actions_at_80_columns(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    ws.add_stage("Staging")
    ws.remove_stage("Staging")
    ws.remove_member("carol")
    ws.record_send_test("QA", None, 1, "sent")
    ws.make_relay_credentials("Billing", "QA", rotate=False)
    fix_audit_times(ws)
    actions = {event.action for event in ws.data.audit}
    app = HarnessApp(ws, lambda: AuditScreen())
    async with app.run_test(size=(80, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        for action in actions:
            word = action_short(action)
            assert any(f"  {word}  " in line for line in text.splitlines()), word


def footer_line(app: Any) -> str:
    return screen_text(app).splitlines()[-1]


async def test_every_footer_keeps_f1_help_at_80_columns(tmp_path: Path) -> None:
    """On every screen, whatever has the focus (Tab through it), f1 Help stays whole."""
    folder = tmp_path / "captured"
    folder.mkdir(mode=0o700)
    ws = make_store(tmp_path)
    configure(ws, "Development")
    app = HarnessApp(ws, capture_folder=folder)
    opens = (
        lambda: app.open_destination("emails"),
        lambda: app.open_stage("Development"),
        lambda: app.open_email_form("Development"),
        lambda: app.open_apps(),
        lambda: app.push_screen(AppConfigScreen("Billing")),
        lambda: app.push_screen(TestListEditorScreen("Billing", "Development")),
        *(partial(app.open_destination, key) for key in DESTINATIONS),
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for open_screen in (lambda: None, *opens):
            app.go_home()
            await settle(pilot)
            open_screen()
            await settle(pilot)
            for _ in range(5):
                name = type(app.screen).__name__
                focused = type(app.screen.focused).__name__
                assert "f1 Help" in footer_line(app), (name, focused)
                await pilot.press("tab")
                await settle(pilot)


def row_with(app: Any, text: str) -> str:
    return next(line for line in screen_text(app).splitlines() if text in line)


async def test_the_token_url_example_fits_its_box(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    for size, example in (
        ((80, 24), "https://login.microsoftonline.com/<tenant>/…/token"),
        ((60, 20), "https://…/<tenant>/oauth2/v2.0/token"),
        ((120, 30), "e.g. https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token"),
    ):
        app = HarnessApp(ws)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            app.open_email_form("QA")
            await settle(pilot)
            await pilot.press("tab", "tab", "enter", "down", "enter")  # OAuth 2.0
            await settle(pilot)
            assert row_with(app, "Server Token URL *").split("*", 1)[1].strip() == example


async def test_at_60x20_saving_an_invalid_form_leaves_every_error_readable(
    tmp_path: Path,
) -> None:
    app = HarnessApp(make_store(tmp_path))
    async with app.run_test(size=(60, 20), notifications=True) as pilot:
        await settle(pilot)
        app.open_email_form("QA")
        await settle(pilot)
        await pilot.press("tab", "tab", "enter", "down", "enter", "f2")  # OAuth, then save
        await settle(pilot)
        text = screen_text(app)
        for error in ("Client ID is mandatory.", "Client Secret is mandatory."):
            assert f"✗ {error}" in text, text
        assert app.screen.focused is app.screen.query_one("#server")  # the first to fix
        assert "field(s) to fix" in row_with(app, "Save (F2)")


async def test_the_send_test_box_grows_with_the_terminal(tmp_path: Path) -> None:
    from mailstage.mailer.capture import CaptureServer
    from mailstage.tui.app import MailstageApp

    ws = make_store(tmp_path)
    with CaptureServer("127.0.0.1", 0, tmp_path / "captured") as server:
        options = {
            "server": "127.0.0.1",
            "port": server.port,
            "auth": "basic",
            "username": "tester",
            "password": "pw-not-shown",
            "sender_email": "noreply@example.com",
        }
        ws.set_email("QA", ws.email_from_options("QA", options))
        for size, box in (((80, 24), (78, 22)), ((120, 40), (118, 38))):
            app = HarnessApp(ws)
            async with app.run_test(size=size) as pilot:
                await settle(pilot)
                MailstageApp.open_send_test(app, "QA")  # the real modal
                await settle(pilot)
                assert tuple(app.screen.query_one("#send-test").outer_size) == box
                if size == (120, 40):
                    await pilot.press(*"bob@example.com", "enter")
                    await settle(pilot)
                    detail = "127.0.0.1 (an address, nothing to resolve)"
                    assert detail in screen_text(app)
                    assert "✓ Delivered to bob@example.com" in screen_text(app)
