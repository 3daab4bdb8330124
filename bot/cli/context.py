"""What every subcommand needs, built lazily so `--help` and usage errors touch no files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings
from bot.core.pipeline import Pipeline
from storage.db import NoArchiveError
from storage.learned_boilerplate import LearnedBoilerplate
from storage.neardup_index import NearDupIndex
from storage.store import Store

# Subcommands that write; only they may create the archive (a module says so with `WRITES = True`).
WRITING_COMMANDS = ("import", "backfill", "backfill-web", "run", "demo")


@dataclass
class CliContext:
    env_file: Path | None
    db_override: Path | None = None
    create_archive: bool = True  # False for read-only commands: a missing archive is an error, not a new file
    _settings: Settings | None = field(default=None, init=False)
    _store: Store | None = field(default=None, init=False)
    _pipeline: Pipeline | None = field(default=None, init=False)
    _neardup: NearDupIndex | None = field(default=None, init=False)

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
        if self._store is None:
            try:
                self._store = Store.open(self.db_path, create=self.create_archive)
            except NoArchiveError as exc:
                raise NoArchiveError(f"{exc}{self._missing_hint()}") from None
        return self._store

    def _missing_hint(self) -> str:
        demo = self.db_path.with_name("demo.db")
        if self.db_path.name != "demo.db" and demo.is_file():
            return f" (the demo's archive is {demo}: add --db {demo})"
        return f" (check --db / DB_PATH; {', '.join(WRITING_COMMANDS)} create one)"

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._pipeline = Pipeline.load(self.settings.rules_file, self.settings.boilerplate_file)
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
