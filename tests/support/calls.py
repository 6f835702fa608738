"""Proving a conversation: two phones, two tones, each side hears the other, cleanly."""

from __future__ import annotations

from pathlib import Path

from tests.support.audio import has_tone, noise_blocks
from tests.support.phone import Phone

LOW, HIGH = 440, 1000
# 40 ms blocks in 1.5 s: a block or two at a jitter-buffer start may carry a transient.
MAX_NOISE_BLOCKS = 2


async def talk(caller: Phone, callee: Phone, tmp: Path) -> None:
    """Both sides play a distinct tone and record; prove each heard the other."""
    await caller.wait_media()
    await callee.wait_media()
    await caller.play_tone(LOW)
    await callee.play_tone(HIGH)
    a_wav, b_wav = tmp / "caller.wav", tmp / "callee.wav"
    await caller.record_to(a_wav, max_ms=1500)
    await callee.record_to(b_wav, max_ms=1500)
    await caller.wait_record_stopped()
    await callee.wait_record_stopped()
    await caller.stop_audio()
    await callee.stop_audio()
    assert has_tone(a_wav, HIGH), "caller did not hear the callee"
    assert has_tone(b_wav, LOW), "callee did not hear the caller"
    assert not has_tone(a_wav, LOW), "caller hears itself, not the callee"
    # A codec one side cannot decode, or a relay glitch, sounds like clicks and noise.
    for wav, hz in ((a_wav, HIGH), (b_wav, LOW)):
        bad = noise_blocks(wav, hz)
        assert bad <= MAX_NOISE_BLOCKS, f"{wav.name}: {bad} blocks of clicks or noise"
