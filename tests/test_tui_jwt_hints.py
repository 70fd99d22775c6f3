"""The TUI's Send test shows what the access token's claims say is missing (issue 21),
through Pilot, against a loopback token endpoint issuing JWT-shaped tokens and an SMTP
server answering as Exchange Online does."""

from __future__ import annotations

from typing import Any

import pytest

from tests.loopback import CLIENT_SECRET, SENDER
from tests.test_delivery_jwt_hints import SEND_AS_DENIED, entra_claims
from tests.test_tui_delivery_faults import configure, run_send_test
from tests.tui_fixtures import screen_text


def shown_words(app: Any) -> str:
    """The screen's words in reading order, without the dialog's borders and scrollbars."""
    rows = [row.strip(" │▊▎▐▌") for row in screen_text(app).splitlines()]
    return " ".join(" ".join(rows).split())


@pytest.mark.parametrize(
    ("claims", "data_reply", "words"),
    [
        (
            entra_claims(roles=["Mail.Read"]),
            None,
            "The token's roles are Mail.Read; SMTP.SendAsApp is missing: add the Office 365 "
            "Exchange Online application permission SMTP.SendAsApp and grant admin consent.",
        ),
        (
            entra_claims(aud="https://graph.microsoft.com"),
            None,
            "The token's audience is https://graph.microsoft.com, not Exchange Online: the "
            "scope must be https://outlook.office365.com/.default.",
        ),
        (entra_claims(), SEND_AS_DENIED, f"The mailbox {SENDER} has not granted Send As"),
        (entra_claims(), None, "The token is right for Exchange Online"),
    ],
    ids=["roles", "audience", "send-as", "service-principal"],
)
async def test_send_test_screen_shows_the_claims_hint_at_80x24(
    make_tui_app, tui_store, smtp_server_factory, token_endpoint, certificates, claims,
    data_reply, words,
):  # fmt: skip
    token_endpoint.claims = claims
    server = smtp_server_factory(tokens=token_endpoint, exchange=True, data_reply=data_reply)
    if words.startswith("The token is right"):  # Exchange knows no service principal
        server.behaviour.reject_with = "535 5.7.3 Authentication unsuccessful"
    configure(tui_store, server.port, ca_file=certificates.ca_file, token_url=token_endpoint.url)
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await run_send_test(app, pilot)
        assert screen.result is not None and not screen.result.ok
        assert words in screen.result.hint
        text = shown_words(app)
        assert f"Hint: {screen.result.hint}" in text  # all of it on screen, not cut
        secrets = [CLIENT_SECRET]
        for token in token_endpoint.issued:
            secrets += [token, *token.split(".")]
        transcript = "\n".join(screen.result.transcript)
        for secret in secrets:
            assert secret not in text and secret not in transcript
