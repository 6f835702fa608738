"""Tone detection on recorded WAV files (Goertzel, numpy) and test tone generation.

``has_tone`` answers "did the phone hear *this* frequency?" robustly: the WAV is cut into short
blocks; a block counts as carrying the tone only if it is not silent *and* the Goertzel power at
the frequency is a large share of the block's total power. Silence, noise or a different tone
therefore never count, and a few lost packets don't matter as long as enough blocks carry it.
"""

from __future__ import annotations

import math
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

BLOCK_MS = 40
SILENCE_RMS = 1e-3  # full scale = 1.0; about -60 dBFS


def read_wav(path: str | Path) -> tuple[FloatArray, int]:
    """Samples as float64 in [-1, 1] (first channel only) and the sample rate."""
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        width = w.getsampwidth()
        channels = w.getnchannels()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"{path}: only 16-bit PCM WAV is supported (got {8 * width}-bit)")
    data = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if channels > 1:
        data = data[::channels]
    return data, rate


def _blocks(samples: FloatArray, rate: int, block_ms: int) -> FloatArray:
    n = max(1, int(rate * block_ms / 1000))
    count = len(samples) // n
    return samples[: count * n].reshape(count, n)


def goertzel_power(blocks: FloatArray, freq: float, rate: int) -> FloatArray:
    """Power of ``freq`` in each row, as a mean-square value (a sine of amplitude A gives A²/2).

    Generalised Goertzel over Hann-windowed rows, run on all rows at once.
    """
    n = blocks.shape[1]
    window = np.hanning(n)
    x = blocks * window
    w = 2.0 * math.pi * freq / rate
    coeff = 2.0 * math.cos(w)
    s1 = np.zeros(blocks.shape[0])
    s2 = np.zeros(blocks.shape[0])
    for i in range(n):
        s0 = x[:, i] + coeff * s1 - s2
        s2 = s1
        s1 = s0
    mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2.0 * mag2 / float(window.sum()) ** 2


@dataclass(frozen=True)
class ToneReport:
    freq: float
    seconds: float  # length of the recording
    voiced_seconds: float  # non-silent audio
    tone_seconds: float  # audio in which freq dominates
    mean_ratio: float  # mean share of freq in the non-silent blocks (0..1)
    rms: float


def analyse(
    path: str | Path, freq: float, min_ratio: float = 0.5, block_ms: int = BLOCK_MS
) -> ToneReport:
    samples, rate = read_wav(path)
    blocks = _blocks(samples, rate, block_ms)
    seconds = len(samples) / rate
    if blocks.size == 0 or len(samples) < blocks.shape[1]:
        return ToneReport(freq, seconds, 0.0, 0.0, 0.0, 0.0)
    total = np.mean(blocks * blocks, axis=1)
    power = goertzel_power(blocks, freq, rate)
    voiced = total > SILENCE_RMS**2
    ratio = np.where(voiced, power / np.maximum(total, 1e-20), 0.0)
    block_s = blocks.shape[1] / rate
    return ToneReport(
        freq=freq,
        seconds=seconds,
        voiced_seconds=float(voiced.sum() * block_s),
        tone_seconds=float(np.count_nonzero(ratio >= min_ratio) * block_s),
        mean_ratio=float(ratio[voiced].mean()) if voiced.any() else 0.0,
        rms=float(math.sqrt(float(np.mean(samples * samples)))),
    )


def tone_power(wav_path: str | Path, freq: float, block_ms: int = BLOCK_MS) -> float:
    """Mean power of ``freq`` over the recording (mean square, full scale = 1.0)."""
    samples, rate = read_wav(wav_path)
    blocks = _blocks(samples, rate, block_ms)
    if blocks.shape[0] == 0 or len(samples) < blocks.shape[1]:
        return 0.0
    return float(goertzel_power(blocks, freq, rate).mean())


def has_tone(
    wav_path: str | Path,
    freq: float,
    min_ratio: float = 0.5,
    min_seconds: float = 0.5,
    block_ms: int = BLOCK_MS,
) -> bool:
    """True if ``freq`` carries at least ``min_ratio`` of the power of non-silent blocks that
    together last at least ``min_seconds``. Silence never counts as a tone."""
    return analyse(wav_path, freq, min_ratio, block_ms).tone_seconds >= min_seconds


def generate_tone_wav(
    path: str | Path, freq: float, seconds: float, rate: int = 8000, amplitude: float = 0.5
) -> Path:
    """Write a mono 16-bit sine WAV (``freq`` 0 gives silence)."""
    t = np.arange(int(rate * seconds)) / rate
    data = amplitude * np.sin(2.0 * math.pi * freq * t)
    pcm = np.clip(np.round(data * 32767.0), -32768, 32767).astype("<i2")
    out = Path(path)
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out


def noise_blocks(
    wav_path: str | Path, freq: float, min_ratio: float = 0.5, block_ms: int = BLOCK_MS
) -> int:
    """Blocks in a recording of one steady tone that carry something else: clicks, noise
    bursts, audio in a codec decoded as another. The first and last blocks are left out
    (the tone starts and stops inside them); silent blocks (lost packets) don't count."""
    samples, rate = read_wav(wav_path)
    blocks = _blocks(samples, rate, block_ms)[1:-1]
    if blocks.shape[0] == 0:
        return 0
    total = np.mean(blocks * blocks, axis=1)
    voiced = total > SILENCE_RMS**2
    ratio = goertzel_power(blocks, freq, rate) / np.maximum(total, 1e-20)
    return int(np.count_nonzero(voiced & (ratio < min_ratio)))
