"""Filtering a 10,000-address test list in the editor: time per keystroke.

Opens the test-list editor through Pilot on a list of 10,000 addresses, focuses the
filter and types a query one key at a time. Each keystroke is timed from the key
press until the screen has been updated (the App's next refresh after the key was
handled). The baseline is the same keystrokes typed into a bare Input in a bare
App, measured in the same run; the figure that matters is the ratio.

    /work/venv/bin/python bench/bench_tui_filter.py [--addresses 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import Input  # noqa: E402

from mailstage.screens.test_list_editor import AddressList, TestListEditorScreen
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from mailstage.tui.app import MailstageApp

QUERY = "user12"  # narrows 10,000 -> 1,111 -> ... -> 111 as it is typed
ERASE = ["backspace"] * len(QUERY)
APPLIED: list[float] = []  # key sent -> filter applied (before the repaint), per keystroke


def _key_event(key: str) -> events.Key:
    if key == "backspace":
        return events.Key("backspace", None)
    return events.Key(key, key)


async def _type(pilot: Any, keys: list[str], done: Callable[[str], bool]) -> list[float]:
    """Send each key as Pilot does (through the driver), without Pilot's idle-wait sleeps:
    time until `done(value)` holds for the new value and the screen has repainted."""
    app = pilot.app
    value = app.focused.value
    times = []
    for key in keys:
        value = value[:-1] if key == "backspace" else value + key
        start = time.perf_counter()
        app._driver.send_message(_key_event(key))  # noqa: SLF001 - what Pilot.press does
        while not done(value):
            await asyncio.sleep(0)
        APPLIED.append(time.perf_counter() - start)
        painted = asyncio.Event()
        app.screen.call_after_refresh(painted.set)
        await painted.wait()
        times.append(time.perf_counter() - start)
    return times


async def _pilot_type(pilot: Any, keys: list[str]) -> list[float]:
    """The same through Pilot.press, which also sleeps until the process is idle."""
    times = []
    for key in keys:
        start = time.perf_counter()
        await pilot.press(key)
        times.append(time.perf_counter() - start)
    return times


class BareApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(id="bare")


async def bare_baseline(rounds: int) -> tuple[list[float], list[float]]:
    times: list[float] = []
    pilot_times: list[float] = []
    app = BareApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        box = app.query_one(Input)
        box.focus()
        await pilot.pause()

        def done(value: str) -> bool:
            return box.value == value

        for _ in range(rounds):
            times += await _type(pilot, list(QUERY), done)
            times += await _type(pilot, ERASE, done)
            pilot_times += await _pilot_type(pilot, [*QUERY, *ERASE])
    return times, pilot_times


class EditorApp(MailstageApp):
    CSS_PATH = str(Path(__file__).resolve().parents[1] / "tui" / "app.tcss")


async def editor_filter(workspace: Workspace, rounds: int) -> tuple[list[float], list[float], int]:
    times: list[float] = []
    pilot_times: list[float] = []
    app = EditorApp(workspace.file.locations, workspace=workspace, user=workspace.user)
    shown = 0
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        editor = TestListEditorScreen("Bench", "QA")
        app.push_screen(editor)
        for _ in range(50):
            await pilot.pause()
            if app.screen is editor:
                break
        await pilot.pause()
        editor.query_one("#editor-filter", Input).focus()
        await pilot.pause()

        def done(value: str) -> bool:  # the filter was applied to the list
            return editor._filter == value.strip().casefold()  # noqa: SLF001

        for _ in range(rounds):
            times += await _type(pilot, list(QUERY), done)
            shown = len(editor.query_one(AddressList).items)
            times += await _type(pilot, ERASE, done)
            pilot_times += await _pilot_type(pilot, [*QUERY, *ERASE])
        assert len(editor.query_one(AddressList).items) == len(editor.addresses)
    return times, pilot_times, shown


def make_workspace(folder: Path, count: int) -> Workspace:
    ws = Workspace.init(Locations.resolve(folder / "store.json", folder / "key"), user="bench")
    ws.add_app("Bench")
    ws.save_test_list("Bench", "QA", [f"user{i}@example.com" for i in range(count)], True)
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("NO_COLOR", "1")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HOME"] = tmp
        ws = make_workspace(Path(tmp), args.addresses)
        baseline, pilot_baseline = asyncio.run(bare_baseline(args.rounds))
        base_applied = list(APPLIED)
        APPLIED.clear()
        editor, pilot_editor, shown = asyncio.run(editor_filter(ws, args.rounds))
        edit_applied = list(APPLIED)
    base_ms = statistics.median(baseline) * 1000
    edit_ms = statistics.median(editor) * 1000
    worst_ms = max(editor) * 1000
    pilot_base_ms = statistics.median(pilot_baseline) * 1000
    pilot_edit_ms = statistics.median(pilot_editor) * 1000
    verdict = "ok" if edit_ms < 50 else "OVER"
    print(f"addresses in the list           : {args.addresses}")
    print(f"keystrokes timed                : {len(editor)} (query {QUERY!r}, typed and erased)")
    print(f"shown after the full query      : {shown}")
    print("key -> filter applied -> screen repainted (median per keystroke):")
    print(f"  bare Input in a bare App      : {base_ms:.2f} ms")
    print(f"  editor filter, 10k addresses  : {edit_ms:.2f} ms (worst {worst_ms:.2f} ms)")
    print(f"  ratio editor / bare Input     : {edit_ms / base_ms:.2f}x")
    print(f"  budget 50 ms per keystroke    : {verdict}")
    print("key -> value/filter applied, before the repaint (median per keystroke):")
    applied_base = statistics.median(base_applied) * 1000
    applied_edit = statistics.median(edit_applied) * 1000
    print(f"  bare Input                    : {applied_base:.2f} ms")
    print(f"  editor filter                 : {applied_edit:.2f} ms")
    print(f"  ratio editor / bare Input     : {applied_edit / applied_base:.2f}x")
    print("the same keys through Pilot.press (adds Pilot's idle-wait sleeps):")
    print(f"  bare Input                    : {pilot_base_ms:.2f} ms")
    print(f"  editor filter                 : {pilot_edit_ms:.2f} ms")
    print(f"  ratio                         : {pilot_edit_ms / pilot_base_ms:.2f}x")
    print(
        f"MEASURE|filter 10,000 addresses: key to applied filter|{applied_edit:.1f} ms|"
        f"{applied_base:.1f} ms|{applied_edit / applied_base:.2f}x|< 50 ms"
    )
    print(
        f"MEASURE|filter 10,000 addresses: key to repainted|{edit_ms:.1f} ms|{base_ms:.1f} ms|"
        f"{edit_ms / base_ms:.2f}x|< 50 ms"
    )


if __name__ == "__main__":
    main()
