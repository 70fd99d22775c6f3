"""What to do about the failures admins meet most, keyed by what identifies them."""

from __future__ import annotations

import re

# Searched in order in the failure text (server reply, token error, exception);
# the first key found wins, so the more specific keys come first.
REPLY_HINTS: list[tuple[str, str]] = [
    (
        "5.7.139",
        "SMTP AUTH is disabled for the tenant or the mailbox. Enable it with "
        "Set-CASMailbox -Identity <sender> -SmtpClientAuthenticationDisabled $false "
        "(or turn it on in the Microsoft 365 admin center).",
    ),
    (
        "5.7.3",
        "The token was accepted but the app may not send as this mailbox: register the "
        "service principal with New-ServicePrincipal using the Enterprise Application's "
        "object id (not the App Registration's), grant Add-MailboxPermission -AccessRights "
        "FullAccess on the sender mailbox, and make sure SMTP.SendAsApp has admin consent.",
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


def hint_for(text: str, condition: str = "") -> str | None:
    """The hint for a failure: a known reply code in the text first, then the condition."""
    words = {word.strip(".") for word in _WORD.findall(text)}
    for key, hint in REPLY_HINTS:
        if key in words:
            return hint
    return CONDITION_HINTS.get(condition)
