"""Store scale: open (decrypt + parse + build models) and save of stores with N apps x 3 stages
x 100 addresses, against json.loads / json.dumps of the same plaintext, and peak memory.

    python bench/bench_store.py [--sizes 100,1000,10000] [--runs 5]

Each size runs in its own process so peak memory (ru_maxrss) belongs to that size alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build(apps: int):
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


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def one_size(apps: int, runs: int) -> dict:
    from mailstage.store.filestore import StoreFile
    from mailstage.store.paths import Locations

    data = build(apps)
    folder = Path(tempfile.mkdtemp())
    loc = Locations.resolve(folder / "store.json", folder / "store.key")
    file = StoreFile.create(loc, data)
    plaintext = data.model_dump_json(context={"reveal_secrets": True})
    as_python = json.loads(plaintext)

    open_ms = median_ms(lambda: StoreFile.open(loc), runs)
    loads_ms = median_ms(lambda: json.loads(plaintext), runs)
    save_ms = median_ms(lambda: file.save(data), runs)
    dumps_ms = median_ms(lambda: json.dumps(as_python), runs)
    return {
        "apps": apps,
        "addresses": apps * 300,
        "file_mb": loc.store.stat().st_size / 1e6,
        "open_ms": open_ms,
        "json_loads_ms": loads_ms,
        "save_ms": save_ms,
        "json_dumps_ms": dumps_ms,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.runs)))
        return
    print(
        f"{'apps':>6} {'addresses':>10} {'file MB':>8} {'open ms':>9} {'loads ms':>9} "
        f"{'ratio':>6} {'save ms':>9} {'dumps ms':>9} {'ratio':>6} {'peak MB':>8}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--runs", str(args.runs)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout)
        print(
            f"{r['apps']:>6} {r['addresses']:>10} {r['file_mb']:>8.1f} {r['open_ms']:>9.1f} "
            f"{r['json_loads_ms']:>9.1f} {r['open_ms'] / r['json_loads_ms']:>5.2f}x "
            f"{r['save_ms']:>9.1f} {r['json_dumps_ms']:>9.1f} "
            f"{r['save_ms'] / r['json_dumps_ms']:>5.2f}x {r['peak_rss_mb']:>8.0f}"
        )
    print("goal: open and save within 2x of plain JSON at every size, growing linearly")


if __name__ == "__main__":
    main()
