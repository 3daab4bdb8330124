"""Pages in scripts without word spaces: the article is the run of long lines (bot/core/page_unspaced.py).

All pages here are written for these tests after the layout of Chinese and Japanese news sites: a menu
of two-letter items, share buttons, the article, then a list of teaser titles and a footer.
"""

from __future__ import annotations

from bot.core.block_context import unspaced
from bot.core.blocks import segment
from bot.core.clean import clean_report, load_boilerplate, page_blocks
from bot.core.page_clean import page_gate
from bot.core.page_model import PageModel, Vocabulary
from bot.core.page_unspaced import REASON, unspaced_run, unspaced_verdicts

RULES = load_boilerplate()
VOCABULARY = Vocabulary.load()
MODEL = PageModel.load(vocabulary=VOCABULARY)

_ZH_PARAGRAPHS = [
    "据本报记者报道，今年春季以来，多个城市的公共交通客流量明显回升，地铁和公交线路的运营时间也相应延长。",
    "交通部门负责人表示，将继续优化线路设置，在早晚高峰增加班次，方便市民出行，同时加强安全检查工作。",
    "图为市民在地铁站候车。",
    "专家认为，公共交通的恢复反映了城市经济活动的回暖，但仍需关注部分郊区线路客流不足的问题。",
    "市民普遍对延长运营时间表示欢迎，不少人表示下班后乘坐地铁回家更加便利，也减少了打车的开支。",
    "据了解，相关部门还计划在年底前开通三条新的公交线路，覆盖目前交通不便的几个新建居民区。",
]
# A page's length (the gate wants 1,500 characters): the paragraphs again, each a distinct line.
ARTICLE_ZH = [f"{p[:-1]}（第{n}段）。" for n in "一二三四五六" for p in _ZH_PARAGRAPHS]
TEASERS_ZH = [
    "相关新闻",
    "春运期间铁路客流创新高",
    "多地出台措施鼓励绿色出行",
    "新能源公交车投入运营",
    "地铁新线路年底开通",
]


def zh_page() -> str:
    menu = ["首页", "新闻", "国际", "财经", "体育", "科技", "娱乐", "登录", "注册"]
    head = ["首页 > 新闻 > 正文", "城市公共交通客流回升", "2026年03月12日 09:58 来源：本报"]
    share = ["分享到", "微博", "微信", "收藏"]
    footer = ["关于我们", "联系我们", "广告服务", "网站地图", "版权所有 © 2026 本报网络"]
    return "\n\n".join([*menu, *head, *share, *ARTICLE_ZH, *TEASERS_ZH, *footer])


def test_a_chinese_page_keeps_its_article_and_drops_menus_shares_and_teasers() -> None:
    report = clean_report(zh_page(), RULES, MODEL)
    kept = report.text.split("\n\n")
    assert kept == ARTICLE_ZH  # the short caption inside the article stays with it
    reasons = {r.text: r.reason for r in report.removed}
    for line in ["首页", "分享到", "收藏", *TEASERS_ZH, "关于我们"]:
        assert reasons[line] == REASON


def test_a_japanese_page_keeps_its_article() -> None:
    article = [
        f"{line}（{n}）"
        for n in range(1, 9)
        for line in [
            "市は十二日、駅前の再開発計画について住民説明会を開き、新しい図書館と公園を整備する方針を示した。",
            "計画では、老朽化した商業ビルを取り壊し、跡地に子ども向けの施設や広場を設ける予定だという。",
            "参加した住民からは、工事中の騒音や交通への影響を心配する声も上がったが、市は対策を約束した。",
            "市の担当者は、来年度中に詳しい設計をまとめ、早ければ再来年の春に着工したいと話している。",
        ]
    ]
    menu = ["ホーム", "ニュース", "国内", "国際", "経済", "スポーツ", "ログイン", "シェア", "ツイート"]
    ranking = ["アクセスランキング", "新しい駅ビルが完成", "週末の天気は晴れ", "人気のパン屋が移転", "市長が会見"]
    text = "\n\n".join([*menu, "駅前再開発で説明会", *article, "関連記事", *ranking])
    report = clean_report(text, RULES, MODEL)
    assert report.text.split("\n\n") == article


def test_the_run_is_the_stretch_of_long_lines() -> None:
    lines = ["首页", "新闻", *ARTICLE_ZH, "相关新闻", "春运期间铁路客流创新高"]
    assert unspaced_run(segment(lines)) == (2, 2 + len(ARTICLE_ZH))


def test_a_page_of_short_lines_only_is_kept_whole() -> None:
    """No line long enough to be prose: nothing to judge by, so nothing goes (never an empty page)."""
    blocks = segment(["首页", "新闻", "国际", "财经", "体育", "科技"])
    assert unspaced_run(blocks) is None
    assert unspaced_verdicts(blocks) == [None] * 6


def test_chinese_site_furniture_shows_a_post_sized_page() -> None:
    """Under 4,096 characters a page must show chrome; 登录 (log in) and 分享 (share) are that chrome,
    anywhere in a label, since the script has no word starts."""
    text = zh_page().replace("2026年03月12日 09:58 来源：本报", "来源：本报")  # no date stamp to show
    blocks = page_blocks(text, RULES)
    assert sum(len(b.text) for b in blocks) < 4096
    is_page, why = page_gate(blocks, VOCABULARY.furniture)
    assert is_page, why
    assert "site-furniture label" in why
    assert VOCABULARY.furniture.search("我要分享")
    assert not VOCABULARY.furniture.search("今年春季以来")


def test_spaced_pages_never_take_the_unspaced_path() -> None:
    """English, Bulgarian, Russian and Serbian text is judged by the model, whatever CJK words it quotes."""
    for line in [
        "The mayor said the new line would open in March, after years of delays (地铁 means metro).",
        "Кметът каза, че новата линия ще бъде открита през март, след години на закъснения.",
        "Мэр сказал, что новая линия откроется в марте, после многих лет задержек.",
        "Градоначелник је рекао да ће нова линија бити отворена у марту, после година кашњења.",
        "Gradonačelnik je rekao da će nova linija biti otvorena u martu, posle godina kašnjenja.",
    ]:
        assert not unspaced(segment([line] * 3)), line


def test_a_long_chinese_post_that_mentions_sharing_is_not_a_page() -> None:
    """A paragraph ending in 。 is a sentence, not a label, though it has no spaces: a post of sentences
    that speaks of 分享 and 微信 is not a page, and comes out as without the page cleaner."""
    title = "本周读书笔记"
    sentences = [f"{p[:-1]}，欢迎在微信上分享给朋友（{n}）。" for n in range(1, 7) for p in _ZH_PARAGRAPHS]
    text = "\n\n".join([title, *sentences, "— 编辑部"])
    blocks = page_blocks(text, RULES)
    assert len(blocks) >= 12 and 1500 <= sum(len(b.text) for b in blocks) < 4096
    is_page, why = page_gate(blocks, VOCABULARY.furniture)
    assert not is_page, why
    assert clean_report(text, RULES, MODEL).text == clean_report(text, RULES, None).text
