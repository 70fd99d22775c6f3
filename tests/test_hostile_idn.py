"""Kind 8: international addresses. Domains go out as xn-- (envelope and headers); a
non-ASCII local part goes out with SMTPUTF8 when the server offers it, and otherwise the
send fails before MAIL FROM with a sentence naming the address.

Decision for a test list holding such an address (server without SMTPUTF8): the whole
send fails, loudly, naming the address, and nothing goes to anyone; the others are not
served while one of the list's addresses silently gets nothing."""

from __future__ import annotations

import pytest

from mailstage.mailer.capture import CaptureServer, list_captured
from mailstage.mailer.intl_addresses import NeedsSmtpUtf8, ascii_address, plan_envelope
from tests.cli_runner import run_cli
from tests.hostile_servers import ScriptedSmtp, SmtpScript
from tests.loopback import PASSWORD, SENDER, USERNAME
from tests.tui_fixtures import screen_text, settle

IDN = "dev@bücher.example"
IDN_ASCII = "dev@xn--bcher-kva.example"
UTF8_LOCAL = "josé@example.com"


@pytest.fixture
def ascii_only_server():
    server = ScriptedSmtp(SmtpScript(ehlo=["plain.example", "AUTH PLAIN", "8BITMIME"]))
    yield server
    server.stop()


def set_basic(port: int, sender: str = SENDER) -> None:
    args = ["email", "set", "QA", "--server", "127.0.0.1", "--port", str(port), "--auth", "basic"]
    args += ["--username", USERNAME, "--password-stdin", "--sender-email", sender]
    result = run_cli(*args, input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr


def mail_commands(server: ScriptedSmtp) -> list[str]:
    return [c for c in server.script.commands if c.upper().startswith(("MAIL", "RCPT"))]


def test_the_envelope_plan():
    assert ascii_address(IDN) == IDN_ASCII and ascii_address("a@example.com") == "a@example.com"
    plan = plan_envelope("Ü@bücher.example", [IDN], smtputf8_offered=True)
    assert plan.smtputf8 and plan.sender == "Ü@xn--bcher-kva.example"
    with pytest.raises(NeedsSmtpUtf8) as info:
        plan_envelope(SENDER, [IDN, UTF8_LOCAL], smtputf8_offered=False)
    assert info.value.addresses == [UTF8_LOCAL]


def test_an_idn_domain_goes_out_as_xn(initialized, ascii_only_server):
    set_basic(ascii_only_server.port, sender="noreply@bücher.example")

    result = run_cli("email", "send-test", "QA", "--to", IDN)

    assert result.returncode == 0, result.stderr
    assert mail_commands(ascii_only_server) == [
        "MAIL FROM:<noreply@xn--bcher-kva.example>",
        f"RCPT TO:<{IDN_ASCII}>",
    ]
    headers = ascii_only_server.script.data[: ascii_only_server.script.data.index("")]
    assert all(line.isascii() for line in headers)
    assert f"To: {IDN_ASCII}" in headers
    assert any(line.startswith("From: ") and "xn--bcher-kva.example" in line for line in headers)


def test_a_non_ascii_local_part_without_smtputf8_fails_naming_it(initialized, ascii_only_server):
    set_basic(ascii_only_server.port)

    result = run_cli("email", "send-test", "QA", "--to", "ok@example.com", "--to", UTF8_LOCAL)

    assert result.returncode == 7
    assert "Step send failed" in result.stderr and UTF8_LOCAL in result.stderr
    assert "SMTPUTF8" in result.stderr
    assert "codec" not in result.stderr and "Unexpected" not in result.stderr
    assert mail_commands(ascii_only_server) == []  # before any mail is sent


def test_a_test_list_with_one_such_address_fails_loudly_and_sends_nothing(
    initialized, ascii_only_server
):
    set_basic(ascii_only_server.port)
    for args in (
        ("app", "add", "Shop"),
        ("testlist", "add", "Shop", "--stage", "QA", "ok@example.com", UTF8_LOCAL, IDN),
        ("testlist", "activate", "Shop", "--stage", "QA"),
    ):
        assert run_cli(*args).returncode == 0

    result = run_cli("email", "send-test", "QA", "--app", "Shop")

    assert result.returncode == 7
    assert UTF8_LOCAL in result.stderr and "nothing was sent to anyone" in result.stderr
    assert mail_commands(ascii_only_server) == []


def test_smtputf8_carries_a_non_ascii_local_part_when_offered(initialized, tmp_path):
    with CaptureServer("127.0.0.1", 0, tmp_path / "mail") as sink:
        set_basic(sink.port)
        result = run_cli("email", "send-test", "QA", "--to", "josé@bücher.example", "-v")
    assert result.returncode == 0, result.stderr
    assert "SMTPUTF8" in result.stdout  # MAIL FROM:<...> SMTPUTF8 in the transcript
    [mail] = list_captured(tmp_path / "mail")
    assert mail.recipients == ["josé@xn--bcher-kva.example"]


async def test_tui_send_test_names_the_address_that_needs_smtputf8(
    make_tui_app, tui_store, ascii_only_server
):
    from mailstage.store.workspace import Workspace
    from tests.test_tui_delivery_faults import configure

    configure(tui_store, ascii_only_server.port)
    app = make_tui_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)  # the store opens in a worker
        app.open_send_test("QA")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#recipients").value = f"ok@example.com, {UTF8_LOCAL}"
        await pilot.press("f5")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.result is not None and not screen.result.ok
        assert screen.result.failed_step.name.value == "send"
        assert UTF8_LOCAL in " ".join(screen_text(app).split())
    assert mail_commands(ascii_only_server) == []
    assert Workspace.open(tui_store, user="alice").stage("QA").email is not None
