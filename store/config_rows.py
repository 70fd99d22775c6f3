"""The rows that describe a stage's email configuration, in the portal's words: one
function for `mailstage email show` and the TUI's stage screen. It reads the stored
form (plain JSON values, as store/views.py gives them), so no pydantic is needed."""

from __future__ import annotations

from mailstage.store.fields import AUTH_LABELS, MASK
from mailstage.store.text import utc_minute_text, visible, when_text

TYPE_CHECKING = False  # typing (~2 ms) stays off the one-shot commands
if TYPE_CHECKING:
    from typing import Any

SECURITY_LABELS = {"starttls": "STARTTLS", "implicit": "implicit TLS"}


def config_rows(
    email: dict[str, Any] | None, *, as_tested: bool = False, tls_seen: str = ""
) -> list[tuple[str, str]]:
    """(label, value) rows of a stage's configuration; empty when not configured.
    Secrets are always ********; outside text has its control characters made visible.
    ``as_tested`` (the TUI): after the port, not the security asked for but what the
    last test saw of TLS (``tls_seen``), in a row of its own, or nothing if untested."""
    if email is None:
        return []
    auth = email["auth"]
    security = SECURITY_LABELS.get(email.get("security") or "starttls", email.get("security"))
    port = str(email["port"]) if as_tested else f"{email['port']} ({security})"
    rows: list[tuple[str, Any]] = [("SMTP server", email["server"]), ("SMTP port", port)]
    if as_tested and tls_seen:
        rows.append(("TLS in last test", tls_seen))
    rows += [
        ("Authentication type", AUTH_LABELS.get(auth["type"], auth["type"])),
    ]
    if auth["type"] == "basic":
        rows += [("Username", auth["username"]), ("Password", MASK)]
    else:
        rows += [
            ("Server Token URL", auth["token_url"]),
            ("Client ID", auth["client_id"]),
            ("Client Secret", MASK),
            ("Scopes", " ".join(auth.get("scopes") or []) or "(none)"),
        ]
    rows += [
        ("Sender email", email["sender_email"]),
        ("Sender name", email.get("sender_name") or "-"),
    ]
    if email.get("ca_file"):
        rows.append(("CA file", email["ca_file"]))
    if email.get("updated_at"):
        stamp = str(email["updated_at"])
        minute = utc_minute_text(stamp)  # the models' own form, without datetime
        if minute is None:
            from datetime import datetime  # only here: `stage list` never needs it

            minute = when_text(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
        who = f" by {email['updated_by']}" if email.get("updated_by") else ""
        rows.append(("Last changed", f"{minute} UTC{who}"))
    return [(label, visible(value)) for label, value in rows]
