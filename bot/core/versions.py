"""What counts as a new version of a post, and when an edit happened. Pure.

The store asks `compare` inside its upsert (the only place that sees the stored and the incoming
post side by side), so every source gets the same answer:

* "same": the wording did not change. Spacing is not wording: the web preview collapses spaces and
  trims lines that Telegram keeps, so the same post read by two sources must not become two versions;
  nor are a re-import after the keyword or boilerplate rules changed (new tags, new clean text) or an
  edit Telegram reports without touching the text (a replaced photo, formatting).
* "stale": the incoming post is an *older* state than the stored one (an export made before an edit
  the listener already saw): it must not overwrite the newer text, nor pose as an edit.
* "new": anything else that changed the wording; the stored text becomes an earlier version.

Edit dates: Telethon and Desktop exports say when a post was edited; the web preview only says *that*
it was, and its parser sets the post's own date as a lower bound. Such a date cannot be ordered
against a real one, and the moment the archive noticed the change is then the best "when".
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Literal

from bot.models import PostChange

Decision = Literal["same", "new", "stale"]


def wording(text: str) -> str:
    """The text with its spacing normalised: what two readings of one version share."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def known_edit(edit_date: datetime | None, date: datetime) -> bool:
    """A real edit time, not the web preview's "edited at some point" lower bound (the post's date)."""
    return edit_date is not None and edit_date > date


def compare(
    old_raw: str, old_edit: datetime | None, new_raw: str, new_edit: datetime | None, date: datetime
) -> Decision:
    if wording(old_raw) == wording(new_raw):
        return "same"
    if old_edit is not None and (new_edit is None or (known_edit(new_edit, date) and new_edit < old_edit)):
        return "stale"
    return "new"


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two edit dates: an edit date never moves backwards when sources disagree."""
    if a is None or b is None:
        return a or b
    return max(a, b)


def edit_time(change: PostChange, post_date: datetime) -> datetime:
    """When a change happened: Telegram's edit date when it is a real one, else when it was noticed."""
    if not change.deleted and change.edit_date is not None and known_edit(change.edit_date, post_date):
        return change.edit_date
    return change.noticed_at
