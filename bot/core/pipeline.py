"""RawPost -> Post: the one place where the core's steps are put in order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.core.articles import ArticleContent, ExtractedPage, lead, trusted_canonical
from bot.core.clean import BoilerplateRules, CleanReport, clean_report, clean_text, load_boilerplate
from bot.core.fingerprint import content_hash, origin_key, post_url
from bot.core.lang import GeneralId, detect_lang, lang_tag
from bot.core.lang_model import GeneralLanguageId
from bot.core.links import pick_article_links
from bot.core.page_model import PageModel
from bot.core.tags import KeywordRules, extract_hashtags, load_rules, topic_tags
from bot.core.text_links import keep_text_links
from bot.core.textnorm import TextNormaliser
from bot.models import Post, RawPost, Tag


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Rules loaded once, applied to every post; no I/O after construction.

    `page` is the page classifier for pasted articles (None: phrase rules only, as before it existed).
    """

    boilerplate: BoilerplateRules
    keywords: KeywordRules
    page: PageModel | None = None
    general: GeneralId | None = None  # languages beyond our five (bot/core/lang_model.py); None: ours only

    @classmethod
    def load(
        cls,
        keywords_file: Path | None = None,
        boilerplate_file: Path | None = None,
        normaliser: TextNormaliser | None = None,
    ) -> Pipeline:
        """`normaliser`: share the store's (bot/core/textnorm.py) so a post is normalised once."""
        boilerplate = load_boilerplate()
        if boilerplate_file is not None:
            boilerplate = boilerplate + load_boilerplate(boilerplate_file)
        return cls(boilerplate, load_rules(keywords_file, normaliser), PageModel.load(), GeneralLanguageId.load())

    def detect_lang(self, text: str) -> str | None:
        return detect_lang(text, self.general)

    @property
    def normaliser(self) -> TextNormaliser | None:
        return self.keywords.normaliser

    def clean(self, text: str) -> str:
        """The one cleaning step, for posts and for the articles they link to alike."""
        return clean_text(text, self.boilerplate, self.page)

    def clean_report(self, text: str) -> CleanReport:
        """What `clean` keeps, and each removed line with its reason (`tgmonitor clean --json/--explain`)."""
        return clean_report(text, self.boilerplate, self.page)

    def process(self, raw: RawPost) -> Post:
        text = self.clean(raw.text)
        digest = content_hash(text)
        lang = self.detect_lang(text)
        tags: list[Tag] = [*extract_hashtags(text, raw.hashtags), *topic_tags(text, self.keywords, lang)]
        if lang:
            tags.append(lang_tag(lang))
        return Post(
            channel=raw.channel,
            message_id=raw.message_id,
            date=raw.date,
            text=text,
            raw_text=raw.text,
            url=raw.url or post_url(raw.channel, raw.message_id),
            origin_key=origin_key(raw.channel, raw.message_id, raw.forward, digest),
            content_hash=digest,
            lang=lang,
            tags=tuple(tags),
            source=raw.source,
            edit_date=raw.edit_date,
            forward_name=raw.forward.name if raw.forward else None,
            media_kind=raw.media_kind,
            views=raw.views,
            grouped_id=raw.grouped_id,
            links=pick_article_links(raw.links, raw.text),
            forward_date=raw.forward.date if raw.forward else None,
            sender=raw.sender,
            text_links=keep_text_links(raw.text_links),
            approx_time=raw.approx_time,
        )

    def process_article(self, page: ExtractedPage, final_url: str) -> ArticleContent:
        """A fetched page as the archive keeps it: cleaned like a post, topics from its title and lead."""
        text = self.clean(page.text)
        title = " ".join(page.title.split()) if page.title else None
        return ArticleContent(
            text=text,
            title=title or None,
            author=page.author,
            published=page.published,
            sitename=page.sitename,
            lang=self.detect_lang(text) or _short_lang(page.lang),
            tags=tuple(topic_tags(lead(title, text), self.keywords)),
            content_hash=content_hash(text),
            canonical_url=trusted_canonical(page.canonical_url, final_url),
        )


def _short_lang(declared: str | None) -> str | None:
    """`bg-BG`, `ru_RU` -> `bg`, `ru`: the page's own word when the text is too short to tell."""
    if not declared:
        return None
    code = declared.replace("_", "-").split("-")[0].strip().lower()
    return code if code.isalpha() and 2 <= len(code) <= 3 else None
