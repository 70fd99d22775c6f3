"""The argument parser class of every `mailstage` command, and the refusal of secrets in argv.

- Options are spelled out: no prefix matching (`--pass` is not `--password-stdin`).
- A secret given on the command line (`--password X`, `--client-secret=X`, a value after
  `--password-stdin`) is refused with a sentence that never repeats it: argv is visible
  to every user of the machine (`ps`) and stays in the shell's history.
- argparse's own errors echo what was typed; here a long value is cut, control
  characters are made visible, and what follows a secret-like option is not shown.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any, NoReturn

from mailstage.store.fields import shown
from mailstage.store.text import visible

# Option names that carry a secret, or look like one a user might try.
SECRET_LIKE = re.compile(
    r"pass|secret|pwd|token(?!-url)|api-?key|credential|private-?key|bearer", re.IGNORECASE
)
# Flags that mean "read the secret elsewhere": a value attached to them is a secret.
SECRET_FLAGS = frozenset({"--password-stdin", "--client-secret-stdin", "--passphrase"})
LONG_TOKEN = 80

_hidden: ContextVar[tuple[str, ...]] = ContextVar("hidden_argv", default=())


class CommandParser(argparse.ArgumentParser):
    """argparse with no abbreviations and errors that never echo a secret or a huge value.

    Subparsers inherit the class (argparse makes them with ``type(parent)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {safe_message(message)}\n")


def safe_message(message: str) -> str:
    """argparse's message with hidden argv values removed and long ones cut."""
    for token in sorted(_hidden.get(), key=len, reverse=True):
        for form in (repr(token), token):  # whole words only: "s" is not hidden in "is"
            whole = rf"(?<![^\s'\"(]){re.escape(form)}(?![^\s'\",)])"
            message = re.sub(whole, "(a value not shown)", message)
    for token in _long_tokens(message):
        message = message.replace(token, f"{token[:LONG_TOKEN]}… ({len(token)} characters)")
    return visible(message, multiline=True)


def _long_tokens(message: str) -> Iterator[str]:
    seen: set[str] = set()
    for token in re.split(r"[\s']+", message):
        if len(token) > LONG_TOKEN and token not in seen:
            seen.add(token)
            yield token


def known_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of the parser and of all its subparsers."""
    found: set[str] = set(parser._option_string_actions)  # argparse has no public API for this
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= known_options(sub)
    return found


def refuse_secrets(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The refusal sentence if argv carries a secret, else None; remembers which argv
    values must not be echoed by a later usage error."""
    known = known_options(parser)
    hidden: list[str] = []
    refusal: str | None = None
    for index, token in enumerate(argv):
        if token == "--":
            break
        if not token.startswith("--"):
            continue
        name, has_value, _ = token.partition("=")
        after = argv[index + 1] if index + 1 < len(argv) else None
        if name in SECRET_FLAGS:
            if has_value:
                hidden.append(token)
                refusal = refusal or _flag_takes_no_value(name)
            elif after is not None and not after.startswith("-"):
                hidden.append(after)  # `--password-stdin hunter2`: may be the secret
            continue
        if name in known or not SECRET_LIKE.search(name):
            continue
        hidden.append(token)
        if after is not None and not has_value:
            hidden.append(after)
        refusal = refusal or _no_secret_options(name)
    _hidden.set(tuple(hidden))
    return refusal


def _stdin_option(name: str) -> str:
    if "phrase" in name:
        return "MAILSTAGE_PASSPHRASE (or the prompt)"
    if "secret" in name.lower():
        return "--client-secret-stdin"
    return "--password-stdin"


def _no_secret_options(name: str) -> str:
    shown_name = shown(name, 40)
    return (
        f"mailstage: {shown_name} is not an option (what you typed with it is not shown): "
        f"a secret on the command line can be read by other users (ps) and stays in your "
        f"shell's history. Use {_stdin_option(name)}: it asks without echo at a terminal, "
        f"or reads one line piped in. Options are spelled out in full."
    )


def _flag_takes_no_value(name: str) -> str:
    return (
        f"mailstage: {name} takes no value (what you attached is not shown): a secret on "
        f"the command line can be read by other users (ps) and stays in your shell's "
        f"history. Give {name} alone; the secret is then read "
        + (
            "from MAILSTAGE_PASSPHRASE or asked without echo."
            if name == "--passphrase"
            else "from standard input (asked without echo at a terminal)."
        )
    )
