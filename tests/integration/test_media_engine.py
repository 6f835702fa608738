"""The engine's media and forking, driven directly (no edge, no call logic): the real
SippyAdapter in a subprocess (tests/integration/media_engine_agent.py) and real pjsua2
phones that send their INVITEs straight to it.

Ports: engine SIP 27770, relay 27800-27999, phones 27700-27707 (SIP) and 27720-27751 (RTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import time
import warnings
import wave
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.support.audio import analyse, generate_tone_wav, has_tone
from tests.support.phone import Phone

pytestmark = pytest.mark.timeout(90)

ENGINE_PORT = 27770
ENGINE_URI = f"sip:100@127.0.0.1:{ENGINE_PORT}"


def phone(name: str, slot: int, auto_ringing: bool = True) -> Phone:
    """A test phone in `slot` (0-7): SIP port 27700+slot, RTP ports from 27720+4*slot.
    Each test closes its phones, so the next test reuses the slots."""
    assert 0 <= slot < 8
    return Phone(port=27700 + slot, rtp_port=27720 + 4 * slot, name=name, auto_ringing=auto_ringing)


Event = dict[str, Any]


class Engine:
    """The adapter's subprocess: commands in, events out (kept in `events`)."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.events: list[Event] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._cond = asyncio.Condition()
        self._seq = itertools.count(1)
        self._consumed: set[int] = set()
        self._reader: asyncio.Task[None] | None = None
        self.stderr = b""
        self.log_lines: list[str] = []

    async def start(self) -> Event:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.media_engine_agent",
            str(ENGINE_PORT),
            str(self.work_dir),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        return await self.wait("ready", timeout=20)

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except json.JSONDecodeError:
                self.log_lines.append(line.decode(errors="replace"))  # the engine's own logs
                continue
            async with self._cond:
                self._cond.notify_all()
        async with self._cond:
            self._cond.notify_all()

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            with contextlib.suppress(Exception):
                self.proc.stdin.write(b'{"cmd": "quit"}\n')
                await self.proc.stdin.drain()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._reader is not None:
            await self._reader
        assert self.proc.stderr is not None
        self.stderr = await self.proc.stderr.read()

    async def command(self, cmd: str, **args: Any) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        seq = next(self._seq)
        self.proc.stdin.write((json.dumps({"cmd": cmd, "seq": seq, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        reply = await self.wait(
            "ok", lambda e: e.get("seq") == seq, fail=lambda e: e.get("seq") == seq
        )
        assert reply["event"] == "ok", reply

    def find(self, kind: str, pred: Callable[[Event], bool] | None = None) -> list[Event]:
        return [e for e in self.events if e["event"] == kind and (pred is None or pred(e))]

    async def wait(
        self,
        kind: str,
        pred: Callable[[Event], bool] | None = None,
        timeout: float = 10.0,
        fail: Callable[[Event], bool] | None = None,
    ) -> Event:
        """The oldest event of `kind` (matching `pred`) not returned before."""

        def match() -> Event | None:
            for i, e in enumerate(self.events):
                if i in self._consumed:
                    continue
                if e["event"] == kind and (pred is None or pred(e)):
                    self._consumed.add(i)
                    return e
                if e["event"] == "error" and fail is not None and fail(e):
                    self._consumed.add(i)
                    return e
            return None

        found: list[Event] = []

        def ready() -> bool:
            hit = match()
            if hit is not None:
                found.append(hit)
            return bool(found) or (self.proc is not None and self.proc.returncode is not None)

        async with self._cond:
            try:
                await asyncio.wait_for(self._cond.wait_for(ready), timeout)
            except TimeoutError:
                raise AssertionError(
                    f"no {kind} within {timeout}s; events: {self.events}"
                ) from None
        if not found:
            raise AssertionError(f"engine exited waiting for {kind}; events: {self.events}")
        return found[0]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    eng = Engine(tmp_path / "engine")
    ready = await eng.start()
    assert ready["dtmf_module"] is not None, "catch_dtmf module not discovered"
    yield eng
    await eng.stop()
    # Kept for a failing test's post-mortem.
    (tmp_path / "engine.log").write_text(
        "".join(eng.log_lines) + eng.stderr.decode(errors="replace")
    )
    logs = "".join(eng.log_lines) + eng.stderr.decode(errors="replace")
    assert "Bad Stuff" not in logs, logs[-3000:]  # a sippy timer made on the wrong thread


def make_prompt(directory: Path, freq: int, seconds: float) -> str:
    """A G.711 prompt pair (`.8` PCMA, `.0` PCMU) of a sine tone; returns its base path."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # the stdlib's G.711 encoder (deprecated, present on 3.11)

    wav = generate_tone_wav(directory / f"tone{freq}.wav", freq, seconds, amplitude=0.4)
    with wave.open(str(wav), "rb") as w:
        pcm = w.readframes(w.getnframes())
    base = directory / f"tone{freq}"
    Path(f"{base}.8").write_bytes(audioop.lin2alaw(pcm, 2))
    Path(f"{base}.0").write_bytes(audioop.lin2ulaw(pcm, 2))
    return str(base)


async def offered(engine: Engine, caller: Phone) -> str:
    await caller.call(ENGINE_URI)
    ev = await engine.wait("CallOffered")
    return str(ev["call_id"])


async def record(phone: Phone, path: Path, ms: int) -> None:
    await phone.record_to(path, max_ms=ms)
    await phone.wait_record_stopped(timeout=ms / 1000 + 5)


async def test_fork_second_answers_gets_audio_first_is_cancelled(
    engine: Engine, tmp_path: Path
) -> None:
    async with (
        phone("a", 0) as a,
        phone("b1", 1) as b1,
        phone("b2", 2) as b2,
    ):
        await a.play_tone(440)
        await b2.play_tone(1000)
        call_id = await offered(engine, a)
        await engine.command("originate", call_id=call_id, leg_id="b1", user="b1", port=b1.port)
        await engine.command("originate", call_id=call_id, leg_id="b2", user="b2", port=b2.port)
        await b1.wait_incoming()
        await b2.wait_incoming()
        await engine.wait("LegRinging", lambda e: e["leg_id"] == "b1")
        await engine.wait("LegRinging", lambda e: e["leg_id"] == "b2")
        await a.wait_state("EARLY")

        await b2.answer()
        answered = await engine.wait("LegAnswered")
        assert answered["leg_id"] == "b2"
        await engine.command("cancel_leg", call_id=call_id, leg_id="b1")  # as call logic does
        cancelled = await b1.wait_state("DISCONNECTED")
        assert cancelled["last_status_code"] == 487
        failed = await engine.wait("LegFailed")
        assert failed["leg_id"] == "b1"

        await a.wait_state("CONFIRMED")
        await a.wait_media()
        await b2.wait_media()
        await asyncio.gather(
            record(a, tmp_path / "a.wav", 1500), record(b2, tmp_path / "b2.wav", 1500)
        )
        await a.hangup()
        await b2.wait_state("DISCONNECTED")
        await engine.wait("CallerGone")

    assert has_tone(tmp_path / "a.wav", 1000, min_seconds=1.0), analyse(tmp_path / "a.wav", 1000)
    assert not has_tone(tmp_path / "a.wav", 440), analyse(tmp_path / "a.wav", 440)
    assert has_tone(tmp_path / "b2.wav", 440, min_seconds=1.0), analyse(tmp_path / "b2.wav", 440)
    assert not engine.find("LegAnswered", lambda e: e["leg_id"] == "b1")


async def test_late_second_answer_is_hung_up_not_bridged(engine: Engine, tmp_path: Path) -> None:
    async with (
        phone("a", 0) as a,
        phone("b1", 1) as b1,
        phone("b2", 2) as b2,
    ):
        call_id = await offered(engine, a)
        await engine.command("originate", call_id=call_id, leg_id="b1", user="b1", port=b1.port)
        await engine.command("originate", call_id=call_id, leg_id="b2", user="b2", port=b2.port)
        await b1.wait_incoming()
        await b2.wait_incoming()
        await b2.answer()
        assert (await engine.wait("LegAnswered"))["leg_id"] == "b2"
        await b1.answer()  # before call logic's CANCEL could reach it
        failed = await engine.wait("LegFailed")
        assert (failed["leg_id"], failed["code"]) == ("b1", 487)
        assert failed["reason"] == "Call completed elsewhere"
        bye = await b1.wait_state("DISCONNECTED")
        assert bye["last_status_code"] == 200  # it was answered, then got a BYE
        await a.wait_state("CONFIRMED")
        await a.hangup()
        await b2.wait_state("DISCONNECTED")
    assert not engine.find("LegAnswered", lambda e: e["leg_id"] == "b1")


async def test_answer_and_play_prompt(engine: Engine, tmp_path: Path) -> None:
    prompt = make_prompt(tmp_path, 700, 4.0)
    async with phone("a", 0) as a:
        call_id = await offered(engine, a)
        await engine.command("answer", call_id=call_id)
        await engine.wait("CallerAnswered")
        await a.wait_state("CONFIRMED")
        await a.wait_media()
        await engine.command("play", call_id=call_id, prompt=prompt, loop=False)
        await record(a, tmp_path / "a.wav", 2000)
        await a.hangup()
        await engine.wait("CallerGone")
    report = analyse(tmp_path / "a.wav", 700)
    assert report.tone_seconds >= 1.5, report


async def test_rfc2833_digits_reported_once_each_in_order(engine: Engine) -> None:
    async with phone("a", 0) as a:
        call_id = await offered(engine, a)
        await engine.command("answer", call_id=call_id)
        await a.wait_state("CONFIRMED")
        await a.wait_media()
        await a.send_dtmf("12#")
        digits = [(await engine.wait("DtmfReceived"))["digit"] for _ in range(3)]
        assert digits == ["1", "2", "#"]
        await a.send_dtmf("55")  # the same key twice is two presses
        digits = [(await engine.wait("DtmfReceived"))["digit"] for _ in range(2)]
        assert digits == ["5", "5"]
        # A late duplicate (repeated end packets) would show up within this window.
        await a.timer(1000)
        await a.wait_for("timer", timeout=5)
        assert [e["digit"] for e in engine.find("DtmfReceived")] == ["1", "2", "#", "5", "5"]
        assert all(e["call_id"] == call_id for e in engine.find("DtmfReceived"))
        await a.hangup()


async def test_ivr_then_bridge_without_reinvite(engine: Engine, tmp_path: Path) -> None:
    prompt = make_prompt(tmp_path, 700, 1.0)
    async with (
        phone("a", 0) as a,
        phone("b", 1) as b,
    ):
        await a.play_tone(440)
        await b.play_tone(1000)
        call_id = await offered(engine, a)
        await engine.command("answer", call_id=call_id)
        await a.wait_state("CONFIRMED")
        await a.wait_media()
        await engine.command("play", call_id=call_id, prompt=prompt, loop=True)
        await record(a, tmp_path / "greeting.wav", 1500)

        await b.auto_answer(200)
        a.mark()
        await engine.command("originate", call_id=call_id, leg_id="b1", user="b", port=b.port)
        await engine.wait("LegAnswered")
        await b.wait_state("CONFIRMED")
        await b.wait_media()
        await asyncio.gather(
            record(a, tmp_path / "a.wav", 1500), record(b, tmp_path / "b.wav", 1500)
        )
        # A's call was never touched again: no new state, no re-negotiated media.
        assert not [
            e for e in a.events[a._floor :] if e.get("event") in ("call_state", "media_active")
        ]
        await b.hangup()
        await a.wait_state("DISCONNECTED")
        await engine.wait("CalleeGone")

    assert has_tone(tmp_path / "greeting.wav", 700, min_seconds=1.0)
    assert has_tone(tmp_path / "a.wav", 1000, min_seconds=1.0), analyse(tmp_path / "a.wav", 1000)
    assert not has_tone(tmp_path / "a.wav", 700), analyse(tmp_path / "a.wav", 700)
    assert has_tone(tmp_path / "b.wav", 440, min_seconds=1.0), analyse(tmp_path / "b.wav", 440)


async def test_record_caller_to_wav(engine: Engine, tmp_path: Path) -> None:
    wav = tmp_path / "vm" / "message.wav"
    async with phone("a", 0) as a:
        await a.play_tone(440)
        call_id = await offered(engine, a)
        await engine.command("answer", call_id=call_id)
        await a.wait_state("CONFIRMED")
        await a.wait_media()
        await engine.command("start_recording", call_id=call_id, path=str(wav))
        started = time.monotonic()
        await a.timer(2000)  # the phone's clock: ~2 s of the caller talking
        await a.wait_for("timer", timeout=5)
        await engine.command("stop_recording", call_id=call_id)
        elapsed = time.monotonic() - started
        done = await engine.wait("RecordingDone")
        await a.hangup()
    assert done["call_id"] == call_id and done["path"] == str(wav)
    with wave.open(str(wav), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        seconds = w.getnframes() / 8000
    assert abs(done["duration"] - seconds) < 0.01
    assert 1.6 <= seconds <= elapsed + 0.2, (seconds, elapsed)
    assert has_tone(wav, 440, min_seconds=1.5), analyse(wav, 440)


async def test_recording_finishes_when_caller_hangs_up(engine: Engine, tmp_path: Path) -> None:
    wav = tmp_path / "vm2.wav"
    async with phone("a", 0) as a:
        await a.play_tone(440)
        call_id = await offered(engine, a)
        await engine.command("answer", call_id=call_id)
        await a.wait_state("CONFIRMED")
        await a.wait_media()
        await engine.command("start_recording", call_id=call_id, path=str(wav))
        await a.timer(1000)
        await a.wait_for("timer", timeout=5)
        await a.hangup()
        await engine.wait("CallerGone")
        done = await engine.wait("RecordingDone")
    assert done["duration"] >= 0.7
    assert has_tone(wav, 440, min_seconds=0.6), analyse(wav, 440)


async def test_dial_out_then_bridge(engine: Engine, tmp_path: Path) -> None:
    """Click-to-call: the engine rings the employee (leg A) first, then the client."""
    async with (
        phone("agent", 0) as a,
        phone("client", 1) as b,
    ):
        await a.play_tone(440)
        await b.play_tone(1000)
        await a.auto_answer(200)
        await b.auto_answer(200)
        await engine.command("dial_out", call_id="out-1", user="agent", port=a.port)
        await a.wait_incoming()
        await engine.wait("CallerAnswered", lambda e: e["call_id"] == "out-1")
        await a.wait_state("CONFIRMED")
        await engine.command("originate", call_id="out-1", leg_id="b1", user="client", port=b.port)
        await engine.wait("LegAnswered", lambda e: e["leg_id"] == "b1")
        await b.wait_state("CONFIRMED")
        await a.wait_media()
        await b.wait_media()
        await asyncio.gather(
            record(a, tmp_path / "a.wav", 1500), record(b, tmp_path / "b.wav", 1500)
        )
        await a.hangup()
        await b.wait_state("DISCONNECTED")
        await engine.wait("CallerGone", lambda e: e["call_id"] == "out-1")
    assert has_tone(tmp_path / "a.wav", 1000, min_seconds=1.0), analyse(tmp_path / "a.wav", 1000)
    assert has_tone(tmp_path / "b.wav", 440, min_seconds=1.0), analyse(tmp_path / "b.wav", 440)


async def test_dial_out_refused(engine: Engine) -> None:
    async with phone("agent", 0) as a:
        await a.auto_answer(486)
        await engine.command("dial_out", call_id="out-2", user="agent", port=a.port)
        failed = await engine.wait("LegFailed", lambda e: e["call_id"] == "out-2")
        assert (failed["leg_id"], failed["code"]) == ("a", 486)
        await a.wait_state("DISCONNECTED")
    assert not engine.find("CallerAnswered")


async def test_caller_hold_and_resume_during_prompt(engine: Engine, tmp_path: Path) -> None:
    """A re-INVITE from the caller while only the engine talks to it is answered by the
    engine (no leg B to pass it to), and the prompt goes on after the resume."""
    prompt = make_prompt(tmp_path, 700, 1.0)
    async with phone("a", 0) as a:
        call_id = await offered(engine, a)
        await engine.command("answer", call_id=call_id)
        await a.wait_state("CONFIRMED")
        await a.wait_media()
        await engine.command("play", call_id=call_id, prompt=prompt, loop=True)
        a.mark()
        await a.hold()
        await a.wait_for("media_state", lambda e: e["status"] == "LOCAL_HOLD")
        await a.unhold()
        await a.wait_media()
        await record(a, tmp_path / "a.wav", 1500)
        assert not [
            e for e in a.events if e.get("event") == "call_state" and e["state"] == "DISCONNECTED"
        ]
        await a.hangup()
        await engine.wait("CallerGone")
    assert has_tone(tmp_path / "a.wav", 700, min_seconds=1.0), analyse(tmp_path / "a.wav", 700)


async def test_early_media_from_a_single_leg_reaches_caller(engine: Engine, tmp_path: Path) -> None:
    async with (
        phone("a", 0) as a,
        phone("b", 1, auto_ringing=False) as b,
    ):
        await b.play_tone(1000)
        call_id = await offered(engine, a)
        await engine.command("originate", call_id=call_id, leg_id="b1", user="b", port=b.port)
        await b.wait_incoming()
        await b.ringing(183)
        early = await a.wait_state("EARLY")
        assert early["last_status_code"] == 183
        await a.wait_media()
        await record(a, tmp_path / "a.wav", 1200)
        await a.hangup()
        await b.wait_state("DISCONNECTED")
    assert has_tone(tmp_path / "a.wav", 1000, min_seconds=0.8), analyse(tmp_path / "a.wav", 1000)


async def test_early_media_is_not_forwarded_while_forking(engine: Engine) -> None:
    async with (
        phone("a", 0) as a,
        phone("b1", 1, auto_ringing=False) as b1,
        phone("b2", 2, auto_ringing=False) as b2,
    ):
        call_id = await offered(engine, a)
        await engine.command("originate", call_id=call_id, leg_id="b1", user="b1", port=b1.port)
        await engine.command("originate", call_id=call_id, leg_id="b2", user="b2", port=b2.port)
        await b1.wait_incoming()
        await b2.wait_incoming()
        await b1.ringing(183)
        await engine.wait("LegRinging", lambda e: e["leg_id"] == "b1")
        early = await a.wait_state("EARLY")
        assert early["last_status_code"] == 180  # B1's 183 with SDP, shown as plain ringing
        assert not [e for e in a.events if e.get("event") == "media_active"]
        await b2.answer()
        await a.wait_state("CONFIRMED")
        await a.wait_media()
        await engine.command("cancel_leg", call_id=call_id, leg_id="b1")
        assert (await b1.wait_state("DISCONNECTED"))["last_status_code"] == 487
        await a.hangup()
        await b2.wait_state("DISCONNECTED")


async def test_plain_bridged_call_recorded_with_both_parties(
    engine: Engine, tmp_path: Path
) -> None:
    """Call recording on a call the engine did not answer: both directions land in one
    WAV, each party's tone present, aligned in time."""
    wav = tmp_path / "rec" / "call.wav"
    async with phone("a", 0) as a, phone("b", 1) as b:
        await a.play_tone(440)
        await b.play_tone(1000)
        await b.auto_answer(200)
        call_id = await offered(engine, a)
        await engine.command("originate", call_id=call_id, leg_id="b1", user="b", port=b.port)
        await engine.wait("LegAnswered", lambda e: e["leg_id"] == "b1")
        await a.wait_state("CONFIRMED")
        await a.wait_media()
        await engine.command("start_recording", call_id=call_id, path=str(wav), both=True)
        await a.timer(2000)  # the phone's clock: ~2 s of conversation
        await a.wait_for("timer", timeout=5)
        await a.hangup()
        await engine.wait("CallerGone")
        done = await engine.wait("RecordingDone")
    assert done["call_id"] == call_id and done["path"] == str(wav)
    assert 1.5 <= done["duration"] <= 3.5, done
    # Both tones at once: each carries about half of the mixed power.
    assert has_tone(wav, 440, min_ratio=0.3, min_seconds=1.2), analyse(wav, 440, 0.3)
    assert has_tone(wav, 1000, min_ratio=0.3, min_seconds=1.2), analyse(wav, 1000, 0.3)
    leftovers = [p.name for p in (tmp_path / "engine" / "recordings").glob("*.rtp")]
    assert not leftovers, leftovers
