"""Send test needs Manage Email Configurations or Manage Test Lists, and every one is
audited: stage, app, number of recipients, outcome (real SMTP server on loopback)."""

from __future__ import annotations

import json
from typing import Any

from mailstage.store.identity import login_name
from mailstage.store.workspace import Workspace
from tests.cli_runner import run_cli
from tests.loopback import refused_port
from tests.test_delivery_cli import set_basic
from tests.tui_fixtures import settle


def newest_event() -> dict[str, Any]:
    done = run_cli("audit", "--json", "--limit", "1")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[0]


def test_a_sent_and_a_failed_test_are_audited(initialized, smtp_server, certificates) -> None:
    set_basic(smtp_server.port, ca_file=certificates.ca_file)
    done = run_cli("email", "send-test", "QA", "--to", "a@example.com", "--to", "b@example.com")
    assert done.returncode == 0, done.stderr
    event = newest_event()
    assert (event["user"], event["action"], event["target"]) == (
        login_name(),
        "email.send_test",
        "QA",
    )
    assert event["details"].pop("tls").startswith("STARTTLS, TLSv1.")  # what the test saw
    assert event["details"] == {"recipients": 2, "outcome": "sent"}
    set_basic(refused_port(), stage="Development")
    done = run_cli("email", "send-test", "Development", "--to", "a@example.com", "--timeout", "2")
    assert done.returncode == 7
    event = newest_event()
    assert event["target"] == "Development"
    assert event["details"] == {"recipients": 1, "outcome": "failed at connect"}  # no TLS seen


def test_an_app_developer_may_send_a_test_with_the_app(initialized, smtp_server, certificates):
    set_basic(smtp_server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    assert run_cli("testlist", "add", "Shop", "--stage", "QA", "t@example.com").returncode == 0
    assert run_cli("testlist", "activate", "Shop", "--stage", "QA").returncode == 0
    assert (
        run_cli("member", "add", "admin2", "--role", "Organization Administrator").returncode == 0
    )
    assert run_cli("member", "add", login_name(), "--role", "App Developer").returncode == 0
    done = run_cli("email", "send-test", "QA", "--app", "Shop", "--check-only")
    assert done.returncode == 0, done.stderr
    event = newest_event()
    assert event["details"].pop("tls").startswith("STARTTLS, TLSv1.")
    assert event["details"] == {"app": "Shop", "recipients": 0, "outcome": "checked"}  # none sent


async def test_a_viewer_gets_a_sentence_in_the_tui(make_tui_app: Any, tui_store: Any) -> None:
    Workspace.open(tui_store, user="alice").set_member("victor", "Viewer")
    before = tui_store.store.read_bytes()
    app = make_tui_app(user="victor")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_send_test("Development")
        await settle(pilot)
        assert type(app.screen).__name__ == "MessageDialog"
        assert "Manage Email Configurations or Manage Test Lists" in app.screen.message
    assert tui_store.store.read_bytes() == before
