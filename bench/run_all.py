"""Run every benchmark, one after the other, and print their figures.

    python bench/run_all.py            # full sizes (store up to 10,000 apps)
    python bench/run_all.py --quick    # smaller store sizes and fewer runs

Benchmarks are never part of the test suite's pass/fail: each prints medians and a
ratio against a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = (
        len(
            [
                1
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("processor")
            ]
        )
        if Path("/proc/cpuinfo").exists()
        else 0
    )
    return (
        f"{platform.system()} {platform.machine()}, {cpu or 'unknown CPU'}, {cores} cores, "
        f"Python {platform.python_version()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    plan = [
        (
            "Startup: first paint and one-shot commands",
            [
                "bench_startup.py",
                "--runs",
                "5" if args.quick else "9",
                "--sizes",
                "0,1000" if args.quick else "0,1000,10000",
            ],
        ),
        (
            "Store scale",
            [
                "bench_store.py",
                "--sizes",
                "100,1000" if args.quick else "100,1000,10000",
                "--runs",
                "3" if args.quick else "5",
            ],
        ),
        ("Send test", ["bench_send.py", "5" if args.quick else "15"]),
        (
            "Relay vs straight to the upstream server",
            ["bench_relay.py", "--messages", "1000" if args.quick else "10000"]
            + (["--latency", "100", "--per-message", "200"] if args.quick else []),
        ),
        (
            "Relay memory with large messages at once",
            ["bench_relay_memory.py", "--size", "5" if args.quick else "25"],
        ),
        ("TUI: the Apps list at 1,000 apps", ["bench_tui_apps.py", "--rounds", "5"]),
        ("TUI: filtering a 10,000-address test list", ["bench_tui_filter.py"]),
        (
            "PostgreSQL store vs store file",
            ["bench_postgres.py", "--runs", "5" if args.quick else "9"]
            + (["--apps", "100"] if args.quick else []),
        ),
    ]
    print(f"machine: {machine()}\n")
    failed = 0
    measures: list[list[str]] = []
    for title, command in plan:
        print(f"== {title} ==", flush=True)
        result = subprocess.run(
            [sys.executable, str(HERE / command[0]), *command[1:]],
            stdout=subprocess.PIPE,
            text=True,
        )
        for line in result.stdout.splitlines():
            if line.startswith("MEASURE|"):
                measures.append(line.split("|")[1:])
            else:
                print(line, flush=True)
        failed += result.returncode != 0
        print(flush=True)
    print("== Every measure: figure, baseline in the same run, ratio, goal ==")
    width = max((len(m[0]) for m in measures), default=10)
    print(f"{'measure':<{width}}  {'figure':>10}  {'baseline':>10}  {'ratio':>7}  goal")
    for name, figure, baseline, ratio, goal in measures:
        print(f"{name:<{width}}  {figure:>10}  {baseline:>10}  {ratio:>7}  {goal}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
