"""Working hours: is the company open at a given moment (pure, time zone aware).

Weekly hours per weekday, holidays (closed all day), special dates with their own
hours, and a manual override from the bot ("closed now" / "open now") that wins over
everything until it is cleared. A schedule with no hours at all is never open; 24/7
is simply no schedule on the number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from pbx.errors import ValidationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Interval = tuple[time, time]

_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Schedule:
    tz: str
    weekly: dict[str, list[Interval]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    special: dict[date, list[Interval]] = field(default_factory=dict)
    override: str | None = None  # "open" | "closed"

    def is_open(self, at: datetime) -> bool:
        if self.override == "open":
            return True
        if self.override == "closed":
            return False
        local = at.astimezone(ZoneInfo(self.tz))
        day = local.date()
        if day in self.holidays:
            return False
        hours = self.special.get(day)
        if hours is None:
            hours = self.weekly.get(DAYS[local.weekday()], [])
        now = local.time()
        # An end of 24:00 is stored as 23:59:59.999999, so "00:00-24:00" is all day.
        return any(start <= now <= end for start, end in hours)


def parse_ranges(text: str) -> list[Interval]:
    """'09:00-13:00,14:00-18:00' → intervals; 'closed' or '' → none."""
    text = text.strip().lower()
    if text in ("", "closed", "off", "-"):
        return []
    out: list[Interval] = []
    for part in text.split(","):
        m = _RANGE.match(part.strip())
        if not m:
            raise ValidationError(f"bad hours {part!r}", key="hours_syntax", value=part.strip())
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise ValidationError(f"bad hours {part!r}", key="hours_syntax", value=part.strip())
        start = time(h1, m1)
        end = time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2)
        if end <= start:
            raise ValidationError(f"bad hours {part!r}", key="hours_order", value=part.strip())
        out.append((start, end))
    return out


def parse_days(text: str) -> list[str]:
    """'mon-fri' / 'sat' / 'mon,wed' / 'all' → weekday keys."""
    text = text.strip().lower()
    if text in ("all", "daily", "everyday"):
        return list(DAYS)
    out: list[str] = []
    for part in text.split(","):
        a, _, b = part.strip().partition("-")
        if a not in DAYS or (b and b not in DAYS):
            raise ValidationError(f"bad days {part!r}", key="days_syntax", value=part.strip())
        if not b:
            out.append(a)
            continue
        i, j = DAYS.index(a), DAYS.index(b)
        out.extend(DAYS[i : j + 1] if i <= j else DAYS[i:] + DAYS[: j + 1])
    return out


def fmt_ranges(hours: list[Interval]) -> str:
    def f(t: time) -> str:
        return "24:00" if t == time(23, 59, 59, 999999) else t.strftime("%H:%M")

    return ",".join(f"{f(a)}-{f(b)}" for a, b in hours) or "closed"


def to_json(hours: dict[str, list[Interval]]) -> dict[str, list[list[str]]]:
    return {d: [r.split("-") for r in fmt_ranges(h).split(",")] for d, h in hours.items() if h}


def from_json(raw: dict[str, list[list[str]]]) -> dict[str, list[Interval]]:
    return {d: parse_ranges(",".join(f"{a}-{b}" for a, b in v)) for d, v in raw.items()}
