"""Time buckets for charts over any span: days, weeks or months, chosen by how long the span is.

A chart of a year by day is 366 bars (5,900 px); by week 53, by month 12. The unit is picked so a
chart stays within about MAX_BARS bars, and labels carry the year whenever the span crosses one
(a bare "03-14" under a chart of 2019–2026 says nothing).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

Unit = Literal["day", "week", "month"]
MAX_BARS = 92  # a quarter by day; beyond that weeks, beyond ~2 years months


def unit_for(first: date, last: date) -> Unit:
    """Days up to MAX_BARS days, weeks up to MAX_BARS weeks, months beyond."""
    span = (last - first).days + 1
    if span <= MAX_BARS:
        return "day"
    if span <= MAX_BARS * 7:
        return "week"
    return "month"


def bucket_start(day: date, unit: Unit) -> date:
    """The first day of the bucket holding `day` (weeks start on Monday, as ISO weeks do)."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def buckets(first: date, last: date, unit: Unit) -> list[date]:
    """Every bucket from the one holding `first` to the one holding `last`, in order."""
    out: list[date] = []
    current = bucket_start(first, unit)
    while current <= last:
        out.append(current)
        if unit == "day":
            current += timedelta(days=1)
        elif unit == "week":
            current += timedelta(days=7)
        else:
            current = date(current.year + (current.month == 12), current.month % 12 + 1, 1)
    return out


def label(start: date, unit: Unit, with_year: bool) -> str:
    """ "03-14" / "2024-03-14" for a day, "w 03-11" / "2024 w 03-11" for a week, "2024-03" for a month."""
    if unit == "month":
        return start.strftime("%Y-%m")
    text = start.strftime("%Y-%m-%d" if with_year else "%m-%d")
    return f"w {text}" if unit == "week" else text


def labels(starts: list[date], unit: Unit) -> list[str]:
    with_year = bool(starts) and starts[0].year != starts[-1].year
    return [label(start, unit, with_year) for start in starts]
