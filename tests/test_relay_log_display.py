"""What the email log shows of a message the relay handled: a raw UTF-8 subject sent
with SMTPUTF8 decoded (it once showed as `Caf�� ���`), and an upstream reply's control
characters as the same escapes in the CLI's `log`, its JSON and the TUI's Email log."""

from __future__ import annotations

import re

from mailstage.screens.email_log import EmailLogScreen, EmailRecordModal, record_details
from mailstage.screens.home import HomeScreen
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.cli_runner import run_cli
from tests.hostile_relay import *  # noqa: F403 - fixtures
from tests.hostile_relay import Upstream, log_records
from tests.raw_smtp_client import RawClient
from tests.test_tui_apps_support import HarnessApp, screen_text, settle

SUBJECT = "Caf\u00e9 \u2615 na\u00efve"
MESSAGE = f"Subject: {SUBJECT}\r\nMessage-ID: <u1@shop.example>\r\n\r\nbody\r\n".encode()
CONTROLS = "queued \x1b[2J\x1b]0;owned\x07 as\rX-Forged: yes"
SHOWN = r"queued \x1b[2J\x1b]0;owned\x07 as\rX-Forged: yes"
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def send_utf8(setup: Upstream) -> None:
    with RawClient(setup.relay.port) as raw:
        raw.login("Shop", setup.password)
        assert raw.command("MAIL FROM:<app@shop.example> SMTPUTF8 BODY=8BITMIME")[0] == 250
        assert raw.command("RCPT TO:<buyer@buyers.example>")[0] == 250
        assert raw.data(MESSAGE)[0] == 250


async def test_a_utf8_subject_and_an_upstream_reply_show_the_same_everywhere(upstream, initialized):
    upstream.server.script.data_reply = f"250 2.0.0 {CONTROLS}"
    send_utf8(upstream)

    [record] = log_records()
    assert record["subject"] == SUBJECT
    assert SHOWN in str(record["reply"])
    text = run_cli("log").stdout
    assert SUBJECT in text and "\ufffd" not in text
    assert SHOWN in text and not RAW_CONTROLS.search(text)

    workspace = Workspace.open(Locations(initialized["store"], initialized["key"]), user="alice")
    app = HarnessApp(workspace)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot, HomeScreen)
        await pilot.press("l")
        await settle(pilot, EmailLogScreen)
        shown = screen_text(app)
        assert SUBJECT in shown and "\ufffd" not in shown
        await pilot.press("enter")
        await settle(pilot, EmailRecordModal)
        modal = app.screen
        assert isinstance(modal, EmailRecordModal)
        details = record_details(modal.record)
        assert f"Subject:      {SUBJECT}" in details
        assert f"Reply:        250 2.0.0 Sent through 127.0.0.1: 250 2.0.0 {SHOWN}" in details
        assert not RAW_CONTROLS.search(screen_text(app))
