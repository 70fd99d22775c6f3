"""Store scale: N apps x 3 stages x 100 addresses, against baselines measured in the
same process on the same plaintext, with the garbage collector off on BOTH sides
(with ~1 GB of objects alive, a collection pass triples json.loads' time):

- open (read, authenticate, decrypt, build the models) vs json.loads of the plaintext;
- save (serialize, encrypt, write, fsync, keep .bak) vs the serializer alone
  (pydantic's dump_json of the same models, straight to bytes);
- a quick toggle's save (one app changed) and adding one address to a 100,000-address
  list, vs reading the store (issue 11: work that grew with the list);
- a save with 100,000 audit events vs one with 20,000 (older ones archived).

    python bench/bench_store.py [--sizes 100,1000,10000] [--runs 5]

Each size runs in its own process so peak memory (ru_maxrss) belongs to that size alone.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def build(apps: int) -> Any:
    from mailstage.store.models import App, StoreData, TestList

    data = StoreData()
    stages = [s.name for s in data.stages]
    for i in range(apps):
        lists = {
            stage: TestList.model_construct(
                addresses=[f"tester{j}.{stage.lower()}@app{i}.example.com" for j in range(100)],
                active=bool(i % 2),
            )
            for stage in stages
        }
        data.apps.append(App.model_construct(name=f"App {i}", test_lists=lists, studio_list=[]))
    return data


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        gc.disable()  # both sides alike: the store's own paths pause the GC too
        try:
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        finally:
            gc.enable()
    return statistics.median(times)


def one_size(apps: int, runs: int) -> dict[str, Any]:
    from mailstage.store.filestore import StoreFile
    from mailstage.store.paths import Locations
    from mailstage.store.workspace import Workspace

    data = build(apps)
    folder = Path(tempfile.mkdtemp())
    loc = Locations.resolve(folder / "store.json", folder / "store.key")
    file = StoreFile.create(loc, data)
    plaintext = data.model_dump_json(context={"reveal_secrets": True}).encode()

    open_ms = median_ms(lambda: StoreFile.open(loc), runs)
    loads_ms = median_ms(lambda: json.loads(plaintext), runs)
    save_ms = median_ms(lambda: file.save(data), runs)
    dumps_ms = median_ms(
        lambda: data.model_dump_json(context={"reveal_secrets": True}).encode(), runs
    )
    ws = Workspace(*StoreFile.open(loc), user="bench")
    ws.data.organization.members["bench"] = "Organization Administrator"
    ws.file.save(ws.data)
    name = ws.data.apps[len(ws.data.apps) // 2].name
    state = {"on": False}

    def toggle() -> None:
        state["on"] = not state["on"]
        ws.set_test_list_active(name, "QA", state["on"])

    toggle_ms = median_ms(toggle, runs)
    return {
        "apps": apps,
        "addresses": apps * 300,
        "file_mb": loc.store.stat().st_size / 1e6,
        "open_ms": open_ms,
        "json_loads_ms": loads_ms,
        "save_ms": save_ms,
        "dump_ms": dumps_ms,
        "toggle_ms": toggle_ms,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def big_list(runs: int, count: int = 100_000) -> dict[str, float]:
    """One app whose QA list holds ``count`` addresses: add one, toggle, vs open."""
    from mailstage.store.filestore import StoreFile
    from mailstage.store.models import App, TestList
    from mailstage.store.paths import Locations
    from mailstage.store.workspace import Workspace

    folder = Path(tempfile.mkdtemp())
    loc = Locations.resolve(folder / "store.json", folder / "store.key")
    ws = Workspace.init(loc, user="bench")
    addresses = [f"user{i}@example.com" for i in range(count)]
    lists = {"QA": TestList.model_construct(addresses=addresses, active=False)}
    ws.data.apps.append(App.model_construct(name="Big", test_lists=lists, studio_list=[]))
    ws.file.save(ws.data)
    counter = {"n": 0, "on": False}

    def add_one() -> None:
        counter["n"] += 1
        ws.add_to_test_list("Big", "QA", [f"new{counter['n']}@example.com"])

    def toggle() -> None:
        counter["on"] = not counter["on"]
        ws.set_test_list_active("Big", "QA", counter["on"])

    return {
        "open_ms": median_ms(lambda: StoreFile.open(loc), runs),
        "add_ms": median_ms(add_one, runs),
        "toggle_ms": median_ms(toggle, runs),
    }


def audit_saves(runs: int) -> dict[str, float]:
    """A save's cost with 20,000 audit events and with 100,000 (both archived down to
    the bound), and with 1,000 for scale."""
    from mailstage.store.models import AuditEvent
    from mailstage.store.paths import Locations
    from mailstage.store.workspace import Workspace

    out = {}
    for events in (1_000, 20_000, 100_000):
        folder = Path(tempfile.mkdtemp())
        ws = Workspace.init(
            Locations.resolve(folder / "store.json", folder / "store.key"), user="bench"
        )
        at = datetime(2026, 1, 1, tzinfo=UTC)
        ws.data.audit.extend(
            AuditEvent(at=at, user="bench", action="bulk", target=f"event {i}")
            for i in range(events)
        )
        ws.file.save(ws.data)  # archives past the bound
        out[str(events)] = median_ms(_member_adder(ws), runs)
    return out


def _member_adder(ws: Any) -> Callable[[], None]:
    counter = {"n": 0}

    def add_member() -> None:
        counter["n"] += 1
        ws.set_member(f"user{counter['n']}", "Viewer")

    return add_member


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--extras", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.runs)))
        return
    if args.extras:
        print(json.dumps({"big": big_list(args.runs), "audit": audit_saves(args.runs)}))
        return
    print(
        f"{'apps':>6} {'addresses':>10} {'file MB':>8} {'open ms':>9} {'loads ms':>9} "
        f"{'ratio':>6} {'save ms':>9} {'dump ms':>9} {'ratio':>6} {'toggle ms':>10} "
        f"{'peak MB':>8}"
    )
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--runs", str(args.runs)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout)
        results.append(r)
        print(
            f"{r['apps']:>6} {r['addresses']:>10} {r['file_mb']:>8.1f} {r['open_ms']:>9.1f} "
            f"{r['json_loads_ms']:>9.1f} {r['open_ms'] / r['json_loads_ms']:>5.2f}x "
            f"{r['save_ms']:>9.1f} {r['dump_ms']:>9.1f} "
            f"{r['save_ms'] / r['dump_ms']:>5.2f}x {r['toggle_ms']:>10.1f} {r['peak_rss_mb']:>8.0f}"
        )
    print("goal: open within 2x of json.loads, save within 1.2x of the serializer (GC off both)")
    out = subprocess.run(
        [sys.executable, __file__, "--extras", "--runs", str(args.runs)],
        capture_output=True,
        text=True,
        check=True,
    )
    extras = json.loads(out.stdout)
    big, audit = extras["big"], extras["audit"]
    print(
        f"100,000-address list: open {big['open_ms']:.1f} ms, add one address "
        f"{big['add_ms']:.1f} ms ({big['add_ms'] / big['open_ms']:.2f}x open), toggle "
        f"{big['toggle_ms']:.1f} ms ({big['toggle_ms'] / big['open_ms']:.2f}x open)"
    )
    print(
        f"a save with 1,000 audit events: {audit['1000']:.1f} ms; with 20,000: "
        f"{audit['20000']:.1f} ms; with 100,000: {audit['100000']:.1f} ms "
        f"({audit['100000'] / audit['20000']:.2f}x; the store keeps at most 11,000)"
    )
    for r in results:
        apps = f"{r['apps']:,}"
        measure(f"store open, {apps} apps", r["open_ms"], r["json_loads_ms"], 2.0)
        measure(f"store save, {apps} apps", r["save_ms"], r["dump_ms"], 1.2)
    measure("add one address to 100,000 (vs open)", big["add_ms"], big["open_ms"], 1.0)
    measure("toggle a 100,000-address list (vs open)", big["toggle_ms"], big["open_ms"], 1.0)
    measure("save, 100,000 vs 20,000 audit events", audit["100000"], audit["20000"], 1.2)


def measure(name: str, value_ms: float, baseline_ms: float, goal: float) -> None:
    """One line run_all.py collects into its summary table."""
    ratio = value_ms / baseline_ms
    print(f"MEASURE|{name}|{value_ms:.1f} ms|{baseline_ms:.1f} ms|{ratio:.2f}x|{goal:g}x")


if __name__ == "__main__":
    main()
