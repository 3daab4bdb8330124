"""The pipeline in a second process, so ingest uses both cores: while the main process writes batch k,
a forked worker cleans, tags, normalises and signs batch k+1.

Why a process and not a thread: cleaning, tagging and MinHash are pure Python and hold the GIL.
Why fork: the child inherits the loaded pipeline, the normaliser and its memo as they are (nothing to
pickle or load again; Stemmer objects cannot be pickled), and starting it costs a few milliseconds, so
every multi-batch `Ingest.save` can have its own. Only used where fork is safe: on a platform that has
it, from a process with one thread (a forked copy of a threaded process may inherit a lock another
thread held); elsewhere `Ingest` runs the same `prepare` inline.

Order and back-pressure: batches go to the worker in input order and come back in the same order, at
most two in the worker at a time (one being prepared, one waiting), so memory stays two batches deep
and the main process commits batches, and moves checkpoints, exactly in input order.

Crash safety is unchanged: the worker writes nothing. If the main process dies (kill -9 included) the
worker's pipe reads end-of-file and it exits; if the worker dies, the main process gets an error
before writing the batch, and nothing of that batch is stored.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from multiprocessing.connection import Connection
from operator import attrgetter
from typing import Any

from bot.core.neardup import MinHasher, Signature
from bot.core.pipeline import Pipeline
from bot.core.textnorm import TextNormaliser
from bot.models import Post, RawPost, Tag

# A Telegram message holds at most 4,096 characters; a source handing over more (a hostile page, a
# 50 MB "post") would make every later read of it slow. Kept up to this many, with a note saying so.
MAX_POST_CHARS = 100_000


@dataclass(frozen=True, slots=True)
class Prepared:
    """A post as the pipeline made it, with what the store and the near-duplicate index would
    otherwise compute in the main process: its search tokens and its MinHash signature."""

    post: Post
    tokens: str | None = None  # posts_norm tokens of (post.text, post.lang); None: the trigger computes them
    signature: Signature | None = None  # of post.text; meaningful only when `signed`
    signed: bool = False


def capped(raw: RawPost, limit: int = MAX_POST_CHARS) -> RawPost:
    """`raw` with its text cut at `limit` characters and a note saying how long it was."""
    if len(raw.text) <= limit:
        return raw
    note = f"\n\n[truncated by tgmonitor: the post had {len(raw.text):,} characters; the first {limit:,} are kept]"
    return replace(raw, text=raw.text[:limit] + note)


class PostError(RuntimeError):
    """The pipeline failed on one post (a bug: it must take any text): the message names the post.
    Built from a plain message so it pickles back from the worker process."""

    def __init__(self, message: str, message_id: int | None = None) -> None:
        super().__init__(message)
        self.message_id = message_id

    def __reduce__(self) -> tuple[Any, ...]:
        return (PostError, (str(self), self.message_id))

    @classmethod
    def of(cls, raw: RawPost, exc: BaseException) -> PostError:
        detail = " ".join(str(exc).split())[:160] or "no message"
        return cls(f"message {raw.message_id}: processing failed ({exc.__class__.__name__}: {detail})", raw.message_id)


def prepare(
    pipeline: Pipeline, raws: Sequence[RawPost], normaliser: TextNormaliser | None, hasher: MinHasher | None
) -> list[Prepared]:
    """The pipeline, then (when asked) the search tokens and the signature of each post."""
    out = []
    for raw in raws:
        try:
            post = pipeline.process(capped(raw))
        except Exception as exc:
            raise PostError.of(raw, exc) from exc
        tokens = normaliser.index_text(post.text, post.lang) if normaliser is not None else None
        if hasher is None:
            out.append(Prepared(post, tokens))
        else:
            out.append(Prepared(post, tokens, hasher.signature(post.text), True))
    return out


_POST_FIELDS = tuple(f.name for f in fields(Post))
_SIGNATURE_FIELDS = tuple(f.name for f in fields(Signature))
Packed = tuple[tuple[Any, ...], str | None, tuple[Any, ...] | None, bool]
_post_values = attrgetter(*_POST_FIELDS)
_signature_values = attrgetter(*_SIGNATURE_FIELDS)
_TAGS_AT = _POST_FIELDS.index("tags")


def pack(ready: list[Prepared], tags: dict[Tag, Tag]) -> list[Packed]:
    """Prepared posts as plain tuples for the pipe. Unpickling a frozen slots dataclass goes through
    `dataclasses.fields` for every object: a batch's Posts and their ~13 Tags each cost the main
    process ~250 us a post that way, a third of what writing it costs. Tags are interned (`tags`), so
    a batch carries each distinct tag once."""
    out: list[Packed] = []
    for p in ready:
        values = list(_post_values(p.post))  # attrgetter: the fields in C, no dataclasses.replace
        values[_TAGS_AT] = tuple(tags.setdefault(t, t) for t in p.post.tags)
        sig = p.signature
        out.append((tuple(values), p.tokens, _signature_values(sig) if sig else None, p.signed))
    if len(tags) > 100_000:
        tags.clear()
    return out


def unpack(packed: list[Packed]) -> list[Prepared]:
    return [
        Prepared(Post(*values), tokens, Signature(*sig) if sig is not None else None, signed)
        for values, tokens, sig, signed in packed
    ]


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


class WorkerError(RuntimeError):
    """The worker process died or could not send its result back; the batch was not written."""


class PipelineWorker:
    """One forked child preparing batches in order; `submit` a batch, later `take` its result."""

    def __init__(self, pipeline: Pipeline, normaliser: TextNormaliser | None, hasher: MinHasher | None) -> None:
        ctx = multiprocessing.get_context("fork")
        child_inbox, self._outbox = ctx.Pipe(duplex=False)
        self._inbox, child_outbox = ctx.Pipe(duplex=False)
        self._process = ctx.Process(
            target=_serve,
            args=(pipeline, normaliser, hasher, child_inbox, child_outbox, (self._outbox, self._inbox)),
            name="tgmonitor-ingest-worker",
            daemon=True,
        )
        self._process.start()
        child_inbox.close()
        child_outbox.close()

    def submit(self, raws: list[RawPost]) -> None:
        self._outbox.send(raws)

    def ready(self) -> bool:
        """Whether the oldest submitted batch's result (or the worker's end) can be taken without waiting."""
        try:
            return self._inbox.poll()
        except (EOFError, OSError):
            return True  # `take` reports it

    def take(self) -> list[Prepared]:
        try:
            status, payload = self._inbox.recv()
        except (EOFError, OSError) as exc:
            raise WorkerError(f"the ingest worker process stopped (exit code {self._process.exitcode})") from exc
        if status == "error":
            raise payload
        return unpack(payload)

    def close(self) -> None:
        """Stop the worker, whatever it is doing: closing both pipes ends it (end of input, or a broken
        pipe on its next send)."""
        self._outbox.close()
        self._inbox.close()
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()
        self._process.close()


def _serve(
    pipeline: Pipeline,
    normaliser: TextNormaliser | None,
    hasher: MinHasher | None,
    inbox: Connection,
    outbox: Connection,
    parent_ends: tuple[Connection, Connection],
) -> None:
    """The worker's loop. A reader thread takes the next batch off the pipe as soon as it is sent, so
    the parent never blocks sending while this process blocks sending its result back."""
    for end in parent_ends:
        end.close()  # else the parent's death would not end the pipe: this process would hold it open
    waiting: queue.Queue[list[RawPost] | None] = queue.Queue(maxsize=1)

    def read() -> None:
        try:
            while True:
                waiting.put(inbox.recv())
        except (EOFError, OSError):
            waiting.put(None)

    threading.Thread(target=read, daemon=True).start()
    tags: dict[Tag, Tag] = {}
    while (raws := waiting.get()) is not None:
        result: tuple[str, Any]
        try:
            result = ("ok", pack(prepare(pipeline, raws, normaliser, hasher), tags))
        except Exception as exc:  # the main process raises it where the inline path would have
            result = ("error", exc)
        try:
            outbox.send(result)
        except (OSError, ValueError):
            return  # the parent is gone
        except Exception as exc:  # an exception that cannot be pickled
            try:
                outbox.send(("error", WorkerError(f"{type(exc).__name__} in the ingest worker: {exc}")))
            except OSError:
                return
