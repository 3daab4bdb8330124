from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.core import bg_stem
from bot.core.highlight import focus, mark
from bot.core.search_query import contains_exact, match_spans, matches, parse_query
from bot.core.textnorm import TextNormaliser, emoji_tokens, fold, script_langs

N = TextNormaliser()


def tokens(text: str, lang: str | None) -> set[str]:
    return set(N.index_tokens(text, lang))


def finds(query: str, text: str, lang: str | None) -> bool:
    return matches(text, lang, parse_query(query, N), N)


def test_fold_case_yo_stress_and_scripts() -> None:
    assert fold("ПРОВЁЛ") == fold("провел") == "provel"
    assert fold("что́бы") == fold("чтобы")  # a stress mark does not split or change the word
    assert fold("Вучић") == fold("Vučić") == fold("Vucic") == fold("Вучич") == "vucic"
    assert fold("Ђурић") == fold("Đurić") == "djuric"
    assert fold("Straße") == "strasse"


@pytest.mark.parametrize(
    ("query", "text", "lang"),
    [
        ("Сербия", "Президент Сербии заявил", "ru"),
        ("Сербия", "Сербией управляет коалиция", None),  # too short to tell its language: every stemmer
        ("сърбия", "Сърбията и Унгария подписаха", "bg"),
        ("провел", "Лавров провёл переговоры", "ru"),
        ("провёл", "Вучич провел встречу", "ru"),
        ("Vucic", "Президент Сербии Александр Вучич", "ru"),
        ("Vučić", "Председник Србије Александар Вучић", "sr"),
        ("Вучич", "Predsednik Srbije Aleksandar Vučić", "sr"),
        ("Србија", "Srbija neće uvesti sankcije", "sr"),
        ("sankcije", "Србија неће увести санкције", "sr"),
        ("sanctions", "A sanctioned tanker was inspected", "en"),
        ("🇷🇸", "🇷🇺🇷🇸 Lavrov held talks", "en"),
        ("министър", "Министрите обсъдиха бюджета", "bg"),
        ("Республика Сербская", "лидер Республики Сербской", "ru"),
    ],
)
def test_inflections_scripts_and_emoji_match(query: str, text: str, lang: str | None) -> None:
    assert finds(query, text, lang), (query, text)


@pytest.mark.parametrize(
    ("query", "text", "lang"),
    [
        ("газ", "Газета опубликовала интервью", "ru"),
        ("мир", "Мирослав Лайчак назначен", "ru"),
        ("Србија", "Srbijagas je potpisao ugovor", "sr"),  # another word, not a form of it
        ("🇷🇸", "🇷🇺🇧🇬 Посланикът", "bg"),
        ('"провёл переговоры"', "Додик провел переговоры в Москве", "ru"),  # quotes: as written
        ('"Vučić"', "Vucic je rekao", "sr"),
        ("Сербия санкции", "Посол Сербии вручил грамоты", "ru"),  # every word must appear
    ],
)
def test_near_misses_do_not_match(query: str, text: str, lang: str | None) -> None:
    assert not finds(query, text, lang), (query, text)


def test_emoji_tokens() -> None:
    assert emoji_tokens("🇷🇺🇷🇸📞") == ["flagru", "flagrs", "emoji1f4de"]
    assert emoji_tokens("👍🏽 ❗️") == ["emoji1f44d", "emoji2757"]  # skin tone and variation selector dropped
    assert emoji_tokens("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f") == ["flaggbsct"]
    assert emoji_tokens("plain text, — «quotes» №5") == []
    assert "flagrs" in tokens("Srbija🇷🇸", "sr") and "srbija" in tokens("Srbija🇷🇸", "sr")


def test_query_words_stem_in_the_languages_their_letters_allow() -> None:
    assert script_langs("сербия") == ("ru", "bg", "uk", "sr")
    assert script_langs("сербы") == ("ru",)
    assert script_langs("србија") == ("sr",)
    assert script_langs("vučić") == ("sr",)
    assert script_langs("serbia") == ("en", "sr")
    assert {"serb", "serbija"} <= N.word_alternatives("Сербия")


def test_hostile_and_empty_queries_are_text() -> None:
    assert parse_query('NEAR( "a" OR b* -c ^d', N).terms  # words, no syntax
    assert parse_query('"" *** " ', N).empty
    unbalanced = parse_query('"Лавров провёл', N)
    assert unbalanced.phrases == () and len(unbalanced.terms) == 2


def test_exact_phrases_are_whole_words_case_insensitive_any_spaces() -> None:
    assert contains_exact("Министр ПРОВЁЛ  переговоры", "провёл переговоры")
    assert not contains_exact("Министр провел переговоры", "провёл переговоры")
    assert not contains_exact("Serbian", "Serb")
    assert contains_exact("U.S. officials", "U.S.")


def test_index_tokens_do_not_depend_on_the_hash_seed() -> None:
    """Tokens must be the same in every process: a contentless index forgets a row by its tokens."""
    code = "from bot.core.textnorm import TextNormaliser as T; n = T(); print(n.version)"
    versions = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(versions) == 1 and N.version in versions.pop()


def test_versions_differ_when_stemming_differs() -> None:
    assert TextNormaliser(stemmers={}, name="x").version != N.version


def test_savoy_bulgarian_stemmer() -> None:
    assert bg_stem.stem("министрите") == bg_stem.stem("министър") == "министр"
    assert bg_stem.stem("санкциите") == bg_stem.stem("санкции")
    assert bg_stem.stem("преговорите") == bg_stem.stem("преговори") == "преговор"
    assert bg_stem.stem("газ") == "газ"  # short words are left alone


def test_highlight_marks_the_forms_that_matched_in_the_original_text() -> None:
    text = "Заголовок.\n\nПрезидент СЕРБИИ и Vučić 🇷🇸 провёл переговоры.\n\nЕщё абзац про Сербию."
    query = parse_query('Сербия Вучич 🇷🇸 "провёл переговоры"', N)
    spans = match_spans(text, "ru", query, N)
    assert [text[a:b] for a, b in spans] == ["СЕРБИИ", "Vučić", "🇷🇸", "провёл переговоры", "Сербию"]
    shown, inside = focus(text, spans)
    assert shown.startswith("Президент") and "Заголовок" not in shown
    assert mark(shown, inside, ("[", "]")) == "Президент [СЕРБИИ] и [Vučić] [🇷🇸] [провёл переговоры]."


def test_focus_cuts_a_long_paragraph_around_the_match() -> None:
    text = "слово " * 100 + "Сербии " + "слово " * 100
    query = parse_query("Сербия", N)
    shown, inside = focus(text, match_spans(text, "ru", query, N))
    assert shown.startswith("…") and shown.endswith("…") and len(shown) < 300
    assert [shown[a:b] for a, b in inside] == ["Сербии"]
