"""What the SIP/media adapter tells call logic, and what call logic asks of it.

These plain objects are the whole boundary between the sippy thread and asyncio, so
call logic can be driven by a fake adapter in unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class CallOffered:
    """A new INVITE arrived at the engine (leg A)."""

    call_id: str
    ruri_user: str
    ruri_host: str
    from_user: str
    from_host: str
    from_name: str | None
    source_ip: str
    source_port: int
    to_user: str = ""
    # Set only when the INVITE came through the SIP edge, which authenticated the device.
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LegRinging:
    call_id: str
    leg_id: str


@dataclass(frozen=True)
class LegAnswered:
    call_id: str
    leg_id: str


@dataclass(frozen=True)
class LegFailed:
    """An outgoing leg ended before answer with a final response (or a local timeout)."""

    call_id: str
    leg_id: str
    code: int
    reason: str


@dataclass(frozen=True)
class CallerGone:
    """Leg A ended: CANCEL before answer or BYE after."""

    call_id: str


@dataclass(frozen=True)
class CalleeGone:
    """An answered leg B sent BYE."""

    call_id: str
    leg_id: str


@dataclass(frozen=True)
class CallerAnswered:
    """Leg A was answered by the engine itself (greeting, IVR, voicemail, queue)."""

    call_id: str


@dataclass(frozen=True)
class DtmfReceived:
    """An RFC 2833 digit from the caller (leg A), reported once per key press."""

    call_id: str
    digit: str


@dataclass(frozen=True)
class RecordingDone:
    """A recording started with `start_recording` is complete as a WAV file."""

    call_id: str
    path: str
    duration: float


@dataclass(frozen=True)
class TrunkRegistration:
    """Outcome of a REGISTER to a carrier (sent again before it expires)."""

    trunk_id: int
    ok: bool
    status: str


@dataclass(frozen=True)
class EngineDied:
    """The SIP thread stopped; every call is lost."""

    reason: str


EngineEvent = (
    CallOffered
    | LegRinging
    | LegAnswered
    | LegFailed
    | CallerGone
    | CalleeGone
    | CallerAnswered
    | DtmfReceived
    | RecordingDone
    | TrunkRegistration
    | EngineDied
)


@dataclass(frozen=True)
class Target:
    """Where to send leg B."""

    user: str  # R-URI user part (extension or dialled number)
    host: str  # R-URI host part (company SIP domain or carrier host)
    port: int
    proxy: tuple[str, int] | None  # send via this hop (the SIP edge) instead of host:port
    caller_id: str
    caller_name: str | None = None
    username: str | None = None  # digest credentials for a carrier that challenges
    password: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


class Signalling(Protocol):
    """Commands call logic gives to the SIP/media adapter. All are fire-and-forget
    from the logic's point of view; outcomes come back as events.

    Several B legs may ring at once (ring groups): each reports its own LegRinging/
    LegAnswered/LegFailed; call logic cancels the others when one answers. The first
    answered leg is bridged to leg A: if A is still ringing it gets the 200 OK; if the
    engine already answered A (greeting, IVR, queue), the relay is re-pointed at leg B
    and any playback stops, with no re-INVITE towards A.
    """

    async def originate(self, call_id: str, leg_id: str, target: Target) -> None: ...

    async def reject(self, call_id: str, code: int, reason: str) -> None: ...

    async def cancel_leg(self, call_id: str, leg_id: str) -> None: ...

    async def hangup(self, call_id: str) -> None: ...

    async def answer(self, call_id: str) -> None:
        """Answer leg A with the relay's SDP; CallerAnswered follows."""
        ...

    async def progress(self, call_id: str) -> None:
        """183 Session Progress to leg A with the relay's SDP: prompts played from now
        on are early media, and A is not answered (nor billed by its carrier). `answer`
        later sends the 200 with the same SDP; so does a leg B answering."""
        ...

    async def play(self, call_id: str, prompt: str, loop: bool = False) -> None:
        """Play `prompt` (a path without extension; `<prompt>.8`/`.0` are the PCMA/PCMU
        payload files) to the caller, replacing what is playing now."""
        ...

    async def stop_play(self, call_id: str) -> None: ...

    async def start_recording(self, call_id: str, path: str, both: bool = False) -> None:
        """Record what the caller says (with `both`: the whole conversation, mixed) into
        `path` (a WAV, 8 kHz mono); RecordingDone follows `stop_recording` or the end
        of the call."""
        ...

    async def stop_recording(self, call_id: str) -> None: ...

    async def dial_out(self, call_id: str, target: Target) -> None:
        """Start a call from the engine itself (click-to-call, a queue's callback): leg A
        is an INVITE to `target` offering the relay's media. Its 200 OK gives
        CallerAnswered, a failure LegFailed(call_id, "a", code, reason), its BYE
        CallerGone; legs B are then originated and bridged as for a call the engine
        answered (no re-INVITE towards leg A)."""
        ...


@dataclass(frozen=True)
class Registration:
    """Register this engine to a carrier as `username@domain`."""

    trunk_id: int
    host: str
    port: int
    username: str
    password: str
    domain: str
    expires: int
