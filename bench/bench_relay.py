"""The relay vs sending straight to the same upstream server, in one run.

Upstream: an aiosmtpd server in its own process (STARTTLS with a self-signed
certificate, AUTH PLAIN required, counts messages). Relay: `mailstage relay QA` in its
own process, configured (Basic auth, ca_file) for that upstream. Clients: Python's
smtplib in threads, each logging in once and sending its messages on one connection,
the same way in both paths (straight: STARTTLS + AUTH to upstream; relay: AUTH to the
relay on loopback).

Prints: throughput against the relay of an earlier revision (``--against``, default
f3c4635^: the commit before every login and routing decision checked the store's
signature), both relays serving the same store and upstream, the same clients sending
to one then the other in alternating rounds, the ratio per round and its median (the
current relay with --no-queue, the path the old one had); then throughput with 8
concurrent clients (relay / direct ratio), once with each
client keeping its connection and once with a connection per message (what most app
mail libraries do: there the relay's reused upstream connections spare the TLS
handshake and login of every message), added latency per
message (median and p99 of one client sending one message at a time), and the relay's
RSS before and after 10,000 messages.

    python bench/bench_relay.py [--messages 10000] [--latency 300] [--per-message 800]
        [--against REV] [--rounds 10] [--round-messages 300] [--compare-only]
        [--queue-only [--queue-rounds 3]]

``--queue-only`` runs only the queue / --no-queue / direct comparison, in rounds whose
order alternates (each round prints its ratios; the medians end the line).
"""

from __future__ import annotations

import argparse
import os
import re
import smtplib
import ssl
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path

from pydantic import SecretStr

from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace

CLIENTS = 8
USER, PASSWORD = "bench-user", "bench-password"
REPO = Path(__file__).resolve().parents[1]  # the repository root is the package
BEFORE_SIGNATURE_CHECK = "f3c4635^"


# -- the upstream server (run as: bench_relay.py --upstream CERT KEY) -----------------


def run_upstream(cert: str, key: str) -> None:
    import logging

    from aiosmtpd.smtp import AuthResult

    from mailstage.mailer.capture import free_port_controller

    logging.getLogger("mail.log").setLevel(logging.ERROR)  # a deprecation line per login

    count = 0
    lock = threading.Lock()

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            nonlocal count
            with lock:
                count += 1
            return "250 2.0.0 OK"

    def login(*args: object) -> AuthResult:
        return AuthResult(success=True)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = free_port_controller(
        Handler(),
        host="127.0.0.1",
        port=0,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=login,
    )
    controller.start()
    print(controller.port, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
    controller.stop()
    print(count, flush=True)


# -- clients ----------------------------------------------------------------------------


def message(number: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "bench@example.com"
    mail["To"] = "someone@example.com"
    mail["Subject"] = f"bench {number}"
    mail.set_content("x" * 2000)
    return mail


Connect = Callable[[], smtplib.SMTP]


def direct_client(port: int, ca_file: str) -> Connect:
    context = ssl.create_default_context(cafile=ca_file)

    def connect() -> smtplib.SMTP:
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=120)
        smtp.starttls(context=context)
        smtp.login(USER, PASSWORD)
        return smtp

    return connect


def relay_client(port: int, password: str) -> Connect:
    def connect() -> smtplib.SMTP:
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=120)
        smtp.login("Bench", password)
        return smtp

    return connect


def throughput(connect: Connect, total: int, *, per_message: bool = False) -> float:
    """Messages a second with CLIENTS threads sharing ``total`` messages; each client keeps
    one connection, or (per_message) opens one for every message as most app mail
    libraries do."""
    per_client = total // CLIENTS
    errors: list[BaseException] = []

    def work() -> None:
        try:
            if per_message:
                for number in range(per_client):
                    smtp = connect()
                    smtp.send_message(message(number))
                    smtp.quit()
                return
            smtp = connect()
            for number in range(per_client):
                smtp.send_message(message(number))
            smtp.quit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return per_client * CLIENTS / elapsed


def latencies(connect: Connect, count: int) -> list[float]:
    smtp = connect()
    times = []
    for number in range(count):
        started = time.perf_counter()
        smtp.send_message(message(number))
        times.append((time.perf_counter() - started) * 1000)
    smtp.quit()
    return times


def p99(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.99) - 1)]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# -- set-up -----------------------------------------------------------------------------


def start_upstream(folder: Path) -> tuple[subprocess.Popen[str], int, Path]:
    """The counting upstream in its own process, with a self-signed certificate in
    ``folder``; returns it, its port and the certificate (the relay's ca_file). Close its
    stdin to stop it; it then prints how many messages it took."""
    from mailstage.mailer.selfsigned import self_signed_pem

    cert_pem, key_pem = self_signed_pem(["localhost", "127.0.0.1"])
    cert, key = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(cert_pem)
    key.write_bytes(key_pem)
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--upstream", str(cert), str(key)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert upstream.stdout is not None
    return upstream, int(upstream.stdout.readline()), cert


def make_store(folder: Path, port: int, ca_file: Path) -> tuple[Locations, str]:
    locations = Locations.resolve(folder / "data" / "store.json", folder / "conf" / "store.key")
    ws = Workspace.init(locations, user="bench")
    ws.set_email(
        "QA",
        ws.email_from_options(
            "QA",
            {
                "server": "127.0.0.1",
                "port": port,
                "auth": "basic",
                "username": USER,
                "password": SecretStr(PASSWORD),
                "sender_email": "noreply@example.com",
                "ca_file": str(ca_file),
            },
        ),
    )
    ws.add_app("Bench")
    return locations, ws.make_relay_credentials("Bench", "QA", rotate=False)


def drain(stream: object) -> None:
    for _ in stream:  # type: ignore[attr-defined]
        pass


def old_tree(revision: str, folder: Path) -> Path:
    """The package as it was at ``revision`` (git archive), under folder/old/mailstage;
    returns the folder to put on PYTHONPATH."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision],
        capture_output=True,
        check=True,
    ).stdout
    target = folder / "old" / "mailstage"
    target.mkdir(parents=True)
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    env = dict(os.environ, PYTHONPATH=str(target.parent))
    where = subprocess.run(
        [sys.executable, "-c", "import mailstage.relay as r; print(r.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    if not Path(where).is_relative_to(target):
        raise RuntimeError(f"the old revision's package is shadowed by {where}")
    return target.parent


def start_relay(
    locations: Locations,
    folder: Path,
    *extra: str,
    package: Path | None = None,
) -> tuple[subprocess.Popen[str], int]:
    """The relay of this tree, or (``package``) of the tree under that folder."""
    mailstage = Path(sys.executable).parent / "mailstage"
    env = dict(
        os.environ,
        MAILSTAGE_STORE=str(locations.store),
        MAILSTAGE_KEY_FILE=str(locations.key_file),
        HOME=str(folder),
    )
    command = [str(mailstage)]
    if package is not None:
        env["PYTHONPATH"] = str(package)
        command = [sys.executable, "-m", "mailstage.cli.main"]
    if os.environ.get("BENCH_RELAY_PROFILE"):  # a cProfile of the relay, written at its exit
        profile = os.environ["BENCH_RELAY_PROFILE"]
        command = [sys.executable, "-m", "cProfile", "-o", profile, "-m", "mailstage.cli.main"]
    process = subprocess.Popen(
        [*command, "relay", "QA", "--listen", "127.0.0.1:0", *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"listening on \S+ port (\d+)", line)
        if found:
            # keep draining stderr (one line a message) so the relay never blocks on it
            threading.Thread(target=drain, args=(process.stderr,), daemon=True).start()
            return process, int(found.group(1))
    raise RuntimeError("the relay did not start")


def queue_comparison(
    locations: Locations,
    folder: Path,
    direct: Connect,
    password: str,
    total: int,
    rounds: int = 3,
) -> str:
    """The queue's cost, in one run: the default relay (each message appended to its
    journal encrypted and fdatasynced, several per sync, before it goes upstream; marked
    done after), the same relay with --no-queue, and direct; 8 clients, one connection
    each. Both relays run throughout; ``rounds`` rounds of total/rounds messages each,
    the order rotating, each round's ratios taken against that round's direct rate (a
    machine whose load changes moves all three of a round alike)."""
    relays = [start_relay(locations, folder), start_relay(locations, folder, "--no-queue")]
    try:
        connects = {
            "queue": relay_client(relays[0][1], password),
            "no-queue": relay_client(relays[1][1], password),
            "direct": direct,
        }
        for connect in connects.values():
            throughput(connect, CLIENTS * 25)  # warm-up
        names = list(connects)
        rates: dict[str, list[float]] = {name: [] for name in names}
        for number in range(rounds):
            for name in names[number % 3 :] + names[: number % 3]:
                rates[name].append(throughput(connects[name], max(CLIENTS, total // rounds)))
    finally:
        for relay, _ in relays:
            stop(relay)

    def ratios(name: str, over: str = "direct") -> list[float]:
        return [a / b for a, b in zip(rates[name], rates[over], strict=True)]

    median = statistics.median
    return (
        f"queue vs --no-queue vs direct ({total:,} messages in {rounds} rounds, {CLIENTS} "
        f"clients; medians): queue {median(rates['queue']):,.0f} msg/s "
        f"({median(ratios('queue')):.2f}x direct, goal >= 0.7x), --no-queue "
        f"{median(rates['no-queue']):,.0f} msg/s ({median(ratios('no-queue')):.2f}x), "
        f"direct {median(rates['direct']):,.0f} msg/s; queue / --no-queue "
        f"{median(ratios('queue', 'no-queue')):.2f}x; per round queue/direct "
        + " ".join(f"{r:.2f}" for r in ratios("queue"))
        + ", --no-queue/direct "
        + " ".join(f"{r:.2f}" for r in ratios("no-queue"))
    )


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=60)


def against_revision(
    locations: Locations, folder: Path, password: str, revision: str, rounds: int, size: int
) -> tuple[list[float], list[float]]:
    """Throughput (msg/s) of this tree's relay and of ``revision``'s, round after round,
    the order alternating so that neither always runs on a warmer (or busier) machine."""
    old, old_port = start_relay(locations, folder, package=old_tree(revision, folder))
    # --no-queue: the old relay answered only once upstream had, so the same path is compared
    new, new_port = start_relay(locations, folder, "--no-queue")
    try:
        clients = {"old": relay_client(old_port, password), "new": relay_client(new_port, password)}
        for connect in clients.values():
            throughput(connect, CLIENTS * 25)  # warm-up: pool filled, code paths loaded
        rates: dict[str, list[float]] = {"old": [], "new": []}
        for number in range(rounds):
            order: Sequence[str] = ("old", "new") if number % 2 == 0 else ("new", "old")
            for which in order:
                rates[which].append(throughput(clients[which], size))
    finally:
        stop(old)
        stop(new)
    return rates["new"], rates["old"]


def print_against(revision: str, new: list[float], old: list[float]) -> None:
    ratios = [n / o for n, o in zip(new, old, strict=True)]
    print(
        f"throughput against {revision} (before the per-message store-signature check), "
        f"{len(new)} alternating rounds: this tree {statistics.median(new):,.0f} msg/s, "
        f"{revision} {statistics.median(old):,.0f} msg/s (medians); ratio median "
        f"{statistics.median(ratios):.2f}x, per round "
        + " ".join(f"{ratio:.2f}" for ratio in ratios)
        + " (target >= 0.95x: no loss beyond noise)"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", nargs=2, metavar=("CERT", "KEY"), help=argparse.SUPPRESS)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--latency", type=int, default=300)
    parser.add_argument(
        "--per-message", type=int, default=800, help="messages in the connection-per-message run"
    )
    parser.add_argument(
        "--queue-only", action="store_true", help="only the queue / --no-queue / direct run"
    )
    parser.add_argument("--queue-rounds", type=int, default=3)
    parser.add_argument("--against", default=BEFORE_SIGNATURE_CHECK, metavar="REV")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--round-messages", type=int, default=300)
    parser.add_argument(
        "--compare-only", action="store_true", help="only the run against --against"
    )
    args = parser.parse_args()
    if args.upstream:
        run_upstream(*args.upstream)
        return 0

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        upstream, port, cert = start_upstream(folder)
        assert upstream.stdout is not None and upstream.stdin is not None
        locations, password = make_store(folder, port, cert)
        if args.queue_only:
            try:
                print(
                    queue_comparison(
                        locations,
                        folder,
                        direct_client(port, str(cert)),
                        password,
                        args.messages,
                        args.queue_rounds,
                    )
                )
            finally:
                upstream.stdin.close()
                upstream.wait(timeout=60)
            return 0
        try:
            new_rates, old_rates = against_revision(
                locations, folder, password, args.against, args.rounds, args.round_messages
            )
        except BaseException:
            upstream.stdin.close()
            upstream.wait(timeout=60)
            raise
        print_against(args.against, new_rates, old_rates)
        if args.compare_only:
            upstream.stdin.close()
            upstream.wait(timeout=60)
            return 0
        relay, relay_port = start_relay(locations, folder)
        try:
            direct = direct_client(port, str(cert))
            through = relay_client(relay_port, password)
            throughput(through, CLIENTS * 25)  # warm-up: pool filled, code paths loaded
            throughput(direct, CLIENTS * 25)
            rss_before = rss_kib(relay.pid)
            relay_rate = throughput(through, args.messages)
            rss_after = rss_kib(relay.pid)
            direct_rate = throughput(direct, args.messages)
            relay_new = throughput(through, args.per_message, per_message=True)
            direct_new = throughput(direct, args.per_message, per_message=True)
            relay_ms = latencies(through, args.latency)
            direct_ms = latencies(direct, args.latency)
        finally:
            stop(relay)
        try:
            queue_line = queue_comparison(
                locations, folder, direct, password, args.messages, args.queue_rounds
            )
        finally:
            upstream.stdin.close()
            upstream.wait(timeout=60)
        delivered = int(upstream.stdout.readline() or 0)

    added_median = statistics.median(relay_ms) - statistics.median(direct_ms)
    print(f"clients: {CLIENTS} concurrent, one connection each; upstream delivered {delivered}")
    print(
        f"throughput, one connection per client ({args.messages:,} messages): direct "
        f"{direct_rate:,.0f} msg/s, through the relay {relay_rate:,.0f} msg/s, ratio "
        f"{relay_rate / direct_rate:.2f}x (target >= 0.8x)"
    )
    print(
        f"throughput, a connection per message ({args.per_message:,} messages): direct "
        f"{direct_new:,.0f} msg/s, through the relay {relay_new:,.0f} msg/s, ratio "
        f"{relay_new / direct_new:.2f}x (target >= 0.8x)"
    )
    print(
        f"latency per message: direct median {statistics.median(direct_ms):.2f} ms "
        f"p99 {p99(direct_ms):.2f} ms; relay median {statistics.median(relay_ms):.2f} ms "
        f"p99 {p99(relay_ms):.2f} ms; added median {added_median:.2f} ms "
        f"p99 {p99(relay_ms) - p99(direct_ms):.2f} ms (target < 5 ms at the median)"
    )
    print(queue_line)
    print(
        f"relay RSS: {rss_before / 1024:.1f} MiB after warm-up, {rss_after / 1024:.1f} MiB "
        f"after {args.messages:,} more messages ({(rss_after - rss_before) / 1024:+.1f} MiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
