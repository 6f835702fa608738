"""Media control on the embedded relay (rtp.io) for the SIP adapter.

One `CallMedia` per call wraps sippy's `Rtp_proxy_session` (leg A is the relay's
"caller" side, every leg B its "callee" side) and adds what sippy does not: answering
leg A from the relay itself, prompts, RFC 2833 digits (the relay's catch_dtmf module)
and recording the caller into a WAV. Everything here runs on the sippy thread except
the pcap -> WAV conversion, which runs on a short-lived worker thread.

rtpproxy command facts this relies on (measured with rtp.io 1.1.1):
- `P<n> <call>-0 <prompt> session <ftag> <ttag>` plays `<prompt>.<pt>` to the caller;
  `session` takes the codec from the caller stream's `c` option and the packet time from
  the callee stream's `z` option (otherwise it sends 10 ms packets). n = -1 loops.
- That same `z` also makes the relay re-cut everything B sends to A into z-ms packets
  (a 30 ms phone's audio becomes 1.5x as many packets) and sippy then adds `a=ptime` to
  B's SDP, so it is set only on calls whose A the engine answers or dials itself.
- `C <call>-0 <name>.a <ftag> <ttag>` records what the caller sends; `N` stops it and the
  pcap (Ethernet link type) lands in the relay's `-r` directory as `<name>.a.rtp`.
- `U ... <notify socket> <tag> && M<id>:1 <dtmf tag> <pt>` arms catch_dtmf, which then
  writes `<dtmf tag> <digit> <volume> <duration> <side>` lines on the notify socket,
  once per key press (it drops the repeated end packets itself).
"""

from __future__ import annotations

import struct
import threading
import time
import warnings
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sippy.MsgBody import MsgBody
from sippy.Rtp_proxy.session import Rtp_proxy_session

from pbx.logging import get_logger

with warnings.catch_warnings():
    # audioop is deprecated (gone in 3.13) but it is the stdlib's G.711 decoder on 3.11.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

log = get_logger(__name__)

PTIME_MS = 20  # rtpproxy plays 10 ms packets unless told; phones expect 20
HOLD_ADDRESS = "0.0.0.0"  # leg A answered, no leg B yet: the relay sends nothing onwards
HOLD_PORT = 9  # non-zero, or sippy keeps port 0 (a rejected stream) in A's answer
G711_DECODERS: dict[int, Callable[[bytes, int], bytes]] = {
    0: audioop.ulaw2lin,
    8: audioop.alaw2lin,
}
MAX_GAP_SAMPLES = 8000 * 5  # a longer hole in the RTP timestamps is not filled with silence
MODULE_PROBE_IDS = range(1, 9)
# What the engine offers a leg A it calls itself; the relay fills in address and port.
ENGINE_OFFER = (
    "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
    "m=audio 9 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
)

Reply = Callable[[str | None], None]


# --- SDP helpers ---------------------------------------------------------------------
def audio_section(body: Any) -> Any | None:
    """The first audio m= section of a parsed sippy MsgBody (None if there is none)."""
    body.parse()
    content = body.content
    if isinstance(content, str):
        return None
    for sect in content.sections:
        if str(sect.m_header.stype).lower() == "audio" and sect.m_header.port != 0:
            return sect
    return None


def pick_codecs(sect: Any) -> tuple[int, int | None]:
    """The G.711 payload type A offered first, and its telephone-event payload type."""
    pt = next((f for f in sect.m_header.formats if f in G711_DECODERS), None)
    if pt is None:
        raise ValueError("caller offers neither PCMU nor PCMA")
    return pt, telephone_event(sect)


def telephone_event(sect: Any) -> int | None:
    """The payload type of RFC 2833 events at 8 kHz in an audio section, if offered."""
    for ah in sect.a_headers:
        if ah.name == "rtpmap" and ah.value is not None:
            num, _, enc = ah.value.partition(" ")
            if enc.lower().startswith("telephone-event/8000") and num.isdigit():
                return int(num)
    return None


def keep_codec(body: Any, pt: int, te: int | None) -> None:
    """Exactly one codec (so prompts and recordings know it) plus DTMF: what the engine
    answers A with, and what every leg B is then offered (the relay does not transcode)."""
    sect = audio_section(body)
    if sect is None:
        return
    sect.m_header.formats = [pt] + ([te] if te is not None else [])
    sect.optimize_a()
    make_sendrecv(body)


def make_sendrecv(body: Any) -> None:
    """The hold address makes sippy mark the SDP sendonly; A must keep sending to us."""
    sect = audio_section(body)
    if sect is None:
        return
    for ah in [x for x in sect.a_headers if x.name in ("sendonly", "recvonly", "inactive")]:
        sect.a_headers.remove(ah)


# --- relay module discovery ------------------------------------------------------------
class RelayCaps:
    """What the embedded relay offers, found at start-up by asking it (no magic numbers)."""

    def __init__(self) -> None:
        self.dtmf_module: int | None = None
        self.notify_supported = False


def discover(client: Any, notify_socket: str, done: Callable[[RelayCaps], None]) -> None:
    """Find the catch_dtmf module id: the one module that accepts `<tag> 101` and refuses
    payload type 999 (catch_dtmf's own argument check) on a throw-away session."""
    caps = RelayCaps()
    probe = f"pbx-probe-{time.monotonic_ns()}-0"
    base = f"U {probe} 127.0.0.1 {HOLD_PORT} pbxprobe {notify_socket} probe"
    ids = list(MODULE_PROBE_IDS)

    def finish() -> None:
        client.send_command(f"D {probe} pbxprobe", lambda *_a, **_k: done(caps))

    def try_next() -> None:
        if not ids:
            finish()
            return
        mid = ids.pop(0)

        def good(result: str | None, ex: Any = None) -> None:
            if not _subc_ok(result):
                try_next()
                return
            client.send_command(f"{base} && M{mid}:1 pbxprobe 999", bad(mid))

        client.send_command(f"{base} && M{mid}:1 pbxprobe 101", good)

    def bad(mid: int) -> Callable[..., None]:
        def check(result: str | None, ex: Any = None) -> None:
            if result is not None and result.rstrip().endswith("&& -1"):
                caps.dtmf_module = mid
                finish()
            else:
                try_next()

        return check

    def created(result: str | None, ex: Any = None) -> None:
        if result is None or result.startswith("E"):
            log.error("relay_probe_failed", result=result)
            done(caps)
            return
        try_next()

    def notify_cap(result: str | None, ex: Any = None) -> None:
        caps.notify_supported = result == "1"
        client.send_command(base, created)

    client.send_command("VF 20081224", notify_cap)


def _subc_ok(result: str | None) -> bool:
    if result is None or result.startswith("E"):
        return False
    parts = result.split("&&")
    return len(parts) == 1 or parts[-1].strip() == "0"


# --- one call's media -----------------------------------------------------------------
class CallMedia:
    """Leg A's relay session and what the engine does with it."""

    def __init__(
        self,
        global_config: Any,
        call_id: str,
        key: str,
        caps: RelayCaps,
        record_dir: Path,
        on_recorded: Callable[[str, float], None],
    ) -> None:
        # No `z` here: a plain bridged call must pass B's packets to A untouched
        # (answer() and offer() turn it on for calls that can hear prompts).
        self.rtp: Any = Rtp_proxy_session(global_config, call_id=call_id, notify_tag=f"t_{key}")
        self.key = key
        self.caps = caps
        self.record_dir = record_dir
        self.on_recorded = on_recorded
        self.pt: int | None = None
        self.te: int | None = None
        self.a_addr: tuple[str, int] | None = None
        self.a_sdp: Any = None  # A's own SDP, offered to B legs of a call the engine dialled
        self.local_sdp: Any = None  # what the relay told A (answer or engine offer)
        self.armed = False
        # Commands given before A's codec is known (play right after answer): sent
        # once the relay has been told the codec, in order.
        self.pending: list[tuple[str, Callable[[], None]]] = []
        self.recording: tuple[str, str, bool] | None = None  # (relay name, wav, both)
        self.rec_seq = 0

    @property
    def dtmf_tag(self) -> str:
        return f"d_{self.key}"

    def _target(self) -> str:
        return f"{self.rtp.call_id}-0 "

    def _tags(self) -> str:
        return f"{self.rtp.from_tag} {self.rtp.to_tag}"

    def _send(self, command: str, reply: Reply | None = None) -> None:
        if self.rtp is None or self.rtp.rtp_proxy_client is None:
            if reply is not None:
                reply(None)
            return

        def cb(result: str | None, *_a: Any, **_k: Any) -> None:
            if result is None or result.startswith("E") or result.rstrip().endswith("&& -1"):
                log.warning("relay_command_failed", command=command, result=result)
            if reply is not None:
                reply(result)

        self.rtp.rtpp_seq.send_command(command, cb)

    def learn_offer(self, offer: Any) -> None:
        """Remember A's media address and codecs from its INVITE's SDP."""
        sect = audio_section(offer.getCopy())
        if sect is None:
            raise ValueError("caller offers no audio")
        self.pt, self.te = pick_codecs(sect)
        self.a_addr = (str(sect.c_header.addr), int(sect.m_header.port))

    def answer(self, offer: Any, done: Callable[[Any], None]) -> None:
        """Build A's SDP answer from the relay, with the relay's other side on hold.
        `done(body)` gets the answer, or None if the relay failed."""
        self.learn_offer(offer)
        assert self.pt is not None
        pt, te = self.pt, self.te
        # Prompts go out in 20 ms packets, as A's answer (a=ptime:20) will say.
        self.rtp.callee.repacketize = PTIME_MS
        caller_offer = offer.getCopy()
        caller_offer.needs_update = True

        def on_callee(body: Any, ex: Any = None) -> None:
            if body is None:
                done(None)
                return
            keep_codec(body, pt, te)
            self.local_sdp = body.getCopy()
            self.arm()
            done(body)

        def on_caller(_body: Any, ex: Any = None) -> None:
            if _body is None:
                done(None)
                return
            hold = offer.getCopy()
            sect = audio_section(hold)
            assert sect is not None
            sect.c_header.addr = HOLD_ADDRESS
            sect.m_header.port = HOLD_PORT
            hold.needs_update = True
            self.rtp.on_callee_sdp_change(hold, on_callee)

        self.rtp.on_caller_sdp_change(caller_offer, on_caller)

    def offer(self, done: Callable[[Any], None]) -> None:
        """SDP offer for a leg A the engine calls itself (click-to-call): both relay
        sides on hold until A answers. `done(body)`, or None if the relay failed."""
        self.rtp.callee.repacketize = PTIME_MS  # the engine is A's first audio source

        def on_callee(body: Any, ex: Any = None) -> None:
            if body is not None:
                make_sendrecv(body)
                self.local_sdp = body.getCopy()
            done(body)

        def on_caller(body: Any, ex: Any = None) -> None:
            if body is None:
                done(None)
                return
            self.rtp.on_callee_sdp_change(MsgBody(ENGINE_OFFER), on_callee)

        self.rtp.on_caller_sdp_change(MsgBody(ENGINE_OFFER), on_caller)

    def accept_answer(self, answer: Any, done: Callable[..., None]) -> None:
        """Leg A (called by the engine) answered: point the relay's caller side at it."""
        self.learn_offer(answer)
        self.a_sdp = answer.getCopy()
        update = answer.getCopy()
        update.needs_update = True

        def updated(result: Any, ex: Any = None) -> None:
            if result is None:
                log.error("relay_update_failed", call_id=self.rtp.call_id, error=repr(ex))
            else:
                self.arm()
            done(answer)

        self.rtp.on_caller_sdp_change(update, updated)

    def offer_for_b(self, a_sdp: Any) -> Any:
        """What a leg B is offered in place of A's SDP (see `fit_for_b`)."""
        body = a_sdp.getCopy()
        self.fit_for_b(body)
        return body

    def fit_for_b(self, body: Any) -> None:
        """Cut an SDP from A (the offer for a leg B, a re-INVITE passed on to B) to what
        the relay can carry, since it does not transcode. Once the engine has given A the
        relay's SDP (answer, early media, a call it dialled): exactly the codec A and the
        engine agreed on, plus telephone-event, or B may pick one A never accepted and
        both hear silence. Before that: the G.711 codecs A offers, in A's order, so the
        engine can still play to and record the call (A offering no G.711 is passed on
        as it is: the call works, unrecorded)."""
        if body is None:
            return
        if self.pt is not None:
            keep_codec(body, self.pt, self.te)
            return
        sect = audio_section(body)
        if sect is None or not any(f in G711_DECODERS for f in sect.m_header.formats):
            return
        te = telephone_event(sect)
        sect.m_header.formats = [f for f in sect.m_header.formats if f in G711_DECODERS or f == te]
        sect.optimize_a()

    def update_caller(self, offer: Any, done: Callable[[Any], None]) -> None:
        """A re-INVITE from A while no leg B is bridged (hold, new address): re-point the
        relay at A and answer with the same relay address and codec as before."""
        update = offer.getCopy()
        update.needs_update = True

        def updated(result: Any, ex: Any = None) -> None:
            ok = result is not None and self.local_sdp is not None
            done(self.local_sdp.getCopy() if ok else None)

        self.rtp.on_caller_sdp_change(update, updated)

    def arm(self) -> None:
        """Tell the caller stream its codec (for `session` prompts) and arm catch_dtmf."""
        if self.armed or self.a_addr is None or self.pt is None:
            return
        self.armed = True
        codecs = f"{self.pt}" + (f",{self.te}" if self.te is not None else "")
        cmd = f"Uc{codecs} {self._target()}{self.a_addr[0]} {self.a_addr[1]} {self._tags()}"
        if self.caps.dtmf_module is not None and self.te is not None:
            notify = self.rtp.notify_socket
            cmd += f" {notify} t_{self.key} && M{self.caps.dtmf_module}:1 {self.dtmf_tag} {self.te}"
        self._send(cmd)
        pending, self.pending = self.pending, []
        for _kind, action in pending:
            action()

    def _when_armed(self, kind: str, action: Callable[[], None]) -> None:
        if self.armed:
            action()
        else:
            self.pending.append((kind, action))

    def play(self, prompt: str, loop: bool) -> None:
        if any(c.isspace() for c in prompt):
            raise ValueError(f"prompt path with whitespace: {prompt!r}")
        self._when_armed("play", lambda: self._play(prompt, loop))

    def _play(self, prompt: str, loop: bool) -> None:
        if self.pt is not None and not Path(f"{prompt}.{self.pt}").exists():
            log.error("prompt_missing", prompt=prompt, payload_type=self.pt)
        times = -1 if loop else 1
        self._send(f"P{times} {self._target()}{prompt} session {self._tags()}")

    def stop_play(self) -> None:
        if not self.armed:
            self.pending = [(k, a) for k, a in self.pending if k != "play"]
            return
        self._send(f"S {self._target()}{self._tags()}")

    def start_recording(self, path: str, both: bool = False) -> None:
        """Record what the caller says (voicemail), or with `both` the whole
        conversation (call recording: both directions mixed into one WAV). `both` needs
        no prompt codec, so it works on plain bridged calls too."""
        if both:
            self._start_recording(path, both)
        else:
            self._when_armed("record", lambda: self._start_recording(path, both))

    def _start_recording(self, path: str, both: bool) -> None:
        if self.recording is not None:
            self.stop_recording()
        self.rec_seq += 1
        name = f"{self.key}-{self.rec_seq}"
        self.recording = (name, path, both)
        # One C command records one direction (the side named by the first tag) into
        # `<relay name>.rtp`: the callee's side is asked for with the tags swapped.
        self._send(f"C {self._target()}{name}.a {self._tags()}")
        if both:
            self._send(f"C {self._target()}{name}.o {self.rtp.to_tag} {self.rtp.from_tag}")

    def stop_recording(self) -> None:
        if self.recording is None:
            return
        name, path, both = self.recording
        self.recording = None
        pcaps = [self.record_dir / f"{name}.{side}.rtp" for side in ("ao" if both else "a")]

        def stopped(_result: str | None) -> None:
            worker = threading.Thread(
                target=self._convert, args=(pcaps, Path(path)), name="pbx-rec", daemon=True
            )
            worker.start()

        self._send(f"N {self._target()}{self._tags()}", stopped)

    def _convert(self, pcaps: list[Path], wav_path: Path) -> None:
        # The relay closes the pcaps right after N/D; give its writer a moment if needed.
        deadline = time.monotonic() + 3.0
        while not all(p.exists() for p in pcaps) and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            duration = pcaps_to_wav([p for p in pcaps if p.exists()], wav_path)
        except Exception as exc:
            log.error("recording_convert_failed", pcaps=[str(p) for p in pcaps], error=repr(exc))
            duration = write_wav(wav_path, b"")
        for pcap in pcaps:
            for leftover in (pcap, pcap.with_suffix(".rtcp")):
                leftover.unlink(missing_ok=True)
        self.on_recorded(str(wav_path), duration)

    def release(self) -> None:
        """Finish a running recording, then free the relay ports."""
        if self.rtp is None:
            return
        self.stop_recording()
        self.rtp.delete()
        self.rtp = None


# --- pcap -> WAV ------------------------------------------------------------------------
def pcaps_to_wav(pcaps: list[Path], wav_path: Path) -> float:
    """Decode the relay's pcap(s) into one 8 kHz mono 16-bit WAV, mixing every RTP
    stream in them (a call's two directions share one file) aligned on capture time;
    returns the duration."""
    tracks = [t for p in pcaps for t in decode_pcap(p)]
    if not tracks:
        return write_wav(wav_path, b"")
    start = min(t0 for _, t0 in tracks)
    padded = [b"\x00\x00" * round((t0 - start) * 8000) + bytes(pcm) for pcm, t0 in tracks]
    size = max(len(p) for p in padded)
    mix = padded[0].ljust(size, b"\x00")
    for other in padded[1:]:
        mix = audioop.add(mix, other.ljust(size, b"\x00"), 2)  # saturates, no wrap-around
    return write_wav(wav_path, mix)


def decode_pcap(pcap: Path) -> list[tuple[bytearray, float]]:
    """The G.711 RTP streams (one per SSRC) in an rtpproxy pcap as 16-bit PCM, each with
    the capture time of its first packet. Gaps in RTP timestamps become silence."""
    data = pcap.read_bytes()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    link_len = {1: 14, 0: 4, 101: 0, 228: 0}.get(linktype, 14)
    streams: dict[int, tuple[bytearray, float, int]] = {}  # ssrc -> (pcm, t0, ts0)
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl = struct.unpack(endian + "III", data[off : off + 12])
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        udp = _udp_payload(frame, link_len)
        if udp is None or len(udp) < 12 or udp[0] >> 6 != 2:
            continue
        decode = G711_DECODERS.get(udp[1] & 0x7F)
        if decode is None:
            continue  # telephone-event, comfort noise
        ts, ssrc = struct.unpack("!II", udp[4:12])
        start = 12 + 4 * (udp[0] & 0x0F)
        if udp[0] & 0x10 and len(udp) >= start + 4:  # header extension
            start += 4 + 4 * struct.unpack("!H", udp[start + 2 : start + 4])[0]
        payload = udp[start:]
        if udp[0] & 0x20 and payload:
            payload = payload[: -payload[-1]]
        if ssrc not in streams:
            streams[ssrc] = (bytearray(), sec + frac / (1e9 if nano else 1e6), ts)
        pcm, _, ts0 = streams[ssrc]
        pos = (ts - ts0) & 0xFFFFFFFF
        have = len(pcm) // 2
        if pos > have and pos - have <= MAX_GAP_SAMPLES:
            pcm.extend(b"\x00\x00" * (pos - have))
        elif pos < have:
            continue  # duplicate or reordered late packet
        pcm.extend(decode(payload, 2))
    return [(pcm, t0) for pcm, t0, _ in streams.values()]


def _udp_payload(frame: bytes, link_len: int) -> bytes | None:
    ip = frame[link_len:]
    if len(ip) < 20:
        return None
    version = ip[0] >> 4
    if version == 4:
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17:
            return None
        return ip[ihl + 8 :]
    if version == 6 and len(ip) >= 48 and ip[6] == 17:
        return ip[48:]
    return None


def write_wav(path: Path, pcm: bytes) -> float:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm)
    return len(pcm) / 2 / 8000
