"""The stage page shows, after the port, what the last Send test saw of TLS: nothing
before any test, "none" for a loopback server that offered no STARTTLS, the TLS version
for a server that did; a change to the configuration forgets it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailstage.mailer.capture import CaptureServer
from mailstage.store.workspace import Workspace
from tests.test_tui_delivery_faults import configure as configure_qa
from tests.test_tui_send_test import configure
from tests.tui_fixtures import settle


def rows(app: Any) -> dict[str, str]:
    """The stage page's rows, label -> value."""
    text = str(app.screen.query_one("#stage-config").render())
    return dict(line.split("  ", 1) for line in text.splitlines())


def port_and_tls(app: Any) -> tuple[str, str | None]:
    shown = {label.strip(): value.strip() for label, value in rows(app).items()}
    return shown["SMTP port"], shown.get("TLS in last test")


async def send_and_come_back(app: Any, pilot: Any, stage: str) -> None:
    app.open_stage(stage)
    await settle(pilot)
    await pilot.press("t", *"bob@example.com", "enter")
    await settle(pilot)
    assert app.screen.result.ok, app.screen.result
    await pilot.press("escape")
    await settle(pilot)


async def test_a_server_without_starttls_is_not_shown_as_starttls(
    make_tui_app: Any, tui_store: Any, tmp_path: Path
):
    with CaptureServer("127.0.0.1", 0, tmp_path / "captured") as server:  # no STARTTLS
        configure(tui_store, server.port)
        app = make_tui_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            app.open_stage("Development")
            await settle(pilot)
            assert port_and_tls(app) == (str(server.port), None)  # never tested: nothing
            await pilot.press("escape")
            await send_and_come_back(app, pilot, "Development")
            assert port_and_tls(app) == (
                str(server.port),
                "none: STARTTLS not offered (plain text, allowed to loopback)",
            )

    # another configuration: what the old one's test saw no longer applies
    ws = Workspace.open(tui_store, user="alice")
    email = ws.data.stage("Development").email
    assert email is not None
    ws.set_email("Development", email.model_copy(update={"sender_name": "Changed"}))
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_stage("Development")
        await settle(pilot)
        assert port_and_tls(app)[1] is None


async def test_a_starttls_server_shows_its_tls(
    make_tui_app: Any, tui_store: Any, smtp_server: Any, certificates: Any
):
    configure_qa(tui_store, smtp_server.port, ca_file=certificates.ca_file)
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await send_and_come_back(app, pilot, "QA")
        port, tls = port_and_tls(app)
        assert port == str(smtp_server.port) and tls is not None
        assert tls.startswith("STARTTLS, TLSv1.")
