"""Words the CLI and the TUI share: counts, and an audit event's fields and details in
the portal's words (no `previous=None`, no `auth.token_url`). No Textual."""

from __future__ import annotations

import re

from mailstage.store.fields import FIELD_LABELS, MASK
from mailstage.store.text import visible

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from typing import Any

_SECRET_NAME = re.compile(r"secret|password|passphrase|token|key", re.IGNORECASE)


# an audit action in a word or two, for a narrow column
ACTION_SHORT = {
    "init": "created",
    "email.set": "email set",
    "stage.add": "stage added",
    "stage.remove": "stage removed",
    "app.add": "app added",
    "app.remove": "app removed",
    "testlist.save": "test list",
    "studio_list.set": "studio list",
    "member.set": "role set",
    "member.remove": "member removed",
    "credentials.set": "credentials",
    "app.credentials": "credentials",
    "email.send_test": "send test",
    "queue.delete": "mail deleted",
    "store.accept_older": "older accepted",
    "store.share": "store shared",
}
ACTION_WIDTH = max(len(short) for short in ACTION_SHORT.values())  # the Audit column


def action_short(action: str) -> str:
    return ACTION_SHORT.get(action, action.replace("_", " ").replace(".", " "))


def count_text(n: int, noun: str = "address") -> str:
    """ "1 address", "2 addresses", "0 apps"."""
    plural = noun + ("es" if noun.endswith(("s", "x", "sh", "ch")) else "s")
    return f"{n} {noun if n == 1 else plural}"


def field_words(field: str) -> str:
    """`auth.token_url` -> "Server Token URL"; unknown names in plain words."""
    name = field.rsplit(".", 1)[-1]
    return FIELD_LABELS.get(name, name.replace("_", " "))


def fields_text(fields: list[str]) -> str:
    return ", ".join(visible(field_words(f)) for f in fields)


def _addresses(values: list[Any], limit: int) -> str:
    shown = ", ".join(visible(v) for v in values[:limit])
    return f"{shown} and {len(values) - limit} more" if len(values) > limit else shown


def details_text(details: dict[str, Any], *, limit: int = 3) -> str:
    """The details as a short sentence: "2 addresses, active; added a@x.com"."""
    parts: list[str] = []
    rest = dict(details)
    if "count" in rest:
        count = rest.pop("count")
        state = rest.pop("active", None)
        words = count_text(count)
        if state is not None:
            words += ", active" if state else ", inactive"
        parts.append(words)
    if "role" in rest:
        role = rest.pop("role")
        previous = rest.pop("previous", None)
        parts.append(f"role {visible(role)}" + (f" (was {visible(previous)})" if previous else ""))
    for key in ("added", "removed"):
        values = rest.pop(key, None)
        if values:
            parts.append(f"{key} {_addresses(list(values), limit)}")
    for key, value in rest.items():
        shown = MASK if _SECRET_NAME.search(key) else value
        if isinstance(shown, list):
            shown = _addresses(shown, limit)
        parts.append(f"{field_words(key)}: {visible(shown)}")
    return "; ".join(parts)


# a changed field the details already describe ("role" by "role Viewer (was ...)")
_DESCRIBED_BY = {"role": "role", "addresses": "count", "active": "active"}


def event_summary(fields: list[str], details: dict[str, Any]) -> str:
    shown = [f for f in fields if _DESCRIBED_BY.get(f) not in details]
    return "; ".join(part for part in (fields_text(shown), details_text(details)) if part)
