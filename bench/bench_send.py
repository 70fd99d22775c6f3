"""Send test vs a bare aiosmtplib.send of the same message to the same loopback server.

Both go over STARTTLS with AUTH PLAIN to the capture server (self-signed certificate,
trusted through the stage's ca_file), and both compose their message on each send (the
bare side builds the same test message, then sends it). Prints the medians and their
ratio, and each side's first send in a fresh process (which pays for the system
certificate store and the imports) separately.

    python bench/bench_send.py [runs]
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mailstage.mailer.capture import CaptureServer
from mailstage.mailer.message import build_test_message
from mailstage.mailer.send_test import send_test
from mailstage.mailer.smtp_session import local_hostname
from mailstage.mailer.tls import client_context
from mailstage.store.models import EmailConfig, Stage

RECIPIENTS = ["dev@example.com"]


async def bench(runs: int, first: str | None = None) -> None:
    import aiosmtplib

    with (
        tempfile.TemporaryDirectory() as folder,
        CaptureServer(
            "127.0.0.1", 0, Path(folder) / "mail", tls=True, max_connections=64
        ) as server,
    ):
        config = EmailConfig.model_validate(
            {
                "server": "127.0.0.1",
                "port": server.port,
                "ca_file": str(server.cert_file),
                "auth": {"type": "basic", "username": "bench", "password": "bench-password"},
                "sender_email": "noreply@example.com",
            }
        )
        stage = Stage(name="QA")
        ehlo_name = await local_hostname()
        context = client_context(config.ca_file)  # made once, as Send test reuses its own

        async def full() -> None:
            result = await send_test(config, stage=stage, app=None, recipients=RECIPIENTS)
            assert result.ok, result.error

        async def bare() -> None:
            message = build_test_message(
                config, stage=stage, app=None, recipients=RECIPIENTS, user="bench"
            )
            await aiosmtplib.send(
                message,
                hostname="127.0.0.1",
                port=server.port,
                username="bench",
                password="bench-password",
                start_tls=True,
                tls_context=context,
                local_hostname=ehlo_name,
            )

        if first is not None:  # one send in this fresh process
            started = time.perf_counter()
            await (full() if first == "send_test" else bare())
            print(f"{(time.perf_counter() - started) * 1000:.2f}")
            return
        await full()  # warm up both paths (imports, caches)
        await bare()
        timings: dict[str, list[float]] = {"send_test": [], "aiosmtplib.send": []}
        for _ in range(runs):
            for name, action in (("send_test", full), ("aiosmtplib.send", bare)):
                started = time.perf_counter()
                await action()
                timings[name].append(time.perf_counter() - started)

    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, value in medians.items():
        print(f"{name:<16} median {value * 1000:7.2f} ms over {runs} runs")
    ratio = medians["send_test"] / medians["aiosmtplib.send"]
    print(f"ratio send_test / aiosmtplib.send: {ratio:.2f}")
    firsts = {name: first_send(name) for name in ("send_test", "bare")}
    print(
        f"first send in a fresh process: send_test {firsts['send_test']:.1f} ms, "
        f"bare {firsts['bare']:.1f} ms"
    )
    s_ms, b_ms = medians["send_test"] * 1000, medians["aiosmtplib.send"] * 1000
    print(
        f"MEASURE|Send test (Basic, STARTTLS, loopback)|{s_ms:.1f} ms|{b_ms:.1f} ms|"
        f"{ratio:.2f}x|1.2x"
    )


def first_send(name: str) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "1", "--first", name], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10
    which = sys.argv[sys.argv.index("--first") + 1] if "--first" in sys.argv else None
    asyncio.run(bench(runs, which))
