"""Hints read from the access token's claims (issue 21): a loopback token endpoint that
issues JWT-shaped tokens with chosen claims, and a loopback SMTP server that answers as
Exchange Online does (535 5.7.3 at AUTH, 554 5.2.252 SendAsDenied at DATA)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from mailstage.mailer.hints import failure_hint
from mailstage.mailer.jwt_claims import read_claims
from mailstage.mailer.send_test import send_test
from mailstage.mailer.token_hints import duration
from tests.loopback import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    SENDER,
    USERNAME,
    basic_config,
    jwt_shaped,
    oauth_config,
    stage,
)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SERVICE_PRINCIPAL = "6a1f0c4e-93b2-4d1e-8f3a-0b5c9d7e2a41"
SEND_AS_DENIED = (
    f"554 5.2.252 SendAsDenied; {SENDER} not allowed to send as {SENDER}; "
    "STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied"
)


def entra_claims(clock_shift: float = 0, **changes: Any) -> Callable[[], dict[str, Any]]:
    """Claims as Entra puts them in an app-only token for Exchange Online; the issuer's
    clock runs ``clock_shift`` seconds from this machine's."""

    def make() -> dict[str, Any]:
        now = int(time.time() + clock_shift)
        claims: dict[str, Any] = {
            "aud": "https://outlook.office365.com",
            "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": now,
            "nbf": now,
            "exp": now + 3599,
            "appid": CLIENT_ID,
            "oid": SERVICE_PRINCIPAL,
            "roles": ["SMTP.SendAsApp"],
            "tid": TENANT,
            "ver": "1.0",
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    return make


async def run_send_test(server, token_endpoint, certificates, **kwargs):
    config = oauth_config(server.port, token_endpoint.url, ca_file=certificates.ca_file)
    return await send_test(
        config, stage=stage(), app=None, recipients=["dev@example.com"], timeout=5, **kwargs
    )


def assert_token_never_shown(result, token_endpoint) -> None:
    shown = json.dumps(result.to_json(with_transcript=True)) + str(result.log_record())
    for token in token_endpoint.issued:
        for part in (token, *token.split(".")):
            assert part not in shown
    assert CLIENT_SECRET not in shown


# --- through a real token endpoint and an Exchange-like SMTP server --------------------


async def test_missing_send_as_app_role_names_the_roles_the_token_has(
    smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims(roles=["Mail.Read", "User.Read.All"])
    server = smtp_server_factory(tokens=token_endpoint, exchange=True)

    result = await run_send_test(server, token_endpoint, certificates)

    assert not result.ok and result.failed_step.name == "auth"
    assert result.reply == "535 5.7.3 Authentication unsuccessful"
    assert result.hint.startswith(
        "The token's roles are Mail.Read; User.Read.All; SMTP.SendAsApp is missing: add the "
        "Office 365 Exchange Online application permission SMTP.SendAsApp and grant admin "
        "consent."
    )
    assert_token_never_shown(result, token_endpoint)


async def test_a_token_without_roles_says_so(smtp_server_factory, token_endpoint, certificates):
    token_endpoint.claims = entra_claims(roles=None)
    server = smtp_server_factory(tokens=token_endpoint, exchange=True)

    result = await run_send_test(server, token_endpoint, certificates)

    assert result.hint.startswith("The token has no roles; SMTP.SendAsApp is missing")


async def test_a_graph_token_names_its_audience_and_the_scope_to_use(
    smtp_server_factory, token_endpoint, certificates
):
    # a v2 token, as a scope of https://graph.microsoft.com/.default gives
    token_endpoint.claims = entra_claims(
        aud="https://graph.microsoft.com",
        iss=f"https://login.microsoftonline.com/{TENANT}/v2.0",
        roles=["Mail.Send"],
        appid=None,
        azp=CLIENT_ID,
        ver="2.0",
    )
    server = smtp_server_factory(tokens=token_endpoint, exchange=True)

    result = await run_send_test(server, token_endpoint, certificates)

    assert result.hint == (
        "The token's audience is https://graph.microsoft.com, not Exchange Online: the scope "
        "must be https://outlook.office365.com/.default."
    )
    assert_token_never_shown(result, token_endpoint)


async def test_a_clock_behind_the_issuers_says_by_how_much(
    smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims(clock_shift=2 * 3600)  # this machine is 2 h behind
    server = smtp_server_factory(tokens=token_endpoint, exchange=True)

    result = await run_send_test(server, token_endpoint, certificates)

    assert not result.ok
    assert "the token is valid only 2 h from now" in result.hint
    assert "off (behind) by at least 2 h" in result.hint


async def test_a_clock_ahead_of_the_issuers_says_by_how_much(
    smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims(clock_shift=-(3 * 3600 + 40 * 60))
    server = smtp_server_factory(tokens=token_endpoint, exchange=True)

    result = await run_send_test(server, token_endpoint, certificates)

    assert "the token expired 2 h 40 min ago" in result.hint
    assert "off (ahead) by at least 2 h 40 min" in result.hint


async def test_a_right_token_refused_points_at_the_service_principal_with_its_ids(
    smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims()
    # the token is right; Exchange knows no service principal for the app
    server = smtp_server_factory(
        tokens=token_endpoint, reject_with="535 5.7.3 Authentication unsuccessful"
    )

    result = await run_send_test(server, token_endpoint, certificates)

    assert result.hint.startswith(
        "The token is right for Exchange Online (audience https://outlook.office365.com, "
        "role SMTP.SendAsApp); Exchange lacks the app: "
    )
    assert f"New-ServicePrincipal -AppId {CLIENT_ID} -ObjectId {SERVICE_PRINCIPAL}" in result.hint
    assert f"-Identity {SENDER} -User {SERVICE_PRINCIPAL} -AccessRights FullAccess" in result.hint


async def test_send_as_denied_at_data_names_the_sender_mailbox(
    smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims()
    server = smtp_server_factory(tokens=token_endpoint, exchange=True, data_reply=SEND_AS_DENIED)

    result = await run_send_test(server, token_endpoint, certificates)

    assert not result.ok and result.failed_step.name == "send"
    assert result.hint.startswith(f"The mailbox {SENDER} has not granted Send As")
    assert (
        f"Add-RecipientPermission -Identity {SENDER} -Trustee {SERVICE_PRINCIPAL} "
        "-AccessRights SendAs" in result.hint
    )
    assert "FullAccess with Add-MailboxPermission" in result.hint
    assert_token_never_shown(result, token_endpoint)


async def test_an_opaque_token_gets_the_reply_hint_and_nothing_breaks(
    smtp_server_factory, token_endpoint, certificates
):
    # the endpoint's default tokens are not JWTs; the server refuses them as Exchange does
    server = smtp_server_factory(
        tokens=token_endpoint, reject_with="535 5.7.3 Authentication unsuccessful"
    )

    result = await run_send_test(server, token_endpoint, certificates)

    assert result.hint.startswith("The token was accepted but the app may not send")
    assert f"New-ServicePrincipal -AppId {CLIENT_ID} -ObjectId <service principal" in result.hint


async def test_claims_from_another_issuer_give_no_claim_hint(
    smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims(iss="https://accounts.google.com", roles=["Mail.Read"])
    server = smtp_server_factory(tokens=token_endpoint, exchange=True)

    result = await run_send_test(server, token_endpoint, certificates)

    assert not result.ok and "roles" not in result.hint
    assert result.hint.startswith("The token was accepted but the app may not send")


async def test_a_good_token_delivers_with_no_hint(
    smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims()
    server = smtp_server_factory(tokens=token_endpoint, exchange=True)

    result = await run_send_test(server, token_endpoint, certificates)

    assert result.ok and result.hint is None and len(server.messages) == 1


async def test_hostile_claims_reach_the_hint_cleaned(
    smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims(
        roles=["Mail.Read\x1b]52;c;cHduZWQ=\x07", f"echo {CLIENT_SECRET}"],
    )
    server = smtp_server_factory(tokens=token_endpoint, exchange=True)

    result = await run_send_test(server, token_endpoint, certificates)

    assert not result.ok
    assert "\x1b" not in result.hint and CLIENT_SECRET not in result.hint
    assert_token_never_shown(result, token_endpoint)


# --- reading claims: anything that is not a JWT gives None, never an error ---------------


def _part(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "opaque-token-without-dots",
        "eyJ0eXAiOiJKV1Qi." + "x" * 50,  # two parts
        f"{_part({'typ': 'JWT'})}.{_part({'aud': 'x'})}.sig.more.parts",  # JWE-like
        f"{_part({'typ': 'JWT'})}.{_part(['a', 'list'])}.sig",
        f"{_part({'typ': 'JWT'})}.{_part(b'not json')}.sig",
        f"{_part(b'not json')}.{_part({'aud': 'x'})}.sig",
        f"{_part({'typ': 'JWT'})}.not+base64/url.sig",
        f"{_part({'typ': 'JWT'})}.{_part(b'[' * 100_000)[:40_000]}.sig",
        f"{_part({'typ': 'JWT'})}.{_part({'aud': 'x', 'pad': 'y' * 70_000})}.sig",
    ],
)
def test_what_is_not_a_jwt_has_no_claims(token):
    assert read_claims(token) is None


def test_odd_claim_values_are_dropped_not_trusted():
    claims = read_claims(
        jwt_shaped(
            {
                "iss": 5,
                "aud": ["a", 7, "b"],
                "roles": "One.Role",
                "nbf": True,
                "exp": 10**400,
                "iat": "yesterday",
                "oid": {"x": 1},
            }
        )  # fmt: skip
    )
    assert claims is not None
    assert claims.issuer == "" and not claims.microsoft
    assert claims.audiences == ("a", "b") and claims.roles == ("One.Role",)
    assert (claims.not_before, claims.expires, claims.issued_at) == (None, None, None)
    assert claims.object_id == ""


@pytest.mark.parametrize(
    ("issuer", "microsoft"),
    [
        (f"https://sts.windows.net/{TENANT}/", True),
        (f"https://login.microsoftonline.com/{TENANT}/v2.0", True),
        (f"https://login.microsoftonline.us/{TENANT}/v2.0", True),
        (f"https://login.microsoftonline.com/{TENANT}/", False),
        ("https://sts.windows.net.evil.example/tenant/", False),
        ("https://evil.example/https://sts.windows.net/tenant/", False),
        ("https://accounts.google.com", False),
    ],
)
def test_microsoft_is_decided_on_the_issuer(issuer, microsoft):
    claims = read_claims(jwt_shaped({"iss": issuer, "aud": "https://outlook.office365.com"}))
    assert claims is not None and claims.microsoft is microsoft


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (45, "45 s"),
        (600, "10 min"),
        (7199, "2 h"),
        (3 * 3600 + 300, "3 h 5 min"),
        (2 * 86400, "2 d"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
    ],  # fmt: skip
)
def test_durations_read_as_people_say_them(seconds, text):
    assert duration(seconds) == text


def test_a_claims_finding_comes_with_the_hint_of_another_known_reply():
    claims = read_claims(jwt_shaped(entra_claims(roles=["Mail.Read"])()))
    reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled"

    hint = failure_hint(reply, "auth_rejected", claims=claims)

    assert hint.startswith("The token's roles are Mail.Read; SMTP.SendAsApp is missing")
    assert "Set-CASMailbox" in hint


def test_a_skew_within_five_minutes_is_no_finding():
    now = time.time()
    claims = read_claims(jwt_shaped(entra_claims(clock_shift=240)()))
    assert failure_hint("535 5.7.3 x", "auth_rejected", claims=claims, now=now).startswith(
        "The token is right for Exchange Online"
    )
    late = failure_hint("535 5.7.3 x", "auth_rejected", claims=claims, now=now - 3600)
    assert "valid only 64 min from now" in late


async def test_send_as_denied_with_basic_names_the_user_as_trustee(
    smtp_server_factory, certificates
):
    server = smtp_server_factory(data_reply=SEND_AS_DENIED)
    config = basic_config(server.port, ca_file=certificates.ca_file)

    result = await send_test(config, stage=stage(), app=None, recipients=["dev@example.com"])

    assert not result.ok and result.failed_step.name == "send"
    assert f"-Identity {SENDER} -Trustee {USERNAME} -AccessRights SendAs" in result.hint
    assert PASSWORD not in json.dumps(result.to_json(with_transcript=True))
