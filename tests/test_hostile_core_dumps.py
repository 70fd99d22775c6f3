"""Kind 11 (core dumps): a mailstage process that aborts leaves no core file with its secrets.

Checked on the real `mailstage` in a subprocess, started with core dumps allowed
(unlimited RLIMIT_CORE), while it waits on standard input for a password.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import mailstage_command

WAITING_FOR_A_SECRET = ["email", "set", "QA", "--password-stdin"]


# Tests that run main() in this process (cli_runner.run_cli_here) harden it too: its hard
# core limit drops to 0 and, without CAP_SYS_RESOURCE, no child could raise it again. So the
# processes here are started by a helper forked while this module is collected, before any
# test runs, which still has the limits the suite began with.
SPAWNER = r"""
import json, resource, subprocess, sys
children = {}
def allow_core_dumps():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)
for line in sys.stdin:
    ask = json.loads(line)
    if ask["op"] == "start":
        child = subprocess.Popen(
            ask["argv"], cwd=ask["cwd"], env=ask["env"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=allow_core_dumps,
        )
        children[child.pid] = child
        answer = child.pid
    elif ask["op"] == "poll":
        answer = children[ask["pid"]].poll()
    else:  # end: kill unless it already ended, then reap
        child = children.pop(ask["pid"])
        if child.poll() is None:
            child.kill()
        answer = child.wait()
    print(json.dumps(answer), flush=True)
"""


class Spawner:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SPAWNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, **request: Any) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


SPAWN = Spawner()
atexit.register(SPAWN.close)


class Child:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = SPAWN.ask(op="poll", pid=self.pid)
        return self.returncode

    def send_signal(self, number: int) -> None:
        os.kill(self.pid, number)

    def wait(self, timeout: float) -> int:
        for _ in range(int(timeout / 0.05)):
            if self.poll() is not None:
                break
            select_wait(0.05)
        return end(self)


def start(argv: list[str], cwd: Path) -> Child:
    env = {**os.environ, "MAILSTAGE_STORE": str(cwd / "store.json")}
    return Child(SPAWN.ask(op="start", argv=argv, cwd=str(cwd), env=env))


def wait_until_blocked_on_stdin(process: Child) -> None:
    """The process sits in read(0): it has run main()'s start-up, hardening included."""
    stat = Path(f"/proc/{process.pid}/stat")
    syscall = Path(f"/proc/{process.pid}/syscall")
    for _ in range(600):
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
        if state == "S" and syscall.exists():
            try:
                number, fd = syscall.read_text().split()[:2]
            except (OSError, ValueError):
                number, fd = "", ""
            if number == "0" and int(fd, 16) == 0:  # read(0, ...) on x86-64
                return
        if process.poll() is not None:
            raise AssertionError(f"the process ended early ({process.returncode})")
        os.sched_yield()
        select_wait(0.05)
    raise AssertionError("the process never waited on its standard input")


def select_wait(seconds: float) -> None:
    import select

    select.select([], [], [], seconds)


def core_limits(pid: int) -> tuple[str, str]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            soft, hard = line.split()[4:6]
            return soft, hard
    raise AssertionError("no core limit line")


def end(process: Child) -> int:
    code: int = SPAWN.ask(op="end", pid=process.pid)
    process.returncode = code
    return code


needs_proc = pytest.mark.skipif(not Path("/proc/self/syscall").exists(), reason="needs Linux /proc")


@needs_proc
def test_the_core_size_limit_is_zero_soft_and_hard(tmp_path):
    process = start([*mailstage_command(), *WAITING_FOR_A_SECRET], tmp_path)
    try:
        wait_until_blocked_on_stdin(process)
        assert core_limits(process.pid) == ("0", "0")
    finally:
        end(process)


@needs_proc
def test_a_control_process_started_the_same_way_keeps_core_dumps(tmp_path):
    """The check above can fail: the same start-up without mailstage allows cores."""
    process = start([sys.executable, "-c", "import sys; sys.stdin.read()"], tmp_path)
    try:
        wait_until_blocked_on_stdin(process)
        assert core_limits(process.pid) == ("unlimited", "unlimited")
    finally:
        end(process)


def _proc_owner(pid: int) -> int:
    return Path(f"/proc/{pid}/status").stat().st_uid


@needs_proc
def test_the_cli_process_is_not_dumpable(tmp_path):
    """A non-dumpable process's /proc files belong to root (proc(5)): other processes of
    the same user can neither ptrace it nor read its memory. Root owns every root
    process's files anyway, so this needs a non-root run (see the next test for root)."""
    if os.geteuid() == 0:
        pytest.skip("as root every /proc file is root's: see the PR_GET_DUMPABLE test")
    control = start([sys.executable, "-c", "import sys; sys.stdin.read()"], tmp_path)
    process = start([*mailstage_command(), *WAITING_FOR_A_SECRET], tmp_path)
    try:
        wait_until_blocked_on_stdin(control)
        wait_until_blocked_on_stdin(process)
        assert _proc_owner(control.pid) == os.geteuid()
        assert _proc_owner(process.pid) == 0
    finally:
        end(control)
        end(process)


DUMPABLE_BEFORE_AND_AFTER = """
import ctypes
prctl = ctypes.CDLL(None).prctl
before = prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
from mailstage.store.process import disable_core_dumps
disable_core_dumps()
print(before, prctl(3, 0, 0, 0, 0))
"""


def test_the_hardening_clears_the_dumpable_flag():
    result = subprocess.run(
        [sys.executable, "-c", DUMPABLE_BEFORE_AND_AFTER],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == ["1", "0"]


@needs_proc
def test_an_abort_leaves_no_core_file(tmp_path):
    pattern = Path("/proc/sys/kernel/core_pattern").read_text().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip(f"cores go elsewhere here ({pattern}): cannot look for the file")
    control_dir = tmp_path / "control"
    mailstage_dir = tmp_path / "mailstage"
    control_dir.mkdir()
    mailstage_dir.mkdir()
    control = start([sys.executable, "-c", "import sys; sys.stdin.read()"], control_dir)
    wait_until_blocked_on_stdin(control)
    control.send_signal(signal.SIGABRT)
    control.wait(timeout=60)
    if not list(control_dir.iterdir()):
        pytest.skip("this machine writes no core file even when allowed")
    process = start([*mailstage_command(), *WAITING_FOR_A_SECRET], mailstage_dir)
    wait_until_blocked_on_stdin(process)
    process.send_signal(signal.SIGABRT)
    assert process.wait(timeout=60) == -signal.SIGABRT
    assert [p.name for p in mailstage_dir.iterdir()] == []
