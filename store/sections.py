"""The store's models cut into envelope sections, and put back together.

core: organization, stages, the app index, the archive's size; apps: APP_CHUNK apps a
section; audit: AUDIT_CHUNK events a section. A save re-serializes and re-encrypts
only the sections whose objects changed: the others are written again as they were
(same nonce, same ciphertext, pinned again by the new header). So toggling one test
list among 1,000 apps costs one chunk, not the whole store.

Which apps changed is not guessed from the objects (they are changed in place): a
save says which apps it touched, or else every app section is written anew.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ConfigDict, Field, TypeAdapter

from mailstage.store import envelope
from mailstage.store.models import App, AuditEvent, Model, Organization, Stage, StoreData
from mailstage.store.reader import OpenedStore

APP_CHUNK = 32
AUDIT_CHUNK = 1000
AUDIT_KEEP = 10_000  # events kept in the store; older ones move to the audit archive
REVEAL = {"reveal_secrets": True}
TRUSTED = {"trusted": True}
# the kinds a store may hold after its core section; any other is damage, not a newer feature
SECTION_KINDS_AFTER_CORE = frozenset({"apps", "audit"})
_FAST = ConfigDict(cache_strings=False)
APPS = TypeAdapter(list[App], config=_FAST)
EVENTS = TypeAdapter(list[AuditEvent], config=_FAST)
NAMES = TypeAdapter(list[list[str]], config=_FAST)


class ArchiveInfo(Model):
    chunks: int = 0
    events: int = 0


class CoreSection(Model):
    organization: Organization
    stages: list[Stage]
    apps: list[list[str]] = Field(default_factory=list)
    archive: ArchiveInfo = Field(default_factory=ArchiveInfo)


@dataclass
class Chunk:
    """Objects and the sealed section they were last written as."""

    items: list[Any]
    sealed: envelope.Sealed

    def holds(self, items: Sequence[Any]) -> bool:
        return len(items) == len(self.items) and all(
            a is b for a, b in zip(items, self.items, strict=True)
        )


@dataclass
class SectionCache:
    apps: list[Chunk] = field(default_factory=list)
    audit: list[Chunk] = field(default_factory=list)


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _reuse_or_seal(
    cached: list[Chunk],
    chunks: list[Sequence[Any]],
    kind: str,
    data_key: bytes,
    dump: Any,
    changed: Collection[Any] | None,
) -> list[Chunk]:
    out = []
    changed_ids = None if changed is None else {id(c) for c in changed}
    for index, items in enumerate(chunks):
        old = cached[index] if index < len(cached) else None
        unchanged = changed_ids is not None and not any(id(i) in changed_ids for i in items)
        if old is not None and unchanged and old.holds(items):
            out.append(old)
            continue
        plaintext = dump(list(items), context=REVEAL)
        out.append(Chunk(list(items), envelope.seal_section(data_key, kind, plaintext)))
    return out


def seal_store(
    data: StoreData,
    data_key: bytes,
    cache: SectionCache,
    *,
    changed_apps: Collection[App] | None,
    archive: ArchiveInfo,
    audit: Sequence[AuditEvent] | None = None,
) -> tuple[bytes, list[envelope.Sealed], SectionCache]:
    """(core plaintext, the other sections sealed, the cache after this save).

    ``changed_apps``: the apps changed in place since the last save; None means any.
    Events are never changed in place, so their sections are reused by identity.
    ``audit``: the events to keep in the store (after archiving), else all of them.
    """
    app_chunks = _chunks(data.apps, APP_CHUNK)
    apps = _reuse_or_seal(cache.apps, app_chunks, "apps", data_key, APPS.dump_json, changed_apps)
    events = data.audit if audit is None else audit  # the events kept in the store
    audit_chunks = _reuse_or_seal(
        cache.audit, _chunks(events, AUDIT_CHUNK), "audit", data_key, EVENTS.dump_json, ()
    )
    index = [[a.name for a in chunk] for chunk in app_chunks]
    core = CoreSection.model_construct(
        organization=data.organization, stages=data.stages, apps=index, archive=archive
    ).model_dump_json(context=REVEAL)
    sealed = [c.sealed for c in apps] + [c.sealed for c in audit_chunks]
    return core.encode("utf-8"), sealed, SectionCache(apps, audit_chunks)


def dump_events(events: Sequence[AuditEvent]) -> bytes:
    return EVENTS.dump_json(list(events), context=REVEAL)


def load_events(plaintext: bytes) -> list[AuditEvent]:
    return EVENTS.validate_json(plaintext, context=TRUSTED)


def _bad(opened: OpenedStore) -> Exception:
    return envelope.unreadable(opened.locations.shown)


def decode_store(opened: OpenedStore) -> tuple[StoreData, ArchiveInfo, SectionCache]:
    """The authenticated payload as models; addresses were validated on the way in."""
    if opened.header is None:  # version 1: one JSON document
        data = StoreData.model_validate_json(opened.core_bytes, context=TRUSTED)
        return data, ArchiveInfo(), SectionCache()
    core = CoreSection.model_validate_json(opened.core_bytes, context=TRUSTED)
    app_sections = opened.sections("apps")
    if len(app_sections) != len(core.apps):
        raise _bad(opened)
    cache = SectionCache()
    apps: list[App] = []
    for names, section in zip(core.apps, app_sections, strict=True):
        chunk = decode_apps(opened, section, names)
        apps.extend(chunk)
        cache.apps.append(Chunk(chunk, _as_sealed(opened, section)))
    audit: list[AuditEvent] = []
    for section in opened.sections("audit"):
        events = decode_audit(opened, section)
        audit.extend(events)
        cache.audit.append(Chunk(events, _as_sealed(opened, section)))
    if {s.kind for s in opened.header.sections[1:]} - SECTION_KINDS_AFTER_CORE:
        raise _bad(opened)
    data = StoreData.model_construct(
        organization=core.organization, stages=core.stages, apps=apps, audit=audit
    )
    return data, core.archive, cache


def decode_apps(opened: OpenedStore, section: envelope.Section, names: list[str]) -> list[App]:
    """One apps section, which must hold exactly the apps the core's index names."""
    plaintext = opened.section_bytes(section)
    try:
        chunk = APPS.validate_json(plaintext, context=TRUSTED)
    except ValueError:
        raise opened.damaged(section) from None
    if [a.name for a in chunk] != names:
        raise opened.damaged(section)
    return chunk


def decode_audit(opened: OpenedStore, section: envelope.Section) -> list[AuditEvent]:
    plaintext = opened.section_bytes(section)
    try:
        return EVENTS.validate_json(plaintext, context=TRUSTED)
    except ValueError:
        raise opened.damaged(section) from None


def _as_sealed(opened: OpenedStore, section: envelope.Section) -> envelope.Sealed:
    # a view into the file's bytes, read once: written again as-is if nothing changes
    ciphertext = opened.raw.read(section.offset, section.length)
    return envelope.Sealed(section.kind, section.nonce, ciphertext)
