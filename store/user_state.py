"""Small JSON files kept per user, outside any store, in
``platformdirs.user_state_path("mailstage")`` (0600 in a 0700 folder): what this user has
seen of each store (seen.py), the recipients of their last Send test per stage
(recent_recipients.py). Never a secret: the shared store's data stays in the store."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from mailstage.store.paths import create_private_file, ensure_private_dir
from mailstage.store.user_dirs import user_path


def state_file(name: str) -> Path:
    return user_path("state") / name


def read_state(path: Path) -> dict[str, Any]:
    """The file's object, or {} when it is missing, unreadable or not an object."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        with os.fdopen(fd, "rb") as handle:
            data = json.loads(handle.read())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(path: Path, data: dict[str, Any]) -> None:
    """Replace the file atomically. Best effort: a read-only home must not make the store
    unusable, so an OSError is swallowed."""
    with contextlib.suppress(OSError):
        ensure_private_dir(path.parent)
        temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            create_private_file(temp, json.dumps(data, sort_keys=True).encode())
            os.replace(temp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
