"""One SMTP conversation driven step by step, so each step can be timed and a
failure names the step, the server's reply and a hint.

TLS policy: STARTTLS is required (implicit TLS for security='implicit'); plain
text only to a loopback host; AUTH is never sent before TLS except there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import SMTPUTF8 as SMTPUTF8_POLICY
from typing import TYPE_CHECKING, cast

from pydantic import SecretStr

from mailstage.mailer import smtp_auth
from mailstage.mailer.deadline import Deadline, in_daemon_thread
from mailstage.mailer.intl_addresses import NeedsSmtpUtf8, ascii_address_headers, plan_envelope
from mailstage.mailer.loopback import (
    addresses_of,
    all_loopback,
    is_loopback_address,
    not_loopback_sentence,
)
from mailstage.mailer.smtp_data import NotHandedOver, send_data
from mailstage.mailer.steps import StepFailed
from mailstage.mailer.tls import client_context, describe_tls, is_certificate_error
from mailstage.mailer.transcript import Transcript
from mailstage.store.models import BasicAuth, EmailConfig

if TYPE_CHECKING:
    import ssl

    from aiosmtplib import SMTP
    from aiosmtplib.response import SMTPResponse

    from mailstage.mailer.jwt_claims import TokenClaims

_local_hostname: str | None = None


async def local_hostname() -> str:
    """The name sent with EHLO, looked up once per process (getfqdn can be slow: after
    2 s, or if it gives no plain ASCII name, "localhost")."""
    global _local_hostname
    if _local_hostname is None:
        try:
            # a daemon thread, not asyncio.to_thread: a hanging resolver must not hold exit
            name = await in_daemon_thread(socket.getfqdn, deadline=Deadline(2.0))
        except TimeoutError:
            name = ""
        _local_hostname = name if name and name.isascii() and " " not in name else "localhost"
    return _local_hostname


class SmtpSession:
    def __init__(self, config: EmailConfig, *, timeout: float, transcript: Transcript) -> None:
        self.config = config
        self.timeout = timeout
        self.transcript = transcript
        # decided on addresses (resolve, then the peer actually connected to), never on
        # the name: evil.localhost may resolve anywhere
        self.plaintext_allowed = False
        self._resolved_loopback = False
        self._addresses: list[tuple[int, int, int, tuple[object, ...]]] = []
        self._sock: socket.socket | None = None
        self._smtp: SMTP | None = None
        self._greeting: SMTPResponse | None = None
        self._greeting_error: BaseException | None = None
        self._tls = ""
        # the claims of the access token this session logged in with (upstream_login
        # sets them): what hints read, never the token itself
        self.token_claims: TokenClaims | None = None

    # -- steps ---------------------------------------------------------------

    async def resolve(self) -> str:
        host, port = self.config.server, self.config.port
        literal = _ip_literal(host)
        if literal is not None:  # nothing to look up: skip the resolver thread
            family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
            self._addresses = [(family, socket.SOCK_STREAM, 0, (str(literal), port))]
            self._resolved_loopback = is_loopback_address(str(literal))
            return f"{literal} (an address, nothing to resolve)"
        try:
            # loop.getaddrinfo would use the default executor, whose threads the
            # interpreter waits for at exit: a resolver that hangs would hold the process
            infos = await in_daemon_thread(
                lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM),
                deadline=Deadline(self.timeout),
            )
        except TimeoutError:
            raise self._timed_out(f"resolving {host}") from None
        except UnicodeError:
            raise StepFailed(f"{host} is not a valid DNS name.", hint_key="resolve") from None
        except socket.gaierror as exc:
            raise StepFailed(
                f"The name {host} does not resolve: {exc.strerror}.", hint_key="resolve"
            ) from None
        self._addresses = [
            (family, kind, proto, address) for family, kind, proto, _, address in infos
        ]
        addresses = addresses_of(self._addresses)
        self._resolved_loopback = all_loopback(addresses)
        return ", ".join(addresses)

    async def connect(self) -> str:
        loop = asyncio.get_running_loop()
        last_error: OSError | None = None
        for family, kind, proto, address in self._addresses:
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            try:
                await asyncio.wait_for(loop.sock_connect(sock, address), self.timeout)
            except TimeoutError:
                sock.close()
                raise self._timed_out(f"connecting to {address[0]} port {address[1]}") from None
            except OSError as exc:
                sock.close()
                last_error = exc
                continue
            except BaseException:
                sock.close()
                raise
            self._sock = sock
            peer = str(sock.getpeername()[0])
            self.plaintext_allowed = self._resolved_loopback and is_loopback_address(peer)
            return f"connected to {address[0]} port {address[1]}"
        where = f"{self.config.server} port {self.config.port}"
        if isinstance(last_error, ConnectionRefusedError):
            raise StepFailed(f"The connection to {where} was refused.", hint_key="refused")
        raise StepFailed(f"Could not connect to {where}: {last_error}.", hint_key="refused")

    @property
    def tls(self) -> str:
        """The TLS version and cipher in use, or "" when the session is plain text."""
        return self._tls

    async def implicit_tls(self) -> str:
        """Security 'implicit': the TLS handshake, which also receives the greeting."""
        from aiosmtplib import SMTPConnectResponseError, SMTPConnectTimeoutError

        smtp = await self._client(use_tls=True, tls_context=self._tls_context())
        try:
            self._greeting = await smtp.connect()
        except (SMTPConnectResponseError, SMTPConnectTimeoutError) as exc:
            if isinstance(exc, SMTPConnectResponseError) or "ready message" in str(exc):
                self._greeting_error = exc  # the handshake worked: the banner step reports it
            else:
                raise self._failure(exc, "the TLS handshake") from None
        except Exception as exc:
            raise self._failure(exc, "the TLS handshake") from None
        if self._greeting_error is None:
            self._tls = describe_tls(smtp.get_transport_info("ssl_object"))
        self.transcript.note(f"TLS started: {self._tls or 'handshake done'}")
        return self._tls

    async def banner(self) -> str:
        if self.config.security == "starttls":
            smtp = await self._client(use_tls=False)
            try:
                self._greeting = await smtp.connect()
            except Exception as exc:
                raise self._failure(exc, "the server's greeting") from None
        elif self._greeting_error is not None:
            raise self._failure(self._greeting_error, "the server's greeting")
        assert self._greeting is not None
        self.transcript.received(self._greeting.code, self._greeting.message)
        return f"{self._greeting.code} {self._greeting.message}".splitlines()[0]

    async def ehlo(self) -> str:
        response = await self._ehlo()
        names = [line.split()[0].upper() for line in response.message.splitlines()[1:] if line]
        return "offers " + ", ".join(names) if names else "no extensions offered"

    async def starttls(self) -> str:
        smtp = self._require_client()
        if not smtp.supports_extension("starttls"):
            if self.plaintext_allowed:
                self.transcript.note("no STARTTLS offered: plain text, allowed to a loopback host")
                return "not offered; plain text to a loopback host"
            message = f"The server {self.config.server} does not offer STARTTLS."
            if self.config.is_loopback:  # a loopback-looking name that is not loopback
                message += " " + self._not_loopback("the password or token")
            raise StepFailed(message, hint_key="no_starttls")
        context = self._tls_context()
        self.transcript.sent("STARTTLS")
        try:
            response = await smtp.starttls(tls_context=context, server_hostname=self.config.server)
        except Exception as exc:
            raise self._failure(exc, "STARTTLS") from None
        self.transcript.received(response.code, response.message)
        self._tls = describe_tls(smtp.get_transport_info("ssl_object"))
        self.transcript.note(f"TLS started: {self._tls}")
        await self._ehlo()
        return self._tls

    async def authenticate(self, token: SecretStr | None = None) -> str:
        smtp = self._require_client()
        if not self._tls and not self.plaintext_allowed:
            raise StepFailed(
                "mailstage does not send credentials before TLS. "
                + self._not_loopback("credentials"),
                hint_key="no_starttls",
            )
        offered = [method.upper() for method in smtp.server_auth_methods]
        offered_text = " ".join(offered) or "none"
        auth = self.config.auth
        try:
            if isinstance(auth, BasicAuth):
                password = auth.password.get_secret_value()
                self.transcript.forbid(password)
                if "PLAIN" in offered:
                    used = await smtp_auth.auth_plain(
                        smtp, self.transcript, auth.username, password
                    )
                elif "LOGIN" in offered:
                    used = await smtp_auth.auth_login(
                        smtp, self.transcript, auth.username, password
                    )
                else:
                    raise StepFailed(
                        "The server offers no PLAIN or LOGIN authentication "
                        f"(offered: {offered_text}).",
                        hint_key="no_auth",
                    )
                return f"{used} as {auth.username}"
            if "XOAUTH2" not in offered:
                raise StepFailed(
                    f"The server does not offer XOAUTH2 (offered: {offered_text}).",
                    hint_key="no_xoauth2",
                )
            assert token is not None
            used = await smtp_auth.auth_xoauth2(
                smtp, self.transcript, self.config.sender_email, token.get_secret_value()
            )
            return f"{used} as {self.config.sender_email}"
        except StepFailed:
            raise
        except Exception as exc:
            raise self._failure(exc, "AUTH") from None

    async def send(
        self,
        message: EmailMessage | bytes,
        recipients: list[str],
        *,
        mail_options: Sequence[str] = (),
        refused: dict[str, str] | None = None,
        deadline: Deadline | None = None,
        final_reply_seconds: float | None = None,
    ) -> str:
        """One transaction: MAIL, RCPT for each recipient, DATA. ``message`` as bytes is
        sent as it is (the relay's prepared message); ``mail_options`` go on MAIL FROM
        too (SMTPUTF8, BODY=8BITMIME) and must be extensions the server offered.

        With ``refused`` (the relay's queue), a recipient the server refuses at RCPT is
        put there with the server's reply and the others still get the message; when
        every recipient is refused, nothing is sent and the last refusal is raised.
        ``deadline`` bounds everything before the message itself; the reply to the final
        dot is awaited ``final_reply_seconds`` (RFC 5321 4.5.3.2.6: 10 minutes). No
        reply by then raises StepFailed with hint_key "outcome_unknown": the server may
        have taken the message."""
        smtp = self._require_client()

        def step_timeout(doing: str) -> float:
            if deadline is None:
                return self.timeout
            if deadline.expired:
                raise StepFailed(deadline.sentence(doing), hint_key="timeout")
            return min(self.timeout, deadline.remaining())

        try:
            envelope = plan_envelope(
                self.config.sender_email,
                recipients,
                smtputf8_offered=smtp.supports_extension("smtputf8"),
            )
        except NeedsSmtpUtf8 as exc:  # before MAIL FROM: nothing is sent to anyone
            self.transcript.note("no SMTPUTF8 offered: " + exc.message)
            raise StepFailed(exc.message, hint_key="smtputf8") from None
        options = envelope.mail_options + [
            o for o in mail_options if o not in envelope.mail_options
        ]
        encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
        from aiosmtplib import SMTPRecipientRefused, SMTPSenderRefused

        try:
            mail_from = f"MAIL FROM:<{envelope.sender}>" + "".join(f" {o}" for o in options)
            await self._exchange(
                mail_from,
                _command(
                    smtp,
                    mail_from.encode(encoding),
                    refused=SMTPSenderRefused,
                    address=envelope.sender,
                    timeout=step_timeout("sending MAIL FROM"),
                ),
            )
            for asked, recipient in zip(recipients, envelope.recipients, strict=True):
                try:
                    rcpt_to = f"RCPT TO:<{recipient}>"
                    await self._exchange(
                        rcpt_to,
                        _command(
                            smtp,
                            rcpt_to.encode(encoding),
                            refused=SMTPRecipientRefused,
                            address=recipient,
                            timeout=step_timeout("sending RCPT TO"),
                        ),
                    )
                except StepFailed as failure:
                    if refused is None or not failure.reply:
                        raise
                    refused[asked] = failure.reply
                    if len(refused) == len(recipients):
                        raise
            if isinstance(message, bytes):
                data = message  # the relay's prepared message goes as the app wrote it
            elif envelope.smtputf8:
                data = message.as_bytes(policy=SMTPUTF8_POLICY)
            else:
                ascii_address_headers(message)
                data = message.as_bytes(policy=SMTP_POLICY)
            self.transcript.sent("DATA")
            self.transcript.note(f"message of {len(data)} bytes")
            final_wait = final_reply_seconds or self.timeout
            try:
                if isinstance(message, bytes):
                    response = await send_data(smtp, data, timeout=final_wait)
                else:
                    response = await smtp.data(data, timeout=final_wait)
            except NotHandedOver as cut_short:  # the server never saw the end: not sent
                raise self._failure(cut_short.cause, "sending the message") from None
            except Exception as exc:
                lost = self._failure(exc, "sending the message")
                if lost.reply or lost.hint_key not in ("timeout", "disconnected"):
                    raise lost from None
                raise StepFailed(
                    f"{lost.message} The message was handed over in full and no reply to "
                    f"its end came within {final_wait:g} s",
                    hint_key="outcome_unknown",
                ) from None
        except StepFailed as failure:
            if deadline is not None and deadline.expired and failure.hint_key == "timeout":
                raise StepFailed(
                    deadline.sentence("sending the envelope"), hint_key="timeout"
                ) from None
            raise
        except Exception as exc:
            raise self._failure(exc, "sending the message") from None
        self.transcript.received(response.code, response.message)
        # split on the reply's own line breaks only: a bare CR inside a line is shown later
        return f"{response.code} {response.message}".split("\n")[0]

    async def reset(self) -> None:
        """RSET: before a connection carries its next message (the relay's pool). Raises
        StepFailed when the server has closed the connection meanwhile."""
        await self._exchange("RSET", self._require_client().rset())

    def offers(self, extension: str) -> bool:
        """True when the server's EHLO offered the extension (SMTPUTF8, 8BITMIME, ...)."""
        return self._smtp is not None and self._smtp.supports_extension(extension)

    @property
    def connected(self) -> bool:
        """False once the server has closed the connection (seen without any I/O)."""
        return self._smtp is not None and self._smtp.is_connected

    async def quit(self) -> str:
        smtp = self._require_client()
        self.transcript.sent("QUIT")
        try:
            response = await smtp.quit()
        except Exception:
            self.transcript.note("no answer to QUIT")
            return "no answer to QUIT (nothing is lost: the server had already answered)"
        self.transcript.received(response.code, response.message)
        return f"{response.code} {response.message}".splitlines()[0]

    def close(self) -> None:
        if self._smtp is not None:
            # the socket belongs to the client's transport now, which closes it once
            # any TLS shutdown is done; closing it here too would free the descriptor
            # while the event loop still watches it
            self._smtp.close()
        elif self._sock is not None:
            self._sock.close()

    # -- helpers -------------------------------------------------------------

    async def _client(self, *, use_tls: bool, tls_context: ssl.SSLContext | None = None) -> SMTP:
        from aiosmtplib import SMTP

        assert self._sock is not None
        self._smtp = SMTP(
            hostname=self.config.server,
            sock=self._sock,
            local_hostname=await local_hostname(),
            timeout=self.timeout,
            use_tls=use_tls,
            start_tls=False,
            tls_context=tls_context,
        )
        return self._smtp

    def _require_client(self) -> SMTP:
        assert self._smtp is not None, "connect first"
        return self._smtp

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return client_context(self.config.ca_file)
        except (OSError, ValueError) as exc:
            raise StepFailed(str(exc), hint_key="certificate") from None

    async def _ehlo(self) -> SMTPResponse:
        smtp = self._require_client()
        name = await local_hostname()
        return await self._exchange(f"EHLO {name}", smtp.ehlo(hostname=name))

    async def _exchange(self, shown: str, command: object) -> SMTPResponse:
        self.transcript.sent(shown)
        try:
            response = await command  # type: ignore[misc]
        except Exception as exc:
            code, text = getattr(exc, "code", None), getattr(exc, "message", None)
            if isinstance(code, int) and isinstance(text, str):
                self.transcript.received(code, text)
            raise self._failure(exc, shown.split()[0]) from None
        self.transcript.received(response.code, response.message)
        return cast("SMTPResponse", response)

    def _not_loopback(self, what: str) -> str:
        return not_loopback_sentence(self.config.server, addresses_of(self._addresses), what)

    def _timed_out(self, doing: str) -> StepFailed:
        return StepFailed(f"No answer within {self.timeout:g} s while {doing}.", hint_key="timeout")

    def _failure(self, exc: BaseException, doing: str) -> StepFailed:
        """Turn what aiosmtplib or the socket raised into what the user needs to read."""
        from aiosmtplib import SMTPResponseException, SMTPServerDisconnected

        if isinstance(exc, StepFailed):
            return exc
        if is_certificate_error(exc):
            reason = _ssl_reason(exc)
            return StepFailed(
                f"The certificate of {self.config.server} is not trusted: {reason}.",
                hint_key="certificate",
            )
        if _is_ssl_error(exc):
            return StepFailed(
                f"The TLS handshake with {self.config.server} failed: {_ssl_reason(exc)}.",
                hint_key="tls_handshake",
            )
        if isinstance(exc, SMTPResponseException):
            reply = f"{exc.code} {exc.message}"
            self.transcript.note(f"{doing} failed: {reply}")
            return StepFailed(f"The server answered {reply}", reply=reply)
        if isinstance(exc, TimeoutError):
            return self._timed_out(f"waiting for {doing}")
        if isinstance(exc, SMTPServerDisconnected | ConnectionError):
            self.transcript.note("the server closed the connection")
            return StepFailed(
                f"The server closed the connection during {doing}.", hint_key="disconnected"
            )
        return StepFailed(f"{doing} failed: {exc}")


async def _command(
    smtp: SMTP,
    line: bytes,
    *,
    refused: Callable[[int, str, str], Exception],
    address: str,
    timeout: float,
) -> SMTPResponse:
    """MAIL FROM or RCPT TO as the transcript shows it: the address exactly as it was
    checked, between angle brackets (aiosmtplib's mail() and rcpt() parse it again, the
    way email.utils reads a header, and can send another address than the one checked).
    A reply other than 250 (or 251 to RCPT) raises ``refused``, as aiosmtplib would."""
    await smtp._ehlo_or_helo_if_needed()
    response = await smtp.execute_command(line, timeout=timeout)
    if response.code not in (250, 251) or (response.code == 251 and line[:4] == b"MAIL"):
        raise refused(response.code, response.message, address)
    return response


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_ssl_error(exc: BaseException | None) -> bool:
    import ssl

    while exc is not None:
        if isinstance(exc, ssl.SSLError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _ssl_reason(exc: BaseException | None) -> str:
    import ssl

    while exc is not None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc.verify_message or str(exc)
        if isinstance(exc, ssl.SSLError):
            return exc.reason or str(exc)
        exc = exc.__cause__ or exc.__context__
    return "certificate verification failed"
