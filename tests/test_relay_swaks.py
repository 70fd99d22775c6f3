"""The relay with swaks (the admin's SMTP tool) as the app, and the relay serving a
certificate: STARTTLS required before AUTH, on a non-loopback listen address too."""

from __future__ import annotations

import shutil
import smtplib
import ssl
import subprocess

import pytest

from tests.relay_harness import *  # noqa: F403 - fixtures
from tests.relay_harness import RunningRelay, start_relay

pytestmark = pytest.mark.skipif(
    shutil.which("swaks") is None, reason="swaks is not installed (.ci/run installs it)"
)


def swaks(relay: RunningRelay, password: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(relay.port)]
        + ["--auth-user", "Shop", "--auth-password", password]
        + ["--from", "app@shop.example", "--to", "customer@buyers.example"]
        + ["--header", "Subject: from swaks", "--body", "sent by swaks", "--timeout", "60"]
        + list(extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_swaks_sends_through_the_relay(relay, relay_store, smtp_server, mechanism):
    result = swaks(relay, relay_store.password, "--auth", mechanism)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "250 2.0.0 Sent through 127.0.0.1" in result.stdout
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["customer@buyers.example"]
    assert received.message["Subject"] == "from swaks"


def test_swaks_with_a_wrong_password_fails_at_auth(relay, relay_store, smtp_server):
    result = swaks(relay, "wrong-password", "--auth", "PLAIN")

    assert result.returncode == 28  # swaks: AUTH failed
    assert "535 5.7.8 Authentication credentials invalid" in result.stdout
    assert smtp_server.messages == []


def test_swaks_without_auth_is_refused_at_mail(relay, relay_store, smtp_server):
    result = subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(relay.port)]
        + ["--from", "app@shop.example", "--to", "customer@buyers.example"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "530 5.7.0 Authentication required" in result.stdout
    assert smtp_server.messages == []


@pytest.fixture
def relay_certificate(certificates, tmp_path):
    issued = certificates.ca.issue_cert("localhost", "127.0.0.1")
    cert, key = tmp_path / "relay-cert.pem", tmp_path / "relay-key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    key.chmod(0o600)
    return cert, key


def test_with_a_certificate_starttls_is_required_before_auth(
    relay_store, smtp_server, certificates, relay_certificate
):
    cert, key = relay_certificate
    relay = start_relay("QA", "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        assert "STARTTLS required before AUTH" in relay.stderr
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
            smtp.ehlo()
            assert "auth" not in smtp.esmtp_features
            code, text = smtp.docmd("AUTH", "PLAIN AGFiYwBkZWY=")
            assert code == 530 and b"STARTTLS" in text
            context = ssl.create_default_context(cafile=str(certificates.ca_file))
            smtp.starttls(context=context)
            smtp.login("Shop", relay_store.password)
            smtp.sendmail("app@shop.example", ["a@buyers.example"], b"Subject: tls\r\n\r\nx\r\n")
        result = swaks(relay, relay_store.password, "--auth", "PLAIN", "--tls")
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(smtp_server.messages) == 2
    finally:
        assert relay.stop() == 0


def test_a_non_loopback_address_with_a_certificate(relay_store, smtp_server, relay_certificate):
    cert, key = relay_certificate
    process_relay = start_relay_on("0.0.0.0:0", cert, key)
    try:
        result = swaks(process_relay, relay_store.password, "--auth", "PLAIN")  # no TLS
        assert result.returncode != 0 and smtp_server.messages == []
        result = swaks(process_relay, relay_store.password, "--auth", "PLAIN", "--tls")
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(smtp_server.messages) == 1
    finally:
        assert process_relay.stop() == 0


def start_relay_on(listen: str, cert, key) -> RunningRelay:
    # start_relay passes --listen 127.0.0.1:0 first; a later --listen wins in argparse
    return start_relay("QA", "--listen", listen, "--tls-cert", str(cert), "--tls-key", str(key))
