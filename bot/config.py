"""Settings from the environment and `.env`, checked once at start-up.

A monitor that runs unattended must fail at start, loudly and precisely, rather than at 08:00 when
the first digest is due: every problem names the variable, where it came from and the expected form.
Secrets are kept out of `repr()` so a logged Settings object never leaks them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.account_settings import (
    DEFAULT_MAX_CHANNELS,
    AccountSettings,
    is_account_variable,
    parse_account_names,
    parse_accounts,
)
from bot.env_file import EnvFileError, mistyped, read_env_file
from bot.setting_values import (
    SINK_PREFIX,
    TELEGRAM_SINK,
    TelegramServer,
    check_each,
    is_database_url,
    is_file,
    parse_alert_rules,
    parse_bool,
    parse_channels,
    parse_chat,
    parse_choice,
    parse_count,
    parse_database_url,
    parse_domains,
    parse_duration,
    parse_edit_channels,
    parse_hash,
    parse_hhmm,
    parse_ids,
    parse_level,
    parse_megabytes,
    parse_output,
    parse_positive_int,
    parse_seconds,
    parse_server,
    parse_service_name,
    parse_sink_names,
    parse_sink_url,
    parse_tags,
    parse_time_zone,
    parse_token,
    parse_url,
    parse_web_token,
    parse_words,
    public_key_problem,
    shown_detail,
    shown_value,
    sink_name,
    sink_secrets,
    url_password,
)

# Where the archive is: a file path (SQLite) or a postgresql:// URL, passed along unopened.
Location = Path | str


class SettingsError(ValueError):
    """All problems found in the settings, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    db_path: Path = Path("data/tgmonitor.db")
    # DATABASE_URL=postgresql://…: the shared PostgreSQL archive instead of the DB_PATH file (docs/team.md)
    database_url: str | None = field(default=None, repr=False)
    api_id: int | None = None
    api_hash: str | None = field(default=None, repr=False)
    session: str | None = field(default=None, repr=False)
    bot_token: str | None = field(default=None, repr=False)
    channels: tuple[str, ...] = ()
    forwards_from: tuple[str, ...] = ()
    poll_interval: int = 300
    web_preview_base: str = "https://t.me"
    digest_chat: int | str | None = None
    digest_time: time = time(8, 0)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    digest_tags: tuple[str, ...] = ()
    digest_empty: Literal["skip", "notice"] = "notice"
    digest_amplification: Literal["off", "weekly"] = "off"  # Monday's digest ends with the week's amplifiers
    digest_section_items: int = 15  # items listed per digest section, then "… and N more"; 0: all
    digest_output: str | None = "-"  # without BOT_TOKEN digests and alerts print; None: DIGEST_OUTPUT=off
    # READ_CHANNELS (docs/team.md): "all" reads the configured channels and every one watched in the archive
    # (bot /watch); "configured" only CHANNELS/CHANNELS_<name> (a team's listener beside other listeners on
    # one database); "none" no channel at all (the team's bot service)
    read_channels: Literal["all", "configured", "none"] = "all"
    # SERVICE_NAME (docs/team.md): this `tgmonitor run`'s name in the archive's status, one per service of a
    # team; None: the single service, "main" (storage/services.py)
    service_name: str | None = None
    alert_chat: int | str | None = None
    alert_tags: tuple[str, ...] = ()
    alert_words: tuple[str, ...] = ()
    alert_rate_per_minute: int = 20
    alert_edits: tuple[str, ...] = ()  # ("all",) or channels: edits and deletions there are alerted
    alert_rules: tuple[tuple[str, str], ...] = ()  # (where it was written, rule): ALERT_RULES
    # Sinks (docs/sinks-and-rules.md): SINK_<NAME>=<Apprise URL>, as (name, url); URLs hold secrets
    sinks: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    digest_to: tuple[str, ...] = (TELEGRAM_SINK,)
    digest_rule: str | None = None  # DIGEST_RULE: the settings digest's posts must match it (besides DIGEST_TAGS)
    alert_to: tuple[str, ...] = (TELEGRAM_SINK,)
    allowed_users: frozenset[int] = frozenset()
    allowed_chats: frozenset[int] = frozenset()
    admin_users: frozenset[int] = frozenset()
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    rules_file: Path | None = None
    boilerplate_file: Path | None = None
    neardup_window_days: int = 14
    download_media: bool = False
    media_max_mb: int = 50
    telegram_server: TelegramServer | None = None
    telegram_public_key: Path | None = None
    web_token: str | None = field(default=None, repr=False)
    fetch_articles: bool = True
    article_domains: tuple[str, ...] = ()
    article_skip_domains: tuple[str, ...] = ()
    article_max_mb: float = 5.0
    article_rate: float = 2.0
    article_robots: bool = True
    feed_base_url: str | None = None  # absolute links in feeds (docs/feeds-and-exports.md)
    feed_secret: str | None = field(default=None, repr=False)  # per-feed reader keys; else derived from WEB_TOKEN
    # TELEGRAM_ACCOUNTS (docs/accounts.md): empty means the one account of API_ID/API_HASH/TG_SESSION
    account_names: tuple[str, ...] = ()
    accounts: tuple[AccountSettings, ...] = ()
    account_max_channels: int = DEFAULT_MAX_CHANNELS

    @property
    def archive(self) -> Location:
        """Where the archive is: DATABASE_URL when set, else the DB_PATH file."""
        return self.database_url or self.db_path

    def with_archive(self, location: Location) -> Settings:
        """These settings with the archive somewhere else (`--db` wins over DB_PATH and DATABASE_URL)."""
        if isinstance(location, str) and is_database_url(location):
            return replace(self, database_url=location)
        return replace(self, db_path=Path(location), database_url=None)

    @property
    def has_api_credentials(self) -> bool:
        return self.api_id is not None and bool(self.api_hash)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values a log line must never contain."""
        values: tuple[str | None, ...] = (self.api_hash, self.bot_token, self.session, self.web_token, self.feed_secret)
        values += (url_password(self.database_url),) if self.database_url else ()
        values += tuple(v for a in self.accounts for v in (a.api_hash, a.session))
        own = tuple(s for s in values if s and len(s) >= 6)
        return own + tuple(secret for _, url in self.sinks for secret in sink_secrets(url))

    def account(self, name: str) -> AccountSettings | None:
        return next((a for a in self.accounts if a.name == name), None)

    def for_account(self, account: AccountSettings, channels: tuple[str, ...] | None = None) -> Settings:
        """These settings as one account sees them: its credentials and session, and its channels.

        The rest of the code (login, the user client, the listener) takes Settings, so an account is
        just Settings with other credentials: no second code path to keep in step.
        """
        session = account.session or str(self.data_dir / f"tgmonitor-{account.name}.session")
        return replace(
            self,
            api_id=account.api_id if account.api_id is not None else self.api_id,
            api_hash=account.api_hash or self.api_hash,
            session=session,
            channels=self.channels if channels is None else channels,
        )

    def sink_url(self, name: str) -> str | None:
        return dict(self.sinks).get(name)

    @classmethod
    def load(
        cls,
        env_file: Path | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        channel_check: Callable[[str], object] | None = None,
    ) -> Settings:
        """Read `env_file` (named explicitly, never guessed) then the process environment, which wins.

        No `.env` is picked up from the working directory: under systemd and in the container that is the
        writable state directory, and anything able to write there could add settings.

        `channel_check` reads one CHANNELS / FORWARDS_FROM / ALERT_EDITS entry and raises ValueError
        for one that cannot name a channel: the CLI passes bot.core.channels.parse_channel (the one
        parser, a layer above this module), so a typo or an invite link is reported here with its line.
        """
        environ = os.environ if environ is None else environ
        file_values: dict[str, str | None] = {}
        if env_file is not None:
            try:
                file_values = read_env_file(env_file, f"(given with --env or {ENV_FILE_VARIABLE})")
            except EnvFileError as exc:
                raise SettingsError(exc.problems) from None
        merged = {k: v for k, v in file_values.items() if v is not None}
        # Per-account variables only with TELEGRAM_ACCOUNTS: an unrelated CHANNELS_X in the process
        # environment must not break a one-account setup.
        accounts_on = "TELEGRAM_ACCOUNTS" in merged or "TELEGRAM_ACCOUNTS" in environ
        merged.update(
            {
                k: v
                for k, v in environ.items()
                if k in _PARSERS or k.startswith(SINK_PREFIX) or (accounts_on and is_account_variable(k))
            }
        )
        typos = []
        if env_file is not None:
            typos = mistyped(file_values, SETTING_NAMES, _known, lambda key: _where(key, env_file, set(file_values)))
        try:
            settings = cls.from_mapping(
                merged,
                env_file=env_file if file_values else None,
                file_keys=set(file_values),
                channel_check=channel_check,
            )
        except SettingsError as exc:
            raise SettingsError(typos + exc.problems) from None
        if typos:
            raise SettingsError(typos)
        return settings

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, str],
        *,
        env_file: Path | None = None,
        file_keys: set[str] | None = None,
        channel_check: Callable[[str], object] | None = None,
    ) -> Settings:
        problems: list[str] = []
        kwargs: dict[str, Any] = {}
        for name, (attr, parse, form) in _PARSERS.items():
            raw = values.get(name)
            if raw is None or raw.strip() == "":
                continue
            try:
                kwargs[attr] = parse(raw.strip())
                if name in _CHANNEL_LISTS and channel_check is not None:
                    check_each(kwargs[attr], channel_check)
            except ValueError as exc:
                kwargs.pop(attr, None)
                where = _where(name, env_file, file_keys or set())
                if name in SECRET_NAMES:
                    problems.append(f"{name}{where}: expected {form}, got {describe_secret(raw)}")
                    continue
                detail = f" ({shown_detail(str(exc))})" if str(exc) else ""
                problems.append(f"{name}{where}: expected {form}, got {shown_value(raw)}{detail}")
        sinks = []
        for name in sorted(k for k in values if k.startswith(SINK_PREFIX)):
            raw = (values.get(name) or "").strip()
            where = _where(name, env_file, file_keys or set())
            if not re.fullmatch(r"SINK_[A-Z][A-Z0-9_]{0,31}", name):
                problems.append(f"{name}{where}: a sink name is SINK_ and up to 32 letters, digits or _")
            elif sink_name(name) == TELEGRAM_SINK:
                problems.append(f"{name}{where}: 'telegram' is the chat itself (DIGEST_CHAT/ALERT_CHAT); pick another")
            elif raw:
                try:
                    sinks.append((sink_name(name), parse_sink_url(raw)))
                except ValueError as exc:  # never the value itself: it holds tokens and passwords
                    problems.append(f"{name}{where}: expected an Apprise URL, {exc}; got {describe_secret(raw)}")
        kwargs["sinks"] = tuple(sinks)
        known = {TELEGRAM_SINK, *(n for n, _ in sinks)}
        for variable, attr in (("DIGEST_TO", "digest_to"), ("ALERT_TO", "alert_to")):
            unknown = [n for n in kwargs.get(attr, ()) if n not in known]
            if unknown:
                where = _where(variable, env_file, file_keys or set())
                problems.append(
                    f"{variable}{where}: no sink named {', '.join(map(repr, unknown))}; define SINK_"
                    f"{unknown[0].upper()}=<url> or use: {', '.join(sorted(known))}"
                )
        names = kwargs.get("account_names", ())
        if names or any(is_account_variable(k) and (values.get(k) or "").strip() for k in values):
            accounts, account_problems = parse_accounts(
                values,
                names,
                where=lambda name: _where(name, env_file, file_keys or set()),
                describe_secret=describe_secret,
                channel_check=channel_check,
            )
            kwargs["accounts"] = accounts
            problems.extend(account_problems)
        if "data_dir" in kwargs and "db_path" not in kwargs:
            kwargs["db_path"] = kwargs["data_dir"] / "tgmonitor.db"
        if kwargs.get("read_channels") == "none" and (kwargs.get("channels") or names):
            which = "CHANNELS" if kwargs.get("channels") else "TELEGRAM_ACCOUNTS"
            problems.append(
                f"READ_CHANNELS{_where('READ_CHANNELS', env_file, file_keys or set())}: none, but {which} is set: "
                "a service that reads no channel takes none; remove one of them"
            )
        if bool((values.get("API_ID") or "").strip()) != bool((values.get("API_HASH") or "").strip()):
            problems.append("API_ID and API_HASH: set both (from https://my.telegram.org) or neither")
        for attr, name in (("rules_file", "RULES_FILE"), ("boilerplate_file", "BOILERPLATE_FILE")):
            path = kwargs.get(attr)
            if path is not None and not is_file(path):
                problems.append(
                    f"{name}{_where(name, env_file, file_keys or set())}: no such file: {shown_detail(str(path))}"
                )
        key = kwargs.get("telegram_public_key")
        where_key = _where("TELEGRAM_PUBLIC_KEY", env_file, file_keys or set())
        if key is not None and "telegram_server" not in kwargs and "TELEGRAM_SERVER" not in values:
            problems.append(
                f"TELEGRAM_PUBLIC_KEY{where_key}: only used with TELEGRAM_SERVER (a test server); set both or neither"
            )
        elif key is not None:
            problem = public_key_problem(key)
            if problem:
                problems.append(f"TELEGRAM_PUBLIC_KEY{where_key}: {problem}")
        if problems:
            raise SettingsError(problems)
        return cls(**kwargs)


def _known(name: str) -> bool:
    return name in _PARSERS or name.startswith(SINK_PREFIX) or is_account_variable(name)


def describe_secret(raw: str) -> str:
    """What is wrong with a secret's value without showing any of it (it may be most of a real secret)."""
    value = raw.strip()
    notes = [f"a value of {len(value)} characters (not shown)"]
    if re.search(r"\s#|\s;", value):
        notes.append("it contains ' #' or ' ;': an inline comment? systemd and docker --env-file keep it")
    elif any(c.isspace() for c in value):
        notes.append("it contains whitespace")
    if value[:1] in "\"'" and value[-1:] == value[:1]:
        notes.append("it is quoted: docker --env-file keeps the quotes")
    return "; ".join(notes)


def _where(name: str, env_file: Path | None, file_keys: set[str]) -> str:
    if env_file is None or name not in file_keys:
        return " (environment)"
    try:
        lines = env_file.read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return f" ({env_file})"
    # the last assignment: it is the one that counts (a settings file naming a variable twice)
    found = [n for n, line in enumerate(lines, start=1) if re.match(rf"^\s*(export\s+)?{re.escape(name)}\s*=", line)]
    return f" ({env_file}:{found[-1]})" if found else f" ({env_file})"


# variable -> (attribute, parser, expected form shown in errors)
_PARSERS: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "DATA_DIR": ("data_dir", Path, "a directory path"),
    "DB_PATH": ("db_path", Path, "a file path"),
    "DATABASE_URL": (
        "database_url",
        parse_database_url,
        "a PostgreSQL URL like postgresql://tgmonitor:PASSWORD@db:5432/tgmonitor (unset: the DB_PATH file)",
    ),
    "API_ID": ("api_id", parse_positive_int, "a positive integer from https://my.telegram.org"),
    "API_HASH": ("api_hash", parse_hash, "32 hexadecimal characters from https://my.telegram.org"),
    "TG_SESSION": ("session", str, "a session file path or a StringSession string"),
    "BOT_TOKEN": ("bot_token", parse_token, "a token from @BotFather like 123456789:AAE..."),
    "CHANNELS": ("channels", parse_channels, "a comma-separated list of @username, t.me/name links or ids"),
    "FORWARDS_FROM": ("forwards_from", parse_channels, "a comma-separated list of @username, t.me/name links or ids"),
    "POLL_INTERVAL": ("poll_interval", parse_duration, "a positive duration like 300, 90s, 5m or 1h"),
    "WEB_PREVIEW_BASE": ("web_preview_base", parse_url, "an http(s) URL like https://t.me"),
    "DIGEST_CHAT": ("digest_chat", parse_chat, "a chat id like -1001234567890 or a @username"),
    "DIGEST_TIME": ("digest_time", parse_hhmm, "a local time HH:MM like 08:00"),
    "TZ": ("tz", parse_time_zone, "an IANA time zone like Europe/Sofia"),
    "DIGEST_TAGS": ("digest_tags", parse_tags, "a comma-separated list of tags like serbia, #RussiaSerbia"),
    "DIGEST_EMPTY": ("digest_empty", parse_choice("skip", "notice"), "'skip' or 'notice'"),
    "DIGEST_AMPLIFICATION": ("digest_amplification", parse_choice("off", "weekly"), "'off' or 'weekly'"),
    "DIGEST_SECTION_ITEMS": (
        "digest_section_items",
        parse_count,
        "items listed per section before '… and N more': a number, 0 for all",
    ),
    "DIGEST_OUTPUT": ("digest_output", parse_output, "'-' for stdout (the default), a file path, or 'off'"),
    "READ_CHANNELS": (
        "read_channels",
        parse_choice("all", "configured", "none"),
        "'all' (the default: configured and watched), 'configured' (CHANNELS/CHANNELS_<name> only) or 'none'",
    ),
    "SERVICE_NAME": (
        "service_name",
        parse_service_name,
        "a letter then up to 31 letters, digits, '-' or '_', like listener-a (unset: main, the single service)",
    ),
    "ALERT_CHAT": ("alert_chat", parse_chat, "a chat id like -1001234567890 or a @username"),
    "ALERT_TAGS": ("alert_tags", parse_tags, "a comma-separated list of tags like serbia, #RussiaSerbia"),
    "ALERT_WORDS": ("alert_words", parse_words, "a comma-separated list of words or phrases"),
    "ALERT_RATE_PER_MINUTE": ("alert_rate_per_minute", parse_positive_int, "a positive integer"),
    "ALERT_RULES": ("alert_rules", parse_alert_rules, "a file with one rule per line, or rules separated by ';'"),
    "DIGEST_RULE": ("digest_rule", str, "a rule like (Vucic OR Вучич) -sport (docs/sinks-and-rules.md)"),
    "DIGEST_TO": ("digest_to", parse_sink_names, "sink names like telegram, ops_mail (SINK_OPS_MAIL=<url>)"),
    "ALERT_TO": ("alert_to", parse_sink_names, "sink names like telegram, ops_chat (SINK_OPS_CHAT=<url>)"),
    "ALERT_EDITS": (
        "alert_edits",
        parse_edit_channels,
        "'all' or a comma-separated list of @channels, t.me links or ids",
    ),
    "ALLOWED_USERS": ("allowed_users", parse_ids, "a comma-separated list of numeric user ids"),
    "ALLOWED_CHATS": ("allowed_chats", parse_ids, "a comma-separated list of numeric chat ids"),
    "ADMIN_USERS": ("admin_users", parse_ids, "a comma-separated list of numeric user ids"),
    "LOG_LEVEL": ("log_level", parse_level, "DEBUG, INFO, WARNING or ERROR"),
    "LOG_FORMAT": ("log_format", parse_choice("text", "json"), "'text' or 'json'"),
    "RULES_FILE": ("rules_file", Path, "a path to a keyword rules TOML file"),
    "BOILERPLATE_FILE": ("boilerplate_file", Path, "a path to a boilerplate rules TOML file"),
    "NEARDUP_WINDOW_DAYS": ("neardup_window_days", parse_positive_int, "a positive number of days like 14"),
    "DOWNLOAD_MEDIA": ("download_media", parse_bool, "true or false"),
    "MEDIA_MAX_MB": ("media_max_mb", parse_positive_int, "a positive number of megabytes like 50"),
    "TELEGRAM_SERVER": (
        "telegram_server",
        parse_server,
        "a test server as HOST:PORT or DC@HOST:PORT like 127.0.0.1:4430 or 2@127.0.0.1:4430",
    ),
    "TELEGRAM_PUBLIC_KEY": ("telegram_public_key", Path, "a path to the test server's RSA public key (PEM)"),
    "WEB_TOKEN": (
        "web_token",
        parse_web_token,
        "16 to 256 letters, digits or ._~+/=- (e.g. from secrets.token_urlsafe(32); see .env.example)",
    ),
    "FETCH_ARTICLES": ("fetch_articles", parse_bool, "true or false"),
    "ARTICLE_DOMAINS": ("article_domains", parse_domains, "a comma-separated list of host names, IP addresses or *"),
    "ARTICLE_SKIP_DOMAINS": ("article_skip_domains", parse_domains, "a comma-separated list of host names"),
    "ARTICLE_MAX_MB": ("article_max_mb", parse_megabytes, "a number of megabytes above 0, like 5 or 0.5"),
    "ARTICLE_RATE": ("article_rate", parse_seconds, "a pause per site like 2s, 500ms or 1m"),
    "ARTICLE_ROBOTS": ("article_robots", parse_bool, "true or false"),
    "TELEGRAM_ACCOUNTS": (
        "account_names",
        parse_account_names,
        "a comma-separated list of account names like main,second",
    ),
    "ACCOUNT_MAX_CHANNELS": ("account_max_channels", parse_positive_int, "a positive number of channels like 450"),
    "FEED_BASE_URL": ("feed_base_url", parse_url, "an http(s) URL like https://monitor.example.org"),
    "FEED_SECRET": (
        "feed_secret",
        parse_web_token,
        "16 to 256 letters, digits or ._~+/=- (e.g. from secrets.token_urlsafe(32))",
    ),
}
SETTING_NAMES = tuple(_PARSERS)
_CHANNEL_LISTS = frozenset({"CHANNELS", "FORWARDS_FROM", "ALERT_EDITS"})
ENV_FILE_VARIABLE = "TGMONITOR_ENV_FILE"  # the settings file, when not given with --env
# Never echoed in errors or logs (see Settings.secrets and bot/service/logging_setup.py).
SECRET_NAMES = frozenset({"API_HASH", "BOT_TOKEN", "TG_SESSION", "WEB_TOKEN", "FEED_SECRET", "DATABASE_URL"})
