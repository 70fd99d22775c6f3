"""The user's keymap: ``keymap.toml`` in mailstage's config folder remaps keys by
Binding id, as posting does. Example::

    [keymap]
    "apps.toggle_list" = "t"          # quick toggle on t instead of space
    "app.help" = "f1,question_mark"   # several keys: comma-separated

F1 on any screen lists the ids of the keys active there. A key that another action
already has where the remapped one works (Textual would silently drop that action) is
refused with a sentence naming both; the remapped action keeps its other keys, or its
default ones: no action is ever left without a key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from textual.binding import Binding

KEYMAP_FILE = "keymap.toml"


class Keymap(NamedTuple):
    bindings: dict[str, str]
    problems: list[str]


def keymap_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("mailstage") / KEYMAP_FILE


def load_keymap(path: Path | None = None) -> Keymap:
    """The remapped keys and, in plain sentences, what in the file could not be used.
    A missing file is an empty keymap; a broken one never stops the app."""
    path = path or keymap_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Keymap({}, [])
    except OSError as exc:
        return Keymap({}, [f"{path} could not be read ({exc.strerror or 'error'})."])
    try:
        document = tomllib.loads(raw.decode("utf-8", errors="replace"))
    except tomllib.TOMLDecodeError as exc:
        return Keymap({}, [f"{path} is not valid TOML ({exc}); no key was remapped."])
    table = document.get("keymap", document)
    if not isinstance(table, dict):
        return Keymap({}, [f'{path}: [keymap] must be a table of id = "key".'])
    bindings: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in table.items():
        if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            keys = ",".join(keys)
        if not isinstance(keys, str) or not keys.strip():
            problems.append(f'{path}: {binding_id!r} needs a key name, such as "x".')
            continue
        bindings[str(binding_id)] = ",".join(k.strip() for k in keys.split(",") if k.strip())
    return Keymap(bindings, problems)


def unknown_ids(keymap: Keymap, known: Iterable[str]) -> list[str]:
    known_set = set(known)
    return sorted(binding_id for binding_id in keymap.bindings if binding_id not in known_set)


def loaded_node_classes() -> list[type]:
    """Every widget and screen class loaded in this process (Textual's included)."""
    from textual.dom import DOMNode

    found: list[type] = []
    stack: list[type] = [DOMNode]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        found.append(cls)
    return found


def loaded_binding_ids() -> set[str]:
    """Every Binding id of the widget and screen classes loaded in this process."""
    from textual.binding import Binding

    ids: set[str] = set()
    for cls in loaded_node_classes():
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def binding_places(app_bindings: list[Binding]) -> list[Place]:
    """mailstage's screens and widgets (imported for it), each with the keys that apply
    there: its own, its bases' (Textual's merge), and the App's unless it is a dialog."""
    from textual.app import App
    from textual.screen import ModalScreen

    every_binding_id()
    places = [Place("mailstage", app_bindings)]
    for cls in loaded_node_classes():
        if not cls.__module__.startswith("mailstage.") or issubclass(cls, App):
            continue
        # Textual's own merge of a class's and its bases' BINDINGS (Textual is pinned)
        merged = cls._merge_bindings().key_to_bindings.values()  # type: ignore[attr-defined]
        own = [binding for bindings in merged for binding in bindings]
        if own:
            shared = [] if issubclass(cls, ModalScreen) else app_bindings
            places.append(Place(getattr(cls, "TITLE", None) or cls.__name__, own + shared))
    return places


def every_binding_id() -> set[str]:
    """The ids of every screen's keys (the screens are imported for it)."""
    from mailstage.screens import (  # noqa: F401 - imported for their Binding classes
        app_config,
        apps,
        audit,
        captured,
        email_form,
        emails,
        help,
        home,
        members,
        send_test,
        stage,
        test_list_editor,
        unlock,
    )
    from mailstage.tui import app  # noqa: F401

    return loaded_binding_ids()


class Place(NamedTuple):
    """Keys that apply together: a screen's or widget's with the App's (which apply
    under every screen but a dialog)."""

    name: str
    bindings: list[Binding]


class Resolved(NamedTuple):
    bindings: dict[str, str]  # the keymap to apply: every clashing key taken out
    clashes: list[str]  # one sentence per clash


def normalized(keys: str) -> list[str]:
    """Key names as Textual binds them ("?" -> "question_mark")."""
    from textual.binding import Binding

    return [binding.key for binding in Binding.make_bindings([Binding(keys, "noop")])]


def resolve_clashes(keymap: dict[str, str], places: Iterable[Place]) -> Resolved:
    """Take out of ``keymap`` each key that another action holds in the same place."""
    from textual.keys import format_key

    places = list(places)
    wanted = {binding_id: normalized(keys) for binding_id, keys in keymap.items()}

    def keys_of(binding: Binding) -> list[str]:
        return wanted.get(binding.id, [binding.key]) if binding.id else [binding.key]

    found: dict[tuple[str, str, str], tuple[Binding, str, Binding]] = {}
    for place in places:
        for moved in place.bindings:
            for key in wanted.get(moved.id or "", []):
                for holder in place.bindings:
                    if holder.action == moved.action or holder.id == moved.id:
                        continue
                    if key in keys_of(holder):
                        slot = (moved.id or "", key, holder.id or holder.action)
                        found.setdefault(slot, (moved, place.name, holder))
    refused = {(binding_id, key) for binding_id, key, _ in found}
    resolved: dict[str, str] = {}
    for binding_id, keys in wanted.items():
        if kept := [key for key in keys if (binding_id, key) not in refused]:
            resolved[binding_id] = ",".join(kept)
    defaults: dict[str, list[str]] = {}
    for place in places:
        for binding in place.bindings:
            if binding.id and binding.key not in defaults.setdefault(binding.id, []):
                defaults[binding.id].append(binding.key)
    clashes = []
    for (binding_id, key, what), (moved, where, holder) in found.items():
        kept = resolved[binding_id].split(",") if binding_id in resolved else defaults[binding_id]
        clashes.append(
            f'Keymap: {binding_id} ("{action_text(moved)}") cannot take {format_key(key)}: '
            f'on {where}, {format_key(key)} is already "{action_text(holder)}" ({what}). '
            f"It keeps {' or '.join(format_key(k) for k in kept)}."
        )
    return Resolved(resolved, clashes)


def action_text(binding: Binding) -> str:
    return binding.description or binding.tooltip or binding.action
