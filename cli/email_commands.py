"""`mailstage email show|set`: a stage's SMTP configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mailstage.cli.context import CliContext
from mailstage.cli.read_commands import cmd_email_show

if TYPE_CHECKING:
    import argparse


def register(groups: dict[str, Any]) -> None:
    from mailstage.cli.help_text import leaf

    email = groups["email"]
    p = leaf(
        email,
        "show",
        "a stage's SMTP configuration (secrets masked)",
        "The stage's SMTP server, port, authentication and sender, as the portal shows "
        "them. Secrets always print as ********.",
        ["mailstage email show QA", "mailstage email show Production --json"],
    )
    p.add_argument("stage", help="the stage's name (Development, QA, Production, ...)")
    p.add_argument("--json", action="store_true", help="print JSON (secrets masked)")
    p.set_defaults(func=cmd_email_show)
    p = leaf(
        email,
        "set",
        "change a stage's SMTP configuration (only what is given)",
        "Configures how a stage sends email. A first configuration needs --server, --auth "
        "with its fields, and --sender-email; later, only the options given change and a "
        "secret is kept unless a new one is given. Secrets are read from standard input, "
        "never from the command line. Needs the permission Manage Email Configurations.\n\n"
        "Basic needs --username and --password-stdin; OAuth 2.0 (client credentials) "
        "needs --token-url, --client-id and --client-secret-stdin.",
        [
            'printf "%s\\n" "$SMTP_PASSWORD" | mailstage email set QA \\',
            "    --server smtp.example.com --auth basic --username relay@example.com \\",
            "    --password-stdin --sender-email noreply@example.com",
            "mailstage email set Production --server smtp.office365.com --auth oauth2 \\",
            "    --token-url https://login.microsoftonline.com/TENANT/oauth2/v2.0/token \\",
            "    --client-id APP-ID --client-secret-stdin --sender-email noreply@example.com"
            " < secret.txt",
            "mailstage email set QA --port 465    # change one field, keep the rest",
        ],
    )
    p.add_argument("stage", help="the stage's name")
    p.add_argument("--server", metavar="HOST", help="SMTP server: a host name or IP address")
    p.add_argument(
        "--port", metavar="N", help="SMTP port (default 587; 465 implies implicit TLS; 25 refused)"
    )
    p.add_argument(
        "--security",
        choices=["starttls", "implicit"],
        help="starttls (default) or implicit TLS (the default on port 465)",
    )
    p.add_argument(
        "--auth", choices=["basic", "oauth2"], help="Authentication type: basic or oauth2"
    )
    p.add_argument("--username", metavar="U", help="Username (basic)")
    p.add_argument(
        "--password-stdin", action="store_true", help="Password (basic): read from standard input"
    )
    p.add_argument("--token-url", metavar="URL", help="Server Token URL (oauth2): https")
    p.add_argument("--client-id", metavar="ID", help="Client ID (oauth2): the application id")
    p.add_argument(
        "--client-secret-stdin",
        action="store_true",
        help="Client Secret (oauth2): read from standard input",
    )
    p.add_argument(
        "--scope",
        action="append",
        metavar="S",
        dest="scopes",
        help="Scopes (oauth2, optional), repeat for several; with none the token request "
        "carries no scope (default for Microsoft token URLs: "
        "https://outlook.office365.com/.default)",
    )
    p.add_argument("--sender-email", metavar="E", help="Sender email: the From address")
    p.add_argument("--sender-name", metavar="N", help="Sender name (optional)")
    p.add_argument(
        "--ca-file", metavar="PEM", help="extra CA certificates to trust (an internal relay)"
    )
    p.set_defaults(func=cmd_email_set)


def cmd_email_set(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.password_stdin and args.client_secret_stdin:
        ctx.warn(
            "Give --password-stdin or --client-secret-stdin, not both: a stage has one "
            "authentication type."
        )
        return 2
    options: dict[str, Any] = {
        "server": args.server,
        "port": args.port,
        "security": args.security,
        "auth": args.auth,
        "username": args.username,
        "token_url": args.token_url,
        "client_id": args.client_id,
        "scopes": args.scopes,
        "sender_email": args.sender_email,
        "sender_name": args.sender_name,
        "ca_file": args.ca_file,
    }
    if args.password_stdin:
        options["password"] = ctx.read_secret("Password (--password-stdin)")
    if args.client_secret_stdin:
        options["client_secret"] = ctx.read_secret("Client Secret (--client-secret-stdin)")

    def apply(ws: Any) -> tuple[str, list[str]]:
        config = ws.email_from_options(args.stage, options)
        return ws.stage(args.stage).name, ws.set_email(args.stage, config)

    name, changed = ctx.change(apply)
    if changed:
        from mailstage.store.words import fields_text

        ctx.out(f"Saved the email configuration of {name} (changed: {fields_text(changed)}).")
    else:
        ctx.out(f"Nothing changed in the email configuration of {name}.")
    return 0
