"""The PostgreSQL store vs the store file, same content, one run (issue 18).

One-shot commands in a fresh process (`stage list`, `email show QA`: connect,
authenticate, read the row, decrypt) and, in-process, opening the store and one save
(a quick toggle: one app's section re-encrypted, the row updated under its lock), each
interleaved with the same on a store file. Then the relay: `mailstage relay QA` on
each store at once (the same counting upstream of bench_relay.py), with its queue (the
table mailstage_queue vs the queue folder) and with --no-queue: one app sending one
message at a time (latency) and 8 apps at once (throughput), in rounds alternating
between the two relays. Prints medians and the ratio.

The server: MAILSTAGE_BENCH_DATABASE_URL (an empty database the bench may fill; its
tables are dropped at the end), else a role and database made for the run through
`runuser -u postgres -- psql` (as root) and dropped afterwards.

    .venv/bin/python bench/bench_postgres.py [--runs 9] [--apps 1000] [--relay-rounds 6]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench_relay import CLIENTS, drain, latencies, relay_client, start_upstream, throughput
from bench_store import build

ROOT = Path(__file__).resolve().parent.parent


def psql(sql: str) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        cwd="/",
        capture_output=True,
    )


@contextmanager
def database() -> Iterator[str]:
    given = os.environ.get("MAILSTAGE_BENCH_DATABASE_URL")
    if given:
        yield given
        import psycopg

        with psycopg.connect(given, autocommit=True) as connection:
            for table in ("queue", "email_log", "audit_archive", "store", "schema_version"):
                connection.execute(f"drop table if exists mailstage_{table}")  # type: ignore[arg-type]
        return
    if os.geteuid() != 0 or not shutil.which("runuser"):
        sys.exit("no server: set MAILSTAGE_BENCH_DATABASE_URL (or run as root with a local one)")
    name, password = f"ms_bench_{secrets.token_hex(4)}", secrets.token_hex(12)
    psql(f"create role {name} login password '{password}'")
    psql(f"create database {name} owner {name}")
    try:
        yield f"postgresql://{name}:{password}@127.0.0.1:5432/{name}"
    finally:
        psql(f"drop database if exists {name} with (force)")
        psql(f"drop role if exists {name}")


def fill(store: str, key: Path, apps: int) -> None:
    """The same content in both stores: `apps` apps x 3 stages x 100 addresses, QA set."""
    from mailstage.store.paths import Locations
    from mailstage.store.workspace import Workspace

    workspace = Workspace.init(Locations.resolve(store, key), user="bench")
    workspace.data.apps.extend(build(apps).apps)
    workspace.file.save(workspace.data)
    options = {"server": "smtp.example.com", "username": "u", "password": "p"}
    options["sender_email"] = "noreply@example.com"
    workspace.set_email("QA", workspace.email_from_options("QA", options))


def one_shot(args: list[str], env: dict[str, str]) -> float:
    command = [str(Path(sys.executable).parent / "mailstage"), *args]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return (time.perf_counter() - started) * 1000


def interleaved(
    runs: int, database: Callable[[], float], file: Callable[[], float]
) -> tuple[float, float]:
    pairs = [(database(), file()) for _ in range(runs)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def in_process(store: str, key: Path) -> tuple[Callable[[], float], Callable[[], float]]:
    from mailstage.store.filestore import StoreFile
    from mailstage.store.paths import Locations
    from mailstage.store.workspace import Workspace

    locations = Locations.resolve(store, key)
    workspace = Workspace.open(locations, user="bench")
    flip = [False]

    def toggle() -> None:
        flip[0] = not flip[0]
        workspace.set_test_list_active("App 0", "QA", flip[0])

    return (lambda: timed(lambda: StoreFile.open(locations))), (lambda: timed(toggle))


def measure(name: str, value_ms: float, baseline_ms: float) -> None:
    print(f"  {name}: PostgreSQL {value_ms:.1f} ms, file {baseline_ms:.1f} ms, "
          f"{value_ms / baseline_ms:.2f}x")  # fmt: skip
    print(f"MEASURE|{name} (PostgreSQL vs file)|{value_ms:.1f} ms|{baseline_ms:.1f} ms|"
          f"{value_ms / baseline_ms:.2f}x|-")  # fmt: skip


def relay_ready(store: str, key: Path, port: int, ca_file: Path) -> str:
    """QA sends through the counting upstream; app Bench may relay: its password."""
    from pydantic import SecretStr

    from mailstage.store.paths import Locations
    from mailstage.store.workspace import Workspace

    workspace = Workspace.open(Locations.resolve(store, key), user="bench")
    options = {"server": "127.0.0.1", "port": port, "auth": "basic", "username": "u"}
    options.update(password=SecretStr("p"), sender_email="noreply@example.com")
    workspace.set_email(
        "QA", workspace.email_from_options("QA", {**options, "ca_file": str(ca_file)})
    )
    workspace.add_app("Bench")
    return workspace.make_relay_credentials("Bench", "QA", rotate=False)


def start_relay(env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "mailstage"), "relay", "QA", "--listen",
         "127.0.0.1:0", *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"listening on \S+ port (\d+)", line)
        if found:  # stderr drained from now on: a line a message
            threading.Thread(target=drain, args=(process.stderr,), daemon=True).start()
            return process, int(found.group(1))
    raise RuntimeError("the relay did not start")


def relay_rounds(
    rounds: int,
    envs: tuple[dict[str, str], dict[str, str]],
    passwords: tuple[str, str],
    *extra: str,
) -> None:
    """Both relays running at once; rounds alternate which one goes first."""
    relays = [start_relay(env, *extra) for env in envs]
    try:
        clients = [
            relay_client(port, password)
            for (_, port), password in zip(relays, passwords, strict=True)
        ]
        for connect in clients:
            throughput(connect, CLIENTS * 5)  # warm-up: pools filled, code paths loaded
        latency: list[list[float]] = [[], []]
        rates: list[list[float]] = [[], []]
        for number in range(rounds):
            for side in (0, 1) if number % 2 == 0 else (1, 0):
                latency[side].extend(latencies(clients[side], 40))
                rates[side].append(throughput(clients[side], CLIENTS * 25))
    finally:
        for process, _ in relays:
            process.terminate()
            process.wait(timeout=60)
    mode = "--no-queue" if extra else "queue"
    medians = [statistics.median(values) for values in latency]
    measure(f"relay ({mode}): one message, one app, median of {len(latency[0])}", *medians)
    database_rate, file_rate = (statistics.median(values) for values in rates)
    print(
        f"  relay ({mode}): {CLIENTS} apps at once: PostgreSQL {database_rate:.0f} msg/s, "
        f"file {file_rate:.0f} msg/s, {database_rate / file_rate:.2f}x (median of {rounds})"
    )
    ratio = database_rate / file_rate
    print(f"MEASURE|relay ({mode}) throughput, {CLIENTS} apps (PostgreSQL vs file)|"
          f"{database_rate:.0f} msg/s|{file_rate:.0f} msg/s|{ratio:.2f}x|-")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--relay-rounds", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, database() as url:
        home = Path(folder)
        key, file_store = home / "store.key", str(home / "data" / "store.json")
        env = {**os.environ, "HOME": str(home), "XDG_STATE_HOME": str(home / "state")}
        env.update(MAILSTAGE_KEY_FILE=str(key), USER="bench")
        os.environ.update(env)
        for store in (url, file_store):
            fill(store, key, args.apps)
        print(f"{args.apps} apps x 3 stages x 100 addresses; {args.runs} interleaved runs")
        for command in (["stage", "list"], ["email", "show", "QA"]):
            on_database = {**env, "MAILSTAGE_STORE": url}
            on_file = {**env, "MAILSTAGE_STORE": file_store}
            figures = interleaved(
                args.runs,
                lambda c=command, e=on_database: one_shot(c, e),  # type: ignore[misc]
                lambda c=command, e=on_file: one_shot(c, e),  # type: ignore[misc]
            )
            measure(f"`{' '.join(command)}`, {args.apps} apps", *figures)
        database_open, database_toggle = in_process(url, key)
        file_open, file_toggle = in_process(file_store, key)
        measure(
            f"open the store, {args.apps} apps", *interleaved(args.runs, database_open, file_open)
        )
        measure(
            f"quick toggle's save, {args.apps} apps",
            *interleaved(args.runs, database_toggle, file_toggle),
        )
        upstream, port, cert = start_upstream(home)
        try:
            passwords = (
                relay_ready(url, key, port, cert),
                relay_ready(file_store, key, port, cert),
            )
            envs = ({**env, "MAILSTAGE_STORE": url}, {**env, "MAILSTAGE_STORE": file_store})
            for extra in ((), ("--no-queue",)):
                relay_rounds(args.relay_rounds, envs, passwords, *extra)
        finally:
            assert upstream.stdin is not None
            upstream.stdin.close()
            upstream.wait(timeout=60)


if __name__ == "__main__":
    main()
