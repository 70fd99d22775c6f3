"""SMTP AUTH mechanisms, written out so the transcript can show each exchange
with the secrets replaced, and so XOAUTH2 can use the two-step form."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

from mailstage.mailer.steps import StepFailed
from mailstage.mailer.transcript import REDACTED, Transcript

if TYPE_CHECKING:
    from aiosmtplib import SMTP
    from aiosmtplib.response import SMTPResponse

# RFC 5321 §4.5.3.1.4: a command line, CRLF included, is at most 512 octets.
MAX_COMMAND_LINE = 512

AUTH_OK = 235
AUTH_CONTINUE = 334


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


async def _command(smtp: SMTP, transcript: Transcript, shown: str, *args: bytes) -> SMTPResponse:
    transcript.sent(shown)
    response = await smtp.execute_command(*args)
    transcript.received(response.code, response.message)
    return response


def _rejected(response: SMTPResponse) -> StepFailed:
    reply = f"{response.code} {response.message}"
    return StepFailed(
        f"The server rejected the login: {reply}", reply=reply, hint_key="auth_rejected"
    )


async def auth_plain(smtp: SMTP, transcript: Transcript, username: str, password: str) -> str:
    payload = _b64(b"\0" + username.encode() + b"\0" + password.encode())
    transcript.forbid(payload.decode())
    response = await _command(
        smtp, transcript, f"AUTH PLAIN {REDACTED}", b"AUTH", b"PLAIN", payload
    )
    if response.code != AUTH_OK:
        raise _rejected(response)
    return "PLAIN"


async def auth_login(smtp: SMTP, transcript: Transcript, username: str, password: str) -> str:
    encoded_password = _b64(password.encode())
    transcript.forbid(encoded_password.decode())
    response = await _command(smtp, transcript, "AUTH LOGIN", b"AUTH", b"LOGIN")
    if response.code != AUTH_CONTINUE:
        raise _rejected(response)
    encoded_user = _b64(username.encode())
    response = await _command(smtp, transcript, encoded_user.decode(), encoded_user)
    if response.code != AUTH_CONTINUE:
        raise _rejected(response)
    response = await _command(smtp, transcript, REDACTED, encoded_password)
    if response.code != AUTH_OK:
        raise _rejected(response)
    return "LOGIN"


def xoauth2_initial_response(user: str, token: str) -> bytes:
    return _b64(f"user={user}\x01auth=Bearer {token}\x01\x01".encode())


async def auth_xoauth2(smtp: SMTP, transcript: Transcript, user: str, token: str) -> str:
    payload = xoauth2_initial_response(user, token)
    transcript.forbid(payload.decode())
    inline_length = len(b"AUTH XOAUTH2 ") + len(payload) + 2
    if inline_length <= MAX_COMMAND_LINE:
        response = await _command(
            smtp, transcript, f"AUTH XOAUTH2 {REDACTED}", b"AUTH", b"XOAUTH2", payload
        )
        form = "XOAUTH2"
    else:
        # RFC 4954 §4: a response too long for the command line goes after the 334
        response = await _command(smtp, transcript, "AUTH XOAUTH2", b"AUTH", b"XOAUTH2")
        if response.code != AUTH_CONTINUE:
            raise _rejected(response)
        response = await _command(smtp, transcript, REDACTED, payload)
        form = "XOAUTH2 (initial response after 334)"
    if response.code == AUTH_CONTINUE:
        # the server's error challenge (base64 JSON, as Google sends): an empty line
        # ends the exchange and brings the final reply
        transcript.note(f"server error challenge: {decode_error_challenge(response.message)}")
        response = await _command(smtp, transcript, "", b"")
    if response.code != AUTH_OK:
        raise _rejected(response)
    return form


def decode_error_challenge(text: str) -> str:
    try:
        decoded = base64.b64decode(text.strip(), validate=True).decode()
        return json.dumps(json.loads(decoded), sort_keys=True)
    except ValueError:
        return text.strip()
