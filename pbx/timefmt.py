"""Times as a person reads them: in the company's time zone, named ("MSK", "UTC+05").

Stored times are UTC; every text a person reads (bot, alerts, exports) goes through
here, so a call at 11:05 in Moscow reads 11:05 in the history, the card and the alert.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None) -> tzinfo:
    """The IANA zone `name`; UTC when it is empty or unknown."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local(at: datetime, tz: str | None) -> datetime:
    """`at` (aware) in the zone `tz`."""
    return at.astimezone(zone(tz))


def zone_label(when: datetime) -> str:
    """The zone's abbreviation, or its offset for zones without one ("+05" → "UTC+05")."""
    label = when.tzname() or ""
    return f"UTC{label}" if label[:1] in "+-" else label


def stamp(at: datetime, tz: str | None, fmt: str = "%Y-%m-%d %H:%M", named: bool = True) -> str:
    """`at` formatted in the company's zone, followed by the zone's name when `named`."""
    when = local(at, tz)
    text = when.strftime(fmt)
    return f"{text} {zone_label(when)}".strip() if named else text


def zone_name(tz: str | None, at: datetime | None = None) -> str:
    """How the zone `tz` is named at `at` (now by default), for a list's title."""
    return zone_label(local(at or datetime.now(UTC), tz))
