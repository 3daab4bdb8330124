"""What every subcommand needs, built lazily so `--help` and usage errors touch no files."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot.app.archive import Archive
from bot.app.channel_boilerplate import LearnedBoilerplate
from bot.app.ingest import Ingest
from bot.app.neardup_index import NearDupIndex
from bot.cli.progress import ProgressBar
from bot.config import Location, Settings
from bot.core.channels import parse_channel
from bot.core.pipeline import Pipeline
from storage.db import NoArchiveError
from storage.store import Store

# Subcommands that write; only they may create the archive (a module says so with `WRITES = True`).
WRITING_COMMANDS = ("import", "backfill", "backfill-web", "run", "demo")


def fill_search_index(store: Store, *, batch: int = 2000, announce: bool = True) -> int:
    """Index what the search index lacks (once after an upgrade; resumable), with progress on stderr."""
    pending = store.search_index.pending()
    if not pending:
        return 0
    if announce:
        print(
            f"search index: indexing {pending:,} archived posts (once; interrupt and rerun to resume)", file=sys.stderr
        )
    bar = ProgressBar(pending, "indexing for search")
    done = 0

    def progress(count: int, total: int) -> None:
        nonlocal done
        bar(count - done)
        done = count

    try:
        return store.search_index.backfill(batch=batch, progress=progress)
    finally:
        bar.close()


@dataclass
class CliContext:
    env_file: Path | None
    db_override: Location | None = None  # --db: a file path or a postgresql:// URL
    create_archive: bool = True  # False for read-only commands: a missing archive is an error, not a new file
    _settings: Settings | None = field(default=None, init=False)
    _archive: Archive | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(self.env_file, channel_check=parse_channel)
        return self._settings

    @property
    def location(self) -> Location:
        """The archive: --db, else DATABASE_URL, else DB_PATH."""
        return self.db_override or self.settings.archive

    @property
    def archive(self) -> Archive:
        return self.open_archive()

    def open_archive(self, *, fill: bool = True) -> Archive:
        """The archive; posts the search index does not hold yet (an upgrade) are indexed first."""
        if self._archive is None:
            try:
                self._archive = Archive.open(self.settings, self.location, create=self.create_archive)
            except NoArchiveError as exc:
                raise NoArchiveError(f"{exc}{self._missing_hint()}") from None
            if fill:
                fill_search_index(self._archive.store)
        return self._archive

    @property
    def store(self) -> Store:
        return self.archive.store

    def _missing_hint(self) -> str:
        location = self.location
        if not isinstance(location, Path):
            return f" (check --db / DATABASE_URL; {', '.join(WRITING_COMMANDS)} create one)"
        demo = location.with_name("demo.db")
        if location.name != "demo.db" and demo.is_file():
            return f" (the demo's archive is {demo}: add --db {demo})"
        return f" (check --db / DB_PATH; {', '.join(WRITING_COMMANDS)} create one)"

    @property
    def pipeline(self) -> Pipeline:
        return self.archive.pipeline

    @property
    def ingest(self) -> Ingest:
        """The one way in: every CLI ingest cleans, tags, stores and clusters near-duplicates."""
        return self.archive.ingest

    @property
    def learned_boilerplate(self) -> LearnedBoilerplate:
        return self.archive.boilerplate

    @property
    def neardup(self) -> NearDupIndex:
        return self.archive.neardup

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()
            self._archive = None
