"""What every subcommand needs, built lazily so `--help` and usage errors touch no files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.archive import Archive
from bot.channel_boilerplate import LearnedBoilerplate
from bot.config import Settings
from bot.core.pipeline import Pipeline
from bot.ingest import Ingest
from bot.neardup_index import NearDupIndex
from storage.store import Store


@dataclass
class CliContext:
    env_file: Path | None
    db_override: Path | None = None
    _settings: Settings | None = field(default=None, init=False)
    _archive: Archive | None = field(default=None, init=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(self.env_file)
        return self._settings

    @property
    def db_path(self) -> Path:
        return self.db_override or self.settings.db_path

    @property
    def archive(self) -> Archive:
        if self._archive is None:
            self._archive = Archive.open(self.settings, self.db_path)
        return self._archive

    @property
    def store(self) -> Store:
        return self.archive.store

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
