"""The `mailstage` command: global options, dispatch, and errors turned into exit codes.

Kept free of Textual and of the delivery libraries at import time: `mailstage
email show` must start fast. Its plain forms skip argparse (cli/read_argv.py); for the
rest each command module registers its own subcommands, and only the module of the
command being run is imported (cli/commands.py).
Every failure ends as one of DESIGN section 5's exit codes with a sentence, never a
traceback: 2 usage, 3 invalid input, 4 not permitted, 5 store unreadable or a file
system that refused (read-only, full, a planted symlink), 6 conflict, 7 delivery,
8 a server could not start; a reader that closed the pipe (`| head`) ends it quietly (0).
"""

from __future__ import annotations

import os
import sys

from mailstage.cli.context import CliContext
from mailstage.cli.read_argv import plain_read
from mailstage.store.errors import MailstageError
from mailstage.store.paths import FileLocations, Locations
from mailstage.store.process import disable_core_dumps

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any

    from mailstage.store.paths import ReadLocations

GROUPS = {
    "stage": "stages (Development, QA, Production, ...)",
    "email": "a stage's SMTP configuration and Send test",
    "app": "apps",
    "testlist": "an app's test list for a stage",
    "studiolist": "an app's studio list: Send test's recipients when the test list is off",
    "member": "organization members",
    "role": "roles and their permissions",
    "queue": "the relay's queued messages",
}


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: only the modules of its command are imported and
    registered (cli/commands.py); without ``argv``, every command."""
    from mailstage.cli.commands import MODULES, loaders_for
    from mailstage.cli.parser import CommandParser
    from mailstage.cli.suggest import suggest_choices

    parser = CommandParser(
        prog="mailstage",
        description="Configure how your apps send email, per stage. Without a command, "
        "opens the full-screen app.",
    )
    parser.add_argument(
        "--store",
        metavar="PATH|URL",
        help="the store file, or a PostgreSQL database postgresql://USER@HOST[:PORT]/DB "
        "(env MAILSTAGE_STORE)",
    )
    parser.add_argument("--key-file", metavar="PATH", help="the key file (env MAILSTAGE_KEY_FILE)")
    root = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, Any] = {"root": root}
    loaders = loaders_for(None if argv is None else list(argv))
    served = {command for commands, load in MODULES if load in loaders for command in commands}
    for name, help_text in GROUPS.items():
        if name in served:  # a module adds actions only to the groups it serves (tested)
            group = root.add_parser(name, help=help_text, description=help_text)
            groups[name] = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    for load in loaders:
        load().register(groups)
    suggest_choices(parser)  # did you mean, for a mistyped command or action
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    disable_core_dumps()  # first: secrets are read into memory below
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        return _reader_went_away()


def _run(argv: list[str]) -> int:
    handler: Callable[[Any, CliContext], int | None] | None
    args: Any
    locations: ReadLocations | None = None
    if read := plain_read(argv):
        handler, args = read
        locations = FileLocations.plain(args.store, args.key_file)  # None: not plainly a file
    else:
        from mailstage.cli.parser import refuse_secrets

        parser = build_parser(argv)
        if refusal := refuse_secrets(parser, argv):
            print(refusal, file=sys.stderr)
            return 2
        args = parser.parse_args(argv)
        handler = getattr(args, "func", None)
    ctx = CliContext(locations or Locations.resolve(args.store, args.key_file))
    if handler is None:
        from mailstage.cli import tui_commands

        handler = tui_commands.cmd_tui
    try:
        return int(handler(args, ctx) or 0)
    except MailstageError as exc:
        ctx.warn(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        ctx.warn("Interrupted; nothing more was changed.")
        return 130
    except BrokenPipeError:
        raise
    except OSError as exc:  # a file outside the store's own save path (init, a key file)
        from mailstage.store.errors import file_system_error

        error = file_system_error(exc, "use a file")
        ctx.warn(error.message)
        return error.exit_code
    except Exception as exc:  # never a traceback: it could carry local values
        if os.environ.get("MAILSTAGE_DEBUG"):
            raise
        ctx.warn(f"Unexpected error ({type(exc).__name__}); set MAILSTAGE_DEBUG=1 to see details.")
        return 1


def _reader_went_away() -> int:
    """`mailstage audit | head`: the reader has all it wanted. End quietly; point stdout
    at /dev/null so the interpreter's last flush does not complain either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):
            pass
    os.close(devnull)
    return 0


if __name__ == "__main__":
    sys.exit(main())
