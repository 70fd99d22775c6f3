"""The Email log screen (from Home) and the relay login on an app's Configuration,
through Pilot at 80x24 on a real store."""

from __future__ import annotations

import re
from pathlib import Path

from mailstage.mailer.maillog import OUTCOMES, LogRecord, MailLog
from mailstage.screens.app_config import AppConfigScreen
from mailstage.screens.email_log import EmailLogScreen, EmailRecordModal, record_details
from mailstage.screens.home import HomeScreen
from mailstage.screens.relay_credentials import RelayCredentialsModal
from mailstage.screens.widgets import ConfirmModal
from mailstage.store.relay_credentials import password_matches
from tests.test_tui_apps_support import HarnessApp, flat, make_store, reopen, screen_text, settle

SIZE = (80, 24)


def write(ws, number: int, **overrides) -> None:
    data = {
        "source": "relay",
        "stage": "QA",
        "app": "Shop",
        "outcome": "sent",
        "message_id": f"<m{number}@shop.example>",
        "subject": f"Order {number}",
        "recipients": [f"buyer{number}@example.com"],
        "delivered_to": [f"buyer{number}@example.com"],
        "reply": "250 2.0.0 Sent",
        "ms": 7,
        "peer": "127.0.0.1:5000",
        "time": f"2026-01-0{number}T10:00:00+00:00",
    }
    data.update(overrides)
    MailLog.of_store(ws.file).append(LogRecord(**data))


async def test_email_log_newest_first_filters_details_and_follows(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    write(ws, 1)
    write(ws, 2, outcome="refused", app="Billing", reply="550 5.1.1 User unknown",
          delivered_to=[], subject="Invoice \x1b[31mred")  # fmt: skip
    write(ws, 3, outcome="deferred", stage="Production", delivered_to=[])
    app = HarnessApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, HomeScreen)
        assert "Email log" in screen_text(app)
        await pilot.press("l")
        await settle(pilot, EmailLogScreen)
        text = screen_text(app)
        assert re.findall(r"2026-01-0\d", text) == ["2026-01-03", "2026-01-02", "2026-01-01"]
        assert "3 records, newest first" in text
        assert "\x1b" not in text and "Invoice \\x1b[31mred" in text

        await pilot.press("o")  # outcome: sent
        await pilot.pause()
        assert "1 of 3 records (outcome sent)" in screen_text(app)
        await pilot.press(*["o"] * len(OUTCOMES))  # each other outcome, then all again
        await pilot.press("s", "s")  # stage: Development, QA
        await pilot.pause()
        assert "2 of 3 records (stage QA)" in screen_text(app)
        await pilot.press("slash", *"bill", "enter")
        await pilot.pause()
        assert "1 of 3 records (app ~ bill, stage QA)" in flat(screen_text(app))

        await pilot.press("enter")
        await settle(pilot, EmailRecordModal)
        details = screen_text(app)
        assert re.search(r"Outcome:\s+refused", details) and "550 5.1.1 User unknown" in details
        assert "buyer2@example.com" in details and "\x1b" not in details
        modal = app.screen
        assert isinstance(modal, EmailRecordModal)
        assert "Delivered to:\n  nobody" in record_details(modal.record)
        await pilot.press("escape")
        await settle(pilot, EmailLogScreen)

        screen = app.screen
        assert isinstance(screen, EmailLogScreen)
        write(ws, 4, app="Billing")
        screen._follow()  # what the screen's timer does every second
        await pilot.pause()
        assert "2 of 4 records" in screen_text(app)


async def test_relay_login_made_shown_once_and_rotated_from_the_configuration(
    tmp_path: Path,
) -> None:
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: AppConfigScreen("Shop"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AppConfigScreen)
        text = screen_text(app)
        assert "Relay login" in text and "none" in text
        await pilot.press("down", "c")  # QA
        await settle(pilot, RelayCredentialsModal)
        modal = app.screen
        assert isinstance(modal, RelayCredentialsModal)
        first = modal._password
        shown = flat(screen_text(app))
        assert f"password: {first}" in shown and "username: Shop" in shown
        assert "Press y to copy" in shown
        await pilot.press("enter")
        await settle(pilot, AppConfigScreen)
        assert first not in screen_text(app)
        stored = reopen(tmp_path).data.app("Shop").relay_credential("QA")  # type: ignore[union-attr]
        assert password_matches(first, stored)

        await pilot.press("c")
        await settle(pilot, ConfirmModal)
        assert "stops working" in flat(screen_text(app))
        await pilot.press("escape")  # keep
        await settle(pilot, AppConfigScreen)
        assert password_matches(first, reopen(tmp_path).data.app("Shop").relay_credential("QA"))  # type: ignore[union-attr]
        await pilot.press("c")
        await settle(pilot, ConfirmModal)
        await pilot.press("y")  # rotate
        await settle(pilot, RelayCredentialsModal)
        second = app.screen._password  # type: ignore[attr-defined]
        assert second != first
        stored = reopen(tmp_path).data.app("Shop").relay_credential("QA")  # type: ignore[union-attr]
        assert password_matches(second, stored) and not password_matches(first, stored)


async def test_a_viewer_has_no_relay_login_key(tmp_path: Path) -> None:
    make_store(tmp_path)
    ws = reopen(tmp_path, user="bob")  # a Viewer
    app = HarnessApp(ws, lambda: AppConfigScreen("Shop"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AppConfigScreen)
        assert "Relay login" in screen_text(app)  # the column, read-only
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, AppConfigScreen)
    assert reopen(tmp_path).data.app("Shop").relay_credentials == {}  # type: ignore[union-attr]
