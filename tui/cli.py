"""The `mailstage` command: global options, dispatch, and errors turned into exit codes.

Kept free of Textual and of the delivery libraries at import time: `mailstage
email show` must start fast. Each command module registers its own subcommands.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from store.errors import MailstageError, StoreUnreadable
from store.paths import Locations

COMMAND_MODULES = ("tui.cli_store", "tui.cli_delivery", "tui.cli_app")
GROUPS = {
    "stage": "stages (Development, QA, Production, ...)",
    "email": "a stage's SMTP configuration and Send test",
    "app": "apps",
    "testlist": "an app's test list for a stage",
    "member": "organization members",
    "role": "roles and their permissions",
}


@dataclass
class CliContext:
    locations: Locations
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def warn(self, text: str) -> None:
        print(text, file=self.stderr)

    def passphrase(self) -> str | None:
        """The passphrase if the store needs one: MAILSTAGE_PASSPHRASE or a prompt."""
        from store.filestore import read_header_kinds

        if "MAILSTAGE_PASSPHRASE" in os.environ:
            return os.environ["MAILSTAGE_PASSPHRASE"]
        if "passphrase" not in read_header_kinds(self.locations):
            return None
        return prompt_passphrase(confirm=False)

    def load(self) -> Any:
        from store.workspace import Workspace

        return Workspace.open(self.locations, passphrase=self.passphrase())

    def change(self, action: Callable[[Any], Any]) -> Any:
        """Run one change under the store lock, so it never conflicts with itself."""
        workspace = self.load()
        with workspace.transaction():
            return action(workspace)


def prompt_passphrase(*, confirm: bool) -> str:
    import getpass

    try:
        tty = open("/dev/tty")  # noqa: SIM115 - probe that a terminal is there to ask
        tty.close()
    except OSError:
        raise StoreUnreadable(
            "This store is protected by a passphrase and there is no terminal to ask for "
            "it: set MAILSTAGE_PASSPHRASE."
        ) from None
    first = getpass.getpass("Store passphrase: ")
    if confirm and getpass.getpass("Repeat the passphrase: ") != first:
        raise StoreUnreadable("The two passphrases differ; nothing was created.")
    return first


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailstage",
        description="Configure how your apps send email, per stage. Without a command, "
        "opens the full-screen app.",
    )
    parser.add_argument("--store", metavar="PATH", help="the store file (env MAILSTAGE_STORE)")
    parser.add_argument("--key-file", metavar="PATH", help="the key file (env MAILSTAGE_KEY_FILE)")
    root = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, Any] = {"root": root}
    for name, help_text in GROUPS.items():
        group = root.add_parser(name, help=help_text, description=help_text)
        groups[name] = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = CliContext(Locations.resolve(args.store, args.key_file))
    handler = getattr(args, "func", None)
    if handler is None:
        from tui.cli_app import run_tui

        handler = run_tui
    try:
        return int(handler(args, ctx) or 0)
    except MailstageError as exc:
        ctx.warn(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        ctx.warn("Interrupted; nothing more was changed.")
        return 130
    except Exception as exc:  # never a traceback: it could carry local values
        if os.environ.get("MAILSTAGE_DEBUG"):
            raise
        ctx.warn(f"Unexpected error ({type(exc).__name__}); set MAILSTAGE_DEBUG=1 to see details.")
        return 1


if __name__ == "__main__":
    sys.exit(main())
