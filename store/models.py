"""Domain models (pydantic v2). Every rule of the domain is enforced here.

Untrusted input (the CLI, the TUI, a test) is validated in full. A payload that
was just authenticated by the store is validated with ``context={"trusted": True}``,
which skips the slow per-address checks: those addresses passed them on the way in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    SerializationInfo,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mailstage.store import validation as rules
from mailstage.store.errors import InvalidInput
from mailstage.store.fields import AUTH_LABELS as AUTH_LABELS  # re-exported
from mailstage.store.fields import FIELD_LABELS as FIELD_LABELS
from mailstage.store.fields import describe as describe

MASK = "********"
M = TypeVar("M", bound=BaseModel)
V = TypeVar("V")


class Permission(StrEnum):
    MANAGE_EMAIL_CONFIGURATIONS = "manage_email_configurations"
    MANAGE_TEST_LISTS = "manage_test_lists"
    MANAGE_APPS = "manage_apps"
    MANAGE_STAGES = "manage_stages"
    MANAGE_MEMBERS = "manage_members"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()


ORG_ADMIN = "Organization Administrator"
EMAIL_MANAGER = "Email Manager"
APP_DEVELOPER = "App Developer"
VIEWER = "Viewer"


def _serialize_secret(value: SecretStr, info: SerializationInfo) -> str:
    if info.context and info.context.get("reveal_secrets"):
        return value.get_secret_value()
    return MASK


Secret = Annotated[SecretStr, PlainSerializer(_serialize_secret, return_type=str)]


def _trusted(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("trusted"))


def _rule(key: str, value: V, info: ValidationInfo) -> V:
    """The field's rule from the one table; an authenticated payload passed it on the way in
    (and a store saved under older rules must still open)."""
    if _trusted(info):
        return value
    cleaned: V = rules.check_field(key, value)
    return cleaned


class Model(BaseModel):
    # cache_strings=False: hundreds of thousands of unique addresses only thrash the cache
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, cache_strings=False)


class Role(Model):
    name: str
    permissions: list[Permission] = Field(default_factory=list)
    builtin: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str, info: ValidationInfo) -> str:
        return _rule("name", v, info)


def builtin_roles() -> list[Role]:
    return [
        Role(name=ORG_ADMIN, permissions=list(Permission), builtin=True),
        Role(
            name=EMAIL_MANAGER, permissions=[Permission.MANAGE_EMAIL_CONFIGURATIONS], builtin=True
        ),
        Role(name=APP_DEVELOPER, permissions=[Permission.MANAGE_TEST_LISTS], builtin=True),
        Role(name=VIEWER, permissions=[], builtin=True),
    ]


class Organization(Model):
    name: str = "My organization"
    members: dict[str, str] = Field(default_factory=dict)  # OS login name -> role name
    roles: list[Role] = Field(default_factory=builtin_roles)

    @model_validator(mode="after")
    def _roles_exist(self) -> Organization:
        names = {r.name.casefold() for r in self.roles}
        if len(names) != len(self.roles):
            raise ValueError("role names must be unique")
        for user, role in self.members.items():
            if role.casefold() not in names:
                raise ValueError(f"member {user!r} has unknown role {role!r}")
        return self

    def role(self, name: str) -> Role | None:
        key = name.casefold()
        return next((r for r in self.roles if r.name.casefold() == key), None)

    def role_of(self, user: str) -> Role | None:
        role_name = self.members.get(user)
        return self.role(role_name) if role_name else None

    def permissions_of(self, user: str) -> frozenset[Permission]:
        role = self.role_of(user)
        return frozenset(role.permissions) if role else frozenset()


class BasicAuth(Model):
    type: Literal["basic"] = "basic"
    username: str
    password: Secret

    @field_validator("username")
    @classmethod
    def _username(cls, v: str, info: ValidationInfo) -> str:
        return _rule("username", v, info)

    @field_validator("password")
    @classmethod
    def _password(cls, v: SecretStr, info: ValidationInfo) -> SecretStr:
        _rule("password", v.get_secret_value(), info)
        return v


class OAuth2ClientCredentials(Model):
    type: Literal["oauth2_client_credentials"] = "oauth2_client_credentials"
    token_url: str
    client_id: str
    client_secret: Secret
    scopes: list[str] = Field(default_factory=list)

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, v: str, info: ValidationInfo) -> str:
        return _rule("token_url", v, info)

    @field_validator("client_id")
    @classmethod
    def _client_id(cls, v: str, info: ValidationInfo) -> str:
        return _rule("client_id", v, info)

    @field_validator("client_secret")
    @classmethod
    def _client_secret(cls, v: SecretStr, info: ValidationInfo) -> SecretStr:
        _rule("client_secret", v.get_secret_value(), info)
        return v

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, v: list[str], info: ValidationInfo) -> list[str]:
        return _rule("scopes", v, info)

    @model_validator(mode="after")
    def _default_scopes(self) -> OAuth2ClientCredentials:
        self.scopes = rules.scopes_for(self.token_url, self.scopes)
        return self


AuthConfig = Annotated[BasicAuth | OAuth2ClientCredentials, Field(discriminator="type")]


class EmailConfig(Model):
    server: str
    port: int = 587
    security: Literal["starttls", "implicit"] = "starttls"
    ca_file: str | None = None
    auth: AuthConfig
    sender_email: str
    sender_name: str = ""
    updated_at: datetime | None = None
    updated_by: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_security(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("security"):
            data = dict(data)
            data["security"] = (
                "implicit" if str(data.get("port", "")).strip() == "465" else "starttls"
            )
        return data

    @field_validator("server")
    @classmethod
    def _server(cls, v: str, info: ValidationInfo) -> str:
        return _rule("server", v, info)

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, v: Any, info: ValidationInfo) -> int:
        return int(_rule("port", v, info))

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else _rule("ca_file", v, info)

    @field_validator("sender_email")
    @classmethod
    def _sender_email(cls, v: str, info: ValidationInfo) -> str:
        return _rule("sender_email", v, info)

    @field_validator("sender_name")
    @classmethod
    def _sender_name(cls, v: str, info: ValidationInfo) -> str:
        return _rule("sender_name", v, info)

    @property
    def auth_label(self) -> str:
        return AUTH_LABELS[self.auth.type]

    @property
    def is_loopback(self) -> bool:
        return rules.is_loopback_host(self.server)


def _addresses(cls: type, v: list[str], info: ValidationInfo) -> list[str]:
    return _rule("addresses", v, info)


class TestList(Model):
    __test__ = False  # not a pytest class

    addresses: list[str] = Field(default_factory=list)
    active: bool = False

    @field_validator("addresses")
    @classmethod
    def _check(cls, v: list[str], info: ValidationInfo) -> list[str]:
        return _addresses(cls, v, info)


class Stage(Model):
    name: str
    production: bool = False
    order: int = 0
    email: EmailConfig | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str, info: ValidationInfo) -> str:
        return _rule("name", v, info)


def default_stages() -> list[Stage]:
    return [
        Stage(name="Development", order=0),
        Stage(name="QA", order=1),
        Stage(name="Production", production=True, order=2),
    ]


class App(Model):
    name: str
    test_lists: dict[str, TestList] = Field(default_factory=dict)  # stage name -> list
    studio_list: list[str] = Field(default_factory=list)
    # stage name -> hash of the relay password (store/relay_credentials.py), never the password
    relay_credentials: dict[str, str] = Field(default_factory=dict)

    @field_validator("studio_list")
    @classmethod
    def _check_studio(cls, v: list[str], info: ValidationInfo) -> list[str]:
        return _addresses(cls, v, info)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str, info: ValidationInfo) -> str:
        return _rule("name", v, info)

    def test_list(self, stage: str) -> TestList:
        return self.test_lists.get(stage) or TestList()

    def relay_credential(self, stage: str) -> str | None:
        key = stage.casefold()
        return next((h for s, h in self.relay_credentials.items() if s.casefold() == key), None)


class AuditEvent(Model):
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    user: str
    action: str
    target: str
    fields: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        key = name.casefold()
        if key in seen:
            raise ValueError(
                f"{what} name {name!r} is used twice (names are unique, ignoring case)"
            )
        seen.add(key)


class StoreData(Model):
    organization: Organization = Field(default_factory=Organization)
    stages: list[Stage] = Field(default_factory=default_stages)
    apps: list[App] = Field(default_factory=list)
    audit: list[AuditEvent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> StoreData:
        _unique([s.name for s in self.stages], "stage")
        _unique([a.name for a in self.apps], "app")
        return self

    def stage(self, name: str) -> Stage | None:
        key = name.casefold()
        return next((s for s in self.stages if s.name.casefold() == key), None)

    def app(self, name: str) -> App | None:
        key = name.casefold()
        return next((a for a in self.apps if a.name.casefold() == key), None)

    def ordered_stages(self) -> list[Stage]:
        return sorted(self.stages, key=lambda s: (s.order, s.name.casefold()))


_AUTH_TAGS = {"basic", "oauth2_client_credentials"}


def field_of(loc: tuple[Any, ...]) -> str:
    """The user-facing field key of a pydantic error location."""
    names = [p for p in loc if isinstance(p, str) and p not in _AUTH_TAGS]
    return names[-1] if names else "input"


def _rule_text(error: Mapping[str, Any]) -> str:
    msg = str(error.get("msg", "is invalid"))
    if error.get("type") == "missing":
        return "is mandatory"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if error.get("type") == "union_tag_invalid":
        return "must be basic or oauth2_client_credentials"
    return msg[:1].lower() + msg[1:]


def problems_of(exc: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        field = field_of(tuple(error.get("loc", ())))
        text = _rule_text(error)
        # model-level validators put "field: rule" in the message themselves
        if ": " in text and text.split(": ", 1)[0] in FIELD_LABELS:
            field, text = text.split(": ", 1)
        problems.append((field, text))
    return problems


def invalid_input(exc: ValidationError) -> InvalidInput:
    problems = problems_of(exc)
    message = " ".join(describe(f, r) for f, r in problems[:3])
    return InvalidInput(message or "The input is invalid.", problems)


def validate_model(model: type[M], data: Any) -> M:
    """Validate untrusted data, turning pydantic's error into a user-facing InvalidInput."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc) from None
