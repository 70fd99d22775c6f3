"""The PostgreSQL store vs the store file, same content, one run (issue 18).

One-shot commands in a fresh process (`stage list`, `email show QA`: connect,
authenticate, read the row, decrypt) and, in-process, opening the store and one save
(a quick toggle: one app's section re-encrypted, the row updated under its lock), each
interleaved with the same on a store file. Prints medians and the ratio.

The server: MAILSTAGE_BENCH_DATABASE_URL (an empty database the bench may fill; its
tables are dropped at the end), else a role and database made for the run through
`runuser -u postgres -- psql` (as root) and dropped afterwards.

    .venv/bin/python bench/bench_postgres.py [--runs 9] [--apps 1000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
            for table in ("email_log", "audit_archive", "store", "schema_version"):
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--apps", type=int, default=1000)
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


if __name__ == "__main__":
    main()
