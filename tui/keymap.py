"""The user's keymap: ``keymap.toml`` in mailstage's config folder remaps keys by
Binding id, as posting does. Example::

    [keymap]
    "apps.toggle_list" = "x"          # quick toggle on x instead of space
    "app.help" = "f1,question_mark"   # several keys: comma-separated

F1 on any screen lists the ids of the keys active there.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

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


def loaded_binding_ids() -> set[str]:
    """Every Binding id of the widget and screen classes loaded in this process."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    ids: set[str] = set()
    stack: list[type] = [DOMNode]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        for binding in cls.__dict__.get("BINDINGS", []):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


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
