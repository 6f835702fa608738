"""Call recording end to end: pjsua2 phones through Kamailio and the engine. A client's
call to a recorded company number hears the notice first, the conversation lands in one
OGG with both parties' tones, and the owner gets it in Telegram (fake Bot API) as a
voice message. Selective rules record only the chosen employee's calls.

Carrier 127.0.0.4:25296, number 74957770099, fake Bot API 25404."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from pbx.app import Service
from pbx.services import Provisioning
from pbx.services.audio import encode_engine_files
from pbx.services.cabinet import Actor, Cabinet
from tests.e2e.conftest import (
    ENGINE_PORT,
    Office,
    call_record,
    carrier_number,
    eventually,
    make_office,
    office_owner,
)
from tests.support.audio import analyse, generate_tone_wav, has_tone
from tests.support.bot import ffmpeg, running_bot
from tests.support.calls import HIGH, LOW, talk
from tests.support.fake_telegram import TgUser
from tests.support.phone import Phone

pytestmark = pytest.mark.e2e

CARRIER = "127.0.0.4"
CARRIER_PORT = 25296
CLIENT = "79990007788"
NUMBER = "74957770099"
TG_PORT = 25404
NOTICE_HZ = 700
_calls = itertools.count(1)


@dataclass
class Rec:
    office: Office
    owner: Actor
    owner_tg: int
    cabinet: Cabinet
    carrier: Phone


@pytest.fixture(scope="module")
async def rec(pbx: Service, prov: Provisioning) -> AsyncIterator[Rec]:
    assert pbx.pool is not None and pbx.redis is not None
    office = await make_office(prov, "Recorded", ["101", "102"], ["101", "102"])
    owner_tg = 7_900_000 + office.company_id
    cabinet, owner = await office_owner(pbx, office, owner_tg)
    carrier = Phone(port=CARRIER_PORT, name=CLIENT, host=CARRIER)
    await carrier.start()
    await carrier_number(prov, office, CARRIER, CARRIER_PORT, NUMBER)
    yield Rec(office, owner, owner_tg, cabinet, carrier)
    await carrier.close()
    for phone in office.phones.values():
        await phone.close()


@pytest.fixture
async def notice_tone(pbx: Service, tmp_path: Path) -> AsyncIterator[None]:
    """Replace the shipped "this call is recorded" prompt by a 700 Hz tone, so the test
    can tell from the caller's audio that the notice was heard (restored afterwards)."""
    base = pbx.settings.data_dir / "media" / "system" / "en" / "recorded"
    a_law, mu_law = Path(f"{base}.8"), Path(f"{base}.0")
    base.parent.mkdir(parents=True, exist_ok=True)
    wav = generate_tone_wav(tmp_path / "notice.wav", NOTICE_HZ, 2.0)
    await encode_engine_files(wav, a_law, mu_law)
    yield
    for made in (a_law, mu_law):  # the next use converts the real prompt again
        await asyncio.to_thread(made.unlink, missing_ok=True)


async def recording_row(pool: asyncpg.Pool, sip_call_id: str) -> asyncpg.Record:
    async def probe() -> asyncpg.Record | None:
        return await pool.fetchrow("SELECT * FROM recordings WHERE sip_call_id = $1", sip_call_id)

    return await eventually(probe, timeout=20)


async def to_wav(ogg: Path, wav: Path) -> None:
    await ffmpeg("-i", str(ogg), "-ar", "8000", "-ac", "1", str(wav))


async def test_client_hears_notice_both_parties_recorded_owner_listens_in_telegram(
    pbx: Service, rec: Rec, notice_tone: None, tmp_path: Path
) -> None:
    assert pbx.pool is not None
    await rec.cabinet.set_recording(rec.owner, {"mode": "all"})  # notice is on by default
    rec.carrier.mark()
    await rec.carrier.call(f"sip:{NUMBER}@127.0.0.1:{ENGINE_PORT}")
    call_id = str(rec.carrier.current_call_id)
    # The notice is early media: heard, but the carrier sees no answer (nothing billed).
    await rec.carrier.wait_early_media()
    heard = tmp_path / "notice.wav"
    await rec.carrier.record_to(heard, max_ms=1200)
    await rec.carrier.wait_record_stopped()
    assert has_tone(heard, NOTICE_HZ, min_seconds=0.8), analyse(heard, NOTICE_HZ)

    p101 = rec.office.phones["101"]
    await p101.wait_incoming(timeout=15)  # rings only after the notice
    assert not rec.carrier.saw_state("CONFIRMED")
    await p101.answer()
    await rec.carrier.wait_state("CONFIRMED")  # the employee's answer answers the client
    await talk(rec.carrier, p101, tmp_path)

    async def talking_now() -> bool:  # the engine's live board, as /now reads it
        view = await rec.cabinet.live_view(rec.owner)
        return any(c.call_id == call_id and c.state == "answered" for c in view.calls)

    await eventually(talking_now)
    await rec.carrier.hangup()
    await p101.wait_state("DISCONNECTED")

    row = await recording_row(pbx.pool, call_id)

    async def gone_from_board() -> bool:
        return not (await rec.cabinet.live_view(rec.owner)).calls

    await eventually(gone_from_board)
    call = await call_record(pbx.pool, rec.office.company_id, call_id)
    assert call["result"] == "answered" and row["company_id"] == rec.office.company_id
    ogg = pbx.settings.data_dir / row["path"]
    assert ogg.read_bytes()[:4] == b"OggS" and row["bytes"] == ogg.stat().st_size
    assert 1.0 <= row["seconds"] <= 30.0
    mixed = tmp_path / "mixed.wav"
    await to_wav(ogg, mixed)
    # One file, both parties: each tone carries about half of the mixed power.
    assert has_tone(mixed, LOW, min_ratio=0.3, min_seconds=1.0), analyse(mixed, LOW, 0.3)
    assert has_tone(mixed, HIGH, min_ratio=0.3, min_seconds=1.0), analyse(mixed, HIGH, 0.3)
    assert not has_tone(mixed, NOTICE_HZ, min_ratio=0.3), "the notice is not part of the call"

    # The owner lists the recordings in Telegram and gets this one as a voice message.
    async with running_bot(pbx.pool, TG_PORT, pbx.settings) as (tg, _, _):
        owner = TgUser(rec.owner_tg, "Owner")
        await tg.send_text(owner, "/recordings today")
        listing = await tg.next_message(owner.id, timeout=20)
        assert CLIENT in (listing.text or "") and NUMBER in (listing.text or ""), listing.text
        await tg.press(owner, listing, f"rec:{row['id']}")
        voice = await tg.next_message(owner.id, timeout=20)
        assert voice.method == "sendVoice" and voice.file is not None
        assert voice.file.data == ogg.read_bytes()
        assert str(call["id"]) in (voice.text or "")


async def test_selective_rule_records_only_the_chosen_employee(pbx: Service, rec: Rec) -> None:
    assert pbx.pool is not None
    c, owner = rec.cabinet, rec.owner
    await c.set_recording(owner, {"mode": "selective"})
    await c.set_recording_rule(owner, True, "employee", "102", "in")
    p101, p102 = rec.office.phones["101"], rec.office.phones["102"]

    async def internal(caller: Phone, callee: Phone, ext: str) -> str:
        caller.mark()
        callee.mark()
        await caller.call(rec.office.uri(ext))
        await callee.wait_incoming()
        await callee.answer()
        await caller.wait_state("CONFIRMED")
        await caller.wait_media()
        await caller.timer(1000)  # a second of conversation, timed by the phone
        await caller.wait_for("timer", timeout=5)
        await caller.hangup()
        await callee.wait_state("DISCONNECTED")
        return str(caller.current_call_id)

    not_recorded = await internal(p102, p101, "101")  # 102 calls out: rule says "in" only
    recorded = await internal(p101, p102, "102")  # 102 receives: recorded
    assert (await recording_row(pbx.pool, recorded))["seconds"] > 0.5
    await call_record(pbx.pool, rec.office.company_id, not_recorded)
    assert (
        await pbx.pool.fetchval(
            "SELECT count(*) FROM recordings WHERE sip_call_id = $1", not_recorded
        )
        == 0
    )
    await c.set_recording(owner, {"mode": "off"})
