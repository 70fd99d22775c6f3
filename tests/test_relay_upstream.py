"""The relay's upstream side: connections reused (one login for many messages), a pooled
connection the server closed replaced before any of the message is sent, at most N
connections at a time, 8BITMIME/SMTPUTF8 passed on only when offered."""

from __future__ import annotations

import smtplib
import threading

import pytest

from tests.cli_runner import run_cli
from tests.relay_harness import RunningRelay, credentials, start_relay
from tests.test_delivery_cli import set_basic


def relay_for(server, certificates, *extra: str) -> tuple[RunningRelay, str]:
    set_basic(server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    password = credentials()
    return start_relay("QA", *extra), password


def raw(number: int, subject: str = "hello") -> bytes:
    headers = f"Subject: {subject} {number}\r\nMessage-ID: <n{number}@shop.example>\r\n"
    return (headers + "\r\nbody\r\n").encode()


def test_one_upstream_login_for_many_messages(initialized, smtp_server, certificates):
    relay, password = relay_for(smtp_server, certificates)
    try:
        for number in range(5):  # five app connections, one after the other
            with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
                smtp.login("Shop", password)
                smtp.sendmail("app@shop.example", ["a@buyers.example"], raw(number))
    finally:
        assert relay.stop() == 0
    assert len(smtp_server.messages) == 5
    assert smtp_server.handler.logins == 1


def send_three(server, certificates) -> None:
    relay, password = relay_for(server, certificates)
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
            smtp.login("Shop", password)
            for number in range(3):
                assert smtp.sendmail("app@shop.example", ["a@buyers.example"], raw(number)) == {}
    finally:
        assert relay.stop() == 0
    ids = [m.message["Message-ID"] for m in server.messages]
    assert ids == ["<n0@shop.example>", "<n1@shop.example>", "<n2@shop.example>"]  # once each


def test_a_pooled_connection_closed_by_the_server_is_replaced(
    initialized, smtp_server_factory, certificates
):
    server = smtp_server_factory(close_after_data=True)
    send_three(server, certificates)
    assert server.handler.logins == 3  # each reuse found the connection closed: a fresh one


def test_a_reused_connection_that_answers_421_hands_the_message_to_a_fresh_one(
    initialized, smtp_server_factory, certificates
):
    server = smtp_server_factory(mail_421_after=1)  # MAIL after the first message: 421
    send_three(server, certificates)
    assert server.handler.logins == 3


def test_after_a_failed_transaction_the_connection_is_reset_first(
    initialized, smtp_server_factory, certificates
):
    server = smtp_server_factory(close_on_rset=True, refuse_recipients_with="nobody")
    relay, password = relay_for(server, certificates)
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
            smtp.login("Shop", password)
            with pytest.raises(smtplib.SMTPResponseException):
                smtp.sendmail("app@shop.example", ["nobody@buyers.example"], raw(0))
            assert smtp.sendmail("app@shop.example", ["a@buyers.example"], raw(1)) == {}
            assert smtp.sendmail("app@shop.example", ["a@buyers.example"], raw(2)) == {}
    finally:
        assert relay.stop() == 0
    assert [m.message["Message-ID"] for m in server.messages] == [
        "<n1@shop.example>",
        "<n2@shop.example>",
    ]
    assert server.handler.logins == 2  # RSET after the refusal found it closed; then no RSET


def test_never_more_upstream_connections_than_allowed(
    initialized, smtp_server_factory, certificates
):
    server = smtp_server_factory(data_delay=0.2)
    relay, password = relay_for(server, certificates, "--upstream-connections", "2")
    errors: list[BaseException] = []

    def app(client: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", relay.port, timeout=120) as smtp:
                smtp.login("Shop", password)
                for number in range(3):
                    smtp.sendmail(
                        "app@shop.example", ["a@buyers.example"], raw(client * 10 + number)
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=app, args=(n,)) for n in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    finally:
        assert relay.stop() == 0
    assert errors == []
    assert len(server.messages) == 18
    assert server.handler.most_in_data <= 2 and server.handler.logins <= 2


BODY = "Subject: caf\u00e9\r\n\r\nna\u00efve\r\n".encode()
OPTIONS = ["BODY=8BITMIME", "SMTPUTF8"]


def test_8bitmime_and_smtputf8_passed_on_when_offered(initialized, smtp_server, certificates):
    relay, password = relay_for(smtp_server, certificates)
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
            smtp.login("Shop", password)
            to = ["j\u00fcrgen@buyers.example"]
            assert smtp.sendmail("app@shop.example", to, BODY, mail_options=OPTIONS) == {}
    finally:
        assert relay.stop() == 0
    [received] = smtp_server.messages
    assert sorted(received.mail_options) == ["BODY=8BITMIME", "SMTPUTF8"]
    assert received.rcpt_tos == ["j\u00fcrgen@buyers.example"]
    assert received.message["Subject"] == "caf\u00e9"


def test_without_smtputf8_upstream_an_international_address_is_refused(
    initialized, smtp_server_factory, certificates
):
    server = smtp_server_factory(smtputf8=False)
    relay, password = relay_for(server, certificates)
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
            smtp.login("Shop", password)
            smtp.sendmail("app@shop.example", ["a@buyers.example"], BODY, mail_options=OPTIONS)
            with pytest.raises(smtplib.SMTPDataError) as caught:
                to = ["j\u00fcrgen@buyers.example"]
                smtp.sendmail("app@shop.example", to, BODY, mail_options=OPTIONS)
            assert caught.value.smtp_code == 553 and b"SMTPUTF8" in caught.value.smtp_error
    finally:
        assert relay.stop() == 0
    [received] = server.messages
    assert received.mail_options == ["BODY=8BITMIME"]


async def test_a_message_beyond_the_limit_waits_then_is_deferred(smtp_server_factory, certificates):
    import asyncio

    from mailstage.relay.upstream_pool import UpstreamDeferred, UpstreamPool
    from tests.loopback import basic_config

    server = smtp_server_factory(data_delay=2.0)
    config = basic_config(server.port, ca_file=certificates.ca_file)
    pool = UpstreamPool(1, wait_seconds=0.3)
    first = asyncio.ensure_future(pool.deliver(config, raw(1), ["a@buyers.example"]))
    while server.handler.data_started == 0:  # the only connection is busy now
        await asyncio.sleep(0.01)
    with pytest.raises(UpstreamDeferred) as caught:
        await pool.deliver(config, raw(2), ["a@buyers.example"])
    assert "1 connection(s) to 127.0.0.1 stayed busy" in caught.value.reason
    assert (await first).startswith("250")
    await pool.close_idle()
    assert [m.message["Message-ID"] for m in server.messages] == ["<n1@shop.example>"]
