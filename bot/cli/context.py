"""What every subcommand needs, built lazily so `--help` and usage errors touch no files."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from bot.cli.progress import ProgressBar
from bot.config import Settings
from bot.core.pipeline import Pipeline
from bot.core.textnorm import TextNormaliser
from storage.learned_boilerplate import LearnedBoilerplate
from storage.neardup_index import NearDupIndex
from storage.store import Store


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
    db_override: Path | None = None
    _settings: Settings | None = field(default=None, init=False)
    _store: Store | None = field(default=None, init=False)
    _pipeline: Pipeline | None = field(default=None, init=False)
    _neardup: NearDupIndex | None = field(default=None, init=False)
    _normaliser: TextNormaliser | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(self.env_file)
        return self._settings

    @property
    def db_path(self) -> Path:
        return self.db_override or self.settings.db_path

    @property
    def store(self) -> Store:
        return self.open_store()

    @property
    def normaliser(self) -> TextNormaliser:
        """One for the store and the pipeline: tagging and indexing a post then normalise it once."""
        if self._normaliser is None:
            self._normaliser = TextNormaliser()
        return self._normaliser

    def open_store(self, *, fill: bool = True) -> Store:
        """The archive; posts the search index does not hold yet (an upgrade) are indexed first."""
        if self._store is None:
            self._store = Store.open(self.db_path, self.normaliser)
            if fill:
                fill_search_index(self._store)
        return self._store

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = Pipeline.load(self.settings.rules_file, self.settings.boilerplate_file, self.normaliser)
        return self._pipeline

    @property
    def learned_boilerplate(self) -> LearnedBoilerplate:
        return LearnedBoilerplate(self.store.db)

    @property
    def neardup(self) -> NearDupIndex:
        """On for every CLI ingest: copies fold into clusters as they arrive."""
        if self._neardup is None:
            self._neardup = NearDupIndex(
                self.store.db,
                boilerplate=self.learned_boilerplate,
                window_days=self.settings.neardup_window_days,
            )
        return self._neardup

    def close(self) -> None:
        self._neardup = None
        if self._store is not None:
            self._store.close()
            self._store = None
