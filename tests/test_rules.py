"""The rule language (bot/core/rules.py): parsing and its errors, a labelled set of rules over posts in
four languages, and the promise that a rule as an alert (bot/core/rule_match.py, in memory) and as a
search (storage/rule_sql.py, SQL on a real archive) select the same posts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.pipeline import Pipeline
from bot.core.rule_match import Matcher, PostFacts, RuleSet, near_match
from bot.core.rules import RuleError, parse_rule
from bot.core.textnorm import TextNormaliser
from bot.models import ChannelRef, Forward
from storage.store import QueryError, Store
from tests.conftest import raw_post

pytestmark = pytest.mark.both_backends

N = TextNormaliser()
MFA = ChannelRef(tg_id=2002, username="mfa_russia", title="MFA Russia")
BG = ChannelRef(tg_id=3003, username="bg_news", title="BG News")
BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

# (message id, channel, text, hashtags, forward)
POSTS: list[tuple[int, ChannelRef | None, str, tuple[str, ...], Forward | None]] = [
    (1, MFA, "Министр Лавров провёл переговоры с коллегой из Сербии о поставках газа.", ("Сербия",), None),
    (2, MFA, "Президент Сербии Вучич заявил, что санкций против России не будет.", (), None),
    (3, None, "Sanctions on Russian gas: the EU talks stall again.", ("sanctions",), None),
    (4, None, "Vučić: Srbija neće uvesti sankcije Rusiji, bez obzira na pritiske.", (), None),
    (5, BG, "Сърбия и България подписаха споразумение за доставки на газ.", ("газ",), None),
    (6, BG, "Министрите обсъдиха санкциите срещу Русия в Брюксел.", (), None),
    (7, None, "Вучић: Србија неће увести санкције Русији.", (), Forward(username="mfa_russia", message_id=2)),
    (8, None, "Lavrov met the Serbian minister; gas was not discussed at the long and tiring meeting.", (), None),
    (9, None, "Weather: sunny in Belgrade, rain in Sofia.", ("weather",), Forward(name="Weather Desk")),
    (10, BG, "Lavrov and Vucic talked about gas supplies.", (), None),
]


def _fill(store: Store, pipeline: Pipeline) -> None:
    raws = [
        raw_post(mid, text, channel=channel, hashtags=tags, forward=fwd, date=BASE + timedelta(minutes=mid))
        for mid, channel, text, tags, fwd in POSTS
    ]
    store.save_posts([pipeline.process(r) for r in raws])


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, pipeline: Pipeline) -> Iterator[Store]:
    opened = Store.open(tmp_path_factory.mktemp("rules") / "archive.db")
    _fill(opened, pipeline)
    yield opened
    opened.close()


def by_search(store: Store, rule: str) -> set[int]:
    return {p.message_id for p in store.search(rule, limit=1000)}


def matcher_of(store: Store) -> Matcher:
    def channels(value: str) -> frozenset[int]:
        row = store.find_channel(value if value.startswith("@") else int(value))
        return frozenset({row.id}) if row else frozenset()

    return Matcher(store.search_index.normaliser, channels)


def by_alert(store: Store, rule: str) -> set[int]:
    parsed = parse_rule(rule, store.search_index.normaliser)
    matcher = matcher_of(store)
    tg_ids = {c.id: c.tg_id for c in store.channels()}
    posts = store.search(None, limit=1000)
    return {p.message_id for p in posts if matcher.matches(parsed, PostFacts.of(p, tg_ids.get(p.channel_id)))}


LABELLED = [
    ("Сербия", {1, 2}),  # any Russian form (Сербии); Serbian Србија/Srbija is another language's word
    ("санкции", {2, 6}),  # санкций, and Bulgarian санкциите
    ("sanctions", {3}),  # a Latin word: English forms (and Serbian Latin)
    ("Вучич санкции", {2}),  # every word (bare words keep their meaning)
    ("Vucic", {2, 4, 7, 10}),  # Вучич, Vučić, Вучић: one name in both scripts
    ("Vucic AND gas", {10}),
    ("Вучич OR Лавров", {1, 2, 4, 7, 8, 10}),
    ("gas OR газ", {1, 3, 5, 8, 10}),
    ("(gas OR газ) -Lavrov", {3, 5}),
    ("(gas OR газ) NOT Лавров", {3, 5}),
    ("Lavrov NOT (Сербия OR Vucic)", {8}),  # "Serbian" is no form of Сербия
    ('"провёл переговоры"', {1}),
    ('"провел переговоры"', set()),  # a phrase is the very forms, ё included
    ('"Сербии" Вучич', {2}),
    ("NEAR(Lavrov gas, 3)", set()),  # four words between them in 8 and in 10
    ("NEAR(Lavrov gas, 4)", {8, 10}),
    ("NEAR(Lavrov Vucic, 1)", {10}),
    ("NEAR(Lavrov discussed, 6)", set()),  # seven words between
    ("NEAR(discussed Lavrov, 7)", {8}),
    ("NEAR(gas Lavrov)", {8, 10}),  # any order, default distance 10
    ("#Сербия", {1}),
    ("tag:sanctions OR #weather", {2, 3, 4, 6, 7, 9}),  # a topic tag counts as much as a hashtag
    ("#serbia lang:en -#weather", {8, 10}),
    ("channel:@mfa_russia", {1, 2}),
    ("@bg_news газ", {5}),
    ("channel:3003 -газ", {6, 10}),
    ("lang:bg", {5, 6}),
    ("lang:sr санкције", {4, 7}),
    ("from:@mfa_russia", {7}),
    ('from:"weather desk"', {9}),
    ("from:@mfa_russia OR channel:@mfa_russia", {1, 2, 7}),
    ("Vučić lang:sr", {4, 7}),
]


@pytest.mark.parametrize(("rule", "expected"), LABELLED)
def test_labelled_rules_as_search_and_as_alert(archive: Store, rule: str, expected: set[int]) -> None:
    assert by_search(archive, rule) == expected
    assert by_alert(archive, rule) == expected


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("(Vucic OR Lavrov))", "unexpected ')' at 18"),
        ("Vucic OR", "unexpected end of rule at 9"),
        ("AND Vucic", "unexpected 'AND' at 1"),
        ("(Vucic", "'(' at 1 is never closed"),
        ('"Vucic', "unterminated quote at 1"),
        ("NEAR(Vucic, 3)", "NEAR at 1 needs at least two words"),
        ("NEAR(a b, x)", "NEAR at 1: the distance is a number"),
        ("-Vucic", "a rule needs something to find"),
        ("lang:bulgarian", "lang: at 1 takes a language code"),
        ("channel:@a", "channel: at 1 takes @name or a numeric id"),
        ("()", "unexpected ')' at 2"),
        ("*", "the rule is empty"),
        ("(" * 30 + "a" + ")" * 30, "too many nested parentheses at 21"),
        ("gas tag:#", "tag: at 5 needs a tag name"),  # matched nothing, silently, before
        ("gas ##", "tag: at 5 needs a tag name"),
        ("gas\udcff", "the character at 4 is not text"),  # undecodable argv bytes: a UnicodeEncodeError in SQL
    ],
)
def test_syntax_errors_name_the_position(rule: str, message: str) -> None:
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rule(rule, N)


def test_search_reports_rule_errors_and_unknown_channels(archive: Store) -> None:
    with pytest.raises(QueryError, match="unexpected '\\)' at 6"):
        archive.search("Vucic)")
    with pytest.raises(QueryError, match="unknown channel '@nobody_here'"):
        archive.search("channel:@nobody_here gas")
    for lone in ("gas\udcff", "#sanctions\ud800", 'from:"MFA\udfff"'):
        with pytest.raises(QueryError, match="is not text"):
            archive.search(lone)


def test_lower_case_operators_are_words() -> None:
    assert str(parse_rule("rock and roll", N)) == "(rock AND and AND roll)"
    assert str(parse_rule("a -b c-d", N)) == "(a AND NOT b AND (c AND d))"


def test_near_counts_words_between() -> None:
    words = [N.word_alternatives("lavrov"), N.word_alternatives("gas")]
    assert near_match("Lavrov one two gas", "en", words, 2, N)
    assert not near_match("Lavrov one two gas", "en", words, 1, N)
    assert near_match("gas then Lavrov", "en", words, 1, N)


def test_rule_set_wakes_only_rules_sharing_a_token() -> None:
    matcher = Matcher(N)
    rules = tuple(parse_rule(r, N) for r in ["Vucic gas", "Лавров OR Sofia", "lang:en", "word1 -gas"])
    ruleset = RuleSet(rules, matcher)
    post = PostFacts("Lavrov and Vucic talked about gas supplies.", "en")
    assert [r.text for r in ruleset.matching(post)] == ["Vucic gas", "Лавров OR Sofia", "lang:en"]
    assert len(ruleset._always) == 1  # only lang:en has no anchor


# ------------------------------------------------------------------ property: alert == search
WORDS = ["Сербия", "gas", "газ", "Vucic", "Лавров", "санкции", "Russia", "Belgrade", "minister", "talks"]
ATOMS = [*WORDS, "#sanctions", "#weather", "lang:bg", "lang:sr", "lang:en", "channel:@mfa_russia"]
ATOMS += ["from:@mfa_russia", '"Сербии"', '"gas"', "NEAR(Lavrov gas, 3)", "NEAR(Вучич санкции, 1)"]


def _rules() -> st.SearchStrategy[str]:
    atom = st.sampled_from(ATOMS)
    return st.recursive(
        atom,
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda t: f"{t[0]} {t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} OR {t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]} AND NOT ({t[1]})"),
            st.tuples(inner, atom).map(lambda t: f"{t[0]} -{t[1]}"),
        ),
        max_leaves=6,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rule=_rules())
def test_a_rule_as_alert_and_as_search_selects_the_same_posts(archive: Store, rule: str) -> None:
    try:
        parse_rule(rule, N)
    except RuleError:
        return  # e.g. only exclusions
    assert by_search(archive, rule) == by_alert(archive, rule), rule


def test_the_same_holds_while_the_index_is_being_filled(tmp_path: Path, pipeline: Pipeline) -> None:
    """Posts below the pending mark are found literally (as plain searches are meanwhile)."""
    store = Store.open(tmp_path / "a.db")
    _fill(store, pipeline)
    store.search_index.rebuild()
    store.search_index.backfill(limit=1, batch=4)  # the newest 4 indexed, the rest pending
    # 7-10 by forms (Вучић in 7); below, only the letters as written: Vučić (4) but not Вучич (2)
    assert by_search(store, "Lavrov OR Vucic") == {10, 8, 7, 4}
    # NEAR in a post not indexed yet: its words, literally (PostgreSQL found nothing there, before)
    assert by_search(store, "NEAR(Лавров газа, 10)") == {1} == by_alert(store, "NEAR(Лавров газа, 10)")
    store.search_index.backfill()
    assert by_search(store, "Lavrov OR Vucic") == {10, 8, 7, 4, 2, 1}  # Вучич, Лавров
    store.close()


# ------------------------------------------------------------------ the rule language at the edges
def test_cli_search_and_rules_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from bot.cli import main

    db = ["--db", str(tmp_path / "demo.db")]
    assert main([*db, "demo"]) == 0
    capsys.readouterr()
    assert main([*db, "search", "NEAR(Lavrov Belarus, 5)", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and all("Belarus" in h["text"] for h in hits)
    assert main([*db, "search", "(Serbia OR Сербия) -Lavrov"]) == 0
    out = capsys.readouterr().out
    assert "Сербии" in out and "Lavrov" not in out
    assert main([*db, "search", "Kosovo)"]) == 2
    assert "unexpected ')' at 7" in capsys.readouterr().err
    assert main([*db, "rules", "check", 'from:"Russian MFA" -Belarus', "--last", "50"]) == 0
    out = capsys.readouterr().out
    assert 'parsed: (from:"russian mfa" AND NOT belarus)' in out
    assert "matches 2 of the last 10 posts as an alert; as a search: the same posts" in out
    assert main([*db, "rules", "check", "NEAR(a, 3)"]) == 2
    assert "NEAR at 1 needs at least two words" in capsys.readouterr().err


def test_bot_alert_rules_per_user(tmp_path: Path) -> None:
    from tests.test_commands import FRIEND, GROUP, PRIVATE, make_router

    store = Store.open(tmp_path / "a.db")
    router = make_router(store)
    added = "".join(router.route("/alert add (Vucic OR Вучич) -sport", PRIVATE, FRIEND).parts)
    assert "Rule 1 added" in added and "((vucic OR вучич) AND NOT sport)" in added
    bad = "".join(router.route("/alert add (Vucic", PRIVATE, FRIEND).parts)
    assert "I cannot read that rule: &#x27;(&#x27; at 1 is never closed." in bad
    router.route("/alert add NEAR(Lavrov Vucic, 5)", GROUP, FRIEND)
    listed = "".join(router.route("/alert list", PRIVATE, FRIEND).parts)
    assert "1. <code>(Vucic OR Вучич) -sport</code>" in listed and "2. <code>NEAR(Lavrov Vucic, 5)</code>" in listed
    assert [(r.chat_id, r.rule) for r in store.alert_rules.of_user(FRIEND.id)][1] == (GROUP.id, "NEAR(Lavrov Vucic, 5)")
    assert "Removed rule 1" in "".join(router.route("/alert rm 1", PRIVATE, FRIEND).parts)
    assert "You have no rule 5" in "".join(router.route("/alert rm 5", PRIVATE, FRIEND).parts)
    for n in range(19):
        store.alert_rules.add(FRIEND.id, PRIVATE.id, f"word{n}", limit=20)
    assert "You have 20 rules already" in "".join(router.route("/alert add one more", PRIVATE, FRIEND).parts)
    store.close()


def test_bot_subscribe_to_a_sink(tmp_path: Path) -> None:
    from dataclasses import replace as changed

    from tests.test_commands import FRIEND, PRIVATE, SETTINGS, make_router

    store = Store.open(tmp_path / "a.db")
    settings = changed(SETTINGS, sinks=(("desk_mail", "mailto://127.0.0.1:2525?to=desk@example.com"),))
    router = make_router(store, settings=settings)
    reply = "".join(router.route("/subscribe #serbia 08:30 to telegram desk_mail", PRIVATE, FRIEND).parts)
    assert "→ telegram, desk_mail" in reply
    [sub] = store.subscriptions.list(PRIVATE.id)
    assert sub.tags == ("serbia",) and sub.destinations == ("telegram", "desk_mail")
    assert "There is no sink &#x27;nope&#x27;" in "".join(router.route("/subscribe to nope", PRIVATE, FRIEND).parts)
    store.close()


def test_subscription_rule_filters_the_digest(archive: Store) -> None:
    """`/subscribe … where RULE` and DIGEST_RULE: the window's posts, then the rule, judged as alerts judge."""
    from datetime import time as dtime
    from zoneinfo import ZoneInfo

    from bot.app.digest_jobs import DigestRunner
    from bot.app.rule_alerts import rule_filter
    from bot.core.windows import Window
    from bot.outputs import ConsoleSender

    posts = archive.posts_between(BASE, BASE + timedelta(days=1))
    assert {p.message_id for p in rule_filter(archive, "(gas OR газ) -Lavrov")(posts)} == {3, 5}
    sub = archive.subscriptions.add(-5, at=dtime(8, 0), tz=ZoneInfo("UTC"), rule="(gas OR газ) -Lavrov")
    runner = DigestRunner(store=archive, sender=ConsoleSender())
    digest = runner.digest(sub, Window(BASE, BASE + timedelta(days=1)))
    shown = {p.message_id for section in digest.sections for item in section.items for p in item.posts}
    assert shown == {3, 5}


def test_bot_subscribe_where_rule(tmp_path: Path) -> None:
    from tests.test_commands import FRIEND, PRIVATE, make_router

    store = Store.open(tmp_path / "a.db")
    router = make_router(store)
    reply = "".join(
        router.route("/subscribe #serbia 08:30 where (Vucic OR Вучич) -sport to telegram", PRIVATE, FRIEND).parts
    )
    assert "where <code>(Vucic OR Вучич) -sport to telegram</code>" in reply  # `where` takes the rest
    reply = "".join(router.route("/subscribe 09:00 to telegram where NEAR(Lavrov Vucic, 5)", PRIVATE, FRIEND).parts)
    assert "where <code>NEAR(Lavrov Vucic, 5)</code>" in reply
    subs = store.subscriptions.list(PRIVATE.id)
    assert [s.rule for s in subs] == ["(Vucic OR Вучич) -sport to telegram", "NEAR(Lavrov Vucic, 5)"]
    bad = "".join(router.route("/subscribe where (Vucic", PRIVATE, FRIEND).parts)
    assert "I cannot read that rule" in bad and len(store.subscriptions.list(PRIVATE.id)) == 2
    store.close()


def test_users_rules_alert_their_own_chat_while_allowed(tmp_path: Path, pipeline: Pipeline) -> None:
    import asyncio

    from bot.app.alerts import make_alerter
    from bot.config import Settings
    from bot.outputs import ConsoleSender

    sent: list[tuple[int | str, str]] = []

    class Recorder(ConsoleSender):
        async def send_html(self, chat: int | str, html: str) -> int:
            sent.append((chat, html))
            return len(sent)

    store = Store.open(tmp_path / "a.db")
    store.alert_rules.add(1, 1, "NEAR(Lavrov Vucic, 3)", limit=20)
    store.alert_rules.add(1, 1, "gas", limit=20)  # the same post matches both: one alert
    store.alert_rules.add(2, 2, "gas", limit=20)  # user 2 is no longer allowed
    settings = Settings(allowed_users=frozenset({1}))
    alerter = make_alerter(settings, store, Recorder(), 0)
    now = BASE + timedelta(hours=1)
    alerter.clock = lambda: now
    asyncio.run(alerter.check())
    _fill(store, pipeline)
    run = asyncio.run(alerter.check([1]))
    asyncio.run(alerter.check([1]))  # again: nothing twice
    chats = [chat for chat, _ in sent]
    assert chats == [1] * 3  # posts 3, 8, 10 (gas, or the NEAR rule), each once; none to user 2
    lavrov = [h for _, h in sent if "Lavrov and Vucic" in h]
    assert len(lavrov) == 1 and "NEAR(Lavrov Vucic, 3) · gas" in lavrov[0]
    assert len(run.sent) == 3
    store.close()
