"""The argv of the one-shot reads that admins run in loops (`email show STAGE`, `stage
list`, each with `--json` and the global `--store`/`--key-file`), read without argparse.

Building the argparse parser costs more than the whole read (its imports, `gettext` per
parser, every action added). This reads only the plain forms of those commands and
gives the handler argparse would have chosen, with the same values; anything else
(`--help`, a missing or extra word, an option of another command, `--`, a value that
starts with `-`) returns None and goes through argparse, which then says what is wrong
exactly as before. tests/test_cli_read_argv.py checks both parsers agree.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

Handler = Callable[[Any, Any], int]
GLOBAL_OPTIONS = ("--store", "--key-file")


def plain_read(argv: list[str]) -> tuple[Handler, SimpleNamespace] | None:
    """(handler, arguments) for a plain one-shot read, else None (use argparse)."""
    options: dict[str, str | None] = {"store": None, "key_file": None}
    at = 0
    while at < len(argv) and argv[at].startswith("--"):
        name, has_value, value = argv[at].partition("=")
        if name not in GLOBAL_OPTIONS:
            return None
        if not has_value:
            at += 1
            if at == len(argv) or argv[at].startswith("-"):
                return None
            value = argv[at]
        options[name[2:].replace("-", "_")] = value
        at += 1
    command, after = argv[at : at + 2], argv[at + 2 :]  # --json only after the action
    as_json = "--json" in after
    positionals = [word for word in after if word != "--json"]
    if any(word.startswith("-") for word in positionals):
        return None
    if command == ["email", "show"] and len(positionals) == 1:
        from mailstage.cli.email_commands import cmd_email_show

        arguments = _namespace(command, options, as_json, stage=positionals[0])
        return cmd_email_show, arguments
    if command == ["stage", "list"] and not positionals:
        from mailstage.cli.stage_commands import cmd_stage_list

        return cmd_stage_list, _namespace(command, options, as_json)
    return None


def _namespace(
    command: list[str], options: dict[str, str | None], as_json: bool, **values: str
) -> SimpleNamespace:
    group, action = command
    return SimpleNamespace(command=group, action=action, json=as_json, **options, **values)
