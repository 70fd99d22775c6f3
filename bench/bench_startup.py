"""Start-up time of `mailstage` to its first screen vs a bare Textual app with one Label,
and of the one-shot commands (`email show QA`, `stage list`, `testlist show`) vs
`python3 -c pass` and vs the floor: bench/startup_floor.py, a stand-alone script that
opens the same file with `cryptography` and prints the same text (checked here).

Both are started the same way: a fresh Python process, headless, timed from spawn until
the first screen is on (an auto-pilot prints "ready" after the first refresh and exits).
The mailstage child goes through the CLI's parser and the same `build_app` factory,
opening a real key-file store. Runs are interleaved; prints medians and their ratio.
Beside each one-shot command's wall time goes its CPU time (user + system, from
wait4): other processes on a busy machine stretch the first much more than the second,
so the CPU ratio tells whether a change in the wall ratio is noise. The goals are on the
wall times. The floor script takes AESGCM from cryptography's bindings as mailstage
does; its "(public import)" rows show what the public import would cost.

Every child runs in a regular (non-editable) install of this tree made for the bench in
.benchvenv/current (`pip install` of the tracked files, bytecode compiled at install,
the dependencies as pinned): the console script `mailstage` an admin gets, and
`python -c pass` of that same interpreter, so both sides pay the same site-packages and
`.pth` processing (none in that venv). The development venv's editable install adds a
finder hook (it imports pathlib, re and importlib.util on every start) and
distutils-precedence.pth to every start, and PYTHONDONTWRITEBYTECODE=1 there would
compile mailstage's modules from source on every run: its `python -c pass` is printed
for reference only. ``--before REV`` also installs git revision REV in
.benchvenv/REV and times its commands interleaved with this tree's, against the same
`python -c pass`.

    .venv/bin/python bench/bench_startup.py [--runs 7] [--before main~3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENVS = ROOT / ".benchvenv"


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


def bench_install(name: str, revision: str | None) -> Path:
    """A regular install of this tree's files (or of a git revision) in .benchvenv/NAME;
    its python. The dependencies are installed once, mailstage itself every run."""
    venv = BENCH_VENVS / name
    python = venv / "bin" / "python"
    fresh = not python.exists()
    if fresh:
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "src"
        source.mkdir()
        if revision is None:
            files = subprocess.run(
                ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            ).stdout.split(b"\0")
            for name_bytes in filter(None, files):
                relative = Path(os.fsdecode(name_bytes))
                if (ROOT / relative).is_file():
                    (source / relative).parent.mkdir(parents=True, exist_ok=True)
                    (source / relative).write_bytes((ROOT / relative).read_bytes())
        else:
            archive = subprocess.run(
                ["git", "archive", "--format=tar", revision],
                cwd=ROOT,
                check=True,
                capture_output=True,
            ).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(source, filter="data")
        pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
        pip += [] if fresh else ["--no-deps", "--force-reinstall"]
        subprocess.run([*pip, str(source)], check=True, capture_output=True)
    return python


def time_child(python: Path, kind: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(python), __file__, "--child", kind],
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
    parser.add_argument("--before", metavar="REV", help="also time git revision REV's commands")
    args = parser.parse_args()
    if args.child == "bare":
        child_bare()
        return
    if args.child == "mailstage":
        child_mailstage()
        return

    python = bench_install("current", None)
    before = bench_install(args.before, args.before) if args.before else None
    dev_python = Path(sys.executable)
    one_shots = one_shot_commands(python, "")
    if before is not None:
        one_shots |= one_shot_commands(before, f" ({args.before})")
    print(f"runs each: {args.runs} (interleaved, headless, 80x24); median ms")
    print(f"baseline: {python} -c pass")
    print(f"mailstage: {python.with_name('mailstage')} (a regular install of this tree)")
    if before is not None:
        print(f"before: {before.with_name('mailstage')} (a regular install of {args.before})")
    print(f"floor: {python} bench/startup_floor.py STORE KEY_FILE ...")
    print(f"reference only: {dev_python} -c pass (the development venv, editable install)")
    for size in (int(n) for n in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            env = make_store(Path(folder), size)
            time_child(python, "bare", env)  # warm the file cache once for both
            time_child(python, "mailstage", env)
            floors = floor_commands(python, env)
            for name, floor in floors.items():
                check_same_text(one_shots[name.removesuffix(" (public import)")], floor, env)
            times: dict[str, list[float]] = {"bare": [], "home": [], "pass": [], "dev pass": []}
            times |= {name: [] for name in one_shots}
            times |= {f"floor {name}": [] for name in floors}
            cpu: dict[str, list[float]] = {name: [] for name in times}
            commands = {
                "pass": [str(python), "-c", "pass"],
                "dev pass": [str(dev_python), "-c", "pass"],
            }
            commands |= one_shots
            commands |= {f"floor {name}": command for name, command in floors.items()}
            for _ in range(args.runs):
                times["bare"].append(time_child(python, "bare", env))
                times["home"].append(time_child(python, "mailstage", env))
                for name, command in commands.items():
                    times[name].append(time_command(command, env, cpu[name]))
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        cpu_med = {k: statistics.median(v) * 1000 for k, v in cpu.items() if v}
        print(f"-- store of {size:,} apps x 3 stages x 100 addresses (wall ms; CPU ms)")
        print(f"bare Textual app with one Label, first paint : {med['bare']:6.0f}")
        print(f"mailstage, first paint of Home               : {med['home']:6.0f}")
        rows = [("python -c pass", "pass")]
        rows += [("python -c pass, development venv (reference)", "dev pass")]
        rows += [(f"mailstage {name}", name) for name in one_shots]
        rows += [(f"floor script, {name}", f"floor {name}") for name in floors]
        for label, name in rows:
            print(f"{label:<45}: {med[name]:6.0f}  {cpu_med[name]:6.1f}")
        measure(f"first paint of Home, {size:,} apps", med["home"], med["bare"], 1.3)
        for name in one_shots:
            measure(f"{name}, {size:,} apps", med[name], med["pass"], 4.0)
            measure(f"{name}, {size:,} apps, CPU", cpu_med[name], cpu_med["pass"], 0)
        for name in floors:
            if name in one_shots:
                value, floor = med[name], med["floor " + name]
                measure(f"{name} vs the floor script, {size:,} apps", value, floor, 0)


def one_shot_commands(python: Path, suffix: str) -> dict[str, list[str]]:
    mailstage = str(python.with_name("mailstage"))
    return {
        f"email show QA{suffix}": [mailstage, "email", "show", "QA"],
        f"stage list{suffix}": [mailstage, "stage", "list"],
        f"testlist show Shop{suffix}": [mailstage, "testlist", "show", "Shop", "--stage", "QA"],
    }


def floor_commands(python: Path, env: dict[str, str]) -> dict[str, list[str]]:
    """The floor script per command it mirrors; "(public import)": the same script with
    cryptography's public AESGCM import (for reference: what the bindings import saves)."""
    script = [str(python), str(ROOT / "bench" / "startup_floor.py")]
    files = [env["MAILSTAGE_STORE"], env["MAILSTAGE_KEY_FILE"]]
    floors = {
        "email show QA": [*script, *files, "email-show", "QA"],
        "stage list": [*script, *files, "stage-list"],
    }
    floors |= {f"{name} (public import)": [*c, "--public-import"] for name, c in floors.items()}
    return floors


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


def time_command(command: list[str], env: dict[str, str], cpu: list[float]) -> float:
    """Wall time from spawn to exit; the child's CPU time (user + system) goes to ``cpu``:
    other processes on the machine stretch the first far more than the second."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{command} exited {child.returncode}")
    cpu.append(usage.ru_utime + usage.ru_stime)
    return elapsed


if __name__ == "__main__":
    main()
