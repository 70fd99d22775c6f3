"""Build real stores for tests through the store API (not through the CLI, for speed)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from mailstage.store.paths import Locations
from mailstage.store.sharing import PRIVATE, Sharing
from mailstage.store.workspace import Workspace

PASSWORD = "Pa55word-basic-7f3a"
CLIENT_SECRET = "cl13nt-secret-value-9d2c"


def locations(tmp_path: Path) -> Locations:
    return Locations.resolve(tmp_path / "data" / "store.json", tmp_path / "conf" / "store.key")


def full_workspace(
    tmp_path: Path,
    passphrase: str | None = None,
    *,
    names: dict[str, str] | None = None,
    where: Locations | None = None,
    sharing: Sharing = PRIVATE,
) -> Workspace:
    """A store with both auth types, apps, test lists, members: every kind of data.
    ``names`` maps alice (the administrator), bob, carol and dave to other login names."""
    names = {"alice": "alice", "bob": "bob", "carol": "carol", "dave": "dave", **(names or {})}
    ws = Workspace.init(
        where or locations(tmp_path), user=names["alice"], passphrase=passphrase, sharing=sharing
    )
    ws.set_email(
        "QA",
        ws.email_from_options(
            "QA",
            {
                "server": "smtp.example.com",
                "auth": "basic",
                "username": "relay@example.com",
                "password": SecretStr(PASSWORD),
                "sender_email": "qa@example.com",
                "sender_name": "Shop QA",
            },
        ),
    )
    ws.set_email(
        "Production",
        ws.email_from_options(
            "Production",
            {
                "server": "smtp.office365.com",
                "auth": "oauth2",
                "client_id": "0000-app",
                "client_secret": SecretStr(CLIENT_SECRET),
                "token_url": "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
                "sender_email": "noreply@example.com",
            },
        ),
    )
    ws.add_app("Shop")
    ws.add_app("Portal")
    ws.add_to_test_list("Shop", "QA", ["tester1@example.com", "tester2@example.com"])
    ws.set_test_list_active("Shop", "QA", True)
    ws.set_studio_list("Portal", ["dev@example.com"])
    ws.set_member(names["bob"], "Email Manager")
    ws.set_member(names["carol"], "App Developer")
    ws.set_member(names["dave"], "Viewer")
    return ws
