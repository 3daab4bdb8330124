from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from telethon.tl import types

from bot.models import ChannelRef, Forward, RawPost
from bot.sources.telethon_convert import media_kind, merge_album, merge_albums, message_to_raw
from tests.tg_factory import BASE, album, document, forward_from_channel, message, photo, service

NEWS = ChannelRef(tg_id=1001, username="news", title="News")

# Offsets below are UTF-16 code units, as Telegram sends them: each flag letter and 👍/🏽 is two units.
EMOJI_TEXT = "🇷🇸 Вести #Србија, 👍🏽 #Kosovo читать"
EMOJI_ENTITIES = [
    types.MessageEntityHashtag(offset=11, length=7),
    types.MessageEntityHashtag(offset=25, length=7),
    types.MessageEntityTextUrl(offset=33, length=6, url="https://example.com/full-story"),
]


def test_plain_message_becomes_a_raw_post() -> None:
    edited = BASE + timedelta(hours=2)
    msg = message(42, "Hello Belgrade", views=1500, edit_date=edited)
    assert message_to_raw(msg, NEWS) == RawPost(
        channel=NEWS,
        message_id=42,
        date=BASE + timedelta(minutes=42),
        text="Hello Belgrade",
        source="telethon",
        edit_date=edited,
        views=1500,
    )


def test_detached_message_text_comes_from_message_not_text_property() -> None:
    msg = message(1, "raw body")
    assert msg.text is None  # no client: Telethon's formatted text is unavailable
    raw = message_to_raw(msg, NEWS)
    assert raw is not None and raw.text == "raw body"


def test_naive_and_foreign_dates_become_aware_utc() -> None:
    from zoneinfo import ZoneInfo

    naive = message_to_raw(message(1, "x", date=datetime(2026, 1, 2, 3, 4)), NEWS)
    sofia = message_to_raw(message(2, "x", date=datetime(2026, 1, 2, 5, 4, tzinfo=ZoneInfo("Europe/Sofia"))), NEWS)
    assert naive is not None and naive.date == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert sofia is not None and sofia.date == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    assert sofia.date.tzinfo == UTC


def test_hashtag_offsets_are_utf16_units_so_emoji_before_them_do_not_shift_them() -> None:
    assert EMOJI_TEXT[25:32] != "#Kosovo"  # naive str slicing would read the wrong characters
    raw = message_to_raw(message(7, EMOJI_TEXT, entities=EMOJI_ENTITIES), NEWS)
    assert raw is not None
    assert raw.hashtags == ("Србија", "Kosovo")  # the text link is not a tag
    assert raw.text == EMOJI_TEXT


def test_hashtags_from_text_links_and_duplicates_once() -> None:
    text = "#Kosovo update: Kosovo see more #kosovo"
    entities = [
        types.MessageEntityHashtag(offset=0, length=7),
        types.MessageEntityTextUrl(offset=16, length=6, url="https://t.me/s/news?q=%23Pristina"),
        types.MessageEntityTextUrl(offset=23, length=8, url="https://example.com/"),
        types.MessageEntityHashtag(offset=32, length=7),
        types.MessageEntityBold(offset=0, length=7),
    ]
    raw = message_to_raw(message(8, text, entities=entities), NEWS)
    assert raw is not None and raw.hashtags == ("Kosovo", "Pristina", "kosovo")


def test_forward_from_a_channel_with_known_username() -> None:
    msg = message(9, "Statement", fwd_from=forward_from_channel(555, 9001, author="Press office"))
    raw = message_to_raw(msg, NEWS, forward_usernames={555: "MFARussia"})
    assert raw is not None
    assert raw.forward == Forward(
        channel_id=555, username="mfarussia", message_id=9001, name="Press office", date=BASE - timedelta(days=1)
    )  # the header's date: when the original was posted (the spread counts delays from it)


def test_forward_from_a_hidden_user_keeps_only_the_name() -> None:
    fwd = types.MessageFwdHeader(date=BASE, from_name="Ivan Petrov")
    raw = message_to_raw(message(10, "Seen this?", fwd_from=fwd), NEWS)
    assert raw is not None and raw.forward == Forward(name="Ivan Petrov", date=BASE)


def test_forward_from_a_user_peer_is_not_a_channel() -> None:
    fwd = types.MessageFwdHeader(date=BASE, from_id=types.PeerUser(77))
    raw = message_to_raw(message(11, "quote", fwd_from=fwd), NEWS, forward_usernames={77: "someone"})
    assert raw is not None and raw.forward == Forward(date=BASE)


@pytest.mark.parametrize(
    ("media", "kind"),
    [
        (photo(), "photo"),
        (document(types.DocumentAttributeVideo(duration=3.0, w=640, h=480), mime="video/mp4"), "video"),
        (document(mime="video/mp4", round=True), "video"),
        (document(types.DocumentAttributeAudio(duration=5, voice=True), mime="audio/ogg"), "voice"),
        (document(mime="audio/ogg", voice=True), "voice"),
        (document(types.DocumentAttributeAudio(duration=200, title="Song"), mime="audio/mpeg"), "audio"),
        (
            document(
                types.DocumentAttributeSticker(alt="😀", stickerset=types.InputStickerSetEmpty()),
                types.DocumentAttributeImageSize(w=512, h=512),
                mime="image/webp",
            ),
            "sticker",
        ),
        (
            document(
                types.DocumentAttributeAnimated(),
                types.DocumentAttributeVideo(duration=1.0, w=1, h=1),
                mime="video/mp4",
            ),
            "gif",
        ),
        (document(types.DocumentAttributeFilename("report.pdf")), "document"),
        (types.MessageMediaDocument(), "document"),
        (types.MessageMediaWebPage(webpage=types.WebPageEmpty(id=1, url="https://example.com")), "webpage"),
        (types.MessageMediaGeo(geo=types.GeoPoint(long=20.4, lat=44.8, access_hash=0)), "geo"),
        (types.MessageMediaGeoLive(geo=types.GeoPointEmpty(), period=60), "geo"),
        (types.MessageMediaVenue(types.GeoPointEmpty(), "Kalemegdan", "Belgrade", "", "", ""), "venue"),
        (types.MessageMediaDice(value=6, emoticon="🎲"), "dice"),
        (types.MessageMediaContact("+381", "Ana", "", "", 0), "contact"),
        (types.MessageMediaUnsupported(), "unsupported"),
        (types.MessageMediaEmpty(), None),
        (None, None),
    ],
)
def test_media_kinds(media: types.TypeMessageMedia | None, kind: str | None) -> None:
    assert media_kind(media) == kind


def test_caption_less_media_is_a_post_and_empty_text_without_media_is_not() -> None:
    photo_only = message_to_raw(message(12, "", media=photo(), grouped_id=77), NEWS)
    assert photo_only is not None and photo_only.text == "" and photo_only.media_kind == "photo"
    assert photo_only.grouped_id == 77
    assert message_to_raw(message(13, ""), NEWS) is None
    assert message_to_raw(message(14, "   \n"), NEWS) is None


def test_poll_without_caption_takes_its_question_and_answers() -> None:
    poll = types.MessageMediaPoll(
        poll=types.Poll(
            id=1,
            question=types.TextWithEntities("Will the talks succeed?", []),
            answers=[
                types.PollAnswer(types.TextWithEntities("Yes", []), b"0"),
                types.PollAnswer(types.TextWithEntities("No", []), b"1"),
            ],
            hash=0,
        ),
        results=types.PollResults(),
    )
    raw = message_to_raw(message(15, "", media=poll), NEWS)
    assert raw is not None and raw.media_kind == "poll"
    assert raw.text == "Will the talks succeed?\n- Yes\n- No"


def test_service_and_empty_messages_are_not_posts() -> None:
    assert message_to_raw(service(16), NEWS) is None
    assert message_to_raw(types.MessageEmpty(id=17, peer_id=types.PeerChannel(1001)), NEWS) is None


def test_merge_album_joins_captions_in_id_order_under_the_first_id() -> None:
    parts = album(100, ["First #Serbia", "", "Third #Kosovo #Serbia"], grouped_id=555)
    raws = [message_to_raw(m, NEWS) for m in parts]
    raws[0] = replace(raws[0], hashtags=("Serbia",), views=10)  # type: ignore[arg-type]
    raws[2] = replace(raws[2], hashtags=("Kosovo", "Serbia"), views=12, edit_date=BASE)  # type: ignore[arg-type]
    merged = merge_album([raws[2], raws[0], raws[1]])  # type: ignore[list-item]
    assert merged == RawPost(
        channel=NEWS,
        message_id=100,
        date=BASE + timedelta(minutes=100),
        text="First #Serbia\n\nThird #Kosovo #Serbia",
        source="telethon",
        hashtags=("Serbia", "Kosovo"),
        edit_date=BASE,
        media_kind="album",
        views=12,
        grouped_id=555,
    )


def test_merge_album_keeps_a_single_part_as_is_and_refuses_mixed_groups() -> None:
    one = message_to_raw(message(1, "x", media=photo(), grouped_id=5), NEWS)
    other = message_to_raw(message(2, "y", media=photo(), grouped_id=6), NEWS)
    assert one is not None and other is not None
    assert merge_album([one]) is one
    with pytest.raises(ValueError):
        merge_album([one, other])
    with pytest.raises(ValueError):
        merge_album([])


def test_merge_albums_folds_each_group_in_place() -> None:
    msgs = [message(1, "before"), *album(2, ["a", "b"], grouped_id=9), message(4, "after")]
    raws = [r for m in msgs if (r := message_to_raw(m, NEWS)) is not None]
    merged = merge_albums(raws)
    assert [(r.message_id, r.text, r.media_kind) for r in merged] == [
        (1, "before", None),
        (2, "a\n\nb", "album"),
        (4, "after", None),
    ]
