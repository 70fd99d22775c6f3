"""Connect to a stage's SMTP server, secure the connection and log in: the steps Send
test shows one by one, and the ones the relay runs for each new upstream connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mailstage.mailer.deadline import Deadline
from mailstage.mailer.smtp_session import SmtpSession
from mailstage.mailer.steps import StepFailed, StepName, StepRecorder
from mailstage.mailer.transcript import Transcript
from mailstage.store.models import EmailConfig, OAuth2ClientCredentials

if TYPE_CHECKING:
    from mailstage.mailer.oauth import AccessToken


async def connect_and_login(
    session: SmtpSession,
    config: EmailConfig,
    recorder: StepRecorder,
    *,
    deadline: Deadline,
    token_lock: asyncio.Lock | None = None,
) -> None:
    """resolve -> connect -> (TLS) -> banner -> EHLO -> (STARTTLS) -> token -> AUTH.

    ``token_lock`` makes concurrent logins wait for one token request instead of each
    asking the endpoint (the relay opening several connections at once)."""

    async def run(name: StepName, action: Awaitable[str]) -> None:
        with recorder.step(name) as report:
            report.detail = await action

    await run(StepName.RESOLVE, session.resolve())
    await run(StepName.CONNECT, session.connect())
    if config.security == "implicit":
        await run(StepName.TLS, session.implicit_tls())
        await run(StepName.BANNER, session.banner())
        await run(StepName.EHLO, session.ehlo())
    else:
        await run(StepName.BANNER, session.banner())
        await run(StepName.EHLO, session.ehlo())
        await run(StepName.TLS, session.starttls())
    token: AccessToken | None = None
    if isinstance(config.auth, OAuth2ClientCredentials):
        with recorder.step(StepName.TOKEN) as report:
            async with token_lock or contextlib.nullcontext():
                token = await fetch_token(config.auth, deadline)
            session.transcript.forbid_secret(token.value.get_secret_value())
            session.token_claims = token.claims
            report.detail = token_detail(token, config.auth)
            session.transcript.note(report.detail)
    await run(StepName.AUTH, session.authenticate(token.value if token else None))


def forbid_credentials(transcript: Transcript, config: EmailConfig) -> None:
    """Register the stage's secrets before anything is said: a server may echo them at
    any step, even before AUTH."""
    auth = config.auth
    if isinstance(auth, OAuth2ClientCredentials):
        transcript.forbid_secret(auth.client_secret.get_secret_value())
    else:
        transcript.forbid_secret(auth.password.get_secret_value())


async def fetch_token(auth: OAuth2ClientCredentials, deadline: Deadline) -> AccessToken:
    from mailstage.mailer.oauth import TokenError
    from mailstage.mailer.oauth import fetch_token as fetch

    try:
        return await fetch(auth, deadline=deadline)
    except TokenError as exc:
        raise StepFailed(exc.message, reply=exc.description, hint_key=exc.hint_key) from None


def token_detail(token: AccessToken, auth: OAuth2ClientCredentials) -> str:
    from mailstage.mailer.oauth import token_cache

    minutes = max(0, round((token.expires_at - token_cache.clock()) / 60))
    if token.from_cache:
        return f"cached token, expires in {minutes} min"
    return f"new token from {urlsplit(auth.token_url).hostname}, expires in {minutes} min"
