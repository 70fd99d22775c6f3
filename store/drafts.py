"""Unsaved edits of a screen, kept apart from the screen (no Textual here).

A draft remembers the version it was loaded from (its base). When another admin saved
first, ``rebase`` puts only what *you* changed on top of *their* version: the email
form's fields you edited, the test list's addresses you added or removed and the Active
switch if you flipped it. Everything else shows their values; nothing is lost either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

OAUTH = "oauth2_client_credentials"
BASIC = "basic"
AUTH_FIELDS = {
    OAUTH: ("token_url", "client_id", "client_secret", "scopes"),
    BASIC: ("username", "password"),
}
SECRETS = ("client_secret", "password")
EMAIL_FIELDS = (
    "server",
    "port",
    "auth",
    *AUTH_FIELDS[OAUTH],
    *AUTH_FIELDS[BASIC],
    "sender_email",
    "sender_name",
)


class EmailDraft:
    """The email form's values as text, keyed by field; secrets are "" unless typed."""

    def __init__(self, base: Mapping[str, str]) -> None:
        self.base = {key: base.get(key, "") for key in EMAIL_FIELDS}

    def changed(self, current: Mapping[str, str]) -> set[str]:
        """The fields you changed since the base (a typed secret always counts)."""
        auth = current.get("auth", "")
        shown = {
            "server",
            "port",
            "auth",
            "sender_email",
            "sender_name",
            *AUTH_FIELDS.get(auth, ()),
        }
        found = set()
        for key in shown:
            value = current.get(key, "")
            if key in SECRETS:
                if value:
                    found.add(key)
            elif value != self.base[key]:
                found.add(key)
        if "auth" in found:  # another type: all of its fields are yours
            found.update(k for k in AUTH_FIELDS.get(auth, ()) if k not in SECRETS or current.get(k))
        return found

    def is_dirty(self, current: Mapping[str, str]) -> bool:
        return bool(self.changed(current))

    def rebase(self, theirs: Mapping[str, str], current: Mapping[str, str]) -> dict[str, str]:
        """Their values with your changes on top; the base becomes theirs."""
        mine = self.changed(current)
        merged = {key: theirs.get(key, "") for key in EMAIL_FIELDS}
        for key in SECRETS:
            merged[key] = ""
        for key in mine:
            merged[key] = current.get(key, "")
        self.base = {key: theirs.get(key, "") for key in EMAIL_FIELDS}
        return merged


class TestListDraft:
    """The test-list editor's working copy: addresses in order, and the Active switch."""

    __test__ = False  # not a pytest class

    def __init__(self, addresses: Iterable[str], active: bool) -> None:
        self.base: list[str] = []
        self.base_active = False
        self.addresses: list[str] = []
        self._folded: list[str] = []
        self._keys: set[str] = set()
        self.active = False
        self.reset(addresses, active)

    # -- state ------------------------------------------------------------------

    def reset(self, addresses: Iterable[str], active: bool) -> None:
        """Start again from a stored version (loaded or just saved)."""
        self.base = list(addresses)
        self.base_active = active
        self._set(list(self.base))
        self.active = active

    def _set(self, addresses: list[str]) -> None:
        self.addresses = addresses
        self._folded = [a.casefold() for a in addresses]
        self._keys = set(self._folded)

    @property
    def dirty(self) -> bool:
        return self.active != self.base_active or self.addresses != self.base

    def __contains__(self, address: str) -> bool:
        return address.casefold() in self._keys

    # -- edits -------------------------------------------------------------------

    def add(self, addresses: Iterable[str]) -> list[str]:
        """Append the ones not there yet (ignoring case); returns those added."""
        added: list[str] = []
        seen = set(self._keys)
        for address in addresses:
            key = address.casefold()
            if key not in seen:
                seen.add(key)
                added.append(address)
        if added:
            self._set(self.addresses + added)
        return added

    def remove(self, address: str) -> bool:
        key = address.casefold()
        if key not in self._keys:
            return False
        self._set([a for a, f in zip(self.addresses, self._folded, strict=True) if f != key])
        return True

    def filtered(self, needle: str) -> list[str]:
        """The addresses containing ``needle`` (already casefolded), in order."""
        if not needle:
            return self.addresses
        return [a for a, f in zip(self.addresses, self._folded, strict=True) if needle in f]

    # -- against another version -------------------------------------------------------

    def diff(self) -> tuple[list[str], list[str]]:
        """(added, removed) since the base, ignoring case."""
        base_keys = {a.casefold() for a in self.base}
        added = [a for a in self.addresses if a.casefold() not in base_keys]
        removed = [a for a in self.base if a.casefold() not in self._keys]
        return added, removed

    def applied_to(self, theirs: Iterable[str], their_active: bool) -> tuple[list[str], bool]:
        """Your additions, removals and Active flip on top of another version."""
        added, removed = self.diff()
        gone = {a.casefold() for a in removed}
        merged = [a for a in theirs if a.casefold() not in gone]
        keys = {a.casefold() for a in merged}
        merged += [a for a in added if a.casefold() not in keys]
        active = self.active if self.active != self.base_active else their_active
        return merged, active

    def rebase(self, theirs: Iterable[str], their_active: bool) -> None:
        """Show their version with your edits on top; the base becomes theirs."""
        theirs = list(theirs)
        merged, active = self.applied_to(theirs, their_active)
        self.base = theirs
        self.base_active = their_active
        self._set(merged)
        self.active = active
