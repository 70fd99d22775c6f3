"""`mailstage app credentials` (an app's relay password for a stage) and `mailstage relay`."""

from __future__ import annotations

import argparse
from typing import Any

from mailstage.cli.arg_types import count
from mailstage.cli.context import CliContext
from mailstage.cli.output import pairs, to_json
from mailstage.store.errors import InvalidInput

DEFAULT_PORT = 1587
SYSTEMD_CREDENTIAL = "mailstage-passphrase"


def register(groups: dict[str, Any]) -> None:
    p = groups["app"].add_parser(
        "credentials",
        help="make (or --rotate) the app's relay password for a stage; printed once",
        description="Makes the password the app uses to log in to `mailstage relay STAGE` "
        "(username: the app's name). It is printed once; the store keeps only a hash. "
        "--rotate replaces existing credentials: the old password stops working.",
    )
    p.add_argument("app")
    p.add_argument("--stage", required=True)
    p.add_argument("--rotate", action="store_true", help="replace existing credentials")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_app_credentials)

    p = groups["root"].add_parser(
        "relay",
        help="serve a stage: apps send their mail through it (SMTP submission)",
        description="An SMTP submission service for one stage. Apps log in with their name "
        "and the password from `mailstage app credentials`; each message follows the app's "
        "test list and goes out through the stage's configuration. Each message is written "
        "to the relay's queue (encrypted, beside the store file, or the table "
        "mailstage_queue of a PostgreSQL store) before it goes upstream; the "
        "app hears the server's own answer within --first-attempt seconds, else `250 "
        "Queued as ID` and the relay retries (see `mailstage queue`). --no-queue: the app "
        "hears the server's answer, 451 when it cannot be sent now. SIGHUP reloads the "
        "store; SIGTERM lets messages in flight finish, then exits.",
    )
    p.add_argument("stage")
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=f"127.0.0.1:{DEFAULT_PORT}",
        help=f"default 127.0.0.1:{DEFAULT_PORT}; a non-loopback address needs --tls-cert",
    )
    p.add_argument("--tls-cert", metavar="PEM", help="certificate chain; STARTTLS is then required")
    p.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    p.add_argument(
        "--upstream-connections",
        type=count,
        default=3,
        metavar="N",
        help="at most N connections to the stage's server at a time (default 3)",
    )
    p.add_argument(
        "--max-connections",
        type=count,
        default=200,
        metavar="N",
        help="at most N app connections at a time; more are answered 421 and closed "
        "(default 200; keep it below the file limit, LimitNOFILE= in a systemd unit)",
    )
    p.add_argument(
        "--max-messages",
        type=count,
        default=16,
        metavar="N",
        help="at most N messages held in memory at once (received and not yet answered, "
        "or on their first attempt); another app's DATA waits for one to finish "
        "(default 16; memory stays below about 3 x N x --max-size)",
    )
    p.add_argument(
        "--max-size",
        type=count,
        default=25 * 1024 * 1024,
        metavar="BYTES",
        help="largest message accepted, advertised with SIZE (default 25 MiB)",
    )
    p.add_argument(
        "--no-queue",
        action="store_true",
        help="no queue: the app hears upstream's answer, 451 when it cannot be sent now",
    )
    p.add_argument(
        "--first-attempt",
        metavar="SECONDS",
        default="10",
        help="how long the app waits for the first attempt before it hears "
        "`250 Queued as ID` (default 10)",
    )
    p.add_argument(
        "--retry-after",
        metavar="SECONDS",
        default="60",
        help="first wait before trying a queued message again, doubling to 1 hour (default 60)",
    )
    p.add_argument(
        "--queue-lifetime",
        metavar="DURATION",
        default="5d",
        help="how long a message may stay queued before it expires: 90s, 30m, 2h, 5d (default 5d)",
    )
    p.add_argument(
        "--notify-to",
        metavar="ADDRESS",
        help="send a delivery status notification (RFC 3464) there for partial refusals "
        "and expiries",
    )
    p.set_defaults(func=cmd_relay)


def cmd_app_credentials(args: argparse.Namespace, ctx: CliContext) -> int:
    def apply(ws: Any) -> tuple[str, str, str]:
        password = ws.make_relay_credentials(args.app, args.stage, rotate=args.rotate)
        return ws.app(args.app).name, ws.stage(args.stage).name, password

    app, stage, password = ctx.change(apply)
    if args.json:
        ctx.out(to_json({"app": app, "stage": stage, "username": app, "password": password}))
        return 0
    ctx.out(f"Relay credentials of {app} for {stage} (shown once; mailstage keeps only a hash):")
    ctx.out(pairs([("  username", app), ("  password", password)]))
    ctx.out(
        f"Put them in the app's mail settings with the relay's address (`mailstage relay "
        f"{stage}` listens on 127.0.0.1 port 1587 by default)."
    )
    return 0


def parse_listen(text: str) -> tuple[str, int]:
    host, _, port_text = text.strip().rpartition(":")
    host = host.strip("[]")
    digits = port_text.isascii() and port_text.isdigit() and len(port_text) <= 5
    if not host or not digits or not 0 <= int(port_text) <= 65535:
        raise InvalidInput(
            "Listen address (listen) must be HOST:PORT with a port from 0 to 65535, "
            "for example 127.0.0.1:1587 or [::1]:1587.",
            [("listen", "HOST:PORT")],
        )
    return host, int(port_text)


def relay_options(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from mailstage.relay.server import RelayOptions, is_loopback_listen
    from mailstage.relay.worker import WorkerOptions

    host, port = parse_listen(args.listen)
    if (args.tls_cert is None) != (args.tls_key is None):
        raise InvalidInput(
            "TLS certificate (tls_cert) and key (tls_key) go together: give both or neither.",
            [("tls_cert", "needs --tls-key")],
        )
    if args.tls_cert is None and not is_loopback_listen(host):
        raise InvalidInput(
            f"Listen address (listen) {host} is not loopback: apps would send passwords in "
            "plain text. Give --tls-cert and --tls-key (STARTTLS is then required), or "
            "listen on 127.0.0.1.",
            [("listen", "needs TLS")],
        )
    if not 1 <= args.upstream_connections <= 100:
        raise InvalidInput(
            "Upstream connections (upstream_connections) must be from 1 to 100.",
            [("upstream_connections", "out of range")],
        )
    if not 1 <= args.max_connections <= 100_000:
        raise InvalidInput(
            "Max connections (max_connections) must be from 1 to 100000.",
            [("max_connections", "out of range")],
        )
    if not 1 <= args.max_messages <= 10_000:
        raise InvalidInput(
            "Max messages (max_messages) must be from 1 to 10000.",
            [("max_messages", "out of range")],
        )
    if not 1024 <= args.max_size <= 1024**3:
        raise InvalidInput(
            "Max size (max_size) must be from 1024 bytes to 1 GiB.",
            [("max_size", "out of range")],
        )
    return RelayOptions(
        queue=not args.no_queue,
        first_attempt=seconds(args.first_attempt, "first_attempt", 0.1, 600),
        worker=WorkerOptions(
            retry_after=seconds(args.retry_after, "retry_after", 1, 86400),
            lifetime=duration(args.queue_lifetime),
            notify_to=notify_address(args.notify_to),
        ),
        stage=args.stage,
        host=host,
        port=port,
        tls_cert=Path(args.tls_cert).expanduser() if args.tls_cert else None,
        tls_key=Path(args.tls_key).expanduser() if args.tls_key else None,
        upstream_connections=args.upstream_connections,
        max_size=args.max_size,
        max_connections=args.max_connections,
        max_messages=args.max_messages,
    )


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(text: str, name: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not low <= value <= high:  # NaN fails too
        raise InvalidInput(
            f"{name.replace('_', ' ').capitalize()} ({name}) must be a number of seconds "
            f"from {low:g} to {high:g}.",
            [(name, "out of range")],
        )
    return value


def duration(text: str) -> float:
    """--queue-lifetime: a whole number with a unit (90s, 30m, 2h, 5d), at most 30 days."""
    number, unit = text.strip()[:-1], text.strip()[-1:].lower()
    ok = unit in DURATION_UNITS and number.isascii() and number.isdigit() and len(number) < 8
    value = int(number) * DURATION_UNITS[unit] if ok else 0
    if not 1 <= value <= 30 * 86400:
        raise InvalidInput(
            "Queue lifetime (queue_lifetime) must be a whole number with a unit s, m, h or "
            "d, from 1s to 30d, for example 90s, 2h or 5d.",
            [("queue_lifetime", "duration")],
        )
    return float(value)


def notify_address(text: str | None) -> str | None:
    if text is None:
        return None
    from mailstage.store.validation import check_address

    try:
        return check_address(text)
    except ValueError as exc:
        raise InvalidInput(f"Notify to (notify_to) {exc}.", [("notify_to", str(exc))]) from None


def relay_passphrase(ctx: CliContext) -> str | None:
    """MAILSTAGE_PASSPHRASE, a systemd credential (LoadCredential=mailstage-passphrase:...),
    or whatever every command does (a prompt at a terminal)."""
    import os
    from pathlib import Path

    if "MAILSTAGE_PASSPHRASE" in os.environ:
        return os.environ["MAILSTAGE_PASSPHRASE"]
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if folder:
        credential = Path(folder) / SYSTEMD_CREDENTIAL
        if credential.is_file():
            return credential.read_text().rstrip("\n")
    return ctx.passphrase()


def cmd_relay(args: argparse.Namespace, ctx: CliContext) -> int:
    import asyncio

    from mailstage.mailer.maillog import MailLog
    from mailstage.relay.events import EventLog
    from mailstage.relay.server import Relay, StoreWatch
    from mailstage.store.filestore import StoreFile

    options = relay_options(args)
    file, data = StoreFile.open(ctx.locations, relay_passphrase(ctx))
    stage = data.stage(options.stage)
    if stage is None:
        known = ", ".join(s.name for s in data.ordered_stages())
        raise InvalidInput(
            f"Stage (stage) {options.stage!r} does not exist (stages: {known}).",
            [("stage", "does not exist")],
        )
    options.stage = stage.name

    async def serve() -> None:
        relay = Relay(
            options,
            StoreWatch(file, data),
            maillog=MailLog.of_store(file),
            events=EventLog(ctx.stderr),
        )
        await relay.serve()

    asyncio.run(serve())
    return 0
