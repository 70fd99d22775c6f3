"""Send test vs a bare aiosmtplib.send of the same message to the same loopback server.

Both go over STARTTLS with AUTH PLAIN to the capture server (self-signed certificate,
trusted through the stage's ca_file). Prints the medians and their ratio.

    python bench/bench_send.py [runs]
"""

from __future__ import annotations

import asyncio
import statistics
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


async def bench(runs: int) -> None:
    import aiosmtplib

    with (
        tempfile.TemporaryDirectory() as folder,
        CaptureServer("127.0.0.1", 0, Path(folder) / "mail", tls=True) as server,
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
        message = build_test_message(
            config, stage=stage, app=None, recipients=RECIPIENTS, user="bench"
        )
        context = client_context(config.ca_file)
        ehlo_name = await local_hostname()

        async def full() -> None:
            result = await send_test(config, stage=stage, app=None, recipients=RECIPIENTS)
            assert result.ok, result.error

        async def bare() -> None:
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


if __name__ == "__main__":
    asyncio.run(bench(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
