"""What an alert says, per kind and language: a registry of renderers.

A renderer turns a payload into the texts every channel needs (Telegram text or caption
with buttons, e-mail subject and body, a short SMS). Add a kind with ``@register("kind")``.
Texts come from this package's Fluent catalogues (notifications/locales/<lang>/).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fluent.runtime import FluentLocalization, FluentResourceLoader

from pbx.timefmt import local, zone_label

LOCALES = Path(__file__).with_name("locales")
LANGUAGES = ("en", "ru")


class RenderError(ValueError):
    """The payload cannot be turned into a message (a producer bug): never retried."""


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str


@dataclass(frozen=True)
class Rendered:
    subject: str  # e-mail subject
    text: str  # Telegram message or caption, e-mail body (plain text)
    sms: str  # one short line
    buttons: tuple[Button, ...] = ()


Renderer = Callable[[Mapping[str, Any]], Rendered]
KINDS: dict[str, Renderer] = {}


def register(kind: str) -> Callable[[Renderer], Renderer]:
    def add(fn: Renderer) -> Renderer:
        KINDS[kind] = fn
        return fn

    return add


def render(kind: str, payload: Mapping[str, Any]) -> Rendered:
    renderer = KINDS.get(kind)
    if renderer is None:
        raise RenderError(f"unknown notification kind {kind!r}")
    try:
        return renderer(payload)
    except RenderError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise RenderError(f"bad {kind} payload: {exc!r}") from exc


# ---------------------------------------------------------------- language and formats


@cache
def _localization(lang: str) -> FluentLocalization:
    chain = [lang, "en"] if lang != "en" else ["en"]
    loader = FluentResourceLoader(str(LOCALES / "{locale}"))
    return FluentLocalization(chain, ["notifications.ftl"], loader)


def lang_of(payload: Mapping[str, Any]) -> str:
    lang = str(payload.get("lang") or "en")
    return lang if lang in LANGUAGES else "en"


def t(lang: str, key: str, **args: Any) -> str:
    # Arguments as text: Fluent would group digits of numbers ("1,234").
    return str(_localization(lang).format_value(key, {k: str(v) for k, v in args.items()}))


def local_time(payload: Mapping[str, Any]) -> datetime:
    """The event time in the company's zone (UTC if the zone is unknown)."""
    at = datetime.fromisoformat(str(payload["at"]))
    if at.tzinfo is None:
        raise RenderError(f"time {payload['at']!r} has no time zone")
    return local(at, str(payload.get("company_tz") or "UTC"))


def format_time(when: datetime, lang: str) -> str:
    fmt = "%d.%m.%Y %H:%M" if lang == "ru" else "%Y-%m-%d %H:%M"
    return f"{when.strftime(fmt)} {zone_label(when)}".strip()


def format_duration(seconds: Any) -> str:
    total = max(0, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _caller(payload: Mapping[str, Any], lang: str) -> str:
    caller = str(payload.get("caller") or "").strip()
    return caller or t(lang, "caller-unknown")


def _call_back(payload: Mapping[str, Any], lang: str) -> tuple[Button, ...]:
    call_id = payload.get("call_id")
    caller = str(payload.get("caller") or "").strip()
    if call_id is None or not caller:  # nobody to call back
        return ()
    if not payload.get("call_back", True):  # the recipient has no phone the PBX can ring
        return ()
    return (Button(t(lang, "btn-call-back"), f"cb:call:{int(call_id)}"),)


def _details(payload: Mapping[str, Any], lang: str, when: datetime) -> list[str]:
    lines = []
    if payload.get("number"):
        lines.append(t(lang, "line-number", number=payload["number"]))
    if payload.get("target"):
        lines.append(t(lang, "line-target", target=payload["target"]))
    lines.append(t(lang, "line-time", time=format_time(when, lang)))
    return lines


# ---------------------------------------------------------------- kinds


@register("missed_call")
def missed_call(payload: Mapping[str, Any]) -> Rendered:
    lang = lang_of(payload)
    caller = _caller(payload, lang)
    when = local_time(payload)
    text = "\n".join([t(lang, "missed-title", caller=caller), *_details(payload, lang, when)])
    return Rendered(
        subject=t(lang, "missed-subject", caller=caller),
        text=text,
        sms=t(lang, "missed-sms", caller=caller, hhmm=when.strftime("%H:%M")),
        buttons=_call_back(payload, lang),
    )


@register("voicemail")
def voicemail(payload: Mapping[str, Any]) -> Rendered:
    lang = lang_of(payload)
    caller = _caller(payload, lang)
    when = local_time(payload)
    duration = format_duration(payload.get("duration") or 0)
    lines = [t(lang, "voicemail-title", caller=caller), *_details(payload, lang, when)]
    lines.append(t(lang, "line-duration", duration=duration))
    if payload.get("box"):
        lines.append(t(lang, "line-box", box=payload["box"]))
    return Rendered(
        subject=t(lang, "voicemail-subject", caller=caller, duration=duration),
        text="\n".join(lines),
        sms=t(lang, "voicemail-sms", caller=caller, hhmm=when.strftime("%H:%M"), duration=duration),
        buttons=_call_back(payload, lang),
    )


@register("statement")
def statement(payload: Mapping[str, Any]) -> Rendered:
    """A month closed: its total, and one tap to the statement as a file."""
    lang = lang_of(payload)
    month, cur = str(payload["month"]), str(payload["currency"])
    money = {k: payload[k] for k in ("net", "vat", "gross")}
    return Rendered(
        subject=t(lang, "statement-subject", month=month, gross=money["gross"], cur=cur),
        text=t(lang, "statement-text", month=month, cur=cur, **money),
        sms=t(lang, "statement-subject", month=month, gross=money["gross"], cur=cur),
        buttons=(
            Button(t(lang, "statement-btn-pdf"), f"stmt:{month}:pdf"),
            Button(t(lang, "statement-btn-csv"), f"stmt:{month}:csv"),
        ),
    )
