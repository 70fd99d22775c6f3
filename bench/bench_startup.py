"""Start-up time of `mailstage` to its first screen vs a bare Textual app with one Label.

Both are started the same way: a fresh Python process, headless, timed from spawn until
the first screen is on (an auto-pilot prints "ready" after the first refresh and exits).
The mailstage child goes through the CLI's parser and the same `build_app` factory,
opening a real key-file store. Runs are interleaved; prints medians and their ratio.

    /work/venv/bin/python bench/bench_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def _ready(pilot: object) -> None:
    """Print "ready" once the first screen is painted (Textual posts Ready then)."""
    app = pilot.app  # type: ignore[attr-defined]
    while not app._dom_ready:  # noqa: SLF001 - set right after the first paint
        await asyncio.sleep(0)
    print("ready", flush=True)
    app.exit(0)


def child_bare() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Label

    class Bare(App[int]):
        def compose(self) -> ComposeResult:
            yield Label("Hello")

    Bare().run(headless=True, size=(80, 24), auto_pilot=_ready)


def child_mailstage() -> None:
    from mailstage.cli.context import CliContext
    from mailstage.cli.main import build_parser
    from mailstage.store.paths import Locations

    args = build_parser().parse_args([])
    ctx = CliContext(Locations.resolve(args.store, args.key_file))
    from mailstage.tui.app import build_app

    app = build_app(ctx.locations)

    async def ready(pilot: object) -> None:
        assert type(app.screen).__name__ == "HomeScreen"  # the default screen
        await _ready(pilot)

    app.run(headless=True, size=(80, 24), auto_pilot=ready)


def time_child(kind: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "ready":
            elapsed = time.perf_counter() - started
            break
    else:
        raise SystemExit(f"{kind} never became ready: {proc.stderr.read() if proc.stderr else ''}")
    proc.wait(timeout=30)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--child", choices=["bare", "mailstage"])
    args = parser.parse_args()
    if args.child == "bare":
        child_bare()
        return
    if args.child == "mailstage":
        child_mailstage()
        return

    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "HOME": folder, "NO_COLOR": "1"}
        env["MAILSTAGE_STORE"] = str(Path(folder) / "data" / "store.json")
        env["MAILSTAGE_KEY_FILE"] = str(Path(folder) / "config" / "store.key")
        env["PYTHONPATH"] = str(ROOT)
        subprocess.run(
            [sys.executable, "-m", "mailstage.cli.main", "init"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        time_child("bare", env)  # warm the file cache once for both
        time_child("mailstage", env)
        bare, mailstage, python_pass, email_show = [], [], [], []
        for _ in range(args.runs):
            bare.append(time_child("bare", env))
            mailstage.append(time_child("mailstage", env))
            python_pass.append(time_command([sys.executable, "-c", "pass"], env))
            email_show.append(
                time_command(
                    [sys.executable, "-m", "mailstage.cli.main", "email", "show", "QA"], env
                )
            )
    b, m = statistics.median(bare), statistics.median(mailstage)
    p, e = statistics.median(python_pass), statistics.median(email_show)
    print(f"runs each: {args.runs} (interleaved, headless, 80x24)")
    print(f"bare Textual app with one Label: median {b * 1000:.0f} ms")
    print(f"mailstage to the Home screen:    median {m * 1000:.0f} ms")
    print(f"ratio mailstage / bare: {m / b:.2f}   (goal 1.3)")
    print(f"python -c pass:                  median {p * 1000:.0f} ms")
    print(f"mailstage email show QA:         median {e * 1000:.0f} ms")
    print(f"ratio email show / python -c pass: {e / p:.2f}")


def time_command(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
