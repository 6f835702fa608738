"""The states a call goes through and how it ends (shared by calls and scenarios)."""

from __future__ import annotations

from enum import StrEnum


class CallState(StrEnum):
    ROUTING = "routing"
    DIALING = "dialing"  # legs B sent, none ringing yet
    RINGING = "ringing"
    PLAYING = "playing"  # the engine answered: greeting or a message
    MENU = "menu"  # waiting for the caller's digits
    VOICEMAIL = "voicemail"  # greeting, beep, recording
    QUEUED = "queued"  # waiting for an agent, with music
    ANSWERED = "answered"  # bridged to a leg B
    ENDED = "ended"


class Result(StrEnum):
    ANSWERED = "answered"
    MISSED = "missed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
