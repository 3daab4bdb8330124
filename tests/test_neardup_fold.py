"""The signature's faster text folding gives the very signatures the per-paragraph folding gave.

`MinHasher.signature` folds a whole post once and then splits it into paragraphs, where it used to
fold each paragraph (`shingle_words`) separately; stored signatures and band keys must not change.
"""

from __future__ import annotations

from bench.corpus import generate
from bot.core.neardup import MinHasher, Signature, _dates, _numbers, shingle_words
from bot.core.pipeline import Pipeline

TRICKY = [
    "Vučić\n\n\u0301Lavrov https://t.me/x\n\nСЕРБИЯ ß straße ẞ #tag @me 20.11.2026 ٣ 12 ёлка Ёж",
    "a\n\n\nb c d e f g h i j k l\n\n\n\n",
    "ﬁ ﬂ ² ٣\n\nwww.example.org/a\nb c d e f g h HTTPS://EXAMPLE.ORG/X ſ ſt K",
    "🇷🇺🇷🇸 Лавров и Вучић\n\nhttp://a.b/c\n\n#Сербия @mfa\n\nодин два три четыре пять шесть",
]


def per_paragraph(hasher: MinHasher, text: str) -> Signature | None:
    """The signature as computed before: each paragraph folded on its own."""
    paragraphs = [shingle_words(p) for p in text.split("\n\n")]
    words = [w for p in paragraphs for w in p]
    expected = hasher.signature(text)
    if expected is None:
        return None
    return Signature(
        expected.values, len(hasher._shingles(words)), _dates(words, text), _numbers(words), hasher._lead(paragraphs)
    )


def test_whole_text_folding_equals_per_paragraph_folding() -> None:
    hasher = MinHasher()
    pipeline = Pipeline.load()
    texts = [pipeline.clean(raw.text) for raw in generate(300)] + TRICKY
    for text in texts:
        paragraphs = [shingle_words(p) for p in text.split("\n\n")]
        words = [w for p in paragraphs for w in p]
        signature = hasher.signature(text)
        if signature is None:
            assert len(hasher._shingles(words)) < hasher.params.min_shingles
            continue
        assert signature == per_paragraph(hasher, text)
        assert signature.shingles == len(hasher._shingles(words))
        # the bins themselves: the same shingles hashed
        assert hasher.shingles(text) == hasher._shingles(words)


def test_a_number_sign_int_refuses_does_not_break_signing() -> None:
    """A "❶" is a digit to str.isdigit but not a number to int(): it used to raise mid-ingest."""
    signature = MinHasher().signature("❶ Statement of the ministry on the talks held in Belgrade today 12")
    assert signature is not None
    assert signature.numbers == (12,)


URL_TEXTS = [
    "WWW.EXAMPLE.ORG/a b",
    "wWw.x.y and T.ME/chan and t.Me/x",
    "see t.me/ and www. and ://",
    "no links. just dots... t.m e/ ww.w.",
    "ftp://host/x http:/x https//x",
    "#tag@me #@ @#x",
    "ſ ﬆ.me/x K www",
]


def test_folding_skips_the_link_and_tag_regexes_only_where_they_cannot_match() -> None:
    """`_folded` runs _URL and the tag pattern only when a precheck says they may match; the result is
    what running them always gives."""
    from bot.core.neardup import _MARKS, _TAG_OR_MENTION, _URL, _folded

    def always(text: str) -> str:
        import unicodedata

        text = _TAG_OR_MENTION.sub(" ", _URL.sub(" ", text))
        folded = _MARKS.sub("", unicodedata.normalize("NFKD", text.casefold()))
        return folded.replace("ё", "е").replace("ß", "ss")

    pipeline = Pipeline.load()
    for text in URL_TEXTS + TRICKY + [pipeline.clean(raw.text) for raw in generate(200)]:
        assert _folded(text) == always(text), text


def test_numeric_dates_are_read_where_a_dot_precedes_a_digit_and_nowhere_else() -> None:
    """`_dates` runs its numeric-date pattern only on texts with a ".\\d"; these are its answers from
    before that shortcut (links removed first, a word character before the day excludes it)."""
    from bot.core.neardup import text_dates

    assert text_dates("Встреча 20.11. и 05.12.2026") == (1120, 1205)
    assert text_dates("see http://a.b/20.11. only") == ()
    assert text_dates("a1.2. b") == ()
    assert text_dates("٣.٤. ok") == (403,)
    assert text_dates("no dates. 5 . 6.") == ()
    assert text_dates("20 November, 1.13.") == (1101, 1120)
