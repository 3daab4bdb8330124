"""Telegram HTML (what the digest sends) made safe to embed in a web page.

The digest renderer already escapes post text, but a page should not trust a renderer it does not
own: this re-parses the messages and keeps only what Telegram itself would show from the digest,
`<b>`, `<i>` and `<a href="http(s)://…">`, re-escaping every piece of text. Anything else (a tag,
an attribute, a `javascript:` link) comes out as visible text or is dropped, never as markup.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser

_KEPT = {"b", "i", "a"}


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _KEPT:
            self.out.append(escape(self.get_starttag_text() or ""))
            return
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if not href.startswith(("https://", "http://")):
                self.open.append("")  # a link we will not follow: its text stays, unlinked
                return
            self.out.append(f'<a href="{escape(href, quote=True)}" rel="noreferrer">')
        else:
            self.out.append(f"<{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _KEPT:
            self.out.append(escape(f"</{tag}>"))
            return
        if tag in self.open or (tag == "a" and "" in self.open):
            while self.open:
                closing = self.open.pop()
                if closing:
                    self.out.append(f"</{closing}>")
                if closing == tag or (tag == "a" and closing == ""):
                    break

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(escape(self.get_starttag_text() or ""))

    def handle_comment(self, data: str) -> None:
        self.out.append(escape(f"<!--{data}-->"))

    def handle_decl(self, decl: str) -> None:
        self.out.append(escape(f"<!{decl}>"))

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data, quote=False))

    def close(self) -> None:
        super().close()
        while self.open:
            closing = self.open.pop()
            if closing:
                self.out.append(f"</{closing}>")


def safe_telegram_html(message: str) -> str:
    """HTML for a page: Telegram's bold, italic and web links kept, everything else escaped text."""
    parser = _Sanitizer()
    parser.feed(message)
    parser.close()
    return "".join(parser.out)
