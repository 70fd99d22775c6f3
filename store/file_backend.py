"""The store kept in one file (the default backend, see store/backend.py).

Write path: lock (`store.json.lock`) -> the caller re-reads the generation on disk and
refuses if it moved -> temp file in the same folder -> fsync -> keep the previous file
as .bak -> os.replace -> fsync the folder -> unlock. Any error leaves the previous file
intact and no temp file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from mailstage.store import envelope, reader
from mailstage.store.errors import (
    LockTimeout,
    StoreUnreadable,
    StoreWriteFailed,
    UnsafeFile,
    file_system_error,
    file_system_reason,
)
from mailstage.store.paths import Locations, create_store_file, ensure_store_dir, fsync_dir
from mailstage.store.sharing import PRIVATE, Sharing, check_file

if TYPE_CHECKING:
    from filelock import FileLock

    from mailstage.store.backend import Stamp

DEFAULT_LOCK_TIMEOUT = 10.0


def lock_timeout() -> float:
    try:
        return float(os.environ.get("MAILSTAGE_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT


class FileBackend:
    def __init__(self, locations: Locations, sharing: Sharing = PRIVATE) -> None:
        self.locations = locations
        self.sharing = sharing
        self._file_lock: FileLock | None = None  # made on first use: readers never lock

    @property
    def _lock(self) -> FileLock:
        """One FileLock for this store (reentrant: a save inside a transaction). Its mode
        applies when the lock file is made; share() changes an existing one."""
        if self._file_lock is None:
            from filelock import FileLock

            self._file_lock = FileLock(
                str(self.locations.lock), mode=self.sharing.file_mode, timeout=lock_timeout()
            )
        return self._file_lock

    @property
    def shown(self) -> str:
        return str(self.locations.store)

    def open_raw(self, *, whole: bool) -> reader.RawFile:
        return reader.open_raw(self.locations, whole=whole)

    def signature(self) -> tuple[int, int, int] | None:
        """A stat of the file: it changes with every save, since a save replaces the file.
        None when the file cannot be seen."""
        try:
            info = os.stat(self.locations.store)
        except OSError:
            return None
        return info.st_ino, info.st_size, info.st_mtime_ns

    def generation(self) -> int | None:
        try:
            fd = os.open(self.locations.store, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            generation = reader.generation_on_disk(fd)
        finally:
            os.close(fd)
        if generation is None:
            raise envelope.unreadable(self.locations.store)
        return generation

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        check_file(self.locations.lock, "lock file", self.sharing)
        from filelock import Timeout as FileLockTimeout

        try:
            ensure_store_dir(self.locations.lock.parent, self.sharing)
            self._lock.acquire()
        except FileLockTimeout:
            raise LockTimeout(
                f"Another mailstage is saving the store {self.locations.store} and did not "
                f"finish within {self._lock.timeout:g} s; try again."
            ) from None
        except OSError as exc:  # read-only, full, a planted symlink: exit 5, a dialog
            raise self._lock_refused(exc) from None
        try:
            yield
        finally:
            self._lock.release()

    def _lock_refused(self, exc: OSError) -> StoreUnreadable | StoreWriteFailed:
        lock = self.locations.lock
        if lock.is_symlink():
            return UnsafeFile(
                f"The lock file {lock} is a symbolic link, which mailstage refuses to "
                f"follow: someone may have planted it. Remove it (rm {lock}) and try again."
            )
        return file_system_error(exc, "take the store's lock")

    def write(self, blob: Sequence[bytes | memoryview], sharing: Sharing, stamp: Stamp) -> None:
        # the generation was checked under the lock; the file's header carries it and the id
        write_atomically(self.locations.store, self.locations.backup, blob, sharing)

    def on_commit(self, action: Callable[[], None]) -> None:
        action()  # the file was replaced: every reader sees it now

    # audit_archive imports cryptography: kept off the read path
    def read_archive(self, key: bytes, count: int) -> list[bytes]:
        from mailstage.store import audit_archive

        return audit_archive.read_chunks(self.locations.store, key, count)

    def append_archive(self, key: bytes, committed: int, chunks: list[bytes]) -> None:
        """Called under ``locked``, before the store that counts the records is written."""
        from mailstage.store import audit_archive

        try:
            mode = stat.S_IMODE(self.locations.store.stat().st_mode) & 0o660 or 0o600
        except OSError:
            mode = 0o600
        audit_archive.append_chunks(self.locations.store, key, committed, chunks, mode)


def _temp_name(path: Path) -> Path:
    import secrets  # imports hmac: kept off the read path

    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def remove_stale_temps(path: Path) -> None:
    """Temp files left by a writer that was killed; only called with the lock held."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def write_atomically(
    path: Path, backup: Path, blob: Sequence[bytes | memoryview], sharing: Sharing = PRIVATE
) -> None:
    remove_stale_temps(path)
    temp = _temp_name(path)
    backup_temp = _temp_name(backup)
    try:
        create_store_file(temp, cast(Sequence[bytes], blob), sharing)  # memoryviews alike
        if path.exists():
            os.link(path, backup_temp)
            os.replace(backup_temp, backup)
        os.replace(temp, path)
    except OSError as exc:
        raise StoreWriteFailed(
            f"Could not save the store {path}: {file_system_reason(exc)}. "
            f"The previous file is unchanged."
        ) from None
    finally:
        for leftover in (temp, backup_temp):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    # The new file is in place: a folder that cannot be fsynced (some file systems)
    # must not turn a committed save into a reported failure.
    with contextlib.suppress(OSError):
        fsync_dir(path.parent)
