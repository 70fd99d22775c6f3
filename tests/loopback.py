"""Real servers on loopback for delivery tests: SMTP (aiosmtpd, STARTTLS with trustme
certificates, AUTH that checks credentials, XOAUTH2), an OAuth 2.0 token endpoint
(http.server in a thread), fault servers, and stage configurations pointing at them.
Fixtures at the end; conftest imports them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import socket
import socketserver
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import trustme
from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword

from mailstage.mailer.capture import free_port_controller
from mailstage.store.models import App, EmailConfig, Stage, TestList

HOST = "127.0.0.1"
USERNAME = "relay-user"
PASSWORD = "correct horse battery staple"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "s3cret~value.of-the-client"
SENDER = "noreply@example.com"

# --- certificates -------------------------------------------------------------------


@dataclass
class Certificates:
    ca: trustme.CA
    ca_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("localhost", "127.0.0.1", "::1").configure_cert(context)
        return context


def make_certificates(folder: Path) -> Certificates:
    ca = trustme.CA()
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Certificates(ca, ca_file)


# --- SMTP server --------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    auth_user: str | None
    mail_options: list[str] = field(default_factory=list)

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=default_policy)  # type: ignore[return-value]


@dataclass
class SmtpBehaviour:
    """How the loopback SMTP server behaves; the defaults are a well-run relay."""

    security: str = "starttls"  # "starttls", "implicit" or "plain" (no TLS at all)
    username: str = USERNAME
    password: str = PASSWORD
    mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN", "XOAUTH2")  # AUTH mechanisms offered
    reject_with: str | None = None  # an AUTH reply such as "535 5.7.139 ..."
    google_error_challenge: bool = False
    stock_command_limit: bool = False  # aiosmtpd's stock 512-octet command line
    refuse_recipients_with: str = ""  # RCPT of an address containing this gets a 550
    data_reply: str | None = None  # answer DATA with this instead of accepting
    data_delay: float = 0.0  # seconds to wait before answering DATA (slow server)
    close_on_rset: bool = False  # RSET finds the connection closed (a server's idle timeout)
    close_after_data: bool = False  # the connection closed once DATA is answered
    mail_421_after: int = 0  # a connection that carried this many: MAIL gets 421, closed
    smtputf8: bool = True  # offer SMTPUTF8 (aiosmtpd's Controller does by default)
    # as Exchange Online: a token (issued by the endpoint) is accepted only with the
    # Exchange audience, the SMTP.SendAsApp role, and times valid by this clock
    exchange: bool = False


class RecordingHandler:
    def __init__(self, behaviour: SmtpBehaviour, valid_tokens: Callable[[], set[str]]) -> None:
        self.behaviour = behaviour
        self.valid_tokens = valid_tokens
        self.messages: list[Received] = []
        self.xoauth2_inline: list[bool] = []
        self.xoauth2_users: list[str] = []
        self.data_started = 0  # DATA commands that reached the handler
        self.logins = 0  # successful AUTHs: how many connections a client opened
        self.in_data = 0
        self.most_in_data = 0  # the most messages ever handled at the same time

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        marker = self.behaviour.refuse_recipients_with
        if marker and marker in address:
            return "550 5.1.1 <" + address + ">: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        after = self.behaviour.mail_421_after
        if after and getattr(server, "carried", 0) >= after:  # as Exchange's per-connection limit
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.7.0 Too many messages on this connection, closing it"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        if self.behaviour.close_on_rset:
            server.transport.close()
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_started += 1
        self.in_data += 1
        self.most_in_data = max(self.most_in_data, self.in_data)
        try:
            if self.behaviour.data_delay:
                await asyncio.sleep(self.behaviour.data_delay)
        finally:
            self.in_data -= 1
        if self.behaviour.data_reply:
            return self.behaviour.data_reply
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                session.auth_data if isinstance(session.auth_data, str) else None,
                list(envelope.mail_options),
            )
        )
        server.carried = getattr(server, "carried", 0) + 1
        if self.behaviour.close_after_data:  # once the reply is out
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 2.0.0 OK queued"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        if self.behaviour.reject_with:
            return AuthResult(success=False, handled=False, message=self.behaviour.reject_with)
        assert isinstance(data, LoginPassword)
        good = (data.login.decode(), data.password.decode()) == (
            self.behaviour.username,
            self.behaviour.password,
        )
        if not good:
            return AuthResult(success=False, handled=False)
        self.logins += 1
        return AuthResult(success=True, auth_data=data.login.decode())

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        self.xoauth2_inline.append(len(args) == 2)
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        else:
            blob = base64.b64decode(args[1])
        fields = dict(part.split("=", 1) for part in blob.decode().split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        self.xoauth2_users.append(user)
        if self.behaviour.reject_with:
            return AuthResult(success=False, handled=False, message=self.behaviour.reject_with)
        exchange_refuses = self.behaviour.exchange and not exchange_accepts(claims_of(token))
        if user == SENDER and token in self.valid_tokens() and not exchange_refuses:
            self.logins += 1
            return AuthResult(success=True, auth_data=user)
        if self.behaviour.google_error_challenge:
            error = json.dumps({"status": "401", "schemes": "Bearer", "scope": "mail"})
            await server.challenge_auth(error)  # the client answers with an empty line
            return AuthResult(success=False, handled=False, message="535 5.7.8 Bad credentials")
        return AuthResult(
            success=False, handled=False, message="535 5.7.3 Authentication unsuccessful"
        )


def exchange_accepts(claims: dict[str, Any]) -> bool:
    now = time.time()
    audience = str(claims.get("aud", "")).rstrip("/")
    roles = claims.get("roles") or []
    return (
        audience in {"https://outlook.office365.com", "00000002-0000-0ff1-ce00-000000000000"}
        and "SMTP.SendAsApp" in roles
        and float(claims.get("nbf", 0)) <= now + 300
        and float(claims.get("exp", now + 3600)) > now - 300
    )


class LoopbackSmtp:
    def __init__(
        self,
        behaviour: SmtpBehaviour,
        certificates: Certificates | None,
        valid_tokens: Callable[[], set[str]] = set,
    ) -> None:
        self.behaviour = behaviour
        self.handler = RecordingHandler(behaviour, valid_tokens)
        kwargs: dict[str, Any] = {
            "authenticator": self.handler.authenticate,
            "auth_required": True,
            # aiosmtpd cannot tell that an implicit TLS connection is encrypted
            "auth_require_tls": behaviour.security == "starttls",
        }
        kwargs["enable_SMTPUTF8"] = behaviour.smtputf8
        offered = set(behaviour.mechanisms)
        kwargs["auth_exclude_mechanism"] = {"PLAIN", "LOGIN", "XOAUTH2"} - offered
        if behaviour.security == "starttls":
            assert certificates is not None
            kwargs["tls_context"] = certificates.server_context()
            kwargs["require_starttls"] = True
        elif behaviour.security == "implicit":
            assert certificates is not None
            kwargs["ssl_context"] = certificates.server_context()
        self.controller = free_port_controller(self.handler, host=HOST, port=0, **kwargs)
        if behaviour.stock_command_limit:
            self._use_stock_command_limit()

    def _use_stock_command_limit(self) -> None:
        factory = self.controller.factory

        def stock_factory() -> Any:
            server = factory()
            server.command_size_limit = 512
            server.command_size_limits = defaultdict(lambda: 512)
            return server

        self.controller.factory = stock_factory

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def start(self) -> LoopbackSmtp:
        self.controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        if getattr(self, "_running", False):
            self._running = False
            self.controller.stop()


# --- OAuth 2.0 token endpoint ---------------------------------------------------------

TOKEN_PATH = "/contoso-tenant/oauth2/v2.0/token"


@dataclass
class TokenEndpoint:
    """Issues ~2 KB bearer tokens (like Entra's) to the right client id and secret.

    ``mode``: "ok", "invalid_client" (400 with AADSTS7000215), "server_error" (500),
    "invalid_json", or "hang" (never answers until the endpoint stops).
    """

    mode: str = "ok"
    expires_in: int = 3600
    # when set, tokens are JWT-shaped (header.claims.signature) with these claims,
    # asked anew for each token so times can follow the clock
    claims: Callable[[], dict[str, Any]] | None = None
    issued: set[str] = field(default_factory=set)
    requests: int = 0
    forms: list[dict[str, str]] = field(default_factory=list)  # each request's form fields
    _server: ThreadingHTTPServer | None = None
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{HOST}:{self._server.server_address[1]}{TOKEN_PATH}"

    def valid_tokens(self) -> set[str]:
        with self._lock:
            return set(self.issued)

    def start(self) -> TokenEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                endpoint._answer(self, {k: v[0] for k, v in form.items()})

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        with self._lock:
            self.requests += 1
            self.forms.append(dict(form))
        if handler.path != TOKEN_PATH:
            return self._send(handler, 404, {"error": "not_found"})
        if self.mode == "hang":
            self._release.wait()
            return None
        if self.mode == "server_error":
            return self._send(handler, 500, b"<html>Internal Server Error</html>")
        if self.mode == "invalid_json":
            return self._send(handler, 200, b"{this is not json")
        right_client = (form.get("client_id"), form.get("client_secret")) == (
            CLIENT_ID,
            CLIENT_SECRET,
        )
        if self.mode == "invalid_client" or not right_client:
            return self._send(
                handler,
                400 if self.mode == "invalid_client" else 401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. "
                    "Ensure the secret being sent in the request is the client secret value, "
                    "not the client secret ID.",
                    "error_codes": [7000215],
                    "trace_id": "trace-0f1e2d3c",
                    "correlation_id": "corr-9a8b7c6d",
                },
            )
        if form.get("grant_type") != "client_credentials":
            return self._send(handler, 400, {"error": "unsupported_grant_type"})
        if self.claims is not None:
            token = jwt_shaped(self.claims())
        else:
            token = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(1500)
        with self._lock:
            self.issued.add(token)
        return self._send(
            handler,
            200,
            {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token},
        )

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any] | bytes) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _base64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def jwt_shaped(claims: dict[str, Any]) -> str:
    """A token shaped as Entra's: header.claims.signature (the signature is random: no
    one here verifies it, as mailstage does not)."""
    header = {"typ": "JWT", "alg": "RS256", "x5t": "test-key", "kid": "test-key"}
    return f"{_base64url(header)}.{_base64url(claims)}.{secrets.token_urlsafe(256)}"


def claims_of(token: str) -> dict[str, Any]:
    """The test servers' own reading of a token's claims ({} when it is no JWT)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


# --- fault servers ----------------------------------------------------------------------


class SilentServer:
    """Accepts TCP connections (the kernel does, from the backlog) and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def stop(self) -> None:
        self.sock.close()


def refused_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class DroppingServer:
    """A plain-text SMTP server that accepts AUTH PLAIN, MAIL and RCPT, answers DATA
    with 354, then closes the connection before the message ends."""

    def __init__(self) -> None:
        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 drop.example ESMTP\r\n")
                for raw in self.rfile:
                    verb = raw.decode(errors="replace").strip().split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.wfile.write(b"250-drop.example\r\n250 AUTH PLAIN\r\n")
                    elif verb == "AUTH":
                        self.wfile.write(b"235 2.7.0 Authentication successful\r\n")
                    elif verb in {"MAIL", "RCPT"}:
                        self.wfile.write(b"250 2.1.0 OK\r\n")
                    elif verb == "DATA":
                        self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        self.rfile.readline()
                        return  # closes the connection mid-message
                    else:
                        self.wfile.write(b"221 2.0.0 Bye\r\n")
                        return

        self.server = socketserver.ThreadingTCPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- stage configurations pointing at these servers ---------------------------------------


def basic_config(port: int, *, ca_file: Any = None, **overrides: Any) -> EmailConfig:
    data: dict[str, Any] = {
        "server": HOST,
        "port": port,
        "security": "starttls",
        "ca_file": str(ca_file) if ca_file else None,
        "auth": {"type": "basic", "username": USERNAME, "password": PASSWORD},
        "sender_email": SENDER,
        "sender_name": "QA Robot",
    }
    data.update(overrides)
    return EmailConfig.model_validate(data)


def oauth_config(
    port: int, token_url: str, *, ca_file: Any = None, **overrides: Any
) -> EmailConfig:
    data: dict[str, Any] = {
        "server": HOST,
        "port": port,
        "security": "starttls",
        "ca_file": str(ca_file) if ca_file else None,
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scopes": ["https://outlook.office365.com/.default"],
        },
        "sender_email": SENDER,
    }
    data.update(overrides)
    return EmailConfig.model_validate(data)


def stage(name: str = "QA", *, production: bool = False) -> Stage:
    return Stage(name=name, production=production)


def app(
    name: str = "Shop",
    *,
    stage_name: str = "QA",
    test_list: list[str] | None = None,
    active: bool = False,
    studio: list[str] | None = None,
) -> App:
    lists = {}
    if test_list is not None:
        lists[stage_name] = TestList(addresses=test_list, active=active)
    return App(name=name, test_lists=lists, studio_list=studio or [])


# --- fixtures ---------------------------------------------------------------------------

# what `from tests.loopback import *` in conftest.py brings in: the fixtures only
__all__ = [
    "certificates",
    "untrusted_certificates",
    "token_endpoint",
    "smtp_server_factory",
    "smtp_server",
    "silent_server",
    "dropping_server",
    "fresh_token_cache",
]


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("trusted-ca"))


@pytest.fixture(scope="session")
def untrusted_certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("untrusted-ca"))


@pytest.fixture
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def smtp_server_factory(
    certificates: Certificates,
) -> Iterator[Callable[..., LoopbackSmtp]]:
    """Start a loopback SMTP server: ``smtp_server_factory(security="implicit", ...)``;
    pass ``certificates=`` to serve another CA's certificate, ``token_endpoint=`` to
    accept the tokens it issued."""
    started: list[LoopbackSmtp] = []

    def start(
        *, certs: Certificates | None = None, tokens: TokenEndpoint | None = None, **behaviour: Any
    ) -> LoopbackSmtp:
        valid_tokens = tokens.valid_tokens if tokens is not None else set
        server = LoopbackSmtp(SmtpBehaviour(**behaviour), certs or certificates, valid_tokens)
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., LoopbackSmtp]) -> LoopbackSmtp:
    """STARTTLS, AUTH PLAIN/LOGIN with USERNAME/PASSWORD."""
    return smtp_server_factory()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.stop()


@pytest.fixture
def dropping_server() -> Iterator[DroppingServer]:
    server = DroppingServer()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_token_cache() -> Iterator[None]:
    from mailstage.mailer.oauth import token_cache

    token_cache.clear()
    yield
    token_cache.clear()
