"""storage/tag_list.py: a post's tags as one string and back, with the decoder's two bounded caches."""

from __future__ import annotations

from bot.models import Tag
from storage.tag_list import TagDecoder, encode_tags

SERBIA = Tag("serbia", "Serbia", "topic")
ENERGY = Tag("energy", "Energy", "topic")
HASH = Tag("vucic", "#Vucic", "hashtag")
LANG = Tag("lang:sr", "sr", "lang")


def test_round_trip_in_display_order() -> None:
    decoder = TagDecoder()
    listed = encode_tags([LANG, SERBIA, HASH, ENERGY, SERBIA])
    assert decoder.decode(listed) == (HASH, ENERGY, SERBIA, LANG)
    assert decoder.decode("") == ()


def test_a_list_seen_again_is_the_same_tuple_and_equal_to_a_fresh_decode() -> None:
    decoder = TagDecoder()
    listed = encode_tags([SERBIA, LANG])
    first = decoder.decode(listed)
    assert decoder.decode(listed) is first
    assert TagDecoder().decode(listed) == first == (SERBIA, LANG)


def test_the_list_cache_is_bounded_and_keeps_decoding_right() -> None:
    decoder = TagDecoder(max_lists=2)
    lists = [encode_tags([Tag(f"t{i}", f"T{i}", "topic"), LANG]) for i in range(5)]
    for round_ in range(2):
        for i, listed in enumerate(lists):
            assert decoder.decode(listed) == (Tag(f"t{i}", f"T{i}", "topic"), LANG), round_
            assert len(decoder._lists) <= 2
