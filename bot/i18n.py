"""Russian and English messages from Fluent catalogues (bot/locales/<lang>/*.ftl)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fluent.runtime import FluentLocalization, FluentResourceLoader

from pbx.errors import PbxError
from pbx.timefmt import stamp, zone_name

LOCALES = Path(__file__).with_name("locales")
LANGUAGES = ("en", "ru")


@cache
def _localization(lang: str) -> FluentLocalization:
    chain = [lang, "en"] if lang != "en" else ["en"]
    loader = FluentResourceLoader(str(LOCALES / "{locale}"))
    # Every catalogue of the locale folders (bot.ftl, audio.ftl, ...), one per area.
    resources = sorted({p.name for p in LOCALES.glob("*/*.ftl")})
    return FluentLocalization(chain, resources, loader)


def t(lang: str, key: str, **args: Any) -> str:
    """The message `key` in `lang` (English if missing there)."""
    lang = lang if lang in LANGUAGES else "en"
    return str(_localization(lang).format_value(key, args))


def error_text(lang: str, exc: PbxError) -> str:
    """A service error in the user's language; the English text if it has no key."""
    if exc.key:
        params = dict(exc.params)
        # A plan limit by its id ("ring_groups") reads in words ("ring groups", "группы").
        kind = params.get("kind")
        if isinstance(kind, str) and (name := t(lang, f"limit-{kind}")) != f"limit-{kind}":
            params["kind"] = name
        text = t(lang, f"err-{exc.key}", **params)
        if text != f"err-{exc.key}":
            return text
    return t(lang, "err-generic", detail=str(exc))


class Translator:
    """Bound to one user's language and their company's time zone; handlers get it as
    `tr`. Every time a person reads goes through :meth:`when`."""

    def __init__(self, lang: str, tz: str = "UTC") -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self.tz = tz

    def __call__(self, key: str, **args: Any) -> str:
        return t(self.lang, key, **args)

    def when(self, at: datetime, fmt: str = "%Y-%m-%d %H:%M", named: bool = True) -> str:
        """`at` in the company's zone, named ("MSK") unless a list's title names it."""
        return stamp(at, self.tz, fmt, named)

    def zone(self) -> str:
        """The company's zone as a list's title names it."""
        return zone_name(self.tz)

    def error(self, exc: PbxError) -> str:
        return error_text(self.lang, exc)


TELEGRAM_LIMIT = 4000  # Telegram refuses messages over 4096 characters


def chunks(lines: list[str], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Long lists as several messages, split between lines."""
    out: list[str] = []
    current = ""
    for line in lines:
        line = line[:limit]
        if current and len(current) + 1 + len(line) > limit:
            out.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return out
