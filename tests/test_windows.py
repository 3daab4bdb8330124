from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.core.windows import (
    current_window,
    due_windows,
    latest_occurrence,
    missed_before,
    occurrence,
    window_ending,
)
from bot.scheduler import DailyTrigger

SOFIA = ZoneInfo("Europe/Sofia")
EIGHT = time(8, 0)
# 2026 in Europe/Sofia: 29 March 03:00 EET -> 04:00 EEST; 25 October 04:00 EEST -> 03:00 EET.
SPRING = date(2026, 3, 29)
AUTUMN = date(2026, 10, 25)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_ordinary_day_is_24_hours_ending_at_the_latest_firing() -> None:
    window = current_window(EIGHT, SOFIA, now=utc(2026, 11, 20, 9, 0))
    assert window.end == utc(2026, 11, 20, 6, 0)  # 08:00 EET
    assert window.start == utc(2026, 11, 19, 6, 0)
    assert window.duration == timedelta(hours=24)


def test_a_firing_exactly_now_closes_the_window_one_second_earlier_does_not() -> None:
    at = utc(2026, 11, 20, 6, 0)
    assert current_window(EIGHT, SOFIA, now=at).end == at
    assert current_window(EIGHT, SOFIA, now=at - timedelta(seconds=1)).end == at - timedelta(days=1)


def test_spring_forward_window_is_23_hours_and_fall_back_25() -> None:
    spring = current_window(EIGHT, SOFIA, now=utc(2026, 3, 29, 12, 0))
    assert (spring.start, spring.end) == (utc(2026, 3, 28, 6, 0), utc(2026, 3, 29, 5, 0))
    assert spring.duration == timedelta(hours=23)
    autumn = current_window(EIGHT, SOFIA, now=utc(2026, 10, 25, 12, 0))
    assert (autumn.start, autumn.end) == (utc(2026, 10, 24, 5, 0), utc(2026, 10, 25, 6, 0))
    assert autumn.duration == timedelta(hours=25)
    # the days after are ordinary again
    assert current_window(EIGHT, SOFIA, now=utc(2026, 3, 30, 12, 0)).duration == timedelta(hours=24)
    assert current_window(EIGHT, SOFIA, now=utc(2026, 10, 26, 12, 0)).duration == timedelta(hours=24)


def test_a_time_in_the_spring_gap_fires_an_hour_later_on_the_new_clock() -> None:
    at = time(3, 30)  # does not exist on 29 March 2026 in Sofia
    fired = occurrence(SPRING, at, SOFIA)
    assert fired == utc(2026, 3, 29, 1, 30)
    assert fired.astimezone(SOFIA).strftime("%H:%M %Z") == "04:30 EEST"
    window = window_ending(fired, at, SOFIA)
    assert window.start == utc(2026, 3, 28, 1, 30) and window.duration == timedelta(hours=24)
    after = window_ending(occurrence(SPRING + timedelta(days=1), at, SOFIA), at, SOFIA)
    assert after.start == fired and after.duration == timedelta(hours=23)


def test_a_time_that_occurs_twice_is_its_first_occurrence_and_the_second_sends_nothing() -> None:
    at = time(3, 30)  # 03:30 EEST, then an hour later 03:30 EET, on 25 October 2026
    first = occurrence(AUTUMN, at, SOFIA)
    assert first == utc(2026, 10, 25, 0, 30)
    window = window_ending(first, at, SOFIA)
    assert window.duration == timedelta(hours=24)
    # APScheduler fires again at the second 03:30 (01:30 UTC): nothing new is due then
    second = utc(2026, 10, 25, 1, 30)
    assert due_windows(at, SOFIA, now=second, after=first) == []
    nxt = window_ending(occurrence(AUTUMN + timedelta(days=1), at, SOFIA), at, SOFIA)
    assert nxt.start == first and nxt.duration == timedelta(hours=25)


ZONES = [
    ("Europe/Sofia", utc(2026, 3, 26)),
    ("Europe/Sofia", utc(2026, 10, 22)),
    ("America/Havana", utc(2026, 3, 5)),  # DST starts at midnight: 00:30 does not exist
    ("America/Havana", utc(2026, 10, 29)),
    ("UTC", utc(2026, 3, 26)),
]
TIMES = ["00:00", "00:30", "02:59", "03:00", "03:30", "03:59", "04:00", "08:00", "23:59"]


def _fires(trigger: object, start: datetime, count: int = 14) -> list[datetime]:
    fires: list[datetime] = []
    previous = None
    now = start
    while len(fires) < count:
        fire = trigger.get_next_fire_time(previous, now)  # type: ignore[attr-defined]
        assert fire is not None
        fires.append(fire.astimezone(UTC))
        previous = now = fire
    return fires


@pytest.mark.parametrize(("zone", "start"), ZONES)
@pytest.mark.parametrize("hhmm", TIMES)
def test_daily_trigger_fires_once_a_day_exactly_at_window_ends(zone: str, start: datetime, hhmm: str) -> None:
    tz = ZoneInfo(zone)
    at = time.fromisoformat(hhmm)
    fires = _fires(DailyTrigger(at, tz), start)
    first_day = fires[0].astimezone(tz).date()
    assert fires == [occurrence(first_day + timedelta(days=i), at, tz) for i in range(14)]
    for previous, fire in itertools.pairwise(fires):
        assert current_window(at, tz, now=fire) == window_ending(fire, at, tz)
        assert window_ending(fire, at, tz).start == previous
        assert timedelta(hours=22) <= fire - previous <= timedelta(hours=26)


@pytest.mark.parametrize(("zone", "start"), ZONES)
@pytest.mark.parametrize("hhmm", TIMES)
def test_every_crontrigger_firing_is_harmless(zone: str, start: datetime, hhmm: str) -> None:
    """Were the job on CronTrigger: each firing closes a window or finds nothing due."""
    tz = ZoneInfo(zone)
    at = time.fromisoformat(hhmm)
    fires = _fires(CronTrigger(hour=at.hour, minute=at.minute, timezone=tz), start)
    for fire in fires:
        latest = latest_occurrence(at, tz, fire)
        assert fire - latest < timedelta(hours=2)
        assert due_windows(at, tz, now=fire, after=latest) == []


def test_crontrigger_dst_slips_that_the_daily_trigger_avoids() -> None:
    """Why DailyTrigger exists (APScheduler 3.11, agronholm/apscheduler#606)."""
    midnight = time(0, 0)
    after_spring = utc(2026, 3, 29, 21, 0)  # 30 March 00:00 EEST
    cron = _fires(CronTrigger(hour=0, minute=0, timezone=SOFIA), utc(2026, 3, 27), 5)
    ours = _fires(DailyTrigger(midnight, SOFIA), utc(2026, 3, 27), 5)
    assert after_spring in ours
    assert after_spring not in cron  # CronTrigger jumps from 29 to 31 March
    fold = time(3, 30)
    cron = _fires(CronTrigger(hour=3, minute=30, timezone=SOFIA), utc(2026, 10, 24, 12), 3)
    ours = _fires(DailyTrigger(fold, SOFIA), utc(2026, 10, 24, 12), 3)
    assert cron[:2] == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)]  # the repeated 03:30, twice
    assert ours[:2] == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_due_windows_one_per_missed_day_in_order() -> None:
    last_end = utc(2026, 11, 17, 6, 0)  # the 17 Nov 08:00 digest was the last one sent
    now = utc(2026, 11, 20, 9, 0)
    windows = due_windows(EIGHT, SOFIA, now=now, after=last_end)
    assert [w.end for w in windows] == [utc(2026, 11, d, 6, 0) for d in (18, 19, 20)]
    assert windows[0].start == last_end
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))
    assert not missed_before(windows, last_end)
    assert due_windows(EIGHT, SOFIA, now=now, after=windows[-1].end) == []


def test_due_windows_capped_to_the_newest_after_a_long_outage() -> None:
    after = utc(2026, 10, 1, 5, 0)
    now = utc(2026, 11, 20, 9, 0)
    windows = due_windows(EIGHT, SOFIA, now=now, after=after, limit=7)
    assert len(windows) == 7
    assert windows[-1].end == utc(2026, 11, 20, 6, 0) and windows[0].end == utc(2026, 11, 14, 6, 0)
    assert missed_before(windows, after)


def test_due_windows_across_the_autumn_change_keep_local_time() -> None:
    windows = due_windows(EIGHT, SOFIA, now=utc(2026, 10, 27, 7, 0), after=utc(2026, 10, 23, 5, 0))
    assert [w.end.astimezone(SOFIA).strftime("%d %H:%M") for w in windows] == [
        "24 08:00",
        "25 08:00",
        "26 08:00",
        "27 08:00",
    ]
    assert [w.duration.total_seconds() / 3600 for w in windows] == [24, 25, 24, 24]


def test_window_ending_rejects_an_instant_that_is_not_a_firing() -> None:
    with pytest.raises(ValueError, match="not a firing"):
        window_ending(utc(2026, 11, 20, 6, 1), EIGHT, SOFIA)
