"""The one list of commands: name, handler, usage, example, what it does; /help and the menu read it."""

from __future__ import annotations

from bot.commands.admin import cmd_channels, cmd_stats, cmd_unwatch, cmd_watch
from bot.commands.alert_rules import cmd_alert
from bot.commands.article import cmd_article
from bot.commands.deps import Command
from bot.commands.digests import cmd_digest, cmd_subscribe, cmd_subscriptions, cmd_unsubscribe
from bot.commands.help import cmd_help, cmd_start
from bot.commands.post import cmd_post
from bot.commands.search import cmd_latest, cmd_search, cmd_tag, cmd_tags
from bot.commands.spread import cmd_amplifiers, cmd_sources, cmd_spread

COMMANDS: tuple[Command, ...] = (
    Command("start", cmd_start, "/start", "/start", "What this bot is."),
    Command("help", cmd_help, "/help", "/help", "Every command with an example."),
    Command(
        "search",
        cmd_search,
        "/search WORDS [#tag] [@channel] [since:YYYY-MM-DD]",
        "/search Kosovo #serbia since:2026-11-01",
        "Full-text search, newest first, 5 per page; one line per story.",
        page_code="s",
    ),
    Command(
        "latest",
        cmd_latest,
        "/latest [N] [#tag]",
        "/latest 10 #serbia",
        "The newest N stories (up to 50).",
        page_code="l",
    ),
    Command("tag", cmd_tag, "/tag NAME", "/tag kosovo", "Stories with one tag, newest first.", page_code="t"),
    Command("tags", cmd_tags, "/tags [N]", "/tags 30", "The most used tags of the last 7 days.", page_code="g"),
    Command(
        "post",
        cmd_post,
        "/post ID [diff]",
        "/post 42 diff",
        "One post in full, with its link, versions and linked articles; diff: its last edit.",
    ),
    Command(
        "spread",
        cmd_spread,
        "/spread ID|LINK",
        "/spread https://t.me/mfa_russia/101",
        "Who carried a statement, how (forward, copy, paraphrase) and how fast.",
    ),
    Command(
        "amplifiers",
        cmd_amplifiers,
        "/amplifiers [DAYS]",
        "/amplifiers 7",
        "Channels that carry other channels' statements: how many, how often first, how fast.",
    ),
    Command(
        "sources",
        cmd_sources,
        "/sources [DAYS]",
        "/sources 30",
        "Channels your channels forward that you do not monitor.",
    ),
    Command("article", cmd_article, "/article ID", "/article 7", "A linked article's archived text."),
    Command(
        "digest",
        cmd_digest,
        "/digest [today|yesterday|week] [#tag]",
        "/digest yesterday #serbia",
        "A digest now, for this chat (default: the last 24 hours).",
    ),
    Command(
        "subscribe",
        cmd_subscribe,
        "/subscribe [#tag ...] [HH:MM] [Area/City] [to NAME ...] [where RULE]",
        "/subscribe #serbia #kosovo 08:30 Europe/Belgrade",
        "A daily digest in this chat, or to sinks with `to NAME` (defaults: DIGEST_TIME and TZ).",
    ),
    Command(
        "unsubscribe", cmd_unsubscribe, "/unsubscribe [ID]", "/unsubscribe 3", "Stop one digest, or all of this chat's."
    ),
    Command(
        "alert",
        cmd_alert,
        "/alert add RULE | list | rm N",
        "/alert add (Vucic OR Вучич) sanctions -sport",
        "Your own alert rules, in the language of /search; alerts come to this chat.",
    ),
    Command(
        "subscriptions", cmd_subscriptions, "/subscriptions", "/subscriptions", "This chat's digests.", page_code="u"
    ),
    Command(
        "stats", cmd_stats, "/stats", "/stats", "Archive size, and each channel's last poll and error.", page_code="x"
    ),
    Command("watch", cmd_watch, "/watch @channel", "/watch @balkan_watch", "Start archiving a channel.", admin=True),
    Command(
        "unwatch", cmd_unwatch, "/unwatch @channel", "/unwatch @balkan_watch", "Stop archiving a channel.", admin=True
    ),
    Command("channels", cmd_channels, "/channels", "/channels", "All known channels.", admin=True, page_code="c"),
)
