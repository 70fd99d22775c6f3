"""The floor for the one-shot commands: a stand-alone script (no mailstage import) that
opens the same store file with `cryptography` and prints what `mailstage email show
STAGE` or `mailstage stage list` prints for it (bench_startup.py checks the text is the
same). It skips what mailstage adds on top: permission checks, the rollback record,
argparse, error sentences, control characters made visible.

AESGCM comes from cryptography's Rust bindings, as mailstage takes it (store/aead.py):
the public `cryptography.hazmat.primitives.ciphers.aead` costs ~7 ms more to import
for the same class. ``--public-import`` takes that one instead (printed for reference).

    python bench/startup_floor.py STORE KEY_FILE email-show STAGE [--public-import]
    python bench/startup_floor.py STORE KEY_FILE stage-list [--public-import]
"""

import base64
import json
import sys
from datetime import UTC, datetime

if "--public-import" in sys.argv:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
else:
    from cryptography.hazmat.bindings._rust import openssl

    AESGCM = openssl.aead.AESGCM

MAGIC = b"mailstage-store\x00"
AUTH = {"oauth2_client_credentials": "OAuth 2.0 - client credentials", "basic": "Basic"}
SECURITY = {"starttls": "STARTTLS", "implicit": "implicit TLS"}


def core(store: str, key_file: str) -> dict:
    with open(store, "rb") as handle:
        fixed = handle.read(len(MAGIC) + 4)
        size = int.from_bytes(fixed[len(MAGIC) :], "big")
        body = handle.read(size)
        header = json.loads(body)
        _, nonce, length = header["sections"][0]
        ciphertext = handle.read(length)
    with open(key_file, "rb") as handle:
        kek = handle.read()
    wrap = next(w for w in header["wraps"] if w["kind"] == "keyfile")
    data_key = AESGCM(kek).decrypt(
        base64.b64decode(wrap["nonce"]),
        base64.b64decode(wrap["wrapped"]),
        b"mailstage-wrap-v1:keyfile",
    )
    plain = AESGCM(data_key).decrypt(base64.b64decode(nonce), ciphertext, fixed + body)
    return json.loads(plain)


def stages(data: dict) -> list:
    return sorted(data["stages"], key=lambda s: (s.get("order", 0), s["name"].casefold()))


def table(headers: list, rows: list) -> str:
    cells = [headers, *rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def stage_list(data: dict) -> str:
    rows = []
    for s in stages(data):
        email = s.get("email")
        rows.append(
            [
                s["name"] + (" (production)" if s.get("production") else ""),
                f"{email['server']}:{email['port']}" if email else "not configured",
                AUTH[email["auth"]["type"]] if email else "",
                email["sender_email"] if email else "",
            ]
        )
    return table(["stage", "server", "auth", "sender"], rows)


def email_show(data: dict, name: str) -> str:
    stage = next(s for s in stages(data) if s["name"].casefold() == name.casefold())
    email = stage.get("email")
    if email is None:
        return (
            f"{stage['name']}: not configured. Set it with: mailstage email set "
            f"{stage['name']} --server HOST --auth basic|oauth2 ..."
        )
    auth = email["auth"]
    items = [
        ("Stage", stage["name"] + (" (production)" if stage.get("production") else "")),
        ("SMTP server", email["server"]),
        ("SMTP port", f"{email['port']} ({SECURITY[email.get('security') or 'starttls']})"),
        ("Authentication type", AUTH[auth["type"]]),
    ]
    if auth["type"] == "basic":
        items += [("Username", auth["username"]), ("Password", "********")]
    else:
        items += [
            ("Server Token URL", auth["token_url"]),
            ("Client ID", auth["client_id"]),
            ("Client Secret", "********"),
            ("Scopes", " ".join(auth.get("scopes") or []) or "(none)"),
        ]
    items += [
        ("Sender email", email["sender_email"]),
        ("Sender name", email.get("sender_name") or "-"),
    ]
    if email.get("ca_file"):
        items.append(("CA file", email["ca_file"]))
    if email.get("updated_at"):
        moment = datetime.fromisoformat(email["updated_at"].replace("Z", "+00:00")).astimezone(UTC)
        who = f" by {email['updated_by']}" if email.get("updated_by") else ""
        items.append(("Last changed", f"{moment:%Y-%m-%d %H:%M} UTC{who}"))
    width = max(len(k) for k, _ in items)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in items)


if __name__ == "__main__":
    store, key_file, command = sys.argv[1:4]
    data = core(store, key_file)
    print(email_show(data, sys.argv[4]) if command == "email-show" else stage_list(data))
