"""Digest windows: which stretch of time a subscription's digest covers, and which are due.

A subscription fires at a local wall time (HH:MM) in an IANA zone. A window ends at one firing and
starts at the previous one, so it is 24 hours except across a DST change (23 h in spring, 25 h in
autumn). Windows are half-open [start, end): a post dated exactly at a firing belongs to the next
digest, never to two.

Times that do not exist or occur twice on a DST night:
* a time in the spring-forward gap (03:30 in Europe/Sofia on the last Sunday of March) is the
  wall time read with the old offset, i.e. one hour later on the new clock (04:30 EEST), as
  APScheduler's CronTrigger and most crons do;
* a time that occurs twice (03:30 on the last Sunday of October) is its first occurrence.
The digest job fires at exactly these instants (`next_occurrence`, used by the job's trigger), so
the window computed when it fires is always due. APScheduler 3.11's CronTrigger is not used for
that: it fires the repeated 03:30 twice and skips the 00:xx firing of the day after the spring
change (agronholm/apscheduler#606; tests/test_windows.py shows both).

Pure: no clock, no I/O; `now` is always an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

# A digest per missed day, but not an unbounded flood after a long outage.
MAX_CATCH_UP = 7


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive: the scheduled firing that closes the window

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def occurrence(day: date, at: time, tz: tzinfo) -> datetime:
    """The instant (UTC) of local `at` on local `day`, DST gaps and folds resolved like CronTrigger."""
    local = datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=tz)  # fold=0
    return local.astimezone(UTC)


def latest_occurrence(at: time, tz: tzinfo, now: datetime) -> datetime:
    """The last scheduled firing at or before `now` (UTC)."""
    today = now.astimezone(tz).date()
    # A gap resolution can move a firing across midnight in zones that switch at 00:00, so look
    # one day either side rather than assume the firing of local day D falls on local day D.
    candidates = (occurrence(today + timedelta(days=d), at, tz) for d in (1, 0, -1, -2))
    return max(c for c in candidates if c <= now)


def next_occurrence(at: time, tz: tzinfo, after: datetime, *, inclusive: bool = False) -> datetime:
    """The first firing after `after` (or at it, when `inclusive`)."""
    day = after.astimezone(tz).date() - timedelta(days=1)
    while True:
        fired = occurrence(day, at, tz)
        if fired > after or (inclusive and fired == after):
            return fired
        day += timedelta(days=1)


def window_ending(end: datetime, at: time, tz: tzinfo) -> Window:
    """The window closed by the firing `end` (which must be one of the subscription's firings)."""
    end_day = _firing_day(end, at, tz)
    return Window(occurrence(end_day - timedelta(days=1), at, tz), end)


def current_window(at: time, tz: tzinfo, now: datetime) -> Window:
    """The most recent complete window at `now`."""
    return window_ending(latest_occurrence(at, tz, now), at, tz)


def due_windows(at: time, tz: tzinfo, *, now: datetime, after: datetime, limit: int = MAX_CATCH_UP) -> list[Window]:
    """Windows whose end is in (after, now], oldest first; at most `limit`, the newest ones.

    `after` is the end of the last window already handled (or when the subscription began), so a
    restart after three days down yields three windows, one per missed day, in order.
    """
    if limit <= 0:
        return []
    found: list[Window] = []
    end = latest_occurrence(at, tz, now)
    while end > after and len(found) < limit:
        window = window_ending(end, at, tz)
        found.append(window)
        end = window.start
    found.reverse()
    return found


def missed_before(windows: list[Window], after: datetime) -> bool:
    """Whether older due windows were left out of `windows` by the catch-up limit."""
    return bool(windows) and windows[0].start > after


def _firing_day(end: datetime, at: time, tz: tzinfo) -> date:
    local_day = end.astimezone(tz).date()
    for delta in (0, -1, 1):
        day = local_day + timedelta(days=delta)
        if occurrence(day, at, tz) == end:
            return day
    raise ValueError(f"{end.isoformat()} is not a firing of {at:%H:%M} in {tz}")
