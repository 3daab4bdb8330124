"""Open an archive with everything wired from the settings: the one factory the CLI and the service use.

Whoever needs the archive asks for an `Archive` and takes its parts; nothing else builds a pipeline,
a near-duplicate index or learned boilerplate by hand, so every path gets the same configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.app.channel_boilerplate import LearnedBoilerplate
from bot.app.ingest import Ingest
from bot.app.neardup_index import NearDupIndex
from bot.config import Location, Settings
from bot.core.pipeline import Pipeline
from bot.core.textnorm import TextNormaliser
from storage.db import NoArchiveError, shown
from storage.store import Store


class ArchiveMissing(NoArchiveError):
    """A read-only command was pointed at a path with no archive; it must not create one."""


@dataclass
class Archive:
    settings: Settings
    path: Location  # the file, or the postgresql:// URL
    store: Store
    pipeline: Pipeline
    boilerplate: LearnedBoilerplate
    neardup: NearDupIndex
    ingest: Ingest

    @classmethod
    def open(cls, settings: Settings, path: Location | None = None, *, create: bool = True) -> Archive:
        """`create=False` for commands that only read: a missing file is an error, not a new empty archive."""
        path = path or settings.archive
        # One normaliser for tagging and the search index's trigger: a post is normalised once.
        pipeline = Pipeline.load(settings.rules_file, settings.boilerplate_file, TextNormaliser())
        try:
            store = Store.open(path, pipeline.normaliser, create=create)  # also: a directory, a non-SQLite file…
        except NoArchiveError:
            raise ArchiveMissing(f"no archive at {shown(path)}") from None
        return cls.around(settings, store, pipeline, path=path)

    @classmethod
    def around(cls, settings: Settings, store: Store, pipeline: Pipeline, *, path: Location | None = None) -> Archive:
        """Wire an already open store (tests, benchmarks, one connection shared by several parts)."""
        boilerplate = LearnedBoilerplate(store)
        neardup = NearDupIndex(store, boilerplate=boilerplate, window_days=settings.neardup_window_days)
        return cls(
            settings=settings,
            path=path or settings.archive,
            store=store,
            pipeline=pipeline,
            boilerplate=boilerplate,
            neardup=neardup,
            ingest=Ingest(store, pipeline, neardup),
        )

    def close(self) -> None:
        self.store.close()
