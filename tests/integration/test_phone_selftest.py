"""The test phone works on its own: two agents call each other directly, no PBX involved."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.audio import analyse, has_tone
from tests.support.phone import Phone

pytestmark = pytest.mark.timeout(30)

RECORD_MS = 2000


# The codecs a call through the PBX carries (a leg B is offered the caller's G.711 or
# the one codec agreed with it; G.722 only from a caller offering no G.711). Not speex:
# pjsua's speex/16000 between two agents turns a loud tone into noise after ~0.4 s once
# both ends record, and the PBX never lets two phones agree on it.
@pytest.mark.parametrize("codec", ["PCMU", "PCMA", "G722"])
async def test_call_carries_audio_both_ways_and_dtmf(tmp_path: Path, codec: str) -> None:
    wav_a = tmp_path / "a_hears.wav"
    wav_b = tmp_path / "b_hears.wav"
    async with (
        Phone(port=24000, rtp_port=24200, name="a", codecs=codec) as a,
        Phone(port=24001, rtp_port=24300, name="b", codecs=codec) as b,
    ):
        await a.play_tone(440)
        await b.play_tone(1000)
        await a.call(b.uri)
        incoming = await b.wait_incoming()
        assert incoming["request_uri"] == b.uri
        assert incoming["from"].startswith("sip:a@127.0.0.1")  # pjsip drops the port here
        await a.wait_state("EARLY")  # B's automatic 180
        await b.answer()
        await a.wait_state("CONFIRMED")
        await b.wait_state("CONFIRMED")
        await a.wait_media()
        await b.wait_media()
        assert (a.codec(), b.codec()) == (codec, codec)

        # The agents stop the recorders themselves after RECORD_MS of call audio.
        await a.record_to(wav_a, max_ms=RECORD_MS)
        await b.record_to(wav_b, max_ms=RECORD_MS)
        await a.wait_record_stopped(timeout=RECORD_MS / 1000 + 3)
        await b.wait_record_stopped(timeout=RECORD_MS / 1000 + 3)

        # RFC 2833 digits (sent after recording: they replace the tone while they play)
        await a.send_dtmf("12#")
        assert await b.wait_dtmf(3) == "12#"

        await a.hangup()
        await a.wait_state("DISCONNECTED")
        bye = await b.wait_state("DISCONNECTED")
        assert bye["last_status_code"] == 200
        assert not a.errors and not b.errors

    report_a = analyse(wav_a, 1000)
    assert report_a.seconds >= 1.5, report_a
    assert has_tone(wav_a, 1000, min_seconds=1.0), report_a
    assert not has_tone(wav_a, 440), analyse(wav_a, 440)
    report_b = analyse(wav_b, 440)
    assert has_tone(wav_b, 440, min_seconds=1.0), report_b
    assert not has_tone(wav_b, 1000), analyse(wav_b, 1000)


async def test_busy(tmp_path: Path) -> None:
    async with Phone(port=24010, name="a") as a, Phone(port=24011, name="b") as b:
        await a.call(b.uri)
        await b.wait_incoming()
        await b.reject(486)
        ended = await a.wait_state("DISCONNECTED")
        assert ended["last_status_code"] == 486
        assert (await b.wait_state("DISCONNECTED"))["last_status_code"] == 486


async def test_cancel_while_ringing(tmp_path: Path) -> None:
    async with Phone(port=24020, name="a") as a, Phone(port=24021, name="b") as b:
        await a.call(b.uri)
        await b.wait_incoming()
        await a.wait_state("EARLY")
        await a.hangup()  # CANCEL
        cancelled = await b.wait_state("DISCONNECTED")
        assert cancelled["last_status_code"] == 487
        assert (await a.wait_state("DISCONNECTED"))["last_status_code"] == 487


async def test_auto_answer_and_remote_hangup(tmp_path: Path) -> None:
    async with Phone(port=24030, name="a") as a, Phone(port=24031, name="b") as b:
        await b.auto_answer(200, delay_ms=100)
        await a.call(b.uri)
        await a.wait_state("CONFIRMED")
        await b.wait_state("CONFIRMED")
        await b.hangup()
        assert (await a.wait_state("DISCONNECTED"))["last_status_code"] == 200
        await b.wait_state("DISCONNECTED")
