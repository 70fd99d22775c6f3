"""The relay in front of a scripted upstream (tests/hostile_servers.py) that a test
makes answer what it likes: plain text on loopback, Basic auth, SMTPUTF8 offered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.cli_runner import run_cli
from tests.hostile_servers import ScriptedSmtp, SmtpScript
from tests.relay_harness import RunningRelay, credentials, start_relay
from tests.test_hostile_echoed_secrets import set_basic

UPSTREAM_EHLO = ["hostile.example", "AUTH PLAIN LOGIN", "8BITMIME", "SMTPUTF8"]


@dataclass
class Upstream:
    server: ScriptedSmtp
    relay: RunningRelay
    password: str  # the app's relay password


@pytest.fixture
def upstream(initialized, request) -> Iterator[Upstream]:
    """Parametrize it indirectly with the relay's options (``["--no-queue"]``)."""
    server = ScriptedSmtp(SmtpScript(ehlo=list(UPSTREAM_EHLO)))
    set_basic(server.port)
    assert run_cli("app", "add", "Shop").returncode == 0
    password = credentials()
    relay = start_relay("QA", *getattr(request, "param", []))
    try:
        yield Upstream(server, relay, password)
    finally:
        relay.stop()
        server.stop()


def log_records(limit: int = 1) -> list[dict[str, object]]:
    """The email log's newest records, newest first (`mailstage log --json`)."""
    result = run_cli("log", "--json", "--limit", str(limit))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def upstream_rcpts(server: ScriptedSmtp) -> list[str]:
    return [c for c in server.script.commands if c.upper().startswith("RCPT")]
