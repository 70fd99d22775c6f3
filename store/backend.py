"""The seam between the store (envelope, keys, sections, Workspace) and where its bytes
persist: a file (store/file_backend.py, the default) or, later, a PostgreSQL row.

A backend does four things and knows nothing of what the bytes mean:
- ``open_raw``: the envelope's bytes (all, or the first ones) for the reader;
- ``signature`` / ``generation``: cheap checks that a save happened, and the generation
  now stored (the conflict check compares it with the one loaded);
- ``locked``: writers one at a time (a file lock; a row lock in a database);
- ``write``: replace the envelope, called under ``locked`` once the generation matched.

Nothing PostgreSQL-related is imported here or on the file path (start-up speed).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

from mailstage.store.paths import Locations

if TYPE_CHECKING:
    from mailstage.store.reader import RawFile
    from mailstage.store.sharing import Sharing


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

    def write(self, blob: Sequence[bytes | memoryview], sharing: Sharing) -> None: ...


def backend_for(locations: Locations, sharing: Sharing | None = None) -> StoreBackend:
    """The backend that keeps this store. A database URL is refused (by ``.store``) until
    the PostgreSQL backend is there: never a file named after it."""
    from mailstage.store.file_backend import FileBackend
    from mailstage.store.sharing import PRIVATE

    locations.store  # noqa: B018 - raises the sentence for a database or a refused URL
    return FileBackend(locations, sharing or PRIVATE)
