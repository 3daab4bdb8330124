"""Which posts deserve an alert (ALERT_TAGS / ALERT_WORDS) and what the alert says. Pure.

A watched word matches as search does (bot/core/search_query.py, bot/core/textnorm.py): any
inflection, either script, ё or е, any case ("Вучич" alerts on "ВУЧИЧА", "Vučić" and "Вучић"); a
phrase needs all its words; "quoted" text must appear exactly.  A trailing `*` matches any ending of
the folded word (`серби*` finds "Сербия", "сербской").
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from bot.core.articles import display_title
from bot.core.digest_render import snippet
from bot.core.rule_match import ChannelIds, Matcher, PostFacts, RuleSet
from bot.core.rules import Rule, RuleError, parse_rule
from bot.core.search_query import SearchQuery, contains_exact, parse_query
from bot.core.telegram_text import strip_bidi
from bot.core.textnorm import TextNormaliser, fold
from bot.models import StoredPost


@dataclass(frozen=True, slots=True)
class WatchWord:
    word: str  # as configured, for the alert's headline
    query: SearchQuery | None  # words and "phrases", matched like a search
    prefix: re.Pattern[str] | None  # `stem*`: on the folded text

    @classmethod
    def parse(cls, word: str, normaliser: TextNormaliser) -> WatchWord:
        word = word.strip()
        if word.endswith("*"):
            body = r"\s+".join(re.escape(part) for part in fold(word.rstrip("*")).split())
            return cls(word, None, re.compile(rf"(?<!\w){body}\w*"))
        return cls(word, parse_query(word, normaliser), None)

    def found_in(self, text: str, folded: str, tokens: set[str]) -> bool:
        if self.prefix is not None:
            return self.prefix.search(folded) is not None
        query = self.query
        return (
            query is not None
            and not query.empty
            and all(term & tokens for term in query.terms)
            and all(contains_exact(text, p) for p in query.phrases)
        )


def parse_rules(rules: Iterable[tuple[str, str]], normaliser: TextNormaliser) -> tuple[Rule, ...]:
    """ALERT_RULES as parsed rules; ValueError naming the rule's place (file:line or 'rule N') and position."""
    parsed = []
    for where, text in rules:
        try:
            parsed.append(parse_rule(text, normaliser))
        except RuleError as exc:
            raise ValueError(f"ALERT_RULES ({where}): {exc}") from None
    return tuple(parsed)


@dataclass(frozen=True, slots=True)
class AlertRules:
    tags: frozenset[str]  # case-folded tag keys, no '#'
    words: tuple[WatchWord, ...]
    normaliser: TextNormaliser
    rules: RuleSet | None = None  # ALERT_RULES (bot/core/rules.py), indexed by their terms

    @classmethod
    def from_settings(
        cls,
        tags: Iterable[str],
        words: Iterable[str],
        normaliser: TextNormaliser | None = None,
        rules: Iterable[tuple[str, str]] = (),
        channels: ChannelIds | None = None,
    ) -> AlertRules:
        normaliser = normaliser or TextNormaliser()
        parsed = parse_rules(rules, normaliser)
        matcher = Matcher(normaliser, channels) if channels is not None else Matcher(normaliser)
        return cls(
            frozenset(t.strip().lstrip("#").casefold() for t in tags if t.strip("# ")),
            tuple(WatchWord.parse(w, normaliser) for w in words if w.strip().rstrip("*").strip()),
            normaliser,
            RuleSet(parsed, matcher) if parsed else None,
        )

    @property
    def active(self) -> bool:
        return bool(self.tags or self.words or self.rules)

    def reasons(
        self, post: StoredPost, articles: Sequence[tuple[str | None, str]] = (), channel_tg_id: int | None = None
    ) -> list[str]:
        """Why `post` is alert-worthy (tag display names, then the words found); [] if it is not.

        `articles` are the (title, text) of its fetched linked pages: a word only there counts too,
        marked "(article)". The post's tags already hold its articles' topics.
        """
        found = [t.display for t in post.tags if t.key in self.tags]
        if self.words:
            folded = fold(post.text)
            tokens = set(self.normaliser.index_tokens(post.text, post.lang))
            linked = "\n\n".join(f"{title or ''}\n\n{body}" for title, body in articles) if articles else ""
            linked_folded = fold(linked) if linked else ""
            linked_tokens = set(self.normaliser.index_tokens(linked, None)) if linked else set()
            for word in self.words:
                if word.found_in(post.text, folded, tokens):
                    found.append(word.word)
                elif linked and word.found_in(linked, linked_folded, linked_tokens):
                    found.append(f"{word.word} (article)")
        if self.rules is not None:  # rules judge the post itself (its text, tags, channel, origin)
            found.extend(rule.text for rule in self.rules.matching(PostFacts.of(post, channel_tg_id)))
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
