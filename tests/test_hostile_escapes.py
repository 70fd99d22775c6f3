"""Kind 4: terminal escape injection. Text from a server (banner, EHLO, replies), a token
endpoint (its error) or an SMTP client (a login name given to the sink) never reaches a
terminal raw: the one sanitizer (mailstage.store.text) makes controls visible in the CLI,
the TUI, JSON and the sink's log."""

from __future__ import annotations

import json
import re
import signal
import smtplib
import subprocess
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailstage.store.text import has_unsafe, json_escape_unsafe, visible
from tests.cli_runner import REPO, mailstage_command, run_cli
from tests.hostile_servers import HostileHttp, ScriptedSmtp, SmtpScript, send
from tests.loopback import CLIENT_ID, CLIENT_SECRET, PASSWORD, SENDER, USERNAME
from tests.tui_fixtures import screen_text, settle

UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
# Egyptian hieroglyph format controls: Cf from Unicode 15 on (Python 3.12), kept unsafe
NEWER_FORMAT_CONTROLS = range(0x13430, 0x13440)

TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07"
CSI_8BIT = "\x9b31m"
REVERSE = "\u202e"
HOSTILE = f"{TITLE}{CLEAR}{CLIPBOARD}{CSI_8BIT}evil{REVERSE}txt"
RAW_MARKERS = ("\x1b", "\x07", "\x9b", "\u202e")


def assert_clean(text: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in text, f"raw {marker!r} reached the terminal"


# --- the sanitizer itself --------------------------------------------------------------


def test_every_control_format_and_separator_character_is_made_visible():
    missed, extra = [], []
    for code in range(0x110000):
        char = chr(code)
        unsafe = unicodedata.category(char) in UNSAFE_CATEGORIES
        if unsafe and not has_unsafe(char):
            missed.append(hex(code))
        if has_unsafe(char) and not unsafe and code not in NEWER_FORMAT_CONTROLS:
            extra.append(hex(code))
    assert missed == [] and extra == []


@given(st.text())
def test_visible_leaves_nothing_a_terminal_acts_on_and_is_idempotent(text):
    once = visible(text)
    assert not any(unicodedata.category(c) in UNSAFE_CATEGORIES for c in once)
    assert visible(once) == once
    kept = visible(text, multiline=True)
    assert all(unicodedata.category(c) not in UNSAFE_CATEGORIES or c in "\n\t" for c in kept)


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_json_stays_the_same_value_with_unsafe_characters_escaped(value):
    encoded = json_escape_unsafe(json.dumps(value, ensure_ascii=False, indent=2))
    assert json.loads(encoded) == value
    assert not has_unsafe(encoded, multiline=True)


def test_the_escapes_are_shown_not_dropped():
    assert visible("a\x1b[2Jb\u202ec\nd") == "a\\x1b[2Jb\\u202ec\\nd"
    assert visible("one\r\ntwo\tx", multiline=True) == "one\ntwo\tx"
    assert visible("Prod\u200duction") == "Prod\\u200duction"


# --- a server that talks in escapes ------------------------------------------------------


@pytest.fixture
def escaping_server():
    script = SmtpScript(
        banner=f"220 {HOSTILE} ESMTP",
        ehlo=[f"hostile.example {HOSTILE}", "AUTH PLAIN LOGIN", f"X-{TITLE}"],
        auth_reply=f"535 5.7.8 {HOSTILE} denied",
    )
    server = ScriptedSmtp(script)
    yield server
    server.stop()


def configure_basic(port: int) -> None:
    args = ["email", "set", "QA", "--server", "127.0.0.1", "--port", str(port), "--auth", "basic"]
    args += ["--username", USERNAME, "--password-stdin", "--sender-email", SENDER]
    result = run_cli(*args, input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr


def test_cli_shows_banner_ehlo_and_reply_escapes_as_text(initialized, escaping_server):
    configure_basic(escaping_server.port)

    result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "-v", "--timeout", "5")

    assert result.returncode == 7
    assert_clean(result.stdout + result.stderr)
    assert "\\x1b]0;pwned\\x07" in result.stdout  # the banner, visible
    assert "\\u202etxt" in result.stdout
    assert "denied" in result.stderr  # the reply that ended it, visible too


def test_cli_json_carries_no_raw_escape(initialized, escaping_server):
    configure_basic(escaping_server.port)

    result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "--json", "-v")

    assert result.returncode == 7
    assert_clean(result.stdout + result.stderr)
    data = json.loads(result.stdout)
    details = " ".join(step["detail"] for step in data["steps"]) + data["error"]
    assert_clean(details)
    assert "\\x1b[2J" in details


async def test_tui_send_test_shows_escapes_as_text(make_tui_app, tui_store, escaping_server):
    from tests.test_tui_delivery_faults import configure, run_send_test

    configure(tui_store, escaping_server.port)
    app = make_tui_app()
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await run_send_test(app, pilot)
        assert screen.result is not None and not screen.result.ok
        text = screen_text(app)
        assert_clean(text)
        assert "\\x1b" in text and "pwned" in text


# --- a token endpoint whose error carries escapes ----------------------------------------------


def test_token_error_escapes_are_shown_as_text(initialized, escaping_server):
    def answer(handler, _body, _server):
        error = {"error": f"invalid_client{CLEAR}", "error_description": f"AADSTS7000215 {HOSTILE}"}
        send(handler, 401, json.dumps(error, ensure_ascii=False).encode())

    endpoint = HostileHttp(answer)
    try:
        args = ["email", "set", "QA", "--server", "127.0.0.1", "--port", str(escaping_server.port)]
        args += ["--auth", "oauth2", "--token-url", endpoint.url(), "--client-id", CLIENT_ID]
        args += ["--client-secret-stdin", "--scope", "api://x/.default", "--sender-email", SENDER]
        assert run_cli(*args, input=CLIENT_SECRET + "\n").returncode == 0
        for extra in ((), ("--json",)):
            result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", *extra)
            assert result.returncode == 7
            assert_clean(result.stdout + result.stderr)
            assert "AADSTS7000215" in result.stdout + result.stderr
    finally:
        endpoint.stop()


# --- the sink's log ------------------------------------------------------------------------


def test_sink_log_cannot_be_forged_or_escaped_by_a_login_name(tmp_path):
    sink = subprocess.Popen(
        [*mailstage_command(), "sink", "--port", "0", "--dir", str(tmp_path / "mail")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        first = sink.stdout.readline()
        port = int(re.search(r"port (\d+)", first).group(1))
        forged = "bob\n12:00:00 captured FORGED.eml from boss@example.com"
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.login(forged + TITLE, "any password")
            client.sendmail(f"x{TITLE}@example.com", ["dev@example.com"], b"Subject: hi\r\n\r\nhi")
    finally:
        sink.send_signal(signal.SIGINT)
        out, err = sink.communicate(timeout=30)
    log = first + out + err
    assert_clean(log)
    assert not any(line.startswith("12:00:00 captured FORGED") for line in log.splitlines())
    assert "bob\\n12:00:00" in log
    assert sink.returncode == 0, err


def test_the_cli_never_prints_a_raw_escape_from_a_stored_or_given_name(initialized):
    # a name that reaches output through an error sentence (argument echoed back)
    result = run_cli("email", "show", f"QA{TITLE}")
    assert result.returncode != 0
    assert_clean(result.stdout + result.stderr)
    assert "\\x1b]0;pwned" in result.stderr


# --- the TUI's other doors: toasts and captured mail ------------------------------------------


async def test_tui_toasts_show_escapes_as_text(make_tui_app):
    app = make_tui_app()
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        app.notify(f"Saved {HOSTILE}", title=f"T{TITLE}", markup=False)
        await pilot.pause()
        text = screen_text(app)
        assert "evil" in text
        assert_clean(text)


async def test_tui_captured_mail_shows_escapes_as_text(make_tui_app, tmp_path):
    from mailstage.screens.captured import CapturedMailScreen, MessageViewerScreen

    folder = tmp_path / "captured"
    folder.mkdir()
    raw = (
        f"From: a{CSI_8BIT}@example.com\r\nTo: b@example.com\r\nSubject: {HOSTILE}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nbody {CLIPBOARD}{REVERSE}end\r\n"
    )
    (folder / "20261125T000000000000Z-hostile.eml").write_bytes(raw.encode())
    app = make_tui_app()
    async with app.run_test(size=(120, 30)) as pilot:
        app.push_screen(CapturedMailScreen(folder))
        await settle(pilot)
        assert "evil" in screen_text(app)
        assert_clean(screen_text(app))
        app.push_screen(MessageViewerScreen(folder / "20261125T000000000000Z-hostile.eml"))
        await settle(pilot)
        assert "end" in screen_text(app)
        assert_clean(screen_text(app))


def test_the_ascii_shortcut_escapes_exactly_what_the_pattern_does():
    """visible() and json_escape_unsafe() skip the regex for plain ASCII text
    (store/text.py _plain): for every character below U+0180, in and around text,
    the result is the pattern's."""
    from mailstage.store.text import _escape, _unsafe

    for code in range(0x180):
        for text in (chr(code), f"a{chr(code)}b", f"line\n{chr(code)}\tx\r\n"):
            for multiline in (False, True):
                expected = text.replace("\r\n", "\n") if multiline else text
                expected = _unsafe(multiline).sub(_escape, expected)
                assert visible(text, multiline=multiline) == expected, (code, multiline)
                assert has_unsafe(text, multiline=multiline) == (
                    _unsafe(multiline).search(text) is not None
                )
            raw = f'[\n  "{chr(code)}"\n]'
            assert json_escape_unsafe(raw) == json_escape_unsafe(raw + "\x00")[: -len("\\u0000")]
