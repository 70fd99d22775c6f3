"""The recipients of this user's last Send test through each stage of each store: Send
test proposes them next time. Kept in the user's own state (user_state.py), never in the
shared store, so one admin's habits are not another's default."""

from __future__ import annotations

from mailstage.store.user_state import read_state, state_file, write_state

STATE_NAME = "recipients.json"
KEPT = 20  # addresses kept per stage: a default to edit, not an address book


def last_recipients(store: str, stage: str) -> list[str]:
    """``store`` names the store as messages do (its path, or its URL without password)."""
    entry = read_state(state_file(STATE_NAME)).get(store)
    addresses = entry.get(stage.casefold()) if isinstance(entry, dict) else None
    if not isinstance(addresses, list):
        return []
    return [a for a in addresses if isinstance(a, str)][:KEPT]


def remember_recipients(store: str, stage: str, addresses: list[str]) -> None:
    path = state_file(STATE_NAME)
    data = read_state(path)
    entry = data.get(store)
    if not isinstance(entry, dict):
        entry = data[store] = {}
    entry[stage.casefold()] = list(addresses[:KEPT])
    write_state(path, data)
