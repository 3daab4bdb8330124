"""A Telegram Desktop `result.json`, read as a stream: memory stays flat whatever the export's size.

`json.loads` of a 300 MB export (50,000 messages) peaked at 1.75 GB: the text, the parsed objects
and the posts made of them were all in memory at once. ijson (its C backend, yajl2_c) hands over one
message object at a time, so the importer holds one message, not the export (bench/real_data.md).

Reading is in two parts, as the importer needs: `JsonExport.open` reads the header (the channel's
`id` and `name`, written before `messages`) and checks the shape; `iter_posts` streams the messages
through the same checks as before (desktop_export._message_to_raw), and can be called again for the
write pass. Errors are one line naming the file and the message (index and id), never the file's
content: yajl's own messages quote the bytes around the fault, and only their first line is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

from bot.core.json_shape import JsonRefused, JsonScanner
from bot.models import ChannelRef, RawPost
from bot.sources.desktop_export import MAX_TEXT_CHARS, ExportError, check_message_id, check_storable, message_to_raw

# The C backend keeps the import fast (the pure-Python one is ~20x slower); it ships in ijson's wheels.
_BACKEND = ijson.get_backend("yajl2_c") if "yajl2_c" in ijson.ALL_BACKENDS else ijson
_BUFFER = 64 * 1024
# The reader refuses what would make the parser quadratic (bot/core/json_shape.py): yajl copies a
# token that spans read buffers again at every buffer, so a string of n bytes costs n^2 / buffer (a
# 16 MB one took 43 s), and ijson's prefixes make depth cost its square in time and memory. No string
# of an export is longer than a text of MAX_TEXT_CHARS characters, each at most 6 bytes escaped
# (\uXXXX); Telegram Desktop's writer nests about 7 deep (message, text, entity, reactions...).
MAX_STRING_BYTES = MAX_TEXT_CHARS * 6 + 4096
MAX_DEPTH = 256


class _Guarded:
    """A binary file whose `read` hands each chunk to a JsonScanner first (and drops a leading BOM).

    What comes before a refused byte is still handed over, and the refusal raised at the next read:
    the parser then yields every message before the fault, so the error names the message it is in."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.scanner = JsonScanner(MAX_STRING_BYTES, MAX_DEPTH)
        self.started = False
        self.refused: JsonRefused | None = None

    def read(self, size: int = -1) -> bytes:
        if self.refused is not None:
            raise self.refused
        chunk = self.handle.read(size)
        if not self.started and chunk:  # ijson's first read is read(0), to see bytes or text
            self.started = True
            if chunk.startswith(b"\xef\xbb\xbf"):  # a BOM, as an editor may save the file
                chunk = chunk[3:]
                self.scanner.offset = 3
        start = self.scanner.offset
        try:
            self.scanner.feed(chunk)
        except JsonRefused as exc:
            if exc.offset <= start:
                raise
            self.refused = exc
            return chunk[: exc.offset - start]
        return chunk


@dataclass(frozen=True, slots=True)
class JsonExport:
    path: Path
    channel: ChannelRef

    @classmethod
    def open(cls, path: Path) -> JsonExport:
        """Read the header: the top-level `id` and `name`, and that `messages` is a list."""
        source = str(path)
        header: dict[str, Any] = {}
        messages_seen = chats_map = False
        with _open(path) as handle:
            events = _BACKEND.parse(_Guarded(handle), buf_size=_BUFFER, use_float=True)
            try:
                first = next(events, None)
                if first is None:
                    raise ExportError(f"{source}: invalid JSON: empty file")
                if first[1] != "start_map":
                    raise ExportError(f"{source}: expected a JSON object with 'messages', got a JSON {first[1]}")
                for prefix, event, value in events:
                    if prefix == "messages" and event in ("start_array", "start_map", "string", "number", "null"):
                        if event != "start_array":
                            raise ExportError(f"{source}: 'messages' must be a list")
                        messages_seen = True
                        if "id" in header:
                            break  # the header comes first in every export: the rest is the stream's
                    elif prefix == "chats" and event == "start_map":
                        chats_map = True
                    elif prefix in ("id", "name") and event in ("number", "string", "boolean", "null"):
                        header[prefix] = value
                    elif prefix == "id" and event in ("start_map", "start_array"):
                        header["id"] = event
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                raise ExportError(f"{source}: invalid JSON: {_first_line(exc)}") from None
            except JsonRefused as exc:
                raise ExportError(f"{source}: {_refused(exc)}") from None
        if not messages_seen:
            if chats_map:
                raise ExportError(f"{source}: this is a full-account export; export a single channel instead")
            raise ExportError(f"{source}: 'messages' must be a list")
        channel_id = header.get("id")
        if not isinstance(channel_id, int) or isinstance(channel_id, bool):
            raise ExportError(
                f"{source}: top-level 'id' (the channel id) must be an integer, got {str(channel_id)[:40]!r}"
            )
        check_message_id(abs(channel_id) or 1, source, "top-level 'id' (the channel id)")
        name = header.get("name")
        if isinstance(name, str):
            check_storable(name, source, "top-level 'name' (the channel's title)")
        return cls(path, ChannelRef(tg_id=channel_id, title=name if isinstance(name, str) else None))

    def iter_posts(self) -> Iterator[RawPost]:
        """Each message checked and turned into a RawPost (or skipped: service, empty), in file order."""
        source = str(self.path)
        index, last_id = -1, None
        with _open(self.path) as handle:
            messages = _BACKEND.items(_Guarded(handle), "messages.item", buf_size=_BUFFER, use_float=True)
            try:
                for index, message in enumerate(messages):
                    where = f"{source}: messages[{index}]"
                    if not isinstance(message, dict):
                        raise ExportError(f"{where}: must be an object, got {type(message).__name__}")
                    last_id = message.get("id")
                    raw = _read(message, self.channel, where)
                    if raw is not None:
                        yield raw
            except (ijson.JSONError, UnicodeDecodeError) as exc:
                # A message is handed over once whole: the fault is in the one after the last handed over.
                after = f" (after id {last_id})" if isinstance(last_id, int) and index >= 0 else ""
                raise ExportError(f"{source}: messages[{index + 1}]{after}: invalid JSON: {_first_line(exc)}") from None
            except JsonRefused as exc:
                after = f" (after id {last_id})" if isinstance(last_id, int) and index >= 0 else ""
                raise ExportError(f"{source}: messages[{index + 1}]{after}: {_refused(exc)}") from None


def _read(message: dict[str, Any], channel: ChannelRef, where: str) -> RawPost | None:
    """One message; a shape the checks did not foresee is still an error naming it, not a traceback."""
    try:
        return message_to_raw(message, channel, where)
    except ExportError:
        raise
    except Exception as exc:
        ident = message.get("id")
        named = f"{where} (id {ident})" if isinstance(ident, int) else where
        raise ExportError(f"{named}: cannot read this message ({exc.__class__.__name__}: {str(exc)[:120]})") from exc


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise ExportError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _refused(exc: JsonRefused) -> str:
    if exc.kind == "string":
        why = f"a text is at most {MAX_TEXT_CHARS:,} characters"
    else:
        why = "Telegram Desktop exports nest about 7 deep"
    return f"{exc} near byte {exc.offset:,}: {why} (a damaged or hostile file)"


def _first_line(exc: Exception) -> str:
    """yajl's message without the quoted bytes and the `(right here) ---^` lines that follow it.

    yajl lets through what it does not check (UTF-8 for a lone surrogate, `\\xed\\xa0\\x80`, or an
    overlong `\\xc0\\xaf`); ijson's decoding of that string then raises UnicodeDecodeError, whose
    message names neither the file nor the message: it is said here as the same fault."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text ({exc.reason} in a string)"
    text = str(exc)
    if text[:2] in ("b'", 'b"'):
        text = text[2:]
    line = text.replace("\\n", "\n").split("\n")[0].strip()
    if "invalid bytes in UTF8" in line:
        return "not UTF-8 text"
    if "integer overflow" in line:
        return "a number beyond 64 bits (no id or date the archive holds is that large)"
    return line[:120] or exc.__class__.__name__
