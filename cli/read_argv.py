"""The argv of the one-shot reads that admins run in loops (`email show STAGE`, `stage
list`, `testlist show APP --stage STAGE`, each with `--json` and the global
`--store`/`--key-file`), read without argparse.

Building the argparse parser costs more than the whole read (its imports, `gettext` per
parser, every action added). This reads only the plain forms of those commands and
gives the handler argparse would have chosen, with the same values; anything else
(`--help`, a missing or extra word, an option of another command, `--`, a value that
starts with `-`, an option given twice) returns None and goes through argparse, which
then says what is wrong exactly as before. tests/test_cli_read_argv.py checks both
parsers agree.
"""

from __future__ import annotations

from types import SimpleNamespace

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from collections.abc import Callable
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
    words = [word for word in after if word != "--json"]
    if command == ["testlist", "show"]:
        stage, words = _stage_option(words)
        if stage is None:
            return None
    if any(word.startswith("-") for word in words):
        return None
    from mailstage.cli import read_commands

    if command == ["email", "show"] and len(words) == 1:
        arguments = _namespace(command, options, as_json, stage=words[0])
        return read_commands.cmd_email_show, arguments
    if command == ["stage", "list"] and not words:
        return read_commands.cmd_stage_list, _namespace(command, options, as_json)
    if command == ["testlist", "show"] and len(words) == 1 and stage is not None:
        values = {"app": words[0], "stage": stage, "testlist_action": "show"}
        return read_commands.cmd_testlist_show, _namespace(command, options, as_json, **values)
    return None


def _stage_option(words: list[str]) -> tuple[str | None, list[str]]:
    """The value of the one `--stage X` or `--stage=X` among ``words``, and the others;
    None if it is missing, given twice, or its value starts with `-`."""
    stage: str | None = None
    rest: list[str] = []
    at = 0
    while at < len(words):
        name, has_value, value = words[at].partition("=")
        if name == "--stage":
            if stage is not None:
                return None, words
            if not has_value:
                at += 1
                if at == len(words) or words[at].startswith("-"):
                    return None, words
                value = words[at]
            stage = value
        else:
            rest.append(words[at])
        at += 1
    return stage, rest


def _namespace(
    command: list[str], options: dict[str, str | None], as_json: bool, **values: str
) -> SimpleNamespace:
    group, action = command
    return SimpleNamespace(command=group, action=action, json=as_json, **options, **values)
