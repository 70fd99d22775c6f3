"""What the relay repeats of an upstream server's reply, to the app, on stderr and in
the email log: one text for all three.

The SMTP code and the enhanced code are kept (the app decides on them: 5xx is for good,
4xx is for later); the words are hidden whole when they repeat a secret of the
conversation (masking only the secret would show its length and what surrounds it);
control characters are shown as escapes (``\\x1b``, ``\\r``), and so is anything beyond
ASCII, since an SMTP reply line is ASCII.
"""

from __future__ import annotations

import re

from mailstage.mailer.transcript import HIDDEN_TEXT, Transcript
from mailstage.store.text import visible

REPLY_LIMIT = 400
_CODES = re.compile(r"([2-5][0-9][0-9])(?:[ -]([2-5]\.[0-9]{1,3}\.[0-9]{1,3})(?= |$))?[ -]?")


def reply_line(text: str) -> str:
    """One line safe for an SMTP reply, a terminal and a log: the lines of a multi-line
    reply joined by spaces, unsafe characters as escapes, printable ASCII, bounded."""
    joined = " ".join(visible(line) for line in text.replace("\r\n", "\n").split("\n"))
    printable = joined.encode("ascii", "backslashreplace").decode("ascii")
    return " ".join(part for part in printable.split(" ") if part)[:REPLY_LIMIT]


def upstream_line(raw: str, transcript: Transcript) -> str:
    """An upstream reply (``550 5.7.1 words``) as the relay repeats it: the codes as
    the server gave them, the words shown safely or hidden if they repeat a secret."""
    match = _CODES.match(raw)
    codes = [match.group(1), match.group(2) or ""] if match else []
    if codes and transcript.contains_secret(" ".join(codes)):
        codes = []  # a secret that looks like a code: nothing of it is repeated
    words = raw[match.end() :] if match and codes else raw
    if transcript.contains_secret(raw) or transcript.contains_secret(" ".join(raw.split())):
        words = HIDDEN_TEXT
    return " ".join(part for part in (*codes, reply_line(words)) if part)


def failure_text(message: str, raw_reply: str, transcript: Transcript) -> str:
    """A step's failure sentence (``The server answered 535 ...``) with the reply in it
    shown like upstream_line shows it: a repeated secret hides the reply's words, not
    the whole sentence, the step or the codes."""
    if raw_reply and raw_reply in message:
        message = message.replace(raw_reply, upstream_line(raw_reply, transcript))
    return transcript.clean(message)
