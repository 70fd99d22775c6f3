"""Opening the store file: the one read path, and reading only the sections needed.

Free of pydantic and of the models: `mailstage email show` decrypts the header's
core section and prints from plain JSON, so it costs the same at any store size.
The full load (filestore.StoreFile.open) goes through the same checks here first.

The core section holds the organization, the stages, the app index (the names in
each apps section, in order) and what the audit archive holds:

    {"organization": {...}, "stages": [...], "apps": [["App 1", ...], ...],
     "archive": {"chunks": n, "events": m}}
"""

from __future__ import annotations

import json
import os

from mailstage.store import envelope, seen
from mailstage.store.errors import NotInitialized, StoreUnreadable, UnsafeFile
from mailstage.store.paths import Locations
from mailstage.store.record import Record
from mailstage.store.sharing import (
    PRIVATE,
    Sharing,
    check_file,
    check_store_folder,
    is_in_group,
    sharing_of,
    user_name,
)

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from mailstage.store import envelope_v1
    from mailstage.store.keys import KeySource
    from mailstage.store.paths import ReadLocations

    # a passphrase, none (a key file), or a function of the header's key kinds that says
    Asked = str | None | Callable[[set[str]], str | None]

FIRST_READ = 64 * 1024


def key_source(locations: ReadLocations, passphrase: str | None) -> KeySource:
    # keys imports cryptography: not needed to read the header on the way to a first paint
    from mailstage.store.keys import KeyFile, Passphrase

    return Passphrase(passphrase) if passphrase is not None else KeyFile(locations.key_file)


def _not_there(locations: ReadLocations) -> NotInitialized:
    return NotInitialized(
        f"There is no store at {locations.store} yet. Create one with: mailstage init"
    )


def _cannot_read(
    locations: ReadLocations, exc: OSError, sharing: Sharing = PRIVATE
) -> StoreUnreadable:
    if isinstance(exc, PermissionError):
        me = user_name(os.getuid())
        if sharing.team and not is_in_group(os.getuid(), sharing.gid or 0):
            return StoreUnreadable(
                f"You ({me}) are not in the group {sharing.group} that shares the store "
                f"{locations.store}, so you cannot read it. An administrator can add you "
                f"with: usermod -aG {sharing.group} {me} (then log in again)."
            )
        return StoreUnreadable(
            f"You ({me}) may not read the store {locations.store}: permission denied."
        )
    return StoreUnreadable(f"Cannot read the store {locations.store}: {exc.strerror}.")


def store_folder(locations: ReadLocations) -> str:
    """The store file's folder (Path.parent, as text: a FileLocations has no Path)."""
    return os.path.dirname(locations.store) or "."


def checked_sharing(locations: ReadLocations) -> Sharing:
    """Private or team mode, told by the store's folder, checked as StrictModes does."""
    folder = store_folder(locations)
    sharing = sharing_of(folder)
    check_store_folder(folder, sharing)
    return sharing


def check_group(locations: ReadLocations, extra: dict[str, Any], sharing: Sharing) -> None:
    """The team recorded in the authenticated header must be the folder's group."""
    recorded = extra.get("group")
    if locations.database is not None:
        return  # a database is shared through its roles' grants, not an OS group
    folder = store_folder(locations)
    if recorded is not None and recorded != sharing.group:
        now = f"the group {sharing.group}" if sharing.team else "no group (it is private)"
        raise UnsafeFile(
            f"The store {locations.store} belongs to the team {recorded}, but its folder "
            f"{folder} is shared with {now}. Fix it with: chgrp {recorded} {folder} && "
            f"chmod 2770 {folder}"
        )
    if recorded is None and sharing.team:
        raise UnsafeFile(
            f"The store {locations.store} is private, but its folder {folder} is shared "
            f"with the group {sharing.group}. Share the store on purpose with: mailstage "
            f"share --group {sharing.group}, or make the folder private: chmod 700 {folder}"
        )


def _explain_group_mismatch(locations: ReadLocations, sharing: Sharing) -> None:
    """A refused file in a folder shared otherwise than the store says: name that first
    (the header is only a hint here; it is authenticated once the key opens it)."""
    try:
        fd = os.open(locations.store, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return
    try:
        head = os.pread(fd, FIRST_READ, 0)
    except OSError:
        return
    finally:
        os.close(fd)
    try:
        group = envelope.parse_prefix(head, locations.store).extra.get("group")
    except StoreUnreadable:
        return
    if isinstance(group, str) and group != sharing.group:
        check_group(locations, {"group": group}, sharing)


class RawFile(Record):
    """The store's bytes as read so far, from one open file (never a newer file's)."""

    FIELDS = ("fd", "head", "size", "sharing")
    fd: int
    head: bytes
    size: int
    sharing: Sharing

    def __init__(self, fd: int, head: bytes, size: int, sharing: Sharing = PRIVATE) -> None:
        self._init(fd=fd, head=head, size=size, sharing=sharing)

    def read(self, offset: int, length: int) -> bytes | memoryview:
        if offset + length <= len(self.head):
            return memoryview(self.head)[offset : offset + length]
        data = os.pread(self.fd, length, offset)
        if len(data) != length:
            raise EOFError
        return data

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def open_raw(locations: ReadLocations, *, whole: bool) -> RawFile:
    """The store file, checked as ssh's StrictModes would (private, or the team's);
    its first bytes (or all) read."""
    sharing = checked_sharing(locations)
    try:
        check_file(locations.store, "store", sharing)
        fd = os.open(locations.store, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise _not_there(locations) from None
    except UnsafeFile:
        _explain_group_mismatch(locations, sharing)
        raise
    except OSError as exc:
        raise _cannot_read(locations, exc, sharing) from None
    try:
        size = os.fstat(fd).st_size
        head = _read_all(fd) if whole else os.pread(fd, FIRST_READ, 0)
        if whole:
            size = len(head)
    except OSError as exc:
        os.close(fd)
        raise _cannot_read(locations, exc, sharing) from None
    return RawFile(fd, head, size, sharing)


def _read_all(fd: int) -> bytes:
    with os.fdopen(os.dup(fd), "rb") as handle:
        return handle.read()


def read_header(raw: RawFile, locations: ReadLocations) -> envelope.Header | envelope_v1.Parsed:
    """The v2 header (prefix only), or the whole v1 envelope parsed."""
    path = locations.shown
    if not envelope.is_v2(raw.head):
        from mailstage.store import envelope_v1

        if raw.size != len(raw.head):
            raw.head = bytes(raw.read(0, raw.size))
        return envelope_v1.parse(raw.head, path)
    size = envelope.prefix_size(raw.head)
    if size is None or size > envelope.MAX_HEADER + envelope.PREFIX_FIXED or size > raw.size:
        raise envelope.unreadable(path)
    try:
        head = bytes(raw.read(0, size))
    except (EOFError, OSError):
        raise envelope.unreadable(path) from None
    header = envelope.parse_prefix(head, path)
    if header.end != raw.size:
        raise envelope.unreadable(path)
    return header


class OpenedStore(Record):
    """An authenticated store file: the data key, the header, and the sections on demand."""

    FIELDS = (
        "locations",
        "data_key",
        "generation",
        "wraps",
        "raw",
        "header",
        "extra",
        "core_bytes",
        "_core",
    )
    NOT_SHOWN = frozenset({"data_key", "core_bytes", "_core"})  # the key and the plaintext
    locations: ReadLocations
    data_key: bytes
    generation: int
    wraps: list[dict[str, Any]]
    raw: RawFile
    header: envelope.Header | None  # None for a version 1 file
    extra: dict[str, Any]  # store_id, group: see seen, sharing
    core_bytes: bytes  # v2: the decrypted core; v1: the whole payload
    _core: dict[str, Any] | None

    def __init__(
        self,
        locations: ReadLocations,
        data_key: bytes,
        generation: int,
        wraps: list[dict[str, Any]],
        raw: RawFile,
        header: envelope.Header | None,
        extra: dict[str, Any] | None = None,
        core_bytes: bytes = b"",
    ) -> None:
        extra = {} if extra is None else extra
        self._init(locations=locations, data_key=data_key, generation=generation, wraps=wraps)
        self._init(raw=raw, header=header, extra=extra, core_bytes=core_bytes, _core=None)

    @property
    def version(self) -> int:
        return 1 if self.header is None else 2

    @property
    def sharing(self) -> Sharing:
        return self.raw.sharing

    @property
    def store_id(self) -> str | None:
        value = self.extra.get("store_id")
        return value if isinstance(value, str) else None

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> OpenedStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def section_bytes(self, section: envelope.Section) -> bytes:
        try:
            ciphertext = self.raw.read(section.offset, section.length)
            return envelope.open_section(section, self.data_key, ciphertext, "")
        except (EOFError, OSError, StoreUnreadable):
            raise self.damaged(section) from None

    def part_name(self, section: envelope.Section) -> str:
        of_kind = self.sections(section.kind)
        return f"{section.kind} section ({of_kind.index(section) + 1} of {len(of_kind)})"

    def damaged(self, section: envelope.Section) -> StoreUnreadable:
        return envelope.damaged_part(self.locations.shown, self.part_name(section))

    def sections(self, kind: str) -> list[envelope.Section]:
        return [] if self.header is None else self.header.of_kind(kind)

    # -- plain JSON views (the one-shot commands) ---------------------------------------

    def core(self) -> dict[str, Any]:
        """organization, stages, apps (the index), archive; from v1 too."""
        if self._core is None:
            core = _loads(self.core_bytes, self.locations)
            if self.header is None:
                apps = core.get("apps", [])
                core = {
                    "organization": core.get("organization", {}),
                    "stages": core.get("stages", []),
                    "apps": [[a.get("name") for a in apps]],
                    "archive": {"chunks": 0, "events": 0},
                    "_v1": core,
                }
            self._core = core
        return self._core

    def app_chunk(self, index: int) -> list[dict[str, Any]]:
        if self.header is None:
            return list(self.core()["_v1"].get("apps", []))
        chunk: list[dict[str, Any]] = _loads(
            self.section_bytes(self.header.nth_of_kind("apps", index)), self.locations
        )
        return chunk

    def find_app(self, name: str) -> dict[str, Any] | None:
        """One app by name (ignoring case), decrypting only the section that holds it."""
        key = name.casefold()
        for index, names in enumerate(self.core().get("apps", [])):
            at = index_ignoring_case(names, key)
            if at is not None:
                return self.app_chunk(index)[at]
        return None


def index_ignoring_case(names: list[Any], key: str) -> int | None:
    """Where the first text in ``names`` that casefolds to ``key`` is, or None. Names
    that are all text without a NUL are casefolded and searched joined, in C: a name by
    name loop took ~1.5 ms of `testlist show` for the last of 10,000 apps. (casefold
    maps each character alone, so the joined text's casefold is the names' casefolds
    joined.)"""
    try:
        joined = "\0".join(names)
    except TypeError:  # not all text: name by name
        joined = ""
    if joined and "\0" not in key and joined.count("\0") == len(names) - 1:
        folded = f"\0{joined.casefold()}\0"
        found = folded.find(f"\0{key}\0")
        return None if found < 0 else folded.count("\0", 0, found)  # the names before
    for at, candidate in enumerate(names):
        if isinstance(candidate, str) and candidate.casefold() == key:
            return at
    return None


def _loads(data: bytes, locations: ReadLocations) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise envelope.unreadable(locations.shown) from None


def open_store(
    locations: ReadLocations,
    passphrase: Asked = None,
    *,
    whole: bool = False,
    data_key: bytes | None = None,
    accept_older: bool = False,
) -> OpenedStore:
    """Check, read and authenticate the store: the header and its core are decrypted;
    the other sections wait until asked for. ``whole`` reads the file in one go; a
    known ``data_key`` (a reload) is used instead of unwrapping one. ``passphrase`` may
    be a function of the header's key kinds (the CLI asks only a store that has a
    passphrase), called at most once.

    A store older than the one this user last saw at this path, or another store, is
    refused (seen.py) unless ``accept_older``; a reload checks that itself."""
    if callable(passphrase):
        passphrase = _asked_once(passphrase)
    for attempt in range(3):
        opened = _open_store(locations, passphrase, whole=whole, data_key=data_key)
        try:
            check_group(locations, opened.extra, opened.sharing)
            if data_key is None and not accept_older:
                seen.check_and_remember(locations.seen_key, opened.generation, opened.store_id)
        except seen.StoreRolledBack:
            opened.close()
            # another of this user's processes may have saved (and recorded a newer version)
            # between this read and the check: a newer file on disk now means no rollback
            if attempt < 2 and _newer_on_disk(locations, opened.generation):
                continue
            raise
        except BaseException:
            opened.close()
            raise
        return opened
    raise AssertionError("unreachable")


def _asked_once(ask: Callable[[set[str]], str | None]) -> Callable[[set[str]], str | None]:
    answers: list[str | None] = []

    def once(kinds: set[str]) -> str | None:
        if not answers:
            answers.append(ask(kinds))
        return answers[0]

    return once


def _raw(locations: ReadLocations, *, whole: bool) -> RawFile:
    """The store's first bytes (or all): from its file, or from its database's row."""
    if isinstance(locations, Locations) and locations.database is not None:
        from mailstage.store.backend import backend_for

        return backend_for(locations).open_raw(whole=whole)
    return open_raw(locations, whole=whole)  # a refused URL raises its sentence here


def _newer_on_disk(locations: ReadLocations, generation: int) -> bool:
    if isinstance(locations, Locations) and locations.database is not None:
        from mailstage.store.backend import backend_for

        now = backend_for(locations).generation()
        return now is not None and now > generation
    try:
        fd = os.open(locations.store, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        now = generation_on_disk(fd)
    finally:
        os.close(fd)
    return now is not None and now > generation


def _open_store(
    locations: ReadLocations, passphrase: Asked, *, whole: bool, data_key: bytes | None
) -> OpenedStore:
    raw = _raw(locations, whole=whole)
    try:
        header = read_header(raw, locations)
        if data_key is None:
            kinds = {str(w.get("kind")) for w in header.wraps}
            given = passphrase(kinds) if callable(passphrase) else passphrase
            source = key_source(locations, given)
            data_key = _unwrap(source, header.wraps)
            if data_key is None:  # a sentence true for this source: missing, wrong size...
                raise source.refusal(locations.shown, kinds)
        if not isinstance(header, envelope.Header):  # version 1: one payload
            from mailstage.store import envelope_v1

            payload = envelope_v1.open_payload(header, data_key, locations.shown)
            return OpenedStore(
                locations, data_key, header.generation, header.wraps, raw, None, {}, payload
            )
        core_section = header.core
        try:
            ciphertext = raw.read(core_section.offset, core_section.length)
        except (EOFError, OSError):
            raise envelope.unreadable(locations.shown) from None
        core = envelope.open_core(header, data_key, ciphertext, locations.shown)
        return OpenedStore(
            locations, data_key, header.generation, header.wraps, raw, header, header.extra, core
        )
    except BaseException:
        raw.close()
        raise


def _unwrap(source: KeySource, wraps: list[dict[str, Any]]) -> bytes | None:
    from mailstage.store.keys import KeyFile

    if isinstance(source, KeyFile):
        source.check()
    return source.unwrap(wraps)


def read_header_kinds(locations: ReadLocations) -> set[str]:
    """Which key sources can open the store: read from the header alone, nothing decrypted."""
    raw = _raw(locations, whole=False)
    try:
        return {str(w.get("kind")) for w in read_header(raw, locations).wraps}
    finally:
        raw.close()


def generation_on_disk(fd: int) -> int | None:
    """The generation in the header of an open store file, or None if it is not ours."""
    head = os.pread(fd, FIRST_READ, 0)
    if not envelope.is_v2(head):
        from mailstage.store import envelope_v1

        return envelope_v1.generation_on_disk(head)
    size = envelope.prefix_size(head)
    if size is None or size > envelope.MAX_HEADER + envelope.PREFIX_FIXED:
        return None
    if size > len(head):
        head = os.pread(fd, size, 0)
    try:
        env = json.loads(head[envelope.PREFIX_FIXED : size])
        generation = env["generation"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    return generation if isinstance(generation, int) and not isinstance(generation, bool) else None
