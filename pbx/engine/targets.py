"""Scenario steps as short strings: where a call goes next.

Every place a scenario branches (a number in and out of hours, a menu digit, a
group's fallback, a menu's timeout) holds one target string, parsed here and only
here, so the bot, the services and the engine agree on what "group:sales" means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pbx.errors import ValidationError


class Kind(StrEnum):
    EXT = "ext"  # ring one employee
    GROUP = "group"  # a ring group with its algorithm
    MENU = "menu"  # an IVR menu
    QUEUE = "queue"  # wait for the next free agent, with music and position
    VOICEMAIL = "voicemail"  # a box: an extension, a group name or "common"
    FORWARD = "forward"  # an external number through the company trunk
    MESSAGE = "message"  # play an audio file, then hang up
    HANGUP = "hangup"


NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
EXT = re.compile(r"^[1-9][0-9]{1,4}$")
PHONE = re.compile(r"^\+?[0-9]{5,15}$")
AUDIO = re.compile(r"^[\w-]{1,32}$")


@dataclass(frozen=True)
class Target:
    kind: Kind
    arg: str = ""

    def __str__(self) -> str:
        return self.kind.value if self.kind is Kind.HANGUP else f"{self.kind.value}:{self.arg}"


HANGUP = Target(Kind.HANGUP)


def parse(text: str) -> Target:
    """A target string, or a ValidationError that says what is accepted."""
    raw = text.strip()
    if raw.lower() == "hangup":
        return HANGUP
    kind_s, sep, arg = raw.partition(":")
    try:
        kind = Kind(kind_s.lower())
    except ValueError:
        kind = None
    if kind is None or not sep or kind is Kind.HANGUP:
        raise ValidationError(f"unknown target {raw!r}", key="target_syntax", value=raw)
    arg = arg.strip()
    ok = {
        Kind.EXT: EXT.match(arg),
        Kind.GROUP: NAME.match(arg),
        Kind.MENU: NAME.match(arg),
        Kind.QUEUE: NAME.match(arg),
        Kind.VOICEMAIL: EXT.match(arg) or NAME.match(arg),
        Kind.FORWARD: PHONE.match(arg),
        Kind.MESSAGE: AUDIO.match(arg),
    }[kind]
    if not ok:
        raise ValidationError(f"bad target {raw!r}", key="target_syntax", value=raw)
    if kind is Kind.FORWARD:
        arg = re.sub(r"[^0-9]", "", arg)
    return Target(kind, arg)
