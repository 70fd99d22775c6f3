"""Where the store and its key live, and how files are created and checked safely.

Files are created 0600 and folders 0700 whatever the umask; a store or key file
that other users could read, or a symlink, is refused with the command that fixes
it, as ssh does.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mailstage.store.errors import UnsafeFile

APP_NAME = "mailstage"


def default_store_path() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME) / "store.json"


def default_key_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "store.key"


@dataclass(frozen=True)
class Locations:
    store: Path
    key_file: Path

    @classmethod
    def resolve(
        cls,
        store: str | os.PathLike[str] | None = None,
        key_file: str | os.PathLike[str] | None = None,
    ) -> Locations:
        store = store or os.environ.get("MAILSTAGE_STORE") or default_store_path()
        key_file = key_file or os.environ.get("MAILSTAGE_KEY_FILE") or default_key_path()
        return cls(Path(store).expanduser().absolute(), Path(key_file).expanduser().absolute())

    @property
    def lock(self) -> Path:
        return self.store.with_name(self.store.name + ".lock")

    @property
    def backup(self) -> Path:
        return self.store.with_name(self.store.name + ".bak")


def ensure_private_dir(path: Path) -> None:
    """Create the folder (and missing parents) with mode 0700."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        os.chmod(folder, 0o700)


def create_private_file(path: Path, data: bytes | Sequence[bytes]) -> None:
    """Write a new file with mode 0600; refuses to follow or replace anything."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        for chunk in (data,) if isinstance(data, bytes) else data:
            view = memoryview(chunk)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def check_private_file(path: Path, what: str) -> None:
    """Refuse a symlink or a file other users can read or write."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFile(
            f"The {what} {path} is a symbolic link, which mailstage refuses to follow. "
            f"Point --store/--key-file at the real file instead."
        )
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"The {what} {path} is not a regular file.")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise UnsafeFile(
            f"The {what} {path} can be read or changed by other users (mode {mode:04o}). "
            f"Fix it with: chmod 600 {path}"
        )


def read_private_file(path: Path, what: str) -> bytes:
    check_private_file(path, what)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
