"""Stage configurations pointing at the loopback servers of tests/loopback.py."""

from __future__ import annotations

from typing import Any

from store.models import App, EmailConfig, Stage, TestList
from tests.loopback import CLIENT_ID, CLIENT_SECRET, HOST, PASSWORD, SENDER, USERNAME


def basic_config(port: int, *, ca_file: Any = None, **overrides: Any) -> EmailConfig:
    data: dict[str, Any] = {
        "server": HOST,
        "port": port,
        "security": "starttls",
        "ca_file": str(ca_file) if ca_file else None,
        "auth": {"type": "basic", "username": USERNAME, "password": PASSWORD},
        "sender_email": SENDER,
        "sender_name": "QA Robot",
    }
    data.update(overrides)
    return EmailConfig.model_validate(data)


def oauth_config(
    port: int, token_url: str, *, ca_file: Any = None, **overrides: Any
) -> EmailConfig:
    data: dict[str, Any] = {
        "server": HOST,
        "port": port,
        "security": "starttls",
        "ca_file": str(ca_file) if ca_file else None,
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": ["https://outlook.office365.com/.default"],
        },
        "sender_email": SENDER,
    }
    data.update(overrides)
    return EmailConfig.model_validate(data)


def stage(name: str = "QA", *, production: bool = False) -> Stage:
    return Stage(name=name, production=production)


def app(
    name: str = "Shop",
    *,
    stage_name: str = "QA",
    test_list: list[str] | None = None,
    active: bool = False,
    studio: list[str] | None = None,
) -> App:
    lists = {}
    if test_list is not None:
        lists[stage_name] = TestList(addresses=test_list, active=active)
    return App(name=name, test_lists=lists, studio_list=studio or [])
