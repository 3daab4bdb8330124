"""Folding on shared articles (bot/core/digest.py): pure, on StoredPosts as the store returns them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.digest import fold_items
from bot.models import LinkedArticle, StoredPost

BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
STATEMENT = LinkedArticle(1, "https://www.mid.ru/en/news/1", "done", "Statement on Serbia")
SECTION = LinkedArticle(2, "https://serbiatoday.rs/news", "done", "News")


def stored(post_id: int, channel_id: int, text: str, *articles: LinkedArticle) -> StoredPost:
    return StoredPost(
        id=post_id,
        channel_id=channel_id,
        channel_username=f"c{channel_id}",
        channel_title=None,
        message_id=post_id,
        date=BASE + timedelta(minutes=post_id),
        text=text,
        url=None,
        origin_key=f"tg:{channel_id}/{post_id}",
        content_hash=f"h{post_id}",
        lang="en",
        articles=articles,
    )


def test_posts_of_two_channels_linking_one_statement_are_one_item() -> None:
    items = fold_items(
        [
            stored(1, 10, "MFA on the talks", STATEMENT),
            stored(2, 20, "Lavrov spoke with Vucic — full text", STATEMENT),
            stored(3, 20, "Weather in Belgrade"),
        ]
    )
    assert [[p.id for p in item.posts] for item in items] == [[1, 2], [3]]
    assert items[0].seen_in == 2 and items[0].article == STATEMENT


def test_a_channels_standing_link_folds_nothing() -> None:
    """Serbia Today puts its news section under every post: that shared link says nothing."""
    posts = [stored(n, 20, f"Different story {n}", SECTION) for n in range(1, 4)]
    posts.append(stored(4, 10, "Another channel quoting them", SECTION))
    assert [[p.id for p in item.posts] for item in fold_items(posts)] == [[1], [2], [3], [4]]


def test_an_unfetched_shared_link_still_folds_and_a_titled_one_is_shown() -> None:
    queued = LinkedArticle(3, "https://example.org/statement", "queued")
    items = fold_items([stored(1, 10, "a", queued), stored(2, 20, "b", queued)])
    assert len(items) == 1 and items[0].article is None  # nothing to show before it is fetched
