"""What to do about the failures admins meet most, keyed by what identifies them."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from mailstage.mailer.token_hints import SEND_AS_APP, claim_findings
from mailstage.store.models import BasicAuth, OAuth2ClientCredentials

if TYPE_CHECKING:
    from mailstage.mailer.jwt_claims import TokenClaims
    from mailstage.store.models import EmailConfig

# Filled in by failure_hint when known: the stage's sender email, the Application
# (client) ID and the service principal's object id (the token's oid claim).
SENDER = "<sender>"
APP_ID = "<app id>"
SERVICE_PRINCIPAL = "<service principal object id>"
TRUSTEE = "<trustee>"  # who logged in: the service principal (OAuth) or the user name (Basic)

EXCHANGE_APP_STEPS = (
    f"register the service principal with New-ServicePrincipal -AppId {APP_ID} -ObjectId "
    f"{SERVICE_PRINCIPAL} (the Enterprise Application's object id, not the App "
    f"Registration's) and grant Add-MailboxPermission -Identity {SENDER} -User "
    f"{SERVICE_PRINCIPAL} -AccessRights FullAccess"
)

# Searched in order in the failure text (server reply, token error, exception);
# the first key found wins, so the more specific keys come first.
REPLY_HINTS: list[tuple[str, str]] = [
    (
        "5.7.139",
        "SMTP AUTH is disabled for the tenant or the mailbox. Enable it with "
        f"Set-CASMailbox -Identity {SENDER} -SmtpClientAuthenticationDisabled $false "
        "(or turn it on in the Microsoft 365 admin center).",
    ),
    (
        "5.7.3",
        f"The token was accepted but the app may not send as this mailbox: "
        f"{EXCHANGE_APP_STEPS}, and make sure {SEND_AS_APP} has admin consent.",
    ),
    (
        "5.2.252",
        f"The mailbox {SENDER} has not granted Send As to the login (with OAuth, the app's "
        f"service principal): Add-RecipientPermission -Identity {SENDER} -Trustee "
        f"{TRUSTEE} -AccessRights SendAs, and FullAccess with "
        f"Add-MailboxPermission.",
    ),
    (
        "5.7.57",
        "The server says the client did not authenticate: configure authentication for "
        "this stage, and check that the sender mailbox is the one authenticated.",
    ),
    (
        "5.7.30",
        "The server no longer accepts Basic authentication: switch this stage to "
        "OAuth 2.0 - client credentials.",
    ),
    (
        "4.2.0",
        "The server could not log on to the sender mailbox (STOREDRV): check that the "
        "mailbox exists, is licensed, and that the app has FullAccess on it.",
    ),
    (
        "AADSTS7000215",
        "The client secret is wrong: paste the secret's Value from Certificates & secrets, "
        "not its Secret ID, and check that it has not expired.",
    ),
    (
        "AADSTS700016",
        "No app with this client id exists in this tenant: check the Application (client) "
        "ID and that the token URL names the tenant where the app is registered.",
    ),
    (
        "AADSTS90002",
        "The tenant in the token URL was not found: check the Directory (tenant) ID or "
        "domain in https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token.",
    ),
]

CONDITION_HINTS: dict[str, str] = {
    "smtputf8": (
        "An address with letters beyond ASCII before the @ needs a server that offers "
        "SMTPUTF8 (Exchange Online and Gmail do). Remove that address from the test list "
        "or recipients, or send through a server that offers SMTPUTF8."
    ),
    "certificate": (
        "The server's certificate is not trusted: if the relay uses an internal CA, give "
        "its PEM bundle with --ca-file (or SSL_CERT_FILE); check that the server name "
        "matches the certificate and that it has not expired."
    ),
    "tls_handshake": (
        "TLS could not be set up: check that the security matches the port (465 is "
        "implicit TLS, 587 is STARTTLS) and that the server supports TLS 1.2 or later."
    ),
    "unknown_tenant": dict(REPLY_HINTS)["AADSTS90002"],
    "refused": (
        "Nothing accepts connections on that host and port: check the server name and "
        "port (587 for STARTTLS, 465 for implicit TLS) and any firewall in between."
    ),
    "timeout": (
        "The server did not answer in time: check the host and port, and whether a "
        "firewall silently drops the traffic; port 465 expects implicit TLS, 587 STARTTLS."
    ),
    "resolve": "The server name does not resolve: check its spelling and your DNS.",
    "no_starttls": (
        "The server does not offer STARTTLS, and mailstage never sends credentials or "
        "mail in plain text to a remote server: use the relay's submission port (587) or "
        "implicit TLS (465)."
    ),
    "no_xoauth2": (
        "The server does not offer XOAUTH2: OAuth 2.0 needs a server that supports it "
        "(smtp.office365.com, smtp.gmail.com), or use Basic authentication."
    ),
    "no_auth": (
        "The server offers no authentication mechanism mailstage can use here "
        "(PLAIN or LOGIN for Basic): check the port, and that TLS is in use."
    ),
    "disconnected": (
        "The server closed the connection: it may limit message size or rate, or reject "
        "the sender; look at its logs for the reason."
    ),
    "outcome_unknown": (
        "The server closed the connection (or went silent) after the whole message was "
        "handed over, without acknowledging its end: it may have taken it. Check the "
        "recipient's mailbox (or the server's message trace) before sending again, so it "
        "does not arrive twice."
    ),
    "token_endpoint": (
        "The token endpoint did not give a token: check the token URL, and try again "
        "later if the identity provider is having trouble."
    ),
    "auth_rejected": (
        "The server rejected the credentials: check the user name and password "
        "(or the client id, secret and scopes for OAuth)."
    ),
}

_WORD = re.compile(r"[A-Za-z0-9.]+")


def reply_key(text: str) -> str | None:
    """The first known reply code (or error code) the text holds."""
    words = {word.strip(".") for word in _WORD.findall(text)}
    return next((key for key, _ in REPLY_HINTS if key in words), None)


def hint_for(text: str, condition: str = "") -> str | None:
    """The hint for a failure: a known reply code in the text first, then the condition."""
    key = reply_key(text)
    return dict(REPLY_HINTS)[key] if key is not None else CONDITION_HINTS.get(condition)


def failure_hint(
    text: str,
    condition: str = "",
    *,
    config: EmailConfig | None = None,
    claims: TokenClaims | None = None,
    now: float | None = None,
) -> str | None:
    """The most precise hint for a failure: what the access token's claims say when the
    login was refused, else the table's hint; with the sender, app id and service
    principal filled in where known."""
    return token_failure_hint(text, condition, config=config, claims=claims, now=now) or _filled(
        hint_for(text, condition), config, claims
    )


def refusal_hint(
    reply: str, *, config: EmailConfig | None = None, claims: TokenClaims | None = None
) -> str | None:
    """For a message refused at DATA: the hint when the reply says Send As is missing
    (554 5.2.252 SendAsDenied), naming the sender and who logged in; else None."""
    if reply_key(reply) != "5.2.252":
        return None
    return _filled(dict(REPLY_HINTS)["5.2.252"], config, claims)


def token_failure_hint(
    text: str,
    condition: str = "",
    *,
    config: EmailConfig | None = None,
    claims: TokenClaims | None = None,
    now: float | None = None,
) -> str | None:
    """Only the claim-based hint (None when the claims say nothing): the relay's reply
    line has room for this one."""
    hint = token_hint(text, condition, claims, now=now)
    return _filled(hint, config, claims)


def token_hint(
    text: str, condition: str, claims: TokenClaims | None, *, now: float | None = None
) -> str | None:
    """For a refused login with a Microsoft token: what its claims say is wrong, or, when
    they are right and Exchange said 5.7.3, that the missing step is Exchange's."""
    if condition != "auth_rejected" or claims is None or not claims.microsoft:
        return None
    findings = claim_findings(claims, now=time.time() if now is None else now)
    key = reply_key(text)
    if findings:
        also = [dict(REPLY_HINTS)[key]] if key not in (None, "5.7.3") else []
        return " ".join(findings + also)
    if key == "5.7.3":
        audience = ", ".join(claims.audiences)
        return (
            # the ids are the token's own, so the usual mix-up of object ids cannot happen
            f"The token is right for Exchange Online (audience {audience}, role "
            f"{SEND_AS_APP}); Exchange lacks the app: New-ServicePrincipal -AppId {APP_ID} "
            f"-ObjectId {SERVICE_PRINCIPAL}, then Add-MailboxPermission -Identity {SENDER} "
            f"-User {SERVICE_PRINCIPAL} -AccessRights FullAccess."
        )
    return None


def _filled(hint: str | None, config: EmailConfig | None, claims: TokenClaims | None) -> str | None:
    if hint is None:
        return None
    auth = config.auth if config is not None else None
    client_id = auth.client_id if isinstance(auth, OAuth2ClientCredentials) else ""
    token = claims if claims is not None and claims.microsoft else None
    principal = token.object_id if token else ""
    user = auth.username if isinstance(auth, BasicAuth) else ""
    values = {
        SENDER: config.sender_email if config is not None else "",
        APP_ID: (token.app_id if token else "") or client_id,
        SERVICE_PRINCIPAL: principal,
        TRUSTEE: user or principal or SERVICE_PRINCIPAL,
    }
    for placeholder, value in values.items():
        if value:
            hint = hint.replace(placeholder, value)
    return hint
