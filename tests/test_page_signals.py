"""What the page cleaner reads that no site rule gives it: stamps, the page's language, where the article is."""

from __future__ import annotations

import pytest

from bot.core.blocks import Block, Shape, is_stamp_line, main_run, shape
from bot.core.clean import BoilerplateRules, clean_report, clean_text, load_boilerplate, page_blocks
from bot.core.page_clean import looks_like_page, numbered_lists
from bot.core.page_model import PageModel, stoplist_language

RULES = load_boilerplate()
# Only Telegram's own chrome: what a site nobody wrote rules for gets.
CHROME_ONLY = BoilerplateRules(tuple(r for r in RULES.rules if r.name in {"view-in-telegram", "read-in-full"}))
MODEL = PageModel.load()
VOCABULARY = MODEL.vocabulary

ARTICLE = [
    "Путин и Лукашенко ще се срещнат в Москва",
    "Владимир Путин и Александър Лукашенко ще се срещнат в Москва в следващите няколко седмици. "
    "Двамата президенти са се разбрали в поредния телефонен разговор помежду си.",
    "Говорителят на Кремъл Дмитрий Песков обяви, че в близко бъдеще ще има допълнителна информация "
    "за срещата на двамата лидери и за темите, които ще обсъдят.",
    "В разговора двамата са постигнали общо съгласие за допълнително подсилване на съюза между Русия "
    "и Беларус и за разширяване на сътрудничеството във всички сфери.",
    "Според държавната телевизия двамата са обсъдили и ситуацията в Беларус, където протестите не "
    "стихват от началото на август, а опозицията не признава резултатите от вота.",
]
TEASERS = [
    ("Трафикът по магистралите е натоварен в първия почивен ден", "Пътна полиция взема извънредни мерки"),
    ("Родители настояват да запазят правото си да извиняват отсъствия", "Петицията е подписана от хиляди"),
    ("Жълт код за значителни валежи е обявен за Западна България", "В неделя ще бъде предимно слънчево"),
    ("Украйна и САЩ подписват сделката за редките минерали до дни", "Предварителното споразумение е готово"),
    ("Студенти протестират в подкрепа на ректора на университета", "Професорът е привикан в полицията"),
    ("Християнският свят отбелязва най-тъжния ден в годината", "Великден съвпада за православни и католици"),
    ("Правителството прие бюджета за следващата година след дълъг дебат", "Опозицията гласува против"),
    ("Цените на горивата падат за трета поредна седмица", "Анализатори очакват нови понижения"),
    ("Сръбската телевизия остава под блокада от протестиращи", "Студентите искат оставки"),
]


def news_list_page() -> str:
    """An article, then a site's list of latest news: headline, lead, stamp, section label (fixture written here)."""
    lines = ["\n\n".join(ARTICLE), "Прочетете още:"]
    for n, (headline, lead) in enumerate(TEASERS):
        lines.append(f"{headline}\n\n{lead}\n\n{16 - n}:0{n} - 18.04.2025\nВажно днес")
    return "\n\n".join(lines)


@pytest.mark.parametrize(
    "line", ["16:59 - 18.04.2025", "Nov. 18, 2019 7:04 pm ET", "23 Nov 2017", "18 ноября 2025", "2019"]
)
def test_date_and_time_lines_are_stamps(line: str) -> None:
    assert is_stamp_line(line)


@pytest.mark.parametrize(
    "line", ["10:00 встреча с послом Сербии", "В 2019 году.", "Updated 3 hours ago", "Лавров: 12:00 — брифинг"]
)
def test_lines_that_say_something_are_not_stamps(line: str) -> None:
    assert not is_stamp_line(line)


def test_a_news_list_with_stamps_is_a_page_without_any_site_rule() -> None:
    """Deduplicated, the section label is one block; the stamps under each teaser are what show the page."""
    text = news_list_page()
    assert looks_like_page(page_blocks(text, CHROME_ONLY))
    report = clean_report(text, CHROME_ONLY, MODEL)
    kept = report.text.split("\n\n")
    assert kept[: len(ARTICLE)] == ARTICLE
    assert not any(headline in report.text for headline, _ in TEASERS)
    assert "18.04.2025" not in report.text


def test_a_post_with_a_schedule_is_not_a_page() -> None:
    """Times inside a post's points are content: no stamp lines, so no page, so nothing judged."""
    points = [f"{9 + i}:00 — встреча министра с послом страны номер {i} по вопросам сотрудничества" for i in range(14)]
    text = "МИД России: график на неделю\n\n" + "\n\n".join(points) + "\n\n" + ARTICLE[1] * 3
    assert clean_text(text, RULES, MODEL) == clean_text(text, RULES)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        (
            "de",
            "Die Digitalisierung zieht sich durch fast alle Branchen, sei es im Finanzbereich oder in der Industrie.",
        ),
        ("pt", "Nesta página você terá sempre a classificação atualizada da corrida até a última etapa do campeonato."),
        (
            "it",
            "Il black Friday incombe su di noi: per chi non lo sapesse, è il giorno in cui i negozi fanno gli sconti.",
        ),
        ("en", "The minister said that the talks went well and that the parties will meet again in the spring."),
    ],
)
def test_the_page_is_judged_with_its_own_languages_stop_words(lang: str, text: str) -> None:
    blocks = [Block(text, 0, 1, 1)]
    assert stoplist_language(blocks, VOCABULARY, None) == lang
    # A Cyrillic page keeps the post detector's finer answer (bg, ru and uk share many stop words).
    assert stoplist_language([Block(ARTICLE[1], 0, 1, 1)], VOCABULARY, "bg") == "bg"


def test_text_in_no_listed_language_falls_back_to_all_lists() -> None:
    assert stoplist_language([Block("엘제이의 리벤지인가, 류화영의 코스프레인가", 0, 1, 1)], VOCABULARY, None) == ""


def test_the_article_run_is_found_before_a_longer_legal_footer() -> None:
    """An article made mostly of list items outweighed by the footer's long legal sentences."""
    stop = VOCABULARY.stopwords["en"]
    functions = VOCABULARY.function_words["en"]
    intro = "If you have done the plan before, you have seen firsthand how the meal timing helps you in the gym."
    items = [f"Meal {i}: 1 cup spinach, 2 eggs, ½ cup rice" for i in range(12)]
    legal = (
        "The information provided on this website is for general purposes only and is not intended as a substitute "
        "for the advice of your physician, and you should consult your doctor before starting any program."
    )
    texts = ["Menu", intro, intro + " Again.", *items, legal, legal + " Really.", legal + " Truly.", legal + " Yes."]
    shapes = [shape(t, stop, functions, VOCABULARY.furniture) for t in texts]
    start, _ = main_run(shapes)
    assert start == 1


def _shapes(texts: list[str]) -> tuple[list[Shape], list[bool]]:
    stop, functions = VOCABULARY.stopwords["en"], VOCABULARY.function_words["en"]
    shapes = [shape(t, stop, functions, VOCABULARY.furniture) for t in texts]
    return shapes, [VOCABULARY.is_closing(t, s) for t, s in zip(texts, shapes, strict=True)]


ARTICLE_EN = [
    f"The minister said on {day} that the talks with the delegation went well and that both sides "
    "would meet again in the spring to discuss the trade agreement and the new visa rules."
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday")
]
COMMENTS = [
    f"I think this is exactly what everybody expected from the {n} meeting, and I really do not see why "
    "the papers make such a fuss about it when the same thing happened last year and the year before."
    for n in range(12)
]


@pytest.mark.parametrize("heading", ["Comments", "Top Rated Comments", "[ 167 comments ]", "Related articles"])
def test_a_longer_comment_thread_under_a_closing_heading_is_not_the_article(heading: str) -> None:
    shapes, closing = _shapes(["Home", *ARTICLE_EN, heading, *COMMENTS])
    assert closing[len(ARTICLE_EN) + 1]
    assert main_run(shapes, closing) == (1, 1 + len(ARTICLE_EN))
    # Without the heading, the heavier thread would win.
    assert main_run(shapes) != (1, 1 + len(ARTICLE_EN))


def test_sharing_headings_above_the_article_do_not_end_it() -> None:
    """ "Share this story" may stand under a cookie notice and above the body: not a closing heading."""
    cookie = (
        "We use cookies and other tracking technologies to improve your browsing experience on our site, "
        "show personalized content and targeted ads, analyze site traffic, and understand where our "
        "audiences come from, and you consent to our use of cookies and other tracking technologies."
    )
    texts = [cookie, "Share this story", "Filed under:", *ARTICLE_EN, *ARTICLE_EN]
    shapes, closing = _shapes(texts)
    assert not any(closing)
    start, end = main_run(shapes, closing)
    assert start <= 3 and end == len(texts)


def test_numbered_lists_are_found_with_descriptions_between_items() -> None:
    texts = ["Intro", "1) Lego set", "2) Racing track", "a short description", "3) Box of films", "x", "y", "z"]
    texts += ["1. Most read story", "2. Another story"]  # two items: not a list
    assert numbered_lists([Block(t, 0, 1, 1) for t in texts]) == [(1, 4)]


def test_a_ranking_that_goes_on_from_the_article_is_kept_whole() -> None:
    """A listicle's items are not prose; the model alone would keep its first items and drop the rest."""
    intro = [
        "Black Friday is upon us, and for those who did not know, it is the day when shops across the "
        f"country cut their prices on almost everything, and we have looked at the offers for you ({n})."
        for n in range(4)
    ]
    items = [f"{n}) Collector's edition box set number {n} (Blu-Ray)" for n in range(1, 23)]
    footer = ["Leave a comment", "You must be logged in to post a comment.", "Search", "Home", "Contact", "Privacy"]
    text = "\n\n".join(["Menu", "Film", "23 Nov 2017", *intro, *items, *footer])
    kept = clean_text(text, RULES, MODEL).split("\n\n")
    assert all(item in kept for item in items)
    assert "Leave a comment" not in kept


def test_stop_words_come_from_the_justext_package_in_its_order() -> None:
    """Read from the installed justext (not a copy in the repository), in frequency order: the head
    is the function words. Serbian gets its Latin spelling beside jusText's Cyrillic list."""
    import justext

    from bot.core.page_model import JUSTEXT_NAMES, LANGS, load_stopwords, transliterate

    lists = load_stopwords()
    assert tuple(lists) == LANGS and set(JUSTEXT_NAMES) == set(LANGS)
    for lang, words in lists.items():
        assert len(words) > 200 and len(set(words)) == len(words), lang
        assert all(w == w.lower() and " " not in w and not any(c.isdecimal() for c in w) for w in words), lang
        package = justext.get_stoplist(JUSTEXT_NAMES[lang])  # the same list, as a set, through its own API
        if lang == "sr":
            package |= {transliterate(w) for w in package}
        assert set(words) <= package, lang
    assert lists["en"][:3] == ("the", "of", "and")
    assert {"и", "на", "се"} <= set(lists["bg"][:20]) and {"i", "je", "da"} <= set(lists["sr"])
    assert {w for w in ("и", "в", "не") if w in lists["ru"][:10]} == {"и", "в", "не"}


def test_a_missing_stoplist_names_it() -> None:
    from bot.core.page_model import justext_stoplist

    with pytest.raises((ValueError, OSError), match="Klingon"):
        justext_stoplist("Klingon")
