"""The layer rules of the README's architecture section, checked on every import in bot/ and storage/.

Bottom up, nothing imports upward:

  0 base          bot.models, bot.config, bot.version
  1 core          bot.core (pure: no database, network, Telegram or scheduler library)
  2 storage       storage (stores; may use core types)         | 2 adapters  bot.sources, bot.telegram,
                                                                |             bot.outputs, bot.scheduler
  3 application   bot.app (ingest, archive, listing, digests, alerts, sinks, articles, analytics,
                  feeds, exports), bot.commands, bot.web
  4 wiring        bot.service (`tgmonitor run`, systemd, logging), bot.cli

Storage and the adapters sit side by side and never import each other: sources reach the archive
through the ports in bot/sources/ports.py, which the application implements. A new module must be
given a layer here; that is the point of the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Longest prefix wins.
LAYERS: dict[str, tuple[int, str]] = {
    "bot.models": (0, "base"),
    "bot.config": (0, "base"),
    "bot.version": (0, "base"),
    "bot.setting_values": (0, "base"),
    "bot.env_file": (0, "base"),
    "bot.account_settings": (0, "base"),
    "bot.core": (1, "core"),
    "storage": (2, "storage"),
    "bot.sources": (2, "adapter"),
    "bot.telegram": (2, "adapter"),
    "bot.outputs": (2, "adapter"),
    "bot.scheduler": (2, "adapter"),
    "bot.app": (3, "application"),
    "bot.commands": (3, "application"),
    "bot.web": (3, "application"),
    "bot.service": (4, "wiring"),
    "bot.cli": (4, "wiring"),
    "bot.__main__": (4, "wiring"),
}
# Libraries that do I/O or talk to the outside: never in the pure core.
# The archive's engine is storage's business: above it nothing knows whether it talks to SQLite or PostgreSQL.
ENGINE_ONLY = ("psycopg", "storage.pg")
IMPURE = ("sqlite3", "sqlite_utils", "httpx", "telethon", "apscheduler", "socket", "subprocess", "selectolax")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> tuple[int, str] | None:
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return best[1] if best else None


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import, including those inside functions."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


SOURCES = sorted(
    p for p in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "storage").rglob("*.py")] if p.name != "__init__.py"
)


def test_every_module_has_a_layer() -> None:
    unplaced = [module_name(p) for p in SOURCES if layer_of(module_name(p)) is None]
    assert not unplaced, f"give these modules a layer in tests/test_layers.py (and the README): {unplaced}"


def problems_in(path: Path, module: str) -> list[str]:
    here = layer_of(module)
    assert here is not None
    level, kind = here
    problems = []
    for line, target in imports(path):
        if kind == "core" and target.split(".")[0] in IMPURE:
            problems.append(f"line {line}: the pure core imports {target}")
        if kind != "storage" and (target.split(".")[0] == "psycopg" or target.startswith(ENGINE_ONLY[1])):
            problems.append(f"line {line}: {kind} imports {target}: only storage/ knows the database engine")
        if not target.startswith(("bot", "storage")):
            continue
        there = layer_of(target)
        if there is None:
            continue  # `bot` itself
        if there[0] > level:
            problems.append(f"line {line}: {kind} imports {target} ({there[1]}, a layer above)")
        elif {kind, there[1]} == {"storage", "adapter"}:
            problems.append(f"line {line}: {kind} imports {target}: storage and adapters never meet")
    return problems


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_imports_flow_one_way(path: Path) -> None:
    problems = problems_in(path, module_name(path))
    assert not problems, f"{module_name(path)}:\n  " + "\n  ".join(problems)


def test_the_checker_refuses_upward_and_sideways_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import sqlite3\nfrom storage.store import Store\n\ndef f():\n    from bot.cli import main\n"
        "import psycopg\nfrom storage.pg.open import open_pg\n"
    )
    assert sorted(problems_in(module, "bot.core.fake")) == [
        "line 1: the pure core imports sqlite3",
        "line 2: core imports storage.store (storage, a layer above)",
        "line 5: core imports bot.cli (wiring, a layer above)",
        "line 6: core imports psycopg: only storage/ knows the database engine",
        "line 7: core imports storage.pg.open (storage, a layer above)",
        "line 7: core imports storage.pg.open: only storage/ knows the database engine",
    ]
    assert problems_in(module, "bot.sources.fake")[0] == (
        "line 2: adapter imports storage.store: storage and adapters never meet"
    )
    assert sorted(problems_in(module, "bot.service.run")) == [
        "line 6: wiring imports psycopg: only storage/ knows the database engine",
        "line 7: wiring imports storage.pg.open: only storage/ knows the database engine",
    ]
    assert problems_in(module, "storage.fake") == ["line 5: storage imports bot.cli (wiring, a layer above)"]
