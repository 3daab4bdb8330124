"""Which posts deserve an alert (ALERT_TAGS / ALERT_WORDS) and what the alert says. Pure.

Words are matched here in Python rather than with SQL: SQLite's LIKE and lower() fold ASCII only,
so "Вучич" would not find "ВУЧИЧ". Text and words are NFC-normalised and case-folded (and ё read as
е, as Russian writers mostly do); a word matches whole, a trailing `*` matches any ending
(`серби*` finds "Сербия", "сербской"), a phrase matches across any run of spaces.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from bot.core.articles import display_title
from bot.core.digest_render import snippet
from bot.core.telegram_text import strip_bidi
from bot.models import StoredPost


def fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().replace("ё", "е")


@dataclass(frozen=True, slots=True)
class WatchWord:
    word: str  # as configured, for the alert's headline
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, word: str) -> WatchWord:
        stem = word.strip()
        prefix = stem.endswith("*")
        body = r"\s+".join(re.escape(part) for part in fold(stem.rstrip("*")).split())
        tail = r"\w*" if prefix else r"(?!\w)"
        return cls(word.strip(), re.compile(rf"(?<!\w){body}{tail}"))


@dataclass(frozen=True, slots=True)
class AlertRules:
    tags: frozenset[str]  # case-folded tag keys, no '#'
    words: tuple[WatchWord, ...]

    @classmethod
    def from_settings(cls, tags: Iterable[str], words: Iterable[str]) -> AlertRules:
        return cls(
            frozenset(t.strip().lstrip("#").casefold() for t in tags if t.strip("# ")),
            tuple(WatchWord.parse(w) for w in words if w.strip().rstrip("*").strip()),
        )

    @property
    def active(self) -> bool:
        return bool(self.tags or self.words)

    def reasons(self, post: StoredPost, articles: Sequence[tuple[str | None, str]] = ()) -> list[str]:
        """Why `post` is alert-worthy (tag display names, then the words found); [] if it is not.

        `articles` are the (title, text) of its fetched linked pages: a word only there counts too,
        marked "(article)". The post's tags already hold its articles' topics.
        """
        found = [t.display for t in post.tags if t.key in self.tags]
        if self.words:
            text = fold(post.text)
            linked = fold("\n\n".join(f"{title or ''}\n\n{body}" for title, body in articles)) if articles else ""
            for word in self.words:
                if word.pattern.search(text):
                    found.append(word.word)
                elif linked and word.pattern.search(linked):
                    found.append(f"{word.word} (article)")
        return list(dict.fromkeys(found))


def render_alert(post: StoredPost, reasons: list[str], tz: tzinfo) -> str:
    """One short Telegram-HTML message; every piece of post text escaped."""
    esc = html.escape
    body = snippet(post.text) or f"[{post.media_kind or 'media'}]"
    when = post.date.astimezone(tz).strftime("%d %b %H:%M")
    lines = [
        f"🔔 <b>{esc(' · '.join(reasons))}</b>",
        f"<i>{esc(when)}</i> · {esc(strip_bidi(post.channel_label))}",
        esc(body),
    ]
    titles = [display_title(strip_bidi(a.title)) for a in post.articles if a.title and a.status == "done"]
    if titles:
        lines.append(f"📄 {esc(titles[0] or '')}")
    if post.url:
        lines.append(f'<a href="{esc(post.url, quote=True)}">open</a>')
    return "\n".join(lines)
