"""Snapshot tests at 80x24 (pytest-textual-snapshot). Deterministic: fixed store label,
user alice, no cursor blink, send-test ports and timings masked. No secret may appear."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mailstage.mailer.capture import CaptureServer
from mailstage.store.workspace import Workspace
from tests.loopback import refused_port
from tests.tui_fixtures import settle

SIZE = (80, 24)
SECRETS = ("basic-secret-XYZ", "oauth-secret-XYZ", "pw-not-shown")
SNAPSHOT_DIR = Path(__file__).parent / "__snapshots__" / "test_tui_snapshots"


def configure_basic(locations: Any, port: int = 587, server: str = "smtp.example.com") -> None:
    ws = Workspace.open(locations, user="alice")
    options = {
        "server": server,
        "port": port,
        "auth": "basic",
        "username": "mailer",
        "password": "pw-not-shown",
        "sender_email": "noreply@example.com",
        "sender_name": "Example apps",
    }
    ws.set_email("Development", ws.email_from_options("Development", options))


def configure_oauth(locations: Any) -> None:
    ws = Workspace.open(locations, user="alice")
    options = {
        "server": "smtp.office365.com",
        "auth": "oauth2",
        "token_url": "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
        "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": "oauth-secret-XYZ",
        "sender_email": "app@contoso.com",
    }
    ws.set_email("QA", ws.email_from_options("QA", options))


def masked(text: str) -> str:
    text = re.sub(r"(127\.0\.0\.1[: ](?:port )?)\d+", r"\1PORT", text)
    return text


@pytest.fixture
def mask_send_test(monkeypatch: pytest.MonkeyPatch) -> None:
    from mailstage.screens import send_test as send_test_screen

    monkeypatch.setattr(send_test_screen, "display_filter", masked)
    monkeypatch.setattr(send_test_screen, "format_ms", lambda ms: "n ms")


def keys(*presses: str) -> Any:
    async def run(pilot: Any) -> None:
        await settle(pilot)
        for key in presses:
            await pilot.press(key)
            await settle(pilot)

    return run


def test_home(snap_compare: Any, make_tui_app: Any) -> None:
    assert snap_compare(make_tui_app(), terminal_size=SIZE, run_before=keys())


def test_stage_picker(snap_compare: Any, make_tui_app: Any, tui_store: Any) -> None:
    configure_basic(tui_store)
    configure_oauth(tui_store)
    assert snap_compare(make_tui_app(), terminal_size=SIZE, run_before=keys("e"))


def test_form_basic(snap_compare: Any, make_tui_app: Any, tui_store: Any) -> None:
    configure_basic(tui_store)
    assert snap_compare(make_tui_app(), terminal_size=SIZE, run_before=keys("e", "enter", "e"))


def test_form_oauth(snap_compare: Any, make_tui_app: Any, tui_store: Any) -> None:
    configure_oauth(tui_store)
    run = keys("e", "down", "enter", "e")
    assert snap_compare(make_tui_app(), terminal_size=SIZE, run_before=run)


def test_form_port_25(snap_compare: Any, make_tui_app: Any) -> None:
    async def run(pilot: Any) -> None:
        await keys("e", "enter", "e")(pilot)
        await pilot.press(*"smtp.example.com", "tab", "backspace", "backspace", "backspace")
        await pilot.press("2", "5")
        await settle(pilot)

    assert snap_compare(make_tui_app(), terminal_size=SIZE, run_before=run)


def test_form_read_only(snap_compare: Any, make_tui_app: Any, tui_store: Any) -> None:
    configure_basic(tui_store)
    Workspace.open(tui_store, user="alice").set_member("victor", "Viewer")
    app = make_tui_app(user="victor")

    async def run(pilot: Any) -> None:
        await settle(pilot)
        app.open_email_form("Development")  # a Viewer has no e for it: read-only form
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_send_test_success(
    snap_compare: Any, make_tui_app: Any, tui_store: Any, tmp_path: Path, mask_send_test: None
) -> None:
    with CaptureServer("127.0.0.1", 0, tmp_path / "captured") as server:
        configure_basic(tui_store, port=server.port, server="127.0.0.1")

        async def run(pilot: Any) -> None:
            await keys("e", "enter", "t")(pilot)
            await pilot.press(*"bob@example.com", "enter")
            await settle(pilot)
            assert pilot.app.screen.result.ok

        assert snap_compare(make_tui_app(), terminal_size=SIZE, run_before=run)


def test_send_test_failure(
    snap_compare: Any, make_tui_app: Any, tui_store: Any, mask_send_test: None
) -> None:
    configure_basic(tui_store, port=refused_port(), server="127.0.0.1")

    async def run(pilot: Any) -> None:
        await keys("e", "enter", "t")(pilot)
        await pilot.press(*"bob@example.com", "enter")
        await settle(pilot)
        assert not pilot.app.screen.result.ok

    assert snap_compare(make_tui_app(), terminal_size=SIZE, run_before=run)


def test_no_secret_in_any_snapshot() -> None:
    files = sorted(SNAPSHOT_DIR.glob("*.svg")) + sorted(SNAPSHOT_DIR.glob("*.raw"))
    assert files, "run the snapshot tests first"
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for secret in SECRETS:
            assert secret not in text, (path.name, secret)
