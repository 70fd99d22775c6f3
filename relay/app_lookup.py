"""The app a message is for, by name, in one dictionary lookup.

The relay asks for the app of every message (twice with the queue: at the routing and
at the first attempt, and once more at AUTH), and ``StoreData.app`` walks the list: at
1,000 apps that walk was a sixth of the relay's time. The relay never changes a loaded
``StoreData`` in place (a save elsewhere is read as a new one), so an index built once
per loaded object is exact; it is built again when another object is asked about.
"""

from __future__ import annotations

from mailstage.store.models import App, StoreData

_indexed: tuple[StoreData, dict[str, App]] | None = None


def app_named(data: StoreData, name: str) -> App | None:
    """``data.app(name)`` (names compared ignoring case), without the walk."""
    global _indexed
    if _indexed is None or _indexed[0] is not data:
        _indexed = (data, {app.name.casefold(): app for app in data.apps})
    return _indexed[1].get(name.casefold())
