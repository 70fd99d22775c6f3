"""The relay under load and at its edges: OAuth with one token for many messages,
8 concurrent apps each delivered exactly once (refused ones never), the email log's
records, SIGTERM with messages in flight, start-up failures, and no secret anywhere."""

from __future__ import annotations

import json
import signal
import smtplib
import socket
import threading
import time
from email.message import EmailMessage

import pytest

from mailstage.mailer.maillog import log_path
from tests.cli_runner import run_cli
from tests.loopback import CLIENT_SECRET, PASSWORD, SENDER
from tests.relay_harness import *  # noqa: F403 - fixtures
from tests.relay_harness import credentials, start_relay
from tests.test_delivery_cli import set_basic

CLIENTS = 8
PER_CLIENT = 12


def numbered(client: int, number: int, to: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "shop@shop.example"
    mail["To"] = to
    mail["Subject"] = f"client {client} message {number}"
    mail["Message-ID"] = f"<c{client}-m{number}@shop.example>"
    mail.set_content(f"body of {client}/{number}\n")
    return mail


def test_oauth_delivery_with_one_token_request_for_many_messages(oauth_relay_store, token_endpoint):
    server, setup = oauth_relay_store
    relay = start_relay()
    try:
        for round_ in range(3):  # separate app connections, one after the other
            with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
                smtp.login("Shop", setup.password)
                for number in range(3):
                    smtp.send_message(numbered(round_, number, "someone@buyers.example"))
    finally:
        assert relay.stop() == 0
    assert len(server.messages) == 9
    assert token_endpoint.requests == 1
    assert all(m.mail_from == SENDER and m.auth_user == SENDER for m in server.messages)
    assert set(server.handler.xoauth2_inline) == {False}  # ~2 KB token: the two-step form
    secrets = [CLIENT_SECRET, setup.password, *token_endpoint.issued]
    for secret in secrets:
        assert secret not in relay.stderr
    assert_nothing_leaks(setup.store, secrets)


def test_eight_concurrent_apps_every_message_exactly_once(
    initialized, smtp_server_factory, certificates
):
    server = smtp_server_factory(refuse_recipients_with="refuse-me")
    set_basic(server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    password = credentials()
    relay = start_relay("QA", "--upstream-connections", "3")
    accepted: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def app(client: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", relay.port, timeout=120) as smtp:
                smtp.login("Shop", password)
                for number in range(PER_CLIENT):
                    to = "refuse-me@buyers.example" if number % 5 == 4 else "ok@buyers.example"
                    mail = numbered(client, number, to)
                    try:
                        smtp.send_message(mail)
                    except smtplib.SMTPDataError as exc:
                        assert exc.smtp_code == 550, exc
                        with lock:
                            refused.append(mail["Message-ID"])
                    else:
                        with lock:
                            accepted.append(mail["Message-ID"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=app, args=(n,)) for n in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    finally:
        assert relay.stop() == 0
    assert errors == []
    arrived = [m.message["Message-ID"] for m in server.messages]
    assert len(accepted) + len(refused) == CLIENTS * PER_CLIENT
    assert sorted(arrived) == sorted(accepted)  # each accepted message exactly once
    assert not set(arrived) & set(refused)  # nothing refused arrives
    assert len(refused) == CLIENTS * (PER_CLIENT // 5)

    result = run_cli("log", "--json", "--limit", "1000")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["message_id"] for r in records if r["outcome"] == "sent") == sorted(accepted)
    assert sorted(r["message_id"] for r in records if r["outcome"] == "refused") == sorted(refused)


def test_log_records_for_sent_refused_and_deferred(initialized, smtp_server_factory, certificates):
    server = smtp_server_factory(refuse_recipients_with="refuse-me")
    set_basic(server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    assert run_cli("testlist", "add", "Shop", "--stage", "QA", "qa@test.example").returncode == 0
    password = credentials()
    relay = start_relay("QA", "--no-queue")  # the answer-after-upstream contract
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
            smtp.login("Shop", password)
            smtp.send_message(numbered(1, 1, "real@buyers.example"))
            with pytest.raises(smtplib.SMTPDataError):
                smtp.send_message(numbered(1, 2, "refuse-me@buyers.example"))
        server.stop()  # upstream goes away: the next message is deferred
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
            smtp.login("Shop", password)
            with pytest.raises(smtplib.SMTPDataError) as caught:
                smtp.send_message(numbered(1, 3, "real@buyers.example"))
            assert caught.value.smtp_code == 451
    finally:
        assert relay.stop() == 0

    result = run_cli("log", "--json", "--app", "shop", "--stage", "qa")
    assert result.returncode == 0, result.stderr
    deferred, refused, sent = (json.loads(line) for line in result.stdout.splitlines())
    assert sent["source"] == "relay" and sent["app"] == "Shop" and sent["stage"] == "QA"
    assert sent["message_id"] == "<c1-m1@shop.example>"
    assert sent["subject"] == "client 1 message 1"
    assert sent["recipients"] == sent["delivered_to"] == ["real@buyers.example"]
    assert sent["redirected"] is False and sent["reply"].startswith("250 2.0.0")
    assert sent["peer"].startswith("127.0.0.1:") and isinstance(sent["ms"], int)
    assert refused["outcome"] == "refused" and refused["reply"].startswith("550 5.1.1")
    assert refused["delivered_to"] == []
    assert deferred["outcome"] == "deferred" and deferred["reply"].startswith("451 ")
    raw = log_path(initialized["store"]).read_bytes()
    for clear in (b"buyers.example", b"shop.example", b"client 1", b"Shop"):
        assert clear not in raw


def test_sigterm_lets_messages_in_flight_finish_and_exits_0(
    initialized, smtp_server_factory, certificates
):
    server = smtp_server_factory(data_delay=1.5)
    set_basic(server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    password = credentials()
    relay = start_relay()
    replies: list[object] = []

    def app(client: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
                smtp.login("Shop", password)
                replies.append(smtp.send_message(numbered(client, 0, "x@buyers.example")))
        except BaseException as exc:
            replies.append(exc)

    threads = [threading.Thread(target=app, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while server.handler.data_started < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.handler.data_started == 3  # all three wait on the slow upstream now
    relay.signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=60)
    assert relay.stop() == 0
    assert replies == [{}, {}, {}]
    assert len(server.messages) == 3
    relay.wait_for_line("stopping: no new connections; 3 message")
    relay.wait_for_line("stopped")
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", relay.port), 2):
        pass


def test_a_port_in_use_exits_8(relay_store):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_cli("relay", "QA", "--listen", f"127.0.0.1:{port}", timeout=60)
    assert result.returncode == 8
    assert f"cannot listen on 127.0.0.1 port {port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_options_exit_3_and_an_unreadable_store_exits_5(relay_store, tmp_path):
    for args, words in (
        (["--listen", "0.0.0.0:1587"], "not loopback"),
        (["--listen", "nonsense"], "HOST:PORT"),
        (["--upstream-connections", "0"], "from 1 to 100"),
        (["--tls-cert", "x.pem"], "go together"),
    ):
        result = run_cli("relay", "QA", *args)
        assert result.returncode == 3, (args, result.stderr)
        assert words in result.stderr
    assert run_cli("relay", "Staging").returncode == 3
    wrong_key = tmp_path / "wrong.key"
    wrong_key.write_bytes(b"k" * 32)
    wrong_key.chmod(0o600)
    result = run_cli("relay", "QA", env={"MAILSTAGE_KEY_FILE": str(wrong_key)})
    assert result.returncode == 5 and "Traceback" not in result.stderr


def assert_nothing_leaks(store, secrets: list[str]) -> None:
    log = run_cli("log", "--json")
    folder = store.parent
    blobs = [log.stdout, log.stderr] + [
        path.read_bytes().decode("latin-1") for path in folder.iterdir() if path.is_file()
    ]
    for secret in [PASSWORD, *secrets]:
        for blob in blobs:
            assert secret not in blob


def test_no_secret_in_relay_output_log_or_files(relay, relay_store, smtp_server):
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
        smtp.login("Shop", relay_store.password)
        smtp.send_message(numbered(0, 0, "a@buyers.example"))
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtplib.SMTP("127.0.0.1", relay.port, timeout=60).login("Shop", PASSWORD)
    relay.stop()
    for text in (relay.stderr,):
        assert PASSWORD not in text and relay_store.password not in text
    assert_nothing_leaks(relay_store.store, [relay_store.password])


def test_a_passphrase_store_opens_with_a_systemd_credential(store_env, tmp_path):
    phrase = "correct horse relay staple"
    assert run_cli("init", "--passphrase", env={"MAILSTAGE_PASSPHRASE": phrase}).returncode == 0
    without = run_cli("relay", "QA", "--listen", "127.0.0.1:0")
    assert without.returncode == 5 and "MAILSTAGE_PASSPHRASE" in without.stderr
    credentials_dir = tmp_path / "credentials"
    credentials_dir.mkdir(mode=0o700)
    (credentials_dir / "mailstage-passphrase").write_text(phrase + "\n")
    relay = start_relay(env={"CREDENTIALS_DIRECTORY": str(credentials_dir)})
    try:
        assert "listening on 127.0.0.1" in relay.stderr and phrase not in relay.stderr
    finally:
        assert relay.stop() == 0


def test_a_token_failure_defers_with_the_endpoints_words(oauth_relay_store, token_endpoint):
    server, setup = oauth_relay_store
    token_endpoint.mode = "invalid_client"
    relay = start_relay("QA", "--no-queue")
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
            smtp.login("Shop", setup.password)
            with pytest.raises(smtplib.SMTPDataError) as caught:
                smtp.send_message(numbered(0, 0, "a@buyers.example"))
    finally:
        assert relay.stop() == 0
    assert caught.value.smtp_code == 451
    words = caught.value.smtp_error.decode()
    assert words.startswith("4.7.0 ") and "token" in words and "AADSTS7000215" in words
    assert server.messages == []
    assert CLIENT_SECRET not in relay.stderr and CLIENT_SECRET not in words
