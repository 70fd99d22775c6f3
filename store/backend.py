"""The seam between the store (envelope, keys, sections, Workspace) and where its bytes
persist: a file (store/file_backend.py, the default) or a PostgreSQL row
(store/pg_backend.py, for a `postgresql://` store).

A backend does these things and knows nothing of what the bytes mean:
- ``open_raw``: the envelope's bytes (all, or the first ones) for the reader;
- ``signature`` / ``generation``: cheap checks that a save happened, and the generation
  now stored (the conflict check compares it with the one loaded);
- ``locked``: writers one at a time (a file lock; a row lock in a database);
- ``write``: replace the envelope, called under ``locked`` once the generation matched
  (``stamp``: the generation written, the one replaced, the store's id);
- ``read_archive`` / ``append_archive``: the audit archive's sealed records.

Nothing PostgreSQL-related is imported here or on the file path (start-up speed).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from mailstage.store.paths import Locations
from mailstage.store.record import FrozenRecord

if TYPE_CHECKING:
    from mailstage.store.reader import RawFile
    from mailstage.store.sharing import Sharing


class Stamp(FrozenRecord):
    """A save's bookkeeping: the new generation, the one it replaces (None for a new
    store) and the store's id (a database keeps them as columns; a file's header has them)."""

    FIELDS = ("generation", "loaded", "store_id")
    generation: int
    loaded: int | None
    store_id: str

    def __init__(self, generation: int, loaded: int | None, store_id: str) -> None:
        self._init(generation=generation, loaded=loaded, store_id=store_id)


class StoreBackend(Protocol):
    locations: Locations
    sharing: Sharing  # a file's modes and group (team mode); a database has none

    @property
    def shown(self) -> str:
        """The store as messages name it (never a password)."""

    def open_raw(self, *, whole: bool) -> RawFile: ...

    def signature(self) -> Hashable | None: ...

    def generation(self) -> int | None: ...

    def locked(self) -> AbstractContextManager[None]: ...

    def write(self, blob: Sequence[bytes | memoryview], sharing: Sharing, stamp: Stamp) -> None: ...

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the save is visible to others (a file: at once; a
        database: when the outermost ``locked`` commits, never if it rolls back)."""

    def read_archive(self, key: bytes, count: int) -> list[bytes]: ...

    def append_archive(self, key: bytes, committed: int, chunks: list[bytes]) -> None: ...


def backend_for(locations: Locations, sharing: Sharing | None = None) -> StoreBackend:
    """The backend that keeps this store: its database's (one per process), else its file.
    A refused URL raises its sentence (by ``.store``): never a file named after it."""
    if locations.database is not None:
        from mailstage.store.pg_backend import for_database

        return for_database(locations, locations.database)
    from mailstage.store.file_backend import FileBackend
    from mailstage.store.sharing import PRIVATE

    locations.store  # noqa: B018 - raises the sentence for a refused URL
    return FileBackend(locations, sharing or PRIVATE)
