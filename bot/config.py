"""Settings from the environment and `.env`, checked once at start-up.

A monitor that runs unattended must fail at start, loudly and precisely, rather than at 08:00 when
the first digest is due: every problem names the variable, where it came from and the expected form.
Secrets are kept out of `repr()` so a logged Settings object never leaks them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_BOT_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
_WEB_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{16,256}$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class TelegramServer:
    """TELEGRAM_SERVER: a Telegram-protocol server other than Telegram's own (test servers only)."""

    dc_id: int
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.dc_id}@{host}:{self.port}"


class SettingsError(ValueError):
    """All problems found in the settings, one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    db_path: Path = Path("data/tgmonitor.db")
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
    digest_output: str | None = None
    alert_chat: int | str | None = None
    alert_tags: tuple[str, ...] = ()
    alert_words: tuple[str, ...] = ()
    alert_rate_per_minute: int = 20
    alert_edits: tuple[str, ...] = ()  # ("all",) or channels: edits and deletions there are alerted
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

    @property
    def has_api_credentials(self) -> bool:
        return self.api_id is not None and bool(self.api_hash)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values a log line must never contain."""
        return tuple(s for s in (self.api_hash, self.bot_token, self.session, self.web_token) if s and len(s) >= 6)

    @classmethod
    def load(cls, env_file: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `env_file` (named explicitly, never guessed) then the process environment, which wins.

        No `.env` is picked up from the working directory: under systemd and in the container that is the
        writable state directory, and anything able to write there could add settings.
        """
        environ = os.environ if environ is None else environ
        file_values: dict[str, str | None] = {}
        if env_file is not None:
            if not env_file.is_file():
                raise SettingsError([f"{env_file}: no such settings file (given with --env or {ENV_FILE_VARIABLE})"])
            file_values = dict(dotenv_values(env_file))
        merged = {k: v for k, v in file_values.items() if v is not None}
        merged.update({k: v for k, v in environ.items() if k in _PARSERS})
        return cls.from_mapping(merged, env_file=env_file if file_values else None, file_keys=set(file_values))

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, str], *, env_file: Path | None = None, file_keys: set[str] | None = None
    ) -> Settings:
        problems: list[str] = []
        kwargs: dict[str, Any] = {}
        for name, (attr, parse, form) in _PARSERS.items():
            raw = values.get(name)
            if raw is None or raw.strip() == "":
                continue
            try:
                kwargs[attr] = parse(raw.strip())
            except (ValueError, ZoneInfoNotFoundError) as exc:
                where = _where(name, env_file, file_keys or set())
                if name in SECRET_NAMES:
                    problems.append(f"{name}{where}: expected {form}, got {describe_secret(raw)}")
                    continue
                detail = f" ({exc})" if str(exc) else ""
                problems.append(f"{name}{where}: expected {form}, got {raw.strip()!r}{detail}")
        if "data_dir" in kwargs and "db_path" not in kwargs:
            kwargs["db_path"] = kwargs["data_dir"] / "tgmonitor.db"
        if bool((values.get("API_ID") or "").strip()) != bool((values.get("API_HASH") or "").strip()):
            problems.append("API_ID and API_HASH: set both (from https://my.telegram.org) or neither")
        for attr, name in (("rules_file", "RULES_FILE"), ("boilerplate_file", "BOILERPLATE_FILE")):
            path = kwargs.get(attr)
            if path is not None and not path.is_file():
                problems.append(f"{name}{_where(name, env_file, file_keys or set())}: no such file: {path}")
        key = kwargs.get("telegram_public_key")
        where_key = _where("TELEGRAM_PUBLIC_KEY", env_file, file_keys or set())
        if key is not None and "telegram_server" not in kwargs and "TELEGRAM_SERVER" not in values:
            problems.append(
                f"TELEGRAM_PUBLIC_KEY{where_key}: only used with TELEGRAM_SERVER (a test server); set both or neither"
            )
        elif key is not None:
            problem = _public_key_problem(key)
            if problem:
                problems.append(f"TELEGRAM_PUBLIC_KEY{where_key}: {problem}")
        if problems:
            raise SettingsError(problems)
        return cls(**kwargs)


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
        for number, line in enumerate(env_file.read_text(encoding="utf-8").splitlines(), start=1):
            if re.match(rf"^\s*(export\s+)?{re.escape(name)}\s*=", line):
                return f" ({env_file}:{number})"
    except OSError:
        pass
    return f" ({env_file})"


_SERVER = re.compile(r"^(?:(\d+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d+)$")
DEFAULT_TEST_DC = 2  # Telethon's default DC, and the one piltover and Telegram's test servers answer on


def _server(raw: str) -> TelegramServer:
    match = _SERVER.match(raw)
    if not match:
        raise ValueError("")
    dc, host, port = match.groups()
    if not 0 < int(port) < 65536:
        raise ValueError("port out of range")
    if dc is not None and not 0 < int(dc) < 1000:
        raise ValueError("DC id out of range")
    return TelegramServer(int(dc) if dc else DEFAULT_TEST_DC, host.strip("[]"), int(port))


def _public_key_problem(path: Path) -> str | None:
    """The server's RSA key must be readable PEM: a wrong file would only fail later, inside the handshake."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}"
    if "-----BEGIN RSA PUBLIC KEY-----" not in text:
        return f"{path} is not a PEM public key (expected a PKCS#1 '-----BEGIN RSA PUBLIC KEY-----' block)"
    return None


def _duration(raw: str) -> int:
    match = _DURATION.match(raw)
    if not match or int(match.group(1)) <= 0:
        raise ValueError("")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def _chat(raw: str) -> int | str:
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if re.fullmatch(r"@?[A-Za-z][A-Za-z0-9_]{3,}", raw):
        return raw if raw.startswith("@") else "@" + raw
    raise ValueError("")


def _list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in re.split(r"[,\s]+", raw) if item.strip())


def _words(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _edit_channels(raw: str) -> tuple[str, ...]:
    """ALERT_EDITS: `all`, or channels as CHANNELS writes them; each checked, so a typo fails at start."""
    items = _list(raw)
    if any(item.lower() == "all" for item in items):
        if len(items) > 1:
            raise ValueError("'all' already covers every channel; list channels or write all, not both")
        return ("all",)
    for item in items:
        name = re.sub(r"^(https?://)?(www\.)?(t|telegram)\.me/(s/)?", "", item, flags=re.IGNORECASE).strip("/")
        if not re.fullmatch(r"-?\d+|@?[A-Za-z][A-Za-z0-9_]{3,31}", name):
            raise ValueError(f"{item!r} is not a channel")
    return items


def _ids(raw: str) -> frozenset[int]:
    return frozenset(int(item) for item in _list(raw))


def _hhmm(raw: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
    if not match:
        raise ValueError("")
    return time(int(match.group(1)), int(match.group(2)))


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.lower() not in options:
            raise ValueError("")
        return raw.lower()

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("")


def _token(raw: str) -> str:
    if not _BOT_TOKEN.match(raw):
        raise ValueError("")
    return raw


def _web_token(raw: str) -> str:
    if not _WEB_TOKEN.match(raw):
        raise ValueError("")
    return raw


def _hash(raw: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{32}", raw):
        raise ValueError("")
    return raw


def _url(raw: str) -> str:
    if not re.match(r"^https?://[^\s/]+", raw):
        raise ValueError("")
    return raw.rstrip("/")


def _domains(raw: str) -> tuple[str, ...]:
    """Host names (a name covers its subdomains), IP addresses, or `*` for any public host."""
    found = []
    for item in _list(raw):
        host = item.lower().removeprefix("http://").removeprefix("https://").rstrip("/").rstrip(".")
        if host != "*" and not re.fullmatch(r"[a-z0-9\[\]:._-]+", host.encode("idna").decode("ascii")):
            raise ValueError(f"not a host name: {item!r}")
        found.append(host if host == "*" else host.encode("idna").decode("ascii"))
    return tuple(found)


def _megabytes(raw: str) -> float:
    value = float(raw)
    if not 0 < value <= 1024:
        raise ValueError("must be above 0 and at most 1024")
    return value


def _seconds(raw: str) -> float:
    """A pause: 2, 2s, 1.5s, 500ms, 1m."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", raw, re.IGNORECASE)
    if not match:
        raise ValueError("")
    value = float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[(match.group(2) or "s").lower()]
    if value > 3600:
        raise ValueError("at most an hour")
    return value


def _level(raw: str) -> str:
    if raw.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("")
    return raw.upper()


# variable -> (attribute, parser, expected form shown in errors)
_PARSERS: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "DATA_DIR": ("data_dir", Path, "a directory path"),
    "DB_PATH": ("db_path", Path, "a file path"),
    "API_ID": ("api_id", _positive_int, "a positive integer from https://my.telegram.org"),
    "API_HASH": ("api_hash", _hash, "32 hexadecimal characters from https://my.telegram.org"),
    "TG_SESSION": ("session", str, "a session file path or a StringSession string"),
    "BOT_TOKEN": ("bot_token", _token, "a token from @BotFather like 123456789:AAE..."),
    "CHANNELS": ("channels", _list, "a comma-separated list of @username, t.me/name links or ids"),
    "FORWARDS_FROM": ("forwards_from", _list, "a comma-separated list of channels"),
    "POLL_INTERVAL": ("poll_interval", _duration, "a positive duration like 300, 90s, 5m or 1h"),
    "WEB_PREVIEW_BASE": ("web_preview_base", _url, "an http(s) URL like https://t.me"),
    "DIGEST_CHAT": ("digest_chat", _chat, "a chat id like -1001234567890 or a @username"),
    "DIGEST_TIME": ("digest_time", _hhmm, "a local time HH:MM like 08:00"),
    "TZ": ("tz", ZoneInfo, "an IANA time zone like Europe/Sofia"),
    "DIGEST_TAGS": ("digest_tags", _list, "a comma-separated list of tags"),
    "DIGEST_EMPTY": ("digest_empty", _choice("skip", "notice"), "'skip' or 'notice'"),
    "DIGEST_OUTPUT": ("digest_output", str, "'-' for stdout or a file path"),
    "ALERT_CHAT": ("alert_chat", _chat, "a chat id like -1001234567890 or a @username"),
    "ALERT_TAGS": ("alert_tags", _list, "a comma-separated list of tags"),
    "ALERT_WORDS": ("alert_words", _words, "a comma-separated list of words or phrases"),
    "ALERT_RATE_PER_MINUTE": ("alert_rate_per_minute", _positive_int, "a positive integer"),
    "ALERT_EDITS": ("alert_edits", _edit_channels, "'all' or a comma-separated list of @channels, t.me links or ids"),
    "ALLOWED_USERS": ("allowed_users", _ids, "a comma-separated list of numeric user ids"),
    "ALLOWED_CHATS": ("allowed_chats", _ids, "a comma-separated list of numeric chat ids"),
    "ADMIN_USERS": ("admin_users", _ids, "a comma-separated list of numeric user ids"),
    "LOG_LEVEL": ("log_level", _level, "DEBUG, INFO, WARNING or ERROR"),
    "LOG_FORMAT": ("log_format", _choice("text", "json"), "'text' or 'json'"),
    "RULES_FILE": ("rules_file", Path, "a path to a keyword rules TOML file"),
    "BOILERPLATE_FILE": ("boilerplate_file", Path, "a path to a boilerplate rules TOML file"),
    "NEARDUP_WINDOW_DAYS": ("neardup_window_days", _positive_int, "a positive number of days like 14"),
    "DOWNLOAD_MEDIA": ("download_media", _bool, "true or false"),
    "MEDIA_MAX_MB": ("media_max_mb", _positive_int, "a positive number of megabytes like 50"),
    "TELEGRAM_SERVER": (
        "telegram_server",
        _server,
        "a test server as HOST:PORT or DC@HOST:PORT like 127.0.0.1:4430 or 2@127.0.0.1:4430",
    ),
    "TELEGRAM_PUBLIC_KEY": ("telegram_public_key", Path, "a path to the test server's RSA public key (PEM)"),
    "WEB_TOKEN": (
        "web_token",
        _web_token,
        "16 to 256 letters, digits or ._~+/=- (e.g. from secrets.token_urlsafe(32); see .env.example)",
    ),
    "FETCH_ARTICLES": ("fetch_articles", _bool, "true or false"),
    "ARTICLE_DOMAINS": ("article_domains", _domains, "a comma-separated list of host names, IP addresses or *"),
    "ARTICLE_SKIP_DOMAINS": ("article_skip_domains", _domains, "a comma-separated list of host names"),
    "ARTICLE_MAX_MB": ("article_max_mb", _megabytes, "a number of megabytes above 0, like 5 or 0.5"),
    "ARTICLE_RATE": ("article_rate", _seconds, "a pause per site like 2s, 500ms or 1m"),
    "ARTICLE_ROBOTS": ("article_robots", _bool, "true or false"),
}
SETTING_NAMES = tuple(_PARSERS)
ENV_FILE_VARIABLE = "TGMONITOR_ENV_FILE"  # the settings file, when not given with --env
# Never echoed in errors or logs (see Settings.secrets and bot/logging_setup.py).
SECRET_NAMES = frozenset({"API_HASH", "BOT_TOKEN", "TG_SESSION", "WEB_TOKEN"})
