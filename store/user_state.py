"""Small JSON files kept per user, outside any store, in
``platformdirs.user_state_path("mailstage")`` (0600 in a 0700 folder): what this user has
seen of each store (seen.py), the recipients of their last Send test per stage
(recent_recipients.py). Never a secret: the shared store's data stays in the store."""

from __future__ import annotations

import json
import os

from mailstage.store.user_dirs import user_dir

TYPE_CHECKING = False  # pathlib and typing (~6 ms) stay off the one-shot commands
if TYPE_CHECKING:
    from typing import Any

    from mailstage.store.sharing import StrPath


def state_file(name: str) -> str:
    """The file in the user's state folder, as text (str of the Path platformdirs names)."""
    return os.path.join(user_dir("state"), name)


def read_state(path: StrPath) -> dict[str, Any]:
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


def write_state(path: StrPath, data: dict[str, Any]) -> None:
    """Replace the file atomically. Best effort: a read-only home must not make the store
    unusable, so an OSError is swallowed."""
    import contextlib  # these only when the record changes
    from pathlib import Path

    from mailstage.store.paths import create_private_file, ensure_private_dir

    path = Path(path)
    with contextlib.suppress(OSError):
        ensure_private_dir(path.parent)
        temp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            create_private_file(temp, json.dumps(data, sort_keys=True).encode())
            os.replace(temp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
