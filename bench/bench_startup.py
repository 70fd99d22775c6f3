"""Start-up time of `mailstage` to its first screen vs a bare Textual app with one Label,
and of the one-shot commands (`email show QA`, `stage list`, `testlist show`) vs
`python3 -c pass` and vs the floor: bench/startup_floor.py, a stand-alone script that
opens the same file with `cryptography` and prints the same text (checked here).

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

    args = build_parser([]).parse_args([])  # what `mailstage` alone builds
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


def make_store(folder: Path, apps: int) -> dict[str, str]:
    """A key-file store with ``apps`` apps x 3 stages x 100 addresses; its environment."""
    from pydantic import SecretStr

    from mailstage.store.models import App, TestList
    from mailstage.store.paths import Locations
    from mailstage.store.workspace import Workspace

    env = {**os.environ, "HOME": str(folder), "NO_COLOR": "1"}
    env["MAILSTAGE_STORE"] = str(folder / "data" / "store.json")
    env["MAILSTAGE_KEY_FILE"] = str(folder / "config" / "store.key")
    ws = Workspace.init(Locations.resolve(env["MAILSTAGE_STORE"], env["MAILSTAGE_KEY_FILE"]))
    stages = [s.name for s in ws.data.stages]
    for i in range(apps):
        lists = {
            stage: TestList.model_construct(
                addresses=[f"tester{j}.{stage.lower()}@app{i}.example.com" for j in range(100)],
                active=bool(i % 2),
            )
            for stage in stages
        }
        ws.data.apps.append(App.model_construct(name=f"App {i}", test_lists=lists))
    ws.data.apps.append(App.model_construct(name="Shop", test_lists={}))
    ws.file.save(ws.data)
    options = dict.fromkeys(("port", "security", "token_url", "client_id", "scopes", "ca_file"))
    options |= {"server": "smtp.example.com", "auth": "basic", "username": "relay@example.com"}
    options |= {"password": SecretStr("not-a-real-password"), "sender_email": "qa@example.com"}
    options["sender_name"] = "QA mail"
    with ws.transaction():
        ws.set_email("QA", ws.email_from_options("QA", options))
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sizes", default="0,1000,10000", help="apps in the store")
    parser.add_argument("--child", choices=["bare", "mailstage"])
    args = parser.parse_args()
    if args.child == "bare":
        child_bare()
        return
    if args.child == "mailstage":
        child_mailstage()
        return

    mailstage = str(Path(sys.executable).with_name("mailstage"))
    one_shots = {
        "email show QA": [mailstage, "email", "show", "QA"],
        "stage list": [mailstage, "stage", "list"],
        "testlist show Shop": [mailstage, "testlist", "show", "Shop", "--stage", "QA"],
    }
    print(f"runs each: {args.runs} (interleaved, headless, 80x24); median ms")
    for size in (int(n) for n in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            env = make_store(Path(folder), size)
            time_child("bare", env)  # warm the file cache once for both
            time_child("mailstage", env)
            floors = floor_commands(env)
            for name, floor in floors.items():
                check_same_text(one_shots[name], floor, env)
            times: dict[str, list[float]] = {"bare": [], "home": [], "pass": []}
            times |= {name: [] for name in one_shots}
            times |= {f"floor {name}": [] for name in floors}
            for _ in range(args.runs):
                times["bare"].append(time_child("bare", env))
                times["home"].append(time_child("mailstage", env))
                times["pass"].append(time_command([sys.executable, "-c", "pass"], env))
                for name, command in one_shots.items():
                    times[name].append(time_command(command, env))
                for name, command in floors.items():
                    times[f"floor {name}"].append(time_command(command, env))
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        print(f"-- store of {size:,} apps x 3 stages x 100 addresses")
        print(f"bare Textual app with one Label, first paint : {med['bare']:6.0f}")
        print(f"mailstage, first paint of Home               : {med['home']:6.0f}")
        print(f"python -c pass                               : {med['pass']:6.0f}")
        for name in one_shots:
            print(f"mailstage {name:<35}: {med[name]:6.0f}")
        for name in floors:
            print(f"floor script, {name:<31}: {med['floor ' + name]:6.0f}")
        measure(f"first paint of Home, {size:,} apps", med["home"], med["bare"], 1.3)
        for name in one_shots:
            measure(f"{name}, {size:,} apps", med[name], med["pass"], 4.0)
        for name in floors:
            value, floor = med[name], med["floor " + name]
            measure(f"{name} vs the floor script, {size:,} apps", value, floor, 0)


def floor_commands(env: dict[str, str]) -> dict[str, list[str]]:
    script = [sys.executable, str(ROOT / "bench" / "startup_floor.py")]
    files = [env["MAILSTAGE_STORE"], env["MAILSTAGE_KEY_FILE"]]
    return {
        "email show QA": [*script, *files, "email-show", "QA"],
        "stage list": [*script, *files, "stage-list"],
    }


def check_same_text(command: list[str], floor: list[str], env: dict[str, str]) -> None:
    ours, theirs = (
        subprocess.run(c, env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout
        for c in (command, floor)
    )
    if ours != theirs:
        raise SystemExit(f"the floor script prints other text than {command[1:]}:\n{theirs}")


def measure(name: str, value_ms: float, baseline_ms: float, goal: float) -> None:
    """One line run_all.py collects into its summary table (goal 0: none, a reference)."""
    ratio = value_ms / baseline_ms
    shown = f"{goal:g}x" if goal else "-"
    print(f"MEASURE|{name}|{value_ms:.0f} ms|{baseline_ms:.0f} ms|{ratio:.2f}x|{shown}")


def time_command(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
