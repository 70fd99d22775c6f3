"""The encrypted store file: open, the locked atomic write path, conflict detection.

Write path: lock -> re-read the generation on disk -> refuse if it moved (another
admin saved first) -> encrypt -> temp file in the same folder -> fsync -> keep the
previous file as .bak -> os.replace -> fsync the folder -> unlock. Any error leaves
the previous file intact and no temp file behind.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Collection, Hashable, Iterator
from typing import Any

from mailstage.store import audit_archive, envelope, reader, seen
from mailstage.store.backend import Stamp, backend_for
from mailstage.store.errors import (
    Conflict,
    InvalidInput,
    StoreUnreadable,
    StoreWriteFailed,
)
from mailstage.store.file_backend import write_atomically
from mailstage.store.keys import KeyFile, new_data_key
from mailstage.store.models import App, AuditEvent, StoreData
from mailstage.store.paths import (
    Locations,
    create_file,
    ensure_store_dir,
    read_checked_file,
)
from mailstage.store.reader import key_source, read_header_kinds
from mailstage.store.sections import (
    AUDIT_CHUNK,
    AUDIT_KEEP,
    ArchiveInfo,
    SectionCache,
    decode_store,
    dump_events,
    load_events,
    seal_store,
)
from mailstage.store.sharing import PRIVATE, Sharing, check_store_folder, sharing_of

__all__ = ["StoreFile", "key_source", "read_header_kinds", "write_atomically"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Building or dumping millions of strings makes no reference cycles; without this the
    collector rescans the growing heap again and again (super-linear on large stores)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decode(opened: reader.OpenedStore) -> tuple[StoreData, ArchiveInfo, SectionCache]:
    try:
        with gc_paused():
            return decode_store(opened)
    except ValueError:
        raise envelope.unreadable(opened.locations.store) from None


def _read_whole(
    locations: Locations,
    passphrase: str | None = None,
    data_key: bytes | None = None,
    accept_older: bool = False,
) -> tuple[reader.OpenedStore, StoreData, ArchiveInfo, SectionCache]:
    """Read, authenticate and decode the whole file (with a known data key, or unwrap)."""
    opened = reader.open_store(
        locations, passphrase, whole=True, data_key=data_key, accept_older=accept_older
    )
    try:
        data, archive, cache = _decode(opened)
    finally:
        opened.close()
    return opened, data, archive, cache


def derive_key(data_key: bytes, purpose: bytes) -> bytes:
    """HKDF-SHA256 of the store's data key for one purpose (the email log, the archive)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(data_key)


def _no_group_for_database(nothing_was: str) -> InvalidInput:
    return InvalidInput(
        "Group (--group) shares a store file with an OS group; a PostgreSQL store is "
        "shared through database roles and their grants (README, PostgreSQL). Nothing "
        f"was {nothing_was}.",
        [("group", "not for a database")],
    )


class StoreFile:
    """An opened store: the data key in memory and the generation it was loaded at."""

    def __init__(
        self,
        locations: Locations,
        data_key: bytes,
        wraps: list[dict[str, Any]],
        generation: int,
        sharing: Sharing = PRIVATE,
    ) -> None:
        self.locations = locations
        self._data_key = data_key
        self.wraps = wraps
        self.generation = generation
        # more authenticated header fields, kept: the store's id (rollback and swap
        # detection, seen.py) and its team's group (team mode, sharing.py)
        self.header_extra: dict[str, Any] = {"store_id": seen.new_store_id()}
        self._id_on_disk = False  # True once the id above is the file's own
        self.archive = ArchiveInfo()
        self.version = envelope.VERSION  # of the file as loaded; 1 is rewritten as 2
        self._sections = SectionCache()
        self.audit_keep = AUDIT_KEEP  # past this (and a chunk), older events are archived
        self.backend = backend_for(locations, sharing)  # where the envelope's bytes live
        self.sharing = sharing

    @property
    def sharing(self) -> Sharing:
        return self._sharing

    @sharing.setter
    def sharing(self, sharing: Sharing) -> None:
        self._sharing = self.backend.sharing = sharing

    @property
    def store_id(self) -> str:
        return str(self.header_extra["store_id"])

    def __repr__(self) -> str:
        return f"StoreFile({self.locations.shown!r}, generation={self.generation})"

    @property
    def data_key(self) -> bytes:
        """The store's data key (the email log encrypts its records with it)."""
        return self._data_key

    def _adopt(self, opened: reader.OpenedStore, archive: ArchiveInfo, cache: SectionCache) -> None:
        self.wraps, self.generation = opened.wraps, opened.generation
        # a file from before store ids gets one on its next save
        self.header_extra = {"store_id": self.header_extra["store_id"], **opened.extra}
        self._id_on_disk = self._id_on_disk or opened.store_id is not None
        self.archive, self._sections, self.version = archive, cache, opened.version
        self.sharing = opened.sharing

    # -- creating and opening -------------------------------------------------

    @classmethod
    def create(
        cls,
        locations: Locations,
        data: StoreData,
        passphrase: str | None = None,
        sharing: Sharing = PRIVATE,
    ) -> StoreFile:
        if locations.database is not None:
            return cls._create_in_database(locations, data, passphrase, sharing)
        folder = locations.store.parent
        ensure_store_dir(folder, sharing)
        if sharing_of(folder) != sharing:
            fix = (
                f"chgrp {sharing.group} {folder} && chmod 2770 {folder}"
                if sharing.team
                else f"chmod 700 {folder}"
            )
            raise InvalidInput(
                f"Group (--group) the folder {folder} exists and is set up for "
                f"{'another group or one user' if sharing.team else 'a group'}; nothing was "
                f"created. Fix it with: {fix}",
                [("group", "folder not set up")],
            )
        check_store_folder(folder, sharing)
        if locations.store.exists() or locations.store.is_symlink():
            raise InvalidInput(
                f"Store (--store) {locations.store} already exists; nothing was changed.",
                [("store", "already exists")],
            )
        store = cls._keyed(locations, passphrase, sharing)
        if sharing.group is not None:
            store.header_extra["group"] = sharing.group
        with store.locked():
            if locations.store.exists():
                raise Conflict(f"Another admin created a store at {locations.store} first.")
            store._write(data, None, None)
        seen.remember(locations.store, 0, store.store_id)
        return store

    @classmethod
    def _keyed(cls, locations: Locations, passphrase: str | None, sharing: Sharing) -> StoreFile:
        """A new store's data key, wrapped by the key file (made if missing) or passphrase."""
        source = key_source(locations, passphrase)
        if isinstance(source, KeyFile):
            if source.exists():
                source.check()
            else:
                source.create()
        data_key = new_data_key()
        return cls(locations, data_key, [source.wrap(data_key)], 0, sharing)

    @classmethod
    def _create_in_database(
        cls, locations: Locations, data: StoreData, passphrase: str | None, sharing: Sharing
    ) -> StoreFile:
        """The tables made, the one row written; the key stays in the key file (or a
        passphrase), never in the database."""
        if sharing.team:
            raise _no_group_for_database("created")
        backend = backend_for(locations)
        backend.prepare_new()  # type: ignore[attr-defined]  # PostgresBackend's own step
        store = cls._keyed(locations, passphrase, PRIVATE)
        with store.locked():
            store._write(data, None, None)
        seen.remember(locations.seen_key, 0, store.store_id)
        return store

    @classmethod
    def open(
        cls, locations: Locations, passphrase: str | None = None, *, accept_older: bool = False
    ) -> tuple[StoreFile, StoreData]:
        opened, data, archive, cache = _read_whole(locations, passphrase, accept_older=accept_older)
        store = cls(locations, opened.data_key, opened.wraps, opened.generation, opened.sharing)
        store._adopt(opened, archive, cache)
        return store, data

    def derived_key(self, purpose: bytes) -> bytes:
        """A 256-bit key for another file of this store (the email log), derived from the
        data key with HKDF: whoever can open the store can read it, nobody else."""
        return derive_key(self._data_key, purpose)

    def signature(self) -> Hashable | None:
        """A cheap fingerprint of the stored envelope (a stat for a file): it changes with
        every save. None when the store cannot be seen."""
        return self.backend.signature()

    def peek(self) -> tuple[int, StoreData]:
        """The file as it is on disk now (generation, data), without adopting it."""
        opened, data, _, _ = _read_whole(self.locations, data_key=self._data_key)
        return opened.generation, data

    def reload(self) -> StoreData:
        """Read the current file again with the key already unwrapped, and adopt it."""
        opened, data, archive, cache = _read_whole(self.locations, data_key=self._data_key)
        if self._id_on_disk and opened.store_id not in (None, self.store_id):
            raise seen.StoreRolledBack(
                f"The store {self.locations.shown} was replaced by another store while it "
                f"was open; nothing was changed. Open it again to see which one it is."
            )
        if opened.generation < self.generation:
            raise seen.StoreRolledBack(
                f"The store {self.locations.shown} went back from version {self.generation} "
                f"to {opened.generation} while it was open: an older copy was put back. "
                f"Nothing was changed. If that was on purpose: mailstage restore --accept-older"
            )
        self._adopt(opened, archive, cache)
        seen.remember(self.locations.seen_key, self.generation, self.store_id)
        return data

    # -- saving -----------------------------------------------------------------

    def locked(self) -> contextlib.AbstractContextManager[None]:
        return self.backend.locked()

    def disk_generation(self) -> int | None:
        return self.backend.generation()

    def save(
        self,
        data: StoreData,
        *,
        changed_apps: Collection[App] | None = None,
        at_least: int = 0,
    ) -> int:
        """Save; refuses (Conflict) if someone else saved since this was loaded.

        ``changed_apps``: the only apps changed in place since the last save or load
        (their sections are written anew, the others reused); None means any may have.
        ``at_least`` lifts the new generation above one seen before (restore).
        """
        with self.locked():
            on_disk = self.disk_generation()
            if on_disk != self.generation:
                raise Conflict(
                    f"Another admin saved the store (version {on_disk}) after you opened it "
                    f"(version {self.generation}); nothing was overwritten. Reload and "
                    f"apply your change again.",
                    disk_generation=on_disk,
                )
            loaded = self.generation
            self.generation = max(loaded, at_least) + 1
            try:
                self._write(data, changed_apps, loaded)
            except BaseException:
                self.generation = loaded
                raise
        saved = self.generation
        # recorded once others can read it, or a reader in between would call it a rollback
        self.backend.on_commit(lambda: seen.remember(self.locations.seen_key, saved, self.store_id))
        return self.generation

    def _write(
        self, data: StoreData, changed_apps: Collection[App] | None, loaded: int | None
    ) -> None:
        moved, archive = self._archive_old_events(data)
        with gc_paused():
            core, sealed, cache = seal_store(
                data,
                self._data_key,
                self._sections,
                changed_apps=changed_apps,
                archive=archive,
                audit=data.audit[moved:],
            )
        blob = envelope.seal(
            self._data_key, self.generation, self.wraps, core, sealed, self.header_extra
        )
        self.backend.write(blob, self.sharing, Stamp(self.generation, loaded, self.store_id))
        self._sections, self.version, self.archive = cache, envelope.VERSION, archive
        del data.audit[:moved]  # they are in the archive now
        self._id_on_disk = True

    # -- the audit archive ------------------------------------------------------------

    def _archive_old_events(self, data: StoreData) -> tuple[int, ArchiveInfo]:
        """Past the bound, move the oldest events (whole chunks) to the archive;
        the store written next counts them. Called with the lock held."""
        excess = len(data.audit) - self.audit_keep
        if excess < AUDIT_CHUNK:
            return 0, self.archive
        moved = excess // AUDIT_CHUNK * AUDIT_CHUNK
        with gc_paused():
            chunks = [
                dump_events(data.audit[i : i + AUDIT_CHUNK]) for i in range(0, moved, AUDIT_CHUNK)
            ]
        try:
            self.backend.append_archive(
                self.derived_key(audit_archive.KEY_PURPOSE), self.archive.chunks, chunks
            )
        except OSError as exc:
            raise StoreWriteFailed(
                f"Could not save the store {self.locations.shown}: the audit archive could "
                f"not be written ({exc.strerror or exc}). The previous file is unchanged."
            ) from None
        return moved, ArchiveInfo(
            chunks=self.archive.chunks + len(chunks), events=self.archive.events + moved
        )

    def archived_events(self) -> list[AuditEvent]:
        """The events moved to the archive, oldest first (`mailstage audit --all`)."""
        chunks = self.backend.read_archive(
            self.derived_key(audit_archive.KEY_PURPOSE), self.archive.chunks
        )
        try:
            with gc_paused():
                return [event for chunk in chunks for event in load_events(chunk)]
        except ValueError:
            raise StoreUnreadable(
                f"Cannot read the audit archive of {self.locations.shown}: it is damaged."
            ) from None

    def share(self, sharing: Sharing) -> None:
        """Turn a private store into a team's (the caller saves next, recording the group):
        the folder 2770 and the group's, the files 0660, a key file copied beside the store
        0640. Only the files' owner may do this."""
        if self.locations.database is not None:
            raise _no_group_for_database("changed")
        folder = self.locations.store.parent
        with self.locked():
            os.chown(folder, -1, sharing.chown_gid)
            os.chmod(folder, sharing.dir_mode)
            for path in (self.locations.store, self.locations.backup, self.locations.lock):
                if path.exists() and not path.is_symlink():
                    os.chown(path, -1, sharing.chown_gid)
                    os.chmod(path, sharing.file_mode)
            self.header_extra["group"] = str(sharing.group)
        self.sharing = sharing
        if any(w.get("kind") == "keyfile" for w in self.wraps):
            self._key_beside_store(sharing)

    def _key_beside_store(self, sharing: Sharing) -> None:
        beside = self.locations.beside_key().key_file
        if beside == self.locations.key_file:
            os.chown(beside, -1, sharing.chown_gid)
            os.chmod(beside, sharing.key_mode)
            return
        key = read_checked_file(self.locations.key_file, "key file", PRIVATE, key=True)
        create_file(beside, key, sharing.key_mode, sharing.gid)
        self.locations = self.backend.locations = self.locations.beside_key()
