"""The sequence shapes the page model reads: end markers the phrase rules removed, the about box, the author bio.

Pages here are written for the tests (English, Serbian, German shapes), not taken from any data set.
"""

from __future__ import annotations

from bot.core.block_context import CONTEXT_NAMES, owner_names
from bot.core.blocks import segment
from bot.core.clean import clean_text, load_boilerplate, page_blocks, strip_boilerplate
from bot.core.page_model import PageModel, page_features

RULES = load_boilerplate()
MODEL = PageModel.load()

BODY = [
    "The harbour board approved a new crane for the container terminal on Monday, after two years of "
    "delays and a long argument about who would pay for it.",
    "The old crane was built in the seventies and has worked with restrictions for a decade, the "
    "terminal's director said at the meeting. It will be taken apart and sold for scrap next year.",
    "The investment is about four million and comes from a regional transport programme. Part of the "
    "money will also go to repairing the quay wall.",
    "Shipping companies welcomed the decision but warned that low water in summer remains the biggest "
    "problem for the port and for everyone who depends on it.",
    "The ministry promised that a plan for keeping the fairway deep enough would be ready by autumn, "
    "agreed with the authorities on the other bank of the river.",
    "Local councillors asked for the old crane to be kept as a monument, and the board said it would "
    "consider the request once the new one is working.",
    "Work on the foundations is to start in May. The crane itself will arrive by barge in parts and be "
    "assembled on the quay over six weeks.",
]
TOP = ["Home", "News", "Business", "Sport", "Opinion", "Search"]
BOTTOM = [
    "Share:",
    "Facebook",
    "Comments (3)",
    "The Harbour Courier Team",
    "The Harbour Courier is an independent regional newspaper published by Quayside Media since 1991.",
    "Most read",
    "Ferry timetable changes next week",
    "10:20 - 12.03.2026",
    "Bridge repairs to finish before summer",
    "09:45 - 12.03.2026",
    "City council votes on the new bus lanes after a year of consultations",
    "08:15 - 12.03.2026",
    "About us",
    "Contact",
    "Advertise with us",
    "Terms of use",
    "Privacy policy",
    "© 2026 The Harbour Courier. All rights reserved.",
]


def page() -> str:
    return "\n\n".join([*TOP, "New crane for the harbour", "12.03.2026 11:42", *BODY, *BOTTOM])


def row(blocks_text: str, startswith: str) -> dict[str, float]:
    blocks = page_blocks(blocks_text, RULES)
    features = page_features(blocks, MODEL.vocabulary, "en")
    index = next(i for i, b in enumerate(blocks) if b.text.startswith(startswith))
    return dict(zip(CONTEXT_NAMES, features.context.rows[index], strict=True))


def test_a_line_the_rules_drop_stays_a_signal_on_the_next_block() -> None:
    signals: list[tuple[int, str, bool]] = []
    lines = strip_boilerplate(["Article text.", "", "Share:", "", "Facebook"], RULES, None, signals)
    assert lines == ["Article text.", "", "", "Facebook"]
    assert signals == [(2, "Share:", False)]
    blocks = segment(lines, signals)
    assert [b.dropped for b in blocks] == [(), ("Share:",)]


def test_a_dropped_line_before_a_repeat_carries_to_the_next_block() -> None:
    text = "\n\n".join([*TOP, *BODY, "Share:", BODY[0], "Facebook", *BODY[1:]])
    blocks = page_blocks(text, RULES)
    facebook = next(b for b in blocks if b.text == "Facebook")
    assert facebook.dropped == ("Share:",)


def test_share_line_removed_by_the_rules_still_marks_the_end_of_the_article() -> None:
    assert "Share:" not in [b.text for b in page_blocks(page(), RULES)]
    after = row(page(), "Facebook")
    assert after["end_gap"] == 1.0 and after["past_end"] == 1.0
    inside = row(page(), BODY[2][:30])
    assert inside["past_end"] == 0.0 and inside["before_first_end"] == 1.0


def test_the_outlets_about_paragraph_after_the_end_has_the_about_shape() -> None:
    about = row(page(), "The Harbour Courier is")
    assert about["entity_intro"] == 1.0
    assert about["self_name"] == 1.0
    assert about["about_after_end"] == 1.0
    assert about["bio_after_name"] == 1.0
    # The same sentence shape inside the article is not an about box.
    assert row(page(), BODY[2][:30])["about_after_end"] == 0.0


def test_owner_names_come_from_copyright_lines_in_any_language() -> None:
    blocks = segment(
        [
            "© 2026 The Harbour Courier. All rights reserved.",
            "Copyright © 2011-2026 Novi Glasnik, sva prava zadržana",
            "© Nordkurier Verlag 2026",
            "Some line without a sign",
        ]
    )
    assert owner_names(blocks) == [("the", "harbo", "couri"), ("novi", "glasn"), ("nordk", "verla")]


def test_an_author_bio_in_serbian_and_german_is_an_entity_intro() -> None:
    for bio in (
        "Marko Marković je novinar i urednik koji piše o ekonomiji i regionalnoj politici.",
        "Anna Schmidt ist Redakteurin im Ressort Wirtschaft und schreibt über Energie.",
        "Иван Петров — журналист, пишет о транспорте и городской экономике.",
    ):
        text = "\n\n".join([*TOP, *BODY, "Share:", "Author", bio, "© 2026 Example Post"])
        assert row(text, bio[:20])["about_after_end"] == 1.0, bio


def test_the_cleaner_drops_the_about_box_and_keeps_the_article() -> None:
    cleaned = clean_text(page(), RULES, MODEL)
    for paragraph in BODY:
        assert paragraph in cleaned
    assert "independent regional newspaper" not in cleaned
    assert "All rights reserved" not in cleaned


TAILS = {
    "en": [
        "Share:",
        "Jane Miller",
        "Jane Miller is a reporter covering transport and the port for the Courier since 2015.",
        "The Harbour Courier is an independent regional newspaper published by Quayside Media since 1991.",
        "Contact\nAbout us\nAdvertise\nTerms",
        "© 2026 The Harbour Courier. All rights reserved.",
    ],
    "bg": [
        "Сподели:",
        "Коментари (3)",
        "Петя Иванова",
        "Петя Иванова е журналист, който пише за транспорта и пристанищата от 2015 година насам.",
        "Пристанищен вестник е независимо регионално издание на Кей Медия, което излиза от 1991 година.",
        "Контакти\nЗа нас\nРеклама\nУсловия",
        "© 2026 Пристанищен вестник. Всички права запазени.",
    ],
}


def test_the_about_paragraph_right_under_the_article_goes_though_no_heading_announces_it() -> None:
    """No "Most read" or "About" heading between the article and the boxes: only the end marker the
    rules removed and the boxes' own shapes say where the article stopped (a page no model saw)."""
    body = [*BODY, *(paragraph.replace("The ", "This year the ", 1) for paragraph in BODY)]
    for lang, tail in TAILS.items():
        head = [*TOP, "New crane for the harbour", "12.03.2026 11:42"]
        cleaned = clean_text("\n\n".join([*head, *body, *tail, "Most read", "Ferry timetable changes"]), RULES, MODEL)
        for paragraph in body:
            assert paragraph in cleaned, lang
        assert tail[-3] not in cleaned, lang  # the outlet's about paragraph
        assert tail[-1] not in cleaned, lang
    assert TAILS["bg"][3] not in cleaned  # the author's bio, in Bulgarian
