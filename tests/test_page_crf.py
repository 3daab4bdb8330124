"""The chain (CRF) page model: its plain-Python inference is CRFsuite's, and what it cannot judge it keeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.block_context import judgeable
from bot.core.blocks import segment
from bot.core.clean import clean_report, clean_text, load_boilerplate, page_blocks
from bot.core.lang import detect_lang
from bot.core.page_clean import looks_like_page
from bot.core.page_crf import LABELS, ChainModel
from bot.core.page_model import PageModel, Vocabulary, chain_items, page_features
from tests.page_fixtures import page_docs
from tools.news_fixtures import news_docs

RULES = load_boilerplate()
VOCABULARY = Vocabulary.load()
MODEL = PageModel.load(vocabulary=VOCABULARY)
pycrfsuite = pytest.importorskip("pycrfsuite", reason="python-crfsuite (the train extra) is not installed")


def items_of(text: str) -> list[dict[str, float]]:
    blocks = page_blocks(text, RULES)
    return chain_items(page_features(blocks, VOCABULARY, detect_lang(text)))


def test_exported_chain_is_crfsuites_model(tmp_path: Path) -> None:
    """Trained by CRFsuite on a few pages, exported by the trainer: same labels, same marginals."""
    from tools.train_page_crf import examples, fit

    data = examples(news_docs(), RULES, VOCABULARY)
    assert len(data) == 4
    chain = fit(data)
    chain = ChainModel.from_json(json.loads(json.dumps(chain.to_json())))  # through JSON, as shipped
    trainer = pycrfsuite.Trainer(verbose=False)
    for ex in data:
        trainer.append(pycrfsuite.ItemSequence(ex.items), [LABELS[int(y)] for y in ex.labels])
    from tools.train_page_crf import C1, C2, ITERATIONS

    trainer.set_params({"c1": C1, "c2": C2, "max_iterations": ITERATIONS, "feature.possible_transitions": True})
    trainer.train(str(tmp_path / "m.crfsuite"))
    tagger = pycrfsuite.Tagger()
    tagger.open(str(tmp_path / "m.crfsuite"))
    for doc in page_docs():  # pages the chain never saw
        items = items_of(doc.text)
        labels = tagger.tag(pycrfsuite.ItemSequence(items))
        assert chain.viterbi(items) == [label == "body" for label in labels]
        ours = chain.marginals(items)
        theirs = [tagger.marginal("body", t) for t in range(len(items))]
        assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 1e-4


def test_a_chain_model_file_loads_and_cleans_a_page(tmp_path: Path) -> None:
    """The trainer's JSON, read back by PageModel.load, cleans pages like those it learned from."""
    from tools.train_page_crf import to_json, train

    docs = [*news_docs(), *page_docs()]
    path = tmp_path / "chain.json"
    path.write_text(to_json(train(docs, RULES, VOCABULARY), docs), encoding="utf-8")
    model = PageModel.load(path, VOCABULARY)
    assert model.chain is not None
    assert model.first is None
    for doc in page_docs(("page",)):
        report = clean_report(doc.text, RULES, model)
        assert report.removed  # its menus went
        assert doc.gold.split("\n\n")[1] in report.text  # the article stayed


def cjk_page() -> str:
    menu = "\n".join(["首页", "新闻", "国际", "财经", "体育", "科技", "娱乐"])
    prose = [
        "据新华社报道，今年春季以来，多个城市的公共交通客流量明显回升，地铁和公交线路的运营时间也相应延长。",
        "交通部门负责人表示，将继续优化线路设置，在早晚高峰增加班次，方便市民出行，同时加强安全检查工作。",
        "专家认为，公共交通的恢复反映了城市经济活动的回暖，但仍需关注部分郊区线路客流不足的问题。",
        "市民普遍对延长运营时间表示欢迎，不少人表示下班后乘坐地铁回家更加便利，也减少了打车的开支。",
    ]
    prose = [f"{p}（{i}）" for i in range(8) for p in prose]  # distinct: repeats are dropped before judging
    return "\n\n".join([menu, "登录", "搜索", *prose, "相关新闻", "分享", "评论", "关于我们\n联系我们\n广告服务"])


def test_a_page_without_word_spaces_is_kept_not_emptied() -> None:
    text = "\n\n".join(["2026-03-12 09:58 来源： 新华社", cjk_page()])
    blocks = page_blocks(text, RULES)
    assert looks_like_page(blocks)  # judged as a page, and yet nothing to judge it by
    assert not judgeable(blocks, "en")
    report = clean_report(text, RULES, MODEL)
    for paragraph in cjk_page().split("\n\n")[3:35]:  # all of its prose
        assert paragraph in report.text


def test_a_page_in_no_known_language_keeps_its_prose() -> None:
    """Finnish has no stop-word list here: its prose is kept, not judged "before the article"."""
    sentence = (
        "Kaupunginvaltuusto hyväksyi eilen illalla uuden liikennesuunnitelman, jonka mukaan keskustan "
        "pysäköintipaikkoja vähennetään seuraavien viiden vuoden aikana merkittävästi."
    )
    menu = "\n".join(["Etusivu", "Uutiset", "Urheilu", "Talous", "Kulttuuri", "Sää"])
    paragraphs = [f"{sentence} Osa {i}." for i in range(8)]
    text = "\n\n".join([menu, "Kirjaudu", "Haku", *paragraphs, "Jaa", "Kommentit", "Tietoa meistä\nYhteystiedot"])
    out = clean_text(text, RULES, MODEL)
    for paragraph in paragraphs:
        assert paragraph in out


def test_judgeable_needs_a_stop_word_list_and_spaces() -> None:
    blocks = segment(["An article in English with words and spaces between them."])
    assert judgeable(blocks, "en")
    assert not judgeable(blocks, "")


def test_bulgarian_news_layout_keeps_headline_and_drops_boxes_under_the_article() -> None:
    """The layout of issue #30 (tools/news_fixtures.py, which the shipped model was trained on)."""
    for doc in news_docs():
        report = clean_report(doc.text, RULES, MODEL)
        headline, *body = doc.gold.split("\n\n")
        assert report.text.startswith(headline)
        for paragraph in body:
            assert paragraph in report.text
        dropped = [r.text for r in report.removed]
        assert any(text.startswith(("Екип на", "Редакция")) for text in dropped)
