from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.core.tag_explain import explain_topics
from bot.core.tags import (
    DEFAULT_RULES_FILE,
    KeywordRules,
    RulesError,
    extract_hashtags,
    load_rules,
    parse_rules,
    topic_tags,
)
from bot.models import Tag

RULES = load_rules()


def keys(tags: list[Tag]) -> list[str]:
    return [tag.key for tag in tags]


def topics(text: str, rules: KeywordRules = RULES) -> set[str]:
    return set(keys(topic_tags(text, rules)))


def reference(text: str, rules: KeywordRules = RULES) -> set[str]:
    """Each rule's own regex, one at a time: slow but obviously right."""
    return {rule.tag.key for rule in rules.rules if rule.pattern.search(text)}


# --- hashtags -------------------------------------------------------------------------------------


def test_latin_and_cyrillic_hashtags_in_order() -> None:
    text = "#RussiaSerbia Лавров в Белград. #РусияСърбия, (#Россия_Сербия) и #G7\n#Сербия2024"
    tags = extract_hashtags(text)
    displays = ["#RussiaSerbia", "#РусияСърбия", "#Россия_Сербия", "#G7", "#Сербия2024"]
    assert [t.display for t in tags] == displays
    assert keys(tags) == ["russiaserbia", "русиясърбия", "россия_сербия", "g7", "сербия2024"]
    assert {t.kind for t in tags} == {"hashtag"}


def test_pure_numbers_are_not_hashtags() -> None:
    assert extract_hashtags("Пост #1 и #2024, #_1") == []


def test_duplicates_keep_first_form() -> None:
    tags = extract_hashtags("#Serbia #SERBIA #serbia #Сърбия #СЪРБИЯ")
    assert [t.display for t in tags] == ["#Serbia", "#Сърбия"]


def test_entity_tags_merged_case_insensitively() -> None:
    tags = extract_hashtags("Новини #Serbia", ["serbia", "#SERBIA", "#Kosovo", " Косово ", "", "#", "#12"])
    assert [t.display for t in tags] == ["#Serbia", "#Kosovo", "#Косово"]
    assert keys(tags) == ["serbia", "kosovo", "косово"]


def test_entity_tags_alone() -> None:
    assert extract_hashtags("", ("Балканы",)) == [Tag("балканы", "#Балканы", "hashtag")]


@pytest.mark.parametrize(
    "text",
    [
        "https://x.org/page#section",
        "see x.org/page#section now",
        "https://x.org/#/route",
        "path/#frag",
        "it&#39;s &#x27;quoted&#x27;",
        "https://t.me/s/channel?before=10#anchor",
        "C# and F#",
    ],
)
def test_not_hashtags(text: str) -> None:
    assert extract_hashtags(text) == []


def test_hashtag_after_url() -> None:
    assert keys(extract_hashtags("https://x.org/a#b #Новини")) == ["новини"]


# --- default topics -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        # Serbia
        ("Serbia signs a new gas deal", "serbia"),
        ("the Serbian president said", "serbia"),
        ("Вучич: Сърбия няма да въведе санкции", "serbia"),
        ("позицията на сръбския президент", "serbia"),
        ("Сърбията и Унгария", "serbia"),
        ("в Сербии прошли выборы", "serbia"),
        ("с сербской стороной", "serbia"),
        ("сербы вышли на митинг", "serbia"),
        ("визит в Белград", "serbia"),
        # Kosovo
        ("talks on Kosovo resumed", "kosovo"),
        ("Pristina rejected the plan", "kosovo"),
        ("напрежението в Косово", "kosovo"),
        ("властите в Приштина", "kosovo"),
        ("власти Приштины заявили", "kosovo"),
        ("косовские сербы", "kosovo"),
        # Bosnia
        ("Bosnian Serb leader Milorad Dodik", "bosnia"),
        ("Босна и Херцеговина", "bosnia"),
        ("в Боснии и Герцеговине", "bosnia"),
        ("президент Республики Сербской", "bosnia"),
        ("лидерът на Република Сръбска", "bosnia"),
        # Belarus
        ("Belarusian opposition", "belarus"),
        ("в Белоруссии", "belarus"),
        ("Беларус и Русия", "belarus"),
        ("белорусский лидер", "belarus"),
        ("Лукашенко заяви", "belarus"),
        ("срещата в Минск", "belarus"),
        ("Лукашенко", "belarus"),
        # Iran
        ("Iranian drones", "iran"),
        ("talks in Tehran", "iran"),
        ("Иран отговори", "iran"),
        ("санкции против Ирана", "iran"),
        ("иранская нефть", "iran"),
        ("в Тегеране", "iran"),
        # Ukraine
        ("Ukrainian forces", "ukraine"),
        ("a visit to Kyiv", "ukraine"),
        ("войната в Украйна", "ukraine"),
        ("украинските сили", "ukraine"),
        ("на Украине", "ukraine"),
        ("в Киеве заявили", "ukraine"),
        ("Зеленский", "ukraine"),
        ("Україна отримала", "ukraine"),
        # Russia
        ("Russian gas", "russia"),
        ("the Kremlin said", "russia"),
        ("Русия и Китай", "russia"),
        ("руският президент", "russia"),
        ("руснаците", "russia"),
        ("России и Китая", "russia"),
        ("российский МИД", "russia"),
        ("в Москве", "russia"),
        ("Песков", "russia"),
        # Bulgaria
        ("Bulgarian government", "bulgaria"),
        ("България и Сърбия", "bulgaria"),
        ("българското правителство", "bulgaria"),
        ("в Болгарии", "bulgaria"),
        ("болгарские власти", "bulgaria"),
        # USA
        ("the USA and China", "usa"),
        ("U.S. officials", "usa"),
        ("the United States", "usa"),
        ("Washington responded", "usa"),
        ("USAID funding", "usa"),
        ("САЩ и ЕС", "usa"),
        ("американският посланик", "usa"),
        ("във Вашингтон", "usa"),
        ("США и ЕС", "usa"),
        ("в Вашингтоне", "usa"),
        ("американские санкции", "usa"),
        ("в Белом доме", "usa"),
        # China
        ("China's exports", "china"),
        ("Chinese companies", "china"),
        ("Китай и Русия", "china"),
        ("китайски компании", "china"),
        ("из Китая", "china"),
        ("в Китае", "china"),
        ("китайская делегация", "china"),
        ("в Пекине", "china"),
        # EU
        ("the European Union", "eu"),
        ("EU leaders", "eu"),
        ("summit in Brussels", "eu"),
        ("ЕС прие", "eu"),
        ("Европейския съюз", "eu"),
        ("Европейският съюз", "eu"),
        ("Европейския съвет", "eu"),
        ("в Брюксел", "eu"),
        ("Евросоюз", "eu"),
        ("странами Евросоюза", "eu"),
        ("Европейского союза", "eu"),
        ("в Брюсселе", "eu"),
        # UN
        ("the United Nations", "un"),
        ("the UN Security Council", "un"),
        ("UNSC resolution", "un"),
        ("ООН осъди", "un"),
        ("Организация на обединените нации", "un"),
        ("Обединените нации", "un"),
        ("генсек ООН", "un"),
        ("Организации Объединённых Наций", "un"),
        ("Совбезе", "un"),
        # NATO
        ("NATO summit", "nato"),
        ("Nato allies", "nato"),
        ("НАТО", "nato"),
        ("Североатлантического альянса", "nato"),
        # subjects
        ("new sanctions", "sanctions"),
        ("санкциите срещу Русия", "sanctions"),
        ("санкционный список", "sanctions"),
        ("peace talks", "diplomacy"),
        ("Лавров се срещна с Вучич", "diplomacy"),
        ("преговорите", "diplomacy"),
        ("встреча Лаврова и Вучича", "diplomacy"),
        ("переговоры в Минске", "diplomacy"),
        ("oil prices", "energy"),
        ("доставките на газ", "energy"),
        ("поставки газа", "energy"),
        ("нефтяной эмбарго", "energy"),
    ],
)
def test_default_topics(text: str, tag: str) -> None:
    assert tag in topics(text), f"{text!r} should be tagged {tag}"


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("UNESCO heritage site", "un"),  # whole words: UN is not UNESCO
        ("un accord signé", "un"),  # '=UN' is case-sensitive, French "un" is not the UN
        ("Un accord signé", "un"),
        ("usage of the word", "usa"),
        ("USB cable", "usa"),
        ("Prussian history", "russia"),
        ("Ирина Иванова", "iran"),
        ("вчерашняя газета", "energy"),
        ("Eurovision in Basel", "eu"),
        ("o meu país", "eu"),  # Portuguese "eu" = I
        ("Kosovoski", "kosovo"),
        ("министр экономики", "belarus"),  # "Минск*" must not catch "министр"
        ("Serbet", "serbia"),
    ],
)
def test_hard_negatives(text: str, tag: str) -> None:
    assert tag not in topics(text), f"{text!r} should not be tagged {tag}"


def test_topic_tag_shape_and_rules_order() -> None:
    tags = topic_tags("Sanctions on Iran, talks between Serbia and Russia", RULES)
    assert tags == [
        Tag("serbia", "Serbia", "topic"),
        Tag("iran", "Iran", "topic"),
        Tag("russia", "Russia", "topic"),
        Tag("sanctions", "Sanctions", "topic"),
        Tag("diplomacy", "Diplomacy", "topic"),
    ]


def test_phrases_match_across_line_breaks_and_hashtags_count() -> None:
    assert "eu" in topics("the European\nUnion")
    assert "un" in topics("Обединените   нации")
    assert "serbia" in topics("#Serbia")
    assert topics("") == set()


def test_keywords_next_to_each_other_and_at_the_edges() -> None:
    assert topics("Serbia,Kosovo;Bosnia") == {"serbia", "kosovo", "bosnia"}


def test_default_file_covers_the_required_topics_in_three_languages() -> None:
    data = tomllib.loads(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    by_tag = {entry["tag"]: entry for entry in data["topic"]}
    for tag in (
        "serbia",
        "kosovo",
        "bosnia",
        "belarus",
        "iran",
        "ukraine",
        "usa",
        "china",
        "eu",
        "un",
        "russia",
        "bulgaria",
        "nato",
        "sanctions",
        "diplomacy",
        "energy",
    ):
        assert {"en", "bg", "ru"} <= set(by_tag[tag]), tag


def test_scanners_agree_with_each_rules_own_regex() -> None:
    texts = [
        "Лавров встретился с Вучичем в Белграде; обсуждали Косово, газ и санкции ЕС против России.",
        "Путин и Лукашенко се срещнаха в Минск. САЩ и НАТО критикуваха срещата, ООН мълчи.",
        "USAID and UNESCO; the U.S. and the UN Security Council; Xi Jinping in Tehran.",
        "Президентът на Република Сръбска Милорад Додик посети Москва и Пекин.",
        "Зеленський провів переговори у Києві; Росія та США; Білий дім.",
        "Eurovision, Prussia, Ирина, газета, министр экономики — nothing here.",
    ]
    for text in texts:
        assert topics(text) == reference(text), text


# --- through the search normaliser ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("Vučić: Srbija neće uvesti sankcije Rusiji.", "serbia"),  # Србиј* in Latin script
        ("Vučić: Srbija neće uvesti sankcije Rusiji.", "sanctions"),  # санкци* in Latin script
        ("Pregovori Beograda i Prištine nastavljaju se u Briselu.", "kosovo"),  # Приштин*
        ("Dodik: Republika Srpska neće prihvatiti odluke.", "bosnia"),  # Република Српска
    ],
)
def test_serbian_posts_match_keywords_in_either_script(text: str, tag: str) -> None:
    assert tag in keys(topic_tags(text, RULES, "sr"))


def test_one_word_keywords_match_inflected_forms_but_not_short_stems(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, '[[topic]]\ntag = "k"\nru = ["Косово", "посла"]\nen = ["Putin"]'))
    assert keys(topic_tags("ситуация вокруг Косова", rules, "ru")) == ["k"]  # Косово -> косов
    assert keys(topic_tags("вокруг Косову", rules, None)) == ["k"]  # unknown language: every stemmer
    assert keys(topic_tags("после встречи", rules, "ru")) == []  # посла and после share a 4-letter stem
    assert keys(topic_tags("Putinism", rules, "en")) == []  # English keywords: their forms as listed
    assert keys(topic_tags("Kosova", rules, "en")) == []  # a Cyrillic keyword, a Latin word, not Serbian


def test_cyrillic_keywords_stay_off_latin_words_outside_serbian_posts(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, '[[topic]]\ntag = "k"\nru = ["Лавров"]'))
    assert keys(topic_tags("Lavrov met the press", rules, "en")) == []
    assert keys(topic_tags("Lavrov je razgovarao sa novinarima", rules, "sr")) == ["k"]


# --- custom rules ---------------------------------------------------------------------------------


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "my-rules.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_custom_rules_file(tmp_path: Path) -> None:
    rules = load_rules(
        write(
            tmp_path,
            """
            [[topic]]
            tag = "balkans"
            display = "Balkans"
            en = ["Balkan*", "Western Balkans"]
            bg = ["Балкан*", "Западн* Балкан*"]

            [[topic]]
            tag = "who"
            en = ["=WHO", "World Health Organization"]
            """,
        )
    )
    assert rules.source.endswith("my-rules.toml")
    assert topic_tags("the Western Balkans and the WHO", rules) == [
        Tag("balkans", "Balkans", "topic"),
        Tag("who", "who", "topic"),  # display defaults to the tag
    ]
    assert topics("Западните Балкани", rules) == {"balkans"}
    assert topics("who knows", rules) == set()
    assert topics("Serbia", rules) == set()  # a user's file replaces the defaults


def test_rules_with_clashing_keywords_are_all_found(tmp_path: Path) -> None:
    # The same word and overlapping stems in different rules: each is found (a combined regex would
    # report only one of them per position; the scanners check every keyword that starts there).
    rules = parse_rules(
        """
        [[topic]]
        tag = "leaders"
        en = ["Putin", "Xi"]
        [[topic]]
        tag = "russia"
        en = ["Putin*", "Russia"]
        [[topic]]
        tag = "people"
        en = ["Put*", "Xi Jinping"]
        [[topic]]
        tag = "europe"
        en = ["European Union", "European Council"]
        [[topic]]
        tag = "council"
        en = ["European Council"]
        """
    )
    assert topics("Putin", rules) == {"leaders", "russia", "people"}
    assert topics("Putin's", rules) == {"leaders", "russia", "people"}
    assert topics("Putinism", rules) == {"russia", "people"}
    assert topics("Xi Jinping", rules) == {"leaders", "people"}
    assert topics("the European Council", rules) == {"europe", "council"}
    for text in ("Putin", "Putinism", "Xi Jinping", "Put Xi", "European Council", "European Union"):
        assert topics(text, rules) == reference(text, rules), text


# --- errors ---------------------------------------------------------------------------------------


def error_for(tmp_path: Path, body: str) -> str:
    path = write(tmp_path, body)
    with pytest.raises(RulesError) as info:
        load_rules(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[[topic]]\ntag = "x"\nen = [Serbia]\n')
    assert "invalid TOML" in message
    assert "line 3" in message


def test_missing_tag(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[[topic]]\ntag = "a"\nen = ["a"]\n[[topic]]\ndisplay = "B"\nen = ["b"]\n')
    assert "topic #2" in message
    assert "missing 'tag'" in message


def test_empty_keyword_list(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[[topic]]\ntag = "serbia"\nen = ["Serbia"]\nbg = []\n')
    assert "topic #1 (serbia)" in message
    assert "'bg' is an empty keyword list" in message


def test_keyword_of_wrong_type(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[[topic]]\ntag = "serbia"\nen = ["Serbia", 42]\n')
    assert "topic #1 (serbia)" in message
    assert "'en' keyword #2" in message
    assert "must be a string, got int" in message


def test_keyword_list_of_wrong_type(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[[topic]]\ntag = "serbia"\nen = "Serbia"\n')
    assert "'en' must be a list of keywords, got str" in message


def test_empty_keyword(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[[topic]]\ntag = "serbia"\nen = ["Serbia", "  "]\n')
    assert "topic #1 (serbia): 'en' keyword #2: empty keyword" in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[topic]]\ntag = "a"\nen = ["S*rbia"]\n', "'*' may only end a word"),
        ('[[topic]]\ntag = "a"\nen = ["*"]\n', "needs a letter or digit"),
        ('[[topic]]\ntag = "a"\nen = ["="]\n', "empty keyword"),
        ('[[topic]]\ntag = "Serbia"\nen = ["x"]\n', "'tag' must be lowercase ASCII"),
        ('[[topic]]\ntag = "a"\ndisplay = ""\nen = ["x"]\n', "'display' must be a non-empty string"),
        ('[[topic]]\ntag = "a"\n', "no keywords"),
        ('[[topic]]\ntag = "a"\nen = ["x"]\n[[topic]]\ntag = "a"\nen = ["y"]\n', "already used by topic #1"),
        ('tag = "a"\n', "unknown top-level key 'tag'"),
        ("", "no [[topic]] tables"),
    ],
)
def test_other_mistakes(tmp_path: Path, body: str, expected: str) -> None:
    assert expected in error_for(tmp_path, body)


def test_a_huge_bad_keyword_is_quoted_short(tmp_path: Path) -> None:
    """The message quotes 60 characters of a 10,000-character keyword or value, not all of it."""
    for body in (
        f'[[topic]]\ntag = "a"\nen = ["{"!" * 10_000}"]\n',
        f'[[topic]]\ntag = "a"\nen = [[{", ".join(["1"] * 5000)}]]\n',
        f'[[topic]]\ntag = "{"A" * 10_000}"\nen = ["x"]\n',
    ):
        message = error_for(tmp_path, body)
        assert len(message) < len(str(tmp_path)) + 300 and "…" in message, message[:400]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "nope.toml")


def test_rules_error_is_a_value_error() -> None:
    assert issubclass(RulesError, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        "It's like ants negotiating with the Air Force",
        "Doing ok! In a meeting right now!",
        "Blockchain meets science research. I just started a research on it,",
        "но это наши покупатели, и визитки у нас закончились",
        "The energy stored in a structural member is called resilience when the member is deformed",
        "And there goes my electricity",
        "Due to change in price level, a revised estimate is prepared if the sanctioned estimate exceeds",
    ],
)
def test_everyday_words_are_not_topics(text: str) -> None:
    """Issue 35.6: chat and quiz lines from real exports that the looser rules tagged."""
    assert {t.key for t in topic_tags(text, RULES)} & {"diplomacy", "energy", "sanctions"} == set()


def test_explain_topics_names_the_words_and_the_rule() -> None:
    reasons = explain_topics("Lavrov held talks with Vucic on energy security and gas supplies.", RULES, "en")
    by_key = {r.tag.key: r for r in reasons}
    assert by_key["diplomacy"].words[0] == "held talks"
    assert "held talks" in by_key["diplomacy"].keywords
    assert set(by_key["energy"].words) >= {"energy security", "gas"}
    inflected = explain_topics("Вучич је разговарао са Лавровом у Београду", RULES, "sr")
    assert {r.tag.key for r in inflected} >= {"serbia"}


def test_scanners_find_every_rule_a_keyword_starts_in_keyword_soup() -> None:
    """Keywords cut short, run together, glued to punctuation, in other cases, with rules sharing words
    and stems: the scanners (an automaton of keyword starts, each checked) find what each rule's own
    regex finds."""
    import random

    rules = parse_rules(
        """
        [[topic]]
        tag = "leaders"
        en = ["Putin", "Xi", "=UN", "=U.S."]
        [[topic]]
        tag = "russia"
        en = ["Putin*", "Russia", "=UNSC"]
        [[topic]]
        tag = "people"
        en = ["Put*", "Xi Jinping", "-x", "a.b*", "=US*"]
        [[topic]]
        tag = "europe"
        en = ["European Union", "European Council", "e*"]
        [[topic]]
        tag = "council"
        en = ["European Council", "Council* of*", "_x"]
        """
    )
    words = ["Putin", "Put", "PUTIN", "Xi", "Jinping", "UN", "un", "U.S.", "UNSC", "US", "USA", "-x", "a.b", "a.bc"]
    words += ["European", "Union", "Council", "Councils", "of", "_x", "x", "E", "é"]
    glue = [" ", "  ", "\n", "\n\n", "-", "_", "a", "'s", ".", ",", "«", "(", "#", "@", "ing", "\t", "9"]
    rng = random.Random(34)
    for _ in range(3000):
        text = "".join(rng.choice(words) + rng.choice(glue) for _ in range(rng.randint(1, 8)))
        assert topics(text, rules) == reference(text, rules), text
