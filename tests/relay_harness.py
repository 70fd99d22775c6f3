"""`mailstage relay` in a subprocess against the loopback servers of tests/loopback.py:
a store made through the CLI, an app with relay credentials, and the relay's stderr
collected line by line."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli_runner import REPO, mailstage_command, run_cli
from tests.test_delivery_cli import set_basic, set_oauth

READY = re.compile(r"listening on \S+ port (\d+)")


@dataclass
class RunningRelay:
    process: subprocess.Popen[str]
    port: int = 0
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            if self.process.poll() is not None and self._reader and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no line matching {pattern!r} in:\n{self.stderr}")

    def signal(self, number: int) -> None:
        self.process.send_signal(number)

    def stop(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return code


def start_relay(stage: str = "QA", *extra: str, env: dict[str, str] | None = None) -> RunningRelay:
    process = subprocess.Popen(
        [*mailstage_command(), "relay", stage, "--listen", "127.0.0.1:0", *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ, **(env or {})),
    )
    relay = RunningRelay(process)

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            relay.lines.append(line.rstrip("\n"))

    relay._reader = threading.Thread(target=read, daemon=True)
    relay._reader.start()
    try:
        relay.port = int(READY.search(relay.wait_for_line(READY.pattern)).group(1))  # type: ignore[union-attr]
    except AssertionError:
        relay.stop()
        raise
    return relay


def credentials(app: str = "Shop", stage: str = "QA", *, rotate: bool = False) -> str:
    args = ["app", "credentials", app, "--stage", stage, "--json"]
    result = run_cli(*args, *(["--rotate"] if rotate else []))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["password"]


@dataclass
class RelaySetup:
    store: Path
    password: str


@pytest.fixture
def relay_store(initialized, smtp_server, certificates) -> RelaySetup:
    """QA configured with Basic auth to the loopback STARTTLS server; app Shop with
    relay credentials for QA."""
    set_basic(smtp_server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    return RelaySetup(initialized["store"], credentials())


@pytest.fixture
def oauth_relay_store(initialized, smtp_server_factory, token_endpoint, certificates):
    server = smtp_server_factory(tokens=token_endpoint)
    set_oauth(server.port, token_endpoint.url, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    return server, RelaySetup(initialized["store"], credentials())


@pytest.fixture
def relay(relay_store) -> Iterator[RunningRelay]:
    running = start_relay()
    yield running
    running.stop()
