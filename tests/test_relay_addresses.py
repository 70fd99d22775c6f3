"""Addresses and headers the relay cannot pass on as they are: refused for good (5xx with
a sentence) at the command that carried them, never a 451 that apps retry forever; and
the address upstream receives is exactly the one the relay checked and logged (a bare CR
in a quoted local part once made upstream receive another address than the log said)."""

from __future__ import annotations

import re

import pytest

from tests.hostile_relay import *  # noqa: F403 - fixtures
from tests.hostile_relay import Upstream, log_records, upstream_rcpts
from tests.raw_smtp_client import RawClient

GOOD = "ok@buyers.example"
MESSAGE = b"Subject: hello\r\nMessage-ID: <a1@shop.example>\r\n\r\nbody\r\n"
UNSAFE_SHOWN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")


def client(setup: Upstream) -> RawClient:
    raw = RawClient(setup.relay.port)
    raw.login("Shop", setup.password)
    return raw


HOSTILE_RECIPIENTS = {
    "CR and a Bcc line in quotes": '"a\rBcc: v@evil.test"@example.org',
    "NUL in quotes": '"a\x00b"@example.org',
    "NUL bare": "a\x00b@example.org",
    "ESC in quotes": '"a\x1b[2Jb"@example.org',
    "tab in quotes": '"a\tb"@example.org',
    "DEL in quotes": '"a\x7fb"@example.org',
    "C1 control in quotes": '"a\x85b"@example.org',
    "bidi override in quotes": '"a\u202eb"@example.org',
}


@pytest.mark.parametrize("address", HOSTILE_RECIPIENTS.values(), ids=list(HOSTILE_RECIPIENTS))
def test_control_characters_in_a_recipient_are_refused_at_rcpt(upstream, address):
    with client(upstream) as raw:
        assert raw.command("MAIL FROM:<app@shop.example> SMTPUTF8")[0] == 250
        code, text = raw.command(f"RCPT TO:<{address}>")
        assert raw.command(f"RCPT TO:<{GOOD}>")[0] == 250
        sent = raw.data(MESSAGE)

    assert code == 553, text
    assert text.startswith("5.1.3 ") and "recipient address" in text
    assert "control" in text or "NUL" in text
    assert not UNSAFE_SHOWN.search(text)
    assert sent[0] == 250
    assert upstream_rcpts(upstream.server) == [f"RCPT TO:<{GOOD}>"]  # nothing else went
    [record] = log_records()
    assert record["recipients"] == record["delivered_to"] == [GOOD]
    assert not UNSAFE_SHOWN.search(upstream.relay.stderr)


@pytest.mark.parametrize(
    "address",
    ['"john doe"@example.org', '"a\\"b"@example.org', '"a,b;c"@example.org', "a@[127.0.0.1]"],
)
def test_upstream_receives_exactly_the_address_checked_and_logged(upstream, address):
    with client(upstream) as raw:
        assert raw.command("MAIL FROM:<app@shop.example>")[0] == 250
        assert raw.command(f"RCPT TO:<{address}>")[0] == 250
        assert raw.data(MESSAGE)[0] == 250

    assert upstream_rcpts(upstream.server) == [f"RCPT TO:<{address}>"]
    [record] = log_records()
    assert record["recipients"] == record["delivered_to"] == [address]


def test_raw_8bit_recipient_without_smtputf8_is_refused_for_good(upstream):
    with client(upstream) as raw:
        assert raw.command("MAIL FROM:<app@shop.example>")[0] == 250
        code, text = raw.command("RCPT TO:<j\u00fcrgen@buyers.example>")
    assert code == 553 and text.startswith("5.6.7 ")
    assert "SMTPUTF8" in text
    assert upstream_rcpts(upstream.server) == []


def test_the_same_recipient_with_smtputf8_goes_through_as_written(upstream):
    with client(upstream) as raw:
        assert raw.command("MAIL FROM:<app@shop.example> SMTPUTF8")[0] == 250
        assert raw.command("RCPT TO:<j\u00fcrgen@buyers.example>")[0] == 250
        assert raw.data(MESSAGE)[0] == 250
    assert upstream_rcpts(upstream.server) == ["RCPT TO:<j\u00fcrgen@buyers.example>"]


def test_a_recipient_that_is_not_utf8_is_refused_for_good(upstream):
    with client(upstream) as raw:
        assert raw.command("MAIL FROM:<app@shop.example> SMTPUTF8")[0] == 250
        code, text = raw.command(b"RCPT TO:<j\xfcrgen@buyers.example>")
    assert code == 553 and text.startswith("5.6.7 ") and "UTF-8" in text
    assert not UNSAFE_SHOWN.search(text)


@pytest.mark.parametrize(
    ("mail_from", "enhanced", "words"),
    [
        ("MAIL FROM:<a\x00b@shop.example>", "5.1.7", "NUL"),
        ('MAIL FROM:<"a\rb"@shop.example>', "5.1.7", "control"),
        ("MAIL FROM:<j\u00fcrgen@shop.example>", "5.6.7", "SMTPUTF8"),
    ],
)
def test_a_hostile_sender_is_refused_for_good_at_mail(upstream, mail_from, enhanced, words):
    with client(upstream) as raw:
        code, text = raw.command(mail_from)
        assert raw.command("MAIL FROM:<app@shop.example>")[0] == 250  # no transaction open
    assert code == 553 and text.startswith(enhanced + " ") and "sender address" in text
    assert words in text


UNDECODABLE = {
    "latin-1 subject": b"Subject: caf\xe9\r\nMessage-ID: <u1@shop.example>\r\n\r\nbody\r\n",
    "bytes in From": b"From: \xff\xfe <a@shop.example>\r\nSubject: x\r\n\r\nbody\r\n",
    "no header name": b"\xff\xfe: v\r\nSubject: x\r\n\r\nbody\r\n",
}


@pytest.mark.parametrize("message", UNDECODABLE.values(), ids=list(UNDECODABLE))
def test_an_undecodable_header_is_refused_for_good(upstream, message):
    with client(upstream) as raw:
        assert raw.command("MAIL FROM:<app@shop.example> BODY=8BITMIME SMTPUTF8")[0] == 250
        assert raw.command(f"RCPT TO:<{GOOD}>")[0] == 250
        code, text = raw.data(message)

    assert code == 554 and text.startswith("5.6.0 "), text
    assert "header" in text and ("UTF-8" in text or "no header field" in text)
    assert upstream.server.script.data == []  # nothing went upstream
    [record] = log_records()
    assert record["outcome"] == "refused" and str(record["reply"]).startswith("554 5.6.0 ")
