"""DOWNLOAD_MEDIA: files of stored posts land in DATA_DIR/media/<channel id>/<message id><ext>.

Driven like tests/test_telethon_source.py: real Telethon TL objects, the fake edge, a real SQLite
store, files in tmp_path.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
from telethon import TelegramClient
from telethon.errors import FileReferenceExpiredError, FloodWaitError
from telethon.sessions import MemorySession
from telethon.tl import types

from bot.app.archive import Archive
from bot.cli import backfill_cmd
from bot.cli.context import CliContext
from bot.config import Settings
from bot.core.pipeline import Pipeline
from bot.models import ChannelRef
from bot.service.parts import ListenerPart
from bot.sources.media import MB, MediaDownloader, has_file
from bot.sources.telethon_source import TelethonSource
from bot.telegram.client import TelethonClientEdge
from storage.store import Store
from tests.conftest import make_ingest
from tests.test_service import FakeUserClient
from tests.test_telegram_client import parse
from tests.tg_factory import (
    FakeEdge,
    SleepRecorder,
    album,
    channel,
    document,
    forward_from_channel,
    message,
    photo,
)

NEWS = channel(1001, "news", "Daily News")
MFA = channel(555, "mfarussia", "MFA Russia")


def downloader(edge: FakeEdge, root: Path, **kwargs: Any) -> MediaDownloader:
    kwargs.setdefault("sleep", SleepRecorder())
    return MediaDownloader(edge, root / "media", **kwargs)


def make_source(edge: FakeEdge, store: Store, pipeline: Pipeline, **kwargs: Any) -> TelethonSource:
    kwargs.setdefault("sleep", SleepRecorder())
    kwargs.setdefault("album_wait", 0)
    return TelethonSource(edge, make_ingest(store, pipeline), store, **kwargs)


def files(root: Path, channel_id: int = 1001) -> list[str]:
    """Finished files of a channel (the .partial directory is not a file of any post)."""
    folder = root / "media" / str(channel_id)
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def stored_ids(store: Store) -> list[int]:
    return [r[0] for r in store.db.execute("SELECT message_id FROM posts ORDER BY message_id")]


def video() -> types.MessageMediaDocument:
    return document(types.DocumentAttributeVideo(duration=3, w=640, h=360), mime="video/mp4")


def web_page() -> types.MessageMediaWebPage:
    page = types.WebPage(
        id=9, url="https://example.com/a", display_url="example.com/a", hash=0, title="A page", photo=photo().photo
    )
    return types.MessageMediaWebPage(webpage=page)


def poll() -> types.MessageMediaPoll:
    return types.MessageMediaPoll(
        poll=types.Poll(
            id=1,
            question=types.TextWithEntities("Will the talks succeed?", []),
            answers=[types.PollAnswer(types.TextWithEntities("Yes", []), b"0")],
            hash=0,
        ),
        results=types.PollResults(),
    )


async def resolved(source: TelethonSource) -> TelethonSource:
    await source.resolve_channels(["@news"])
    return source


def test_catch_up_downloads_files_to_the_documented_path(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    edge = FakeEdge([NEWS])
    edge.post(
        message(1, "Photo from Belgrade", media=photo()),
        message(2, "The full statement", media=document()),
        message(3, "Text only"),
        message(4, "", media=video()),
    )
    source = make_source(edge, store, pipeline, media=downloader(edge, tmp_path))
    asyncio.run(resolved(source))
    assert asyncio.run(source.catch_up())["@news"].inserted == 4
    assert files(tmp_path) == ["1.jpg", "2.pdf", "4.mp4"]
    assert (tmp_path / "media" / "1001" / "1.jpg").read_bytes() == b"file of message 1"
    assert list((tmp_path / "media" / "1001" / ".partial").iterdir()) == []


def test_media_download_is_off_by_default(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    assert MediaDownloader.from_settings(FakeEdge(), Settings(data_dir=tmp_path)) is None
    edge = FakeEdge([NEWS])
    edge.post(message(1, "Photo from Belgrade", media=photo()), message(2, "", media=document()))
    source = make_source(edge, store, pipeline)
    asyncio.run(resolved(source))
    asyncio.run(source.catch_up())
    assert stored_ids(store) == [1, 2]
    assert edge.downloads == []
    assert not (tmp_path / "media").exists()


def test_settings_choose_the_directory_and_the_size_cap(tmp_path: Path) -> None:
    settings = Settings.from_mapping({"DATA_DIR": str(tmp_path), "DOWNLOAD_MEDIA": "true", "MEDIA_MAX_MB": "7"})
    media = MediaDownloader.from_settings(FakeEdge(), settings)
    assert media is not None
    assert (media.media_dir, media.max_bytes) == (tmp_path / "media", 7 * MB)
    assert Settings.from_mapping({"DOWNLOAD_MEDIA": "true"}).media_max_mb == 50


def test_what_was_downloaded_is_not_downloaded_again(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    edge = FakeEdge([NEWS])
    edge.post(message(1, "Photo from Belgrade", media=photo()), message(2, "start"))
    source = make_source(edge, store, pipeline, media=downloader(edge, tmp_path))
    asyncio.run(resolved(source))
    asyncio.run(source.catch_up())
    assert edge.downloads == [(1001, 1)]

    edge.post(message(3, "Another photo", media=photo()))
    asyncio.run(source.catch_up())
    assert edge.downloads == [(1001, 1), (1001, 3)]  # only the new one

    # a restarted process walking the same history (backfill over what catch-up already read)
    again = make_source(edge, store, pipeline, media=downloader(edge, tmp_path))
    asyncio.run(again.backfill("@news", restart=True))
    assert edge.downloads == [(1001, 1), (1001, 3)]
    assert files(tmp_path) == ["1.jpg", "3.jpg"]


def test_web_page_previews_polls_and_other_fileless_media_are_not_downloaded(
    store: Store, pipeline: Pipeline, tmp_path: Path
) -> None:
    edge = FakeEdge([NEWS])
    edge.post(
        message(1, "Read this https://example.com/a", media=web_page()),
        message(2, "", media=poll()),
        message(3, "Meet here", media=types.MessageMediaGeo(geo=types.GeoPoint(long=20.4, lat=44.8, access_hash=1))),
        message(4, "Roll", media=types.MessageMediaDice(value=3, emoticon="🎲")),
        message(5, "Empty photo", media=types.MessageMediaPhoto(photo=types.PhotoEmpty(id=1))),
    )
    source = make_source(edge, store, pipeline, media=downloader(edge, tmp_path))
    asyncio.run(resolved(source))
    asyncio.run(source.catch_up())
    kinds = [r[0] for r in store.db.execute("SELECT media_kind FROM posts ORDER BY message_id")]
    assert kinds == ["webpage", "poll", "geo", "dice", "photo"]  # the kind is still recorded
    assert edge.downloads == []
    assert files(tmp_path) == []
    assert has_file(photo()) and has_file(document()) and not has_file(web_page()) and not has_file(None)


def test_an_oversized_document_is_skipped_with_a_note(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    edge = FakeEdge([NEWS])
    edge.post(
        message(1, "The whole archive", media=document(mime="application/zip", size=60 * MB)),
        message(2, "A small one", media=document(size=50 * MB)),
    )
    source = make_source(edge, store, pipeline, media=downloader(edge, tmp_path))
    asyncio.run(resolved(source))
    with caplog.at_level(logging.INFO):
        asyncio.run(source.catch_up())
    assert stored_ids(store) == [1, 2]
    assert edge.downloads == [(1001, 2)]  # at the limit is allowed
    assert files(tmp_path) == ["2.pdf"]
    assert "media 1001/1 not downloaded: 60.0 MB is over the 50 MB limit" in caplog.text


def test_a_leftover_partial_file_is_not_taken_as_done(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    partial = tmp_path / "media" / "1001" / ".partial"
    partial.mkdir(parents=True)
    (partial / "1.jpg").write_bytes(b"half a fi")  # a process killed mid-download
    (partial / "1").write_bytes(b"half")
    stale = partial / "99.mp4"  # a partial whose message will never come again
    stale.write_bytes(b"old")
    an_hour_ago = time.time() - 2 * 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    fresh = partial / "98.mp4"  # maybe another process downloading right now
    fresh.write_bytes(b"new")

    edge = FakeEdge([NEWS])
    edge.post(message(1, "Photo from Belgrade", media=photo()))
    source = make_source(edge, store, pipeline, media=downloader(edge, tmp_path))
    asyncio.run(resolved(source))
    asyncio.run(source.catch_up())
    assert edge.downloads == [(1001, 1)]
    assert files(tmp_path) == ["1.jpg"]  # not "1 (1).jpg": Telethon names around existing files
    assert (tmp_path / "media" / "1001" / "1.jpg").read_bytes() == b"file of message 1"
    assert sorted(p.name for p in partial.iterdir()) == ["98.mp4"]


def test_a_failing_download_is_logged_and_the_text_is_stored(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    edge = FakeEdge([NEWS])
    edge.post(
        message(1, "Photo from Belgrade", media=photo()),
        message(2, "Photo from Novi Sad", media=photo()),
        message(3, "Text only"),
    )
    edge.download_failures.append(FileReferenceExpiredError(request=None))
    source = make_source(edge, store, pipeline, media=downloader(edge, tmp_path))
    asyncio.run(resolved(source))
    with caplog.at_level(logging.ERROR):
        result = asyncio.run(source.catch_up())
    assert result["@news"].inserted == 3
    assert stored_ids(store) == [1, 2, 3]
    assert store.checkpoint(store.ensure_channel(ChannelRef(tg_id=1001))) == 3
    assert store.channels()[0].last_error is None  # the channel is fine; one file was not
    assert files(tmp_path) == ["2.jpg"]
    assert list((tmp_path / "media" / "1001" / ".partial").iterdir()) == []
    assert "media 1001/1 not downloaded: FileReferenceExpiredError" in caplog.text


def test_a_flood_wait_during_a_download_is_waited_out(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    edge = FakeEdge([NEWS])
    edge.post(message(1, "Photo from Belgrade", media=photo()))
    edge.download_failures.append(FloodWaitError(request=None, capture=7))
    sleep = SleepRecorder()
    source = make_source(edge, store, pipeline, media=downloader(edge, tmp_path, sleep=sleep))
    asyncio.run(resolved(source))
    asyncio.run(source.catch_up())
    assert sleep.waits == [8]
    assert edge.downloads == [(1001, 1), (1001, 1)]
    assert files(tmp_path) == ["1.jpg"]
    assert (tmp_path / "media" / "1001" / "1.jpg").read_bytes() == b"file of message 1"


def test_a_flood_wait_above_the_limit_skips_only_that_file(
    store: Store, pipeline: Pipeline, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    edge = FakeEdge([NEWS])
    edge.post(message(1, "Photo one", media=photo()), message(2, "Photo two", media=photo()))
    edge.download_failures.append(FloodWaitError(request=None, capture=3600))
    sleep = SleepRecorder()
    source = make_source(edge, store, pipeline, media=downloader(edge, tmp_path, sleep=sleep, max_flood_wait=60))
    asyncio.run(resolved(source))
    with caplog.at_level(logging.ERROR):
        asyncio.run(source.catch_up())
    assert sleep.waits == []
    assert stored_ids(store) == [1, 2] and files(tmp_path) == ["2.jpg"]
    assert "media 1001/1 not downloaded: FloodWaitTooLong" in caplog.text


def test_backfill_downloads_the_files_of_older_history(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    edge = FakeEdge([NEWS])
    edge.post(*[message(i, f"Photo {i}", media=photo()) for i in range(1, 6)])
    source = make_source(edge, store, pipeline, page_size=2, media=downloader(edge, tmp_path))
    asyncio.run(source.backfill("@news", limit=3))
    assert files(tmp_path) == ["3.jpg", "4.jpg", "5.jpg"]
    asyncio.run(source.backfill("@news"))
    assert files(tmp_path) == [f"{i}.jpg" for i in range(1, 6)]


def test_album_parts_each_get_their_file(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    edge = FakeEdge([NEWS])
    edge.post(message(1, "start"), *album(2, ["Flood in Obrenovac", "", "Rescue teams"], grouped_id=9))
    source = make_source(edge, store, pipeline, media=downloader(edge, tmp_path))
    asyncio.run(resolved(source))
    asyncio.run(source.catch_up())
    assert stored_ids(store) == [1, 2]  # one post for the album...
    assert files(tmp_path) == ["2.jpg", "3.jpg", "4.jpg"]  # ...and a file per photo


def test_live_new_messages_and_album_parts_get_their_files(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    edge = FakeEdge([NEWS])
    source = make_source(edge, store, pipeline, album_wait=0.05, media=downloader(edge, tmp_path))
    parts = album(60, ["Flood in Obrenovac", "Rescue teams at work"], grouped_id=99)

    async def scenario() -> None:
        await resolved(source)
        source.register_handlers()
        await edge.dispatch_new(message(50, "Talks begin", media=photo()))
        await edge.dispatch_new(message(51, "Other chat", chat=999, media=photo()))  # not watched
        for part in parts:
            await edge.dispatch_new(part)
        await source.flush_albums()
        await edge.dispatch_edit(message(50, "Talks begin, corrected", media=photo()))

    asyncio.run(scenario())
    assert stored_ids(store) == [50, 60]
    assert files(tmp_path) == ["50.jpg", "60.jpg", "61.jpg"]
    assert files(tmp_path, 999) == []
    # catch-up reads the same messages later (live never moves the checkpoint): nothing fetched twice
    asyncio.run(source.catch_up())
    assert edge.downloads == [(1001, 50), (1001, 60), (1001, 61)]


def test_forwards_from_limits_downloads_to_the_posts_kept(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    edge = FakeEdge([NEWS, MFA])
    forwarded = forward_from_channel(555, 9001)
    edge.post(
        message(1, "Statement of the Ministry", media=photo(), fwd_from=forwarded),
        message(2, "Somebody else's photo", media=photo(), fwd_from=forward_from_channel(777, 5)),
        *[
            message(3 + i, caption, media=photo(), grouped_id=5, fwd_from=forwarded)
            for i, caption in enumerate(["Ministry album", ""])
        ],
        message(5, "Our own photo", media=photo()),
    )
    source = make_source(edge, store, pipeline, forwards_from=["@mfarussia"], media=downloader(edge, tmp_path))
    asyncio.run(resolved(source))
    asyncio.run(source.catch_up())
    assert stored_ids(store) == [1, 3]
    assert files(tmp_path) == ["1.jpg", "3.jpg", "4.jpg"]

    async def live() -> None:
        source.register_handlers()
        await edge.dispatch_new(message(6, "Live from elsewhere", media=photo()))
        await edge.dispatch_new(message(7, "Live from the Ministry", media=photo(), fwd_from=forwarded))

    asyncio.run(live())
    assert files(tmp_path) == ["1.jpg", "3.jpg", "4.jpg", "7.jpg"]


def test_a_file_telethon_names_without_an_extension_gets_bin(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    edge = FakeEdge([NEWS])
    edge.post(message(1, "Mystery file", media=document(mime="application/x-unknown-kind")))
    source = make_source(edge, store, pipeline, media=downloader(edge, tmp_path))
    asyncio.run(resolved(source))
    asyncio.run(source.catch_up())
    assert files(tmp_path) == ["1.bin"]
    asyncio.run(source.backfill("@news", restart=True))
    assert edge.downloads == [(1001, 1)]  # "1.bin" counts as done


# ------------------------------------------------------------------- wiring


def test_the_real_telethon_client_names_files_as_the_downloader_expects(tmp_path: Path) -> None:
    """The extension contract, through Telethon's own download_media; only the transfer is replaced."""
    client = TelegramClient(MemorySession(), 12345, "0123456789abcdef0123456789abcdef")

    async def transfer(location: Any, file: Any, **kwargs: Any) -> None:
        Path(file).write_bytes(b"bytes from Telegram")

    client._download_file = transfer  # type: ignore[method-assign]
    client.download_file = transfer  # type: ignore[method-assign]
    edge = TelethonClientEdge(client)
    media = MediaDownloader(edge, tmp_path / "media")
    clip = message(2, "", media=video())

    async def scenario() -> list[Path | None]:
        return [await media.download(1001, message(1, "", media=photo())), await media.download(1001, clip)]

    assert asyncio.run(scenario()) == [tmp_path / "media" / "1001" / "1.jpg", tmp_path / "media" / "1001" / "2.mp4"]
    assert (tmp_path / "media" / "1001" / "2.mp4").read_bytes() == b"bytes from Telegram"


def test_the_listener_downloads_when_the_setting_is_on(store: Store, pipeline: Pipeline, tmp_path: Path) -> None:
    edge = FakeEdge([channel(1001, "balkan_watch", "Balkan Watch")])
    edge.post(message(1, "Photo from Belgrade", media=photo()))
    settings = Settings.from_mapping(
        {
            "DATA_DIR": str(tmp_path),
            "API_ID": "12345",
            "API_HASH": "0123456789abcdef0123456789abcdef",
            "CHANNELS": "@balkan_watch",
            "DOWNLOAD_MEDIA": "true",
        }
    )
    archive = Archive.around(settings, store, pipeline)
    part = ListenerPart(settings, archive, client_factory=lambda s: FakeUserClient(edge))  # type: ignore[arg-type,return-value]

    async def scenario() -> str:
        line = await part.start()
        await part.poll()
        await part.close()
        return line

    line = asyncio.run(scenario())
    assert f"media files to {tmp_path / 'media'}" in line
    assert files(tmp_path) == ["1.jpg"]


def test_the_backfill_command_downloads_when_the_setting_is_on(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"DATA_DIR={tmp_path}\nDOWNLOAD_MEDIA=true\n", encoding="utf-8")
    ctx = CliContext(env_file=tmp_path / ".env")
    edge = FakeEdge([NEWS])
    edge.post(message(1, "Photo from Belgrade", media=photo()), message(2, "Text"))
    try:
        asyncio.run(backfill_cmd.backfill_with_edge(parse(["backfill", "@news"]), ctx, edge, None))
    finally:
        ctx.close()
    assert files(tmp_path) == ["1.jpg"]
