"""Telegram Desktop HTML exports: real-format pages in, exact rows out; the same rows as the JSON export.

Fixtures (tests/data/tdesktop_export/README.md): a Bulgarian and a Russian channel exported both ways
from one history, written for the project; and a real page of meesooqa/ttag's export (../shared, skipped
without it) inside a whole 4-page export whose other pages are written here.
"""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.tdesktop_export import write_html
from bot.app.export_channel import parse_channel_option, same_message_date
from bot.cli import main
from bot.models import ChannelRef, Forward, RawPost
from bot.sources.desktop_export import ExportError, parse_export
from bot.sources.desktop_html_export import HtmlExport, find_pages, parse_page
from storage.store import Store
from tests.conftest import DATA
from tests.tdesktop_fixtures import CHANNELS, REAL_TTAG, ttag_export

EXPORTS = DATA / "tdesktop_export"
BG, RU = EXPORTS / "bg_channel", EXPORTS / "ru_channel"
needs_real_ttag = pytest.mark.skipif(not REAL_TTAG.is_file(), reason="../shared/fixtures is not here (a user's clone)")
BG_ID, RU_ID = 1_500_000_201, 1_500_000_202


def cli(tmp_path: Path, db: str, *args: object) -> int:
    return main(["--db", str(tmp_path / db), "import", *map(str, args)])


def rows(db: Path, where: str = "1") -> list[tuple[object, ...]]:
    """One row per post: message id, date, raw text, media kind, forward name, origin key, hashtags."""
    store = Store.open(db)
    try:
        return [
            tuple(r)
            for r in store.db.execute(
                "SELECT p.message_id, p.date, p.raw_text, p.media_kind, p.forward_name, p.origin_key, "
                "(SELECT group_concat(display, ' ') FROM (SELECT display FROM post_tags t "
                "  WHERE t.post_id = p.id AND t.kind = 'hashtag' ORDER BY display)) "
                f"FROM posts p JOIN channels c ON c.id = p.channel_id WHERE {where} ORDER BY c.tg_id, p.message_id"
            )
        ]
    finally:
        store.close()


def dump(db: Path) -> str:
    store = Store.open(db)
    try:
        return store.dump_json()
    finally:
        store.close()


# ------------------------------------------------------------------------------- real format, exact rows
@needs_real_ttag
def test_real_page_alone_gives_exact_posts() -> None:
    channel = ChannelRef(username="ttag_gifs")
    title, posts, links = parse_page(REAL_TTAG.read_bytes(), "test.html", channel)
    assert (title, links) == ("Channel Title", ("messages2.html", "messages4.html"))
    assert posts == [
        RawPost(channel, 2203, datetime(2024, 11, 21, 16, 20, 37, tzinfo=UTC), "#shy #booba", "export",
                hashtags=("shy", "booba"), media_kind="video"),
        RawPost(channel, 2204, datetime(2024, 11, 21, 16, 20, 37, tzinfo=UTC), "#shy #stare #todo #ginger", "export",
                hashtags=("shy", "stare", "todo", "ginger"), media_kind="video"),
        RawPost(channel, 3217, datetime(2025, 1, 29, 8, 52, 44, tzinfo=UTC), "#where #booba #slontar4", "export",
                hashtags=("where", "booba", "slontar4"), media_kind="video"),
    ]  # fmt: skip


@needs_real_ttag
def test_real_page_inside_a_whole_export_gives_exact_rows(tmp_path: Path) -> None:
    assert cli(tmp_path, "a.db", "--channel", "@ttag_gifs", ttag_export(tmp_path / "ttag")) == 0
    assert rows(tmp_path / "a.db") == [
        (2195, "2024-11-19T05:10:00+00:00", "#sleepy #cat", "video", None, "@ttag_gifs/2195", "#cat #sleepy"),
        (2196, "2024-11-19T05:10:00+00:00", "#cat", "video", None, "@ttag_gifs/2196", "#cat"),
        (2197, "2024-11-19T18:45:13+00:00", "Tags of the week: #cat leads.", None, None, "@ttag_gifs/2197", "#cat"),
        (2198, "2024-11-20T09:00:00+00:00", "#where", "photo", None, "@ttag_gifs/2198", "#where"),
        (2199, "2024-11-21T07:02:00+00:00", "#booba #stare", "video", None, "@ttag_gifs/2199", "#booba #stare"),
        (2200, "2024-11-21T07:05:30+00:00", "#todo", "video", None, "@ttag_gifs/2200", "#todo"),
        # the real page: 19:20:37 UTC+03:00, joined messages, media-only posts with hashtags
        (2203, "2024-11-21T16:20:37+00:00", "#shy #booba", "video", None, "@ttag_gifs/2203", "#booba #shy"),
        (2204, "2024-11-21T16:20:37+00:00", "#shy #stare #todo #ginger", "video", None, "@ttag_gifs/2204",
         "#ginger #shy #stare #todo"),
        (3217, "2025-01-29T08:52:44+00:00", "#where #booba #slontar4", "video", None, "@ttag_gifs/3217",
         "#booba #slontar4 #where"),
        (3218, "2025-01-29T08:53:10+00:00", "#shy #ginger", "video", None, "@ttag_gifs/3218", "#ginger #shy"),
        (3219, "2025-01-29T09:40:00+00:00", "Новые теги: #где и #booba", "video", None, "@ttag_gifs/3219",
         "#booba #где"),
        (3220, "2025-01-30T06:00:00+00:00", "#slontar4", "video", None, "@ttag_gifs/3220", "#slontar4"),
    ]  # fmt: skip
    store = Store.open(tmp_path / "a.db")
    row = store.find_channel("@ttag_gifs")
    assert row is not None and (row.title, store.checkpoint(row.id)) == ("Channel Title", 3220)
    store.close()


def test_written_four_page_export_gives_exact_rows(tmp_path: Path) -> None:
    """The same export with the page written in place of the real one: paging across four pages,
    Moscow time, media-only posts with hashtags; what a clone without ../shared still checks."""
    assert cli(tmp_path, "a.db", "--channel", "@ttag_gifs", ttag_export(tmp_path / "ttag", real=False)) == 0
    got = rows(tmp_path / "a.db")
    assert [r[0] for r in got] == [2195, 2196, 2197, 2198, 2199, 2200, 2203, 2204, 3217, 3218, 3219, 3220]
    assert got[6] == (2203, "2024-11-21T16:20:37+00:00", "stand-in for the real page", "video", None,
                      "@ttag_gifs/2203", None)  # fmt: skip
    assert got[0] == (2195, "2024-11-19T05:10:00+00:00", "#sleepy #cat", "video", None, "@ttag_gifs/2195",
                      "#cat #sleepy")  # fmt: skip
    assert got[-1] == (3220, "2025-01-30T06:00:00+00:00", "#slontar4", "video", None, "@ttag_gifs/3220", "#slontar4")


def test_bulgarian_html_export_gives_exact_rows(tmp_path: Path) -> None:
    assert cli(tmp_path, "a.db", "--channel", f"-100{BG_ID}", BG / "html") == 0
    fwd_mfa, fwd_ivan_1, fwd_ivan_2 = (r[5] for r in rows(tmp_path / "a.db", "p.forward_name IS NOT NULL"))
    assert rows(tmp_path / "a.db") == [
        (2, "2026-10-24T06:05:00+00:00",
         "Министърът на външните работи Георг Георгиев проведе разговор с посланика на Сърбия в София.\n\n"
         "Обсъдени бяха енергийната сигурност и газовата връзка между двете страни.\nПълният текст\n"
         "#БългарияСърбия #дипломация", None, None, f"tg:{BG_ID}/2", "#БългарияСърбия #дипломация"),
        (3, "2026-10-24T06:12:30+00:00", "Срещата в Министерството на външните работи.", "photo", None,
         f"tg:{BG_ID}/3", None),
        (4, "2026-10-24T06:12:30+00:00", "", "photo", None, f"tg:{BG_ID}/4", None),
        (5, "2026-10-24T08:40:00+00:00",
         "🇷🇺🇧🇬 Захарова: Русия е готова за диалог с България по въпросите на енергетиката.\n#РусияБългария",
         None, "МИД на Русия", fwd_mfa, "#РусияБългария"),
        (7, "2026-10-24T09:02:00+00:00", "Допълнение: разговорът продължи 40 минути.", None, None, f"tg:{BG_ID}/7",
         None),
        (8, "2026-10-24T15:30:00+00:00",
         "Кой въпрос да отразим по-подробно?\n- Енергетика\n- Западни Балкани\n- Визов режим", "poll", None,
         f"tg:{BG_ID}/8", None),
        (9, "2026-10-24T20:50:00+00:00", "Годишният доклад на МВнР (PDF).", "document", None, f"tg:{BG_ID}/9", None),
        (10, "2026-10-24T23:30:00+00:00", "", "voice", None, f"tg:{BG_ID}/10", None),  # 02:30 +03:00, before 04:00
        (12, "2026-10-25T06:01:00+00:00", "", "sticker", None, f"tg:{BG_ID}/12", None),  # 08:01 +02:00, after
        (13, "2026-10-25T07:00:00+00:00", "Поправка: срещата е в четвъртък, а не в сряда.", None, None,
         f"tg:{BG_ID}/13", None),
        (14, "2026-10-25T08:00:00+00:00",
         "Коментар на анализатора: газовата връзка ще заработи с пълен капацитет през 2027 г.", None, "Иван Петров",
         fwd_ivan_1, None),
        (15, "2026-10-25T08:00:00+00:00", "Втора част: Сърбия очаква първите доставки още през зимата.", None,
         "Иван Петров", fwd_ivan_2, None),  # joined: the forward's header is left out, the name carries over
        (16, "2026-10-25T10:00:00+00:00", "", "geo", None, f"tg:{BG_ID}/16", None),
        (17, "2026-10-25T10:10:00+00:00", "", "contact", None, f"tg:{BG_ID}/17", None),
        (18, "2026-10-25T13:00:00+00:00",
         "Цитат: \"Сърбия & България\" <не> е 'таг'.\n  Отстъп с два интервала.\tТаб и  два интервала.", None, None,
         f"tg:{BG_ID}/18", None),
        (19, "2026-10-25T13:05:00+00:00", "Коментарът е на нашия кореспондент в Белград.", None, None,
         f"tg:{BG_ID}/19", None),
        (20, "2026-10-26T06:15:00+00:00",
         "Важно: посолството в Белград работи с удължено работно време до петък. Следете @mfa_bulgaria за "
         "подробности.\n#БългарияСърбия", None, None, f"tg:{BG_ID}/20", "#БългарияСърбия"),
    ]  # fmt: skip
    assert fwd_mfa.startswith("fwd:мид на русия/") and fwd_ivan_1.startswith("fwd:иван петров/")
    assert fwd_ivan_1 != fwd_ivan_2  # a hidden source: the name and the text make the key


# ---------------------------------------------------------------------------- the same channel, both ways
def _comparable(raw: RawPost) -> RawPost:
    """What the two formats share: JSON has the edit date and the source's id, HTML the original's date."""
    forward = dataclasses.replace(raw.forward, channel_id=None, date=None) if raw.forward else None
    return dataclasses.replace(raw, forward=forward, edit_date=None)


@pytest.mark.parametrize("folder", [BG, RU], ids=["bg", "ru"])
def test_html_and_json_exports_give_the_same_raw_posts(folder: Path) -> None:
    channel, from_json = parse_export(folder / "json" / "result.json")
    export = HtmlExport.open(folder / "html")
    assert export.title == channel.title and len(export.pages) == 4
    from_html = list(export.iter_posts(channel))
    assert [_comparable(p) for p in from_html] == [_comparable(p) for p in from_json]
    assert all(p.edit_date is None for p in from_html)  # the HTML export shows no edits at all
    assert any(p.edit_date is not None for p in from_json)


def test_html_export_reads_forward_dates_replies_and_joined_forwards() -> None:
    posts = {p.message_id: p for p in HtmlExport.open(BG / "html").iter_posts(ChannelRef(tg_id=BG_ID))}
    # "24.10.2026 10:15:00 UTC+03:00" in the forward's header: when the original was posted
    assert posts[5].forward == Forward(name="МИД на Русия", date=datetime(2026, 10, 24, 7, 15, tzinfo=UTC))
    assert posts[14].forward == Forward(name="Иван Петров", date=datetime(2026, 10, 25, 7, 41, tzinfo=UTC))
    assert posts[15].forward == Forward(name="Иван Петров")  # joined: no header, so no date of its own
    assert posts[7].reply_to == 2
    ru = {p.message_id: p for p in HtmlExport.open(RU / "html").iter_posts(ChannelRef(tg_id=RU_ID))}
    assert (ru[10].reply_to, ru[11].reply_to) == (9, None)  # "a message in another chat" names no id
    assert ru[9].forward == Forward(name="Аноним Наблюдатель", date=datetime(2026, 11, 19, 14, 40, tzinfo=UTC))
    assert [ru[n].media_kind for n in (5, 6, 7, 8, 12, 16)] == ["video", "video", "audio", "video", "poll", "photo"]
    assert ru[12].text == "Состоится ли визит до конца года?\n- Да\n- Нет"
    assert ru[14].text == (
        "Первый абзац.\n\n\nВторой абзац после двух пустых строк.\nРезолюция 1244 — ключевой документ.\n"
        "Статья 1\nСтатья 2"
    )


def test_html_and_json_exports_of_one_channel_give_the_same_rows(tmp_path: Path) -> None:
    both = "c.tg_id IN (1500000201, 1500000202)"
    assert cli(tmp_path, "json.db", BG / "json", RU / "json" / "result.json") == 0
    assert cli(tmp_path, "html.db", "--channel", BG_ID, BG / "html") == 0
    assert cli(tmp_path, "html.db", "--channel", f"https://t.me/c/{RU_ID}/3", RU / "html" / "messages3.html") == 0
    assert rows(tmp_path / "json.db", both) == rows(tmp_path / "html.db", both)
    columns = (
        "p.message_id, p.date, p.text, p.raw_text, p.url, p.origin_key, p.forward_name, p.lang, "
        "p.content_hash, p.media_kind, p.tag_list, p.source, c.tg_id, c.title"
    )
    for db in ("json.db", "html.db"):
        store = Store.open(tmp_path / db)
        got = store.db.execute(f"SELECT {columns} FROM posts p JOIN channels c ON c.id = p.channel_id ORDER BY 13, 1")
        (tmp_path / f"{db}.rows").write_text(json.dumps([list(r) for r in got], ensure_ascii=False))
        store.close()
    assert (tmp_path / "json.db.rows").read_text() == (tmp_path / "html.db.rows").read_text()

    # Into one archive: the HTML export of what the JSON export already brought changes nothing (the
    # edit dates it cannot see stay), and the other way round only the edit dates arrive.
    before = dump(tmp_path / "json.db")
    assert cli(tmp_path, "json.db", BG / "html", RU / "html") == 0  # matched by title
    assert dump(tmp_path / "json.db") == before
    assert cli(tmp_path, "html.db", BG / "json", RU / "json") == 0
    assert rows(tmp_path / "html.db", "p.edit_date IS NOT NULL") == rows(
        tmp_path / "json.db", "p.edit_date IS NOT NULL"
    )
    assert len(rows(tmp_path / "html.db", "p.edit_date IS NOT NULL")) == 2


def test_import_prints_counts_and_reads_the_export_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the HTML export named first still finds its channel in the JSON export named after it
    assert cli(tmp_path, "a.db", BG / "html" / "messages2.html", BG / "html", BG / "json") == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{BG / 'html'}: 17 new, 0 updated, 0 unchanged",
        f"{BG / 'json' / 'result.json'}: 0 new, 1 updated, 16 unchanged",
    ]
    assert f"{BG / 'html'}: HTML export of «Дипломатически преглед», 4 pages, matched by title" in err


def test_progress_is_shown_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert cli(tmp_path, "a.db", "--channel", BG_ID, BG / "html") == 0
    shown = terminal.getvalue()
    assert "checking html [" in shown and "4/4" in shown  # the checking pass, page by page
    assert "html [" in shown and "17/17" in shown  # the writing pass, post by post


# ------------------------------------------------------------------------------------ which channel it is
def test_an_unknown_title_needs_channel_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path, "a.db", RU / "json", BG / "html") == 1
    err = capsys.readouterr().err
    assert f"{BG / 'html'}: an HTML export names its channel only by title («Дипломатически преглед»)" in err
    assert "--channel" in err
    assert rows(tmp_path / "a.db") == []  # the good JSON export named first is not written either


def test_an_unknown_long_title_is_named_short(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by fuzzing: the page header's text was quoted whole in the error line."""
    folder = tmp_path / "html"
    shutil.copytree(BG / "html", folder)
    for page in folder.iterdir():
        page.write_text(page.read_text(encoding="utf-8").replace("Дипломатически преглед", "Преглед " * 20_000))
    assert cli(tmp_path, "a.db", folder) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"tgmonitor: error: {folder}: an HTML export names its channel only by title («Преглед")
    assert len(err.splitlines()) == 1 and len(err) < 600, err[:600]


def test_a_title_shared_by_two_channels_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.json"
    data = json.loads((BG / "json" / "result.json").read_text(encoding="utf-8"))
    other.write_text(json.dumps(data | {"id": 99}, ensure_ascii=False), encoding="utf-8")
    assert cli(tmp_path, "a.db", BG / "json", other) == 0
    assert cli(tmp_path, "a.db", BG / "html") == 1
    assert "is the title of 2 archived channels" in capsys.readouterr().err
    assert cli(tmp_path, "a.db", "--channel", BG_ID, BG / "html") == 0


def test_an_export_of_another_channel_is_refused_by_its_dates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(tmp_path, "a.db", RU / "json") == 0
    before = dump(tmp_path / "a.db")
    assert cli(tmp_path, "a.db", "--channel", RU_ID, BG / "html") == 1  # same ids, other dates
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"tgmonitor: error: {BG / 'html' / 'messages.html'}: message 2 is dated 2026-10-24 06:05:00")
    assert "in the archive's channel «Балканский вестник» (id 1500000202): an export of another channel?" in err
    assert dump(tmp_path / "a.db") == before


def test_dates_of_one_message_on_two_clocks_are_the_same_message() -> None:
    utc = datetime(2026, 11, 19, 7, 30, tzinfo=UTC)
    assert same_message_date(utc, utc)
    assert same_message_date(utc, utc.replace(hour=10))  # a local wall time taken as UTC
    assert same_message_date(utc, utc.replace(hour=13, minute=0))  # India, +05:30
    assert not same_message_date(utc, utc.replace(second=1))
    assert not same_message_date(utc, utc.replace(day=20))


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("@Balkan_Watch", ChannelRef(username="balkan_watch")),
        ("https://t.me/s/balkan_watch", ChannelRef(username="balkan_watch")),
        ("1500000201", ChannelRef(tg_id=1500000201)),
        ("-1001500000201", ChannelRef(tg_id=1500000201)),
        ("t.me/c/1500000201/57", ChannelRef(tg_id=1500000201)),
    ],
)
def test_channel_option(option: str, expected: ChannelRef) -> None:
    assert parse_channel_option(option) == expected


def test_a_bad_channel_option_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(tmp_path, "a.db", "--channel", "not a channel", BG / "html") == 1
    assert "--channel 'not a channel': expected @username" in capsys.readouterr().err


# ------------------------------------------------------------------------------------- finding the pages
def test_a_page_stands_for_the_whole_export_in_order(tmp_path: Path) -> None:
    assert [p.name for p in find_pages(BG / "html" / "messages3.html")] == [
        "messages.html",
        "messages2.html",
        "messages3.html",
        "messages4.html",
    ]
    folder = tmp_path / "export"
    shutil.copytree(BG / "html", folder)
    for n in range(5, 12):  # messages10.html sorts after messages9.html, not after messages1
        shutil.copy(folder / "messages4.html", folder / f"messages{n}.html")
    assert [page.name for page in find_pages(folder)][-3:] == ["messages9.html", "messages10.html", "messages11.html"]


def test_a_saved_tme_page_named_messages_html_is_still_a_web_page(tmp_path: Path) -> None:
    page = tmp_path / "messages.html"
    shutil.copy(DATA / "web_preview" / "balkan_watch.html", page)
    assert cli(tmp_path, "a.db", page) == 0
    assert len(rows(tmp_path / "a.db")) > 0


# ---------------------------------------------------------------------------------- markup, piece by piece
def _page(*messages: str, title: str = "Chat") -> bytes:
    body = "".join(messages)
    return (
        f'<!DOCTYPE html><html><body><div class="page_wrap"><div class="page_header"><div class="content">'
        f'<div class="text bold">{title}</div></div></div><div class="page_body chat_page"><div class="history">'
        f"{body}</div></div></div></body></html>"
    ).encode()


def _message(ident: int, inner: str, *, date: str = "20.11.2026 10:00:00 UTC+01:00", joined: bool = False) -> str:
    cls = "message default clearfix" + (" joined" if joined else "")
    return (
        f'<div class="{cls}" id="message{ident}"><div class="body">'
        f'<div class="pull_right date details" title="{date}">10:00</div>{inner}</div></div>'
    )


def _posts(*messages: str) -> list[RawPost]:
    return parse_page(_page(*messages), "p.html", ChannelRef(tg_id=1))[1]


def test_line_breaks_are_br_and_layout_whitespace_is_not_text() -> None:
    pretty = """<div class="text">
        First line
        <br/>
        <strong>
          bold
        </strong> and
        <a href="" onclick="return ShowHashtag(&quot;tag&quot;)">
          #tag
        </a>
        <br>  indented by its author
      </div>"""
    (post,) = _posts(_message(1, pretty))
    assert post.text == "First line\nbold and #tag\n  indented by its author"
    assert post.hashtags == ("tag",)


def test_dates_with_and_without_offsets() -> None:
    posts = _posts(
        _message(1, '<div class="text">a</div>', date="21.11.2024 19:20:37 UTC+03:00"),
        _message(2, '<div class="text">b</div>', date="21.11.2024 19:20:37 UTC-05:30"),
        _message(3, '<div class="text">c</div>', date="21.11.2024 19:20:37"),  # older exports: wall time, as UTC
    )
    assert [p.date for p in posts] == [
        datetime(2024, 11, 21, 16, 20, 37, tzinfo=UTC),
        datetime(2024, 11, 22, 0, 50, 37, tzinfo=UTC),
        datetime(2024, 11, 21, 19, 20, 37, tzinfo=UTC),
    ]


_TITLE = '<div class="body"><div class="title bold">{}</div></div>'


@pytest.mark.parametrize(
    ("media", "kind"),
    [
        ('<a class="photo_wrap clearfix pull_left" href="p.jpg"><img class="photo" src="p.jpg"/></a>', "photo"),
        ('<a class="sticker_wrap clearfix pull_left" href="s.webp"></a>', "sticker"),
        ('<a class="animated_wrap clearfix pull_left" href="a.mp4"></a>', "video"),
        ('<a class="video_file_wrap clearfix pull_left" href="v.mp4"></a>', "video"),
        (f'<div class="media clearfix pull_left media_photo">{_TITLE.format("Photo")}</div>', "photo"),
        (f'<div class="media clearfix pull_left media_photo">{_TITLE.format("Sticker")}</div>', "sticker"),
        ('<div class="media clearfix pull_left media_video"></div>', "video"),
        ('<div class="media clearfix pull_left media_voice_message"></div>', "voice"),
        ('<div class="media clearfix pull_left media_audio_file"></div>', "audio"),
        ('<a class="media clearfix pull_left block_link media_file" href="f.pdf"></a>', "document"),
        ('<a class="media clearfix pull_left block_link media_location" href="https://maps"></a>', "geo"),
        ('<div class="media clearfix pull_left media_venue"></div>', "geo"),
        ('<div class="media clearfix pull_left media_contact"></div>', "contact"),
        ('<div class="media clearfix pull_left media_game"></div>', "game"),
        ('<div class="media clearfix pull_left media_invoice"></div>', "invoice"),
        ('<div class="media clearfix pull_left media_giveaway_of_the_future"></div>', None),
    ],
)  # fmt: skip
def test_media_kinds(media: str, kind: str | None) -> None:
    posts = _posts(_message(1, f'<div class="media_wrap clearfix">{media}</div><div class="text">caption</div>'))
    assert [(p.media_kind, p.text) for p in posts] == [(kind, "caption")]


def test_service_messages_and_empty_ones_are_skipped_and_buttons_are_not_text() -> None:
    posts = _posts(
        '<div class="message service" id="message-1"><div class="body details">20 November 2026</div></div>',
        '<div class="message service" id="message7"><div class="body details">Channel photo changed</div></div>',
        _message(8, ""),  # nothing to keep: no text, no media
        _message(
            9,
            '<div class="text">Vote below</div><table class="bot_buttons_table"><tr><td><div class="bot_button">'
            '<div>Yes</div></div></td></tr></table><div class="signature details">Editor</div>'
            '<div class="reactions"><div class="reaction"><div class="emoji">👍</div></div></div>',
        ),
    )
    assert [(p.message_id, p.text) for p in posts] == [(9, "Vote below")]


def test_messages_nested_by_an_unclosed_tag_are_all_read_and_kept_apart() -> None:
    # Telegram Desktop before 5.9 left a tag open after inline buttons, nesting every later message
    # inside the one before (tdesktop#28712); each must still be read with its own text only.
    nested = _message(2, '<div class="text">second</div>')
    outer = _message(1, f'<div class="text">first</div><div class="bot_buttons">{nested}')
    assert [(p.message_id, p.text) for p in _posts(outer + "</div>")] == [(1, "first"), (2, "second")]


def test_deeply_nested_text_is_read_without_recursion() -> None:
    deep = "<span>" * 5000 + "deep" + "</span>" * 5000
    (post,) = _posts(_message(1, f'<div class="text">{deep}<br>end</div>'))
    assert post.text == "deep\nend"


def test_error_names_the_page_and_the_message() -> None:
    with pytest.raises(ExportError, match=r"^p\.html: message 5: date '31\.02\.2026 10:00:00' is not a real date"):
        _posts(_message(5, '<div class="text">x</div>', date="31.02.2026 10:00:00"))


def test_committed_fixtures_are_what_the_writer_writes(tmp_path: Path) -> None:
    for make in CHANNELS.values():
        channel = make()
        written = channel.write(tmp_path / channel.slug)
        for path in written:
            committed = channel.folder / path.relative_to(tmp_path / channel.slug)
            assert path.read_bytes() == committed.read_bytes(), committed


def test_an_empty_history_is_one_page_with_no_posts(tmp_path: Path) -> None:
    write_html(tmp_path / "empty", [], name="Quiet", zone="UTC")
    export = HtmlExport.open(tmp_path / "empty")
    assert (export.title, list(export.iter_posts(ChannelRef(tg_id=5)))) == ("Quiet", [])
