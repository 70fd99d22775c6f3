"""`mailstage check`: read and verify every part of the store, not only what a command needs.

Readers verify the sections they decode, so `stage list` never touches a damaged audit
section. The check opens every one (core, each apps and audit section, the audit
archive, and whatever the caller adds, such as the email log) and names each that fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from mailstage.store import audit_archive, envelope
from mailstage.store.backend import backend_for
from mailstage.store.errors import StoreUnreadable, UnsafeFile
from mailstage.store.filestore import derive_key
from mailstage.store.models import StoreData
from mailstage.store.paths import Locations
from mailstage.store.reader import OpenedStore, open_store
from mailstage.store.sections import (
    SECTION_KINDS_AFTER_CORE,
    TRUSTED,
    ArchiveInfo,
    CoreSection,
    decode_apps,
    decode_audit,
    load_events,
)


@dataclass(frozen=True)
class PartCheck:
    part: str
    ok: bool
    detail: str


# A further part to check (the email log): given a key derivation, its verdict.
ExtraCheck = Callable[[Callable[[bytes], bytes]], PartCheck]


def check_store(
    locations: Locations, passphrase: str | None, extra: Sequence[ExtraCheck] = ()
) -> list[PartCheck]:
    """Every part's verdict. A store that does not open at all (wrong key, header damaged,
    unsafe permissions) raises as every command does: there is nothing to go through."""
    with open_store(locations, passphrase, whole=True) as opened:
        results = list(_parts(opened, locations))
        for check in extra:
            results.append(check(lambda purpose: derive_key(opened.data_key, purpose)))
    return results


def _parts(opened: OpenedStore, locations: Locations) -> Iterator[PartCheck]:
    if opened.header is None:
        yield _v1(opened)
        return
    try:
        core = CoreSection.model_validate_json(opened.core_bytes, context=TRUSTED)
    except ValueError:
        yield PartCheck("core section", False, "decrypts but does not hold a store's core")
        return
    yield PartCheck(
        "core section", True, f"{len(core.stages)} stage(s), {sum(map(len, core.apps))} app(s)"
    )
    yield from _app_sections(opened, core)
    yield from _audit_sections(opened)
    unknown = {s.kind for s in opened.header.sections[1:]} - SECTION_KINDS_AFTER_CORE
    if unknown:
        yield PartCheck("sections", False, f"unknown kind(s): {', '.join(sorted(unknown))}")
    yield _archive(opened, core.archive, locations)


def _v1(opened: OpenedStore) -> PartCheck:
    try:
        data = StoreData.model_validate_json(opened.core_bytes, context=TRUSTED)
    except ValueError:
        return PartCheck("payload (format 1)", False, "decrypts but does not hold a store")
    return PartCheck("payload (format 1)", True, f"{len(data.apps)} app(s)")


def _app_sections(opened: OpenedStore, core: CoreSection) -> Iterator[PartCheck]:
    sections = opened.sections("apps")
    if len(sections) != len(core.apps):
        yield PartCheck(
            "app index",
            False,
            f"the core lists {len(core.apps)} apps section(s), the file has {len(sections)}",
        )
    for names, section in zip(core.apps, sections, strict=False):
        yield _verdict(opened, section, partial(decode_apps, opened, section, names))


def _audit_sections(opened: OpenedStore) -> Iterator[PartCheck]:
    for section in opened.sections("audit"):
        yield _verdict(opened, section, partial(decode_audit, opened, section))


def _verdict(
    opened: OpenedStore, section: envelope.Section, decode: Callable[[], Sequence[object]]
) -> PartCheck:
    name = opened.part_name(section)
    try:
        count = len(decode())
        return PartCheck(name, True, f"{count} {'app' if section.kind == 'apps' else 'event'}(s)")
    except StoreUnreadable:
        return PartCheck(name, False, "damaged (its digest or contents do not match)")


def _archive(opened: OpenedStore, archive: ArchiveInfo, locations: Locations) -> PartCheck:
    key = derive_key(opened.data_key, audit_archive.KEY_PURPOSE)
    try:
        chunks = backend_for(locations).read_archive(key, archive.chunks)
        events = sum(len(load_events(chunk)) for chunk in chunks)
    except UnsafeFile:
        raise
    except (StoreUnreadable, ValueError):
        return PartCheck("audit archive", False, f"damaged ({archive.chunks} record(s) expected)")
    return PartCheck("audit archive", True, f"{archive.chunks} record(s), {events} event(s)")
