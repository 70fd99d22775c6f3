"""The hint table and the transcript's redaction."""

from __future__ import annotations

import pytest

from mailstage.mailer.hints import hint_for
from mailstage.mailer.transcript import Transcript


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "535 5.7.139 Authentication unsuccessful, the request did not meet the criteria",
            "Set-CASMailbox",
        ),
        ("535 5.7.3 Authentication unsuccessful", "New-ServicePrincipal"),
        ("530 5.7.57 Client not authenticated to send mail", "did not authenticate"),
        ("550 5.7.30 Basic authentication is not supported for Client Submission", "OAuth 2.0"),
        ("430 4.2.0 STOREDRV.Submission.Exception:MailboxLogonFailedException", "log on"),
        ("AADSTS7000215: Invalid client secret provided.", "Secret ID"),
        ("AADSTS700016: Application with identifier 'x' was not found", "client) ID"),
        ("AADSTS90002: Tenant 'contoso' not found.", "tenant"),
    ],
)
def test_known_replies_have_their_hint(text, words):
    assert words in hint_for(text)


def test_5_7_3_is_not_mistaken_for_5_7_30():
    assert "Basic authentication" in hint_for("550 5.7.30 Basic authentication is not supported")


def test_condition_hint_when_no_reply_code_is_known():
    assert "STARTTLS" in hint_for("", "no_starttls")
    assert "XOAUTH2" in hint_for("500 whatever", "no_xoauth2")
    assert hint_for("250 fine") is None


def test_transcript_hides_any_line_holding_a_forbidden_value():
    transcript = Transcript()
    transcript.forbid("hunter2")
    transcript.sent("AUTH LOGIN")
    transcript.received(535, "5.7.8 password hunter2 rejected\nsecond line")

    assert transcript.lines == [
        "-> AUTH LOGIN",
        "<- [line hidden: it contained a secret]",
        "<- 535 second line",
    ]


def test_a_short_secret_is_not_searched_so_it_cannot_be_read_off_the_masks():
    transcript = Transcript()
    transcript.forbid("p")  # a one-letter password
    transcript.sent("MAIL FROM:<noreply@example.com>")
    assert transcript.lines == ["-> MAIL FROM:<noreply@example.com>"]
