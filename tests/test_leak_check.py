"""Leak check: with known secrets set, run every command and open every screen, then scan
all output, every file written, the logs and the snapshots for the secret values."""

from __future__ import annotations

import base64
import logging
import signal
import subprocess
from pathlib import Path

from mailstage.screens.app_config import AppConfigScreen
from mailstage.screens.audit import AuditScreen
from mailstage.screens.captured import CapturedMailScreen, MessageViewerScreen
from mailstage.screens.members import MembersScreen
from mailstage.screens.test_list_editor import TestListEditorScreen
from mailstage.store.paths import Locations
from mailstage.tui.app import build_app
from tests import store_factory
from tests.cli_runner import REPO, mailstage_command, run_cli
from tests.loopback import CLIENT_ID, CLIENT_SECRET, PASSWORD, SENDER, USERNAME
from tests.tui_fixtures import screen_text, settle

SNAPSHOT_SECRETS = (
    PASSWORD,
    CLIENT_SECRET,
    store_factory.PASSWORD,
    store_factory.CLIENT_SECRET,
    "pw-not-shown",
    "basic-secret-XYZ",
    "oauth-secret-XYZ",
)


def secret_forms(tokens: set[str]) -> list[str]:
    """Every form in which a secret could escape: as is, and as AUTH PLAIN/LOGIN sends it."""
    plain = base64.b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode()
    login = base64.b64encode(PASSWORD.encode()).decode()
    return [PASSWORD, CLIENT_SECRET, plain, login, *tokens]


def assert_clean(label: str, text: str, forms: list[str]) -> None:
    for form in forms:
        assert form not in text, f"a secret leaked into {label}"


def configure(
    env: dict[str, Path], smtp_port: int, oauth_port: int, token_url: str, ca_file: Path
) -> list[str]:
    outputs = []
    commands = [
        (
            [
                "email",
                "set",
                "QA",
                "--server",
                "127.0.0.1",
                "--port",
                str(smtp_port),
                "--auth",
                "basic",
                "--username",
                USERNAME,
                "--password-stdin",
                "--sender-email",
                SENDER,
                "--ca-file",
                str(ca_file),
            ],
            PASSWORD + "\n",
        ),
        (
            [
                "email",
                "set",
                "Production",
                "--server",
                "127.0.0.1",
                "--port",
                str(oauth_port),
                "--auth",
                "oauth2",
                "--token-url",
                token_url,
                "--client-id",
                CLIENT_ID,
                "--client-secret-stdin",
                "--scope",
                "https://outlook.office365.com/.default",
                "--sender-email",
                SENDER,
                "--ca-file",
                str(ca_file),
            ],
            CLIENT_SECRET + "\n",
        ),
        (["app", "add", "Shop"], None),
        (["testlist", "add", "Shop", "--stage", "QA", "tester@example.com"], None),
        (["testlist", "activate", "Shop", "--stage", "QA"], None),
        (["member", "add", "bob", "--role", "Email Manager"], None),
    ]
    for args, stdin in commands:
        result = run_cli(*args, input=stdin)
        assert result.returncode == 0, result.stderr
        outputs += [result.stdout, result.stderr]
    return outputs


def every_command() -> list[list[str]]:
    send = ["email", "send-test"]
    return [
        ["locate"],
        ["locate", "--json"],
        ["stage", "list"],
        ["stage", "list", "--json"],
        ["email", "show", "QA"],
        ["email", "show", "QA", "--json"],
        ["email", "show", "Production"],
        ["email", "show", "Production", "--json"],
        ["app", "list"],
        ["app", "list", "--json"],
        ["testlist", "show", "Shop", "--stage", "QA"],
        ["testlist", "show", "Shop", "--stage", "QA", "--json"],
        ["member", "list"],
        ["member", "list", "--json"],
        ["role", "list"],
        ["audit"],
        ["audit", "--json", "--limit", "1000"],
        [*send, "QA", "--to", "dev@example.com", "-v"],
        [*send, "QA", "--app", "Shop", "--json", "-v"],
        [*send, "Production", "--to", "dev@example.com", "-v"],
        [*send, "Production", "--to", "dev@example.com", "--json", "--check-only"],
        ["email", "set", "QA", "--port", "25"],  # refused: the error path too
        [*send, "QA", "--to", "dev@example.com", "--timeout", "1", "-v"],  # after: fails
    ]


async def visit_every_screen(locations: Locations, capture: Path) -> list[tuple[str, str]]:
    app = build_app(locations, capture_folder=capture, store_label="~/store.json")
    seen: list[tuple[str, str]] = []
    async with app.run_test(size=(100, 40)) as pilot:

        async def look(label: str) -> None:
            await settle(pilot)
            seen.append((label, screen_text(app)))
            seen.append((label + " (svg)", app.export_screenshot()))

        await look("home")
        app.open_stage_picker()
        await look("stage picker")
        for stage in ("QA", "Production"):
            app.open_stage(stage)
            await look(f"stage {stage}")
            app.open_email_form(stage)
            await look(f"form {stage}")
            form = app.screen
            for key in ("password", "client_secret"):
                assert form.query_one(f"#{key}").value == ""  # never pre-filled
            app.pop_screen()
            app.open_send_test(stage, recipients=["dev@example.com"])
            await look(f"send test {stage}")
            await pilot.press("f5")
            await look(f"send test {stage} done")
            assert app.screen.result is not None and app.screen.result.ok
            app.pop_screen()
            app.pop_screen()
        app.open_apps()
        await look("apps")
        app.push_screen(AppConfigScreen("Shop"))
        await look("app configuration")
        app.push_screen(TestListEditorScreen("Shop", "QA"))
        await look("test list editor")
        app.push_screen(MembersScreen())
        await look("members")
        app.push_screen(AuditScreen())
        await look("audit")
        app.push_screen(CapturedMailScreen(capture))
        await look("captured mail")
        for mail in sorted(capture.glob("*.eml")):
            app.push_screen(MessageViewerScreen(mail))
            await look(f"message {mail.name}")
            app.pop_screen()
    return seen


async def test_no_secret_anywhere(
    initialized, smtp_server, smtp_server_factory, token_endpoint, certificates, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    oauth_server = smtp_server_factory(tokens=token_endpoint)
    outputs = configure(
        initialized, smtp_server.port, oauth_server.port, token_endpoint.url, certificates.ca_file
    )

    capture = tmp_path / "captured"
    sink = subprocess.Popen(
        [*mailstage_command(), "sink", "--port", "0", "--dir", str(capture)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    first = sink.stdout.readline()
    sink_port = int(first.split(" port ")[1].split()[0])

    for args in every_command():
        result = run_cli(*args)
        assert result.returncode in (0, 3, 7), (args, result.stderr)
        outputs += [result.stdout, result.stderr]
    # the QA stage now points at the sink: a Basic login with the password, captured
    assert (
        run_cli(
            "email",
            "set",
            "QA",
            "--server",
            "127.0.0.1",
            "--port",
            str(sink_port),
            "--ca-file",
            str(certificates.ca_file),
        ).returncode
        == 0
    )
    result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "-v")
    assert result.returncode == 0, result.stderr
    outputs += [result.stdout, result.stderr]

    screens = await visit_every_screen(Locations.resolve(), capture)
    sink.send_signal(signal.SIGINT)
    sink_out, sink_err = sink.communicate(timeout=30)
    assert sink.returncode == 0 and "AUTH" in sink_out + sink_err

    forms = secret_forms(token_endpoint.valid_tokens())
    assert token_endpoint.valid_tokens(), "the OAuth path was exercised"
    assert "********" in "".join(outputs)
    assert_clean("CLI output", "\n".join(outputs), forms)
    assert_clean("the sink's output", sink_out + sink_err, forms)
    labels = [label for label, _ in screens]
    assert {"form QA", "form Production", "test list editor", "captured mail"} <= set(labels)
    assert any(label.startswith("message ") for label in labels)
    assert sum("Delivered" in text for label, text in screens if label.endswith("done")) == 2
    for label, text in screens:
        assert_clean(f"screen {label}", text, forms)
    assert_clean("logs", caplog.text, forms)
    assert len(list(capture.glob("*.eml"))) >= 1
    for path in tmp_path.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            for form in forms:
                assert form.encode() not in raw, f"a secret leaked into {path.name}"


def test_no_secret_in_any_snapshot():
    snapshots = list((Path(__file__).parent / "__snapshots__").rglob("*.svg"))
    assert snapshots
    for path in snapshots:
        text = path.read_text()
        for secret in SNAPSHOT_SECRETS:
            assert secret not in text, (path.name, secret)
