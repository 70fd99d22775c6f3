"""What every command gets: the store's locations, the streams, and how to open the store."""

from __future__ import annotations

import os
import sys

from mailstage.store.errors import StoreUnreadable
from mailstage.store.paths import Locations
from mailstage.store.text import visible

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TextIO

    from mailstage.store.paths import ReadLocations


class CliContext:
    # a plain class: dataclasses imports inspect (~8 ms) on every one-shot command
    def __init__(
        self,
        locations: ReadLocations,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        stdin: TextIO | None = None,
    ) -> None:
        # a one-shot read names the files as text (paths.FileLocations: no pathlib)
        self.read_locations = locations
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr
        self.stdin = sys.stdin if stdin is None else stdin

    # Everything printed passes the one sanitizer: names, server replies and messages
    # may carry terminal escapes.
    def out(self, text: str = "") -> None:
        print(visible(text, multiline=True), file=self.stdout)

    def warn(self, text: str) -> None:
        print(visible(text, multiline=True), file=self.stderr)

    @property
    def locations(self) -> Locations:
        """The store's Locations (Paths), made from a one-shot read's text on first use."""
        if not isinstance(self.read_locations, Locations):
            from pathlib import Path

            where = self.read_locations
            self.read_locations = Locations(Path(where.store), Path(where.key_file))
        return self.read_locations

    def passphrase(self) -> str | None:
        """The passphrase if the store needs one: MAILSTAGE_PASSPHRASE or a prompt."""
        from mailstage.store.reader import read_header_kinds

        if "MAILSTAGE_PASSPHRASE" in os.environ:
            return os.environ["MAILSTAGE_PASSPHRASE"]
        return self.passphrase_for(read_header_kinds(self.read_locations))

    def passphrase_for(self, kinds: set[str]) -> str | None:
        """The passphrase for a store with these key kinds (its header's wraps):
        MAILSTAGE_PASSPHRASE, none for a key file's store, else asked."""
        if "MAILSTAGE_PASSPHRASE" in os.environ:
            return os.environ["MAILSTAGE_PASSPHRASE"]
        if "passphrase" not in kinds:
            return None
        return prompt_passphrase(confirm=False)

    def read(self) -> Any:
        """The store opened for reading only what a command prints (no models built):
        a context manager whose sections are decrypted on demand (store/views.py). The
        header is read once: it also says whether a passphrase is needed."""
        from mailstage.store.reader import open_store

        return open_store(self.read_locations, self.passphrase_for)

    def read_secret(self, what: str) -> Any:
        """One secret (a SecretStr) from standard input: asked without echo when it is a
        terminal, else the first line piped in. Never from argv."""
        from pydantic import SecretStr

        from mailstage.store.errors import InvalidInput

        if _is_terminal(self.stdin):
            import getpass

            try:
                value = getpass.getpass(f"{what}: ")
            except EOFError:  # ctrl+d at the prompt: nothing typed
                value = ""
        else:
            line = self.stdin.readline()
            value = line[:-1] if line.endswith("\n") else line
            value = value[:-1] if value.endswith("\r") else value
        if not value:
            raise InvalidInput(
                f"{what} is mandatory: nothing was read from standard input.",
                [(what, "is mandatory")],
            )
        return SecretStr(value)

    def load(self) -> Any:
        from mailstage.store.workspace import Workspace

        return Workspace.open(self.locations, passphrase=self.passphrase())

    def change(self, action: Callable[[Any], Any]) -> Any:
        """Run one change under the store lock, so it never conflicts with itself."""
        workspace = self.load()
        with workspace.transaction():
            return action(workspace)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


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
