"""The delivery fault list through the TUI's Send test: the failed step and its hint show,
and the UI keeps answering keys while a test is running."""

from __future__ import annotations

from typing import Any

import pytest

from mailstage.store.workspace import Workspace
from tests.loopback import (
    CLIENT_ID,
    CLIENT_SECRET,
    HOST,
    PASSWORD,
    SENDER,
    USERNAME,
    refused_port,
)
from tests.tui_fixtures import screen_text, settle


def configure(locations: Any, port: int, *, ca_file: Any = None, token_url: str = "") -> None:
    ws = Workspace.open(locations, user="alice")
    options: dict[str, Any] = {
        "server": HOST,
        "port": port,
        "sender_email": SENDER,
        "ca_file": str(ca_file) if ca_file else None,
    }
    if token_url:
        options |= {
            "auth": "oauth2",
            "token_url": token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": ["https://outlook.office365.com/.default"],
        }
    else:
        options |= {"auth": "basic", "username": USERNAME, "password": PASSWORD}
    ws.set_email("QA", ws.email_from_options("QA", options))


async def run_send_test(app: Any, pilot: Any) -> Any:
    await settle(pilot)  # the store opens in a worker after the first paint
    app.open_send_test("QA")
    await settle(pilot)
    await pilot.press(*"dev@example.com", "f5")  # no default: nobody sent through QA yet
    await settle(pilot)
    return app.screen


def fault(name: str, request: pytest.FixtureRequest) -> tuple[int, Any, str]:
    """(port, ca_file, token_url) for a named fault, started on loopback."""
    certs = request.getfixturevalue("certificates")
    start = request.getfixturevalue("smtp_server_factory")
    if name == "refused":
        return refused_port(), certs.ca_file, ""
    if name == "untrusted":
        untrusted = request.getfixturevalue("untrusted_certificates")
        return start(certs=untrusted).port, certs.ca_file, ""
    if name == "5.7.139":
        server = start(
            reject_with="535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
            "is disabled for the Tenant."
        )
        return server.port, certs.ca_file, ""
    if name == "5.7.3":
        endpoint = request.getfixturevalue("token_endpoint")
        server = start(tokens=endpoint, reject_with="535 5.7.3 Authentication unsuccessful")
        return server.port, certs.ca_file, endpoint.url
    if name == "no_xoauth2":
        endpoint = request.getfixturevalue("token_endpoint")
        return (
            start(tokens=endpoint, mechanisms=("PLAIN", "LOGIN")).port,
            certs.ca_file,
            endpoint.url,
        )
    if name == "invalid_client":
        endpoint = request.getfixturevalue("token_endpoint")
        endpoint.mode = "invalid_client"
        return start(tokens=endpoint).port, certs.ca_file, endpoint.url
    if name == "dropped":
        return request.getfixturevalue("dropping_server").port, None, ""
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("name", "step", "words"),
    [
        ("refused", "connect", "Nothing accepts connections"),
        ("untrusted", "tls", "certificate is not trusted"),
        ("5.7.139", "auth", "SmtpClientAuthenticationDisabled"),
        ("5.7.3", "auth", "New-ServicePrincipal"),
        ("no_xoauth2", "auth", "does not offer XOAUTH2"),
        ("invalid_client", "token", "not its Secret ID"),
        ("dropped", "send", "closed the connection"),
    ],
)
async def test_fault_shows_the_step_and_the_hint(
    make_tui_app, tui_store, request, name, step, words
):
    port, ca_file, token_url = fault(name, request)
    configure(tui_store, port, ca_file=ca_file, token_url=token_url)
    app = make_tui_app()
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await run_send_test(app, pilot)
        result = screen.result
        assert result is not None and not result.ok
        assert result.failed_step.name.value == step
        assert words in result.hint
        text = " ".join(screen_text(app).split())
        assert "✗" in text
        assert " ".join(result.hint.split()[:6]) in text  # the hint is on screen
        for secret in (PASSWORD, CLIENT_SECRET):
            assert secret not in text


async def test_the_ui_answers_keys_while_a_test_runs(make_tui_app, tui_store, silent_server):
    configure(tui_store, silent_server.port)
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)  # the store opens in a worker after the first paint
        app.open_send_test("QA")
        await settle(pilot)
        screen = app.screen
        await pilot.press(*"dev@example.com", "f5")
        await pilot.pause()
        assert screen.running
        await pilot.press("f1")  # help opens over a running test
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and screen.running
        await pilot.press("escape")  # cancels the running test
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not screen.running
        assert "ancel" in screen_text(app)
