"""Send test's recipients: the ones this user last sent to through the stage are proposed
next time (kept in the user's own state, not in the shared store), and every bad
recipient is named, not only the first."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from mailstage.mailer.capture import CaptureServer, list_captured
from tests.test_tui_send_test import configure
from tests.tui_fixtures import settle


async def recipients_proposed(app: Any, pilot: Any, stage: str) -> str:
    app.open_send_test(stage)
    await settle(pilot)
    value = app.screen.query_one("#recipients").value
    await pilot.press("escape")
    await settle(pilot)
    return value


async def test_the_last_recipients_through_a_stage_are_proposed_again(
    make_tui_app: Any, tui_store: Any, tmp_path: Path, isolated_env: Path
):
    with CaptureServer("127.0.0.1", 0, tmp_path / "captured") as server:
        configure(tui_store, server.port, "Development")
        configure(tui_store, server.port, "QA")
        app = make_tui_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            # never the sender's own no-reply mailbox
            assert await recipients_proposed(app, pilot, "Development") == ""
            app.open_send_test("Development")
            await settle(pilot)
            await pilot.press(*"ann@example.com, ben@example.com", "enter")
            await settle(pilot)
            assert app.screen.result.ok
        assert [m.recipients for m in list_captured(tmp_path / "captured")] == [
            ["ann@example.com", "ben@example.com"]
        ]
    # a new TUI, later: the stage proposes them; another stage does not
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        proposed = await recipients_proposed(app, pilot, "Development")
        assert proposed == "ann@example.com, ben@example.com"
        assert await recipients_proposed(app, pilot, "QA") == ""
    # kept in this user's own state, private, not beside the shared store
    kept = isolated_env / ".local" / "state" / "mailstage" / "recipients.json"
    assert "ann@example.com" in kept.read_text()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert not any(tui_store.store.parent.glob("recipients*"))


async def test_every_bad_recipient_is_named(make_tui_app: Any, tui_store: Any, tmp_path: Path):
    with CaptureServer("127.0.0.1", 0, tmp_path / "captured") as server:
        configure(tui_store, server.port, "Development")
        app = make_tui_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.open_send_test("Development")
            await settle(pilot)
            await pilot.press(*"first-bad, ok@example.com, second@bad@", "enter")
            await settle(pilot)
            error = app.screen.query_one("#field-recipients").error
            assert error.startswith("✗ 2 recipients are not valid:")
            assert "'first-bad'" in error and "'second@bad@'" in error
            assert "ok@example.com" not in error
            assert app.screen.result is None and not app.screen.steps
        assert list_captured(tmp_path / "captured") == []
