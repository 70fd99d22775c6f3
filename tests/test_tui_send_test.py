"""Pilot tests of Send test against real loopback servers, and of `mailstage demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailstage.mailer.capture import CaptureServer, list_captured
from mailstage.store.workspace import Workspace
from tests.loopback import refused_port
from tests.tui_fixtures import screen_text, settle


def configure(locations: Any, port: int, stage: str = "Development") -> None:
    ws = Workspace.open(locations, user="alice")
    options = {
        "server": "127.0.0.1",
        "port": port,
        "auth": "basic",
        "username": "tester",
        "password": "pw-not-shown",
        "sender_email": "noreply@example.com",
    }
    ws.set_email(stage, ws.email_from_options(stage, options))


def next_line(app: Any) -> str:
    """Home's "Next:" line."""
    return str(app.screen.query_one("#home-next").render())


async def open_send_test(pilot: Any) -> None:
    """Home > Emails > Development > t, keys only."""
    for key in ("e", "enter", "t"):
        await pilot.press(key)
        await settle(pilot)


async def test_send_test_succeeds_to_a_real_server(
    make_tui_app: Any, tui_store: Any, tmp_path: Path
):
    with CaptureServer("127.0.0.1", 0, tmp_path / "captured") as server:
        configure(tui_store, server.port)
        app = make_tui_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert next_line(app).startswith("Next: send a test through Development")
            await open_send_test(pilot)
            assert type(app.screen).__name__ == "SendTestScreen"
            await pilot.press(*"bob@example.com", "enter")
            await settle(pilot)
            screen = app.screen
            assert screen.result is not None and screen.result.ok
            names = [step.name.value for step in screen.steps]
            assert names[:3] == ["resolve", "connect", "banner"] and "send" in names
            assert all(step.status == "ok" for step in screen.steps)
            text = screen_text(app)
            assert "✓ Delivered to bob@example.com" in text
            assert " ms " in text
            assert "pw-not-shown" not in text
            await pilot.press("escape")
            await settle(pilot)
            assert type(app.screen).__name__ == "StageScreen"
            await pilot.press("escape", "escape")  # Home: Next moved on from the test
            await settle(pilot)
            assert next_line(app) == "Next: add your apps: press a, then n."
        mails = list_captured(tmp_path / "captured")
        assert [m.recipients for m in mails] == [["bob@example.com"]]


async def test_check_only_sends_nothing(make_tui_app: Any, tui_store: Any, tmp_path: Path):
    with CaptureServer("127.0.0.1", 0, tmp_path / "captured") as server:
        configure(tui_store, server.port)
        app = make_tui_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await open_send_test(pilot)
            await pilot.press(*"bob@example.com", "tab", "space", "f5")
            await settle(pilot)
            result = app.screen.result
            assert result.ok and result.check_only
            assert "nothing was sent" in screen_text(app)
        assert list_captured(tmp_path / "captured") == []


async def test_send_test_failure_shows_step_and_hint(make_tui_app: Any, tui_store: Any):
    configure(tui_store, refused_port())
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_send_test(pilot)
        await pilot.press(*"bob@example.com", "enter")
        await settle(pilot)
        result = app.screen.result
        assert result is not None and not result.ok
        assert result.failed_step.name.value == "connect"
        text = screen_text(app)
        assert "✗ Connect" in text
        assert "Hint:" in text and result.hint


async def test_invalid_recipient_is_refused_inline(make_tui_app: Any, tui_store: Any):
    configure(tui_store, refused_port())
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_send_test(pilot)
        await pilot.press(*"not-an-address", "enter")
        await settle(pilot)
        assert app.screen.result is None and not app.screen.steps
        assert "not a valid email address" in app.screen.query_one("#field-recipients").error


async def test_escape_cancels_a_running_test(make_tui_app: Any, tui_store: Any, silent_server: Any):
    configure(tui_store, silent_server.port)
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_send_test(pilot)
        await pilot.press(*"bob@example.com", "enter")
        await pilot.pause()
        screen = app.screen
        assert screen.running
        assert "Server greeting" in screen_text(app) or screen.steps
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.running
        assert "Cancelled" in screen_text(app)
        assert type(app.screen).__name__ == "SendTestScreen"
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"


async def test_app_test_list_is_the_default_recipient(make_tui_app: Any, tui_store: Any):
    ws = Workspace.open(tui_store, user="alice")
    ws.add_app("Orders")
    ws.save_test_list("Orders", "Development", ["qa@example.com", "lead@example.com"], True)
    configure(tui_store, refused_port())
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_send_test("Development", app_name="Orders")
        await settle(pilot)
        value = app.screen.query_one("#recipients").value
        assert value == "qa@example.com, lead@example.com"


async def test_demo_sends_to_its_capture_server(tmp_path: Path):
    from mailstage.tui.launch import start_demo

    app, server = start_demo(tmp_path / "demo", user="alice")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            text = screen_text(app)
            assert (
                "Captured mail" in text
                and "1 of 3 stages configured · 3 apps · 1 active test list" in text
            )
            await open_send_test(pilot)
            await pilot.press(*"newcomer@example.com", "enter")
            await settle(pilot)
            assert app.screen.result.ok, app.screen.result
    finally:
        server.stop()
    assert [m.recipients for m in list_captured(tmp_path / "demo" / "captured")] == [
        ["newcomer@example.com"]
    ]


def test_default_recipients_follow_the_app_list_then_the_last_test_never_the_sender(tmp_path):
    from mailstage.screens.send_test import default_recipients
    from tests.store_factory import full_workspace

    ws = full_workspace(tmp_path)  # Shop's QA list is active; Portal has a studio list
    assert default_recipients(ws, "QA", "Shop") == ["tester1@example.com", "tester2@example.com"]
    assert default_recipients(ws, "QA", "Portal") == ["dev@example.com"]
    assert default_recipients(ws, "QA", None) == []  # not the sender's (no-reply) mailbox
    assert default_recipients(ws, "QA", None, ["me@example.com"]) == ["me@example.com"]
    assert default_recipients(ws, "Development", None) == []  # not configured
