"""What a user does to the store: each change checks its permission, validates,
applies, appends an audit event and saves. Used by the CLI and the TUI alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from mailstage.store import relay_credentials, seen
from mailstage.store import validation as rules
from mailstage.store.errors import Conflict, InvalidInput, MailstageError, NotPermitted
from mailstage.store.fields import no_such_app, no_such_stage, shown
from mailstage.store.filestore import StoreFile
from mailstage.store.identity import acting_user, check_member_name
from mailstage.store.models import (
    ORG_ADMIN,
    App,
    AuditEvent,
    EmailConfig,
    Organization,
    Permission,
    Stage,
    StoreData,
    TestList,
    describe,
    validate_model,
)
from mailstage.store.paths import Locations
from mailstage.store.sharing import PRIVATE, Sharing

AUTH_ALIASES = {
    "basic": "basic",
    "oauth2": "oauth2_client_credentials",
    "oauth2_client_credentials": "oauth2_client_credentials",
}


def permission_sentence(org: Organization, user: str, permission: Permission) -> str:
    role = org.role_of(user)
    if role is None:
        return (
            f"You ({user}) are not a member of this organization, so you lack the "
            f"permission {permission.label}. An Organization Administrator can add you "
            f"with: mailstage member add {user} --role ROLE"
        )
    return (
        f"You ({user}) lack the permission {permission.label}: your role "
        f"{role.name} does not grant it."
    )


def _changed_fields(old: EmailConfig | None, new: EmailConfig) -> list[str]:
    def flat(config: EmailConfig | None) -> dict[str, Any]:
        if config is None:
            return {}
        out: dict[str, Any] = {}
        for name, value in config:
            if name in ("updated_at", "updated_by"):
                continue
            if name == "auth":
                for sub, subvalue in value:
                    out[f"auth.{sub}"] = subvalue
            else:
                out[name] = value
        return out

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, SecretStr) and isinstance(b, SecretStr):
            return a.get_secret_value() == b.get_secret_value()
        return bool(a == b)

    before, after = flat(old), flat(new)
    if old is None:  # a first configuration: name what was filled in
        after = {k: v for k, v in after.items() if v not in (None, "", [])}
    return sorted(
        k
        for k in before.keys() | after.keys()
        if k not in before or k not in after or not same(before[k], after[k])
    )


class Workspace:
    """The loaded store of one user: read freely, change through the methods below."""

    def __init__(self, file: StoreFile, data: StoreData, user: str) -> None:
        self.file = file
        self.data = data
        self.user = user
        # the folded addresses of the list last added to (a list of 400,000 is not
        # folded again for each address added): (the addresses list object, its keys)
        self._folded: tuple[list[str], set[str]] | None = None

    def _folded_keys(self, addresses: list[str]) -> set[str]:
        if self._folded is not None and self._folded[0] is addresses:
            return self._folded[1]
        return {a.casefold() for a in addresses}

    # ``user=`` is a seam for in-process tests only: the CLI and the TUI never pass it, so
    # the acting user is always the login name of the real uid (a store file) or the
    # database role the server authenticated (a PostgreSQL store).
    @classmethod
    def open(
        cls,
        locations: Locations,
        *,
        user: str | None = None,
        passphrase: str | None = None,
        accept_older: bool = False,
    ) -> Workspace:
        user = user or acting_user(locations)
        file, data = StoreFile.open(locations, passphrase, accept_older=accept_older)
        return cls(file, data, user)

    @classmethod
    def init(
        cls,
        locations: Locations,
        *,
        user: str | None = None,
        passphrase: str | None = None,
        sharing: Sharing = PRIVATE,
    ) -> Workspace:
        user = user or acting_user(locations)
        data = StoreData()
        data.organization.members[user] = ORG_ADMIN
        details: dict[str, Any] = {"role": ORG_ADMIN}
        if sharing.group:
            details["group"] = sharing.group
        data.audit.append(AuditEvent(user=user, action="init", target="store", details=details))
        file = StoreFile.create(locations, data, passphrase, sharing)
        return cls(file, data, user)

    def share(self, sharing: Sharing) -> None:
        """Turn this private store into the team's (an Organization Administrator's act)."""
        self.require(Permission.MANAGE_MEMBERS)
        if self.file.sharing == sharing:
            return
        with self.transaction():
            self.file.share(sharing)
            self._commit(
                lambda: lambda: None,
                self._event("store.share", str(sharing.group), ["group"]),
                changed_apps=(),
            )

    def accept_older(self) -> dict[str, Any]:
        """Adopt, on purpose, a store older than (or other than) the one last seen here."""
        previous = seen.last_seen(self.file.locations.seen_key)
        details: dict[str, Any] = {"found_version": self.file.generation}
        floor = 0
        if previous is not None:
            details["seen_version"] = previous.generation
            details["same_store"] = previous.store_id in (None, self.file.store_id)
            floor = previous.generation
        with self.transaction():
            event = self._event("store.accept_older", "store", **details)
            self.data.audit.append(event)
            try:
                self.file.save(self.data, changed_apps=(), at_least=floor)
            except BaseException:
                self.data.audit.pop()
                raise
        return details

    # -- permissions --------------------------------------------------------------

    @property
    def role_name(self) -> str | None:
        role = self.data.organization.role_of(self.user)
        return role.name if role else None

    def can(self, permission: Permission) -> bool:
        return permission in self.data.organization.permissions_of(self.user)

    def why_not(self, permission: Permission) -> str | None:
        if self.can(permission):
            return None
        return permission_sentence(self.data.organization, self.user, permission)

    def require(self, permission: Permission) -> None:
        if sentence := self.why_not(permission):
            raise NotPermitted(sentence, permission.value)

    # Send test mails with a stage's (often production) credentials to any address.
    SEND_TEST_PERMISSIONS = (Permission.MANAGE_EMAIL_CONFIGURATIONS, Permission.MANAGE_TEST_LISTS)

    def why_not_send_test(self) -> str | None:
        if any(self.can(p) for p in self.SEND_TEST_PERMISSIONS):
            return None
        needed = " or ".join(p.label for p in self.SEND_TEST_PERMISSIONS)
        role = self.role_name
        if role is None:
            return (
                f"You ({self.user}) are not a member of this organization; Send test needs "
                f"the permission {needed}. An Organization Administrator can add you with: "
                f"mailstage member add {self.user} --role ROLE"
            )
        return (
            f"You ({self.user}) lack the permission {needed} that Send test needs: your "
            f"role {role} grants neither."
        )

    def require_send_test(self) -> None:
        if sentence := self.why_not_send_test():
            raise NotPermitted(sentence, " or ".join(p.value for p in self.SEND_TEST_PERMISSIONS))

    def record_send_test(
        self,
        stage_name: str,
        app_name: str | None,
        recipients: int,
        outcome: str,
        tls: str | None = None,
    ) -> bool:
        """Audit one Send test (stage, app, number of recipients, outcome, what it saw of
        TLS). Returns True when the store had to be read again first (another admin
        saved meanwhile)."""
        before = self.file.generation
        with self.transaction():
            reloaded = self.file.generation != before
            details: dict[str, Any] = {"recipients": recipients, "outcome": outcome}
            if app_name:
                details["app"] = app_name
            if tls:
                details["tls"] = tls
            self._commit(
                lambda: lambda: None,
                self._event("email.send_test", stage_name, **details),
                changed_apps=(),
            )
        return reloaded

    def record_queue_delete(self, stage_name: str, app_name: str | None, recipients: int) -> None:
        """Audit the deletion of one relay queue entry (needs Manage Email Configurations);
        raises before anything is deleted when it cannot be recorded."""
        self.require(Permission.MANAGE_EMAIL_CONFIGURATIONS)
        with self.transaction():
            details: dict[str, Any] = {"recipients": recipients}
            if app_name:
                details["app"] = app_name
            self._commit(
                lambda: lambda: None,
                self._event("queue.delete", stage_name, **details),
                changed_apps=(),
            )

    # -- loading and saving ---------------------------------------------------------

    def reload(self) -> None:
        self.data = self.file.reload()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock around read-modify-write so a one-shot change never conflicts."""
        with self.file.locked():
            if self.file.disk_generation() != self.file.generation:
                self.reload()
            yield

    def _commit(
        self,
        apply: Callable[[], Callable[[], None]],
        event: AuditEvent,
        *,
        changed_apps: Collection[App] | None = None,
    ) -> None:
        """Apply, audit and save. ``changed_apps``: the apps ``apply`` changes in place
        (only their part of the file is written anew); None when it may change any."""
        undo = apply()
        known = len(self.data.audit)
        self.data.audit.append(event)
        try:
            self.file.save(self.data, changed_apps=changed_apps)
        except Conflict as exc:
            self.data.audit.pop()
            undo()
            raise self._explain(exc, known) from None
        except BaseException:
            self.data.audit.pop()
            undo()
            raise

    def _explain(self, exc: Conflict, known: int) -> Conflict:
        """Say what the other admins changed: the audit events saved since this load."""
        try:
            _, on_disk = self.file.peek()
        except MailstageError:
            return exc
        newer = on_disk.audit[known:]
        if not newer:
            return exc
        lines = [describe_event(e) for e in newer[-5:]]
        if len(newer) > 5:
            lines.insert(0, f"... and {len(newer) - 5} earlier change(s)")
        return Conflict(exc.summary, exc.disk_generation, lines)

    def _event(
        self, action: str, target: str, fields: list[str] | None = None, **details: Any
    ) -> AuditEvent:
        return AuditEvent(
            user=self.user, action=action, target=target, fields=fields or [], details=details
        )

    # -- lookups ---------------------------------------------------------------------

    def stage(self, name: str) -> Stage:
        stage = self.data.stage(name)
        if stage is None:
            raise no_such_stage(name, [s.name for s in self.data.ordered_stages()])
        return stage

    def app(self, name: str) -> App:
        app = self.data.app(name)
        if app is None:
            raise no_such_app(name, [a.name for a in self.data.apps])
        return app

    # -- stages and email configurations -------------------------------------------------

    def add_stage(self, name: str, production: bool = False) -> Stage:
        self.require(Permission.MANAGE_STAGES)
        stage = validate_model(
            Stage,
            {
                "name": name,
                "production": production,
                "order": max((s.order for s in self.data.stages), default=-1) + 1,
            },
        )
        if self.data.stage(stage.name):
            raise InvalidInput(
                describe(
                    "name", f"{stage.name!r} is already a stage (names are unique, ignoring case)"
                ),
                [("name", "unique")],
            )

        def apply() -> Callable[[], None]:
            self.data.stages.append(stage)
            return lambda: self.data.stages.remove(stage)

        self._commit(
            apply, self._event("stage.add", stage.name, ["name", "production"]), changed_apps=()
        )
        return stage

    def email_from_options(self, stage_name: str, options: dict[str, Any]) -> EmailConfig:
        """A full configuration from the stage's current one and the options given
        (None = keep). Secrets are kept unless a new one is given."""
        stage = self.stage(stage_name)
        old = stage.email
        data: dict[str, Any] = {}
        auth: dict[str, Any] = {}
        if old is not None:
            data = {k: v for k, v in old if k not in ("auth", "updated_at", "updated_by")}
            auth = dict(old.auth)
        opts = {k: v for k, v in options.items() if v is not None}
        auth_type = AUTH_ALIASES.get(opts.pop("auth", ""), None)
        if auth_type is None and not auth:
            auth_type = (
                "oauth2_client_credentials"
                if {"token_url", "client_id", "client_secret"} & opts.keys()
                else "basic"
                if {"username", "password"} & opts.keys()
                else None
            )
        if auth_type and auth.get("type") != auth_type:
            auth = {"type": auth_type}  # never carry the other type's fields over
        if "port" in opts and "security" not in opts:
            data.pop("security", None)  # let 465 imply implicit TLS again
        if (
            "token_url" in opts
            and opts["token_url"] != auth.get("token_url")
            and "scopes" not in opts
        ):
            auth.pop("scopes", None)
        for key in ("username", "password", "token_url", "client_id", "client_secret", "scopes"):
            if key in opts:
                auth[key] = opts.pop(key)
        data.update(opts)
        data["auth"] = auth or None
        if data["auth"] is None:
            raise InvalidInput(
                describe("auth", "is mandatory: choose basic or oauth2"), [("auth", "is mandatory")]
            )
        return validate_model(EmailConfig, data)

    def set_email(self, stage_name: str, config: EmailConfig) -> list[str]:
        self.require(Permission.MANAGE_EMAIL_CONFIGURATIONS)
        stage = self.stage(stage_name)
        old = stage.email
        changed = _changed_fields(old, config)
        if not changed:
            return []
        new = config.model_copy(update={"updated_at": datetime.now(UTC), "updated_by": self.user})

        def apply() -> Callable[[], None]:
            stage.email = new

            def undo() -> None:
                stage.email = old

            return undo

        self._commit(apply, self._event("email.set", stage.name, changed), changed_apps=())
        return changed

    # -- apps and test lists ------------------------------------------------------------------

    def add_app(self, name: str) -> App:
        self.require(Permission.MANAGE_APPS)
        app = validate_model(App, {"name": name})
        if self.data.app(app.name):
            raise InvalidInput(
                describe(
                    "name", f"{app.name!r} is already an app (names are unique, ignoring case)"
                ),
                [("name", "unique")],
            )

        def apply() -> Callable[[], None]:
            self.data.apps.append(app)
            return lambda: self.data.apps.remove(app)

        self._commit(apply, self._event("app.add", app.name, ["name"]), changed_apps=())
        return app

    def _valid_addresses(self, addresses: list[str], field: str = "addresses") -> list[str]:
        good, problems = rules.normalize_addresses(addresses)
        if problems:
            raw, why = problems[0]
            more = f" ({len(problems) - 1} more invalid)" if len(problems) > 1 else ""
            raise InvalidInput(describe(field, f"{shown(raw)} {why}{more}"), [(field, why)])
        return good

    def _merge_addresses(self, known: list[str], addresses: list[str]) -> list[str]:
        """Unique valid addresses in order. Those already in the stored list passed the
        rules on the way in: only the others are validated (a 400,000-address list
        with one address added costs one check, not 400,000)."""
        stored = set(known)
        seen: set[str] = set()
        good: list[str] = []
        problems: list[tuple[str, str]] = []
        for raw in addresses:
            if raw in stored:
                address = raw
            else:
                try:
                    address = rules.check_address(raw)
                except ValueError as exc:
                    problems.append((raw, str(exc)))
                    continue
            key = address.casefold()
            if key not in seen:
                seen.add(key)
                good.append(address)
        if problems:
            raw, why = problems[0]
            more = f" ({len(problems) - 1} more invalid)" if len(problems) > 1 else ""
            raise InvalidInput(
                describe("addresses", f"{shown(raw)} {why}{more}"), [("addresses", why)]
            )
        return good

    def save_test_list(
        self, app_name: str, stage_name: str, addresses: list[str], active: bool
    ) -> TestList:
        """Replace an app's test list for a stage (the TUI editor's Save)."""
        self.require(Permission.MANAGE_TEST_LISTS)
        app, stage = self.app(app_name), self.stage(stage_name)
        known = app.test_list(stage.name).addresses
        return self._replace_test_list(app, stage, self._merge_addresses(known, addresses), active)

    def _replace_test_list(
        self,
        app: App,
        stage: Stage,
        addresses: list[str],
        active: bool,
        added: list[str] | None = None,
        removed: list[str] | None = None,
    ) -> TestList:
        """Save already-valid addresses; ``added``/``removed`` when the caller knows them."""
        new = TestList.model_construct(addresses=addresses, active=active)
        old = app.test_lists.get(stage.name)
        before = old or TestList()
        if added is None or removed is None:
            if before.addresses == new.addresses:
                added, removed = [], []
            else:
                old_keys = {a.casefold() for a in before.addresses}
                new_keys = {a.casefold() for a in new.addresses}
                added = [a for a in new.addresses if a.casefold() not in old_keys]
                removed = [a for a in before.addresses if a.casefold() not in new_keys]
        fields = ["addresses"] if added or removed or before.addresses != new.addresses else []
        if before.active != new.active:
            fields.append("active")
        if not fields:
            return before

        def apply() -> Callable[[], None]:
            app.test_lists[stage.name] = new

            def undo() -> None:
                if old is None:
                    app.test_lists.pop(stage.name, None)
                else:
                    app.test_lists[stage.name] = old

            return undo

        details: dict[str, Any] = {"count": len(new.addresses), "active": new.active}
        if added:
            details["added"] = added
        if removed:
            details["removed"] = removed
        self._commit(
            apply,
            self._event("testlist.save", f"{app.name}/{stage.name}", fields, **details),
            changed_apps=(app,),
        )
        return new

    def add_to_test_list(self, app_name: str, stage_name: str, addresses: list[str]) -> list[str]:
        self.require(Permission.MANAGE_TEST_LISTS)
        app, stage = self.app(app_name), self.stage(stage_name)
        current = app.test_list(stage.name)
        new = self._valid_addresses(addresses)
        known = self._folded_keys(current.addresses)
        added = [a for a in new if a.casefold() not in known]
        if added:
            self._folded = None  # until the save is done
            saved = self._replace_test_list(
                app, stage, current.addresses + added, current.active, added, []
            )
            known.update(a.casefold() for a in added)
            self._folded = (saved.addresses, known)
        return added

    def remove_from_test_list(
        self, app_name: str, stage_name: str, addresses: list[str]
    ) -> list[str]:
        self.require(Permission.MANAGE_TEST_LISTS)
        app, stage = self.app(app_name), self.stage(stage_name)
        current = app.test_list(stage.name)
        wanted = {a.strip().casefold() for a in addresses}
        present = {a.casefold() for a in current.addresses}
        missing = [a for a in addresses if a.strip().casefold() not in present]
        if missing:
            raise InvalidInput(
                describe("addresses", f"{shown(missing[0])} is not in the test list"),
                [("addresses", "not in the list")],
            )
        kept = [a for a in current.addresses if a.casefold() not in wanted]
        gone = [a for a in current.addresses if a.casefold() in wanted]
        self._replace_test_list(app, stage, kept, current.active, [], gone)
        return gone

    def set_test_list_active(self, app_name: str, stage_name: str, active: bool) -> TestList:
        """The quick toggle: the addresses are kept as they are, none is checked again."""
        self.require(Permission.MANAGE_TEST_LISTS)
        app, stage = self.app(app_name), self.stage(stage_name)
        current = app.test_list(stage.name)
        return self._replace_test_list(app, stage, current.addresses, active, [], [])

    def set_studio_list(self, app_name: str, addresses: list[str]) -> None:
        self.require(Permission.MANAGE_TEST_LISTS)
        app = self.app(app_name)
        new = self._valid_addresses(addresses, "studio_list")
        old = app.studio_list
        if new == old:
            return

        def apply() -> Callable[[], None]:
            app.studio_list = new

            def undo() -> None:
                app.studio_list = old

            return undo

        self._commit(
            apply,
            self._event("studio_list.set", app.name, ["studio_list"], count=len(new)),
            changed_apps=(app,),
        )

    # -- relay credentials ----------------------------------------------------------------------

    def relay_credentials_needs(self) -> str | None:
        """Why this user may not make relay credentials, or None if they may."""
        if self.can(Permission.MANAGE_TEST_LISTS) or self.can(
            Permission.MANAGE_EMAIL_CONFIGURATIONS
        ):
            return None
        sentence = permission_sentence(
            self.data.organization, self.user, Permission.MANAGE_TEST_LISTS
        )
        return sentence.replace(
            Permission.MANAGE_TEST_LISTS.label,
            f"{Permission.MANAGE_TEST_LISTS.label} or "
            f"{Permission.MANAGE_EMAIL_CONFIGURATIONS.label}",
        )

    def make_relay_credentials(self, app_name: str, stage_name: str, *, rotate: bool) -> str:
        """Make (or, with rotate, replace) the app's relay password for the stage and
        return it: the only time it exists outside the app. The store keeps its hash."""
        if sentence := self.relay_credentials_needs():
            raise NotPermitted(sentence, Permission.MANAGE_TEST_LISTS.value)
        app, stage = self.app(app_name), self.stage(stage_name)
        old = app.relay_credentials.get(stage.name)
        if old is not None and not rotate:
            raise InvalidInput(
                describe(
                    "rotate",
                    f"is needed: {app.name} already has relay credentials for {stage.name}; "
                    "--rotate replaces them and the old password stops working",
                ),
                [("rotate", "credentials exist")],
            )
        password = relay_credentials.new_password()
        new_hash = relay_credentials.password_hash(password)

        def apply() -> Callable[[], None]:
            app.relay_credentials[stage.name] = new_hash

            def undo() -> None:
                if old is None:
                    app.relay_credentials.pop(stage.name, None)
                else:
                    app.relay_credentials[stage.name] = old

            return undo

        event = self._event(
            "app.credentials",
            f"{app.name}/{stage.name}",
            ["relay_credentials"],
            rotated=old is not None,
        )
        self._commit(apply, event)
        return password

    # -- members -------------------------------------------------------------------------------

    def set_member(self, user: str, role_name: str) -> None:
        self.require(Permission.MANAGE_MEMBERS)
        database = self.file.locations.database is not None
        user = check_member_name(rules.require("user", user), database=database)
        org = self.data.organization
        role = org.role(role_name)
        if role is None:
            known = ", ".join(r.name for r in org.roles)
            raise InvalidInput(
                describe("role", f"{shown(role_name)} does not exist (roles: {known})"),
                [("role", "does not exist")],
            )
        old = org.members.get(user)
        if old == role.name:
            return
        admins = [u for u, r in org.members.items() if r == ORG_ADMIN]
        if old == ORG_ADMIN and admins == [user]:
            raise InvalidInput(
                describe(
                    "role",
                    f"cannot change {user}, the last {ORG_ADMIN}; make someone else one first",
                ),
                [("role", "last administrator")],
            )

        def apply() -> Callable[[], None]:
            org.members[user] = role.name

            def undo() -> None:
                if old is None:
                    org.members.pop(user, None)
                else:
                    org.members[user] = old

            return undo

        self._commit(
            apply,
            self._event("member.set", user, ["role"], role=role.name, previous=old),
            changed_apps=(),
        )

    def remove_member(self, user: str) -> str:
        """Take someone out of the organization; the last Organization Administrator stays."""
        self.require(Permission.MANAGE_MEMBERS)
        org = self.data.organization
        name = user.strip()
        old = org.members.get(name)
        if old is None:
            raise InvalidInput(
                describe("user", f"{name!r} is not a member (see: mailstage member list)"),
                [("user", "not a member")],
            )
        admins = [u for u, r in org.members.items() if r == ORG_ADMIN]
        if old == ORG_ADMIN and admins == [name]:
            raise InvalidInput(
                describe(
                    "user",
                    f"cannot remove {name}, the last {ORG_ADMIN}; make someone else one first",
                ),
                [("user", "last administrator")],
            )

        def apply() -> Callable[[], None]:
            del org.members[name]

            def undo() -> None:
                org.members[name] = old

            return undo

        self._commit(
            apply, self._event("member.remove", name, ["role"], previous=old), changed_apps=()
        )
        return old

    # -- removing apps and stages ------------------------------------------------------------

    def remove_app(self, name: str) -> App:
        """Remove an app with its test lists, studio list and relay credentials."""
        self.require(Permission.MANAGE_APPS)
        app = self.app(name)
        index = self.data.apps.index(app)

        def apply() -> Callable[[], None]:
            self.data.apps.remove(app)
            return lambda: self.data.apps.insert(index, app)

        details = {
            "test_lists": len(app.test_lists),
            "studio_list": len(app.studio_list),
            "relay_credentials": len(app.relay_credentials),
        }
        self._commit(
            apply, self._event("app.remove", app.name, ["name"], **details), changed_apps=()
        )
        return app

    def remove_stage(self, name: str) -> Stage:
        """Remove a stage with its email configuration and every app's test list and relay
        credentials for it. The last stage stays."""
        self.require(Permission.MANAGE_STAGES)
        stage = self.stage(name)
        if len(self.data.stages) == 1:
            raise InvalidInput(
                describe("stage", f"cannot remove {stage.name}, the only stage"),
                [("stage", "last stage")],
            )
        index = self.data.stages.index(stage)
        touched = [
            app
            for app in self.data.apps
            if stage.name in app.test_lists or stage.name in app.relay_credentials
        ]
        kept = {
            app.name: (app.test_lists.get(stage.name), app.relay_credentials.get(stage.name))
            for app in touched
        }

        def apply() -> Callable[[], None]:
            self.data.stages.remove(stage)
            for app in touched:
                app.test_lists.pop(stage.name, None)
                app.relay_credentials.pop(stage.name, None)

            def undo() -> None:
                self.data.stages.insert(index, stage)
                for app in touched:
                    test_list, credential = kept[app.name]
                    if test_list is not None:
                        app.test_lists[stage.name] = test_list
                    if credential is not None:
                        app.relay_credentials[stage.name] = credential

            return undo

        details = {"configured": stage.email is not None, "apps": len(touched)}
        self._commit(
            apply,
            self._event("stage.remove", stage.name, ["name"], **details),
            changed_apps=touched,
        )
        return stage

    # -- studio list, address by address -------------------------------------------------------

    def add_to_studio_list(self, app_name: str, addresses: list[str]) -> list[str]:
        self.require(Permission.MANAGE_TEST_LISTS)
        app = self.app(app_name)
        new = self._valid_addresses(addresses, "studio_list")
        known = {a.casefold() for a in app.studio_list}
        added = []
        for address in new:
            if address.casefold() not in known:
                known.add(address.casefold())
                added.append(address)
        self.set_studio_list(app.name, app.studio_list + added)
        return added

    def remove_from_studio_list(self, app_name: str, addresses: list[str]) -> list[str]:
        self.require(Permission.MANAGE_TEST_LISTS)
        app = self.app(app_name)
        wanted = {a.strip().casefold() for a in addresses}
        present = {a.casefold() for a in app.studio_list}
        missing = [a for a in addresses if a.strip().casefold() not in present]
        if missing:
            raise InvalidInput(
                describe("studio_list", f"{missing[0]!r} is not in the studio list"),
                [("studio_list", "not in the list")],
            )
        removed = [a for a in app.studio_list if a.casefold() in wanted]
        self.set_studio_list(app.name, [a for a in app.studio_list if a.casefold() not in wanted])
        return removed


ACTION_WORDS = {
    "init": "created the store",
    "email.set": "changed the email configuration of",
    "email.send_test": "sent a test email through",
    "stage.add": "added the stage",
    "app.add": "added the app",
    "testlist.save": "changed the test list of",
    "studio_list.set": "changed the studio list of",
    "member.set": "changed the role of",
    "member.remove": "removed the member",
    "app.remove": "removed the app",
    "stage.remove": "removed the stage",
    "app.credentials": "made relay credentials for",
    "store.share": "shared the store with the group",
    "store.accept_older": "accepted on purpose an older or other copy of the",
    "queue.delete": "deleted a queued message of the relay for",
}


def describe_event(event: AuditEvent) -> str:
    """One line for an audit event: who did what to which target, and when."""
    words = ACTION_WORDS.get(event.action, event.action)
    fields = f" ({', '.join(event.fields)})" if event.fields else ""
    return f"{event.user} {words} {event.target}{fields} at {event.at:%H:%M:%S}Z"
