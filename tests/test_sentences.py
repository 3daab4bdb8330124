from __future__ import annotations

import pytest

from bot.core.sentences import is_header, lead, says_something, split_sentences


@pytest.mark.parametrize(
    ("text", "first"),
    [
        # what the naive cut made of real posts: `The U.S.`, `… spokeswoman M.`, `Dr.`, `1.`
        (
            "The U.S. Ambassador met Lavrov in Moscow. They discussed Serbia.",
            "The U.S. Ambassador met Lavrov in Moscow.",
        ),
        (
            "Foreign Ministry spokeswoman M. Zakharova said the talks had failed. Moscow will respond.",
            "Foreign Ministry spokeswoman M. Zakharova said the talks had failed.",
        ),
        ("Dr. Smith met the minister on Monday. They talked.", "Dr. Smith met the minister on Monday."),
        ("1. Russia supports Serbia. 2. Kosovo must follow Resolution 1244.", "1. Russia supports Serbia."),
        ("Talks ended at 10 a.m. on Friday. Lavrov left.", "Talks ended at 10 a.m. on Friday."),
        ("See Art. 5 of the Treaty. Then act.", "See Art. 5 of the Treaty."),
        ('He said: "We will respond." Then he left.', 'He said: "We will respond."'),
        ("It is over! Really.", "It is over!"),
        ("Prices rose 3.5 percent in 2025. Analysts expected it.", "Prices rose 3.5 percent in 2025."),
        ("Resolution 1244. It is the basis.", "Resolution 1244."),
        # Russian: Cyrillic initials, dotted and plain abbreviations
        (
            "Официальный представитель МИД России М. Захарова заявила, что переговоры сорвались. Москва ответит.",
            "Официальный представитель МИД России М. Захарова заявила, что переговоры сорвались.",
        ),
        ("В 2024 г. С.В. Лавров посетил Белград. Визит прошёл успешно.", "В 2024 г. С.В. Лавров посетил Белград."),
        ("Т.е. переговоры продолжатся и т.д. Это важно.", "Т.е. переговоры продолжатся и т.д."),
        ("Встреча прошла на ул. Смоленской. Лавров уехал.", "Встреча прошла на ул. Смоленской."),
        # Bulgarian
        ("Според проф. Д. Петров ЕС ще реагира. Решението е окончателно.", "Според проф. Д. Петров ЕС ще реагира."),
        (
            "Министърът г-н Иванов заяви, че т.нар. споразумение е подписано. Следващата среща е в София.",
            "Министърът г-н Иванов заяви, че т.нар. споразумение е подписано.",
        ),
        ("Срещата е на бул. Витоша в София. Влизането е свободно.", "Срещата е на бул. Витоша в София."),
    ],
)
def test_first_sentence_knows_abbreviations_and_initials(text: str, first: str) -> None:
    assert next(split_sentences(text)) == first


def test_split_keeps_every_character_of_the_text() -> None:
    text = "The U.S. and Russia met. М. Захарова заявила! Что дальше? Проф. Д. Петров… Край."
    sentences = list(split_sentences(text))
    assert sentences == ["The U.S. and Russia met.", "М. Захарова заявила!", "Что дальше?", "Проф. Д. Петров…", "Край."]
    assert " ".join(sentences) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # header and label lines above the text are skipped (a kicker on the text's own line too)
        (
            "МИД России:\n\nЗаявление официального представителя МИД России М.В. Захаровой о ситуации в Косово.",
            "Заявление официального представителя МИД России М.В. Захаровой о ситуации в Косово.",
        ),
        (
            "⚡️BREAKING:\n\nRussia and Serbia signed a new gas deal in Belgrade today, officials said.",
            "Russia and Serbia signed a new gas deal in Belgrade today, officials said.",
        ),
        (
            "⚡️BREAKING: Russia and Serbia signed a new gas deal in Belgrade today, officials said.",
            "Russia and Serbia signed a new gas deal in Belgrade today, officials said.",
        ),
        (
            "СРОЧНО | Россия и Сербия подписали новое газовое соглашение в Белграде.",
            "Россия и Сербия подписали новое газовое соглашение в Белграде.",
        ),
        (
            "🇷🇺🇷🇸\n\n❗️Важно\n\n🔴 URGENT\n\nЛавров: Москва поддерживает Белград.",
            "Лавров: Москва поддерживает Белград.",
        ),
        # a subject before a colon is kept: it is not a kicker
        (
            "NATO: Russia must withdraw its troops from the border at once. The alliance said so.",
            "NATO: Russia must withdraw its troops from the border at once.",
        ),
        # emoji and hashtags around the text go
        (
            "#RussiaSerbia 🇷🇺🇷🇸 Посол России в Сербии вручил юбилейные медали ветеранам в Белграде.\n\n#Белград",
            "🇷🇺🇷🇸 Посол России в Сербии вручил юбилейные медали ветеранам в Белграде.",
        ),
        # two short ones, the second never a credit line or hashtags
        (
            "Ночью над Белгородом сбили 3 беспилотника\n\nОни упали на улицы города.\n\n#Белгород",
            "Ночью над Белгородом сбили 3 беспилотника. Они упали на улицы города.",
        ),
        (
            "Наводнение в Софийской области.\nФото: МЧС Болгарии\nВода поднялась на 2 метра.",
            "Наводнение в Софийской области. Вода поднялась на 2 метра.",
        ),
        ("Важно. #Белград", "Важно."),
        # nothing but a label: the label, rather than nothing
        ("МИД России:", "МИД России:"),
        ("📷\n\n#Belgrade", ""),
    ],
)
def test_lead_skips_headers_labels_and_emoji_lines(text: str, shown: str) -> None:
    assert lead(text) == shown


def test_lead_is_capped_at_a_word() -> None:
    text = "Sergey Lavrov " + "held long talks with his counterparts " * 12 + "in Moscow."
    shown = lead(text, limit=120)
    assert shown.endswith("…") and len(shown) <= 121 and not shown[:-1].endswith(" ")
    # a very short first sentence is still followed by the next, even if that one has to be cut
    assert lead("Breaking. " + text, limit=120).startswith("Breaking. Sergey Lavrov held")


def test_headers_and_captionless_posts() -> None:
    assert is_header("МИД России:") and is_header("Заявление официального представителя:")
    assert is_header("⚡️BREAKING:") and is_header("❗️Важно")
    assert not is_header("Lavrov met Vucic in Belgrade.") and not is_header("Foreign Minister Sergey Lavrov met him")
    assert not says_something("") and not says_something("🇷🇺🇷🇸\n\n#Belgrade #Photo")
    assert says_something("Фото: МЧС")
