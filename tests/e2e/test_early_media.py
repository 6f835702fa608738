"""What a carrier's caller hears before an employee answers, with real pjsua2 phones that
offer their full default codec lists (issue 13):

- a greeting, the ringing tone and a ringback melody are early media (183 with SDP): the
  carrier never sees a 200 for a call nobody answered;
- once the engine has spoken to the caller in one codec, the employee's phone is offered
  exactly that codec, so both sides hear each other (and no codec noise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pbx.app import Service
from pbx.services import Provisioning
from pbx.services.audio import AudioKind, AudioService
from pbx.services.cabinet import Actor, Cabinet
from tests.e2e.conftest import (
    ENGINE_PORT,
    Office,
    call_record,
    carrier_number,
    make_office,
    office_owner,
)
from tests.support.audio import analyse, generate_tone_wav, has_tone
from tests.support.calls import talk
from tests.support.phone import Phone

pytestmark = pytest.mark.e2e

CARRIER = "127.0.0.21"
CARRIER_PORT = 25590
CLIENT = "79990003344"
NUMBER = "74957770300"
GREETING_HZ = 700
MELODY_HZ = 600
RINGING_HZ = 425  # the shipped ringing tone (pbx/prompts/ringback.wav)


@dataclass
class Desk:
    office: Office
    owner: Actor
    cabinet: Cabinet


@pytest.fixture(scope="module")
async def desk(pbx: Service, prov: Provisioning) -> AsyncIterator[Desk]:
    office = await make_office(prov, "Early", ["101", "102"], ["101", "102"])
    cabinet, owner = await office_owner(pbx, office, 7_600_000 + office.company_id)
    await carrier_number(prov, office, CARRIER, CARRIER_PORT, NUMBER)
    yield Desk(office, owner, cabinet)
    for phone in office.phones.values():
        await phone.close()


@pytest.fixture
async def tone_audio(desk: Desk, tmp_path: Path) -> AsyncIterator[AudioService]:
    """Uploads made by a test are removed after it, so the next one starts clean."""
    assert desk.cabinet.pool is not None
    audio = AudioService(desk.cabinet.pool, desk.cabinet.settings)
    yield audio
    await desk.cabinet.set_scenario(desk.owner, NUMBER, {"greeting": "none"})
    for item in await audio.list(desk.owner):
        await audio.remove(desk.owner, item.id)


async def upload_tone(
    audio: AudioService, desk: Desk, tmp: Path, kind: AudioKind, name: str, hz: int, s: float
) -> None:
    wav = generate_tone_wav(tmp / f"{name}.wav", hz, s)
    await audio.add(desk.owner, kind, name, wav.read_bytes(), wav.name)


async def carrier_phone(codecs: str) -> Phone:
    phone = Phone(port=CARRIER_PORT, name=CLIENT, host=CARRIER, codecs=codecs)
    await phone.start()
    return phone


async def hear(phone: Phone, wav: Path, ms: int = 1200) -> Path:
    await phone.record_to(wav, max_ms=ms)
    await phone.wait_record_stopped()
    return wav


# The codec the engine answers with is the first G.711 the caller offers (pjsua's
# default list is speex/16000, speex/8000, speex/32000, iLBC, GSM, PCMU, PCMA, G722).
@pytest.mark.parametrize(
    ("codecs", "agreed"),
    [("default", "PCMU"), ("PCMA,PCMU", "PCMA"), ("G722,PCMA,PCMU", "PCMA")],
)
async def test_after_the_greeting_the_employee_talks_in_the_callers_codec(
    pbx: Service,
    desk: Desk,
    tone_audio: AudioService,
    tmp_path: Path,
    codecs: str,
    agreed: str,
) -> None:
    c, owner = desk.cabinet, desk.owner
    await upload_tone(tone_audio, desk, tmp_path, AudioKind.GREETING, "hello", GREETING_HZ, 2.0)
    await c.set_scenario(
        owner, NUMBER, {"open": "ext:101", "greeting": "hello", "schedule": "none"}
    )
    p101 = desk.office.phones["101"]
    p101.mark()
    carrier = await carrier_phone(codecs)
    try:
        await carrier.call(f"sip:{NUMBER}@127.0.0.1:{ENGINE_PORT}")
        call_id = str(carrier.current_call_id)
        await carrier.wait_early_media()
        greeting = await hear(carrier, tmp_path / "greeting.wav")
        assert has_tone(greeting, GREETING_HZ), analyse(greeting, GREETING_HZ)
        await p101.wait_incoming(timeout=15)
        assert not carrier.saw_state("CONFIRMED"), "answered before the employee did"
        await p101.answer()
        await carrier.wait_state("CONFIRMED")
        assert (carrier.codec(), p101.codec()) == (agreed, agreed)
        await talk(carrier, p101, tmp_path)
        await carrier.hangup()
        await p101.wait_state("DISCONNECTED")
    finally:
        await carrier.close()
    assert pbx.pool is not None
    rec = await call_record(pbx.pool, desk.office.company_id, call_id)
    assert rec["result"] == "answered" and rec["answered_at"] is not None


async def test_a_call_nobody_answers_rings_audibly_and_is_never_answered(
    pbx: Service, desk: Desk, tone_audio: AudioService, tmp_path: Path
) -> None:
    c, owner = desk.cabinet, desk.owner
    await upload_tone(tone_audio, desk, tmp_path, AudioKind.GREETING, "hello", GREETING_HZ, 1.0)
    await c.set_scenario(
        owner, NUMBER, {"open": "ext:102", "greeting": "hello", "schedule": "none"}
    )
    p102 = desk.office.phones["102"]
    p102.mark()
    carrier = await carrier_phone("default")
    try:
        await carrier.call(f"sip:{NUMBER}@127.0.0.1:{ENGINE_PORT}")
        call_id = str(carrier.current_call_id)
        await carrier.wait_early_media()
        await p102.wait_incoming(timeout=15)  # rings, nobody picks up
        # The caller hears a ringing tone (the 183 silenced its own), 1 s on, 4 s off.
        ringing = await hear(carrier, tmp_path / "ringing.wav", ms=2500)
        assert has_tone(ringing, RINGING_HZ, min_seconds=0.6), analyse(ringing, RINGING_HZ)
        ended = await carrier.wait_state("DISCONNECTED", timeout=15)
        await p102.wait_state("DISCONNECTED")
    finally:
        await carrier.close()
    assert ended["last_status_code"] == 480
    assert not carrier.saw_state("CONFIRMED"), "the carrier saw a 200 for a missed call"
    assert pbx.pool is not None
    rec = await call_record(pbx.pool, desk.office.company_id, call_id)
    assert rec["result"] == "missed" and rec["answered_at"] is None


async def test_the_ringback_melody_plays_while_the_phone_rings(
    pbx: Service, desk: Desk, tone_audio: AudioService, tmp_path: Path
) -> None:
    c, owner = desk.cabinet, desk.owner
    await upload_tone(tone_audio, desk, tmp_path, AudioKind.RINGBACK, "tune", MELODY_HZ, 6.0)
    await c.set_scenario(owner, NUMBER, {"open": "ext:101", "greeting": "none", "schedule": "none"})
    p101 = desk.office.phones["101"]
    p101.mark()
    carrier = await carrier_phone("default")
    try:
        await carrier.call(f"sip:{NUMBER}@127.0.0.1:{ENGINE_PORT}")
        await carrier.wait_early_media()
        await p101.wait_incoming()
        melody = await hear(carrier, tmp_path / "melody.wav")
        assert has_tone(melody, MELODY_HZ), analyse(melody, MELODY_HZ)
        assert not carrier.saw_state("CONFIRMED")
        await p101.answer()
        await carrier.wait_state("CONFIRMED")
        await talk(carrier, p101, tmp_path)  # the melody stopped: only the employee
        await carrier.hangup()
        await p101.wait_state("DISCONNECTED")
    finally:
        await carrier.close()
