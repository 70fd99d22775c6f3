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
        "test list and goes out through the stage's configuration. The app gets its answer "
        "only after the stage's server answered. SIGHUP reloads the store; SIGTERM lets "
        "messages in flight finish, then exits.",
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
        "--max-size",
        type=count,
        default=25 * 1024 * 1024,
        metavar="BYTES",
        help="largest message accepted, advertised with SIZE (default 25 MiB)",
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
    if not 1024 <= args.max_size <= 1024**3:
        raise InvalidInput(
            "Max size (max_size) must be from 1024 bytes to 1 GiB.",
            [("max_size", "out of range")],
        )
    return RelayOptions(
        stage=args.stage,
        host=host,
        port=port,
        tls_cert=Path(args.tls_cert).expanduser() if args.tls_cert else None,
        tls_key=Path(args.tls_key).expanduser() if args.tls_key else None,
        upstream_connections=args.upstream_connections,
        max_size=args.max_size,
    )


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
