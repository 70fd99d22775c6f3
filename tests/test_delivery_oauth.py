"""OAuth 2.0 client credentials: a real token endpoint and an XOAUTH2 check on loopback."""

from __future__ import annotations

from mailstage.mailer.oauth import microsoft_authority, token_cache
from mailstage.mailer.send_test import send_test
from tests.loopback import CLIENT_ID, CLIENT_SECRET, SENDER, oauth_config, stage


async def _send(server, token_endpoint, certificates, **kwargs):
    config = oauth_config(server.port, token_endpoint.url, ca_file=certificates.ca_file)
    return await send_test(
        config, stage=stage(), app=None, recipients=["dev@example.com"], timeout=5, **kwargs
    )


async def test_oauth_delivery_arrives(smtp_server_factory, token_endpoint, certificates):
    server = smtp_server_factory(tokens=token_endpoint)

    result = await _send(server, token_endpoint, certificates)

    assert result.ok, result.error
    assert [s.name for s in result.steps] == [
        "resolve", "connect", "banner", "ehlo", "tls", "token", "auth", "send", "quit",
    ]  # fmt: skip
    assert token_endpoint.requests == 1
    (received,) = server.messages
    assert received.auth_user == SENDER
    assert server.handler.xoauth2_users == [SENDER]


async def test_long_token_uses_the_two_step_form_on_a_stock_server(
    smtp_server_factory, token_endpoint, certificates
):
    # aiosmtpd's stock 512-octet command limit refuses an inline ~2 KB initial response
    server = smtp_server_factory(tokens=token_endpoint, stock_command_limit=True)

    result = await _send(server, token_endpoint, certificates)

    assert result.ok, result.error
    assert server.handler.xoauth2_inline == [False]
    assert "-> AUTH XOAUTH2" in result.transcript


async def test_second_send_within_expiry_reuses_the_token(
    smtp_server_factory, token_endpoint, certificates
):
    server = smtp_server_factory(tokens=token_endpoint)

    first = await _send(server, token_endpoint, certificates)
    second = await _send(server, token_endpoint, certificates)

    assert first.ok and second.ok, (first.error, second.error)
    assert token_endpoint.requests == 1
    token_step = next(s for s in second.steps if s.name == "token")
    assert token_step.detail.startswith("cached token")
    assert len(server.messages) == 2


async def test_token_within_five_minutes_of_expiry_is_renewed(
    smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.expires_in = 240  # already inside the 5-minute margin
    server = smtp_server_factory(tokens=token_endpoint)

    first = await _send(server, token_endpoint, certificates)
    second = await _send(server, token_endpoint, certificates)

    assert first.ok and second.ok
    assert token_endpoint.requests == 2


async def test_expired_token_is_renewed_when_the_clock_moves_on(
    smtp_server_factory, token_endpoint, certificates, monkeypatch
):
    now = [1000.0]
    monkeypatch.setattr(token_cache, "clock", lambda: now[0])
    server = smtp_server_factory(tokens=token_endpoint)

    assert (await _send(server, token_endpoint, certificates)).ok
    now[0] += 3600 - 301  # still more than 5 minutes left
    assert (await _send(server, token_endpoint, certificates)).ok
    assert token_endpoint.requests == 1
    now[0] += 2  # now within 5 minutes of expiry
    assert (await _send(server, token_endpoint, certificates)).ok
    assert token_endpoint.requests == 2


async def test_google_style_error_challenge_is_answered_with_an_empty_line(
    smtp_server_factory, token_endpoint, certificates
):
    server = smtp_server_factory(google_error_challenge=True)  # accepts no token at all

    result = await _send(server, token_endpoint, certificates)

    assert not result.ok
    assert result.failed_step.name == "auth"
    assert "535 5.7.8" in result.error
    assert any("server error challenge" in line for line in result.transcript)


async def test_no_token_or_secret_in_transcript_json_or_logs(
    smtp_server_factory, token_endpoint, certificates, caplog
):
    caplog.set_level("DEBUG")
    server = smtp_server_factory(tokens=token_endpoint, stock_command_limit=True)

    result = await _send(server, token_endpoint, certificates)

    assert result.ok
    (token,) = token_endpoint.issued
    outputs = [
        "\n".join(result.transcript),
        result.model_dump_json(),
        str(result.to_json(with_transcript=True)),
        caplog.text,
    ]
    for text in outputs:
        assert token not in text
        assert token[:40] not in text
        assert CLIENT_SECRET not in text


async def test_token_request_carries_a_scope_only_when_one_is_set(
    smtp_server_factory, token_endpoint, certificates
):
    # Scopes is optional as in the portal; RFC 6749 4.4.2: with none, no `scope` parameter
    server = smtp_server_factory(tokens=token_endpoint)
    for scopes in ([], ["api://relay/.default", "mail.send"]):
        auth = {
            "type": "oauth2_client_credentials",
            "token_url": token_endpoint.url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": scopes,
        }
        config = oauth_config(
            server.port, token_endpoint.url, ca_file=certificates.ca_file, auth=auth
        )
        assert config.auth.scopes == scopes  # a loopback URL gets no Microsoft default
        result = await send_test(
            config, stage=stage(), app=None, recipients=["dev@example.com"], timeout=5
        )
        assert result.ok, result.error

    no_scope, with_scopes = token_endpoint.forms
    assert "scope" not in no_scope
    assert no_scope["grant_type"] == "client_credentials" and no_scope["client_id"] == CLIENT_ID
    assert with_scopes["scope"] == "api://relay/.default mail.send"
    assert len(server.messages) == 2


def test_microsoft_token_urls_go_to_msal_with_their_tenant_authority():
    assert (
        microsoft_authority(
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        )
        == "https://login.microsoftonline.com/contoso.onmicrosoft.com"
    )
    assert microsoft_authority("https://idp.example.com/oauth2/token") is None
    assert microsoft_authority("http://127.0.0.1:8080/t/oauth2/v2.0/token") is None
