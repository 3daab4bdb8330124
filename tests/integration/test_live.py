"""The listener and the bot over the real MTProto protocol, against Telegram's own test servers.

Opt-in: `pytest -m live` with the TGMONITOR_LIVE_* variables set (tests/integration/conftest.py,
docs/testing.md); skipped with the reason otherwise. Everything goes through tgmonitor's own entry
points: `tgmonitor login` (phone and code on stdin), `tgmonitor run` as a subprocess stopped with
SIGTERM, and `tgmonitor search/digest --json`. The people around it (a poster who owns the channels,
the MFA source, an analyst allowed to use the bot, a stranger, BotFather) are driven by world.py,
which deletes the channels and the bot it made when the session ends. The archive is read through a
separate read-only connection, as `tgmonitor status` reads it.
"""

from __future__ import annotations

import random
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import BIN, Server, Service, Tgmonitor, World, archive

pytestmark = pytest.mark.live

STATEMENT = (
    "🇷🇺🇷🇸 On 30 November, Foreign Minister Sergey Lavrov held talks in Moscow with the Foreign Minister "
    "of the Republic of Serbia.\n\n"
    "The ministers discussed bilateral cooperation, energy supplies and the situation around Kosovo.\n\n"
    "#RussiaSerbia #Lavrov"
)
PASTED = (
    "Belgrade hosts a conference on energy security in the Western Balkans.\n\n"
    "Delegations from twelve countries attend the two-day meeting at the Sava Centre."
)
LINK = "https://example.org/energy-conference"


@dataclass
class People:
    poster: dict[str, Any]
    analyst: dict[str, Any]
    stranger: dict[str, Any]
    monitor_phone: str
    session_file: Path
    string_session: str
    tg: Tgmonitor  # logged in with the session file, pointed at the server by TELEGRAM_SERVER


@pytest.fixture(scope="module")
def people(
    world: World, live: Server, run_id: str, rng: random.Random, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[People]:
    phones = iter(sorted({live.test_phone(rng) for _ in range(8)} - {live.phone}))
    poster = world.signup(who="poster", phone=next(phones), name="Poster")
    analyst = world.signup(who="analyst", phone=next(phones), name="Analyst", username=f"analyst{run_id}")
    stranger = world.signup(who="stranger", phone=next(phones), name="Stranger")
    # The monitoring account exists (made in a Telegram app, here by world.py) and joins the channels it
    # watches; `tgmonitor login` then signs in to it.
    monitor_phone = live.phone or next(phones)
    world.signup(who="monitor", phone=monitor_phone, name="Monitor")
    home = tmp_path_factory.mktemp("monitor")
    tg = Tgmonitor(BIN, home, env={"DATA_DIR": str(home / "data"), **live.tgmonitor_env()})
    done = tg.login(live, monitor_phone)
    assert done.returncode == 0, done.stderr
    string = tg.login(live, monitor_phone, "--string")
    assert string.returncode == 0, string.stderr
    yield People(
        poster, analyst, stranger, monitor_phone, home / "data" / "tgmonitor.session", string.stdout.strip(), tg
    )


def channels(world: World, run_id: str, *names: str) -> dict[str, str]:
    """Broadcast channels owned by the poster, with the monitor as a member; name -> @username."""
    made = {}
    for name in names:
        username = f"{name}_{run_id}"
        world.create_channel(who="poster", title=name.replace("_", " ").title(), username=username)
        made[name] = username
    return made


def posts(db: Path) -> dict[tuple[str, int], dict[str, Any]]:
    rows = archive(
        db,
        "SELECT c.username, p.message_id, p.text, p.origin_key, p.deleted, p.media_kind, p.tag_list, p.edit_date "
        "FROM posts p JOIN channels c ON c.id = p.channel_id",
    )
    keys = ("text", "origin_key", "deleted", "media_kind", "tags", "edit_date")
    return {(r[0], r[1]): dict(zip(keys, r[2:], strict=True)) for r in rows}


def ids(db: Path, username: str) -> list[int]:
    return sorted(m for (c, m) in posts(db) if c == username)


def same_html(text: str) -> str:
    """Telethon writes bold as <strong> and italics as <em> when it turns entities back into HTML."""
    for ours, telethons in (("b", "strong"), ("i", "em")):
        text = text.replace(f"<{telethons}>", f"<{ours}>").replace(f"</{telethons}>", f"</{ours}>")
    return text.strip()


def wait(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


# ----------------------------------------------------------------------------------------- login
def test_login_is_scriptable_and_leaves_nothing_when_refused(
    people: People, live: Server, world: World, rng: random.Random
) -> None:
    assert stat.S_IMODE(people.session_file.stat().st_mode) == 0o600
    assert people.string_session.startswith("1") and "\n" not in people.string_session  # stdout: the secret only
    tg = people.tg
    elsewhere = Tgmonitor(tg.bin, tg.home / "other", env={**tg.env, "DATA_DIR": str(tg.home / "other" / "data")})
    elsewhere.home.mkdir()
    wrong = "00000" if live.login_code() != "00000" else "11111"
    refused = elsewhere("login", "--phone", people.monitor_phone, "--code", wrong, check=False)
    assert refused.returncode == 1
    assert "Telegram did not accept the login code (wrong or expired)" in refused.stderr
    assert not (elsewhere.home / "data" / "tgmonitor.session").exists()
    # (An unknown number is not tried here: on the shared test servers any number may be someone's.
    # tests/test_telegram_client.py covers it on the fake edge.)
    # two-step verification: the password is the next line of stdin (world.py removes it at the end)
    guarded = next(p for p in iter(lambda: live.test_phone(rng), None) if p not in {people.monitor_phone, live.phone})
    world.signup(who="guarded", phone=guarded, name="Guarded")
    world.set_password(who="guarded", password="correct horse")
    done = elsewhere.login(live, guarded, "--password-stdin", password="correct horse")
    assert done.returncode == 0, done.stderr
    assert "logged in as Guarded" in done.stderr and (elsewhere.home / "data" / "tgmonitor.session").exists()


# -------------------------------------------------------------------------------------- listener
def test_live_posts_edits_deletions_and_catch_up_after_a_restart(
    people: People, world: World, run_id: str, start_service: Callable[..., Service]
) -> None:
    names = channels(world, run_id, "mfa", "balkan", "serbia")
    mfa, balkan, serbia = names["mfa"], names["balkan"], names["serbia"]
    for name in (balkan, serbia):
        world.join(who="monitor", channel=name)
    before = world.post(who="poster", channel=balkan, text="Weekly briefing schedule for the press corps.")
    tg = people.tg
    db = tg.home / "data" / "tgmonitor.db"
    service = start_service(tg, CHANNELS=f"@{balkan}, https://t.me/{serbia}", POLL_INTERVAL="1h", DOWNLOAD_MEDIA="true")
    assert "listener: on (Telegram user client, live updates + catch-up) for 2 channels" in service.log()
    service.wait_for("the first catch-up", lambda: ids(db, balkan) == [before])

    # live: the MFA statement forwarded by both channels, and each channel's own posts
    statement = world.post(who="poster", channel=mfa, text=STATEMENT)
    posted = time.monotonic()
    fwd_balkan = world.forward(who="poster", channel=balkan, source=mfa, message_id=statement)
    fwd_serbia = world.forward(who="poster", channel=serbia, source=mfa, message_id=statement)
    own_balkan = world.post(
        who="poster", channel=balkan, text="Serbia and Bulgaria open a border crossing near Kalotina. #БългарияСърбия"
    )
    own_serbia = world.post(who="poster", channel=serbia, text=f"{PASTED}\n\n{PASTED}\n\nMore: {LINK}")
    expected = {
        (balkan, before),
        (balkan, fwd_balkan),
        (serbia, fwd_serbia),
        (balkan, own_balkan),
        (serbia, own_serbia),
    }
    service.wait_for("the live posts", lambda: set(posts(db)) == expected)
    latency = time.monotonic() - posted
    print(f"live: 4 live posts in the archive {latency:.2f}s after the MFA statement was published")
    assert latency < 30, f"live posts took {latency:.1f}s to reach the archive"

    stored = posts(db)
    origin = stored[(balkan, fwd_balkan)]["origin_key"]
    assert origin == stored[(serbia, fwd_serbia)]["origin_key"] and origin.endswith(f"/{statement}")
    hits = {h["channel"]: h for h in tg.json("search", "Lavrov")}
    assert set(hits) == {f"@{balkan}", f"@{serbia}"}
    for hit in hits.values():
        assert hit["text"] == STATEMENT
        assert {"#RussiaSerbia", "#Lavrov", "Serbia", "Russia"} <= set(hit["tags"])
        assert hit["origin_key"] == origin and hit["url"].startswith(f"https://t.me/{hit['channel'][1:]}/")
    (pasted,) = tg.json("search", "Sava Centre")
    assert pasted["text"] == f"{PASTED}\n\nMore: {LINK}"  # the body pasted twice is kept once, the link stays
    (tagged,) = tg.json("search", "Kalotina")
    assert "#БългарияСърбия" in tagged["tags"]
    digest = tg.json("digest", "--since", "1h")
    items = [item for section in digest["sections"] for item in section["items"]]
    (folded,) = [item for item in items if "Lavrov" in item["text"]]
    assert sorted(folded["seen_in"]) == [f"@{balkan}", f"@{serbia}"] and len(folded["post_ids"]) == 2
    assert digest["posts"] == 5 and digest["items"] == 4
    (line,) = [line for line in tg("digest", "--since", "1h").stdout.splitlines() if "Sergey Lavrov held talks" in line]
    assert line.endswith("(seen in 2 channels)")

    # an album is one post; an edit and a deletion reach the archive
    album = world.album(who="poster", channel=balkan, captions=["Photos from the talks", "The delegations"])
    world.edit(who="poster", channel=balkan, message_id=own_balkan, text="Serbia and Bulgaria open TWO crossings.")
    world.delete(who="poster", channel=serbia, message_ids=[own_serbia])
    service.wait_for(
        "the album, the edit and the deletion",
        lambda: (
            (s := posts(db)).get((balkan, album[0]))
            and "TWO" in s[(balkan, own_balkan)]["text"]
            and s[(serbia, own_serbia)]["deleted"]
        ),
    )
    stored = posts(db)
    assert stored[(balkan, album[0])]["media_kind"] == "album" and (balkan, album[1]) not in stored
    assert stored[(balkan, album[0])]["text"] == "Photos from the talks\n\nThe delegations"
    # DOWNLOAD_MEDIA: the album's photos, one file per message
    ((balkan_id,),) = archive(db, "SELECT tg_id FROM channels WHERE username = ?", balkan)
    media = tg.home / "data" / "media"
    files = {p.relative_to(media).as_posix(): p.stat().st_size for p in media.rglob("*") if p.is_file()}
    assert sorted(files) == [f"{balkan_id}/{album[0]}.jpg", f"{balkan_id}/{album[1]}.jpg"] and all(files.values())
    assert stored[(balkan, own_balkan)]["edit_date"] is not None
    # the earlier text is kept as a version; the deleted post keeps its text and when it went
    assert archive(db, "SELECT raw_text FROM post_versions") == [
        ("Serbia and Bulgaria open a border crossing near Kalotina. #БългарияСърбия",)
    ]
    ((deleted_text, deleted_at),) = archive(db, "SELECT raw_text, deleted_at FROM posts WHERE deleted = 1")
    assert deleted_text == f"{PASTED}\n\n{PASTED}\n\nMore: {LINK}" and deleted_at is not None
    (edited,) = tg.json("search", "crossings")
    assert edited["text"] == "Serbia and Bulgaria open TWO crossings." and "#БългарияСърбия" not in edited["tags"]
    assert tg.json("search", "Sava Centre") == []  # deleted on Telegram: flagged, kept, out of search
    assert service.stop() == 0

    # down: three posts; catch-up at the next start stores exactly them, once
    count = len(posts(db))
    missed = {
        (balkan, world.post(who="poster", channel=balkan, text="Missed one: consultations on the UN agenda.")),
        (balkan, world.post(who="poster", channel=balkan, text="Missed two: a visa agreement signed.")),
        (serbia, world.post(who="poster", channel=serbia, text="Missed three: grain deliveries resume.")),
    }
    again = start_service(tg, CHANNELS=f"@{balkan}, @{serbia}", POLL_INTERVAL="1h")
    again.wait_for("the catch-up poll", lambda: "poll: 2 channels read" in again.log())
    assert "poll: 2 channels read, 0 failed, 3 new posts" in again.log()
    assert set(posts(db)) - set(stored) == missed and len(posts(db)) == count + 3
    assert again.stop() == 0


def test_forwards_from_keeps_only_forwards_of_the_source(
    people: People, live: Server, world: World, run_id: str, start_service: Callable[..., Service], tmp_path: Path
) -> None:
    names = channels(world, run_id, "mfa_src", "other_src", "watcher")
    source, other, watcher = names["mfa_src"], names["other_src"], names["watcher"]
    world.join(who="monitor", channel=watcher)
    # The StringSession from `login --string` carries the server's address: no TELEGRAM_SERVER needed.
    tg = Tgmonitor(people.tg.bin, tmp_path, env={"DATA_DIR": str(tmp_path / "data"), **live.api()})
    service = start_service(
        tg, TG_SESSION=people.string_session, CHANNELS=f"@{watcher}", FORWARDS_FROM=f"@{source}", POLL_INTERVAL="1h"
    )
    from_source = world.post(who="poster", channel=source, text="Statement of the Foreign Ministry on Kosovo.")
    from_other = world.post(who="poster", channel=other, text="An unrelated channel's post about the weather.")
    kept = world.forward(who="poster", channel=watcher, source=source, message_id=from_source)
    world.forward(who="poster", channel=watcher, source=other, message_id=from_other)
    world.post(who="poster", channel=watcher, text="The watcher's own comment on the statement.")
    last = world.post(who="poster", channel=source, text="Second statement of the Foreign Ministry.")
    sentinel = world.forward(who="poster", channel=watcher, source=source, message_id=last)
    db = tmp_path / "data" / "tgmonitor.db"
    service.wait_for("the second forward", lambda: (watcher, sentinel) in posts(db))
    assert sorted(posts(db)) == [(watcher, kept), (watcher, sentinel)]
    assert [h["text"] for h in tg.json("search", "Foreign Ministry")] == [
        "Second statement of the Foreign Ministry.",
        "Statement of the Foreign Ministry on Kosovo.",
    ]
    assert service.stop() == 0


# ------------------------------------------------------------------------------------------- bot
def test_bot_answers_allowed_users_refuses_strangers_and_sends_digest_and_alert_as_html(
    people: People, live: Server, world: World, run_id: str, start_service: Callable[..., Service], tmp_path: Path
) -> None:
    if live.bot_token:  # TGMONITOR_LIVE_BOT_TOKEN: a bot of the test server the contributor already has
        token, bot_name = live.bot_token, world.bot_username(token=live.bot_token)
    else:  # one made with the test server's BotFather, deleted by world.py at the end
        bot_name = f"tgm{run_id}_bot"
        token = world.newbot(who="poster", name="TgMonitor test", username=bot_name)
    news = channels(world, run_id, "bot_news")["bot_news"]
    world.join(who="monitor", channel=news)
    texts = [f"Briefing {n}: Lavrov on relations with Serbia, part {n}." for n in range(1, 8)]
    for text in texts:
        world.post(who="poster", channel=news, text=text)
    analyst, stranger = people.analyst["id"], people.stranger["id"]
    tg = Tgmonitor(people.tg.bin, tmp_path, env={**people.tg.env, "DATA_DIR": str(tmp_path / "data")})
    settings = {
        "TG_SESSION": str(people.session_file),
        "CHANNELS": f"@{news}",
        "POLL_INTERVAL": "1h",
        "BOT_TOKEN": token,
        "ALLOWED_USERS": str(analyst),
        "DIGEST_CHAT": str(analyst),
        "ALERT_CHAT": str(analyst),
        "ALERT_WORDS": "Kosovo",
    }
    service = start_service(tg, **settings)
    assert f"bot: on (@{bot_name}) → commands for 1 allowed user/chat" in service.log()
    db = tmp_path / "data" / "tgmonitor.db"
    service.wait_for("the first catch-up", lambda: len(posts(db)) == 7)

    def reply(who: str, command: str) -> dict[str, Any]:
        sent = world.send(who=who, to=bot_name, text=command)
        return service.wait_for(
            f"the bot's answer to {command}", lambda: next(iter(world.chat(who=who, peer=bot_name, after=sent)), None)
        )

    found = reply("analyst", "/search Lavrov")
    assert "Briefing 7: Lavrov on relations with Serbia" in found["text"]
    assert "MessageEntityBold" in found["entities"] and found["buttons"]  # 7 hits, 5 a page: a "more" button
    latest = reply("analyst", "/latest")
    assert latest["text"].index("Briefing 7") < latest["text"].index("Briefing 3")  # newest first
    post_id = tg.json("search", "part 4")[0]["id"]
    full = reply("analyst", f"/post {post_id}")
    assert texts[3] in full["text"] and "MessageEntityTextUrl" in full["entities"]  # "Open in Telegram"
    assert f'<a href="https://t.me/{news}/' in full["html"]
    refused = reply("stranger", "/search Lavrov")
    assert refused["text"].startswith("Sorry, this is a private bot") and str(stranger) in refused["text"]
    assert "Lavrov" not in refused["text"]
    # paging: "Next »" edits the answer to the next page
    world.click(who="analyst", chat=bot_name, message_id=found["id"], button="Next »")
    service.wait_for(
        "the next page",
        lambda: "Briefing 2:" in world.message(who="analyst", peer=bot_name, message_id=found["id"])["text"],
    )

    # an alert, as Telegram HTML, to the analyst's chat with the bot
    seen = world.chat(who="analyst", peer=bot_name)[-1]["id"]
    world.post(who="poster", channel=news, text="Breaking: talks on Kosovo resume in Brussels.")
    alert = service.wait_for("the alert", lambda: world.chat(who="analyst", peer=bot_name, after=seen))[0]
    assert "Kosovo" in alert["text"] and alert["entities"]
    assert service.stop() == 0

    # the digest, sent by `tgmonitor digest --send`, arrives as the HTML --dry-run prints
    expected = tg("digest", "--dry-run", "--since", "1h", **settings).stdout
    seen = alert["id"]
    tg("digest", "--send", "--since", "1h", **settings)
    digest = wait("the digest", lambda: world.chat(who="analyst", peer=bot_name, after=seen), timeout=60)
    assert len(digest) == 1
    (got_head, got_body), (want_head, want_body) = (same_html(t).split("\n", 1) for t in (digest[0]["html"], expected))
    assert got_body == want_body  # the heading names the window's end, which may be a minute later
    assert got_head.startswith("<b>Digest ") and want_head.startswith("<b>Digest ")
    assert "MessageEntityBold" in digest[0]["entities"] and "MessageEntityTextUrl" in digest[0]["entities"]
