"""The relay's memory with many large messages at once, in one run.

Upstream: bench_relay.py's counting aiosmtpd server (its own process). Relay:
`mailstage relay QA` in its own process. Clients: CLIENTS threads, each sending one
message of SIZE MiB at the same moment (smtplib). Printed per run: the relay's RSS
when idle, its peak (VmHWM) while the messages were in, and the peak above idle per
message, once with --max-messages as high as the clients (every message in at once,
the relay without a bound) and once with a lower bound. --first-attempt 600: every
app hears its message's outcome, so nothing is left in the queue for the next run.

    python bench/bench_relay_memory.py [--clients 12] [--size 25] [--bounds 12,4]
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import tempfile
import threading
from pathlib import Path

from bench_relay import make_store, start_relay, start_upstream, stop


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def big_message(size_mib: int) -> bytes:
    line = b"x" * 76 + b"\r\n"
    body = line * (size_mib * 1024 * 1024 // len(line))
    return b"From: bench@example.com\r\nTo: someone@example.com\r\nSubject: big\r\n\r\n" + body


def send_all(port: int, password: str, clients: int, data: bytes) -> int:
    """Every client sends one message at once; returns how many were answered 250."""
    accepted: list[int] = []
    start = threading.Barrier(clients)

    def work() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=600) as smtp:
            smtp.login("Bench", password)
            start.wait()
            smtp.sendmail("bench@example.com", ["someone@example.com"], data)
            accepted.append(1)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(accepted)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--size", type=int, default=25, help="MiB per message")
    parser.add_argument("--bounds", default="12,4", help="--max-messages values to run")
    args = parser.parse_args()
    data = big_message(args.size)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        upstream, port, cert = start_upstream(folder)
        assert upstream.stdin is not None
        locations, password = make_store(folder, port, cert)
        print(f"{args.clients} clients at once, one {args.size} MiB message each")
        try:
            for bound in (int(text) for text in args.bounds.split(",")):
                relay, relay_port = start_relay(
                    locations,
                    folder,
                    "--max-messages",
                    str(bound),
                    "--max-size",
                    str((args.size + 1) * 1024 * 1024),
                    "--first-attempt",
                    "600",  # each app hears the outcome: nothing left queued for the next run
                )
                try:
                    send_all(relay_port, password, 1, b"Subject: warm-up\r\n\r\nhello\r\n")
                    idle = status_kib(relay.pid, "VmRSS")
                    sent = send_all(relay_port, password, args.clients, data)
                    peak = status_kib(relay.pid, "VmHWM")
                finally:
                    stop(relay)
                above = (peak - idle) / 1024
                print(
                    f"--max-messages {bound}: {sent}/{args.clients} accepted; RSS idle "
                    f"{idle / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB, above idle "
                    f"{above:.0f} MiB ({above / min(bound, args.clients):.0f} MiB per "
                    f"message in at once, {above / args.size / min(bound, args.clients):.1f}x "
                    "its size)"
                )
        finally:
            upstream.stdin.close()
            upstream.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
