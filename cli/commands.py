"""Which command module registers which commands, so that a run imports only the
module(s) of the command it runs (`mailstage email show` does not import `relay`'s).

Adding a command module is one block below: the decorator names the top-level
commands the module registers or adds actions to, and the function imports it (by
name, so readers and import-linter follow the arrow). The blocks' order is the order
of `mailstage --help`. tests/test_startup_imports.py checks that every module
registers exactly what its block says.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

Loader = Callable[[], ModuleType]

# (the top-level commands a module serves, the function that imports it)
MODULES: list[tuple[tuple[str, ...], Loader]] = []


def serves(*commands: str) -> Callable[[Loader], Loader]:
    def record(loader: Loader) -> Loader:
        MODULES.append((commands, loader))
        return loader

    return record


@serves("init", "share", "restore", "locate", "audit", "check")
def _store_commands() -> ModuleType:
    from mailstage.cli import store_commands

    return store_commands


@serves("stage")
def _stage_commands() -> ModuleType:
    from mailstage.cli import stage_commands

    return stage_commands


@serves("email")
def _email_commands() -> ModuleType:
    from mailstage.cli import email_commands

    return email_commands


@serves("email", "sink")
def _delivery_commands() -> ModuleType:
    from mailstage.cli import delivery_commands

    return delivery_commands


@serves("app", "testlist")
def _app_commands() -> ModuleType:
    from mailstage.cli import app_commands

    return app_commands


@serves("app", "relay")
def _relay_commands() -> ModuleType:
    from mailstage.cli import relay_commands

    return relay_commands


@serves("queue")
def _queue_commands() -> ModuleType:
    from mailstage.cli import queue_commands

    return queue_commands


@serves("log")
def _log_commands() -> ModuleType:
    from mailstage.cli import log_commands

    return log_commands


@serves("member", "role")
def _member_commands() -> ModuleType:
    from mailstage.cli import member_commands

    return member_commands


@serves("studiolist")
def _studiolist_commands() -> ModuleType:
    from mailstage.cli import studiolist_commands

    return studiolist_commands


@serves("demo")
def _tui_commands() -> ModuleType:
    from mailstage.cli import tui_commands

    return tui_commands


def command_word(argv: list[str]) -> str | None:
    """The top-level command in argv (after the global options), or None."""
    takes_value = {"--store", "--key-file"}
    words = iter(argv)
    for token in words:
        if token == "--":
            return next(words, None)
        if token in takes_value:
            next(words, None)
        elif not token.startswith("-"):
            return token
    return None


def loaders_for(argv: list[str] | None) -> list[Loader]:
    """The modules to register for this argv: the command's own; every module for
    `--help`, a command not known (its error lists them all) or ``None``; none for
    `mailstage` alone (the TUI)."""
    if argv is None:
        return [loader for _, loader in MODULES]
    word = command_word(argv)
    if word is None and not {"-h", "--help"} & set(argv):
        return []
    own = [loader for commands, loader in MODULES if word in commands]
    return own or [loader for _, loader in MODULES]
