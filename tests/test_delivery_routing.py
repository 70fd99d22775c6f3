"""Test-list routing: one function decides who receives every message."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from mailstage.mailer.routing import ORIGINAL_RECIPIENTS_HEADER, route, send_test_recipients
from mailstage.mailer.send_test import send_test
from mailstage.store.errors import InvalidInput
from tests.loopback import app, basic_config, stage

TESTERS = ["qa1@example.com", "qa2@example.com"]


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply@example.com"
    message["To"] = "Real User <user@customer.com>, other@customer.com"
    message["Cc"] = "boss@customer.com"
    message["Bcc"] = "audit@customer.com"
    message["Subject"] = "Your order"
    message.set_content("hello")
    return message


def test_active_test_list_replaces_to_cc_and_bcc_and_keeps_the_originals():
    routed = route(_message(), app=app(test_list=TESTERS, active=True), stage=stage("QA"))

    assert routed.redirected
    assert routed.recipients == TESTERS
    assert routed.message["To"] == "qa1@example.com, qa2@example.com"
    assert routed.message["Cc"] is None and routed.message["Bcc"] is None
    assert routed.message[ORIGINAL_RECIPIENTS_HEADER] == (
        "user@customer.com, other@customer.com, boss@customer.com, audit@customer.com"
    )
    assert routed.warning is None


def test_inactive_test_list_keeps_the_real_recipients_and_drops_bcc_from_the_headers():
    routed = route(_message(), app=app(test_list=TESTERS, active=False), stage=stage("QA"))

    assert not routed.redirected
    assert routed.recipients == [
        "user@customer.com", "other@customer.com", "boss@customer.com", "audit@customer.com",
    ]  # fmt: skip
    assert routed.message["Bcc"] is None
    assert routed.message[ORIGINAL_RECIPIENTS_HEADER] is None


def test_the_test_list_of_another_stage_does_not_apply():
    routed = route(
        _message(),
        app=app(stage_name="Development", test_list=TESTERS, active=True),
        stage=stage("QA"),
    )

    assert not routed.redirected


def test_active_list_in_production_warns_that_real_users_receive_nothing():
    production = stage("Production", production=True)

    routed = route(
        _message(),
        app=app(stage_name="Production", test_list=TESTERS, active=True),
        stage=production,
    )

    assert routed.redirected
    assert "real users receive nothing" in routed.warning


def test_an_active_but_empty_list_is_refused():
    with pytest.raises(InvalidInput, match="active but empty"):
        route(_message(), app=app(test_list=[], active=True), stage=stage())


def test_send_test_recipients_default_to_the_active_list_then_the_studio_list():
    studio = ["studio@example.com"]
    assert (
        send_test_recipients(
            [], app=app(test_list=TESTERS, active=True, studio=studio), stage=stage()
        )
        == TESTERS
    )
    assert (
        send_test_recipients(
            [], app=app(test_list=TESTERS, active=False, studio=studio), stage=stage()
        )
        == studio
    )
    assert send_test_recipients(["Me@Example.COM"], app=None, stage=stage()) == ["Me@example.com"]


@pytest.mark.parametrize("bad", ["x@example.com\r\nBcc: victim@example.com", "not an address"])
def test_recipients_with_line_breaks_or_garbage_are_refused(bad):
    with pytest.raises(InvalidInput, match="Recipient"):
        send_test_recipients([bad], app=None, stage=stage())


async def test_send_test_with_an_active_list_delivers_only_to_the_list(smtp_server, certificates):
    config = basic_config(smtp_server.port, ca_file=certificates.ca_file)

    result = await send_test(
        config,
        stage=stage(),
        app=app(test_list=TESTERS, active=True),
        recipients=["real.user@customer.com"],
    )

    assert result.ok, result.error
    assert result.redirected
    assert result.delivered_to == TESTERS
    (received,) = smtp_server.messages
    assert received.rcpt_tos == TESTERS
    assert received.message[ORIGINAL_RECIPIENTS_HEADER] == "real.user@customer.com"


async def test_send_test_with_an_inactive_list_goes_to_the_real_recipient(
    smtp_server, certificates
):
    config = basic_config(smtp_server.port, ca_file=certificates.ca_file)

    result = await send_test(
        config,
        stage=stage(),
        app=app(test_list=TESTERS, active=False),
        recipients=["real.user@customer.com"],
    )

    assert result.ok
    assert not result.redirected
    (received,) = smtp_server.messages
    assert received.rcpt_tos == ["real.user@customer.com"]
    assert received.message[ORIGINAL_RECIPIENTS_HEADER] is None
