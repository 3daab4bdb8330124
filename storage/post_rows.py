"""The columns a post is read with, in the order `Store._hydrate` reads them: shared by every read."""

from __future__ import annotations

POST_COLUMNS = (
    "p.id, p.channel_id, c.username, c.title, p.message_id, p.date, p.text, p.url, p.origin_key, "
    "p.content_hash, p.lang, p.forward_name, p.media_kind, p.views, p.cluster_id, p.edit_date, p.deleted, "
    "p.tag_list, "
    # Whether the post links to an article: a probe inside the same statement, so a page of posts
    # that link nowhere (most) costs no second query (storage/articles.py: attach).
    "EXISTS (SELECT 1 FROM post_articles pa WHERE pa.post_id = p.id), "
    "p.sender_name, p.sender_id, p.time_approx, p.text_links"
)
POST_WIDTH = 23  # how many columns POST_COLUMNS reads: a query's own columns follow them
POST_DATE = 5  # p.date's place in POST_COLUMNS
POST_LINKS = 18  # the "links to an article" probe's place
