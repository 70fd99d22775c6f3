"""Read-only views of an opened store as plain JSON, for the one-shot commands.

`stage list`, `email show` and `testlist show` print from these: the core section
(and for a test list, the one apps section that holds the app) is decrypted and
parsed with json alone, without building the models (pydantic stays unloaded). The
payload was validated on the way in and is authenticated, as the full load is.
Secrets are masked here, as the models' own JSON does.
"""

from __future__ import annotations

from mailstage.store.fields import MASK, SECRET_FIELDS, no_such_app, no_such_stage

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from typing import Any

    from mailstage.store.reader import OpenedStore


def ordered_stages(opened: OpenedStore) -> list[dict[str, Any]]:
    stages: list[dict[str, Any]] = list(opened.core().get("stages", []))
    return sorted(stages, key=lambda s: (s.get("order", 0), str(s.get("name", "")).casefold()))


def stage(opened: OpenedStore, name: str) -> dict[str, Any]:
    stages = ordered_stages(opened)
    key = name.casefold()
    for candidate in stages:
        if str(candidate.get("name", "")).casefold() == key:
            return candidate
    raise no_such_stage(name, [str(s.get("name")) for s in stages])


def app(opened: OpenedStore, name: str) -> dict[str, Any]:
    found = opened.find_app(name)
    if found is None:
        names = [n for chunk in opened.core().get("apps", []) for n in chunk]
        raise no_such_app(name, [n for n in names if isinstance(n, str)])
    return found


def masked_email(email: dict[str, Any]) -> dict[str, Any]:
    """An email configuration as `email show --json` prints it: secrets masked."""
    out = dict(email)  # stored as the model dumps it: the same fields, in the same order
    auth = email.get("auth")
    if isinstance(auth, dict):
        out["auth"] = {k: MASK if k in SECRET_FIELDS else v for k, v in auth.items()}
    return out


def test_list(app_view: dict[str, Any], stage_name: str) -> dict[str, Any]:
    lists = app_view.get("test_lists") or {}
    found = lists.get(stage_name) or {}
    return {"addresses": list(found.get("addresses", [])), "active": bool(found.get("active"))}
