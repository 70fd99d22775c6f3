"""Connection floods: at most --max-connections app connections (421 beyond, one line per
burst, not one per refusal), sessions that never log in closed when idle, and past the
file limit one line instead of asyncio's traceback per failed accept."""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess

import pytest

from tests.cli_runner import REPO, mailstage_command
from tests.relay_harness import READY
from tests.relay_inprocess import running_relay
from tests.test_relay_accounting import upstream  # noqa: F401 - fixture


def first_lines(port: int, count: int) -> list[bytes]:
    """Open ``count`` connections and keep them; the first line each was sent."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(count)]
    try:
        return [sock.makefile("rb").readline() for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.usefixtures("upstream")
async def test_connections_beyond_the_limit_get_421_and_one_line_per_burst():
    async with running_relay(max_connections=3) as (relay, events):
        banners = await asyncio.to_thread(first_lines, relay.port, 12)
    assert [b[:3] for b in banners] == [b"220"] * 3 + [b"421"] * 9
    assert b"limit" in banners[-1]
    assert sum("connection refused" in line for line in events.lines) == 1


def wait_for_close(port: int) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        reader = sock.makefile("rb")
        return [reader.readline(), reader.readline()]  # the banner, then the goodbye


@pytest.mark.usefixtures("upstream")
async def test_a_session_that_never_logs_in_is_closed_when_idle():
    async with running_relay(login_timeout=0.3) as (relay, _events):
        banner, goodbye = await asyncio.to_thread(wait_for_close, relay.port)
        await asyncio.sleep(0.1)
        assert relay.busy_count() == 0 and not relay._sessions
    assert banner[:3] == b"220"
    assert goodbye.startswith(b"421 4.4.2") and b"login" in goodbye


def low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


@pytest.mark.usefixtures("upstream")
def test_past_the_file_limit_no_traceback_floods_the_log():
    process = subprocess.Popen(
        [*mailstage_command(), "relay", "QA", "--listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ),
        preexec_fn=low_file_limit,
    )
    assert process.stderr is not None
    port = int(READY.search(process.stderr.readline()).group(1))  # type: ignore[union-attr]
    socks = []
    try:
        for _ in range(120):  # more than the relay's 64 descriptors
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            except OSError:
                break
        for sock in socks[:80]:
            try:
                sock.settimeout(3)
                sock.recv(100)
            except OSError:
                pass
    finally:
        for sock in socks:
            sock.close()
        process.terminate()
        _out, err = process.communicate(timeout=60)
    assert "Traceback" not in err
    assert sum("out of file descriptors" in line for line in err.splitlines()) == 1
