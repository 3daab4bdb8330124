"""`tgmonitor import PATH...`: archive Telegram Desktop exports (JSON or HTML) and saved t.me/s pages.

Two passes over everything named, so that a bad file anywhere writes nothing: every source is read
and checked first, then each is written in short transactions (IMPORT_BATCH). The check pass also
runs every post through the pipeline (Ingest.check), so a post the pipeline fails on stops the
import, named by file and message id, before anything is written. A JSON export is streamed
(desktop_json_stream) and an HTML export is read page by page, both twice (check, then write), so
neither sits in memory whatever its size. The write pass runs the pipeline again (in Ingest's worker
process, beside the writer), which costs less than keeping every checked post (bench/real_data.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import tzinfo
from pathlib import Path

from bot.app.export_channel import archived, check_same_channel, parse_channel_option, resolve_channel
from bot.app.ingest import PostError
from bot.cli import argtypes
from bot.cli.context import CliContext
from bot.cli.progress import ProgressBar
from bot.models import ChannelRef, RawPost, SaveResult
from bot.sources.desktop_export import ExportError, iter_export_files
from bot.sources.desktop_html_export import HtmlExport, looks_like_export_page
from bot.sources.desktop_json_stream import JsonExport
from bot.sources.export_clock import clock_key, has_offsets, local_clock_note, on_local_clock
from bot.sources.web_preview_parser import parse_saved_page

WRITES = True  # may create the archive (bot/cli/context.py)


@dataclass(frozen=True)
class Source:
    """A checked source, ready to write: `posts()` yields its RawPosts (again) for the write pass."""

    label: str
    channel: ChannelRef | None
    total: int
    posts: Callable[[], Iterable[RawPost]]
    note: str = ""


class Checked:
    """The check pass's pipeline run: every post processed (a failure names the source and message).

    A message id twice in one source is refused: an export lists each message once, and the second
    would be saved as an edit of the first that never happened. `seen` spans the calls for one source
    (the pages of an HTML export)."""

    def __init__(self, ctx: CliContext) -> None:
        self.ctx = ctx

    def __call__(self, raws: Iterable[RawPost], label: str, seen: set[int] | None = None) -> int:
        count = 0
        seen = set() if seen is None else seen
        for raw in raws:
            if raw.message_id in seen:
                raise ExportError(f"{label}: message {raw.message_id} appears twice (a damaged or merged export?)")
            seen.add(raw.message_id)
            try:
                self.ctx.ingest.check(raw)
            except PostError as exc:
                raise ExportError(f"{label}: {exc}") from exc
            count += 1
        return count


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "import",
        help="import Telegram Desktop exports (JSON or HTML, the file or its folder) or saved t.me/s/ pages (.html)",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument(
        "--channel",
        metavar="CHANNEL",
        help="which channel an HTML export is (@username, t.me link or numeric id); "
        "without it, the archived channel with the export's title",
    )
    parser.add_argument(
        "--tz",
        type=argtypes.time_zone,
        metavar="ZONE",
        help="the exporter's time zone (e.g. Europe/Moscow) for older exports whose times have no UTC offset; "
        "without it such times are taken as UTC and are approximate",
    )
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    return parser


# Every file is parsed and checked before anything is written (bad input writes nothing); the writing
# is then short transactions, so a running service is never locked out for long (one transaction of
# 80k messages held the write lock 66 s, longer than the service's 30 s busy timeout). A killed import
# leaves whole batches behind; importing again is idempotent and completes it.
IMPORT_BATCH = 200


def read_source(
    ctx: CliContext,
    path: Path,
    channel: ChannelRef | None = None,
    pending: Sequence[ChannelRef] = (),
    checked: Checked | None = None,
) -> Source:
    """Pick the reader by what the path is; everything is read and checked before anything is written."""
    checked = checked or Checked(ctx)
    if path.is_dir():  # iter_export_files hands over a folder only when it holds HTML export pages
        return read_html_export(ctx, path, channel, pending, checked)
    if not path.is_file():
        if path.exists() or path.is_symlink():  # is_file follows links: a loop or a dangling one is not a file
            raise ExportError(f"{path}: not a regular file (a pipe, a device, or a link that leads to none)")
        raise ExportError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        export = JsonExport.open(path)
        total = checked(export.iter_posts(), str(path))
        return Source(str(path), export.channel, total, export.iter_posts)
    if suffix in {".html", ".htm"}:
        if looks_like_export_page(path):
            return read_html_export(ctx, path, channel, pending, checked)
        posts = parse_saved_page(path)  # a page saved from https://t.me/s/CHANNEL
        checked(posts, str(path))
        return Source(str(path), posts[0].channel if posts else None, len(posts), lambda: posts)
    raise ExportError(
        f"{path}: unsupported file type (expected a Desktop export: result.json, messages.html or their "
        "folder; or a saved t.me/s/ page .html)"
    )


def read_html_export(
    ctx: CliContext,
    path: Path,
    option: ChannelRef | None,
    pending: Sequence[ChannelRef] = (),
    checked: Checked | None = None,
) -> Source:
    """Check every page (parse, compare with the archive, run the pipeline, drop) and count."""
    checked = checked or Checked(ctx)
    export = HtmlExport.open(path)
    channel, how = resolve_channel(ctx.store, export.title, option, str(export.folder), pending)
    row = archived(ctx.store, channel)
    total = 0
    seen: set[int] = set()
    cut_short: list[str] = []
    bar = ProgressBar(len(export.pages), f"checking {export.folder.name}")
    try:
        for page in export.iter_pages(channel):
            if page.note:
                cut_short.append(page.note)
            if row is not None:
                check_same_channel(ctx.store, row, page.posts, str(page.path))
            total += checked(page.posts, str(page.path), seen)
            bar(1)
    finally:
        bar.close()
    note = "\n".join(
        [f"{export.folder}: HTML export of «{export.title}», {len(export.pages)} pages, {how}", *cut_short]
    )
    return Source(str(export.folder), channel, total, lambda: export.iter_posts(channel), note)


def import_paths(
    ctx: CliContext,
    paths: list[Path],
    channel: ChannelRef | None = None,
    tz: tzinfo | None = None,
    *,
    check_clock: bool = True,
) -> dict[str, SaveResult]:
    """`check_clock=False`: the demo's own samples, whose times are written in UTC on purpose."""
    files = list(iter_export_files(paths))
    # HTML exports last, so one can find its channel in a JSON export named in the same command.
    html = [p.is_dir() or looks_like_export_page(p) for p in files]
    read: dict[Path, Source] = {}
    checked = Checked(ctx)
    for path, _ in sorted(zip(files, html, strict=True), key=lambda pair: pair[1]):
        pending = [s.channel for s in read.values() if s.channel is not None]
        read[path] = read_source(ctx, path, channel, pending, checked)
    sources: dict[str, Source] = {}
    for path in files:  # written in the order named
        sources.setdefault(read[path].label, read[path])  # an export named twice (folder and page) once
    results: dict[str, SaveResult] = {}
    for source in sources.values():
        if source.note:
            print(source.note, file=sys.stderr)
        clock = has_offsets(Path(source.label)) if check_clock else None  # bot/sources/export_clock.py
        if clock is False and tz is not None:
            source = replace(source, posts=_on_clock(source.posts, tz))
        elif clock is False:  # each post says its time is the exporter's clock taken as UTC
            source = replace(source, posts=_approximate(source.posts))
        bar = ProgressBar(source.total, Path(source.label).name)
        try:
            results[source.label] = ctx.ingest.save(
                source.posts(),
                checkpoint=source.channel,
                progress=bar,
                batch_size=IMPORT_BATCH,
            )
        except PostError as exc:  # checked before writing, so only a failure the check could not foresee
            raise RuntimeError(
                f"{source.label}: {exc} (posts before it were written; importing again resumes)"
            ) from exc
        finally:
            bar.close()
        if clock is False:  # said once the posts are in (an import that fails says only why)
            print(local_clock_note(source.label, tz), file=sys.stderr)
            if source.channel is not None and (row := archived(ctx.store, source.channel)):
                ctx.store.meta_set(clock_key(row.id), str(tz) if tz is not None else "approximate")
    return results


def _on_clock(posts: Callable[[], Iterable[RawPost]], tz: tzinfo) -> Callable[[], Iterable[RawPost]]:
    return lambda: (on_local_clock(raw, tz) for raw in posts())


def _approximate(posts: Callable[[], Iterable[RawPost]]) -> Callable[[], Iterable[RawPost]]:
    return lambda: (replace(raw, approx_time=True) for raw in posts())


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    channel = parse_channel_option(args.channel) if args.channel else None
    results = import_paths(ctx, args.paths, channel, args.tz)
    if args.json:
        ids = {p: {"new_ids": len(r.new_ids), "updated_ids": len(r.updated_ids)} for p, r in results.items()}
        print(json.dumps({p: asdict(r) | ids[p] for p, r in results.items()}))
    else:
        for path, result in results.items():
            print(f"{path}: {result.inserted} new, {result.updated} updated, {result.unchanged} unchanged")
    return 0
