"""Kind 2: one deadline. ``--timeout`` (and the TUI's) bounds the whole Send test, the
token request included, and when it passes the process or the screen is free at once:
no thread is left that would hold the interpreter at exit. The hostile servers here
never stop dripping while the test runs, so only the deadline can end the Send test (the
subprocess guard of 60 s would fail the test instead of hanging it)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading

import pytest
from pydantic import SecretStr

from mailstage.mailer.deadline import Deadline, in_daemon_thread
from mailstage.mailer.oauth import TokenError, fetch_token
from mailstage.store.models import OAuth2ClientCredentials
from tests.cli_runner import REPO, run_cli
from tests.hostile_servers import (
    HostileHttp,
    ScriptedSmtp,
    SmtpScript,
    drip_forever,
    drip_headers_forever,
)
from tests.loopback import CLIENT_ID, CLIENT_SECRET, PASSWORD, SENDER, USERNAME

DRIPS = {"body": drip_forever, "headers": drip_headers_forever}


@pytest.fixture
def xoauth2_smtp():
    server = ScriptedSmtp(SmtpScript(ehlo=["x", "AUTH XOAUTH2"]))
    yield server
    server.stop()


def set_oauth(port: int, token_url: str) -> None:
    args = ["email", "set", "QA", "--server", "127.0.0.1", "--port", str(port), "--auth", "oauth2"]
    args += ["--token-url", token_url, "--client-id", CLIENT_ID, "--client-secret-stdin"]
    args += ["--scope", "api://mail/.default", "--sender-email", SENDER]
    assert run_cli(*args, input=CLIENT_SECRET + "\n").returncode == 0


@pytest.mark.parametrize("drip", sorted(DRIPS))
def test_cli_timeout_bounds_a_dripping_token_endpoint_and_the_process_exits(
    initialized, xoauth2_smtp, drip
):
    endpoint = HostileHttp(DRIPS[drip])
    try:
        set_oauth(xoauth2_smtp.port, endpoint.url())
        result = run_cli(
            "email", "send-test", "QA", "--to", "dev@example.com", "--timeout", "1", "--json"
        )
        assert endpoint.requests  # the endpoint was asked and is still dripping
    finally:
        endpoint.stop()
    assert result.returncode == 7, result.stderr
    data = json.loads(result.stdout)
    assert data["steps"][-1]["name"] == "token" and not data["steps"][-1]["ok"]
    assert "within 1 s" in data["error"]


def test_cli_timeout_bounds_the_whole_conversation_not_each_reply(initialized):
    # every reply arrives well within the timeout, one slow byte at a time; all the
    # replies together take several times the timeout
    server = ScriptedSmtp(SmtpScript(banner="220 slow", ehlo=["slow", "AUTH PLAIN"]))
    server.script.drip_seconds = 0.05
    try:
        args = ["email", "set", "QA", "--server", "127.0.0.1", "--port", str(server.port)]
        args += ["--auth", "basic", "--username", USERNAME, "--password-stdin"]
        args += ["--sender-email", SENDER]
        assert run_cli(*args, input=PASSWORD + "\n").returncode == 0
        result = run_cli(
            "email", "send-test", "QA", "--to", "dev@example.com", "--timeout", "2", "--json"
        )
    finally:
        server.stop()
    assert result.returncode == 7, result.stderr
    data = json.loads(result.stdout)
    assert "the time limit for all of it" in data["error"]
    assert data["steps"][-1]["name"] != "quit"


async def test_fetch_token_returns_at_the_deadline_and_leaves_only_a_daemon_thread():
    endpoint = HostileHttp(drip_forever)
    auth = OAuth2ClientCredentials(
        token_url=endpoint.url(),
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        scopes=["api://mail/.default"],
    )
    try:
        with pytest.raises(TokenError, match="did not answer within 0.5 s"):
            await fetch_token(auth, deadline=Deadline(0.5))
        blocking = [t for t in threading.enumerate() if t.name == "mailstage-blocking"]
        assert all(t.daemon for t in blocking)
        for thread in blocking:  # aborted: its socket was shut, so it ends by itself
            thread.join(timeout=30)
            assert not thread.is_alive()
    finally:
        endpoint.stop()


async def test_in_daemon_thread_hands_back_results_and_errors():
    assert await in_daemon_thread(lambda: 6 * 7, deadline=Deadline(30)) == 42
    with pytest.raises(ZeroDivisionError):
        await in_daemon_thread(lambda: 1 / 0, deadline=Deadline(30))
    aborted = threading.Event()
    release = threading.Event()
    with pytest.raises(TimeoutError):
        await in_daemon_thread(release.wait, deadline=Deadline(0.2), abort=aborted.set)
    assert aborted.is_set()
    release.set()


TUI_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from mailstage.screens.send_test import SendTestScreen
    from mailstage.store.paths import Locations
    from mailstage.tui.app import build_app

    SendTestScreen.timeout_seconds = 1.0

    async def main():
        locations = Locations(Path(sys.argv[1]), Path(sys.argv[2]))
        app = build_app(locations, store_label="store", user="alice")  # the store's admin
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()  # the store opens in a worker
            await pilot.pause()
            app.open_send_test("QA")
            await pilot.pause()
            await pilot.press(*"dev@example.com", "f5")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            result = app.screen.result
            print("RESULT", result.ok, result.failed_step.name.value, result.error, flush=True)

    asyncio.run(main())
    """
)


def test_tui_send_test_times_out_and_the_process_exits(tui_store, xoauth2_smtp, tmp_path):
    from tests.test_tui_delivery_faults import configure

    endpoint = HostileHttp(drip_forever)
    try:
        configure(tui_store, xoauth2_smtp.port, token_url=endpoint.url())
        # the process ends only if nothing holds the interpreter at exit
        done = subprocess.run(
            [sys.executable, "-c", TUI_SCRIPT, str(tui_store.store), str(tui_store.key_file)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert endpoint.requests, done.stdout + done.stderr[-3000:]
    finally:
        endpoint.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    assert "RESULT False token" in done.stdout
    assert "within 1 s" in done.stdout


def test_deadline_scope_cancels_the_work_inside():
    async def main() -> str:
        deadline = Deadline(0.1)
        try:
            async with deadline.scope():
                await asyncio.Event().wait()
        except TimeoutError:
            return "timed out" if deadline.expired else "early"
        return "never"

    assert asyncio.run(main()) == "timed out"
