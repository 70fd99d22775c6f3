"""The Apps list at scale (1,000 apps x 3 stages x 100 addresses by default), through Pilot.

Three figures, each timed in the running App (headless, 80x24), median of the rounds:
- open: Home's "Apps" until the list is filled and painted;
- back to it: Esc from an app's configuration until the list is painted again;
- quick toggle: the toggle key until the new generation is on disk (saved and audited).
Baseline, in the same run: a bare App that pushes a screen with one Label (open, back).

    python bench/bench_tui_apps.py [--apps 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Label

from mailstage.screens.app_config import AppConfigScreen
from mailstage.screens.apps import AppsScreen
from mailstage.store.filestore import StoreFile
from mailstage.store.models import App as MailApp
from mailstage.store.models import StoreData, TestList
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from mailstage.tui.app import MailstageApp

GOALS_MS = {"open": 100.0, "back": 20.0, "toggle": 50.0}


def build_store(folder: Path, apps: int) -> Locations:
    loc = Locations(folder / "store.json", folder / "store.key")
    ws = Workspace.init(loc, user="bench")
    data: StoreData = ws.data
    stages = [s.name for s in data.stages]
    for i in range(apps):
        lists = {
            stage: TestList.model_construct(
                addresses=[f"tester{j}.{stage.lower()}@app{i}.example.com" for j in range(100)],
                active=bool(i % 2),
            )
            for stage in stages
        }
        data.apps.append(MailApp.model_construct(name=f"App {i:05}", test_lists=lists))
    ws.file.save(data)
    return loc


async def painted(app: App[Any]) -> None:
    done = asyncio.Event()
    app.screen.call_after_refresh(done.set)
    await done.wait()


async def until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0)


class BenchApp(MailstageApp):
    CSS_PATH = str(Path(__file__).resolve().parents[1] / "tui" / "app.tcss")


async def mailstage_rounds(loc: Locations, rounds: int) -> dict[str, list[float]]:
    ws = Workspace.open(loc, user="bench")
    app = BenchApp(loc, workspace=ws, user="bench")
    out: dict[str, list[float]] = {"open": [], "back": [], "toggle": []}
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for _ in range(rounds):
            start = time.perf_counter()
            app.open_apps()
            await until(lambda: isinstance(app.screen, AppsScreen))
            await until(lambda: bool(app.screen.query("#apps-table")))
            table = app.screen.query_one("#apps-table", DataTable)
            await until(lambda t=table: t.row_count == len(ws.data.apps))
            await painted(app)
            out["open"].append(time.perf_counter() - start)
            apps_screen = app.screen

            app.push_screen(AppConfigScreen(ws.data.apps[3].name))
            await until(lambda: isinstance(app.screen, AppConfigScreen))
            await pilot.pause()
            start = time.perf_counter()
            app.pop_screen()
            await until(lambda s=apps_screen: app.screen is s)
            await painted(app)
            out["back"].append(time.perf_counter() - start)

            await pilot.pause()
            generation = StoreFile.disk_generation(ws.file)
            start = time.perf_counter()
            app._driver.send_message(events.Key("space", " "))  # noqa: SLF001 - as Pilot.press
            await until(lambda g=generation: StoreFile.disk_generation(ws.file) != g)
            out["toggle"].append(time.perf_counter() - start)
            await pilot.pause()
            app.pop_screen()
            await pilot.pause()
    return out


class OneLabel(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Label("Hello")


class BareApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Label("Home")


async def bare_rounds(rounds: int) -> dict[str, list[float]]:
    app = BareApp()
    out: dict[str, list[float]] = {"open": [], "back": []}
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for _ in range(rounds):
            start = time.perf_counter()
            screen = OneLabel()
            app.push_screen(screen)
            await until(lambda s=screen: app.screen is s)
            await painted(app)
            out["open"].append(time.perf_counter() - start)
            app.push_screen(OneLabel())
            await pilot.pause()
            start = time.perf_counter()
            app.pop_screen()
            await until(lambda s=screen: app.screen is s)
            await painted(app)
            out["back"].append(time.perf_counter() - start)
            app.pop_screen()
            await pilot.pause()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("NO_COLOR", "1")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HOME"] = tmp
        loc = build_store(Path(tmp), args.apps)
        bare = asyncio.run(bare_rounds(args.rounds))
        ours = asyncio.run(mailstage_rounds(loc, args.rounds))
    print(f"apps: {args.apps} x 3 stages x 100 addresses; rounds: {args.rounds}; 80x24 headless")
    print(f"{'measure':<34} {'median ms':>10} {'bare ms':>8} {'goal ms':>8}  verdict")
    for key, label in (
        ("open", "Apps list open (filled, painted)"),
        ("back", "back to it (painted)"),
        ("toggle", "quick toggle key -> saved file"),
    ):
        ms = statistics.median(ours[key]) * 1000
        base = f"{statistics.median(bare[key]) * 1000:8.1f}" if key in bare else f"{'-':>8}"
        verdict = "ok" if ms < GOALS_MS[key] else "OVER"
        print(f"{label:<34} {ms:10.1f} {base} {GOALS_MS[key]:8.0f}  {verdict}")
        print(
            f"MEASURE|Apps list at {args.apps:,} apps: {label}|{ms:.1f} ms|{base.strip()} ms|"
            f"-|< {GOALS_MS[key]:.0f} ms"
        )


if __name__ == "__main__":
    main()
