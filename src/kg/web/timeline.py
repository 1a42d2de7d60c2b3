"""The timeline at scale, drawn on the server as SVG: one lane per source (the source text's meetings,
visits to the United States, presidents' trips). A lane with few events in the window shows each
(a mark and its label, linked to its page); a crowded one shows bars per period, each a link that
zooms the timeline into its period: from 150 years in decades or years down to single days, with
no script. Also the chart of events per decade.
"""

from __future__ import annotations

import bisect
import datetime
from dataclasses import dataclass, field

from flask import render_template

from kg.web import events, i18n
from kg.web import front_words as words
from kg.web.events import SOURCES, Event, Filters

WIDTH, LEFT, RIGHT = 1000, 20, 20
DETAIL = 40  # a lane shows each event when it has at most this many in the window, else bars
MAX_BINS = 160
MAX_TICKS = 12
ROW, BARS = 26, 80
# The source text's meetings keep their colours by occasion (kg.web.front.COLOURS); the records:
LANE_COLOURS = {"seed": "#bf3989", "visits": "#0550ae", "trips": "#1a7f37"}
DAY = datetime.timedelta(days=1)


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _count(unit: str, n: int, first: datetime.date, last: datetime.date) -> float:
    """About how many periods ``_steps`` gives (without making them)."""
    if unit == "day":
        return ((last - first).days + 1) / n
    if unit == "month":
        return ((last.year - first.year) * 12 + last.month - first.month + 1) / n
    return (last.year - first.year + 1) / n


def _steps(unit: str, n: int, first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """Period starts of ``n`` ``unit``s (day, month, year) aligned on the calendar, covering first..last."""
    if unit == "day":
        day = first
    elif unit == "month":
        day = _add_months(datetime.date(first.year, first.month, 1), -((first.month - 1) % n))
    else:
        day = datetime.date(first.year - first.year % n, 1, 1)
    out = []
    while day <= last:
        out.append(day)
        if unit == "day":
            day += datetime.timedelta(days=n)
        elif unit == "month":
            day = _add_months(day, n)
        else:
            day = datetime.date(day.year + n, 1, 1)
    return out


# Finest first: the first that fits is used.
BIN_UNITS = [("day", 1), ("day", 7), ("month", 1), ("month", 3), ("year", 1), ("year", 5), ("year", 10)]
TICK_UNITS = [("day", 1), ("day", 2), ("day", 7), ("day", 14), ("month", 1), ("month", 2), ("month", 3)]
TICK_UNITS += [("month", 6), ("year", 1), ("year", 2), ("year", 5), ("year", 10), ("year", 20), ("year", 50)]


def periods(first: datetime.date, last: datetime.date) -> list[tuple[datetime.date, datetime.date]]:
    """Bins (first day, last day) over the window: the finest calendar unit with at most MAX_BINS."""
    unit, n = next((u for u in BIN_UNITS if _count(*u, first, last) <= MAX_BINS - 2), BIN_UNITS[-1])
    starts = _steps(unit, n, first, last)
    ends = [*starts[1:]]
    following = _steps(unit, n, starts[-1], starts[-1])[0]
    if unit == "day":
        following += datetime.timedelta(days=n)
    elif unit == "month":
        following = _add_months(following, n)
    else:
        following = datetime.date(following.year + n, 1, 1)
    ends.append(following)
    return [(s, e - DAY) for s, e in zip(starts, ends, strict=True)]


def ticks(first: datetime.date, last: datetime.date) -> list[tuple[datetime.date, str]]:
    unit, n = next((u for u in TICK_UNITS if _count(*u, first, last) <= MAX_TICKS - 1), TICK_UNITS[-1])
    starts = [d for d in _steps(unit, n, first, last) if d >= first]
    if unit == "year":
        return [(d, str(d.year)) for d in starts]
    if unit == "month":
        return [(d, d.strftime("%Y-%m")) for d in starts]
    return [(d, d.isoformat()) for d in starts]


def window(events: list[Event], filters: Filters) -> tuple[datetime.date, datetime.date] | None:
    """The dates shown: the filters' from/to, else whole years around the events."""
    dated = [e for e in events if e.start]
    if not dated and not (filters.start and filters.end):
        return None
    first = filters.start or datetime.date(min(e.start for e in dated).year, 1, 1)
    last = filters.end or datetime.date(max((e.end or e.start) for e in dated).year, 12, 31)
    return (first, last) if first <= last else (last, first)


@dataclass
class Lane:
    key: str
    title: str
    count: int
    top: float
    height: float
    rows: list[dict] = field(default_factory=list)
    bars: list[dict] = field(default_factory=list)


def navigation(filters: Filters, first: datetime.date, last: datetime.date) -> dict[str, str]:
    """Links that move the window: zoom out (three times as long), earlier, later, all years."""
    span = last - first + DAY
    return {
        "zoom_out": filters.href(start=first - span, end=last + span),
        "earlier": filters.href(start=first - span / 2, end=last - span / 2),
        "later": filters.href(start=first + span / 2, end=last + span / 2),
        "whole": filters.href(start=None, end=None),
    }


def svg(events: list[Event], filters: Filters, lang: str, colours: dict[str, str]) -> tuple[str, int]:
    """The timeline of ``events`` (already filtered) in the filters' window; and how many it shows."""
    shown = window(events, filters)
    if shown is None:
        return "", 0
    first, last = shown
    days = (last - first).days + 1

    def x(day: datetime.date) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * min(max((day - first).days, 0), days) / days, 1)

    lanes: list[Lane] = []
    top, total = 40.0, 0
    for source in SOURCES:
        inside = [e for e in events if e.source == source and e.within(first, last)]
        if not inside:
            continue
        total += len(inside)
        lane = Lane(source, words.t("src_" + source, lang), len(inside), top, 0)
        if len(inside) <= DETAIL:
            for i, e in enumerate(inside):
                end = e.end or e.start
                x1, x2 = x(e.start), x(end + DAY)
                right = x1 > WIDTH * 0.6
                lane.rows.append(
                    {
                        "event": e,
                        "y": top + 22 + i * ROW,
                        "x1": x1,
                        "x2": x2,
                        "span": e.month_only or end > e.start,
                        "colour": colours.get(e.occasion, LANE_COLOURS[source])
                        if source == "seed"
                        else LANE_COLOURS[source],
                        "right": right,
                        "title": e.label + (f" ({i18n.t('month_only', lang)})" if e.month_only else ""),
                    }
                )
            lane.height = 22 + len(inside) * ROW
        else:
            bins = periods(first, last)
            counts = [0] * len(bins)
            starts = [a for a, _ in bins]
            for e in inside:  # each period the event overlaps
                low = max(bisect.bisect_right(starts, e.start) - 1, 0)
                high = bisect.bisect_right(starts, e.end or e.start)
                for i in range(low, high):
                    counts[i] += 1
            most = max(counts)
            base = top + 22 + BARS
            for (a, b), n in zip(bins, counts, strict=True):
                if not n:
                    continue
                h = max(2.0, round(BARS * n / most, 1))
                a_, b_ = max(a, first), min(b, last)
                period = a_.isoformat() if a_ == b_ else f"{a_.isoformat()} – {b_.isoformat()}"
                lane.bars.append(
                    {
                        "href": filters.href(start=a_, end=b_) + "#timeline",
                        "x": x(a_),
                        "w": max(1.0, round(x(b_ + DAY) - x(a_) - 1, 1)),
                        "y": round(base - h, 1),
                        "h": h,
                        "title": f"{period}: {n}",
                    }
                )
            lane.height = 22 + BARS + 6
        lanes.append(lane)
        top += lane.height + 14
    height = top + 10
    body = render_template(
        "lanes.svg",
        lanes=lanes,
        ticks=[(x(d), label) for d, label in ticks(first, last)],
        width=WIDTH,
        height=height,
        colours=LANE_COLOURS,
        seed_colours=colours,
        lang=lang,
        t=words.t,
    )
    return body, total


def decades(events: list[Event], filters: Filters, lang: str) -> str:
    """Stacked bars: events per decade and source, each decade a link to it on the timeline."""
    counts: dict[int, dict[str, int]] = {}
    for e in events:
        if e.start:
            counts.setdefault(e.start.year // 10 * 10, dict.fromkeys(SOURCES, 0))[e.source] += 1
    if not counts:
        return ""
    span = range(min(counts), max(counts) + 10, 10)
    height, top, bottom = 240, 30, 40
    width_each = (WIDTH - 2 * LEFT) / len(span)
    most = max(sum(c.values()) for c in counts.values())
    bars = []
    for i, decade in enumerate(span):
        c = counts.get(decade, dict.fromkeys(SOURCES, 0))
        y = height - bottom
        parts = []
        for source in SOURCES:
            h = round((height - top - bottom) * c[source] / most, 1)
            if h:
                y -= h
                parts.append({"source": source, "y": round(y, 1), "h": h, "n": c[source]})
        bars.append(
            {
                "decade": decade,
                "x": round(LEFT + i * width_each + 2, 1),
                "w": round(width_each - 4, 1),
                "parts": parts,
                "total": sum(c.values()),
                "top": round(y, 1),
                "href": filters.href(start=datetime.date(decade, 1, 1), end=datetime.date(decade + 9, 12, 31))
                + "#timeline",
            }
        )
    return render_template(
        "decades.svg",
        bars=bars,
        width=WIDTH,
        height=height,
        base=height - bottom,
        colours=LANE_COLOURS,
        sources=[s for s in SOURCES if any(c[s] for c in counts.values())],
        lang=lang,
        t=words.t,
    )


def timeline_context(lang: str, args, colours: dict[str, str]) -> dict:
    """What a page needs to show the timeline under the filters of ``args`` (the query string)."""
    filters = events.Filters.from_args(args)
    catalogue = events.load(lang)
    chosen = filters.apply(catalogue)
    drawn, shown = svg(chosen, filters, lang, colours)
    first_last = window(chosen, filters)
    return {
        "filters": filters,
        "svg": drawn,
        "shown": shown,
        "undated": sum(1 for e in chosen if e.start is None),
        "navigation": navigation(filters, *first_last) if first_last else {},
        "window": first_last,
        "chart": decades(chosen, filters, lang),
        "countries": catalogue.group("country"),
        "kinds": events.kinds(catalogue, lang),
        "person_name": (n.label if (n := catalogue.by_slug("person", filters.person)) else filters.person),
    }
