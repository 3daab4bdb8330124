from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.clean import (
    BoilerplateError,
    BoilerplateRules,
    clean_text,
    load_boilerplate,
    normalize,
    unique_paragraphs,
)
from tests.conftest import DATA

RULES = load_boilerplate()


def test_web_preview_paste_loses_chrome_and_repeated_body() -> None:
    text = clean_text((DATA / "mfa_forward_paste.txt").read_text(encoding="utf-8"), RULES)
    assert text.split("\n\n") == [
        "🇷🇺🇷🇸 On March 3, Sergey Lavrov received the Speaker of the National Assembly of Serbia in Moscow.",
        "🤝 The parties noted the high level of political dialogue and agreed to expand contacts between the"
        " two parliaments.",
        "❗️ Russia reaffirmed its support for Belgrade's position on Kosovo in line with UN Security Council"
        " Resolution 1244.",
        "#RussiaSerbia",
    ]


def test_bulgarian_article_keeps_body_and_drops_site_junk() -> None:
    text = clean_text((DATA / "bg_article.txt").read_text(encoding="utf-8"), RULES)
    assert text.split("\n\n") == [
        "Лавров и Вучич обсъдиха Косово на среща в Ню Йорк",
        "Руският външен министър Сергей Лавров и сръбският президент Александър Вучич се срещнаха в"
        " кулоарите на Общото събрание на ООН.",
        "Двамата са обсъдили ситуацията в Косово и сътрудничеството между Русия и Сърбия.",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "VIEW IN TELEGRAM",
        "view in telegram",
        "This media is not supported in your browser",
        "Please open Telegram to view this post",
        "Forwarded from Russian MFA 🇷🇺",
        "📄 Read in full",
        "Read more →",
        "Подробнее",
        "РЕКЛАМА",
        "Реклама",
        "spot_img",
        "Сподели:",
        "Коментари (0)",
        "Комментарии (12)",
        "https://mid.ru/ru/foreign_policy/news/1234567/",
        "10:49 - 18.04.2025",
    ],
)
def test_each_boilerplate_line_is_dropped(line: str) -> None:
    assert clean_text(f"Real news about Serbia.\n{line}\nMore real news.", RULES) == (
        "Real news about Serbia.\n\nMore real news."
    )


def test_words_inside_sentences_are_not_boilerplate() -> None:
    text = "We must share: the advertisement market grew.\nРеклама на кампанията беше спряна от ЦИК."
    assert clean_text(text, RULES) == text.replace("\n", "\n\n")


def test_normalize_nfc_spaces_and_invisible_characters() -> None:
    assert normalize("e\u0301") == "\u00e9"
    assert normalize("Сърбия\u200b  и\tБеларус\r\n\u00a0x ") == "Сърбия и Беларус\nx"
    assert normalize("a  b\r\nc\rd") == "a b\nc\nd"


def test_unique_paragraphs_keeps_first_occurrence_and_order() -> None:
    long_a = "Lavrov met Vucic in Belgrade on Thursday"
    long_b = "The two sides discussed energy and Kosovo"
    lines = [long_b, long_a, "", long_b.lower(), long_a.upper() + "  ", "c", long_a]
    assert unique_paragraphs(lines) == [long_b, long_a, "c"]


def test_repeated_short_lines_are_speech_not_a_repeated_body() -> None:
    """Issue #26: a second "She said:" or `}` is part of the text; a body pasted twice still goes whole."""
    dialogue = ["She said:", "“Where is he?”", "He said:", "“Here.”", "She said:", "“Come in.”"]
    assert unique_paragraphs(dialogue) == dialogue
    code = ["if (a) {", "x = 1;", "}", "if (b) {", "y = 2;", "}"]
    assert unique_paragraphs(code) == code
    body = ["Lavrov in Belgrade", "Russian Foreign Minister Sergey Lavrov met Serbian President Vucic.", "Photo: AP"]
    assert unique_paragraphs([*body, *body]) == body  # the second copy's short title and caption go with it


def test_clean_is_idempotent_on_samples() -> None:
    for name in ("mfa_forward_paste.txt", "bg_article.txt"):
        once = clean_text((DATA / name).read_text(encoding="utf-8"), RULES)
        assert clean_text(once, RULES) == once


def test_extra_rules_file_extends_defaults(tmp_path: Path) -> None:
    extra = tmp_path / "mine.toml"
    extra.write_text('[[rule]]\nname = "signoff"\nkind = "drop"\npattern = "Subscribe to @\\\\w+"\n', "utf-8")
    rules = RULES + load_boilerplate(extra)
    assert clean_text("News.\nSubscribe to @worldnews\nVIEW IN TELEGRAM", rules) == "News."


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[[rule]]\nname = "x"\nkind = "erase"\npattern = "a"\n', "rule #1 (x): kind must be one of"),
        ('[[rule]]\nname = "x"\npattern = ""\n', "rule #1 (x): 'pattern' must be a non-empty string"),
        ('[[rule]]\nname = "x"\npattern = "(unclosed"\n', "rule #1 (x): bad regular expression"),
        ("[[rule]\n", "invalid TOML"),
    ],
)
def test_bad_rules_file_names_file_and_rule(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, "utf-8")
    with pytest.raises(BoilerplateError) as error:
        load_boilerplate(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_a_rules_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    """Robustness sweep: BOILERPLATE_FILE saved as latin-1 was "'utf-8' codec can't decode byte 0xe9", no file."""
    path = tmp_path / "boilerplate.toml"
    path.write_bytes(b'[[rule]]\nname = "caf\xe9"\npattern = "x"\n')
    with pytest.raises(BoilerplateError, match=rf"{path}: not UTF-8 text"):
        load_boilerplate(path)


def _rules(tmp_path: Path, *rules: tuple[str, str, str]) -> BoilerplateRules:
    body = "".join(f"[[rule]]\nname = '{n}'\nkind = '{k}'\npattern = '{p}'\n" for n, k, p in rules)
    (tmp_path / "r.toml").write_text(body, "utf-8")
    return load_boilerplate(tmp_path / "r.toml")


def test_first_rule_matching_the_whole_line_wins(tmp_path: Path) -> None:
    """The line rules run as one combined pattern; it must pick what the rules in order would."""
    rules = _rules(
        tmp_path,
        ("prefix", "drop", "read"),  # matches the start of "read more" only: not the whole line
        ("more", "cut", "read (more)"),  # a group of its own inside the combined pattern
        ("xs", "drop_with_next", "x+"),
    )
    assert rules.line_rule("read more") is rules.rules[1]
    assert rules.line_rule("READ") is rules.rules[0]
    assert rules.line_rule("xxx") is rules.rules[2]
    assert rules.line_rule("something else") is None
    assert clean_text("Keep.\nxx\nskipped\nAlso kept.\nread more\ngone", rules) == "Keep.\n\nAlso kept."


def test_rules_referring_to_their_groups_are_matched_one_by_one(tmp_path: Path) -> None:
    rules = _rules(tmp_path, ("twice", "drop", r"(\w+) \1"), ("echo", "drop", "(?P<w>x+)-(?P=w)"))
    assert rules.line_rule("la la") is rules.rules[0]
    assert rules.line_rule("xx-xx") is rules.rules[1]
    assert rules.line_rule("la lo") is None
    assert clean_text("Keep.\nla la\nxx-xx", rules) == "Keep."


def test_required_chars_are_the_literals_every_match_holds() -> None:
    import re

    from bot.core.clean import required_chars

    assert required_chars(re.compile(r"(снимка|фото|photo)\s*:\s*©.*$", re.I)) == ":©"
    assert required_chars(re.compile(r"(?:comments)\s*\(\d+\)", re.I)) == "()"
    assert required_chars(re.compile(r"a|©")) == ""  # in one alternative only
    assert required_chars(re.compile(r"©?x[©]*(?=©)")) == ""  # optional, repeated, a lookahead
    assert required_chars(re.compile(r"(?x) © \ ")) == "© "  # verbose: the escaped space only
    assert required_chars(re.compile(r"Kx", re.I)) == ""  # letters match other letters case-insensitively


def test_a_strip_rule_skips_lines_it_cannot_match_and_keeps_what_sub_would_leave(tmp_path: Path) -> None:
    from bot.core.clean import strip_boilerplate

    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(
        '[[rule]]\nname = "credit"\nkind = "strip"\npattern = \'(photo|фото):\\s*©.*$\'\n', encoding="utf-8"
    )
    rules = load_boilerplate(rules_file)
    assert rules.rules[0].needs == ":©"
    lines = ["  Headline  ", "Headline PHOTO: © AP", "Фото: ©", "photo: (c) AP", ""]
    removed: list = []
    signals: list = []
    kept = strip_boilerplate(lines, rules, removed, signals)
    assert kept == ["Headline", "Headline", "", "photo: (c) AP", ""]
    assert [r.text for r in removed] == ["  Headline  ", "Headline PHOTO: © AP", "Фото: ©"]
    assert len(signals) == 3
