"""Heavy delivery libraries stay off the start-up path of the TUI and the CLI."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.cli_runner import REPO

HEAVY = ("msal", "aiosmtplib", "aiosmtpd", "email_validator", "mailstage.mailer")

PROBE = textwrap.dedent(
    """
    import sys
    from mailstage.store.paths import Locations
    from mailstage.cli.main import build_parser
    from mailstage.tui.app import build_app

    build_parser().parse_args([])
    app = build_app(Locations.resolve())

    async def home(pilot):
        while type(app.screen).__name__ != "HomeScreen":
            await pilot.pause()
        app.exit(0)

    app.run(headless=True, size=(80, 24), auto_pilot=home)
    heavy = {heavy!r}
    loaded = [m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)]
    print(" ".join(sorted(loaded)))
    """
)


def test_the_tui_reaches_home_without_the_delivery_libraries(initialized):
    code = PROBE.replace("{heavy!r}", repr(set(HEAVY)))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# What a read-only command must not import: the write path, validation rules, locking,
# the models, the SMTP and token clients, the database driver, logging and OpenSSL's hmac.
READ_PATH_MUST_NOT_LOAD = (
    "pydantic",
    "pydantic_core",
    "textual",
    "email_validator",
    "aiosmtplib",
    "smtplib",
    "msal",
    "psycopg",
    "filelock",
    "logging",
    "hmac",
    "mailstage.mailer",
    "mailstage.relay",
    "mailstage.store.workspace",
    "mailstage.store.filestore",
    "mailstage.store.file_backend",
    "mailstage.store.pg_backend",
    "mailstage.store.validation",
    "mailstage.store.models",
    "mailstage.store.sections",
)
READ_COMMANDS = (
    ["email", "show", "QA"],
    ["email", "show", "QA", "--json"],
    ["stage", "list"],
    ["stage", "list", "--json"],
    ["testlist", "show", "Shop", "--stage", "QA"],
    ["testlist", "show", "Shop", "--stage", "QA", "--json"],
)
# A module already loaded when the probe starts (the development venv's editable-install
# finder imports pathlib, re, importlib.util) is dropped from sys.modules first, so that
# an import of it by main() shows.
READ_PROBE = textwrap.dedent(
    """
    import sys
    banned = {banned!r}
    def loaded():
        return [m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in banned)]
    for name in loaded():
        del sys.modules[name]
    import mailstage.cli.main

    if {full!r}:  # the full path: argparse and Locations.resolve
        mailstage.cli.main.plain_read = lambda argv: None
    assert mailstage.cli.main.main({argv!r}) == 0
    print("LOADED:", " ".join(sorted(loaded())))
    """
)


def _store_with_shop():
    from tests.cli_runner import run_cli

    assert run_cli("app", "add", "Shop").returncode == 0
    assert run_cli("testlist", "add", "Shop", "--stage", "QA", "qa@example.com").returncode == 0
    assert run_cli("email", "set", "QA", *EMAIL_OPTIONS, input="secret\n").returncode == 0


EMAIL_OPTIONS = ("--server", "smtp.example.com", "--auth", "basic", "--username", "u")
EMAIL_OPTIONS += ("--password-stdin", "--sender-email", "qa@example.com")


def test_each_read_command_imports_nothing_of_the_write_path_or_delivery(initialized):
    _store_with_shop()
    for argv in READ_COMMANDS:
        assert _banned_loaded_by(argv, READ_PATH_MUST_NOT_LOAD) == "LOADED:", argv
        # the same handler after argparse: the same holds
        assert _banned_loaded_by(argv, READ_PATH_MUST_NOT_LOAD, full=True) == "LOADED:", argv


def _banned_loaded_by(argv: list[str], banned: tuple[str, ...], *, full: bool = False) -> str:
    """The probe's last line: LOADED: and the banned modules that `main(argv)` loaded
    (``full``: through argparse, as a form that is not plain goes)."""
    code = READ_PROBE.replace("{argv!r}", repr(argv)).replace("{banned!r}", repr(banned))
    code = code.replace("{full!r}", repr(full))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


ONE_SHOT_PROBE = textwrap.dedent(
    """
    import sys
    from mailstage.cli.main import main

    for argv in (["email", "show", "QA"], ["stage", "list", "--json"],
                 ["testlist", "show", "Shop", "--stage", "QA", "--json"]):
        assert main(argv) == 0, argv
    heavy = ("pydantic", "pydantic_core", "textual", "email_validator", "aiosmtplib", "msal")
    loaded = [m for m in sys.modules if m.split(".")[0] in heavy]
    print("LOADED:", " ".join(sorted(loaded)))
    """
)


def test_one_shot_reads_load_neither_the_models_nor_textual_nor_delivery(initialized):
    from tests.cli_runner import run_cli

    assert run_cli("app", "add", "Shop").returncode == 0
    assert run_cli("testlist", "add", "Shop", "--stage", "QA", "qa@example.com").returncode == 0
    result = subprocess.run(
        [sys.executable, "-c", ONE_SHOT_PROBE], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "LOADED:"


def test_every_command_module_registers_what_its_table_entry_says():
    """cli/commands.py names, per module, the top-level commands it serves: a module that
    registered another one would be missing when only that command is run."""
    import argparse

    from mailstage.cli.commands import MODULES
    from mailstage.cli.main import GROUPS

    for commands, load in MODULES:
        root = argparse.ArgumentParser().add_subparsers()
        groups: dict[str, object] = {"root": root}
        for name in GROUPS:
            groups[name] = root.add_parser(name).add_subparsers()
        load().register(groups)
        touched = {n for n, g in groups.items() if n != "root" and g.choices}  # type: ignore[attr-defined]
        added = set(root.choices) - set(GROUPS)
        assert touched | added == set(commands), load.__name__


LAZY_PROBE = textwrap.dedent(
    """
    import sys
    from mailstage.cli.main import main

    main({argv!r})
    print(" ".join(sorted(m for m in sys.modules if m.startswith("mailstage.cli."))))
    """
)


def _cli_modules_after(argv: list[str]) -> set[str]:
    code = LAZY_PROBE.replace("{argv!r}", repr(argv))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return {m.removeprefix("mailstage.cli.") for m in result.stdout.split()}


def test_a_command_imports_only_its_own_command_modules(initialized):
    # `--` sends `email show` through argparse: both modules serving `email` register
    commands = {m for m in _cli_modules_after(["email", "show", "--", "QA"]) if "_commands" in m}
    assert commands == {"email_commands", "delivery_commands", "read_commands"}
    for plain in (
        ["email", "show", "QA"],
        ["stage", "list"],
        ["testlist", "show", "S", "--stage", "QA"],
    ):
        commands = {m for m in _cli_modules_after(plain) if "_commands" in m}
        assert commands == {"read_commands"}, plain  # the plain form: only its handler's module


# The plain one-shot reads skip argparse (cli/read_argv.py): none of the parser's
# machinery, and of the command modules only cli/read_commands.py; their classes are
# plain, their paths text (store/paths.py FileLocations), typing is for the checker only,
# and AES-GCM comes from cryptography's Rust bindings (store/aead.py): each of these
# costs milliseconds of every run (README, performance).
PLAIN_READ_MUST_NOT_LOAD = (
    "argparse",
    "dataclasses",  # and with it inspect, ast, dis, tokenize (store/record.py)
    "inspect",
    "typing",
    "pathlib",  # and urllib.parse, ipaddress (store/paths.py FileLocations)
    "urllib",
    "ipaddress",
    "ctypes",  # prctl through _ctypes alone (store/process.py)
    "contextlib",
    "datetime",  # "Last changed" is read from the stored text (store/text.py)
    "cryptography.hazmat.primitives",  # AESGCM from the bindings (store/aead.py)
    "cryptography.exceptions",  # only once a decryption failed
    "cryptography.utils",
    "platformdirs",  # and its tempfile, shutil, bz2, lzma, random (store/user_dirs.py)
    "tempfile",
    "mailstage.store.database_url",  # a store path with no colon is no URL
    "mailstage.store.backend",
    "mailstage.store.envelope_v1",
    "gettext",
    "textwrap",
    "mailstage.cli.commands",
    "mailstage.cli.parser",
    "mailstage.cli.suggest",
    "mailstage.cli.help_text",
    "mailstage.cli.email_commands",
    "mailstage.cli.stage_commands",
    "mailstage.cli.app_commands",
    "mailstage.cli.delivery_commands",
    "mailstage.cli.tui_commands",
)


def test_plain_one_shot_reads_never_build_the_argparse_parser(initialized):
    _store_with_shop()
    for argv in READ_COMMANDS:
        with_store = ["--store", str(initialized["store"]), *argv]  # the global option too
        assert _banned_loaded_by(with_store, PLAIN_READ_MUST_NOT_LOAD) == "LOADED:", argv
