"""What this user has seen of each store, kept outside the store: the highest generation
and the store's id, per store path. An older copy put back in place (a restored backup,
`mv store.json.bak store.json`) or another store swapped in is then noticed on open.

The record lives in ``platformdirs.user_state_path("mailstage")/seen.json`` (0600 in a
0700 folder, see user_state.py). It only ever grows: a lost update between two of the
user's own processes records a lower generation, which weakens the check for a moment but
never refuses a good store.
"""

from __future__ import annotations

import os

from mailstage.store.errors import StoreUnreadable
from mailstage.store.record import FrozenRecord
from mailstage.store.user_state import read_state, state_file, write_state

TYPE_CHECKING = False  # pathlib and typing (~6 ms) stay off the one-shot commands
if TYPE_CHECKING:
    from typing import Any

    from mailstage.store.sharing import StrPath

STATE_NAME = "seen.json"


class StoreRolledBack(StoreUnreadable):
    """Exit 5: the store is older than one this user already saw, or another store."""


class Seen(FrozenRecord):
    FIELDS = ("generation", "store_id")
    generation: int
    store_id: str | None

    def __init__(self, generation: int, store_id: str | None) -> None:
        self._init(generation=generation, store_id=store_id)


def state_path() -> str:
    return state_file(STATE_NAME)


def new_store_id() -> str:
    return os.urandom(16).hex()  # as secrets.token_hex, without importing hmac/hashlib


def last_seen(store: StrPath) -> Seen | None:
    return _seen_in(read_state(state_path()), store)


def _seen_in(data: dict[str, Any], store: StrPath) -> Seen | None:
    entry = data.get(str(store))
    if not isinstance(entry, dict):
        return None
    generation = entry.get("generation")
    store_id = entry.get("store_id")
    if not isinstance(generation, int) or isinstance(generation, bool):
        return None
    return Seen(generation, store_id if isinstance(store_id, str) else None)


def check_and_remember(store: StrPath, generation: int, store_id: str | None) -> None:
    """check_not_older, then remember: the record read once (every one-shot read does this)."""
    path = state_path()
    data = read_state(path)
    _check(_seen_in(data, store), store, generation, store_id)
    _remember_in(data, path, store, generation, store_id)


def check_not_older(store: StrPath, generation: int, store_id: str | None) -> None:
    """Refuse (exit 5) a store older than the one last seen at this path, or another one."""
    _check(last_seen(store), store, generation, store_id)


def _check(seen: Seen | None, store: StrPath, generation: int, store_id: str | None) -> None:
    if seen is None:
        return
    fix = "If you restored a backup on purpose, accept it with: mailstage restore --accept-older"
    # a file from before store ids has none: only its generation can be compared
    if seen.store_id is not None and store_id is not None and store_id != seen.store_id:
        raise StoreRolledBack(
            f"The store {store} is not the one you used before: its id changed "
            f"(another store was put in its place). Nothing was read or changed. {fix}"
        )
    if generation < seen.generation:
        raise StoreRolledBack(
            f"The store {store} is older than the one you last saw (version {generation}, "
            f"you saw version {seen.generation}): an older copy was put back, and later "
            f"changes are missing from it. Nothing was read or changed. {fix}"
        )


def remember(store: StrPath, generation: int, store_id: str | None, *, force: bool = False) -> None:
    """Record the store as seen (only ever moving forward unless ``force``)."""
    path = state_path()
    _remember_in(read_state(path), path, store, generation, store_id, force=force)


def _remember_in(
    data: dict[str, Any],
    path: str,
    store: StrPath,
    generation: int,
    store_id: str | None,
    *,
    force: bool = False,
) -> None:
    key = str(store)
    old = data.get(key)
    if (
        not force
        and isinstance(old, dict)
        and old.get("store_id") == store_id
        and isinstance(old.get("generation"), int)
        and old["generation"] >= generation
    ):
        return
    data[key] = {"generation": generation, "store_id": store_id}
    write_state(path, data)
