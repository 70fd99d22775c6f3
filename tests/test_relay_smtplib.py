"""The relay with Python's smtplib as the app, against a real STARTTLS + AUTH upstream:
login rules, delivery with the stage's settings, test-list routing applied live,
credentials per stage and rotation, and what the app hears back in each case."""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.cli_runner import run_cli
from tests.loopback import PASSWORD, SENDER, refused_port
from tests.relay_harness import *  # noqa: F403 - fixtures
from tests.relay_harness import RunningRelay, credentials, start_relay
from tests.test_delivery_cli import set_basic

REAL = "customer@buyers.example"


def message(to: str = REAL, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Shop <shop@shop.example>"
    mail["To"] = to
    mail["Subject"] = "Your order"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Thank you for your order.\n")
    return mail


def client(relay: RunningRelay) -> smtplib.SMTP:
    return smtplib.SMTP("127.0.0.1", relay.port, timeout=60)


def send(relay: RunningRelay, password: str, mail: EmailMessage | None = None, **kw) -> dict:
    with client(relay) as smtp:
        smtp.login("Shop", password)
        return smtp.send_message(mail or message(), **kw)


def reloads(relay: RunningRelay) -> int:
    return sum("reloaded the store" in line for line in relay.lines)


def disk_generation(store: Path) -> int:
    from mailstage.store import envelope

    head = store.read_bytes()
    size = envelope.prefix_size(head)
    assert size is not None
    return envelope.parse_prefix(head[:size], store).generation


def wait_for_reload(relay: RunningRelay, before: int) -> None:
    """Wait until the relay has read the version now on disk (counting reload lines alone
    races: the reload of an earlier change may land after `before` was taken)."""
    import re
    import time

    del before
    wanted = disk_generation(Path(os.environ["MAILSTAGE_STORE"]))  # the store_env fixture's
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        versions = [
            int(m.group(1))
            for line in relay.lines
            if (m := re.search(r"reloaded the store .*\(version (\d+)\)", line))
        ]
        if versions and max(versions) >= wanted:
            return
        time.sleep(0.02)
    raise AssertionError(f"the relay never read version {wanted}:\n{relay.stderr}")


def test_basic_delivery_with_the_stage_sender(relay, relay_store, smtp_server):
    refused = send(relay, relay_store.password, to_addrs=[REAL, "boss@shop.example"])

    assert refused == {}
    [received] = smtp_server.messages
    assert received.mail_from == SENDER  # the stage's sender, not the app's From
    assert received.rcpt_tos == [REAL, "boss@shop.example"]
    assert received.auth_user == "relay-user"  # logged in upstream with the stage's Basic auth
    mail = received.message
    assert mail["From"] == "Shop <shop@shop.example>"  # the app's own From stays
    assert mail["Date"] and mail["Message-ID"] and mail["Subject"] == "Your order"
    assert "X-Mailstage-Original-Recipients" not in mail
    relay.wait_for_line(r"sent: app Shop from 127\.0\.0\.1:\d+")
    assert PASSWORD not in relay.stderr and relay_store.password not in relay.stderr
    assert REAL not in relay.stderr  # event lines count recipients, never name them


def test_missing_from_date_and_message_id_are_added(relay, relay_store, smtp_server):
    before = reloads(relay)
    assert run_cli("email", "set", "QA", "--sender-name", "QA Robot").returncode == 0
    wait_for_reload(relay, before)
    raw = b"To: customer@buyers.example\r\nSubject: bare\r\n\r\nno headers at all\r\n"
    with client(relay) as smtp:
        smtp.login("Shop", relay_store.password)
        smtp.sendmail("app@shop.example", [REAL], raw)

    mail = smtp_server.messages[0].message
    assert mail["From"] == f"QA Robot <{SENDER}>"
    assert mail["Date"] and mail["Message-ID"].endswith("@example.com>")
    assert mail.get_content().strip() == "no headers at all"


def test_ehlo_offers_size_plain_and_login_only(relay):
    with client(relay) as smtp:
        smtp.ehlo()
        assert smtp.esmtp_features["size"] == str(25 * 1024 * 1024)
        assert smtp.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        assert smtp.has_extn("8bitmime") and smtp.has_extn("smtputf8")


def test_mail_before_auth_gets_530(relay, smtp_server):
    with client(relay) as smtp:
        smtp.ehlo()
        code, text = smtp.mail("app@shop.example")
    assert (code, text) == (530, b"5.7.0 Authentication required")
    assert smtp_server.messages == []


@pytest.mark.parametrize("user", ["Shop", "NoSuchApp"])
def test_bad_or_unknown_login_gets_the_same_535(relay, user):
    with client(relay) as smtp, pytest.raises(smtplib.SMTPAuthenticationError) as caught:
        smtp.login(user, "not-the-password")
    assert (caught.value.smtp_code, caught.value.smtp_error) == (
        535,
        b"5.7.8 Authentication credentials invalid",
    )
    relay.wait_for_line(f"login refused: user '{user}'")
    assert "not-the-password" not in relay.stderr


def test_auth_login_works_too(relay, relay_store, smtp_server):
    with client(relay) as smtp:
        smtp.ehlo()
        smtp.user, smtp.password = "shop", relay_store.password  # the name ignores case
        code, _ = smtp.auth("LOGIN", smtp.auth_login)
        assert code == 235
        smtp.send_message(message())
    assert len(smtp_server.messages) == 1


def test_test_list_toggled_while_running_applies_to_the_next_message(
    relay, relay_store, smtp_server
):
    assert run_cli("testlist", "add", "Shop", "--stage", "QA", "qa1@test.example").returncode == 0
    before = reloads(relay)
    assert run_cli("testlist", "activate", "Shop", "--stage", "QA").returncode == 0
    wait_for_reload(relay, before)

    everyone = [REAL, "cc@buyers.example", "hidden@bcc.example"]
    send(relay, relay_store.password, message(Cc="cc@buyers.example"), to_addrs=everyone)
    redirected = smtp_server.messages[-1]
    assert redirected.rcpt_tos == ["qa1@test.example"]
    mail = redirected.message
    assert mail["To"] == "qa1@test.example" and mail["Cc"] is None
    original = mail["X-Mailstage-Original-Recipients"].strip()
    assert original == f"{REAL}, cc@buyers.example, hidden@bcc.example"

    before = reloads(relay)
    assert run_cli("testlist", "deactivate", "Shop", "--stage", "QA").returncode == 0
    wait_for_reload(relay, before)
    send(relay, relay_store.password)
    assert smtp_server.messages[-1].rcpt_tos == [REAL]


def test_an_active_but_empty_test_list_defers(relay_store, smtp_server):
    assert run_cli("testlist", "activate", "Shop", "--stage", "QA").returncode == 0
    relay = start_relay("QA", "--no-queue")
    try:
        with pytest.raises(smtplib.SMTPDataError) as caught:
            send(relay, relay_store.password)
    finally:
        assert relay.stop() == 0
    assert caught.value.smtp_code == 451
    assert b"active but empty" in caught.value.smtp_error
    assert smtp_server.messages == []


def test_rotated_credentials_stop_the_old_password(relay, relay_store, smtp_server):
    before = reloads(relay)
    new_password = credentials(rotate=True)
    wait_for_reload(relay, before)

    with client(relay) as smtp, pytest.raises(smtplib.SMTPAuthenticationError):
        smtp.login("Shop", relay_store.password)
    send(relay, new_password)
    assert len(smtp_server.messages) == 1


def test_sighup_reloads_at_once(relay, relay_store):
    import signal

    relay.signal(signal.SIGHUP)
    relay.wait_for_line("reloaded the store after SIGHUP")


def test_credentials_of_another_stage_do_not_open_this_relay(relay, relay_store, smtp_server):
    development = credentials(stage="Development")
    with client(relay) as smtp, pytest.raises(smtplib.SMTPAuthenticationError):
        smtp.login("Shop", development)
    assert smtp_server.messages == []


def test_upstream_550_reaches_the_app_with_its_words(
    initialized, smtp_server_factory, certificates
):
    server = smtp_server_factory(refuse_recipients_with="nobody")
    set_basic(server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    password = credentials()
    relay = start_relay()
    try:
        with pytest.raises(smtplib.SMTPDataError) as caught:
            send(relay, password, message(to="nobody@buyers.example"))
        assert caught.value.smtp_code == 550
        assert b"5.1.1" in caught.value.smtp_error and b"User unknown" in caught.value.smtp_error
        assert server.messages == []
        send(relay, password)  # the connection survives a refused message
        assert len(server.messages) == 1
    finally:
        assert relay.stop() == 0


@pytest.mark.parametrize("upstream", ["down", "busy"])
def test_upstream_down_or_4xx_defers_with_451(
    initialized, smtp_server_factory, certificates, upstream
):
    if upstream == "down":
        set_basic(refused_port(), ca_file=certificates.ca_file)
    else:
        server = smtp_server_factory(data_reply="452 4.3.1 Insufficient system storage")
        set_basic(server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    password = credentials()
    relay = start_relay("QA", "--no-queue")
    try:
        with pytest.raises(smtplib.SMTPDataError) as caught:
            send(relay, password)
        assert caught.value.smtp_code == 451
        words = caught.value.smtp_error.decode()
        if upstream == "down":
            assert words.startswith("4.4.1 ") and "refused" in words
        else:
            assert words.startswith("4.3.1 ") and "452 4.3.1 Insufficient system storage" in words
    finally:
        assert relay.stop() == 0


def test_a_stage_without_configuration_defers(initialized):
    assert run_cli("app", "add", "Shop").returncode == 0
    password = credentials(stage="Development")
    relay = start_relay("development", "--no-queue")
    try:
        assert "not configured yet" in relay.stderr
        with pytest.raises(smtplib.SMTPDataError) as caught:
            send(relay, password)
        assert caught.value.smtp_code == 451
        assert b"no email configuration" in caught.value.smtp_error
    finally:
        assert relay.stop() == 0
