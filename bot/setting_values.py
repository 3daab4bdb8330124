"""Parsers for single setting values (durations, chats, lists, tokens, servers…): each returns the value
or raises ValueError with what is wrong; bot/config.py names the variable and where it came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(r"^\s*([0-9]{1,9})\s*([smhd]?)\s*$", re.IGNORECASE)
_BOT_TOKEN = re.compile(r"^[0-9]{3,}:[A-Za-z0-9_-]{20,}$")
_WEB_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{16,256}$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_TAG = re.compile(r"#?\w+")


@dataclass(frozen=True, slots=True)
class TelegramServer:
    """TELEGRAM_SERVER: a Telegram-protocol server other than Telegram's own (test servers only)."""

    dc_id: int
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.dc_id}@{host}:{self.port}"


_SERVER = re.compile(r"^(?:([0-9]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]+)$")
DEFAULT_TEST_DC = 2  # Telethon's default DC, and the one piltover and Telegram's test servers answer on


def parse_server(raw: str) -> TelegramServer:
    match = _SERVER.match(raw)
    if not match:
        raise ValueError("")
    dc, host, port = match.groups()
    if not 0 < int(port) < 65536:
        raise ValueError("port out of range")
    if dc is not None and not 0 < int(dc) < 1000:
        raise ValueError("DC id out of range")
    return TelegramServer(int(dc) if dc else DEFAULT_TEST_DC, host.strip("[]"), int(port))


def public_key_problem(path: Path) -> str | None:
    """The server's RSA key must be readable PEM: a wrong file would only fail later, inside the handshake."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        return f"cannot read {shown_detail(str(path))}: {exc.strerror or exc}"
    if "-----BEGIN RSA PUBLIC KEY-----" not in text:
        return f"{path} is not a PEM public key (expected a PKCS#1 '-----BEGIN RSA PUBLIC KEY-----' block)"
    return None


def shown_value(raw: str, limit: int = 80) -> str:
    """A value quoted for an error line, cut after `limit` characters: a 10,000-character mistake (a
    pasted file, a runaway variable) must not become a 10,000-character line."""
    value = raw.strip()
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"


def shown_detail(text: str, limit: int = 200) -> str:
    """A parser's explanation for an error line, cut like `shown_value` (it may quote the value)."""
    return text if len(text) <= limit else f"{text[:limit]}…"


def is_file(path: Path) -> bool:
    """`Path.is_file()` that says False instead of raising for a path the system refuses: Python 3.11
    answers False only for a missing or looping path, and raises OSError for a name too long
    (ENAMETOOLONG), which a setting can hold."""
    try:
        return path.is_file()
    except OSError:
        return False


def read_utf8(path: Path) -> str:
    """A settings or rules file's text; ValueError naming the file (and the line of a byte that is not
    UTF-8, as a Windows editor's ANSI encoding writes) instead of OSError or UnicodeDecodeError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8") from None


def parse_time_zone(raw: str) -> ZoneInfo:
    """TZ and --tz: an IANA zone like Europe/Sofia. ZoneInfo raises more than ZoneInfoNotFoundError:
    IsADirectoryError for a region ("Europe"), OSError for a name too long, ValueError for a path."""
    name = raw.strip()
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise ValueError("no such zone in the time zone database") from None
    except IsADirectoryError:
        raise ValueError("a region, not a zone: add the city") from None
    except (OSError, ValueError):
        raise ValueError("not a zone name in the time zone database") from None


def parse_duration(raw: str) -> int:
    match = _DURATION.match(raw)
    if not match or int(match.group(1)) <= 0:
        raise ValueError("")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def parse_positive_int(raw: str) -> int:
    # ASCII digits only: int() also reads "١", "1_0" and " 5 " (bot/core/numbers.py says why it matters)
    if not re.fullmatch(r"\s*[0-9]{1,18}\s*", raw):
        raise ValueError("must be a whole number in ASCII digits")
    value = int(raw)
    if value <= 0:
        raise ValueError("must be positive")
    return value


def parse_count(raw: str) -> int:
    """0 or a positive whole number in ASCII digits (not `int()`: it takes "٣" and "1_000")."""
    if not re.fullmatch(r"[0-9]{1,9}", raw.strip()):
        raise ValueError("expected 0 or a positive whole number")
    return int(raw)


def parse_chat(raw: str) -> int | str:
    if re.fullmatch(r"-?[0-9]+", raw):
        return int(raw)
    if re.fullmatch(r"@?[A-Za-z][A-Za-z0-9_]{3,}", raw):
        return raw if raw.startswith("@") else "@" + raw
    raise ValueError("")


def parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in re.split(r"[,\s]+", raw) if item.strip())


def check_each(items: tuple[str, ...], check: Callable[[str], object]) -> None:
    """Every entry through `check`; the error quotes each one that fails, not just the first."""
    bad = []
    for item in items:
        if item == "all":  # ALERT_EDITS=all
            continue
        try:
            check(item)
        except ValueError as exc:
            bad.append(str(exc))
    if bad:
        raise ValueError("; ".join(bad))


def parse_channels(raw: str) -> tuple[str, ...]:
    return non_empty(parse_list(raw))


def parse_tags(raw: str) -> tuple[str, ...]:
    items = non_empty(parse_list(raw))
    bad = [item for item in items if not _TAG.fullmatch(item)]
    if bad:
        raise ValueError(", ".join(repr(b) for b in bad) + " " + ("is not a tag" if len(bad) == 1 else "are not tags"))
    return items


def non_empty(items: tuple[str, ...]) -> tuple[str, ...]:
    if not items:
        raise ValueError("no entries, only separators")
    return items


def parse_words(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def parse_edit_channels(raw: str) -> tuple[str, ...]:
    """ALERT_EDITS: `all`, or channels as CHANNELS writes them (each checked by `channel_check`)."""
    items = non_empty(parse_list(raw))
    if any(item.lower() == "all" for item in items):
        if len(items) > 1:
            raise ValueError("'all' already covers every channel; list channels or write all, not both")
        return ("all",)
    return items


def parse_ids(raw: str) -> frozenset[int]:
    items = parse_list(raw)
    bad = next((item for item in items if not re.fullmatch(r"-?[0-9]{1,19}", item)), None)
    if bad is not None:
        raise ValueError(f"{bad[:30]!r} is not a numeric id (ASCII digits)")
    return frozenset(int(item) for item in items)


def parse_hhmm(raw: str) -> time:
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", raw)
    if not match:
        raise ValueError("")
    return time(int(match.group(1)), int(match.group(2)))


def parse_choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.lower() not in options:
            raise ValueError("")
        return raw.lower()

    return parse


def parse_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("")


def parse_token(raw: str) -> str:
    if not _BOT_TOKEN.match(raw):
        raise ValueError("")
    return raw


def parse_web_token(raw: str) -> str:
    if not _WEB_TOKEN.match(raw):
        raise ValueError("")
    return raw


def parse_hash(raw: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{32}", raw):
        raise ValueError("")
    return raw


def parse_url(raw: str) -> str:
    if not re.match(r"^https?://[^\s/]+", raw):
        raise ValueError("")
    return raw.rstrip("/")


def parse_database_url(raw: str) -> str:
    """postgresql://[user[:password]@]host[:port]/database[?options]: the shared archive (docs/team.md).
    Only the form is checked here; the server answers at start-up (storage/pg/open.py)."""
    if not re.match(r"^postgres(?:ql)?://[^\s]*$", raw):
        raise ValueError("it must start with postgresql://")
    return raw


def is_database_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


def url_password(url: str) -> str | None:
    """The password a postgresql:// URL carries (in its user part or as `?password=`): a secret for the
    log filter (Settings.secrets)."""
    try:
        parts = urlsplit(url)
        if parts.password:
            return unquote(parts.password)
    except ValueError:
        return None
    given = [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "password"]
    return given[0] if given and given[0] else None


def parse_output(raw: str) -> str | None:
    return None if raw.lower() in {"off", "none"} else raw


def parse_domains(raw: str) -> tuple[str, ...]:
    """Host names (a name covers its subdomains), IP addresses, or `*` for any public host."""
    found = []
    for item in parse_list(raw):
        host = item.lower().removeprefix("http://").removeprefix("https://").rstrip("/").rstrip(".")
        if host != "*" and not re.fullmatch(r"[a-z0-9\[\]:._-]+", host.encode("idna").decode("ascii")):
            raise ValueError(f"not a host name: {item!r}")
        found.append(host if host == "*" else host.encode("idna").decode("ascii"))
    return tuple(found)


def parse_megabytes(raw: str) -> float:
    if not re.fullmatch(r"\s*[0-9]{1,6}(?:\.[0-9]{1,6})?\s*", raw):  # float() also reads "١", "1e3", "nan"
        raise ValueError("must be a number of megabytes like 5 or 0.5")
    value = float(raw)
    if not 0 < value <= 1024:
        raise ValueError("must be above 0 and at most 1024")
    return value


def parse_seconds(raw: str) -> float:
    """A pause: 2, 2s, 1.5s, 500ms, 1m."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m)?\s*", raw, re.IGNORECASE)
    if not match:
        raise ValueError("")
    value = float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[(match.group(2) or "s").lower()]
    if value > 3600:
        raise ValueError("at most an hour")
    return value


def parse_level(raw: str) -> str:
    if raw.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("")
    return raw.upper()


# ------------------------------------------------------------------ sinks and rules (docs/sinks-and-rules.md)
SINK_PREFIX = "SINK_"
TELEGRAM_SINK = "telegram"  # today's chat (DIGEST_CHAT / ALERT_CHAT): always defined, the default
_SINK_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_SINK_URL = re.compile(r"[a-z][a-z0-9+.-]{1,15}://\S+")
_SECRETISH = re.compile(r"\d")


def sink_name(variable: str) -> str:
    """SINK_OPS_MAIL -> ops_mail."""
    return variable[len(SINK_PREFIX) :].lower()


def parse_sink_url(raw: str) -> str:
    """An Apprise URL (json://, mailto://, slack://, ...); Apprise itself checks the rest when it loads."""
    if not _SINK_URL.fullmatch(raw):
        raise ValueError("not a URL like json://host/path or mailtos://user:pass@host")
    return raw


def parse_sink_names(raw: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(item.lower() for item in non_empty(parse_list(raw))))
    bad = [item for item in items if not _SINK_NAME.fullmatch(item)]
    if bad:
        raise ValueError(", ".join(map(repr, bad)) + " is not a sink name (letters, digits, _)")
    return items


def sink_secrets(url: str) -> tuple[str, ...]:
    """The parts of a sink URL that are secrets, for the log filter: the password, a user name without
    a password (ntfy://TOKEN@host), and every path segment or query value that looks like a token
    (8+ characters with a digit, or 20+), where services put them (slack://T1/B2/XYZ, discord://id/token).
    Shorter than 6 characters they are not listed (the filter would blank common words): redacted_url
    still hides every password."""
    try:
        parts = urlsplit(url)
        user, password = parts.username or "", parts.password or ""
    except ValueError:
        return (url,)
    found = [password] if password else [user]
    netloc = parts.netloc.rpartition("@")[2]
    segments = [unquote(s) for s in parts.path.split("/") if s]
    for item in [*segments, *(v for _, v in parse_qsl(parts.query))]:
        if (len(item) >= 8 and _SECRETISH.search(item)) or len(item) >= 20:
            found.append(item)
    if parts.scheme in _TOKEN_HOSTS:  # the "host" of these URLs is a token or a bot id (tgram://ID:TOKEN/chat)
        found.extend([netloc, *netloc.split(":")])
    return tuple(dict.fromkeys(f for f in found if len(f) >= 6))


_TOKEN_HOSTS = ("tgram", "discord", "slack", "gotify", "pover", "pbul")


def redacted_url(url: str) -> str:
    """The URL with every secret part replaced by [redacted]: what `tgmonitor sinks`, `status` and errors show."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "[redacted]"
    shown = url
    if password:
        user = parts.username or ""
        shown = shown.replace(f"{quote(user, safe='')}:{quote(password, safe='')}@", f"{user}:[redacted]@", 1)
        shown = shown.replace(f"{user}:{password}@", f"{user}:[redacted]@", 1)
    for secret in sorted(sink_secrets(url), key=len, reverse=True):
        shown = shown.replace(secret, "[redacted]").replace(quote(secret, safe=""), "[redacted]")
    return shown


def parse_alert_rules(raw: str) -> tuple[tuple[str, str], ...]:
    """ALERT_RULES: a file with one rule per line (blank lines and lines starting with '# ' skipped),
    or rules separated by ';'.  Each rule comes with where it was written, for error messages."""
    path = Path(raw)
    if ";" not in raw and "\n" not in raw and len(raw) < 4096 and is_file(path):
        rules = []
        for number, line in enumerate(read_utf8(path).splitlines(), start=1):
            text = line.strip()
            if text and not (text == "#" or text.startswith("# ")):
                rules.append((f"{path}:{number}", text))
        return tuple(rules)
    return tuple((f"rule {n}", r.strip()) for n, r in enumerate(raw.split(";"), start=1) if r.strip())


SERVICE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


def parse_service_name(raw: str) -> str:
    """SERVICE_NAME: no dot, so `service.<name>.<field>` never reads as another key (storage/services.py)."""
    name = raw.strip()
    if not SERVICE_NAME.match(name):
        raise ValueError(f"{raw!r}: a name is a letter then up to 31 letters, digits, '-' or '_'")
    return name
