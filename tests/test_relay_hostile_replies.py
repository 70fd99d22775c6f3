"""An upstream that repeats the relay's password in its replies, or puts control
characters in them: the secret is hidden on every path (the app's reply, stderr, the
email log) while the SMTP code and enhanced code survive, the log says the true outcome
(a 550 is refused, not deferred), and control characters look the same everywhere."""

from __future__ import annotations

import base64
import re
import smtplib

import pytest

from tests.cli_runner import run_cli
from tests.hostile_relay import *  # noqa: F403 - fixtures
from tests.hostile_relay import Upstream, log_records
from tests.loopback import PASSWORD

SECRET_FORMS = (PASSWORD, base64.b64encode(PASSWORD.encode()).decode())
MESSAGE = b"Subject: hello\r\nMessage-ID: <m1@shop.example>\r\n\r\nbody\r\n"


def send_one(setup: Upstream, *to: str) -> tuple[int, str]:
    """One message through the relay; the relay's answer to the end of DATA."""
    with smtplib.SMTP("127.0.0.1", setup.relay.port, timeout=60) as smtp:
        smtp.login("Shop", setup.password)
        smtp.mail("app@shop.example")
        for address in to or ["buyer@buyers.example"]:
            smtp.rcpt(address)
        code, text = smtp.data(MESSAGE)
    return code, text.decode("ascii")


def last_record() -> dict[str, object]:
    return log_records()[0]


def assert_hidden(*texts: str) -> None:
    for text in texts:
        for form in SECRET_FORMS:
            assert form not in text


ECHOES = {
    "data 250": ("data_reply", "250 2.0.0 queued, logged in with {secret}", 250, "2.0.0"),
    "data 550": ("data_reply", "550 5.7.1 {secret} is not allowed to send", 550, "5.7.1"),
    "rcpt 550": ("rcpt_reply", "550 5.1.1 <buyer> unknown (you are {secret})", 550, "5.1.1"),
    "mail 553": ("mail_reply", "553 5.7.1 sender refused for {secret}", 553, "5.7.1"),
}
OUTCOME = {"2": "sent", "4": "deferred", "5": "refused"}


@pytest.mark.parametrize("form", SECRET_FORMS, ids=["plain", "base64"])
@pytest.mark.parametrize("case", list(ECHOES))
def test_an_echoed_password_is_hidden_on_every_path_and_the_codes_stay(upstream, case, form):
    field, reply, code, enhanced = ECHOES[case]
    setattr(upstream.server.script, field, reply.replace("{secret}", form))

    got_code, got_text = send_one(upstream)
    relay_line = upstream.relay.wait_for_line(r"(sent|refused|deferred): app Shop")
    record = last_record()

    assert got_code == code
    assert got_text.startswith(enhanced + " ")
    assert "hidden" in got_text  # says something was hidden rather than dropping it
    assert record["outcome"] == OUTCOME[str(code)[0]]
    assert relay_line.split(" ", 1)[1].startswith(f"{record['outcome']}: ")
    assert str(record["reply"]).startswith(f"{code} {enhanced} ")
    assert_hidden(got_text, str(record["reply"]), upstream.relay.stderr)
    assert "hidden" in str(record["reply"])
    assert (record["delivered_to"] != []) == (code == 250)


def test_a_recipient_refused_with_an_echo_is_refused_for_good_not_kept_pending(upstream):
    refusal = f"550 5.1.1 no such user (you are {PASSWORD})"
    upstream.server.script.rcpt_replies = {"gone@": refusal}

    got_code, got_text = send_one(upstream, "buyer@buyers.example", "gone@buyers.example")
    record = last_record()

    assert got_code == 250 and "to 1 of 2 recipients" in got_text
    assert record["outcome"] == "sent" and record["delivered_to"] == ["buyer@buyers.example"]
    refused = record["refused"]
    assert isinstance(refused, dict)
    assert list(refused) == ["gone@buyers.example"]
    assert refused["gone@buyers.example"].startswith("550 5.1.1 [hidden")
    assert_hidden(got_text, str(refused), upstream.relay.stderr)
    assert run_cli("queue", "list", "--stage", "QA", "--json").stdout.strip() in ("", "[]")


NO_QUEUE = pytest.mark.parametrize("upstream", [["--no-queue"]], indirect=True, ids=["no-queue"])


@NO_QUEUE
@pytest.mark.parametrize("field", ["data_reply", "rcpt_reply"])
def test_an_echoed_password_in_a_4xx_is_hidden_and_the_codes_stay(upstream, field):
    setattr(upstream.server.script, field, f"452 4.2.2 {PASSWORD}: mailbox full")

    got_code, got_text = send_one(upstream)
    record = last_record()

    assert got_code == 451 and got_text.startswith("4.2.2 ")
    assert "452 4.2.2 [hidden" in got_text  # upstream's own codes, its words hidden
    assert record["outcome"] == "deferred" and record["reply"] == f"451 {got_text}"
    assert_hidden(got_text, upstream.relay.stderr)


def test_an_echoed_password_in_a_4xx_is_hidden_in_what_the_queue_says(upstream):
    upstream.server.script.data_reply = f"452 4.2.2 {PASSWORD}: mailbox full"

    got_code, got_text = send_one(upstream)
    record = last_record()

    assert got_code == 250 and got_text.startswith("2.0.0 Queued as ")
    assert "452 4.2.2 [hidden" in got_text
    assert record["outcome"] == "queued" and record["reply"] == f"250 {got_text}"
    assert_hidden(got_text, upstream.relay.stderr)


@NO_QUEUE
def test_an_echoed_password_in_the_login_reply_is_hidden(upstream):
    upstream.server.script.auth_reply = f"535 5.7.8 bad password {PASSWORD}"

    got_code, got_text = send_one(upstream)
    record = last_record()

    assert got_code == 451 and got_text.startswith("4.7.0 ")
    assert "auth: " in got_text and "535 5.7.8 [hidden" in got_text
    assert record["outcome"] == "deferred"
    assert_hidden(got_text, str(record["reply"]), upstream.relay.stderr)


CONTROLS = "queued \x1b[2J\x1b]0;owned\x07 as\rX-Forged: yes \x00 \x7f \u202eevil"
SHOWN = r"queued \x1b[2J\x1b]0;owned\x07 as\rX-Forged: yes \x00 \x7f \u202eevil"


@pytest.mark.parametrize(
    ("field", "code"), [("data_reply", 250), ("data_reply", 550), ("rcpt_reply", 554)]
)
def test_control_characters_in_a_reply_look_the_same_on_every_path(upstream, field, code):
    enhanced = f"{str(code)[0]}.0.0"
    setattr(upstream.server.script, field, f"{code} {enhanced} {CONTROLS}")

    got_code, got_text = send_one(upstream)
    relay_line = upstream.relay.wait_for_line(r"(sent|refused): app Shop")
    record = last_record()
    shown_log = run_cli("log").stdout

    assert got_code == code
    assert SHOWN in got_text
    assert SHOWN in str(record["reply"])
    assert SHOWN in relay_line
    assert SHOWN in shown_log
    for text in (got_text, relay_line, shown_log, upstream.relay.stderr):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", text)
