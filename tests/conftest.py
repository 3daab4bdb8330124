from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.channel_boilerplate import LearnedBoilerplate
from bot.core.pipeline import Pipeline
from bot.ingest import Ingest
from bot.models import ChannelRef, Forward, RawPost
from bot.neardup_index import NearDupIndex
from storage.store import Store

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def pipeline() -> Pipeline:
    return Pipeline.load()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "archive.db")
    yield opened
    opened.close()


def make_ingest(store: Store, pipeline: Pipeline, *, neardup: bool = True, batch_size: int = 500) -> Ingest:
    """The archive's one way in, wired as `bot.archive.Archive` wires it."""
    index = NearDupIndex(store, boilerplate=LearnedBoilerplate(store)) if neardup else None
    return Ingest(store, pipeline, index, batch_size=batch_size)


def raw_post(
    message_id: int,
    text: str,
    *,
    channel: ChannelRef | None = None,
    date: datetime | None = None,
    forward: Forward | None = None,
    **extra: object,
) -> RawPost:
    return RawPost(
        channel=channel or ChannelRef(tg_id=1001, username="watcher", title="Watcher"),
        message_id=message_id,
        date=date or datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        text=text,
        source="telethon",
        forward=forward,
        **extra,  # type: ignore[arg-type]
    )
