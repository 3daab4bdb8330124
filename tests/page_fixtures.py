"""Page-shaped texts with gold article bodies, written for tgmonitor: the cleaner's floors in a user's clone.

The real dev set (../shared/extraction, not in the repository) is what the page model was trained and
measured on; these pages copy its *shape*, not its text. Each is what "select all, copy" gives on a news
site, rendered the way ../shared/extraction renders its pages (html-text: menu items one a line, blocks
separated by blank lines): the site's menus, a headline, a date and a byline, the article's paragraphs,
share buttons, a "Related" list of teasers, a "Most read" list, newsletter and cookie notices and the
footer. `page` is the whole text; `tail` starts just above the headline, the shape of a pasted article.
The articles are invented (names of real places and offices, no real events); their paragraphs are the
gold. Written in English, Bulgarian and Russian, the project's main languages.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.extraction_set import Doc


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    site: tuple[str, ...]  # above the headline: site name, menus (each a block of lines)
    headline: str
    meta: tuple[str, ...]  # date, byline, reading time
    body: tuple[str, ...]  # the gold
    after: tuple[str, ...]  # below the body: share, tags, related, most read, footer (each a block)

    def page(self) -> str:
        return "\n\n".join([*self.site, self.tail()])

    def tail(self) -> str:
        return "\n\n".join([self.headline, *self.meta, *self.body, *self.after])

    def gold(self) -> str:
        return "\n\n".join(self.body)


def lines(*items: str) -> str:
    return "\n".join(items)


FOOTER_EN = lines(
    "About us",
    "Contact",
    "Advertise with us",
    "Careers",
    "Terms of use",
    "Privacy policy",
    "Cookie settings",
)

PAGES = (
    Page(
        id="en-harbour",
        site=(
            "Port city council approves harbour dredging plan | The Coastal Ledger",
            lines("Subscribe", "Sign in", "Search"),
            lines("Home", "News", "Local", "Business", "Sport", "Opinion", "Weather", "Obituaries"),
            "Advertisement",
        ),
        headline="Port city council approves harbour dredging plan after two-year dispute",
        meta=("Tuesday, 14 October 2025, 18:42", "By Helen Marsh, Local Government Reporter", "4 min read"),
        body=(
            "The city council voted eleven to four on Tuesday evening to approve a plan to dredge the inner "
            "harbour, ending a dispute that has divided fishermen, ferry operators and residents of the old "
            "quay for more than two years.",
            "Under the plan, contractors will remove about 180,000 cubic metres of silt from the main channel "
            "over three winters, so that the larger ferries ordered by the island service can dock at low tide "
            "without waiting outside the breakwater.",
            "Opponents had argued that the work would stir up decades of industrial sediment and drive away the "
            "shellfish on which the small boats depend. The council added a condition that the water be tested "
            "every week and that dredging stop whenever the readings pass the limits set by the environment agency.",
            "“Nobody here wanted to choose between the ferries and the fishermen,” said the council leader, who "
            "proposed the compromise. “What we have now is a plan that lets the harbour work for both, and that "
            "can be stopped if it does harm.”",
            "The fishermen's association said it would watch the testing closely. Its chairman told the meeting "
            "that his members had not been consulted on the timetable, and asked that no work be done during "
            "the spring season, when most of the catch is landed.",
            "The first stage, estimated to cost 6.2 million pounds, is expected to begin in November. The cost "
            "will be shared between the council, the port authority and a regional transport fund.",
        ),
        after=(
            lines("Share this article", "Facebook", "Twitter", "Email"),
            "Topics: Harbour, City council, Fishing",
            "Related stories",
            "Ferry timetable to change from January as new vessels arrive…",
            "Residents of the old quay ask for a say in waterfront plans…",
            "Shellfish beds reopen after summer closure…",
            "Most read",
            lines(
                "1. Road closures this weekend",
                "2. Bakery on Market Street wins national award",
                "3. School bus route cut",
            ),
            "Sign up for our morning newsletter",
            "We use cookies to improve your experience. By continuing you agree to our cookie policy.",
            FOOTER_EN,
            "© 2025 The Coastal Ledger. All rights reserved.",
        ),
    ),
    Page(
        id="en-comet",
        site=(
            "Amateur astronomers track a comet's second tail - Sky Notes",
            lines("Sky Notes", "Menu"),
            lines("Observing", "Equipment", "Astrophotography", "Space missions", "Events", "Forum", "Shop"),
            lines("Log in", "Register"),
        ),
        headline="Amateur astronomers track a comet's second tail across the northern sky",
        meta=("Posted on 3 March 2025 by Tomasz Nowicki", "12 comments"),
        body=(
            "Observers in three countries have photographed a faint second tail on a comet that has been "
            "visible in small telescopes since the middle of February, and their images are now being used by "
            "professional astronomers to work out what the comet is made of.",
            "Most comets show two tails when they come close enough to the Sun: a curved one of dust, which "
            "reflects sunlight, and a straight one of gas, which glows as the solar wind pushes it away. This "
            "comet's gas tail was too faint for most cameras until a group of amateurs combined hundreds of "
            "short exposures taken on the same nights.",
            "The group, which shares its work on an observing forum, stacked the frames with free software "
            "and measured the direction of the new tail against the background stars. Their measurements "
            "agree to within a degree with the direction expected for a tail driven by the solar wind.",
            "A planetary scientist who has been comparing the pictures said that amateur images of this kind "
            "are valuable because they cover hours of every clear night, while large telescopes can only spare "
            "a few minutes for a single comet.",
            "The comet will be best placed for observers in the northern hemisphere in the last week of March, "
            "low in the west after sunset. A pair of binoculars should show its head as a small fuzzy patch; "
            "the tails need a camera and a dark site.",
        ),
        after=(
            lines("Tags:", "comets", "astrophotography", "citizen science"),
            lines("Share:", "Facebook", "X", "Reddit", "Copy link"),
            "You may also like",
            "Choosing your first telescope: a buyer's guide for 2025",
            "The best dark sky sites within two hours of London",
            "Meteor shower calendar for the year ahead",
            "12 comments",
            lines("Mark R.", "3 March 2025 at 21:14", "Great shots, what camera did you use?", "Reply"),
            lines("Sky Notes is reader-supported.", "Newsletter", "Advertise", "Privacy", "Contact us"),
            "Copyright © 2025 Sky Notes Ltd",
        ),
    ),
    Page(
        id="en-grain",
        site=(
            "Grain exporters warn of delays as river levels fall — Markets Daily",
            lines("Markets", "Commodities", "Energy", "Agriculture", "Shipping", "Data", "Podcasts"),
            lines("Try 4 weeks for 1 euro", "Log in"),
        ),
        headline="Grain exporters warn of delays as river levels fall",
        meta=("Agriculture", "By Lena Vogt and Ivan Marković", "Published 2025-08-21 07:30 GMT"),
        body=(
            "Grain exporters on the Danube have warned that shipments could be delayed by several weeks after "
            "a dry summer left the river too shallow for fully loaded barges along a stretch of more than two "
            "hundred kilometres.",
            "Barge operators said they were carrying about half of their usual load to avoid running aground, "
            "which doubles the number of trips needed to move the harvest to the sea ports and raises the cost "
            "of each tonne.",
            "Traders said the delays had already widened the gap between prices paid to farmers inland and "
            "prices quoted at the ports, as buyers waited to see whether rain in September would bring the "
            "river back to its usual level.",
            "Some exporters have turned to rail, but the lines that run to the ports were busy with other "
            "freight and could take only a small share of the grain, according to a logistics company that "
            "books wagons for several of the largest traders.",
            "Forecasters expect rain in the upper basin next week, but said it would take time for the water "
            "to reach the lower river, and that levels could stay low until the middle of autumn.",
            "Port operators at the mouth of the river said ships were waiting longer at anchor for their "
            "cargoes, and that several buyers had agreed to take smaller lots from more than one barge rather "
            "than wait for a full load.",
        ),
        after=(
            "Reporting by Lena Vogt in Vienna and Ivan Marković in Novi Sad; editing by Paul Adams",
            "Our standards: The Trust Principles",
            "Read next",
            "Wheat futures slip as harvest estimates rise…",
            "Shipping rates on the Black Sea ease in August…",
            "Fertiliser makers cut output as gas prices climb…",
            lines(
                "Markets Daily", "Apps", "Newsletters", "Advertise with us", "Terms of use", "Privacy", "Accessibility"
            ),
            "All quotes delayed a minimum of 15 minutes.",
            "© 2025 Markets Daily Ltd.",
        ),
    ),
    Page(
        id="en-library",
        site=(
            "Village library reopens with a repair café | Valley Voice",
            lines("Valley Voice", "Your community newspaper"),
            lines("News", "Events", "What's on", "Letters", "Classifieds", "Contact"),
        ),
        headline="Village library reopens with a repair café and longer hours",
        meta=("Saturday 12 April 2025", "Written by Sarah Okafor"),
        body=(
            "The library in Upper Brook reopened on Saturday after eight months of building work, with a new "
            "reading room, a repair café on the ground floor and opening hours that now include two evenings "
            "a week.",
            "Volunteers have run the library since the county stopped funding it six years ago. They raised "
            "most of the money for the work themselves, through a series of book sales, quiz nights and a "
            "sponsored walk along the old railway line.",
            "The repair café will open on the first Saturday of every month. Residents can bring broken "
            "lamps, toasters, bicycles and clothes, and volunteers with the right skills will try to fix them "
            "for free while their owners wait.",
            "At the opening, the chair of the library's trustees said that the building had become more than "
            "a place to borrow books. Parents' groups, a knitting circle and a language class for newcomers "
            "to the village all meet there during the week.",
            "The new opening hours mean the library is open on Tuesday and Thursday evenings until eight "
            "o'clock, which volunteers hope will bring in people who work in town during the day and have "
            "not been able to use it before.",
            "The trustees are still looking for volunteers, especially people who can help with the repair "
            "café or spare a few hours at the desk on a weekday morning. Anyone interested can leave their "
            "name at the library or come to the next open meeting in May.",
        ),
        after=(
            lines("Share", "Print", "Email"),
            "More news",
            "Parish council to discuss new speed limit",
            "Spring fair returns to the green in May",
            "Letters: the bus timetable, the pond and the new houses",
            "What's on this week",
            lines("Mon: Toddler rhyme time, 10am", "Wed: Film club, 7pm", "Sat: Farmers' market, 9am"),
            lines("Valley Voice", "Advertise", "Subscribe", "Privacy notice"),
            "© Valley Voice 2025",
        ),
    ),
    Page(
        id="bg-tunnel",
        site=(
            "Започва ремонтът на тунел „Витиня“ - Новини от региона",
            lines("Начало", "България", "Свят", "Икономика", "Регионални", "Спорт", "Култура", "Времето"),
            "РЕКЛАМА",
        ),
        headline="Започва ремонтът на тунел „Витиня“, движението ще е в една лента",
        meta=("18 март 2025, 09:15", "Автор: Иван Георгиев", "1245 прочитания"),
        body=(
            "От понеделник започва ремонтът на тунел „Витиня“ на автомагистрала „Хемус“ в посока Варна, "
            "съобщиха от Агенция „Пътна инфраструктура“. Движението ще се осъществява в една лента за всяка "
            "посока в другата тръба на тунела.",
            "Ремонтът ще обхване осветлението, вентилацията и системите за видеонаблюдение, които не са "
            "подменяни от построяването на съоръжението. Предвидено е да бъде обновена и пътната настилка в "
            "двете тръби.",
            "От агенцията призовават шофьорите да се движат с повишено внимание, да спазват ограничението на "
            "скоростта и да планират пътуванията си, особено в петък следобед и в неделя вечер, когато "
            "трафикът е най-натоварен.",
            "Работите трябва да приключат до края на май, преди началото на летния сезон. При неблагоприятно "
            "време срокът може да бъде удължен с няколко седмици, уточняват от пътната агенция.",
            "Тунелът е построен преди повече от двадесет години и е един от най-натоварените участъци по "
            "магистралата. През летните месеци през него минават над двадесет хиляди автомобила на денонощие.",
            "Общината в Правец предлага на шофьорите, които пътуват към Ботевград и Враца, да използват "
            "стария път през прохода, където движението е по-слабо, но трябва да се кара по-бавно.",
        ),
        after=(
            lines("Сподели:", "Facebook", "Viber", "Копирай линка"),
            "Етикети: ремонт, тунел, магистрала",
            "Прочетете още:",
            "Нови камери следят скоростта по „Тракия“…",
            "Затварят моста при Русе за една нощ…",
            "Зимната поддръжка на пътищата струва 40 милиона…",
            "Коментари (3)",
            "Най-четени",
            lines("Времето утре: слънчево и топло", "Цените на горивата падат", "Новите правила за таксите"),
            lines("За нас", "Реклама", "Контакти", "Общи условия", "Политика за поверителност"),
            "© 2025 Новини от региона. Всички права запазени.",
        ),
    ),
    Page(
        id="bg-school",
        site=(
            "Училищата получават нови компютри | Образование днес",
            lines("Образование днес", "Вход", "Регистрация"),
            lines("Новини", "Училище", "Университети", "Учители", "Родители", "Мнения", "Видео"),
        ),
        headline="Над 300 училища ще получат нови компютри до есента",
        meta=("Публикувано: 02.06.2025 14:30", "Редакция"),
        body=(
            "Над триста училища в страната ще получат нови компютри и интерактивни дъски до началото на "
            "новата учебна година, обяви министерството на образованието. Техниката ще бъде разпределена "
            "според броя на учениците и състоянието на сегашното оборудване.",
            "Предимство ще имат училищата в малките населени места, където компютрите в кабинетите по "
            "информатика са на повече от десет години. Директорите трябва да подадат заявки до края на юни.",
            "Министерството предвижда и обучение за учителите, които ще работят с новата техника. Курсовете "
            "ще се провеждат през лятото в областните градове и ще бъдат безплатни за участниците.",
            "Синдикатите приветстваха мярката, но напомниха, че много училища имат нужда и от ремонт на "
            "сградите и от повече учители по природни науки, а не само от ново оборудване.",
            "През миналата година по същата програма бяха обновени кабинетите в близо двеста училища. "
            "Според проверка на министерството почти всички от тях използват новата техника всеки ден.",
            "Родителите на ученици от едно софийско училище, което беше в първия етап на програмата, казват, "
            "че децата вече правят проекти по информатика в час, а не само у дома, където не всички имат "
            "компютър.",
        ),
        after=(
            lines("Сподели", "Харесай", "Изпрати"),
            "Още от рубриката",
            "Матурите започват с български език и литература…",
            "Как да изберем профил след седми клас…",
            "Учителските заплати се увеличават от септември…",
            "Ако нашият сайт ви е полезен, подкрепете ни с дарение.",
            lines("Образование днес", "За контакти", "Условия за ползване", "Бисквитки"),
            "© Образование днес, 2025",
        ),
    ),
    Page(
        id="ru-museum",
        site=(
            "В областном музее открылась выставка старинных карт — Городские вести",
            lines("Главная", "Новости", "Общество", "Культура", "Спорт", "Происшествия", "Афиша"),
            lines("Войти", "Поиск"),
        ),
        headline="В областном музее открылась выставка старинных карт",
        meta=("12 сентября 2025, 11:20", "Анна Белова", "Культура"),
        body=(
            "В областном краеведческом музее открылась выставка старинных карт и планов города. Посетители "
            "увидят более ста документов, самые ранние из которых относятся к концу восемнадцатого века.",
            "Большая часть экспонатов впервые показывается публике. Карты долгие годы хранились в архиве, и "
            "перед выставкой реставраторы несколько месяцев укрепляли бумагу и очищали её от следов влаги.",
            "По словам директора музея, выставка позволяет проследить, как менялись границы города, где "
            "проходили старые дороги и какие улицы исчезли после перестройки центра в прошлом веке.",
            "Для школьников подготовлены экскурсии и занятия, на которых дети смогут сравнить старые планы "
            "с современной картой и найти на них свой дом или школу. Выставка продлится до конца года.",
            "Часть карт музей получил в дар от потомков землемеров, которые работали в губернии в "
            "девятнадцатом веке. Семьи хранили эти документы вместе с письмами и фотографиями.",
            "В следующем году музей планирует оцифровать всю коллекцию и выложить карты в открытый доступ, "
            "чтобы с ними могли работать историки, краеведы и все, кто интересуется прошлым своего города.",
        ),
        after=(
            lines("Поделиться:", "ВКонтакте", "Одноклассники", "Telegram"),
            "Другие материалы",
            "В парке у реки высадят двести деревьев…",
            "Театр объявил о начале нового сезона…",
            "На главной площади пройдёт ярмарка мёда…",
            "Комментарии",
            "Чтобы оставить комментарий, войдите на сайт.",
            lines("О редакции", "Реклама", "Контакты", "Правила использования"),
            "При использовании материалов ссылка на сайт обязательна. © 2025 Городские вести",
        ),
    ),
    Page(
        id="ru-tram",
        site=(
            "Трамвайную линию продлят до нового района | Новости города",
            lines("Новости города", "Подписаться"),
            lines("Новости", "Транспорт", "Экономика", "ЖКХ", "Здоровье", "Фото", "Видео"),
            "Реклама",
        ),
        headline="Трамвайную линию продлят до нового жилого района",
        meta=("Транспорт", "3 апреля 2025 в 16:05", "Автор: Дмитрий Соколов"),
        body=(
            "Городские власти утвердили проект продления трамвайной линии до нового жилого района на "
            "северной окраине. Новый участок длиной около четырёх километров свяжет район с центром и с "
            "железнодорожным вокзалом.",
            "Строительство планируется начать весной следующего года и завершить за два сезона. На линии "
            "появятся шесть остановок и разворотное кольцо рядом со строящейся школой.",
            "Жители района давно жаловались на переполненные автобусы в часы пик. По расчётам транспортного "
            "управления, трамвай сократит время поездки до центра почти вдвое.",
            "Стоимость работ оценивается в три миллиарда рублей. Часть средств выделит область, остальное "
            "будет оплачено из городского бюджета в течение трёх лет.",
            "На время строительства часть улицы Лесной будет закрыта для машин, а автобусы пустят в объезд "
            "по соседним кварталам. Схему движения обещают опубликовать за месяц до начала работ.",
            "Вместе с линией в районе построят новое трамвайное депо. Там разместятся вагоны, которые город "
            "получит по программе обновления транспорта в ближайшие два года.",
        ),
        after=(
            lines("Поделиться", "Скопировать ссылку"),
            "Читайте также",
            "На мосту через реку ограничат движение…",
            "Автобусы выйдут на новые маршруты с понедельника…",
            "Стоимость проезда не изменится до конца года…",
            "Самое читаемое",
            lines("Погода на выходные", "Где отключат воду на этой неделе", "Итоги городского марафона"),
            lines("О проекте", "Контакты", "Политика конфиденциальности"),
            "© 2025 Новости города. Все права защищены. 16+",
        ),
    ),
)


def page_docs(variants: tuple[str, ...] = ("page", "tail")) -> list[Doc]:
    """The pages as the dev set's docs (tools/extraction_set.py), sorted by id then variant."""
    docs = []
    for page in sorted(PAGES, key=lambda p: p.id):
        for variant in variants:
            docs.append(Doc(page.id, variant, page.page() if variant == "page" else page.tail(), page.gold()))
    return docs
