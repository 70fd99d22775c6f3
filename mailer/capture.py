"""The capture server (`mailstage sink`): a catch-all SMTP server on loopback that
accepts any login and keeps every message as an .eml file in a folder."""

from __future__ import annotations

import base64
import logging
import os
import threading
import uuid
from collections import defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from mailstage.mailer.loopback import addresses_of, all_loopback, resolve
from mailstage.store.errors import InvalidInput
from mailstage.store.paths import ensure_private_dir
from mailstage.store.text import visible
from mailstage.store.validation import is_loopback_host

log = logging.getLogger("mailstage.capture")

# Long enough for an XOAUTH2 line with a real Entra token (1.5-2.5 KB of base64).
COMMAND_SIZE_LIMIT = 16384
# a client sending more than this without a line break is cut off
MAX_UNBROKEN_LINE = 4 * COMMAND_SIZE_LIMIT
# the sink's bounds: a message at most this big, at most this many clients at once; so it
# never holds more than about 2 x size x connections of mail in memory
DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 4
# a client silent this long between commands is disconnected (aiosmtpd's default is 300 s):
# idle clients cannot hold the few connection slots for long
DEFAULT_IDLE_SECONDS = 60.0
ENVELOPE_FROM = "X-Mailstage-Envelope-From"
ENVELOPE_TO = "X-Mailstage-Envelope-To"
CERT_FILE_NAME = "capture-server-cert.pem"


def default_folder() -> Path:
    from platformdirs import user_data_path

    return user_data_path("mailstage") / "captured"


def private_folder(path: Path) -> Path:
    """Create the folder (and missing parents) mode 0700, whatever the umask."""
    ensure_private_dir(path)
    return path


def free_port_controller(
    handler: Any, *, host: str, port: int, max_connections: int | None = None, **smtp_kwargs: Any
) -> Any:
    """An aiosmtpd Controller whose server class takes long command lines, and which
    binds port 0 to a free port (read it back from ``.port`` after ``start()``).

    Memory stays bounded: with ``max_connections`` a connection beyond that many is
    answered 421 and closed, and a client that sends more than MAX_UNBROKEN_LINE bytes
    without a line break is cut off (aiosmtpd would keep such a line's fragments).
    With ``data_size_limit`` (aiosmtpd's own) each message holds at most that much."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    active = [0]  # connections being served by this controller (its loop thread only)

    class LongLineSMTP(SMTP):
        command_size_limit = COMMAND_SIZE_LIMIT
        line_length_limit = COMMAND_SIZE_LIMIT
        _counted = False
        _unbroken = 0

        def connection_made(self, transport: Any) -> None:
            if max_connections is not None and active[0] >= max_connections:
                transport.write(b"421 4.3.2 Too many connections; try again later\r\n")
                transport.close()
                return
            active[0] += 1
            self._counted = True
            super().connection_made(transport)

        def connection_lost(self, error: Exception | None) -> None:
            if not self._counted:
                return
            self._counted = False
            active[0] -= 1
            super().connection_lost(error)

        def eof_received(self) -> bool | None:
            return super().eof_received() if self._counted else False

        def data_received(self, data: bytes) -> None:
            if not self._counted:
                return
            newline = data.rfind(b"\n")
            if newline >= 0:
                self._unbroken = len(data) - newline - 1
            else:
                self._unbroken += len(data)
            if self._unbroken > MAX_UNBROKEN_LINE:
                transport: Any = self.transport
                transport.write(b"500 5.5.2 Line too long; closing\r\n")
                transport.close()
                return
            super().data_received(data)

    class FreePortController(Controller):
        def factory(self) -> SMTP:
            server = LongLineSMTP(self.handler, **self.SMTP_kwargs)
            # aiosmtpd keeps the per-command limits in a class-wide dict defaulting to
            # its stock 512: give each server its own
            server.command_size_limits = defaultdict(lambda: COMMAND_SIZE_LIMIT)
            return server

        def _create_server(self) -> Awaitable[Any]:
            return self._bind()

        async def _bind(self) -> Any:
            server = await self.loop.create_server(
                self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context
            )
            self.port = server.sockets[0].getsockname()[1]
            return server

    smtp_kwargs.setdefault("server_hostname", "localhost")
    return FreePortController(handler, hostname=host, port=port, **smtp_kwargs)


class CaptureHandler:
    """Accepts every message and every login; writes one .eml file per message."""

    def __init__(self, folder: Path, on_message: Any = None) -> None:
        self.folder = folder
        self.on_message = on_message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        header = (
            f"{ENVELOPE_FROM}: {_one_line(envelope.mail_from)}\r\n"
            f"{ENVELOPE_TO}: {_one_line(', '.join(envelope.rcpt_tos))}\r\n"
        ).encode("utf-8", "replace")
        path = self._new_path()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(header)
            file.write(content)  # not header + content: no second copy of a large message
        log.info(
            "captured %s from %s to %s",
            path.name,
            visible(envelope.mail_from),
            visible(", ".join(envelope.rcpt_tos)),
        )
        if self.on_message is not None:
            self.on_message(path)
        return "250 2.0.0 OK: captured"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:
        from aiosmtpd.smtp import MISSING, AuthResult

        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=False)
        else:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except ValueError:
                return AuthResult(success=False, handled=False, message="501 5.5.2 Bad base64")
        user = blob.split(b"\x01", 1)[0].removeprefix(b"user=").decode("utf-8", "replace")
        log.info("AUTH XOAUTH2 accepted for user %s", visible(user))
        return AuthResult(success=True, auth_data=user)

    def _new_path(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"


def _accept_any_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    login = getattr(data, "login", b"")
    user = login.decode("utf-8", "replace") if isinstance(login, bytes) else str(login)
    log.info("AUTH %s accepted for user %s", mechanism, visible(user))  # never the password
    return AuthResult(success=True, auth_data=user)


class _AiosmtpdLogFilter(logging.Filter):
    # aiosmtpd 1.4 warns "Session.login_data is deprecated" from its own code on every
    # successful AUTH; the sink would print it for each message
    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


def _filter_aiosmtpd_log() -> None:
    logger = logging.getLogger("mail.log")
    if not any(isinstance(f, _AiosmtpdLogFilter) for f in logger.filters):
        logger.addFilter(_AiosmtpdLogFilter())


def _one_line(text: str) -> str:
    # a header value: one line, whatever the client sent
    return visible(" ".join(str(text).split()))


def _listens_on_loopback_only(host: str, port: int) -> bool:
    """Every address the host resolves to is loopback (a name proves nothing)."""
    if not is_loopback_host(host):
        return False
    try:
        return all_loopback(addresses_of(resolve(host, port)))
    except (OSError, UnicodeError):
        return False


class CaptureServer:
    """Start and stop in-process: ``CaptureServer("127.0.0.1", 0, folder).start()``;
    ``.port`` is the port bound. Refuses a host that is not loopback."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 2525,
        folder: Path | None = None,
        *,
        tls: bool = False,
        on_message: Any = None,
        max_size: int = DEFAULT_MAX_SIZE,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
    ) -> None:
        if not _listens_on_loopback_only(host, port):
            raise InvalidInput(
                f"The capture server listens on loopback only (127.0.0.1, ::1, localhost), "
                f"not on {visible(host)}: it accepts any login and keeps every message.",
                [("host", "must be a loopback address")],
            )
        self.host = host
        self.port = port
        self.folder = private_folder(Path(folder) if folder else default_folder())
        self.tls = tls
        self.max_size = max_size
        self.max_connections = max_connections
        self.idle_seconds = idle_seconds
        self.cert_file: Path | None = None
        self._handler = CaptureHandler(self.folder, on_message)
        self._controller: Any = None
        self._lock = threading.Lock()

    def start(self) -> CaptureServer:
        from mailstage.mailer.selfsigned import self_signed_pem, server_context

        _filter_aiosmtpd_log()

        kwargs: dict[str, Any] = {
            "authenticator": _accept_any_login,
            "auth_require_tls": False,
            "decode_data": False,
            "data_size_limit": self.max_size,
            "timeout": self.idle_seconds,
            "enable_SMTPUTF8": True,  # international addresses are captured as sent
        }
        if self.tls:
            cert_pem, key_pem = self_signed_pem(["localhost", "127.0.0.1", "::1"])
            self.cert_file = self.folder / CERT_FILE_NAME
            self.cert_file.unlink(missing_ok=True)
            self.cert_file.write_bytes(cert_pem)  # public: clients may trust it with --ca-file
            kwargs["tls_context"] = server_context(cert_pem, key_pem)
        controller = free_port_controller(
            self._handler,
            host=self.host,
            port=self.port,
            max_connections=self.max_connections,
            **kwargs,
        )
        try:
            controller.start()
        except OSError as exc:
            raise InvalidInput(
                f"Cannot listen on {self.host} port {self.port}: {exc.strerror or exc}.",
                [("port", "is not available")],
            ) from None
        with self._lock:
            self._controller = controller
            self.port = controller.port
        return self

    def stop(self) -> None:
        with self._lock:
            controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> CaptureServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass(frozen=True)
class CapturedMail:
    path: Path
    sender: str
    recipients: list[str]
    subject: str
    date: datetime | None


def list_captured(folder: Path | None = None) -> list[CapturedMail]:
    """The captured messages in the folder, newest first."""
    folder = Path(folder) if folder else default_folder()
    if not folder.is_dir():
        return []
    parser = BytesParser(policy=default_policy)
    mails = []
    for path in folder.glob("*.eml"):
        try:
            with path.open("rb") as file:
                headers = parser.parse(file, headersonly=True)
        except OSError:
            continue
        mails.append(_summary(path, headers))
    return sorted(mails, key=lambda mail: mail.path.name, reverse=True)


def _summary(path: Path, headers: Any) -> CapturedMail:
    sender = str(headers.get(ENVELOPE_FROM) or headers.get("From") or "")
    envelope_to = headers.get(ENVELOPE_TO)
    if envelope_to:
        recipients = [part.strip() for part in str(envelope_to).split(",") if part.strip()]
    else:
        values = [str(v) for name in ("To", "Cc") for v in headers.get_all(name, [])]
        recipients = [address for _, address in getaddresses(values) if address]
    try:
        date = parsedate_to_datetime(str(headers["Date"])) if headers["Date"] else None
    except (TypeError, ValueError):
        date = None
    return CapturedMail(path, sender, recipients, str(headers.get("Subject") or ""), date)
