"""Where the store and its key live, and how files are created and checked safely.

Files are created 0600 and folders 0700 whatever the umask (0660 / 2770 and the team's
group in team mode, see store/sharing.py); a store or key file that other users could
read, or a symlink, is refused with the command that fixes it, as ssh does.
"""

from __future__ import annotations

import os

from mailstage.store.errors import InvalidInput, MailstageError, StoreUnreadable
from mailstage.store.record import FrozenRecord
from mailstage.store.sharing import PRIVATE, Sharing, check_file, sharing_of
from mailstage.store.user_dirs import normal_path, user_dir, user_path

TYPE_CHECKING = False  # pathlib and typing (~6 ms) stay off the one-shot commands
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from mailstage.store.database_url import DatabaseUrl
    from mailstage.store.sharing import StrPath

APP_NAME = "mailstage"
TEAM_KEY_NAME = "store.key"
STORE_NAME = "store.json"


def default_store_path() -> Path:
    return user_path("data") / STORE_NAME


def default_key_path() -> Path:
    return user_path("config") / TEAM_KEY_NAME


class Locations(FrozenRecord):
    """Where the store and its key are: a store file, or a PostgreSQL database
    (``database``; see store/database_url.py). ``store`` is the file's path; asking a
    database's Locations for it raises the sentence saying why there is no file, so
    no code path can ever create a file named after a URL."""

    FIELDS = ("file", "key_file", "database", "refusal")
    NOT_COMPARED = frozenset({"refusal"})
    file: Path | None
    key_file: Path
    database: DatabaseUrl | None
    refusal: MailstageError | None

    def __init__(
        self,
        file: Path | None,
        key_file: Path,
        database: DatabaseUrl | None = None,
        refusal: MailstageError | None = None,
    ) -> None:
        self._init(file=file, key_file=key_file, database=database, refusal=refusal)

    @classmethod
    def resolve(
        cls,
        store: str | os.PathLike[str] | None = None,
        key_file: str | os.PathLike[str] | None = None,
    ) -> Locations:
        """Never raises: a malformed URL is refused (exit 3) when the store is used,
        inside the command's error handling."""
        from pathlib import Path

        origin = "--store" if store else "MAILSTAGE_STORE"
        store = store or os.environ.get("MAILSTAGE_STORE") or default_store_path()
        key_file = key_file or os.environ.get("MAILSTAGE_KEY_FILE")
        # every URL has a colon: a plain path skips database_url (its regexes) altogether
        if isinstance(store, str) and ":" in store and _looks_like_url(store):
            key_path = Path(key_file or default_key_path()).expanduser().absolute()
            try:
                from mailstage.store.database_url import parse_database_url

                return cls(None, key_path, parse_database_url(store, origin))
            except InvalidInput as refusal:
                return cls(None, key_path, refusal=refusal)
        store_path = Path(store).expanduser().absolute()
        if not key_file:
            # a team's store keeps its key beside it; a private one in the user's config
            beside = store_path.with_name(TEAM_KEY_NAME)
            key_file = beside if os.path.exists(beside) else default_key_path()
        return cls(store_path, Path(key_file).expanduser().absolute())

    @property
    def store(self) -> Path:
        """The store file. Raises for a database (or a refused URL): a file is never
        made from a URL."""
        if self.file is None:
            raise self.refusal or not_a_file(self.database)
        return self.file

    @property
    def shown(self) -> str:
        """The store as messages name it: its path, or its URL without a password."""
        if self.database is not None:
            return self.database.shown
        if self.file is None:
            raise self.refusal or not_a_file(None)
        return str(self.file)

    @property
    def seen_key(self) -> str:
        """What this user's record of seen stores (seen.py) files this store under."""
        return self.database.shown if self.database is not None else str(self.store)

    def beside_key(self) -> Locations:
        """The same store with its key file beside it (team mode)."""
        return Locations(self.store, self.store.with_name(TEAM_KEY_NAME))

    @property
    def lock(self) -> Path:
        return self.store.with_name(self.store.name + ".lock")

    @property
    def backup(self) -> Path:
        return self.store.with_name(self.store.name + ".bak")


class FileLocations(FrozenRecord):
    """A store file and its key file as text: what Locations.resolve gives for them,
    for the one-shot reads (store/reader.py, keys.KeyFile and sharing.py take either).
    pathlib costs ~4 ms of every `mailstage email show` (it imports urllib.parse and
    ipaddress); the text here is str() of the Path that Locations.resolve makes, which
    tests/test_store_user_dirs.py checks."""

    FIELDS = ("store", "key_file")
    store: str
    key_file: str
    database: None = None
    refusal: None = None

    def __init__(self, store: str, key_file: str) -> None:
        self._init(store=store, key_file=key_file)

    @classmethod
    def plain(cls, store: str | None = None, key_file: str | None = None) -> FileLocations | None:
        """Locations.resolve(store, key_file) as text; None when that is not a store file
        named plainly: anything with a colon (maybe a URL), a path that starts with ~,
        the root folder, a working folder that is gone. Locations.resolve decides those."""
        store = store or os.environ.get("MAILSTAGE_STORE") or ""
        key_file = key_file or os.environ.get("MAILSTAGE_KEY_FILE")
        try:
            store_text = path_text(store or os.path.join(user_dir("data"), STORE_NAME))
            if store_text is None or ":" in store or not os.path.basename(store_text):
                return None
            if not key_file:
                # a team's store keeps its key beside it; a private one in the user's config
                beside = os.path.join(os.path.dirname(store_text), TEAM_KEY_NAME)
                key_file = beside if os.path.exists(beside) else default_key_text()
            key_text = path_text(key_file)
        except OSError:
            return None
        return None if key_text is None else cls(store_text, key_text)

    @property
    def file(self) -> str:
        return self.store

    @property
    def shown(self) -> str:
        return self.store

    @property
    def seen_key(self) -> str:
        return self.store


def default_key_text() -> str:
    return os.path.join(user_dir("config"), TEAM_KEY_NAME)


def path_text(text: str) -> str | None:
    """str(Path(text).expanduser().absolute()) without pathlib; None for a path that
    starts with ~ (expanduser's business)."""
    if not text.startswith("/"):
        relative = normal_path(text)
        if relative.startswith("~"):
            return None
        text = os.getcwd() + "/" + relative
    return normal_path(text)


if TYPE_CHECKING:
    # what the read path (store/reader.py) opens: either names a store file the same way
    ReadLocations = Locations | FileLocations


def _looks_like_url(text: str) -> bool:
    from mailstage.store.database_url import looks_like_url

    return looks_like_url(text)


def not_a_file(database: DatabaseUrl | None) -> StoreUnreadable:
    """Why a database store has no file: the extra is missing, or this part of mailstage
    works on store files only."""
    from importlib.util import find_spec  # a check that psycopg is there, not an import

    where = database.where if database is not None else "The store"
    if find_spec("psycopg") is None:
        from mailstage.store.database_url import extra_missing

        return extra_missing(where)
    return StoreUnreadable(
        f"The store is {where}: this works with a store file only, not with a "
        f"PostgreSQL store yet. Nothing was changed."
    )


def ensure_private_dir(path: Path) -> None:
    """Create the folder (and missing parents) with mode 0700."""
    ensure_store_dir(path, PRIVATE)


def ensure_store_dir(path: Path, sharing: Sharing) -> None:
    """Create the folder (and missing parents) with the sharing's mode (0700, or 2770 and
    the team's group). Folders that exist already are left as they are."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        if sharing.team and folder == path:
            os.chown(folder, -1, sharing.chown_gid)
            os.chmod(folder, sharing.dir_mode)
        else:
            os.chmod(folder, 0o700)


def _write_all(fd: int, data: bytes | Sequence[bytes]) -> None:
    for chunk in (data,) if isinstance(data, bytes) else data:
        view = memoryview(chunk)
        while view:
            written = os.write(fd, view)
            view = view[written:]


def create_file(
    path: StrPath, data: bytes | Sequence[bytes], mode: int = 0o600, gid: int | None = None
) -> None:
    """Write a new file with exactly ``mode`` (whatever the umask) and, if given, the group
    ``gid``; refuses to follow or replace anything."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        if gid is not None:
            os.fchown(fd, -1, gid)
        os.fchmod(fd, mode)
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def create_private_file(path: Path, data: bytes | Sequence[bytes]) -> None:
    """Write a new file with mode 0600; refuses to follow or replace anything."""
    create_file(path, data, 0o600)


def create_store_file(path: Path, data: bytes | Sequence[bytes], sharing: Sharing) -> None:
    """A new file beside the store (the store, its temp files): 0600, or 0660 in team mode."""
    create_file(path, data, sharing.file_mode, sharing.gid)


def open_store_side_file(path: Path, flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """Open (creating if needed) a file that lives beside the store, such as a log, with the
    store's modes: 0600 for one user, 0660 and the team's group in team mode. Never follows
    a symlink; an existing file is checked as strictly as the store. Returns the fd."""
    sharing = sharing_of(path.parent)
    base = (flags & ~(os.O_CREAT | os.O_EXCL)) | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, base | os.O_CREAT | os.O_EXCL, sharing.file_mode)
    except FileExistsError:
        check_file(path, "file", sharing)
        return os.open(path, base)
    try:
        if sharing.gid is not None:
            os.fchown(fd, -1, sharing.gid)
        os.fchmod(fd, sharing.file_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_private_file(path: Path, what: str) -> None:
    """Refuse a symlink or a file other users can read or write."""
    check_file(path, what, PRIVATE)


def read_private_file(path: Path, what: str) -> bytes:
    return read_checked_file(path, what, PRIVATE)


def read_checked_file(path: StrPath, what: str, sharing: Sharing, *, key: bool = False) -> bytes:
    check_file(path, what, sharing, key=key)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
